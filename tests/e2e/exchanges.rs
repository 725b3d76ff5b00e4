//! A consumer card subscribed to an exchange (transient, and durable into a
//! named queue), what it says it reads, the gap a transient one says in words
//! after its connection is closed; the RPC panel's reply and round trip, and
//! its timeout in words; a durable subscription into a queue declared
//! otherwise, refused in words that name the queue.

use fantoccini::Client;

use super::broker::{self, connections_of, encode, ensure_user, E2E_USER};
use super::disconnect::E2E_PASSWORD;
use super::page::*;
use super::tutorial::{enabled_step, step, GUIDE};

const CONSUMERS: &str = "section[aria-label='Consumers']";
const RPC: &str = "section[aria-label='RPC call']";

/// Adds a consumer of `exchange` with `key`, into `durable` when given.
pub(crate) async fn subscribe(client: &Client, exchange: &str, key: &str, durable: &str) {
    type_into(client, &format!("{CONSUMERS} input[name='consume-exchange']"), exchange).await;
    type_into(client, &format!("{CONSUMERS} input[name='binding-key']"), key).await;
    type_into(client, &format!("{CONSUMERS} input[name='durable-queue']"), durable).await;
    choose(client, &format!("{CONSUMERS} select[name='ack']"), "auto").await;
    type_into(client, &format!("{CONSUMERS} input[name='prefetch']"), "0").await;
    click(client, &format!("{CONSUMERS} button[type='submit']")).await;
}

/// Publishes `body` to `exchange` with `key` from the producer.
pub(crate) async fn publish_to(client: &Client, exchange: &str, key: &str, body: &str) {
    type_into(client, "section[aria-label='Producer'] input[name='exchange']", exchange).await;
    publish(client, key, body, 1).await;
}

/// Sends a call from the RPC panel; the newest outcome's words.
async fn call(client: &Client, routing_key: &str, body: &str, timeout_ms: u32, what: &str, ok: impl Fn(&str) -> bool) -> String {
    type_into(client, &format!("{RPC} input[name='rpc-routing-key']"), routing_key).await;
    type_into(client, &format!("{RPC} input[name='rpc-body']"), body).await;
    type_into(client, &format!("{RPC} input[name='rpc-timeout']"), &timeout_ms.to_string()).await;
    click(client, &format!("{RPC} button[type='submit']")).await;
    let outcome = wait_text(client, &format!("{RPC} [data-testid='rpc-outcomes'] li:first-child"), what, ok).await;
    // Regression (QA): Call disabled itself while waiting, and the keyboard focus fell to the page.
    focus_on(client, &format!("{RPC} button[type='submit']")).await.expect("the focus stays on Call");
    outcome
}

/// The queue a card's status says it reads through (“through queue “…””).
fn card_queue(card: &str) -> String {
    let after = card.split("through queue “").nth(1).unwrap_or_default();
    after.split('”').next().unwrap_or_default().to_owned()
}

/// The queues bound to `exchange`, as the management API lists them.
fn bound_queues(exchange: &str) -> Vec<String> {
    let (_, bindings) = broker::api("GET", &format!("/exchanges/%2F/{}/bindings/source", encode(exchange)), None);
    let list = bindings.as_array().cloned().unwrap_or_default();
    let mut queues: Vec<String> = list.iter().filter_map(|b| b["destination"].as_str().map(str::to_owned)).collect();
    queues.sort();
    queues
}

