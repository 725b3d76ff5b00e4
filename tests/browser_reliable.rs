//! The reconnecting connection against the real broker, in headless Chromium: each
//! defect the reliability core fixed (all four failed on the code before it), and
//! bursts that must land exactly, with no reconnect and no broker crash. Needs
//! `tests/support/broker_restarter.py --proxy-port 8089` (freezes the broker,
//! reads its log, cuts connections through its Web-STOMP proxy);
//! `./burrow test` runs it beside it.
#![cfg(target_arch = "wasm32")]

mod common;

use std::time::Duration;

use burrow::client::{Backoff, HeartBeat, Jitter};
use burrow::rabbit::{BasicProperties, QueueOptions, RabbitError};
use burrow::reliable::{ConnectionEvent, ConsumeOptions, PublishError, ReliableConnection, ReliableOptions};
use common::{connect, connect_options, fresh_name, management, within, BROKER_URL};
use futures_util::future::{select, Either};
use futures_util::StreamExt;
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn durable_queue(prefix: &str) -> String {
    let queue = fresh_name(prefix);
    let mut setup = connect().await;
    setup.queue_declare(&queue, &QueueOptions::durable()).await.expect("declare");
    setup.close().await.expect("close");
    queue
}

/// The queue's depth once the management API's figures have settled on it.
async fn queue_depth_settles_at(queue: &str, expected: u64) -> u64 {
    let api = management();
    let mut depth = 0;
    // Figures refresh every second (collect_statistics_interval); allow 20 s.
    for _ in 0..80 {
        depth = api.queue("/", queue).await.ok().flatten().map_or(0, |s| s.messages_ready);
        if depth == expected {
            return depth;
        }
        TimeoutFuture::new(250).await;
    }
    depth
}

#[wasm_bindgen_test]
async fn disconnect_during_the_countdown_stops_within_a_second() {
    // Nothing listens on port 9: every attempt fails and a countdown runs.
    let mut c = ReliableConnection::start("ws://127.0.0.1:9/ws", connect_options(), ReliableOptions::default())
        .expect("a ws:// URL");
    common::until_event(&mut c, "the countdown", |e| matches!(e, ConnectionEvent::Reconnecting { .. })).await;
    c.stop();
    let stopped = async {
        loop {
            match c.next_event().await {
                Some(ConnectionEvent::Stopped(_)) => return true,
                Some(_) => {}
                None => return false,
            }
        }
    };
    let in_time = matches!(select(Box::pin(stopped), TimeoutFuture::new(1_000)).await, Either::Left((true, _)));
    assert!(in_time, "no Stopped within 1 s of stop() during the countdown");
    assert!(c.next_event().await.is_none(), "nothing comes after Stopped");
}

#[wasm_bindgen_test]
async fn a_300_byte_routing_key_is_refused_in_words_and_the_next_publish_is_confirmed() {
    let queue = durable_queue("reliable-key").await;
    let mut c = ReliableConnection::start(BROKER_URL, connect_options(), common::reliable_options()).expect("url");
    common::until_event(&mut c, "CONNECTED", |e| matches!(e, ConnectionEvent::Connected { .. })).await;
    let bad = c.try_basic_publish("", &"k".repeat(300), b"bad".to_vec(), &BasicProperties::default());
    match bad {
        Err(error @ PublishError::Invalid(RabbitError::NameTooLong(_))) => {
            assert!(error.to_string().contains("longer than 255 bytes"), "{error}");
        }
        other => panic!("expected the long routing key refused at publish, got {other:?}"),
    }
    let reserved = BasicProperties { headers: vec![("destination".into(), "/queue/x".into())], ..Default::default() };
    assert!(matches!(
        c.try_basic_publish("", &queue, b"x".to_vec(), &reserved),
        Err(PublishError::Invalid(RabbitError::ReservedHeader(_)))
    ));
    let too_large = vec![0u8; 17 * 1024 * 1024];
    assert!(matches!(
        c.try_basic_publish("", &queue, too_large, &BasicProperties::default()),
        Err(PublishError::Invalid(RabbitError::TooLarge(_)))
    ));
    let good = c.try_basic_publish("", &queue, b"good".to_vec(), &BasicProperties::default()).expect("taken");
    within("the valid publish's confirm", good).await.expect("confirmed");
    c.stop();
}

