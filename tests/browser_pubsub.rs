//! Publish/subscribe, routing and topics (RabbitMQ's tutorials 3 to 5) against the
//! real broker, in headless Chromium: exchange subscriptions (transient and
//! durable, across a reconnect), exchanges and bindings through the management
//! API with their refusals in words, and interop with pika running the tutorial's
//! own programs (`tests/support/pika_helper.py` on 8099, which `./burrow test`
//! starts beside this suite).
#![cfg(target_arch = "wasm32")]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use burrow::client::{Backoff, ConnectOptions, Jitter};
use burrow::management::ExchangeError;
use burrow::rabbit::{BasicProperties, ConsumeFrom, QueueOptions, RabbitError};
use burrow::reliable::{ConnectionEvent, ConsumeError, ConsumeOptions, Consumer, ReliableConnection, ReliableOptions};
use common::{connect_options, fence, fresh_name, management, reliable_options, until_event, within, BROKER_URL, MANAGEMENT_URL};
use futures_util::StreamExt;
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Where `tests/support/pika_helper.py` listens (`BURROW_PIKA_URL` at build time:
/// `./burrow test` runs one on 8100 talking to RabbitMQ 4.0.5 for that run).
const PIKA_URL: &str = match option_env!("BURROW_PIKA_URL") {
    Some(url) => url,
    None => "http://127.0.0.1:8099",
};

async fn open() -> ReliableConnection {
    open_with(reliable_options()).await
}

async fn open_with(options: ReliableOptions) -> ReliableConnection {
    let connection = ReliableConnection::start(BROKER_URL, connect_options(), options).expect("start");
    assert!(within("connecting", connection.wait_connected()).await, "connected");
    connection
}

/// Consumes `source` and waits until the broker accepted the subscription.
async fn subscribe(connection: &mut ReliableConnection, source: ConsumeFrom, options: ConsumeOptions) -> Consumer {
    let consumer = connection.basic_consume(source, options).expect("basic_consume");
    let key = consumer.key();
    until_event(connection, "the subscription", |e| matches!(e, ConnectionEvent::ConsumerReady(k) if *k == key)).await;
    consumer
}

fn auto_ack() -> ConsumeOptions {
    ConsumeOptions { auto_ack: true, prefetch: 0, stream_offset: None, ..ConsumeOptions::default() }
}

/// The next delivery's body, acked.
async fn next_body(consumer: &mut Consumer) -> String {
    let delivery = within("a delivery", consumer.next()).await.expect("the consumer goes on").expect("a delivery");
    delivery.ack().expect("ack");
    delivery.body_text()
}

async fn publish(connection: &ReliableConnection, exchange: &str, key: &str, body: &str, properties: &BasicProperties) {
    let confirm = connection.basic_publish(exchange, key, body.as_bytes().to_vec(), properties).await.expect("publish");
    within("the confirm", confirm).await.expect("confirmed");
}

/// POSTs `path` to a test helper at `base`; its answer's text.
async fn post(base: &str, path: &str) -> Result<String, String> {
    use wasm_bindgen::JsCast;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let request = web_sys::Request::new_with_str_and_init(&format!("{base}{path}"), &init).map_err(|e| format!("{e:?}"))?;
    let window = web_sys::window().ok_or("no window")?;
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|e| format!("{e:?}"))?;
    let response: web_sys::Response = response.dyn_into().map_err(|e| format!("{e:?}"))?;
    let text = wasm_bindgen_futures::JsFuture::from(response.text().map_err(|e| format!("{e:?}"))?)
        .await
        .map_err(|e| format!("{e:?}"))?
        .as_string()
        .unwrap_or_default();
    if response.ok() {
        Ok(text)
    } else {
        Err(format!("{path}: HTTP {}: {text}", response.status()))
    }
}

