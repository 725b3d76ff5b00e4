//! The management API's calls the workbench makes, against the real broker in
//! headless Chromium: the route check (RabbitMQ confirms a message that routes
//! nowhere, so only this says it went nowhere), "Get messages" that puts them
//! back, purge.
#![cfg(target_arch = "wasm32")]

mod common;

use burrow::management::RouteCheck;
use burrow::rabbit::{BasicProperties, QueueOptions, Unroutable};
use burrow::reliable::{ReliableConnection, ReliableOptions};
use common::{connect_options, fresh_name, management, within, BROKER_URL};
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn a_route_check_finds_the_queue_or_the_binding_or_says_why_not() {
    let api = management();
    let queue = fresh_name("route");
    let nowhere = api.check_route("/", "", &queue).await.expect("an answer");
    assert_eq!(nowhere, RouteCheck::Nowhere(Unroutable::NoQueue { queue: queue.clone() }));
    assert_eq!(nowhere.to_string(), format!("routed nowhere: no queue '{queue}'"));
    let connection = ReliableConnection::start(BROKER_URL, connect_options(), ReliableOptions::default()).expect("url");
    within("the declare", connection.queue_declare(&queue, &QueueOptions::default())).await.expect("declared");
    assert_eq!(api.check_route("/", "", &queue).await.expect("an answer"), RouteCheck::Routed(vec![queue.clone()]));

    // A topic exchange: nothing bound for the key, then a queue bound with a
    // pattern that takes it. An exchange of its own: a binding left on amq.topic
    // with "#" (a person's, another run's) would take every key.
    let key = format!("{queue}.orange.fox");
    let topic = format!("{queue}-x");
    within("the exchange", api.exchange_declare("/", &topic, "topic", false, true)).await.expect("declared");
    let unbound = api.check_route("/", &topic, &key).await.expect("an answer");
    assert!(matches!(&unbound, RouteCheck::Nowhere(Unroutable::NoBinding { kind, .. }) if kind == "topic"), "{unbound:?}");
    let bound = format!("{queue}-topic");
    within("the declare", connection.queue_declare(&bound, &QueueOptions::default())).await.expect("declared");
    within("the binding", common::bind_queue(&topic, &bound, &format!("{queue}.*.fox"))).await.expect("bound");
    let routed = api.check_route("/", &topic, &key).await.expect("an answer");
    assert_eq!(routed, RouteCheck::Routed(vec![bound.clone()]));
    assert!(matches!(
        api.check_route("/", &topic, &format!("{queue}.orange.cat")).await.expect("an answer"),
        RouteCheck::Nowhere(_)
    ));
    let missing = fresh_name("no-exchange");
    let answer = api.check_route("/", &missing, "k").await.expect("an answer");
    assert_eq!(answer, RouteCheck::Nowhere(Unroutable::NoExchange { exchange: missing }));
    // A headers exchange routes by headers: without bindings nowhere, with some
    // the key cannot tell (the pure matching's tests cover both).
    let headers = api.check_route("/", "amq.headers", "k").await.expect("an answer");
    assert!(
        matches!(&headers, RouteCheck::Nowhere(Unroutable::NoBinding { kind, .. }) if kind == "headers")
            || matches!(headers, RouteCheck::Unknown(_)),
        "{headers:?}"
    );
    connection.stop();
    let _ = api.delete_queue("/", &queue).await;
    let _ = api.delete_queue("/", &bound).await;
    let _ = api.exchange_delete("/", &topic).await;
}

/// `queue_exists` is true for the name exactly, whatever characters it has
/// (RabbitMQ is asked with a regular expression, and matches it ignoring case),
/// and false for a prefix, a longer name or the name in other case.
#[wasm_bindgen_test]
async fn queue_exists_matches_the_name_exactly() {
    let api = management();
    let stamp = fresh_name("");
    let names = [format!("水续传{stamp}"), format!("a.b*(c)[d]^$|?+{{1}}\\ e{stamp}"), format!("Task_Queue{stamp}")];
    let connection = ReliableConnection::start(BROKER_URL, connect_options(), ReliableOptions::default()).expect("url");
    for name in &names {
        assert!(!api.queue_exists("/", name).await.expect("an answer"), "{name} before it was declared");
        within("the declare", connection.queue_declare(name, &QueueOptions::default())).await.expect("declared");
        assert!(api.queue_exists("/", name).await.expect("an answer"), "{name} once declared");
    }
    for other in [format!("水续{stamp}"), format!("水续传{stamp}x"), format!("task_queue{stamp}"), format!("a.b*(c)[d]^$|?+{{1}}\\ {stamp}")] {
        assert!(!api.queue_exists("/", &other).await.expect("an answer"), "{other} is not a declared name");
    }
    connection.stop();
    for name in &names {
        let _ = api.delete_queue("/", name).await;
    }
}

/// Waits (bounded) until the management API counts `ready` messages in `queue`.
async fn ready_becomes(queue: &str, ready: u64) {
    let api = management();
    within("the figures", async {
        loop {
            let now = api.queue("/", queue).await.ok().flatten().map(|q| q.messages_ready);
            if now == Some(ready) {
                return;
            }
            TimeoutFuture::new(200).await;
        }
    })
    .await;
}

#[wasm_bindgen_test]
async fn get_messages_shows_them_and_puts_them_back_marked_and_purge_empties() {
    let api = management();
    let queue = fresh_name("peek");
    let connection = ReliableConnection::start(BROKER_URL, connect_options(), ReliableOptions::default()).expect("url");
    within("the declare", connection.queue_declare(&queue, &QueueOptions::default())).await.expect("declared");
    let properties = BasicProperties {
        content_type: Some("application/json".into()),
        correlation_id: Some("c-1".into()),
        headers: vec![("trace".into(), "t-9".into())],
        ..BasicProperties::default()
    };
    for n in 0..3 {
        let confirm = connection.basic_publish("", &queue, format!("{{\"n\": {n}}}").into_bytes(), &properties).await.expect("taken");
        within("a confirm", confirm).await.expect("confirmed");
    }
    let peeked = api.get_messages("/", &queue, 2).await.expect("an answer").expect("the queue exists");
    assert_eq!(peeked.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["{\"n\": 0}", "{\"n\": 1}"]);
    let first = peeked.first().expect("one");
    assert!(!first.redelivered, "never delivered before");
    assert!(first.properties.contains(&("content_type".to_owned(), "application/json".to_owned())), "{:?}", first.properties);
    assert!(first.properties.contains(&("correlation_id".to_owned(), "c-1".to_owned())), "{:?}", first.properties);
    assert!(first.headers.contains(&("trace".to_owned(), "t-9".to_owned())), "{:?}", first.headers);
    ready_becomes(&queue, 3).await;
    let again = api.get_messages("/", &queue, 1).await.expect("an answer").expect("the queue exists");
    assert!(again.first().is_some_and(|m| m.redelivered), "put back marked redelivered: {again:?}");
    assert_eq!(api.get_messages("/", &fresh_name("none"), 1).await.expect("an answer"), None);
    assert!(api.purge_queue("/", &queue).await.expect("an answer"), "purged");
    ready_becomes(&queue, 0).await;
    connection.stop();
    let _ = api.delete_queue("/", &queue).await;
}
