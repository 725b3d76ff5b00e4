//! The tutorial's flows, in headless Chromium against the real RabbitMQ.
//! Each test uses its own fresh queue. Run by `./burrow test`.
#![cfg(target_arch = "wasm32")]

mod common;

use burrow::client::CloseReason;
use burrow::rabbit::{BasicProperties, QueueOptions, RefusalKind};
use burrow::reliable::{ReliableOptions, StopReason};
use common::{connect, fresh_name, next_delivery, within, Plain, Refused};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Tutorial 1: `queue_declare`, `basic_publish`, `basic_consume(auto_ack=True)`,
/// with a Chinese queue name and body.
#[wasm_bindgen_test]
async fn simple_queue_carries_a_chinese_message_byte_for_byte() {
    let queue = fresh_name("水续传");
    let body = "大郎 起来喝药了".as_bytes().to_vec();

    let producer = connect().await;
    within("queue_declare", producer.queue_declare(&queue, &QueueOptions::default()))
        .await
        .expect("declare");
    within("publish confirm", producer.basic_publish("", &queue, body.clone(), &BasicProperties::default(), true))
        .await
        .expect("publish");

    let mut consumer = connect().await;
    let tag = within("basic_consume", consumer.basic_consume(&queue, true, None)).await.expect("consume");
    let delivery = next_delivery(&mut consumer).await;
    assert_eq!(delivery.body, body);
    assert_eq!(delivery.consumer_tag, tag);
    assert_eq!(delivery.routing_key, queue, "the destination names the queue");
    assert!(!delivery.redelivered);
    assert_eq!(delivery.delivery_tag, None, "auto-ack deliveries have nothing to ack");
}

/// Tutorial 2: one producer, two consumers; RabbitMQ dispatches round-robin.
#[wasm_bindgen_test]
async fn work_queue_dispatches_round_robin_to_two_consumers() {
    let queue = fresh_name("task_queue");
    let producer = connect().await;
    within("declare", producer.queue_declare(&queue, &QueueOptions::default())).await.expect("declare");

    let mut first = connect().await;
    let mut second = connect().await;
    within("consume 1", first.basic_consume(&queue, true, None)).await.expect("consume 1");
    within("consume 2", second.basic_consume(&queue, true, None)).await.expect("consume 2");

    for n in 0..10 {
        let body = format!("task {n}").into_bytes();
        within("publish", producer.basic_publish("", &queue, body, &BasicProperties::default(), true))
            .await
            .expect("publish");
    }
    let mut got_first = Vec::new();
    let mut got_second = Vec::new();
    for _ in 0..5 {
        got_first.push(next_delivery(&mut first).await.body_text());
        got_second.push(next_delivery(&mut second).await.body_text());
    }
    let evens: Vec<String> = (0..10).step_by(2).map(|n| format!("task {n}")).collect();
    let odds: Vec<String> = (1..10).step_by(2).map(|n| format!("task {n}")).collect();
    assert!(
        (got_first == evens && got_second == odds) || (got_first == odds && got_second == evens),
        "not alternating: first got {got_first:?}, second got {got_second:?}"
    );
}

/// Tutorial 2, acknowledgements: a consumer that dies before it acks loses nothing;
/// the message goes to another consumer, marked redelivered.
#[wasm_bindgen_test]
async fn a_crashed_consumers_unacked_message_is_redelivered_to_another() {
    let queue = fresh_name("ack_queue");
    let producer = connect().await;
    within("declare", producer.queue_declare(&queue, &QueueOptions::default())).await.expect("declare");

    let mut crashing = connect().await;
    within("consume A", crashing.basic_consume(&queue, false, Some(1))).await.expect("consume A");
    within("publish", producer.basic_publish("", &queue, b"work".to_vec(), &BasicProperties::default(), true))
        .await
        .expect("publish");
    let first = next_delivery(&mut crashing).await;
    assert_eq!(first.body, b"work");
    assert!(!first.redelivered);
    assert!(first.delivery_tag.is_some(), "a manual-ack delivery carries its tag");

    let mut survivor = connect().await;
    let survivor_tag =
        within("consume B", survivor.basic_consume(&queue, false, Some(1))).await.expect("consume B");
    // The tutorial's crash: the connection goes away without basic_ack.
    crashing.abort();

    let again = next_delivery(&mut survivor).await;
    assert_eq!(again.body, b"work");
    assert!(again.redelivered, "the broker marks it redelivered");
    assert_eq!(again.consumer_tag, survivor_tag);
    let tag = again.delivery_tag.clone().expect("delivery tag");
    survivor.basic_ack(&tag).expect("ack");

    // The queue is empty now: a marker published after the ack is the next
    // (and only) thing a new consumer gets.
    within("disconnect B", survivor.close()).await.expect("B disconnects after its ack");
    within("publish marker", producer.basic_publish("", &queue, b"marker".to_vec(), &BasicProperties::default(), true))
        .await
        .expect("publish marker");
    let mut checker = connect().await;
    within("consume C", checker.basic_consume(&queue, true, None)).await.expect("consume C");
    assert_eq!(next_delivery(&mut checker).await.body, b"marker", "nothing was left before the marker");
}

