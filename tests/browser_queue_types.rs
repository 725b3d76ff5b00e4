//! Quorum queues and streams against the real broker (RabbitMQ 3.10.8), in
//! headless Chromium, through `ReliableConnection`: a quorum queue declared, used,
//! and its redelivery count after a consumer crash; a stream of 1,000 messages
//! read from `first`, from `offset=500`, from `last` and from `next`; a stream
//! consumer whose connection the broker closes mid-read (the management API's
//! "Force close", what RabbitMQ does to a client when an administrator or a
//! failing node ends it) misses nothing and repeats only what it had not acked.
//! What 4.x adds, asserted per broker version: a stream filter (3.13+) read
//! back with only its value (the client's second filter counted), and consumer
//! priorities (4.0+); refused in words with nothing sent on older brokers.
#![cfg(target_arch = "wasm32")]

mod common;

use std::collections::BTreeMap;

use burrow::rabbit::{
    BasicProperties, QueueOptions, QueueType, QueueTypeProblem, RabbitError, StreamFilter, StreamOffset,
};
use burrow::reliable::{
    AckError, ConnectionEvent, ConsumeError, ConsumeOptions, Consumer, DeclareError, Delivery, PublishError,
    ReliableConnection,
};
use common::{connect_options, fence, fresh_name, management, within, BROKER_URL};
use futures_util::{FutureExt, StreamExt};
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn start() -> ReliableConnection {
    ReliableConnection::start(BROKER_URL, connect_options(), common::reliable_options()).expect("a ws:// URL")
}

async fn next(consumer: &mut Consumer, what: &str) -> Delivery {
    match within(what, consumer.next()).await {
        Some(Ok(delivery)) => delivery,
        Some(Err(error)) => panic!("{what}: the consumer ended: {error}"),
        None => panic!("{what}: the consumer ended"),
    }
}

/// Publishes `count` persistent messages `m-0`… and waits for every confirm.
async fn publish_all(c: &ReliableConnection, queue: &str, count: u32) {
    let mut confirms = Vec::new();
    for n in 0..count {
        let body = format!("m-{n}").into_bytes();
        confirms.push(c.basic_publish("", queue, body, &BasicProperties::persistent()).await.expect("taken"));
    }
    for confirm in confirms {
        within("a confirm", confirm).await.expect("confirmed");
    }
}

