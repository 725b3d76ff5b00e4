//! A durable exchange subscription through a broker restart, in headless
//! Chromium: every persistent message published before, during and after the
//! restart arrives, a second copy only marked. Needs
//! `tests/support/broker_restarter.py` (it restarts RabbitMQ); `./burrow test`
//! runs it beside it, under the broker lock.
#![cfg(target_arch = "wasm32")]

mod common;

use std::collections::BTreeMap;

use burrow::rabbit::{BasicProperties, ConsumeFrom};
use burrow::reliable::{ConnectionEvent, ConsumeOptions, ReliableConnection};
use common::{connect_options, fresh_name, reliable_options, until_event, within, BROKER_URL};
use futures_util::future::{join, select, Either};
use futures_util::StreamExt;
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A restart takes RabbitMQ 10 to 30 s here: the bounds below allow for it.
const RESTART_MS: u32 = 90_000;

async fn open() -> ReliableConnection {
    let connection = ReliableConnection::start(BROKER_URL, connect_options(), reliable_options()).expect("start");
    assert!(within("connecting", connection.wait_connected()).await, "connected");
    connection
}

async fn within_restart<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    match select(Box::pin(future), TimeoutFuture::new(RESTART_MS)).await {
        Either::Left((value, _)) => value,
        Either::Right(_) => panic!("{what} did not happen within {RESTART_MS} ms"),
    }
}

#[wasm_bindgen_test]
async fn a_durable_subscription_keeps_every_persistent_message_through_a_broker_restart() {
    let exchange = fresh_name("burrow.test.restart-topic");
    let queue = fresh_name("burrow.test.restart-sub");
    let publisher = open().await;
    publisher.exchange_declare(&exchange, "topic", true, false).await.expect("exchange_declare");
    let mut sub = open().await;
    let source = ConsumeFrom::durable(&exchange, "orders.#", &queue);
    let mut consumer = sub.basic_consume(source, ConsumeOptions { prefetch: 10, ..Default::default() }).expect("consume");
    let key = consumer.key();
    until_event(&mut sub, "the subscription", |e| matches!(e, ConnectionEvent::ConsumerReady(k) if *k == key)).await;

    let persistent = BasicProperties::persistent();
    let publish = |i: u32| {
        let confirm = publisher.basic_publish(&exchange, "orders.new", format!("order {i}").into_bytes(), &persistent);
        async move { within_restart("a confirm", confirm.await.expect("into the outbox")).await.expect("confirmed") }
    };
    for i in 0..10 {
        publish(i).await;
    }
    let mut received: BTreeMap<String, Vec<bool>> = BTreeMap::new();
    for _ in 0..5 {
        let d = within("a delivery", consumer.next()).await.expect("on").expect("a delivery");
        d.ack().expect("ack");
        received.entry(d.body_text()).or_default().push(d.possibly_duplicate());
    }
    // Restart RabbitMQ and publish meanwhile: the outbox keeps what it cannot send.
    let during = async {
        for i in 10..20 {
            publish(i).await;
        }
    };
    let (restarted, ()) = join(common::ask_broker_helper_text("/restart"), during).await;
    restarted.expect("the broker restarted (is tests/support/broker_restarter.py running?)");
    for i in 20..25 {
        publish(i).await;
    }
    while received.len() < 25 {
        let d = within_restart("every order", consumer.next()).await.expect("the consumer goes on").expect("a delivery");
        // A delivery of the connection the restart cut cannot be acked: it comes again.
        let _ = d.ack();
        received.entry(d.body_text()).or_default().push(d.possibly_duplicate());
    }
    let expected: Vec<String> = (0..25).map(|i| format!("order {i}")).collect();
    let mut got: Vec<String> = received.keys().cloned().collect();
    got.sort_by_key(|b| b.trim_start_matches("order ").parse::<u32>().unwrap_or(0));
    assert_eq!(got, expected, "every persistent message arrived");
    for (body, copies) in &received {
        assert!(copies.iter().filter(|marked| !**marked).count() <= 1, "{body}: at most one unmarked copy: {copies:?}");
    }
    // Let the acks land, then end the subscription for good.
    TimeoutFuture::new(300).await;
    assert!(sub.queue_delete(&queue).await.expect("queue_delete"), "deleted");
    assert!(publisher.exchange_delete(&exchange).await.expect("exchange_delete"));
    publisher.stop();
    sub.stop();
}