/// Redeclaring an existing queue with other durability is refused in the broker's
/// words (the tutorial's "a queue that already exists cannot be made durable"),
/// and the connection that got it is reported closed.
#[wasm_bindgen_test]
async fn redeclaring_with_other_durability_is_refused() {
    let queue = fresh_name("hello");
    let first = connect().await;
    within("declare", first.queue_declare(&queue, &QueueOptions::default())).await.expect("declare");

    let mut second = connect().await;
    let error = within("redeclare", second.queue_declare(&queue, &QueueOptions::durable()))
        .await
        .expect_err("other durability must be refused");
    let refusal = error.refusal().unwrap_or_else(|| panic!("expected the broker's refusal, got {error}"));
    assert_eq!(refusal.kind, RefusalKind::PreconditionFailed, "{refusal}");
    assert!(refusal.detail.contains("durable"), "the broker names the argument: {}", refusal.detail);
    assert_ne!(second.closed("the close").await, CloseReason::Disconnected, "RabbitMQ closed the connection");
    assert!(!second.is_connected(), "RabbitMQ closes the connection after the refusal");
    assert!(first.is_connected(), "the other connection is untouched");
}

/// Defect 8: a durable queue declared by another program (pika), then a fresh
/// connection's first declare of it as not durable: RabbitMQ 3.10.8's Web-STOMP
/// closes without the PRECONDITION_FAILED, and the refusal said only "ended the
/// connection … without saying why". Rebuilt from the management API's facts now.
#[wasm_bindgen_test]
async fn a_fresh_first_declare_against_a_durable_queue_is_refused_in_rabbitmqs_words() {
    let queue = fresh_name("pika-durable");
    within("declare elsewhere", common::declare_elsewhere(&queue, true)).await.expect("declared durable");
    let connection = connect().await;
    let error = within("declare", connection.queue_declare(&queue, &QueueOptions::default()))
        .await
        .expect_err("other durability must be refused");
    let refusal = error.refusal().unwrap_or_else(|| panic!("expected the broker's refusal, got {error}"));
    assert_eq!(refusal.kind, RefusalKind::PreconditionFailed, "{refusal}");
    assert!(refusal.detail.contains("inequivalent arg 'durable'"), "{}", refusal.detail);
}

/// Defect 8: a queue name starting with `amq.` got the same unexplained close;
/// refused before sending now, naming the reserved prefix.
#[wasm_bindgen_test]
async fn a_queue_name_with_the_reserved_prefix_is_refused_naming_it() {
    let connection = connect().await;
    let error = within("declare", connection.queue_declare("amq.burrow-test", &QueueOptions::default()))
        .await
        .expect_err("a reserved name must be refused");
    assert!(
        matches!(&error, burrow::reliable::DeclareError::Invalid(burrow::rabbit::RabbitError::ReservedQueueName(_))),
        "{error}"
    );
    assert!(error.to_string().contains("reserved prefix 'amq.*'"), "{error}");
    assert!(connection.is_connected(), "nothing was sent: the connection stays");
}