#[wasm_bindgen_test]
async fn a_quorum_queue_is_declared_used_and_counts_redeliveries_after_a_crash() {
    let queue = fresh_name("quorum");
    let mut c = start();
    c.queue_declare(&queue, &QueueOptions::quorum()).await.expect("declare a quorum queue");
    let state = management().queue("/", &queue).await.expect("management API").expect("the queue exists");
    assert_eq!(state.queue_type, "quorum", "the management API says quorum");
    assert!(state.durable);
    assert!(state.leader.is_some() && !state.members.is_empty(), "a leader and members: {state:?}");
    console_log!("quorum queue {queue}: leader {:?}, members {:?}", state.leader, state.members);

    // What RabbitMQ would refuse (and close the connection on) is refused here,
    // and the connection goes on.
    let mut events = c.take_events();
    let exclusive = QueueOptions { exclusive: true, ..QueueOptions::quorum() };
    match c.queue_declare(&fresh_name("quorum-exclusive"), &exclusive).await {
        Err(DeclareError::Invalid(RabbitError::QueueTypeConflict { queue_type, problem })) => {
            assert_eq!((queue_type, problem), (QueueType::Quorum, QueueTypeProblem::Exclusive));
        }
        other => panic!("expected the exclusive quorum queue refused before sending, got {other:?}"),
    }
    publish_all(&c, &queue, 3).await;
    assert!(c.is_connected());
    while let Ok(event) = events.try_recv() {
        assert!(!matches!(event, ConnectionEvent::Reconnecting { .. }), "no reconnect: {event:?}");
    }

    // A worker takes all three and crashes before acking.
    let worker = start();
    let mut consumer = worker.basic_consume(&queue, ConsumeOptions { prefetch: 3, ..ConsumeOptions::default() }).expect("consume");
    for n in 0..3 {
        let delivery = next(&mut consumer, "a first delivery").await;
        assert_eq!(delivery.body_text(), format!("m-{n}"));
        assert_eq!((delivery.redelivered, delivery.delivery_count), (false, None), "a first delivery");
    }
    worker.crash();

    // The next worker gets them again: redelivered, counted once.
    let worker = start();
    let mut consumer = worker.basic_consume(&queue, ConsumeOptions { prefetch: 3, ..ConsumeOptions::default() }).expect("consume");
    let mut last = None;
    for n in 0..3 {
        let delivery = next(&mut consumer, "a redelivery").await;
        assert_eq!(delivery.body_text(), format!("m-{n}"));
        assert!(delivery.redelivered && delivery.possibly_duplicate());
        assert_eq!(delivery.delivery_count, Some(1), "x-delivery-count after one crash");
        if n < 2 {
            delivery.ack().expect("ack");
        } else {
            delivery.nack(true).expect("nack, requeue");
            last = Some(delivery.body_text());
        }
    }
    // Nacked with requeue: once more, counted twice.
    let again = next(&mut consumer, "the nacked one").await;
    assert_eq!(Some(again.body_text()), last);
    assert_eq!(again.delivery_count, Some(2), "x-delivery-count after a crash and a nack");
    again.ack().expect("ack");
    worker.stop();
    c.stop();
    let _ = management().delete_queue("/", &queue).await;
}

/// Reads from `offset` until offset `until` (inclusive) arrives, acking each;
/// returns (offset, body) of everything read.
async fn read_stream(queue: &str, offset: StreamOffset, until: u64) -> Vec<(u64, String)> {
    let c = start();
    let mut consumer = c.basic_consume(queue, ConsumeOptions::stream(offset, 100)).expect("consume");
    let mut read = Vec::new();
    loop {
        let delivery = next(&mut consumer, "a stream delivery").await;
        let at = delivery.stream_offset.expect("a stream delivery carries its offset");
        assert!(!delivery.possibly_duplicate(), "nothing repeats on one connection");
        read.push((at, delivery.body_text()));
        delivery.ack().expect("ack (credit for the next)");
        if at >= until {
            break;
        }
    }
    c.stop();
    read
}

fn in_order(read: &[(u64, String)]) {
    for pair in read.windows(2) {
        assert_eq!(pair[1].0, pair[0].0 + 1, "contiguous offsets");
    }
    for (offset, body) in read {
        assert_eq!(*body, format!("m-{offset}"), "offset {offset} is the message published {offset}th");
    }
}