/// The management API's JSON at `path`, as the tests' user.
async fn management_json(path: &str) -> serde_json::Value {
    use wasm_bindgen::JsCast;
    let window = web_sys::window().expect("window");
    let init = web_sys::RequestInit::new();
    let headers = web_sys::Headers::new().expect("headers");
    let token = window.btoa(&format!("{}:{}", common::LOGIN, common::PASSCODE)).expect("btoa");
    headers.set("authorization", &format!("Basic {token}")).expect("header");
    init.set_headers(&headers);
    let request = web_sys::Request::new_with_str_and_init(&format!("{MANAGEMENT_URL}/api{path}"), &init).expect("request");
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_request(&request)).await.expect("fetch");
    let response: web_sys::Response = response.dyn_into().expect("a response");
    let text = wasm_bindgen_futures::JsFuture::from(response.text().expect("text")).await.expect("text");
    serde_json::from_str(&text.as_string().unwrap_or_default()).unwrap_or(serde_json::Value::Null)
}

/// Force-closes (as an administrator would) every connection consuming from a
/// queue bound to `exchange`: the subscribers reconnect. The management API's
/// figures lag (collect_statistics_interval): asks again for up to 10 s.
async fn close_subscribers_of(exchange: &str) -> usize {
    let encode = |name: &str| String::from(js_sys::encode_uri_component(name));
    let api = management();
    for _ in 0..50 {
        let bindings = management_json(&format!("/exchanges/%2F/{}/bindings/source", encode(exchange))).await;
        let mut closed = 0;
        for binding in bindings.as_array().into_iter().flatten() {
            let Some(queue) = binding.get("destination").and_then(|d| d.as_str()) else { continue };
            let Ok(Some(state)) = api.queue("/", queue).await else { continue };
            for name in state.consumer_connections {
                if api.close_connection(&name).await.unwrap_or(false) {
                    closed += 1;
                }
            }
        }
        if closed > 0 {
            return closed;
        }
        TimeoutFuture::new(200).await;
    }
    0
}

/// The queues bound to `exchange`, as the management API lists them.
async fn bound_queues(exchange: &str) -> Vec<String> {
    let encode = |name: &str| String::from(js_sys::encode_uri_component(name));
    let bindings = management_json(&format!("/exchanges/%2F/{}/bindings/source", encode(exchange))).await;
    let queues = bindings.as_array().into_iter().flatten();
    queues.filter_map(|b| b.get("destination").and_then(|d| d.as_str()).map(str::to_owned)).collect()
}

/// Tutorial 3: two subscribers of one fanout exchange both get every message, in order.
#[wasm_bindgen_test]
async fn a_fanout_reaches_both_subscribers_with_every_message() {
    let exchange = fresh_name("burrow.test.fanout");
    let publisher = open().await;
    publisher.exchange_declare(&exchange, "fanout", false, true).await.expect("exchange_declare");
    let mut a = open().await;
    let mut b = open().await;
    let mut ca = subscribe(&mut a, ConsumeFrom::exchange(&exchange, ""), ConsumeOptions::default()).await;
    let mut cb = subscribe(&mut b, ConsumeFrom::exchange(&exchange, ""), auto_ack()).await;
    let sent: Vec<String> = (0..20).map(|i| format!("log line {i}")).collect();
    for body in &sent {
        publish(&publisher, &exchange, "", body, &BasicProperties::default()).await;
    }
    for consumer in [&mut ca, &mut cb] {
        let mut got = Vec::new();
        for _ in 0..sent.len() {
            got.push(next_body(consumer).await);
        }
        assert_eq!(got, sent, "each subscriber gets every message, in order");
    }
    for c in [&publisher, &a, &b] {
        c.stop();
    }
}

