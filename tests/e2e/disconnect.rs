//! Disconnect as a person clicks it: during the countdown it stops for good;
//! with consumers it says what keeps running and offers to stop them all; a
//! crashed card says where its messages went.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

use super::broker::{self, connections_of, ensure_user, E2E_USER};
use super::page::*;
use super::proxy::Proxy;

/// The password of [`E2E_USER`].
pub const E2E_PASSWORD: &str = "burrow-e2e";

/// Opens the app connected as the test's own user, so the broker's connection
/// list shows exactly the page's connections.
pub async fn open_as_e2e_user(client: &Client) {
    ensure_user(E2E_USER, E2E_PASSWORD, "administrator");
    open_connected_as(client, E2E_USER, E2E_PASSWORD).await;
}

/// Opens the app and clicks Connect as the test's own user, through `proxy`.
pub async fn connect_through(client: &Client, proxy: &Proxy) {
    client.goto(&app_url("/")).await.expect("the app loads");
    type_into(client, "section[aria-label='Connection'] [name='url']", &format!("ws://127.0.0.1:{}/ws", proxy.port)).await;
    type_into(client, "section[aria-label='Connection'] input[name='login']", E2E_USER).await;
    type_into(client, "section[aria-label='Connection'] input[name='passcode']", E2E_PASSWORD).await;
    click(client, "section[aria-label='Connection'] button[type='submit']").await;
}

/// The seconds a "Reconnecting in N s" status shows.
fn seconds_left(status: &str) -> Option<u64> {
    let rest = status.split("Reconnecting in ").nth(1)?;
    rest.split(' ').next()?.parse().ok()
}