#[wasm_bindgen_test]
async fn a_publish_to_a_missing_exchange_fails_alone() {
    let queue = durable_queue("reliable-missing-exchange").await;
    let mut c = ReliableConnection::start(BROKER_URL, connect_options(), common::reliable_options()).expect("url");
    common::until_event(&mut c, "CONNECTED", |e| matches!(e, ConnectionEvent::Connected { .. })).await;
    let before = c.try_basic_publish("", &queue, b"before".to_vec(), &BasicProperties::default()).expect("taken");
    within("the first confirm", before).await.expect("confirmed");
    let doomed = c
        .try_basic_publish("burrow-no-such-exchange", "x", b"doomed".to_vec(), &BasicProperties::default())
        .expect("taken");
    let after = c.try_basic_publish("", &queue, b"after".to_vec(), &BasicProperties::default()).expect("taken");
    match within("the refusal", doomed).await {
        Err(PublishError::Refused(refusal)) => {
            let words = refusal.to_string();
            assert!(words.contains("RabbitMQ"), "{words}");
        }
        other => panic!("expected the broker's refusal, got {other:?}"),
    }
    within("the later confirm", after).await.expect("the message after the refused one is confirmed");
    assert_eq!(queue_depth_settles_at(&queue, 2).await, 2);
    c.stop();
}

#[wasm_bindgen_test]
async fn removing_an_auto_ack_consumer_during_a_reconnect_leaves_no_consumer() {
    let queue = durable_queue("reliable-zombie").await;
    let mut options = connect_options();
    options.heart_beat = HeartBeat::both(Duration::from_millis(1000));
    let backoff = Backoff::new(Duration::from_millis(200), 2, Duration::from_millis(400), Jitter::Equal);
    let mut c = ReliableConnection::start(BROKER_URL, options, ReliableOptions { backoff, ..common::reliable_options() })
        .expect("url");
    let consumer = c.basic_consume(&queue, ConsumeOptions { auto_ack: true, prefetch: 0, stream_offset: None, ..ConsumeOptions::default() }).expect("consume");
    common::until_event(&mut c, "the subscription", |e| matches!(e, ConnectionEvent::ConsumerReady(_))).await;
    // The consumer's connection as the broker names it, so that after the thaw the
    // old consumer (which the broker drops once it reads the close it missed while
    // frozen) is told apart from a zombie on a connection opened after the stop.
    let api = management();
    let mut original = Vec::new();
    for _ in 0..100 {
        if let Ok(Some(state)) = api.queue("/", &queue).await {
            original = state.consumer_connections;
        }
        if !original.is_empty() {
            break;
        }
        TimeoutFuture::new(200).await;
    }
    assert!(!original.is_empty(), "the management API never showed the consumer before the freeze");
    common::ask_broker_helper("/pause").await.expect("freeze the broker");
    common::until_event(&mut c, "the silence noticed", |e| matches!(e, ConnectionEvent::Reconnecting { .. })).await;
    // The next attempt opens a socket the frozen broker will only answer once thawed.
    common::until_event(&mut c, "the next attempt", |e| matches!(e, ConnectionEvent::Connecting { .. })).await;
    drop(consumer);
    drop(c);
    common::ask_broker_helper("/resume").await.expect("thaw the broker");
    // After the thaw the hung handshake completes; it must be closed, not CONNECTed.
    // Watch the queue's consumers for 5 s after the old one is gone (figures refresh
    // every second); the old one must go within 20 s.
    let mut zombies = Vec::new();
    let mut old_gone_after = None;
    let mut quiet_samples = 0;
    for sample in 0..125 {
        if let Ok(Some(state)) = api.queue("/", &queue).await {
            for name in state.consumer_connections.iter().filter(|name| !original.contains(name)) {
                if !zombies.contains(name) {
                    zombies.push(name.clone());
                }
            }
            if state.consumers == 0 && old_gone_after.is_none() {
                old_gone_after = Some(sample);
            }
        }
        if old_gone_after.is_some() {
            quiet_samples += 1;
            if quiet_samples >= 25 {
                break;
            }
        }
        TimeoutFuture::new(200).await;
    }
    assert!(zombies.is_empty(), "a consumer appeared on the queue after it was removed, on {zombies:?} (the original was on {original:?})");
    assert!(old_gone_after.is_some(), "the consumer of before the freeze ({original:?}) was still on the queue 20 s after the thaw");
    assert!(quiet_samples >= 25, "watched the queue for only {quiet_samples} samples after the old consumer went");
}