/// Ten auto-ack subscriptions on one connection, read at once, each get every
/// message, past their windows. Burrow's auto-ack once acked cumulatively
/// (`ack:client`), which Web-STOMP applies to the connection's one channel: one
/// subscription's ACK settled the others' deliveries, and RabbitMQ closed with
/// "unknown delivery tag" (found by the fan-out benchmark; this test, before the
/// fix: the reads stopped near 200 of 1,000 each).
#[wasm_bindgen_test]
async fn ten_auto_ack_subscriptions_on_one_connection_get_everything() {
    let exchange = fresh_name("burrow.test.fan");
    let publisher = open().await;
    publisher.exchange_declare(&exchange, "topic", false, true).await.expect("exchange_declare");
    let mut all = open().await;
    let mut consumers = Vec::new();
    for key in ["fan.out", "fan.*", "*.out", "#", "fan.#", "#.out", "*.*", "fan.out.#", "#.fan.out", "#.#"] {
        consumers.push(subscribe(&mut all, ConsumeFrom::exchange(&exchange, key), auto_ack()).await);
    }
    let count = 1_000;
    let confirms = futures_util::future::join_all((0..count).map(|i| {
        let body = i.to_string().into_bytes();
        let publisher = &publisher;
        let exchange = &exchange;
        async move { publisher.basic_publish(exchange, "fan.out", body, &BasicProperties::default()).await?.await }
    }));
    let reads = futures_util::future::join_all(consumers.iter_mut().map(|consumer| async move {
        let mut got = 0;
        while got < count {
            match within("the next delivery", consumer.next()).await {
                Some(Ok(_)) => got += 1,
                _ => break,
            }
        }
        got
    }));
    let (confirmed, got) = futures_util::join!(confirms, reads);
    assert!(confirmed.iter().all(Result::is_ok), "every publish confirmed");
    assert_eq!(got, vec![count; 10], "each subscription got every message");
    assert!(all.is_connected(), "the connection was never closed");
    for c in [&publisher, &all] {
        c.stop();
    }
}

/// Tutorial 5: `*.critical` and `kern.*` each get exactly the messages they match.
#[wasm_bindgen_test]
async fn topic_patterns_get_exactly_the_matching_messages() {
    let exchange = fresh_name("burrow.test.topic");
    let publisher = open().await;
    publisher.exchange_declare(&exchange, "topic", false, true).await.expect("exchange_declare");
    let mut a = open().await;
    let mut critical = subscribe(&mut a, ConsumeFrom::exchange(&exchange, "*.critical"), auto_ack()).await;
    let mut kern = subscribe(&mut a, ConsumeFrom::exchange(&exchange, "kern.*"), ConsumeOptions::default()).await;
    let keys = ["kern.critical", "kern.info", "app.critical", "app.info", "kern.disk.full", "critical", "cron.critical"];
    for key in keys {
        publish(&publisher, &exchange, key, key, &BasicProperties::default()).await;
    }
    // Last, a message both take: what came before it is all they will get.
    publish(&publisher, &exchange, "kern.critical", "end", &BasicProperties::default()).await;
    for (consumer, expected) in
        [(&mut critical, vec!["kern.critical", "app.critical", "cron.critical"]), (&mut kern, vec!["kern.critical", "kern.info"])]
    {
        let mut got = Vec::new();
        loop {
            let body = next_body(consumer).await;
            if body == "end" {
                break;
            }
            got.push(body);
        }
        assert_eq!(got, expected);
    }
    publisher.stop();
    a.stop();
}

/// Names with `/` and Chinese go in a destination as RabbitMQ reads them back;
/// `%2F` (which it would read as `/`) is refused before anything is sent.
#[wasm_bindgen_test]
async fn chinese_and_slashes_in_exchange_names_and_keys_arrive() {
    let exchange = fresh_name("日志/测试");
    let publisher = open().await;
    publisher.exchange_declare(&exchange, "topic", false, true).await.expect("exchange_declare");
    let mut a = open().await;
    let mut consumer = subscribe(&mut a, ConsumeFrom::exchange(&exchange, "内核/磁盘.*"), auto_ack()).await;
    publish(&publisher, &exchange, "内核/磁盘.满", "大郎 起来喝药了", &BasicProperties::default()).await;
    let delivery = within("a delivery", consumer.next()).await.expect("on").expect("a delivery");
    assert_eq!(delivery.body_text(), "大郎 起来喝药了");
    assert_eq!((delivery.exchange.as_str(), delivery.routing_key.as_str()), (exchange.as_str(), "内核/磁盘.满"));
    let refused = a.basic_consume(ConsumeFrom::exchange("a%2Fb", "k"), auto_ack()).map(|_| ()).expect_err("refused");
    assert!(matches!(refused, ConsumeError::Invalid(RabbitError::UnescapableName(_))), "{refused:?}");
    assert!(refused.to_string().contains("%2F"), "{refused}");
    publisher.stop();
    a.stop();
}