/// Disconnect clicked while the status counts down stops for good: Connect comes
/// back within a second, and no connection is made afterwards, although the
/// broker is reachable again by then (the click used to submit the form, which
/// connected again).
pub async fn disconnect_during_the_countdown_stops_for_good(client: &Client) {
    ensure_user(E2E_USER, E2E_PASSWORD, "administrator");
    let before = connections_of(E2E_USER);
    let proxy = Proxy::start().await;
    connect_through(client, &proxy).await;
    // Every attempt fails until a countdown is long enough to click in.
    let status = "[data-testid='connection-status']";
    let counting = wait_text_for(client, status, "a countdown of 2 s or more", Duration::from_secs(60), |t| {
        seconds_left(t).is_some_and(|s| s >= 2)
    })
    .await;
    // Never connected: not "lost" (QA: a wrong URL said "Connection lost").
    assert!(counting.starts_with("Could not connect. Reconnecting in"), "{counting}");
    // From now on a connection would reach the broker.
    proxy.forward();
    let attempts = proxy.accepted();
    click(client, "section[aria-label='Connection'] button.secondary").await;
    let clicked = Instant::now();
    loop {
        let button = client.find(Locator::Css("section[aria-label='Connection'] button[type='submit']")).await;
        if let Ok(button) = button {
            if button.text().await.unwrap_or_default() == "Connect" && button.is_enabled().await.unwrap_or(false) {
                break;
            }
        }
        assert!(clicked.elapsed() < Duration::from_secs(1), "Connect did not come back within a second");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Watch past the countdown the click cancelled: nothing may connect.
    let watch = Duration::from_secs(seconds_left(&counting).unwrap_or(2) + 3);
    while clicked.elapsed() < watch {
        let now = client.find(Locator::Css(status)).await.expect("status").text().await.unwrap_or_default();
        // Exactly what Disconnect says: a form submitted by the click would connect
        // again with what the re-render put back in the fields (the default URL,
        // not the proxy; the configured login), which the broker refused:
        // "Closed" too, but not "disconnected" (seen so before this check).
        assert!(now.starts_with("Closed") && now.ends_with("disconnected"), "after Disconnect the status reads {now:?}");
        assert_eq!(proxy.accepted(), attempts, "the page opened a connection after Disconnect");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = new_connections(&before);
    assert!(after.is_empty(), "a connection on the broker after Disconnect: {after:?}");
    // The form still holds what the person typed, for the next Connect.
    let url = value_of(client, "section[aria-label='Connection'] [name='url']").await;
    assert_eq!(url, format!("ws://127.0.0.1:{}/ws", proxy.port), "the URL field after Disconnect");
    let login = value_of(client, "section[aria-label='Connection'] input[name='login']").await;
    assert_eq!(login, E2E_USER, "the login field after Disconnect");
}

/// The test user's connections now that are not in `before`.
fn new_connections(before: &[String]) -> Vec<String> {
    connections_of(E2E_USER).into_iter().filter(|c| !before.contains(c)).collect()
}

/// Waits until the broker lists `n` connections of the test's user besides `before`.
async fn broker_connections(before: &[String], n: usize, what: &str) -> Vec<String> {
    connections_until(before, what, WAIT, |now| now.len() == n).await
}

/// Waits (up to `limit`) until `ok` holds of the test user's connections besides `before`.
pub async fn connections_until(
    before: &[String],
    what: &str,
    limit: Duration,
    ok: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let start = Instant::now();
    loop {
        let now = new_connections(before);
        if ok(&now) {
            return now;
        }
        assert!(start.elapsed() < limit, "{what}: the broker lists {} connections of {E2E_USER}: {now:?}", now.len());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Disconnect leaves the consumer cards running, says so, and "Stop all
/// consumers" ends them: no connection of the page is left on the broker.
pub async fn disconnect_says_what_keeps_running_and_stop_all_ends_it(client: &Client) {
    let before = connections_of(E2E_USER);
    open_as_e2e_user(client).await;
    let queue = fresh("e2e-keeps");
    let declared = declare(client, &queue, false).await;
    assert!(declared.contains("declared"), "{declared}");
    add_consumer(client, &queue, true, 0).await;
    add_consumer(client, &queue, true, 0).await;
    for number in [1, 2] {
        consumer_text(client, number, "subscribed", |t| t.contains("consuming")).await;
    }
    broker_connections(&before, 3, "the main connection and two consumers").await;
    click(client, "section[aria-label='Connection'] button.secondary").await;
    let notice = wait_text(client, "[data-testid='still-running']", "what keeps running", |t| t.contains("keep")).await;
    assert!(notice.contains("2 consumer cards keep consuming"), "{notice}");
    broker_connections(&before, 2, "the consumers still run after Disconnect").await;
    // They still get messages: published from outside.
    broker::api("POST", "/exchanges/%2F/amq.default/publish", Some(&serde_json::json!({
        "properties": {}, "routing_key": queue, "payload": "after disconnect", "payload_encoding": "string"
    })));
    wait_text(client, ".consumers", "a message after Disconnect", |t| t.contains("after disconnect")).await;
    click(client, "[data-testid='still-running'] button").await;
    for number in [1, 2] {
        consumer_text(client, number, "stopped", |t| t.contains("stopped")).await;
    }
    broker_connections(&before, 0, "after Stop all consumers").await;
    broker::delete_queue(&queue);
}

/// A queue deleted under its consumer: RabbitMQ cancels the subscription with an
/// ERROR and keeps the connection; the card says so, in place of "consuming"
/// for good, and its Ack is gone (RabbitMQ would refuse it).
pub async fn a_card_whose_queue_is_deleted_says_so(client: &Client) {
    open_connected(client).await;
    let queue = fresh("e2e-cancelled");
    declare(client, &queue, false).await;
    add_consumer(client, &queue, false, 3).await;
    consumer_text(client, 1, "subscribed", |t| t.contains("consuming")).await;
    publish(client, &queue, "held", 1).await;
    consumer_text(client, 1, "one held", |t| t.matches("Ack").count() == 1).await;
    broker::delete_queue(&queue);
    let card = consumer_text(client, 1, "the broker's cancel", |t| t.contains("cancelled the consumer")).await;
    assert!(card.contains("Server cancelled subscription"), "in RabbitMQ's words: {card}");
    assert!(!card.contains("consuming"), "{card}");
}

/// A crashed card says its unacked messages went back to the queue.
pub async fn a_crashed_card_marks_its_messages_returned(client: &Client) {
    open_connected(client).await;
    let queue = fresh("e2e-returned");
    declare(client, &queue, false).await;
    add_consumer(client, &queue, false, 3).await;
    consumer_text(client, 1, "subscribed", |t| t.contains("consuming")).await;
    publish(client, &queue, "held", 3).await;
    consumer_text(client, 1, "three held", |t| t.matches("Ack").count() == 3).await;
    click(client, "button[aria-label='Crash Consumer 1']").await;
    let card = consumer_text(client, 1, "returned", |t| t.matches("returned to the queue").count() == 3).await;
    assert!(card.contains("crashed"), "{card}");
    assert!(!card.contains("Ack\n"), "no Ack button after the crash: {card}");
    // The three messages are back in the queue.
    broker::queue_figure_becomes(&queue, "messages_ready", 3).await;
    broker::delete_queue(&queue);
}