#[wasm_bindgen_test]
async fn a_stream_of_a_thousand_is_read_from_first_from_offset_500_from_last_and_from_next() {
    let stream = fresh_name("stream");
    let c = start();
    c.queue_declare(&stream, &QueueOptions::stream()).await.expect("declare a stream");
    let state = management().queue("/", &stream).await.expect("management API").expect("the stream exists");
    assert_eq!(state.queue_type, "stream");
    publish_all(&c, &stream, 1_000).await;

    let first = read_stream(&stream, StreamOffset::First, 999).await;
    assert_eq!(first.len(), 1_000);
    assert_eq!(first[0].0, 0);
    in_order(&first);

    let middle = read_stream(&stream, StreamOffset::Offset(500), 999).await;
    assert_eq!((middle.len(), middle[0].0), (500, 500), "from offset=500: 500..=999");
    in_order(&middle);

    // "last" is the last chunk RabbitMQ wrote: a few of the latest messages.
    let last = read_stream(&stream, StreamOffset::Last, 999).await;
    assert!(!last.is_empty() && last.len() < 1_000, "the last chunk only: {} messages", last.len());
    in_order(&last);
    console_log!("stream {stream}: first {} messages, offset=500 {}, last {} (from offset {})",
        first.len(), middle.len(), last.len(), last[0].0);

    // "next": only what comes after the subscription.
    let mut reader = start();
    let mut tail = reader.basic_consume(&stream, ConsumeOptions::stream(StreamOffset::Next, 10)).expect("consume");
    common::until_event(&mut reader, "the subscription", |e| matches!(e, ConnectionEvent::ConsumerReady(_))).await;
    let confirm = c.basic_publish("", &stream, b"m-1000".to_vec(), &BasicProperties::persistent()).await.expect("taken");
    within("the confirm", confirm).await.expect("confirmed");
    let newest = next(&mut tail, "the next message").await;
    assert_eq!((newest.stream_offset, newest.body_text()), (Some(1_000), "m-1000".to_owned()));

    // What RabbitMQ answers by closing the connection is refused here, typed.
    let auto = ConsumeOptions { auto_ack: true, ..ConsumeOptions::stream(StreamOffset::First, 10) };
    assert!(matches!(c.basic_consume(&stream, auto), Err(ConsumeError::Invalid(RabbitError::StreamConsume(_)))));
    let no_credit = ConsumeOptions::stream(StreamOffset::First, 0);
    assert!(matches!(c.basic_consume(&stream, no_credit), Err(ConsumeError::Invalid(RabbitError::StreamConsume(_)))));
    // A nack of a stream message would close the connection: refused, and it stays up.
    match newest.nack(true) {
        Err(error @ AckError::StreamNack) => assert!(error.to_string().contains("cannot be nacked"), "{error}"),
        other => panic!("expected the nack refused, got {other:?}"),
    }
    newest.ack().expect("the ack works");
    assert!(reader.is_connected());
    reader.stop();
    c.stop();
    let _ = management().delete_queue("/", &stream).await;
}