/// A durable subscription's named queue keeps what is published while its
/// connection is down: every persistent message arrives, duplicates only marked;
/// its UNSUBSCRIBE leaves the queue, and `queue_delete` ends it.
#[wasm_bindgen_test]
async fn a_durable_subscription_loses_nothing_across_a_reconnect() {
    let exchange = fresh_name("burrow.test.durable-topic");
    let queue = fresh_name("burrow.test.durable-sub");
    let publisher = open().await;
    publisher.exchange_declare(&exchange, "topic", true, false).await.expect("exchange_declare");
    let mut sub = open().await;
    let source = ConsumeFrom::durable(&exchange, "orders.*", &queue);
    let mut consumer = subscribe(&mut sub, source.clone(), ConsumeOptions { prefetch: 10, ..Default::default() }).await;
    let state = management().queue("/", &queue).await.expect("management").expect("the named queue exists");
    assert!(state.durable && !state.auto_delete && !state.exclusive, "durable, not auto-delete: {state:?}");

    let persistent = BasicProperties::persistent();
    let mut received: BTreeMap<String, Vec<bool>> = BTreeMap::new();
    for i in 0..10 {
        publish(&publisher, &exchange, "orders.new", &format!("order {i}"), &persistent).await;
    }
    for _ in 0..5 {
        let d = within("a delivery", consumer.next()).await.expect("on").expect("a delivery");
        d.ack().expect("ack");
        received.entry(d.body_text()).or_default().push(d.possibly_duplicate());
    }
    // The subscriber's connection goes; publish while it is down.
    assert!(close_subscribers_of(&exchange).await >= 1, "closed the subscriber's connection");
    until_event(&mut sub, "the loss", |e| matches!(e, ConnectionEvent::Reconnecting { .. })).await;
    for i in 10..20 {
        publish(&publisher, &exchange, "orders.new", &format!("order {i}"), &persistent).await;
    }
    let mut gap = false;
    let mut events = sub.take_events();
    while received.len() < 20 {
        let d = within("every order", consumer.next()).await.expect("on").expect("a delivery");
        let _ = d.ack();
        received.entry(d.body_text()).or_default().push(d.possibly_duplicate());
        while let Ok(event) = events.try_recv() {
            gap |= matches!(event, ConnectionEvent::SubscriptionGap { .. });
        }
    }
    let expected: Vec<String> = (0..20).map(|i| format!("order {i}")).collect();
    let mut got: Vec<String> = received.keys().cloned().collect();
    got.sort_by_key(|b| b.trim_start_matches("order ").parse::<u32>().unwrap_or(0));
    assert_eq!(got, expected, "every persistent message arrived");
    for (body, copies) in &received {
        assert!(copies.iter().filter(|marked| !**marked).count() <= 1, "{body}: at most one unmarked copy: {copies:?}");
    }
    assert!(!gap, "a durable subscription has no gap");

    // UNSUBSCRIBE leaves the queue; queue_delete ends the subscription for good.
    consumer.cancel();
    fence(&sub).await;
    assert!(management().queue("/", &queue).await.expect("management").is_some(), "the queue outlives the cancel");
    assert!(sub.queue_delete(&queue).await.expect("queue_delete"), "deleted");
    assert!(management().queue("/", &queue).await.expect("management").is_none(), "gone");
    assert!(publisher.exchange_delete(&exchange).await.expect("exchange_delete"));
    publisher.stop();
    sub.stop();
}