#[wasm_bindgen_test]
async fn a_consumer_on_a_missing_queue_fails_in_words_and_the_connection_comes_back() {
    let queue = durable_queue("reliable-other").await;
    let c = ReliableConnection::start(BROKER_URL, connect_options(), common::reliable_options()).expect("url");
    let mut missing = c.basic_consume("burrow-no-such-queue", ConsumeOptions::default()).expect("consume");
    match within("the refusal", missing.next()).await {
        Some(Err(error)) => assert!(error.to_string().contains("NOT_FOUND"), "{error}"),
        other => panic!("expected the refusal, got {:?}", other.map(|r| r.map(|d| d.body_text()))),
    }
    // The session itself is not over: it reconnects and serves the next consumer.
    let mut fine = c.basic_consume(&queue, ConsumeOptions::default()).expect("consume");
    let sent = c.try_basic_publish("", &queue, b"still here".to_vec(), &BasicProperties::default()).expect("taken");
    within("the confirm", sent).await.expect("confirmed");
    let delivery = within("the delivery", fine.next()).await.expect("a delivery").expect("not an error");
    assert_eq!(delivery.body_text(), "still here");
    delivery.ack().expect("ack on its own connection");
    c.stop();
}

/// Publishes `count` messages in one go (each call waits only while the outbox is
/// full), reads no events, and checks they all land exactly once, with no reconnect
/// and no crash in the broker's log. Returns wasm memory after 10,000 and at the end.
async fn burst(count: u32) -> (u32, u32) {
    let queue = durable_queue("reliable-burst").await;
    let mark = common::broker_log_mark().await;
    let mut c = ReliableConnection::start(BROKER_URL, connect_options(), common::reliable_options()).expect("url");
    let mut events = c.take_events();
    let properties = BasicProperties::persistent();
    let mut after_ten_thousand = 0;
    for n in 0..count {
        // The confirm is dropped unread: nothing may pile up for it.
        drop(c.basic_publish("", &queue, n.to_string().into_bytes(), &properties).await.expect("taken"));
        if n == 10_000 {
            after_ten_thousand = common::wasm_memory_bytes();
        }
    }
    common::eventually("every confirm", 300_000, || c.outbox().messages == 0).await;
    let at_end = common::wasm_memory_bytes();
    let depth = queue_depth_settles_at(&queue, u64::from(count)).await;
    c.stop();
    let mut reconnects = 0;
    while let Some(event) = events.next().await {
        reconnects += u32::from(matches!(event, ConnectionEvent::Reconnecting { .. }));
    }
    let crashes = common::broker_crashes_since(mark).await;
    console_log!("burst of {count}: queue depth {depth}, reconnects {reconnects}, broker crashes {crashes:?}");
    assert_eq!(depth, u64::from(count), "the queue holds exactly what was published");
    assert_eq!(reconnects, 0, "no reconnect during the burst");
    assert_eq!(crashes, (0, 0), "the broker logged connection crashes during the burst");
    // Free the broker's disk and memory; a failure only leaves a queue behind.
    let _ = management().delete_queue("/", &queue).await;
    (after_ten_thousand, at_end)
}

#[wasm_bindgen_test]
async fn a_burst_of_ten_thousand_lands_exactly() {
    burst(10_000).await;
}

#[wasm_bindgen_test]
async fn a_burst_of_a_hundred_thousand_lands_exactly_with_memory_flat() {
    let (after_ten_thousand, at_end) = burst(100_000).await;
    // The outbox holds at most 10,000 messages, and confirms nobody reads leave
    // nothing behind: memory after 100,000 is what it was after 10,000, give or
    // take allocator slack.
    assert!(
        at_end <= after_ten_thousand + 4 * 1024 * 1024,
        "wasm memory grew from {after_ten_thousand} to {at_end} bytes"
    );
}

