//! Failover across a real three-node RabbitMQ cluster, in headless Chromium.
//!
//! A producer with confirms and a client-ack consumer, each a `ReliableConnection`
//! given the Web-STOMP URLs of all three nodes (tests/support/cluster.sh), move
//! 5,000 persistent messages through a quorum queue while the node each one is
//! connected to is stopped under it (`rabbitmqctl stop_app`, asked of
//! tests/support/broker_restarter.py on port 8092). Both must move to another
//! node; at the end no confirmed message is missing and every second copy is
//! marked. Needs the cluster and the helper: `./burrow test-cluster` runs it.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use burrow::management::ManagementApi;
use burrow::rabbit::{BasicProperties, QueueOptions};
use burrow::reliable::{AckError, ConnectionEvent, ConsumeOptions, ReliableConnection, ReliableOptions};
use common::{connect_options, fresh_name, LOGIN, PASSCODE};
use futures_util::StreamExt;
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen_futures::spawn_local;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The nodes' Web-STOMP URLs (node N listens on 1569N).
const NODES: [&str; 3] = ["ws://127.0.0.1:15691/ws", "ws://127.0.0.1:15692/ws", "ws://127.0.0.1:15693/ws"];
/// The helper that stops and starts the nodes' RabbitMQ application.
const HELPER: &str = "http://127.0.0.1:8092";
const MESSAGES: u32 = 5_000;

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

/// Which node (1..=3) a Web-STOMP URL is.
fn node_of(url: &str) -> usize {
    NODES.iter().position(|n| *n == url).map_or(0, |i| i + 1)
}

fn management(node: usize) -> ManagementApi {
    ManagementApi::new(format!("http://127.0.0.1:{}/api", 15680 + node), LOGIN, PASSCODE)
}

/// POSTs to the helper; its answer's text.
async fn helper(path: &str) -> String {
    use wasm_bindgen::JsCast;
    let url = format!("{HELPER}{path}");
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let request = web_sys::Request::new_with_str_and_init(&url, &init).expect("a request");
    let window = web_sys::window().expect("a window");
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_request(&request))
        .await
        .unwrap_or_else(|e| panic!("the cluster helper at {HELPER} is not answering ({e:?}): ./burrow test-cluster starts it"));
    let response: web_sys::Response = response.dyn_into().expect("a response");
    let text = wasm_bindgen_futures::JsFuture::from(response.text().expect("a body")).await.expect("text");
    let text = text.as_string().unwrap_or_default();
    assert!(response.ok(), "{path}: HTTP {}: {text}", response.status());
    text
}

/// What one client's status stream said, with the page's clock.
#[derive(Default)]
struct Timeline {
    /// (when, url) of each CONNECTED.
    connected: Vec<(f64, String)>,
    /// When each connection was lost, and why.
    lost: Vec<(f64, String)>,
}

impl Timeline {
    fn url(&self) -> Option<&str> {
        self.connected.last().map(|(_, url)| url.as_str())
    }
}

fn follow(connection: &mut ReliableConnection) -> Rc<RefCell<Timeline>> {
    let timeline = Rc::new(RefCell::new(Timeline::default()));
    let mut events = connection.take_events();
    let record = timeline.clone();
    spawn_local(async move {
        while let Some(event) = events.next().await {
            match event {
                ConnectionEvent::Connected { url, .. } => record.borrow_mut().connected.push((now_ms(), url)),
                ConnectionEvent::Reconnecting { reason, .. } => {
                    record.borrow_mut().lost.push((now_ms(), reason.to_string()));
                }
                _ => {}
            }
        }
    });
    timeline
}

#[derive(Default)]
struct Tally {
    sent: u32,
    publishing_done: bool,
    confirmed: Vec<u32>,
    failed: Vec<String>,
    deliveries: u32,
    /// Message number → (copies, copies marked as possible duplicates).
    copies: BTreeMap<u32, (u32, u32)>,
    ack_errors: u32,
}

/// One stopped node, as a client saw it.
struct Failover {
    /// The node stopped.
    stopped: usize,
    /// Where the client went.
    moved_to: usize,
    /// From the lost connection to the new one.
    from_loss_ms: f64,
    /// From the stop request to the new connection.
    from_stop_ms: f64,
    /// Our connections on the stopped node then (each logs a shutdown there).
    ours_there: usize,
}

/// Stops the node `client` is on, waits until it is connected to another one,
/// starts the node again.
async fn fail_over(name: &str, client: &Rc<RefCell<Timeline>>, all: &[&Rc<RefCell<Timeline>>]) -> Failover {
    let url = client.borrow().url().map(str::to_owned).unwrap_or_else(|| panic!("{name} is not connected"));
    let node = node_of(&url);
    let ours_there = all.iter().filter(|t| t.borrow().url().map(node_of) == Some(node)).count();
    let connects = client.borrow().connected.len();
    let asked = now_ms();
    console_log!("stopping node {node}, where the {name} is ({})", helper(&format!("/cluster/stop-app?node={node}")).await.trim());
    common::eventually(&format!("the {name} on another node"), 60_000, || client.borrow().connected.len() > connects).await;
    let (connected_at, new_url) = client.borrow().connected.last().cloned().unwrap_or_default();
    let lost_at = client.borrow().lost.iter().rev().map(|(t, _)| *t).find(|t| *t >= asked).unwrap_or(asked);
    assert_ne!(node_of(&new_url), node, "the {name} moved to another node");
    console_log!("starting node {node} again ({})", helper(&format!("/cluster/start-app?node={node}")).await.trim());
    Failover {
        stopped: node,
        moved_to: node_of(&new_url),
        from_loss_ms: connected_at - lost_at,
        from_stop_ms: connected_at - asked,
        ours_there,
    }
}