/// A transient subscription's queue goes with its connection: what is published
/// while it is down is lost, and the status stream says so
/// (`SubscriptionGap`) when the new queue is in place.
#[wasm_bindgen_test]
async fn a_transient_subscription_loses_the_outage_and_says_so() {
    let exchange = fresh_name("burrow.test.transient-fanout");
    let publisher = open().await;
    // Not auto-delete: that exchange would go with its last binding, the
    // subscription's queue, and the publish below would be refused.
    publisher.exchange_declare(&exchange, "fanout", false, false).await.expect("exchange_declare");
    // A retry at least a second later: the window to publish into.
    let slow = ReliableOptions {
        backoff: Backoff::new(Duration::from_millis(2000), 1, Duration::from_millis(2000), Jitter::Equal),
        ..reliable_options()
    };
    let mut sub = open_with(slow).await;
    let mut consumer = subscribe(&mut sub, ConsumeFrom::exchange(&exchange, ""), auto_ack()).await;
    // Burrow names the subscription's queue (RabbitMQ would not say its name):
    // the broker has that queue, bound to the exchange.
    let first_queue = consumer.queue().expect("the subscription's queue, by name");
    assert!(first_queue.starts_with("stomp-subscription-"), "{first_queue}");
    assert_eq!(bound_queues(&exchange).await, vec![first_queue.clone()]);
    publish(&publisher, &exchange, "", "before", &BasicProperties::persistent()).await;
    assert_eq!(next_body(&mut consumer).await, "before");

    assert!(close_subscribers_of(&exchange).await >= 1, "closed the subscriber's connection");
    until_event(&mut sub, "the loss", |e| matches!(e, ConnectionEvent::Reconnecting { .. })).await;
    // Its queue is gone (auto-delete): even a persistent message is lost.
    publish(&publisher, &exchange, "", "during the outage", &BasicProperties::persistent()).await;
    let key = consumer.key();
    let gap = until_event(&mut sub, "the gap", |e| matches!(e, ConnectionEvent::SubscriptionGap { .. })).await;
    assert_eq!(
        gap,
        ConnectionEvent::SubscriptionGap { consumer: key, exchange: exchange.clone(), routing_key: String::new() }
    );
    until_event(&mut sub, "the new subscription", |e| matches!(e, ConnectionEvent::ConsumerReady(k) if *k == key)).await;
    publish(&publisher, &exchange, "", "after", &BasicProperties::persistent()).await;
    assert_eq!(next_body(&mut consumer).await, "after", "what came during the outage is lost");
    // A new queue, named anew; the old one went with its connection.
    let second_queue = consumer.queue().expect("the new queue, by name");
    assert_ne!(second_queue, first_queue);
    assert_eq!(bound_queues(&exchange).await, vec![second_queue]);
    assert!(publisher.exchange_delete(&exchange).await.expect("exchange_delete"));
    publisher.stop();
    sub.stop();
}