#[wasm_bindgen_test]
async fn publishers_waiting_for_room_go_in_order_and_one_that_gives_up_blocks_nobody() {
    use burrow::rabbit::OutboxLimits;
    use futures_util::future::join_all;
    let queue = durable_queue("reliable-order").await;
    let options = ReliableOptions { outbox: OutboxLimits { messages: 5, ..Default::default() }, ..common::reliable_options() };
    let c = ReliableConnection::start(BROKER_URL, connect_options(), options).expect("url");
    let publish = |n: usize| {
        let (c, queue) = (&c, queue.clone());
        Box::pin(async move {
            let confirm = c.basic_publish("", &queue, format!("m-{n}").into_bytes(), &BasicProperties::default()).await?;
            confirm.await
        })
    };
    // 200 publishers through an outbox of 5: each polled once, so each takes its
    // place in the queue for room; the 7th gives up while it waits.
    let mut waiting: Vec<_> = (0..200).map(publish).collect();
    for publisher in &mut waiting {
        assert!(futures_util::poll!(publisher.as_mut()).is_pending());
    }
    drop(waiting.remove(7));
    for outcome in within("199 confirms", join_all(waiting)).await {
        outcome.expect("confirmed");
    }
    let mut deliveries = c.basic_consume(&queue, ConsumeOptions { auto_ack: true, prefetch: 0, stream_offset: None, ..ConsumeOptions::default() }).expect("consume");
    let expected: Vec<String> = (0..200).filter(|n| *n != 7).map(|n| format!("m-{n}")).collect();
    let mut got = Vec::new();
    while got.len() < expected.len() {
        let delivery = within("a delivery", deliveries.next()).await.expect("a delivery").expect("not an error");
        got.push(delivery.body_text());
    }
    assert_eq!(got, expected, "published in the order the publishers came");
    c.stop();
}

/// RabbitMQ's own auto-ack, asked for outright (`broker_acks`): the broker hands
/// the whole queue over at once (no window, nothing left unacknowledged), and
/// what arrived waits for the reader across a connection the broker closed
/// (it forgot those messages as it sent them: dropping them would lose them).
#[wasm_bindgen_test]
async fn rabbitmqs_own_auto_ack_keeps_what_arrived_for_the_reader_across_a_lost_connection() {
    use futures_util::future::join_all;
    const COUNT: usize = 1_000;
    let queue = durable_queue("reliable-broker-acks").await;
    let mut c = ReliableConnection::start(BROKER_URL, connect_options(), common::reliable_options()).expect("url");
    let mut deliveries =
        c.basic_consume(&queue, ConsumeOptions { broker_acks: true, ..ConsumeOptions::default() }).expect("consume");
    common::until_event(&mut c, "the subscription", |e| matches!(e, ConnectionEvent::ConsumerReady(_))).await;
    let confirms = (0..COUNT).map(|n| {
        let (c, queue) = (&c, queue.clone());
        async move { c.basic_publish("", &queue, format!("m-{n}").into_bytes(), &BasicProperties::default()).await?.await }
    });
    for outcome in within("the confirms", join_all(confirms)).await {
        outcome.expect("confirmed");
    }
    // Nothing read yet: RabbitMQ sent everything (nothing ready, nothing unacked).
    let api = management();
    let mut state = None;
    for _ in 0..80 {
        state = api.queue("/", &queue).await.ok().flatten();
        if state.as_ref().is_some_and(|s| s.messages_ready == 0 && s.messages_unacknowledged == 0 && s.consumers == 1) {
            break;
        }
        TimeoutFuture::new(250).await;
    }
    let state = state.expect("the queue's figures");
    assert_eq!((state.messages_ready, state.messages_unacknowledged), (0, 0), "RabbitMQ forgot every message as it sent it");
    assert_eq!(state.consumer_connections.len(), 1, "one consumer connection");
    assert!(api.close_connection(&state.consumer_connections[0]).await.expect("management API"), "closed");
    common::until_event(&mut c, "the lost connection", |e| matches!(e, ConnectionEvent::Reconnecting { .. })).await;
    common::until_event(&mut c, "the reconnect", |e| matches!(e, ConnectionEvent::ConsumerReady(_))).await;
    let mut got = Vec::new();
    while got.len() < COUNT {
        let delivery = within("a delivery", deliveries.next()).await.expect("a delivery").expect("not an error");
        assert!(!delivery.possibly_duplicate(), "{} marked", delivery.body_text());
        got.push(delivery.body_text());
    }
    let expected: Vec<String> = (0..COUNT).map(|n| format!("m-{n}")).collect();
    assert_eq!(got, expected, "every message, once, in order");
    c.stop();
}