/// With the management API turned off, a refused redeclare is in the broker's own
/// words where Web-STOMP sends its ERROR frame (RabbitMQ 4.0.5), and said to be
/// unexplained where it closes without one (3.10.8).
#[wasm_bindgen_test]
async fn without_the_management_api_a_refusal_is_in_the_brokers_words_where_it_sends_them() {
    let queue = fresh_name("no-management");
    let first = connect().await;
    within("declare", first.queue_declare(&queue, &QueueOptions::default())).await.expect("declare");
    // A management API that is not there (nothing listens on port 9).
    let nowhere = ReliableOptions { management_url: Some("http://127.0.0.1:9/api".into()), ..common::one_off() };
    let second = within("CONNECTED", Plain::open_with(common::BROKER_URL, common::connect_options(), nowhere))
        .await
        .expect("connect");
    let info = second.info().expect("CONNECTED's headers");
    let error = within("redeclare", second.queue_declare(&queue, &QueueOptions::durable()))
        .await
        .expect_err("other durability must be refused");
    if common::broker_version(&info).is_some_and(common::delivers_error_frames) {
        let refusal = error.refusal().unwrap_or_else(|| panic!("expected a refusal, got {error}"));
        assert_eq!(refusal.kind, RefusalKind::PreconditionFailed, "{refusal}");
        assert_eq!(refusal.message, "precondition_failed");
        assert_eq!(
            refusal.detail,
            format!("PRECONDITION_FAILED - inequivalent arg 'durable' for queue '{queue}' in vhost '/': received 'true' but current is 'false'")
        );
    } else {
        // No words from the broker and none from the management API: the declare
        // ended with its connection, and nothing pretends to know why.
        assert!(matches!(error, burrow::reliable::DeclareError::Closed(_)), "{:?}: {error}", info.server);
    }
    assert!(!second.is_connected(), "RabbitMQ closes the connection after the refusal");
}

/// Consuming from a queue that does not exist is refused with NOT_FOUND.
#[wasm_bindgen_test]
async fn consuming_an_unknown_queue_is_refused_as_not_found() {
    let mut connection = connect().await;
    let info = connection.info().expect("CONNECTED's headers");
    let queue = fresh_name("nope");
    let error = within("consume", connection.basic_consume(&queue, true, None))
        .await
        .expect_err("an unknown queue must be refused");
    let refusal = error.refusal().unwrap_or_else(|| panic!("expected the broker's refusal, got {error}"));
    assert_eq!(refusal.kind, RefusalKind::NotFound, "{refusal}");
    assert_eq!(refusal.detail, format!("NOT_FOUND - no queue '{queue}' in vhost '/'"));
    let closed = common::next_close(&mut connection, "close event").await;
    assert_ne!(closed, CloseReason::Disconnected, "the broker ended it");
    assert!(!connection.is_connected());
    // Where the words come from: RabbitMQ 4.0.5 sends ERROR, then the SUBSCRIBE's
    // RECEIPT, then closes, so the words come from the ERROR frame even with no
    // management API to ask; 3.10.8 closes without a word, so without the
    // management API nothing can say the queue is missing.
    let nowhere = ReliableOptions { management_url: Some("http://127.0.0.1:9/api".into()), ..common::one_off() };
    let mut blind = within("CONNECTED", Plain::open_with(common::BROKER_URL, common::connect_options(), nowhere))
        .await
        .expect("connect");
    let error = within("consume", blind.basic_consume(&queue, true, None)).await.expect_err("still refused");
    let not_found = error.refusal().is_some_and(|refusal| refusal.kind == RefusalKind::NotFound);
    let sends_error = common::broker_version(&info).is_some_and(common::delivers_error_frames);
    assert_eq!(not_found, sends_error, "{:?}: {error:?}", info.server);
}

/// `queue_declare` makes the queue with exactly the properties asked, as the
/// broker reports them, and redeclaring it neither consumes nor loses a message.
#[wasm_bindgen_test]
async fn declare_makes_the_queue_as_asked_and_redeclaring_touches_no_message() {
    let queue = fresh_name("declared");
    let options = QueueOptions {
        durable: true,
        exclusive: false,
        auto_delete: false,
        arguments: vec![("x-message-ttl".into(), "600000".into()), ("x-max-length".into(), "100".into())],
        queue_type: None,
    };
    let first = connect().await;
    within("declare", first.queue_declare(&queue, &options)).await.expect("declare");
    // The broker under test's own management API (RabbitMQ 4.0.5's is not where
    // its Web-STOMP port would put it by default).
    let api = common::management();
    let state = within("management GET", api.queue("/", &queue))
        .await
        .expect("the management API answers")
        .expect("the queue exists");
    assert!(state.durable && !state.exclusive && !state.auto_delete, "{state:?}");
    let mut arguments = state.arguments.clone();
    arguments.sort();
    let mut expected =
        vec![("x-max-length".to_owned(), "100".to_owned()), ("x-message-ttl".to_owned(), "600000".to_owned())];
    // RabbitMQ 4 records the default queue type among the arguments; 3.10 does not.
    let info = first.info().expect("CONNECTED's headers");
    if common::broker_version(&info).is_some_and(|v| v >= (4, 0, 0)) {
        expected.push(("x-queue-type".to_owned(), "classic".to_owned()));
    }
    assert_eq!(arguments, expected, "the queue's arguments on {:?}", info.server);

    for body in ["one", "two"] {
        within("publish", first.basic_publish("", &queue, body.into(), &BasicProperties::default(), true))
            .await
            .expect("publish");
    }
    let second = connect().await;
    within("redeclare", second.queue_declare(&queue, &options)).await.expect("the same declare is accepted");
    let mut consumer = connect().await;
    within("consume", consumer.basic_consume(&queue, true, None)).await.expect("consume");
    for body in ["one", "two"] {
        let delivery = next_delivery(&mut consumer).await;
        assert_eq!(delivery.body_text(), body);
        assert!(!delivery.redelivered, "the declare delivered nothing");
    }
}