/// pika's exchange and binding calls through the management API, and each
/// refusal in words.
#[wasm_bindgen_test]
async fn exchanges_and_bindings_and_their_refusals_in_words() {
    let exchange = fresh_name("burrow.test.direct");
    let queue = fresh_name("burrow.test.bound");
    let mut c = open().await;
    c.exchange_declare(&exchange, "direct", false, false).await.expect("exchange_declare");
    c.exchange_declare(&exchange, "direct", false, false).await.expect("the same again is fine");
    let error = c.exchange_declare(&exchange, "fanout", false, false).await.expect_err("another type");
    assert!(matches!(error, ExchangeError::Inequivalent { .. }), "{error:?}");
    assert!(error.to_string().contains("inequivalent arg 'type'"), "{error}");
    let error = c.exchange_declare(&fresh_name("burrow.test.x"), "nonsense", false, true).await.expect_err("type");
    assert!(matches!(error, ExchangeError::UnknownType { .. }), "{error:?}");
    assert!(error.to_string().contains("unknown exchange type 'nonsense'"), "{error}");
    let error = c.exchange_declare("amq.burrow-test", "topic", false, true).await.expect_err("amq.");
    assert!(matches!(error, ExchangeError::NoPermission { status: 401, .. }), "{error:?}");

    let error = c.queue_bind(&queue, &exchange, "error").await.expect_err("no such queue yet");
    assert!(matches!(error, ExchangeError::NotFound { .. }), "{error:?}");
    assert!(error.to_string().contains(&format!("no queue '{queue}'")), "{error}");
    c.queue_declare(&queue, &QueueOptions { auto_delete: true, ..Default::default() }).await.expect("declare");
    c.queue_bind(&queue, &exchange, "error").await.expect("queue_bind");
    let error = c.queue_bind(&queue, "burrow.test.no-such-exchange", "error").await.expect_err("no exchange");
    assert!(error.to_string().contains("no exchange 'burrow.test.no-such-exchange'"), "{error}");

    // The binding routes: `error` reaches the queue, `info` does not.
    let mut consumer = subscribe(&mut c, ConsumeFrom::queue(&queue), auto_ack()).await;
    publish(&c, &exchange, "info", "not for this queue", &BasicProperties::default()).await;
    publish(&c, &exchange, "error", "disk full", &BasicProperties::default()).await;
    assert_eq!(next_body(&mut consumer).await, "disk full");
    assert!(c.queue_unbind(&queue, &exchange, "error").await.expect("queue_unbind"), "unbound");
    assert!(!c.queue_unbind(&queue, &exchange, "error").await.expect("queue_unbind"), "no such binding now");
    assert!(c.exchange_delete(&exchange).await.expect("exchange_delete"));
    assert!(!c.exchange_delete(&exchange).await.expect("exchange_delete"), "gone already");

    // A user without a management tag, and no management API at all.
    let noperm = ConnectOptions { login: Some("burrow-noperm".into()), passcode: Some("burrow-noperm".into()), ..connect_options() };
    let other = ReliableConnection::start(BROKER_URL, noperm, reliable_options()).expect("start");
    let error = other.exchange_declare(&fresh_name("burrow.test.x"), "topic", false, true).await.expect_err("no tag");
    assert!(matches!(error, ExchangeError::NoPermission { .. }), "{error:?}");
    assert!(error.to_string().contains("Not management user"), "{error}");
    other.stop();
    let nowhere = ReliableOptions { management_url: Some("http://127.0.0.1:9/api".into()), ..reliable_options() };
    let far = ReliableConnection::start(BROKER_URL, connect_options(), nowhere).expect("start");
    let error = far.exchange_declare("logs", "fanout", false, false).await.expect_err("unreachable");
    assert!(matches!(error, ExchangeError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains("not reachable"), "{error}");
    far.stop();
    c.stop();
}

/// A subscription to an exchange that does not exist ends in words (RabbitMQ
/// 3.10.8 closes the connection without an ERROR frame: the core blames the
/// subscription when a second connection dies on it alone).
#[wasm_bindgen_test]
async fn a_subscription_to_a_missing_exchange_is_refused_in_words() {
    let connection = open().await;
    let missing = fresh_name("burrow.test.no-such-exchange");
    let mut consumer = connection.basic_consume(ConsumeFrom::exchange(&missing, "k"), auto_ack()).expect("consume");
    let error = within("the refusal", consumer.next()).await.expect("an item").expect_err("refused");
    let words = error.to_string();
    assert!(words.contains(&missing), "names the exchange: {words}");
    connection.stop();
    // A one-off connection stops on that close: its reader still learns why.
    let one_off = ReliableConnection::start(BROKER_URL, connect_options(), common::one_off()).expect("start");
    assert!(within("connecting", one_off.wait_connected()).await, "connected");
    let mut consumer = one_off.basic_consume(ConsumeFrom::exchange(&missing, "k"), auto_ack()).expect("consume");
    let error = within("the refusal", consumer.next()).await.expect("an item").expect_err("refused");
    assert!(error.to_string().contains(&missing), "names the exchange: {error}");
}

/// Tutorial 3 with pika on the other side: `emit_log.py` reaches two browser
/// subscribers of `logs`, both get every message.
#[wasm_bindgen_test]
async fn pika_emit_log_reaches_two_browser_subscribers() {
    let mut a = open().await;
    // As emit_log.py declares it (pika's defaults): equivalent, so no refusal.
    a.exchange_declare("logs", "fanout", false, false).await.expect("exchange_declare");
    let mut b = open().await;
    let mut ca = subscribe(&mut a, ConsumeFrom::exchange("logs", ""), auto_ack()).await;
    let mut cb = subscribe(&mut b, ConsumeFrom::exchange("logs", ""), auto_ack()).await;
    let run = fresh_name("run");
    let sent: Vec<String> = (0..5).map(|i| format!("{run} info: line {i}")).collect();
    for message in &sent {
        let path = format!("/emit_log?message={}", String::from(js_sys::encode_uri_component(message)));
        post(PIKA_URL, &path).await.expect("pika's emit_log (is tests/support/pika_helper.py running?)");
    }
    for consumer in [&mut ca, &mut cb] {
        let mut got = Vec::new();
        while got.len() < sent.len() {
            let body = next_body(consumer).await;
            // Other runs may emit on `logs` too: only this run's lines count.
            if body.starts_with(&run) {
                got.push(body);
            }
        }
        assert_eq!(got, sent);
    }
    a.stop();
    b.stop();
}

/// Tutorial 5 with pika on the other side: the browser emits on `topic_logs`; a
/// pika `receive_logs_topic.py` bound with `*.critical` gets exactly the matching ones.
#[wasm_bindgen_test]
async fn the_browser_emits_on_topic_logs_for_a_pika_consumer() {
    let c = open().await;
    c.exchange_declare("topic_logs", "topic", false, false).await.expect("exchange_declare");
    let id = post(PIKA_URL, "/topic/start?keys=*.critical").await.expect("pika's receive_logs_topic.py");
    let run = fresh_name("run");
    let keys = ["kern.critical", "kern.info", "app.critical", "critical", "a.b.critical"];
    for key in keys {
        publish(&c, "topic_logs", key, &format!("{run} {key}"), &BasicProperties::default()).await;
    }
    let expected = vec!["kern.critical", "app.critical"];
    let mut got = Vec::new();
    for _ in 0..100 {
        let text = post(PIKA_URL, &format!("/topic/received?id={id}")).await.expect("received");
        got = text
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .filter(|(_, body)| body.starts_with(&run))
            .map(|(key, _)| key.to_owned())
            .collect::<Vec<_>>();
        if got.len() >= expected.len() {
            break;
        }
        TimeoutFuture::new(100).await;
    }
    // A last check after a pause: nothing else arrives late.
    TimeoutFuture::new(300).await;
    let text = post(PIKA_URL, &format!("/topic/received?id={id}")).await.expect("received");
    let last: Vec<String> = text
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(_, body)| body.starts_with(&run))
        .map(|(key, _)| key.to_owned())
        .collect();
    post(PIKA_URL, &format!("/topic/stop?id={id}")).await.expect("stop");
    assert_eq!(got, expected);
    assert_eq!(last, expected, "exactly the matching ones");
    c.stop();
}