#[wasm_bindgen_test]
async fn a_stream_consumer_closed_by_the_broker_mid_read_misses_nothing_and_repeats_only_what_it_had_not_acked() {
    let stream = fresh_name("stream-resume");
    let producer = start();
    producer.queue_declare(&stream, &QueueOptions::stream()).await.expect("declare a stream");
    publish_all(&producer, &stream, 1_000).await;
    producer.stop();

    let mut c = start();
    let mut consumer = c.basic_consume(&stream, ConsumeOptions::stream(StreamOffset::First, 10)).expect("consume");
    // offset → (copies, marked copies)
    let mut seen: BTreeMap<u64, (u32, u32)> = BTreeMap::new();
    let mut note = |delivery: &Delivery| {
        let at = delivery.stream_offset.expect("an offset");
        assert_eq!(delivery.body_text(), format!("m-{at}"));
        let entry = seen.entry(at).or_default();
        entry.0 += 1;
        entry.1 += u32::from(delivery.possibly_duplicate());
        at
    };
    // Read and ack 0..300, then take ten more (the prefetch) and hold them.
    for _ in 0..300 {
        let delivery = next(&mut consumer, "a delivery before the close").await;
        note(&delivery);
        delivery.ack().expect("ack");
    }
    let mut held = Vec::new();
    for _ in 0..10 {
        let delivery = next(&mut consumer, "an unacked delivery").await;
        note(&delivery);
        held.push(delivery);
    }
    assert_eq!(held.iter().map(|d| d.stream_offset).collect::<Vec<_>>(), (300..310).map(Some).collect::<Vec<_>>());

    // The broker closes the connection (its management API's "Force close").
    let api = management();
    let mut connections = Vec::new();
    for _ in 0..40 {
        connections = api.queue("/", &stream).await.ok().flatten().map(|s| s.consumer_connections).unwrap_or_default();
        if !connections.is_empty() {
            break;
        }
        TimeoutFuture::new(250).await;
    }
    assert_eq!(connections.len(), 1, "the stream's one consumer connection");
    let mut events = c.take_events();
    assert!(api.close_connection(&connections[0]).await.expect("management API"), "closed");
    let lost = within("the close", async {
        loop {
            match events.next().await {
                Some(ConnectionEvent::Reconnecting { reason, .. }) => return reason,
                Some(_) => {}
                None => panic!("the events ended"),
            }
        }
    })
    .await;
    console_log!("the broker closed the consumer's connection: {lost}");
    within("the reconnect", async {
        loop {
            if let Some(ConnectionEvent::Connected { .. }) = events.next().await {
                return;
            }
        }
    })
    .await;
    // The held ones are stale now: acking them is refused, typed.
    assert!(matches!(held[0].ack(), Err(AckError::Stale { .. })));

    // It continues at 300: the ten it had not acked come again, marked, then the rest.
    // Deliveries of the old connection may still be waiting in the stream, read only
    // now: their ack is refused as stale, and they count as delivered, not acked.
    let mut after = Vec::new();
    let mut unacked_old: Vec<u64> = (300..310).collect();
    while after.last().copied() != Some(999) {
        let delivery = next(&mut consumer, "a delivery after the reconnect").await;
        let at = note(&delivery);
        match delivery.ack() {
            Ok(()) => after.push(at),
            Err(AckError::Stale { .. }) => unacked_old.push(at),
            Err(other) => panic!("ack: {other:?}"),
        }
    }
    assert_eq!(after.first(), Some(&300), "not from the start, not skipping");
    assert_eq!(after.len(), 700);
    assert_eq!(seen.len(), 1_000, "every offset, none missing");
    let repeated: Vec<u64> = seen.iter().filter(|(_, (copies, _))| *copies > 1).map(|(at, _)| *at).collect();
    unacked_old.sort_unstable();
    assert_eq!(repeated, unacked_old, "only what it had been given and not acked came twice");
    assert!(seen.values().all(|(copies, marked)| *marked == copies - 1), "every second copy marked, no first one");
    console_log!("stream resume: 1000 offsets, repeated {:?}..={:?} (marked), after the close {} deliveries",
        repeated.first(), repeated.last(), after.len());
    c.stop();
    let _ = management().delete_queue("/", &stream).await;
}

// ---- What 4.x adds: stream filters (3.13+) and consumer priorities (4.0+) ----

fn filtered(values: &[&str], match_unfiltered: bool) -> ConsumeOptions {
    let filter = StreamFilter { match_unfiltered, ..StreamFilter::new(values.iter().copied()) };
    ConsumeOptions { stream_filter: Some(filter), ..ConsumeOptions::stream(StreamOffset::First, 50) }
}

fn with_value(value: Option<&str>) -> BasicProperties {
    BasicProperties { stream_filter_value: value.map(str::to_owned), ..BasicProperties::persistent() }
}

/// Publishes `count` messages `<value>-<n>` with that filter value (or none), and
/// waits for their confirms: one batch, so RabbitMQ writes it in chunks of its own.
async fn publish_batch(c: &ReliableConnection, stream: &str, value: Option<&str>, count: u32) {
    let mut confirms = Vec::new();
    for n in 0..count {
        let body = format!("{}-{n}", value.unwrap_or("none")).into_bytes();
        confirms.push(c.basic_publish("", stream, body, &with_value(value)).await.expect("taken"));
    }
    for confirm in confirms {
        within("a confirm", confirm).await.expect("confirmed");
    }
}

/// Reads until the body `end`; returns the bodies before it.
async fn read_until_end(consumer: &mut Consumer) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let delivery = next(consumer, "a filtered stream delivery").await;
        delivery.ack().expect("ack");
        match delivery.body_text() {
            end if end == "end" => return bodies,
            body => bodies.push(body),
        }
    }
}