/// Where `tests/support/broker_restarter.py --proxy-port` forwards Web-STOMP
/// (`BURROW_PROXY_URL` at build time; 8088 for RabbitMQ 4.0.5).
const PROXY_URL: &str = match option_env!("BURROW_PROXY_URL") {
    Some(url) => url,
    None => "ws://127.0.0.1:8089/ws",
};

/// A connection through the proxy that notices a drop within 2 s (a heart-beat
/// from RabbitMQ every second) while RabbitMQ, hearing from it every 10 s,
/// notices only after 20 s or more; it reconnects within a second.
fn through_the_proxy() -> ReliableConnection {
    let mut options = connect_options();
    options.heart_beat = HeartBeat::new(Duration::from_millis(10_000), Duration::from_millis(1000));
    let backoff = Backoff::new(Duration::from_millis(200), 2, Duration::from_millis(1000), Jitter::Equal);
    ReliableConnection::start(PROXY_URL, options, ReliableOptions { backoff, ..common::reliable_options() }).expect("url")
}

/// Publishes `body` to `queue` and waits for its confirm, then for `consumer`
/// to receive it.
async fn published_and_received(c: &ReliableConnection, consumer: &mut burrow::reliable::Consumer, queue: &str, body: &str) {
    let sent = c.try_basic_publish("", queue, body.as_bytes().to_vec(), &BasicProperties::default()).expect("taken");
    within("the confirm", sent).await.expect("confirmed");
    let delivery = within("the delivery", consumer.next()).await.expect("a delivery").expect("not an error");
    assert_eq!(delivery.body_text(), body);
    delivery.ack().expect("ack");
}

/// A network drop the broker has not noticed (the proxy cuts the connection
/// without a close either way): the old connection holds the exclusive queue
/// until RabbitMQ's heart-beat check drops it, and declaring the queue again is
/// refused meanwhile. The consumer comes back once RabbitMQ lets the queue go.
/// Before, the queue was "not declared again" and the consumer failed
/// RESOURCE_LOCKED for good.
#[wasm_bindgen_test]
async fn an_exclusive_queue_comes_back_after_a_network_drop_the_broker_did_not_see() {
    let queue = fresh_name("reliable-exclusive");
    // Until RabbitMQ notices the drop, the old connection holds the exclusive queue.
    let mut c = through_the_proxy();
    let exclusive = QueueOptions { exclusive: true, ..QueueOptions::default() };
    within("the declare", c.queue_declare(&queue, &exclusive)).await.expect("declared");
    let mut consumer = c.basic_consume(queue.as_str(), ConsumeOptions::default()).expect("consume");
    common::until_event(&mut c, "the subscription", |e| matches!(e, ConnectionEvent::ConsumerReady(_))).await;
    published_and_received(&c, &mut consumer, &queue, "before").await;
    let cut = common::ask_broker_helper_text("/cut").await.expect("cut the network");
    assert_eq!(cut.trim(), "1", "one connection went through the proxy");
    common::until_event(&mut c, "the drop noticed", |e| matches!(e, ConnectionEvent::Reconnecting { .. })).await;
    let started = js_sys::Date::now();
    let mut seen = Vec::new();
    // RabbitMQ drops a connection silent at a 10 s heart-beat within 30 s.
    while js_sys::Date::now() - started < 60_000.0 {
        let next = select(Box::pin(c.next_event()), TimeoutFuture::new(1000)).await;
        if let Either::Left((Some(event), _)) = next {
            console_log!("{:6.0} ms {event:?}", js_sys::Date::now() - started);
            let ready = matches!(event, ConnectionEvent::ConsumerReady(_));
            seen.push(event);
            if ready {
                break;
            }
        }
    }
    assert!(matches!(seen.last(), Some(ConnectionEvent::ConsumerReady(_))), "not subscribed again within 60 s: {seen:?}");
    let said = |e: &ConnectionEvent| matches!(e, ConnectionEvent::Warning(burrow::reliable::Warning::ExclusiveQueueHeld { queue: q }) if *q == queue);
    assert_eq!(seen.iter().filter(|e| said(e)).count(), 1, "said once that the old connection holds it: {seen:?}");
    let failed = |e: &&ConnectionEvent| matches!(e, ConnectionEvent::ConsumerFailed { .. } | ConnectionEvent::Warning(burrow::reliable::Warning::NotDeclaredAgain { .. }));
    assert!(!seen.iter().any(|e| failed(&e)), "{seen:?}");
    // The one refusal that told it the queue is held ends its connection; then
    // the management API is asked until the queue is gone, with no reconnect.
    let reconnects = seen.iter().filter(|e| matches!(e, ConnectionEvent::Reconnecting { .. })).count();
    assert!(reconnects <= 1, "{reconnects} reconnects after the drop's own: {seen:?}");
    published_and_received(&c, &mut consumer, &queue, "after").await;
    c.stop();
}