/// The credentials provider is asked for the management API's calls too, as for
/// every CONNECT (issue 18): a token may have expired since the last CONNECT.
#[wasm_bindgen_test]
async fn exchange_calls_ask_the_credentials_provider_afresh() {
    use std::cell::Cell;
    use std::rc::Rc;
    use burrow::client::Credentials;
    use burrow::reliable::CredentialsProvider;
    let asked = Rc::new(Cell::new(0u32));
    let counter = asked.clone();
    let provider: CredentialsProvider = Rc::new(move || {
        counter.set(counter.get() + 1);
        Box::pin(async { Ok(Credentials::new(common::LOGIN, common::PASSCODE)) })
    });
    let urls = vec![BROKER_URL.to_owned()];
    let connection = ReliableConnection::start_with_provider(urls, connect_options(), reliable_options(), provider).expect("start");
    assert!(within("connecting", connection.wait_connected()).await, "connected");
    assert_eq!(asked.get(), 1, "once for the CONNECT");
    let exchange = fresh_name("burrow.test.provider");
    connection.exchange_declare(&exchange, "fanout", false, true).await.expect("exchange_declare");
    assert_eq!(asked.get(), 2, "once more for the management call");
    assert!(connection.exchange_delete(&exchange).await.expect("exchange_delete"));
    assert_eq!(asked.get(), 3);
    connection.stop();
}