/// Cards subscribed to an exchange, their gap after a reconnect, and RPC calls.
pub async fn exchange_subscriptions_and_rpc_calls(client: &Client) {
    ensure_user(E2E_USER, E2E_PASSWORD, "administrator");
    let exchange = fresh("e2e-topic");
    let durable = fresh("e2e-durable");
    let (status, _) = broker::api("PUT", &format!("/exchanges/%2F/{}", encode(&exchange)), Some(&serde_json::json!({ "type": "topic" })));
    assert!((200..300).contains(&status), "declaring {exchange}: HTTP {status}");
    open_connected_as(client, E2E_USER, E2E_PASSWORD).await;
    subscribe(client, &exchange, "a.*", "").await;
    let card = consumer_text(client, 1, "transient subscription", |t| t.contains("consuming exchange")).await;
    assert!(card.contains(&format!("bound to exchange “{exchange}” with binding key “a.*”")) && card.contains("transient"), "{card}");
    // The card names the queue it reads (Burrow names it: RabbitMQ would not say),
    // and the broker has that queue bound to the exchange.
    let first_queue = card_queue(&card);
    assert_eq!(bound_queues(&exchange), vec![first_queue.clone()], "{card}");
    subscribe(client, &exchange, "a.*", &durable).await;
    let card = consumer_text(client, 2, "durable subscription", |t| t.contains("consuming exchange")).await;
    assert!(card.contains(&format!("Reads durable queue “{durable}”, bound to exchange “{exchange}”")), "{card}");
    // Regression (QA): nothing said the queue outlives a removed card.
    assert!(card.contains("keeps collecting messages after this card is removed"), "{card}");
    publish_to(client, &exchange, "a.b", "before the outage").await;
    publish_to(client, &exchange, "b.a", "matches no key").await;
    for number in [1, 2] {
        let card = consumer_text(client, number, "the match", |t| t.contains("received 1,")).await;
        assert!(card.contains("before the outage") && !card.contains("matches no key"), "{card}");
    }
    // The broker closes every connection of the page (the main one and each
    // card's, once the management API lists all three): each reconnects by itself.
    let start = std::time::Instant::now();
    let names = loop {
        let names = connections_of(E2E_USER);
        if names.len() >= 3 {
            break names;
        }
        assert!(start.elapsed() < WAIT, "the management API lists {names:?}, not the page's 3 connections");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    for name in names {
        broker::api("DELETE", &format!("/connections/{}", encode(&name)), None);
    }
    let gap = wait_text(client, "[data-testid='consumer-1'] [data-testid='consumer-note']", "the gap in words", |t| t.contains("is lost")).await;
    assert!(gap.contains(&format!("what exchange “{exchange}” routed with key “a.*”")), "{gap}");
    // Back on a new queue, which the card names now.
    let card = consumer_text(client, 1, "the new queue named", |t| t.contains("consuming exchange") && card_queue(t) != first_queue).await;
    assert!(bound_queues(&exchange).contains(&card_queue(&card)), "{card}");
    consumer_text(client, 2, "the durable one is back", |t| t.contains("consuming exchange")).await;
    assert!(!exists(client, "[data-testid='consumer-2'] [data-testid='consumer-note']").await, "a durable subscription has no gap");
    wait_text(client, "[data-testid='connection-status']", "the main connection back", |t| t.contains("Connected to")).await;
    // A call nobody serves times out, in words.
    let nobody = fresh("e2e-nobody");
    let timed_out = call(client, &nobody, "1", 700, "the timeout", |t| t.contains("Timed out")).await;
    assert!(timed_out.contains("no reply within 700 ms"), "{timed_out}");
    // Said once, and why: nothing took the request (no server queue), as the
    // core learnt from the management API at half the timeout.
    assert_eq!(timed_out.matches("no reply").count(), 1, "{timed_out}");
    assert!(timed_out.contains(&format!("there is no queue '{nobody}' in vhost '/', so RabbitMQ dropped the request")), "{timed_out}");
    // A call to an exchange that does not exist is refused, in words.
    let missing = fresh("e2e-no-exchange");
    type_into(client, &format!("{RPC} input[name='rpc-exchange']"), &missing).await;
    let refused = call(client, "rpc_queue", "1", 5000, "the refusal", |t| t.contains(&missing)).await;
    // RabbitMQ 3.10.8 loses its ERROR; the management API says why, in its words.
    assert!(refused.contains(&format!("NOT_FOUND - no exchange '{missing}'")), "{refused}");
    // A space is the default exchange, as in the producer (it was sent as
    // exchange ' ': "NOT_FOUND - no exchange ' '").
    type_into(client, &format!("{RPC} input[name='rpc-exchange']"), " ").await;
    wait_text(client, "[data-testid='connection-status']", "the main connection after the refusal", |t| t.contains("Connected to")).await;
    // The RPC lesson's server answers the panel's call.
    broker::delete_queue("rpc_queue");
    click(client, &format!("{GUIDE} [role='tab']:nth-of-type(8)")).await;
    for n in 0..2 {
        enabled_step(client, n).await;
        click(client, &step(n)).await;
    }
    consumer_text(client, 3, "the server", |t| t.contains("consuming “rpc_queue”")).await;
    let reply = call(client, "rpc_queue", "10", 5000, "fib(10)", |t| t.starts_with("Reply")).await;
    assert!(reply.starts_with("Reply “55” after ") && reply.ends_with(" ms."), "{reply}");
    click(client, &format!("{GUIDE} [data-testid='lesson-reset']")).await;
    wait_text(client, &format!("{GUIDE} [data-testid='lesson-progress']"), "the reset", |t| t.contains("deleted queue rpc_queue")).await;
    // A durable subscription into a queue that exists transient is refused; the
    // words name that queue (they used to blame only the exchange, which exists).
    let transient = fresh("e2e-transient");
    broker::fill_queue(&transient, 0, "").await;
    subscribe(client, &exchange, "a.*", &transient).await;
    let card = consumer_text(client, 4, "the refusal", |t| t.contains("refused")).await;
    assert!(card.contains(&format!("that queue '{transient}', if it exists already, is declared durable")), "{card}");
    broker::delete_queue(&transient);
    broker::delete_queue(&durable);
    broker::api("DELETE", &format!("/exchanges/%2F/{}", encode(&exchange)), None);
}