#[wasm_bindgen_test]
#[ignore = "needs the three-node cluster and its helper: ./burrow test-cluster"]
async fn producer_and_consumer_survive_losing_their_nodes_with_nothing_confirmed_missing() {
    let marks: Vec<String> = {
        let mut marks = Vec::new();
        for node in 1..=3 {
            marks.push(helper(&format!("/cluster/log-mark?node={node}")).await.trim().to_owned());
        }
        marks
    };
    let started = now_ms();
    let queue = fresh_name("cluster-quorum");
    let urls = |first: usize| (0..3).map(|i| NODES[(first + i) % 3].to_owned()).collect::<Vec<_>>();
    // Each starts on a different node, so each failover is its own.
    // Any node's management API describes the whole cluster: node 1's explains refusals.
    let options = ReliableOptions { management_url: Some("http://127.0.0.1:15681/api".into()), ..ReliableOptions::default() };
    let mut producer = ReliableConnection::start_with_urls(urls(0), connect_options(), options.clone())
        .expect("ws:// URLs");
    let mut consumer = ReliableConnection::start_with_urls(urls(1), connect_options(), options)
        .expect("ws:// URLs");
    let producer_timeline = follow(&mut producer);
    let consumer_timeline = follow(&mut consumer);
    producer.queue_declare(&queue, &QueueOptions::quorum()).await.expect("declare the quorum queue");
    let declared_on = producer_timeline.borrow().url().map(node_of).unwrap_or(0);
    let state = management(declared_on).queue("/", &queue).await.expect("management API").expect("the queue");
    assert_eq!(state.queue_type, "quorum");
    console_log!("quorum queue {queue}: leader {:?}, members {:?}", state.leader, state.members);

    let tally = Rc::new(RefCell::new(Tally::default()));
    // The consumer: client ack, prefetch 50, acks in batches of 25 (or after 200 ms
    // without a delivery), so there is always something unacked when its node goes.
    let mut deliveries =
        consumer.basic_consume(&queue, ConsumeOptions { prefetch: 50, ..ConsumeOptions::default() }).expect("consume");
    {
        let tally = tally.clone();
        spawn_local(async move {
            use futures_util::FutureExt;
            let mut unacked: Vec<burrow::reliable::Delivery> = Vec::new();
            loop {
                let delivery = futures_util::select! {
                    delivery = deliveries.next() => delivery,
                    () = TimeoutFuture::new(200).fuse() => {
                        let mut tally = tally.borrow_mut();
                        for delivery in unacked.drain(..) {
                            // A stale ack (its connection died): RabbitMQ redelivers, marked.
                            tally.ack_errors += u32::from(matches!(delivery.ack(), Err(AckError::Stale { .. })));
                        }
                        continue;
                    }
                };
                let Some(Ok(delivery)) = delivery else { break };
                let number: u32 = delivery.body_text().trim_start_matches("m-").parse().expect("a body we sent");
                let mut tally = tally.borrow_mut();
                tally.deliveries += 1;
                let entry = tally.copies.entry(number).or_default();
                entry.0 += 1;
                entry.1 += u32::from(delivery.possibly_duplicate());
                unacked.push(delivery);
                if unacked.len() >= 25 {
                    for delivery in unacked.drain(..) {
                        tally.ack_errors += u32::from(matches!(delivery.ack(), Err(AckError::Stale { .. })));
                    }
                }
            }
        });
    }
    // The producer: 5,000 persistent messages with confirms, 50 at a time, 100 ms
    // apart, so the stops fall mid-run.
    let producer = Rc::new(producer);
    {
        let (tally, producer, queue) = (tally.clone(), producer.clone(), queue.clone());
        spawn_local(async move {
            let persistent = BasicProperties::persistent();
            for n in 0..MESSAGES {
                let body = format!("m-{n}").into_bytes();
                let confirm = producer.basic_publish("", &queue, body, &persistent).await.expect("the outbox takes it");
                tally.borrow_mut().sent += 1;
                let tally = tally.clone();
                spawn_local(async move {
                    match confirm.await {
                        Ok(()) => tally.borrow_mut().confirmed.push(n),
                        Err(error) => tally.borrow_mut().failed.push(format!("m-{n}: {error}")),
                    }
                });
                if n % 50 == 49 {
                    TimeoutFuture::new(100).await;
                }
            }
            tally.borrow_mut().publishing_done = true;
        });
    }

    common::eventually("1,500 sent", 60_000, || tally.borrow().sent >= 1_500).await;
    let clients = [&producer_timeline, &consumer_timeline];
    let producer_failover = fail_over("producer", &producer_timeline, &clients).await;
    common::eventually("3,000 sent", 120_000, || tally.borrow().sent >= 3_000).await;
    let consumer_failover = fail_over("consumer", &consumer_timeline, &clients).await;

    common::eventually("every message sent", 120_000, || tally.borrow().publishing_done).await;
    common::eventually("every confirm", 120_000, || {
        let tally = tally.borrow();
        tally.confirmed.len() + tally.failed.len() == tally.sent as usize
    })
    .await;
    common::eventually("every confirmed message received", 120_000, || {
        let tally = tally.borrow();
        tally.confirmed.iter().all(|n| tally.copies.contains_key(n))
    })
    .await;
    // Nothing more can come once the queue holds nothing, ready or unacked.
    let survivor = consumer_timeline.borrow().url().map(node_of).unwrap_or(3);
    let api = management(survivor);
    let mut settled = None;
    for _ in 0..120 {
        if let Ok(Some(state)) = api.queue("/", &queue).await {
            if state.messages_ready == 0 && state.messages_unacknowledged == 0 {
                settled = Some(state);
                break;
            }
        }
        TimeoutFuture::new(250).await;
    }
    let settled = settled.expect("the queue emptied (ready and unacked 0) within 30 s");

    // Nothing more can arrive: the counts are final.
    let tally = std::mem::take(&mut *tally.borrow_mut());
    let sent = tally.sent;
    let confirmed = tally.confirmed.len();
    let received = tally.copies.len();
    let duplicates: u32 = tally.copies.values().map(|(copies, _)| copies - 1).sum();
    let unmarked: u32 = tally.copies.values().map(|(copies, marked)| copies - marked).filter(|n| *n > 1).count() as u32;
    let missing: Vec<u32> = tally.confirmed.iter().copied().filter(|n| !tally.copies.contains_key(n)).collect();
    let producer_failovers = producer_timeline.borrow().connected.len() - 1;
    let consumer_failovers = consumer_timeline.borrow().connected.len() - 1;
    let mut crashes = Vec::new();
    for node in 1..=3 {
        let mark = &marks[node - 1];
        crashes.push(helper(&format!("/cluster/log-crashes?node={node}&since={mark}")).await.trim().to_owned());
    }
    console_log!(
        "cluster: sent {sent}, confirmed {confirmed}, failed {}, received {received} (deliveries {}), duplicates {duplicates} (unmarked {unmarked}), missing {}, failovers producer {producer_failovers} consumer {consumer_failovers}, stale acks {}",
        tally.failed.len(),
        tally.deliveries,
        missing.len(),
        tally.ack_errors
    );
    for (name, f) in [("producer", &producer_failover), ("consumer", &consumer_failover)] {
        console_log!(
            "cluster: {name} failover node {} -> node {}: {:.0} ms from the lost connection, {:.0} ms from the stop request",
            f.stopped,
            f.moved_to,
            f.from_loss_ms,
            f.from_stop_ms
        );
    }
    console_log!("cluster: producer on {:?}", producer_timeline.borrow().connected.iter().map(|(_, u)| node_of(u)).collect::<Vec<_>>());
    console_log!("cluster: consumer on {:?}", consumer_timeline.borrow().connected.iter().map(|(_, u)| node_of(u)).collect::<Vec<_>>());
    console_log!("cluster: queue at the end: leader {:?}, online {:?}, ready {}, unacked {}", settled.leader, settled.online, settled.messages_ready, settled.messages_unacknowledged);
    console_log!("cluster: log lines per node since the start ({{unexpected_message,resume}}, reached_max_restart_intensity): {crashes:?}");
    console_log!("cluster: whole run {:.1} s", (now_ms() - started) / 1000.0);

    // Cleaned up first: a failed assertion ends the test here.
    producer.stop();
    consumer.stop();
    let _ = api.delete_queue("/", &queue).await;
    assert!(tally.failed.is_empty(), "publishes failed: {:?}", &tally.failed[..tally.failed.len().min(5)]);
    assert_eq!(confirmed, MESSAGES as usize, "every message confirmed");
    assert!(missing.is_empty(), "confirmed but never received: {:?}", &missing[..missing.len().min(10)]);
    assert_eq!(unmarked, 0, "a message came twice without being marked");
    assert!(producer_failovers >= 1 && consumer_failovers >= 1, "both clients moved");
    // No Web-STOMP crash anywhere. A stopped node logs one supervisor shutdown
    // (reached_max_restart_intensity, errorContext shutdown) per Web-STOMP
    // connection it closes: exactly ours there, and none on a node never stopped.
    for (node, line) in (1..=3).zip(&crashes) {
        let expected: usize = [&producer_failover, &consumer_failover]
            .iter()
            .filter(|f| f.stopped == node)
            .map(|f| f.ours_there)
            .sum();
        assert_eq!(*line, format!("0 {expected}"), "node {node}'s log (resume crashes, shutdowns): {crashes:?}");
    }
}