#[wasm_bindgen_test]
async fn a_filtered_stream_consumer_gets_only_its_value_from_3_13_and_is_refused_in_words_before() {
    let version = common::server_version().await;
    let stream = fresh_name("stream-filter");
    let c = start();
    c.queue_declare(&stream, &QueueOptions::stream()).await.expect("declare a stream");
    if version < (3, 13, 0) {
        let refused = c.basic_consume(&stream, filtered(&["red"], false)).err().map(|e| e.to_string());
        let words = format!("stream filtering needs RabbitMQ 3.13.0 or later; this broker is RabbitMQ/{}.{}.{}", version.0, version.1, version.2);
        assert_eq!(refused.as_deref(), Some(words.as_str()));
        let publish = c.basic_publish("", &stream, b"x".to_vec(), &with_value(Some("red"))).await;
        assert!(matches!(&publish, Err(PublishError::Invalid(RabbitError::Unsupported(_)))), "refused");
        // Nothing was sent: the connection is as it was, and the stream empty.
        publish_batch(&c, &stream, None, 1).await;
        let mut reader = c.basic_consume(&stream, ConsumeOptions::stream(StreamOffset::First, 10)).expect("consume");
        assert_eq!(next(&mut reader, "the one message").await.body_text(), "none-0");
        console_log!("stream filter on {version:?}: refused in words, nothing sent");
        let _ = management().delete_queue("/", &stream).await;
        return;
    }
    // Batches of one value each (their chunks hold that value only), then one
    // batch of both interleaved (its chunks hold both), then unfiltered ones.
    publish_batch(&c, &stream, Some("red"), 100).await;
    publish_batch(&c, &stream, Some("blue"), 300).await;
    publish_batch(&c, &stream, Some("red"), 100).await;
    let mut mixed = Vec::new();
    for n in 0..200 {
        let value = if n % 2 == 0 { "red" } else { "blue" };
        let body = format!("mixed-{value}-{n}").into_bytes();
        mixed.push(c.basic_publish("", &stream, body, &with_value(Some(value))).await.expect("taken"));
    }
    for confirm in mixed {
        within("a confirm", confirm).await.expect("confirmed");
    }
    publish_batch(&c, &stream, None, 20).await;
    let end = c.basic_publish("", &stream, b"end".to_vec(), &with_value(Some("red"))).await.expect("taken");
    within("the end's confirm", end).await.expect("confirmed");
    let blue_published = 300 + 100;

    let reader = start();
    let mut red = reader.basic_consume(&stream, filtered(&["red"], false)).expect("a filtered consumer");
    let bodies = read_until_end(&mut red).await;
    assert_eq!(bodies.len(), 300, "every red message, and only those");
    assert!(bodies.iter().all(|b| b.starts_with("red-") || b.starts_with("mixed-red-")), "only red");
    let kept_back = red.filtered_out();
    // The broker skipped chunks of blue alone; what came with red chunks the
    // client kept back (and acked: the consumer went on to the end).
    assert!(kept_back > 0 && kept_back < blue_published + 20, "kept back {kept_back}");

    let mut unfiltered = reader.basic_consume(&stream, filtered(&["red"], true)).expect("a filtered consumer");
    let with_none = read_until_end(&mut unfiltered).await;
    assert_eq!(with_none.len(), 320, "red and the messages without a value");
    assert_eq!(with_none.iter().filter(|b| b.starts_with("none-")).count(), 20);
    console_log!(
        "stream filter on {version:?}: {} messages published (400 blue); red read 300, client kept back {kept_back}; \
         red + unfiltered read 320, kept back {}",
        300 + blue_published + 21,
        unfiltered.filtered_out()
    );
    let _ = management().delete_queue("/", &stream).await;
}