/// Properties survive the trip: content type, correlation id, reply-to, priority,
/// expiration, application headers (with a line break and a colon in a value).
#[wasm_bindgen_test]
async fn properties_and_binary_bodies_survive_the_round_trip() {
    let queue = fresh_name("props");
    let connection = connect().await;
    within("declare", connection.queue_declare(&queue, &QueueOptions::default())).await.expect("declare");
    let properties = BasicProperties {
        persistent: true,
        content_type: Some("application/octet-stream".into()),
        correlation_id: Some("req-42".into()),
        reply_to: Some("/queue/replies".into()),
        priority: Some(3),
        expiration: Some("600000".into()),
        message_id: Some("m-1".into()),
        headers: vec![("trace".into(), "line one\nline: two".into()), ("who".into(), "武松".into())],
        ..BasicProperties::default()
    };
    let body: Vec<u8> = (0..=255u8).chain([0, 0, b'\n', 0]).collect();
    within("publish", connection.basic_publish("", &queue, body.clone(), &properties, true))
        .await
        .expect("publish");
    let mut consumer = connect().await;
    within("consume", consumer.basic_consume(&queue, false, None)).await.expect("consume");
    let delivery = next_delivery(&mut consumer).await;
    assert_eq!(delivery.body, body, "NUL bytes and all");
    assert!(delivery.properties.persistent);
    assert_eq!(delivery.properties.content_type, properties.content_type);
    assert_eq!(delivery.properties.correlation_id, properties.correlation_id);
    assert_eq!(delivery.properties.reply_to, properties.reply_to);
    assert_eq!(delivery.properties.priority, properties.priority);
    assert_eq!(delivery.properties.expiration, properties.expiration);
    assert_eq!(delivery.properties.message_id, properties.message_id);
    let mut headers = delivery.properties.headers.clone();
    headers.sort();
    let mut expected = properties.headers.clone();
    expected.sort();
    assert_eq!(headers, expected);
    consumer.basic_ack(&delivery.delivery_tag.expect("tag")).expect("ack");
}

/// A wrong password: typed refusal, connection closed.
#[wasm_bindgen_test]
async fn a_wrong_password_is_a_bad_credentials_refusal() {
    let mut options = common::connect_options();
    options.passcode = Some("not-the-password".to_owned());
    let result = within("CONNECT", Plain::open(common::BROKER_URL, options)).await;
    let Err(error) = result else { panic!("a wrong password must not connect") };
    assert!(matches!(error, StopReason::Refused(CloseReason::ConnectRefused(_))), "{error}");
    assert_eq!(error.refusal().map(|r| r.kind), Some(RefusalKind::BadCredentials), "{error}");
}

/// The same connection redeclaring with other durability: Web-STOMP would skip a
/// second declare, so Burrow asks over a short-lived second connection and the
/// broker's refusal comes back; this connection stays open.
#[wasm_bindgen_test]
async fn redeclaring_on_the_same_connection_still_gets_the_brokers_refusal() {
    let queue = fresh_name("task_queue");
    let connection = connect().await;
    within("declare", connection.queue_declare(&queue, &QueueOptions::durable())).await.expect("declare");
    let error = within("redeclare", connection.queue_declare(&queue, &QueueOptions::default()))
        .await
        .expect_err("other durability must be refused");
    assert_eq!(error.refusal().map(|r| r.kind), Some(RefusalKind::PreconditionFailed), "{error}");
    assert!(connection.is_connected(), "the refusal closed only the short-lived connection");
}