/// A declare sent into a network drop (the proxy cuts the connection silently
/// first, so RabbitMQ never sees it) goes again on the next connection, before
/// its consumer: the user's declare resolves there, and the consumer of the
/// exclusive queue gets what is published to it. Before, the declare failed
/// "the connection closed before RabbitMQ answered" and the consumer NOT_FOUND.
#[wasm_bindgen_test]
async fn a_declare_a_network_drop_cut_short_goes_again_and_its_consumer_gets_messages() {
    let queue = fresh_name("reliable-cut-declare");
    let mut c = through_the_proxy();
    common::until_event(&mut c, "connected", |e| matches!(e, ConnectionEvent::Connected { .. })).await;
    let cut = common::ask_broker_helper_text("/cut").await.expect("cut the network");
    assert_eq!(cut.trim(), "1", "one connection went through the proxy");
    let exclusive = QueueOptions { exclusive: true, ..QueueOptions::default() };
    let declared = c.queue_declare(&queue, &exclusive);
    let mut consumer = c.basic_consume(queue.as_str(), ConsumeOptions::default()).expect("consume");
    common::until_event(&mut c, "the drop noticed", |e| matches!(e, ConnectionEvent::Reconnecting { .. })).await;
    within("the declare", declared).await.expect("declared on the next connection");
    common::until_event(&mut c, "the subscription", |e| matches!(e, ConnectionEvent::ConsumerReady(_))).await;
    published_and_received(&c, &mut consumer, &queue, "after").await;
    c.stop();
}

/// A declare sent just behind a subscription RabbitMQ refuses (a missing queue:
/// 3.10.8 closes without words, 4.0.5 with them) is cut short by that close: it
/// goes again on the next connection and resolves there (on 3.10.8 once the
/// management API's facts refuse nothing), while the consumer fails NOT_FOUND.
/// Before, the declare failed "the connection closed before RabbitMQ answered".
#[wasm_bindgen_test]
async fn a_declare_behind_a_refused_subscription_goes_again_and_resolves() {
    let missing = fresh_name("reliable-missing");
    let queue = fresh_name("reliable-behind");
    let mut c = ReliableConnection::start(BROKER_URL, connect_options(), common::reliable_options()).expect("url");
    common::until_event(&mut c, "connected", |e| matches!(e, ConnectionEvent::Connected { .. })).await;
    let _refused = c.basic_consume(missing.as_str(), ConsumeOptions::default()).expect("consume");
    let exclusive = QueueOptions { exclusive: true, ..QueueOptions::default() };
    let declared = c.queue_declare(&queue, &exclusive);
    within("the declare", declared).await.expect("declared on the next connection");
    let failed = |e: &ConnectionEvent| {
        matches!(e, ConnectionEvent::ConsumerFailed { error, .. } if error.to_string().contains("NOT_FOUND"))
    };
    common::until_event(&mut c, "the missing queue's consumer failed", failed).await;
    c.stop();
}