#[wasm_bindgen_test]
async fn the_higher_priority_consumer_gets_the_messages_from_4_0_and_priorities_are_refused_before() {
    let version = common::server_version().await;
    let queue = fresh_name("priority");
    let c = start();
    c.queue_declare(&queue, &QueueOptions::durable()).await.expect("declare");
    let high_options = ConsumeOptions { prefetch: 100, priority: Some(10), ..ConsumeOptions::default() };
    if version < (4, 0, 0) {
        let refused = c.basic_consume(&queue, high_options).err().map(|e| e.to_string());
        let words = format!(
            "a consumer priority (x-priority) needs RabbitMQ 4.0.0 or later; this broker is RabbitMQ/{}.{}.{}",
            version.0, version.1, version.2
        );
        assert_eq!(refused.as_deref(), Some(words.as_str()));
        assert!(c.is_connected(), "nothing sent, nothing closed");
        console_log!("x-priority on {version:?}: refused in words, nothing sent");
        let _ = management().delete_queue("/", &queue).await;
        return;
    }
    let (low_connection, high_connection) = (start(), start());
    let low_options = ConsumeOptions { prefetch: 100, priority: Some(0), ..ConsumeOptions::default() };
    let mut low = low_connection.basic_consume(&queue, low_options).expect("consume");
    fence(&low_connection).await;
    let mut high = high_connection.basic_consume(&queue, high_options).expect("consume");
    fence(&high_connection).await;
    publish_all(&c, &queue, 50).await;
    for n in 0..50 {
        let delivery = next(&mut high, "a delivery to the high-priority consumer").await;
        assert_eq!(delivery.body_text(), format!("m-{n}"));
        delivery.ack().expect("ack");
    }
    // All 50 went to the consumer with room and the higher priority.
    assert!(low.next().now_or_never().is_none(), "nothing for the low-priority consumer");
    // Once it is gone, the other gets what comes next.
    high.cancel();
    // Until RabbitMQ has handled the UNSUBSCRIBE, the next message may still go
    // to `high` and stay unacked there (an ACK after it is refused).
    fence(&high_connection).await;
    publish_all(&c, &queue, 1).await;
    assert_eq!(next(&mut low, "a delivery to the low-priority consumer").await.body_text(), "m-0");
    console_log!("x-priority on {version:?}: 50 of 50 to priority 10 (prefetch 100 each), 0 to priority 0");
    let _ = management().delete_queue("/", &queue).await;
}

/// QA on 4.0.5: a stream's retention was refused as "not passed on", which only
/// 3.10.8's adapter does not. From 3.12 it reaches the broker (the management API
/// shows it on the stream); before, it is refused in words and nothing is sent.
#[wasm_bindgen_test]
async fn a_streams_retention_reaches_the_broker_from_3_12_and_is_refused_in_words_before() {
    let version = common::server_version().await;
    let stream = fresh_name("stream-retention");
    let c = start();
    let options = QueueOptions {
        arguments: vec![("x-max-age".into(), "7D".into()), ("x-stream-max-segment-size-bytes".into(), "1000000".into())],
        ..QueueOptions::stream()
    };
    let declared = c.queue_declare(&stream, &options).await;
    if version < (3, 12, 0) {
        let words = declared.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(words.contains("needs RabbitMQ 3.12.0 or later"), "{words}");
        assert!(c.is_connected(), "nothing sent, nothing closed");
        let state = management().queue("/", &stream).await.expect("the management API answers");
        assert!(state.is_none(), "no stream was made");
        console_log!("stream retention on {version:?}: refused in words, nothing sent");
        return;
    }
    declared.expect("a stream with its retention");
    let state = management().queue("/", &stream).await.expect("the management API answers").expect("the stream");
    assert_eq!(state.queue_type, "stream");
    let argument = |name: &str| state.arguments.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(argument("x-max-age").as_deref(), Some("7D"), "{:?}", state.arguments);
    assert_eq!(argument("x-stream-max-segment-size-bytes").as_deref(), Some("1000000"), "{:?}", state.arguments);
    console_log!("stream retention on {version:?}: {:?}", state.arguments);
    let _ = management().delete_queue("/", &stream).await;
}