/// `basic_publish` to a named exchange reaches a queue bound to it (bound here
/// through the management API: Web-STOMP binds only its own temporary queues).
#[wasm_bindgen_test]
async fn publish_to_a_named_exchange_routes_by_key() {
    let key = fresh_name("route");
    let queue = fresh_name("routed");
    let mut listener = connect().await;
    within("declare", listener.queue_declare(&queue, &QueueOptions::default())).await.expect("declare");
    within("bind", common::bind_queue("amq.direct", &queue, &key)).await.expect("bind");
    within("subscribe", listener.basic_consume(&queue, true, None)).await.expect("subscribe");
    let producer = connect().await;
    within("publish", producer.basic_publish("amq.direct", &key, b"routed".to_vec(), &BasicProperties::default(), true))
        .await
        .expect("publish");
    let delivery = next_delivery(&mut listener).await;
    assert_eq!(delivery.body, b"routed");
    assert_eq!((delivery.exchange.as_str(), delivery.routing_key.as_str()), ("amq.direct", key.as_str()));
}

/// `basic_nack(requeue=True)` puts the message back (redelivered); `requeue=False` drops it.
#[wasm_bindgen_test]
async fn nack_requeues_or_drops() {
    let queue = fresh_name("nack");
    let producer = connect().await;
    within("declare", producer.queue_declare(&queue, &QueueOptions::default())).await.expect("declare");
    within("publish", producer.basic_publish("", &queue, b"again".to_vec(), &BasicProperties::default(), true))
        .await
        .expect("publish");
    let mut consumer = connect().await;
    within("consume", consumer.basic_consume(&queue, false, Some(1))).await.expect("consume");
    let first = next_delivery(&mut consumer).await;
    consumer.basic_nack(first.delivery_tag.as_deref().expect("tag"), true).expect("nack requeue");
    let second = next_delivery(&mut consumer).await;
    assert_eq!(second.body, b"again");
    assert!(second.redelivered, "a requeued message comes back marked");
    consumer.basic_nack(second.delivery_tag.as_deref().expect("tag"), false).expect("nack drop");
    within("publish marker", producer.basic_publish("", &queue, b"marker".to_vec(), &BasicProperties::default(), true))
        .await
        .expect("publish");
    assert_eq!(next_delivery(&mut consumer).await.body, b"marker", "the dropped message is gone");
}

/// An unknown virtual host, and a user with no permission on `/`, are refused at CONNECT.
#[wasm_bindgen_test]
async fn unknown_vhost_and_a_user_without_permissions_are_refused() {
    let options = burrow::client::ConnectOptions::new("no-such-vhost").with_credentials(common::LOGIN, common::PASSCODE);
    let error = within("CONNECT", Plain::open(common::BROKER_URL, options))
        .await
        .err()
        .expect("an unknown vhost must not connect");
    assert_eq!(error.refusal().map(|r| r.kind), Some(RefusalKind::VhostDenied), "{error}");

    let options = burrow::client::ConnectOptions::new("/").with_credentials("burrow-noperm", "burrow-noperm");
    let error = within("CONNECT", Plain::open(common::BROKER_URL, options))
        .await
        .err()
        .expect("a user without permissions must not connect");
    let refusal = error.refusal().expect("a refusal");
    assert_eq!(refusal.kind, RefusalKind::VhostDenied, "{refusal}");
    assert!(refusal.detail.contains("access denied"), "the broker's words: {}", refusal.detail);
}

/// A consumer killed with several unacked messages: each one is redelivered, marked.
#[wasm_bindgen_test]
async fn every_unacked_message_of_a_killed_consumer_is_redelivered() {
    let queue = fresh_name("killed");
    let producer = connect().await;
    within("declare", producer.queue_declare(&queue, &QueueOptions::default())).await.expect("declare");
    let mut doomed = connect().await;
    within("consume", doomed.basic_consume(&queue, false, Some(5))).await.expect("consume");
    for n in 0..5 {
        within("publish", producer.basic_publish("", &queue, format!("job {n}").into(), &BasicProperties::default(), true))
            .await
            .expect("publish");
    }
    for n in 0..5 {
        let delivery = next_delivery(&mut doomed).await;
        assert_eq!(delivery.body_text(), format!("job {n}"));
        assert!(!delivery.redelivered);
    }
    let mut heir = connect().await;
    within("consume", heir.basic_consume(&queue, false, Some(10))).await.expect("consume");
    doomed.abort();
    for n in 0..5 {
        let delivery = next_delivery(&mut heir).await;
        assert_eq!(delivery.body_text(), format!("job {n}"), "in their original order");
        assert!(delivery.redelivered, "job {n} is marked redelivered");
        heir.basic_ack(delivery.delivery_tag.as_deref().expect("tag")).expect("ack");
    }
}