/// A second declare of a queue goes over a short side connection of its own
/// (Web-STOMP declares a queue once per connection). With the broker frozen,
/// that connection never opens: cut short, the declare goes again (over another
/// side connection, or on the next connection once the main one noticed) and
/// resolves after the thaw. Before, it failed "the connection closed before
/// RabbitMQ answered the declare" one second in.
#[wasm_bindgen_test]
async fn a_second_declare_a_frozen_broker_cut_short_goes_again_and_resolves() {
    let queue = fresh_name("reliable-side-cut");
    let mut options = connect_options();
    options.heart_beat = HeartBeat::both(Duration::from_millis(1000));
    options.connect_timeout = Duration::from_millis(1000);
    let backoff = Backoff::new(Duration::from_millis(200), 2, Duration::from_millis(1000), Jitter::Equal);
    let mut c = ReliableConnection::start(BROKER_URL, options, ReliableOptions { backoff, ..common::reliable_options() })
        .expect("url");
    within("the first declare", c.queue_declare(&queue, &QueueOptions::default())).await.expect("declared");
    common::ask_broker_helper("/pause").await.expect("freeze the broker");
    let again = c.queue_declare(&queue, &QueueOptions::default());
    // The main connection notices the silence after the side one's 1 s timeout.
    common::until_event(&mut c, "the silence noticed", |e| matches!(e, ConnectionEvent::Reconnecting { .. })).await;
    common::ask_broker_helper("/resume").await.expect("thaw the broker");
    within("the second declare", again).await.expect("declared after the thaw");
    c.stop();
}

/// A publisher and a client-ack consumer through a network drop the broker has
/// not noticed: what the consumer held unacked stays the old connection's until
/// RabbitMQ drops it, then comes again, marked; what was published in the outage
/// goes when the publisher is back. Every confirmed message arrives, every
/// second copy is marked.
#[wasm_bindgen_test]
async fn a_consumer_and_a_publisher_through_a_network_drop_lose_nothing() {
    let queue = durable_queue("reliable-drop").await;
    let producer = through_the_proxy();
    let mut c = through_the_proxy();
    let mut consumer = c.basic_consume(queue.as_str(), ConsumeOptions { prefetch: 10, ..ConsumeOptions::default() }).expect("consume");
    common::until_event(&mut c, "the subscription", |e| matches!(e, ConnectionEvent::ConsumerReady(_))).await;
    let total = 200u32;
    let persistent = BasicProperties { persistent: true, ..BasicProperties::default() };
    let mut confirms = Vec::new();
    let mut copies: std::collections::HashMap<String, Vec<bool>> = std::collections::HashMap::new();
    let started = js_sys::Date::now();
    let mut sent = 0;
    let mut cut = false;
    while js_sys::Date::now() - started < 90_000.0 {
        if sent < total {
            // Full while the outbox holds its most: the next round tries again.
            if let Ok(confirm) = producer.try_basic_publish("", &queue, format!("m{sent}").into_bytes(), &persistent) {
                confirms.push(confirm);
                sent += 1;
            }
        }
        if sent == total / 2 && !cut {
            let answer = common::ask_broker_helper_text("/cut").await.expect("cut the network");
            assert_eq!(answer.trim(), "2", "both connections went through the proxy");
            cut = true;
        }
        match select(consumer.next(), TimeoutFuture::new(10)).await {
            Either::Left((Some(Ok(delivery)), _)) => {
                copies.entry(delivery.body_text()).or_default().push(delivery.possibly_duplicate());
                let _ = delivery.ack();
            }
            Either::Left((other, _)) => panic!("the consumer ended: {:?}", other.map(|r| r.map(|d| d.body_text()))),
            Either::Right(_) => {}
        }
        if sent == total && copies.len() == total as usize {
            break;
        }
    }
    console_log!("{} of {total} arrived after {:.0} ms", copies.len(), js_sys::Date::now() - started);
    for confirm in confirms {
        within("every publish settles", confirm).await.expect("confirmed");
    }
    let missing: Vec<u32> = (0..total).filter(|n| !copies.contains_key(&format!("m{n}"))).collect();
    assert!(missing.is_empty(), "missing after the drop: {missing:?}");
    let unmarked: Vec<&String> = copies.iter().filter(|(_, marks)| marks.iter().filter(|m| !**m).count() > 1).map(|(b, _)| b).collect();
    assert!(unmarked.is_empty(), "second copies without a mark: {unmarked:?}");
    let dups = copies.values().filter(|marks| marks.len() > 1).count();
    console_log!("{dups} came twice, each marked");
    producer.stop();
    c.stop();
    management().delete_queue("/", &queue).await.ok();
}
