//! The workbench as a person uses it: round-robin, a crash
//! and its redelivery, refusals in words, bodies as text, the embed page, the
//! countdown's Disconnect, remembered credentials, a broker restart.

use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

use super::broker::connection_names;
use super::page::*;

/// The chart a user reads: axes labelled (msg/s from 0, two minutes to now) and a
/// legend with each line's current value.
pub async fn chart_is_labelled(client: &Client) {
    element(client, "[data-testid='rate-chart']").await;
    let script = "return [...document.querySelectorAll(\"[data-testid='rate-chart'] text\")].map(t => t.textContent)";
    let labels = client.execute(script, vec![]).await.expect("the chart's labels");
    let labels: Vec<&str> = labels.as_array().into_iter().flatten().filter_map(|l| l.as_str()).collect();
    for label in ["msg/s", "0", "2 min ago", "now"] {
        assert!(labels.contains(&label), "chart label {label:?} missing from {labels:?}");
    }
    let legend = wait_text(client, "[data-testid='chart-legend']", "the chart's legend", |t| {
        t.contains("publish") && t.contains("deliver") && t.contains("msg/s")
    })
    .await;
    assert!(legend.chars().any(|c| c.is_ascii_digit()), "the legend shows the current values: {legend}");
}

pub async fn round_robin(client: &Client) {
    open_connected(client).await;
    let queue = fresh("e2e-work");
    let outcome = declare(client, &queue, false).await;
    assert!(outcome.contains("declared"), "{outcome}");
    add_consumer(client, &queue, true, 0).await;
    add_consumer(client, &queue, true, 0).await;
    for number in [1, 2] {
        consumer_text(client, number, "consumer subscribed", |t| t.contains("consuming")).await;
    }
    publish(client, &queue, "大郎 起来喝药了", 6).await;
    wait_text(client, "[data-testid='publish-counts']", "confirms", |t| t.contains("confirmed 6")).await;
    let first = consumer_text(client, 1, "consumer 1 gets 3", |t| t.contains("received 3,")).await;
    let second = consumer_text(client, 2, "consumer 2 gets 3", |t| t.contains("received 3,")).await;
    // Round-robin: one gets #1 #3 #5, the other #2 #4 #6.
    let odd = ["#1", "#3", "#5"];
    let (odds, evens) = if first.contains("#1") { (&first, &second) } else { (&second, &first) };
    assert!(odd.iter().all(|n| odds.contains(n)), "odd tasks together: {odds}");
    assert!(["#2", "#4", "#6"].iter().all(|n| evens.contains(n)), "even tasks together: {evens}");
    // Let the live figures catch up before the picture.
    wait_text(client, "[data-testid='queue-figures']", "figures show both consumers", |t| {
        t.contains("consumers\n2")
    })
    .await;
    chart_is_labelled(client).await;
    type_into(client, "section[aria-label='Queues'] input[name='queue-filter']", &queue).await;
    wait_text(client, "[data-testid='queues-read-at']", "the filtered list", |t| t.contains("(1 shown)")).await;
}

pub async fn crash_and_redelivery(client: &Client) {
    open_connected(client).await;
    let queue = fresh("e2e-ack");
    declare(client, &queue, false).await;
    add_consumer(client, &queue, false, 1).await;
    consumer_text(client, 1, "consumer 1 subscribed", |t| t.contains("consuming")).await;
    publish(client, &queue, "important work", 1).await;
    consumer_text(client, 1, "consumer 1 gets it", |t| t.contains("important work")).await;
    add_consumer(client, &queue, false, 1).await;
    consumer_text(client, 2, "consumer 2 subscribed", |t| t.contains("consuming")).await;
    click(client, "button[aria-label='Crash Consumer 1']").await;
    consumer_text(client, 1, "consumer 1 crashed", |t| t.contains("crashed")).await;
    // Regression (QA): the button disabled itself, and the keyboard focus fell to the page.
    assert!(!enabled(client, "button[aria-label='Crash Consumer 1']").await, "a crashed card crashes once");
    focus_on(client, "button[aria-label='Crash Consumer 1']").await.expect("the focus stays on Crash");
    let second = consumer_text(client, 2, "redelivered to consumer 2", |t| t.contains("important work")).await;
    assert!(second.contains("redelivered"), "marked redelivered: {second}");
    // Each button names the message it settles (regression: a row of bare "Ack"s).
    click(client, "[data-testid='consumer-2'] li.delivery button[aria-label='Ack “important work”']").await;
    consumer_text(client, 2, "acked", |t| t.contains("acked")).await;
}

pub async fn refused_redeclare_in_words(client: &Client) {
    open_connected(client).await;
    let queue = fresh("e2e-durable");
    let first = declare(client, &queue, true).await;
    assert!(first.contains("durable"), "{first}");
    let refused = declare(client, &queue, false).await;
    assert!(refused.contains("PRECONDITION_FAILED"), "the broker's words: {refused}");
    assert!(refused.contains("durable"), "names the argument: {refused}");
    assert!(refused.contains("use a new queue"), "says what to do: {refused}");
}

pub async fn bodies_are_text_never_html(client: &Client) {
    open_connected(client).await;
    let queue = fresh("e2e-html");
    declare(client, &queue, false).await;
    add_consumer(client, &queue, true, 0).await;
    consumer_text(client, 1, "subscribed", |t| t.contains("consuming")).await;
    let body = "<b>bold</b><img src=x onerror=\"document.title='owned'\">";
    publish(client, &queue, body, 1).await;
    consumer_text(client, 1, "delivery", |t| t.contains("<b>bold</b>")).await;
    let injected = client.find_all(Locator::Css("[data-testid='consumer-1'] .body b, [data-testid='consumer-1'] .body img")).await.expect("query");
    assert!(injected.is_empty(), "the body became HTML elements");
    let title = client.title().await.expect("title");
    assert_ne!(title, "owned");
}

pub async fn embed_page_with_two_widgets(client: &Client) {
    client.goto(&app_url("/examples/embed.html")).await.expect("embed page");
    for widget in ["producer-widget", "consumer-widget"] {
        wait_text(client, &format!("#{widget} [data-testid='connection-status']"), widget, |t| t.contains("Connected to")).await;
    }
    click(client, "#producer-widget section[aria-label='Queue'] button[type='submit']").await;
    wait_text(client, "#producer-widget [data-testid='declare-result']", "widget A declares", |t| t.contains("declared")).await;
    click(client, "#consumer-widget select[name='ack'] option[value='auto']").await;
    // Widget B is the page's second: its regions' names say so (screen readers list them).
    click(client, "#consumer-widget section[aria-label='Consumers (widget 2)'] button[type='submit']").await;
    wait_text(client, "#consumer-widget [data-testid='consumer-1']", "widget B consumes", |t| t.contains("consuming")).await;
    let body = fresh("from widget A");
    type_into(client, "#producer-widget textarea[name='body']", &body).await;
    click(client, "#producer-widget section[aria-label='Producer'] button[type='submit']").await;
    wait_text(client, "#consumer-widget [data-testid='consumer-1']", "widget B receives", |t| t.contains(&body)).await;
    // Each widget keeps its own state: A has no consumers, B no producer.
    assert!(client.find_all(Locator::Css("#producer-widget [data-testid='consumer-1']")).await.expect("query").is_empty());
    assert!(client.find_all(Locator::Css("#consumer-widget section[aria-label^='Producer']")).await.expect("query").is_empty());
    // The host page keeps its title, URL and its own styles.
    assert_eq!(client.title().await.expect("title"), "Burrow widgets embedded in a page");
    let url = client.current_url().await.expect("url");
    assert_eq!(url.path(), "/examples/embed.html");
    let font = client
        .execute("return getComputedStyle(document.body).fontFamily", vec![])
        .await
        .expect("script");
    assert!(font.as_str().unwrap_or_default().contains("Georgia"), "host font kept: {font}");
}

/// `unmount()` ends a widget's connections, its main one and its consumers'.
pub async fn unmounted_widgets_leave_no_connection(client: &Client, since: u128) {
    // Two widgets and a consumer card hold connections; the management API lists
    // them within a second or so.
    let started = Instant::now();
    let theirs: Vec<String> = loop {
        let theirs: Vec<String> = connection_names(since).into_iter().collect();
        if theirs.len() >= 3 {
            break theirs;
        }
        assert!(started.elapsed() < WAIT, "the widgets' connections are not listed: {theirs:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    client
        .execute("window.burrowWidgets.forEach(w => w.unmount())", vec![])
        .await
        .expect("unmount both widgets");
    let started = Instant::now();
    loop {
        let now = connection_names(since);
        let left: Vec<&String> = theirs.iter().filter(|name| now.contains(*name)).collect();
        if left.is_empty() {
            break;
        }
        assert!(started.elapsed() < WAIT, "connections still open after unmount(): {left:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A routing key over 255 bytes is refused at publish, in words, every time; the
/// next valid publish is confirmed (and refused records get list keys of their own,
/// which yew's debug build checks).
pub async fn an_impossible_publish_is_refused_alone(client: &Client) {
    open_connected(client).await;
    let queue = fresh("e2e-long-key");
    declare(client, &queue, false).await;
    let long = "k".repeat(300);
    publish(client, &long, "never sent", 1).await;
    publish(client, &long, "never sent either", 1).await;
    wait_text(client, "[data-testid='publish-counts']", "two refusals", |t| t.contains("failed 2")).await;
    let log = wait_text(client, "section[aria-label='Producer'] ol.log", "the refusal", |t| t.contains("255 bytes")).await;
    assert!(log.contains("failed"), "{log}");
    publish(client, &queue, "this one goes", 1).await;
    wait_text(client, "[data-testid='publish-counts']", "the valid one confirmed", |t| {
        t.contains("confirmed 1") && t.contains("pending 0")
    })
    .await;
}

/// Credentials stay in memory unless "remember" is ticked, and are forgotten
/// as soon as it is unticked.
pub async fn credentials_are_kept_only_when_asked(client: &Client) {
    let stored = |client: &Client| {
        let client = client.clone();
        async move {
            client
                .execute("return localStorage.getItem('burrow.passcode')", vec![])
                .await
                .expect("script")
        }
    };
    open_connected(client).await;
    assert!(stored(client).await.is_null(), "nothing stored without asking");
    click(client, "section[aria-label='Connection'] button.secondary").await;
    wait_text(client, "[data-testid='connection-status']", "disconnected", |t| t.contains("Closed")).await;
    click(client, "section[aria-label='Connection'] input[name='remember']").await;
    type_into(client, "section[aria-label='Connection'] input[name='passcode']", "burrow").await;
    click(client, "section[aria-label='Connection'] button[type='submit']").await;
    wait_text(client, "[data-testid='connection-status']", "connect", |t| t.contains("Connected to")).await;
    assert_eq!(stored(client).await.as_str(), Some("burrow"), "remembered when ticked");
    client.refresh().await.expect("reload");
    let passcode = element(client, "section[aria-label='Connection'] input[name='passcode']").await;
    assert_eq!(passcode.prop("value").await.expect("value").as_deref(), Some("burrow"), "prefilled after a reload");
    // Unticked, forgotten at once: not at the next Connect, which may never come.
    click(client, "section[aria-label='Connection'] input[name='remember']").await;
    let mut kept = stored(client).await;
    for _ in 0..50 {
        if kept.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        kept = stored(client).await;
    }
    client.execute("localStorage.clear()", vec![]).await.expect("clean up");
    assert!(kept.is_null(), "still stored after unticking: {kept}");
}

/// Starts the broker again when dropped armed (a panic while it was stopped).
struct BrokerDown(bool);

impl Drop for BrokerDown {
    fn drop(&mut self) {
        if self.0 {
            let _ = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/burrow")).arg("start-broker").status();
        }
    }
}

/// The broker restarts under the app: the status counts down to the next attempt,
/// a message published meanwhile waits in the outbox, and after the reconnect the
/// consumer (subscription restored) gets it; a card subscribed to a non-durable
/// exchange, which the restart deletes, declares it again and goes on (QA: it
/// ended NOT_FOUND, the guide's pub/sub lesson with it).
pub async fn survives_a_broker_restart(client: &Client) {
    open_connected(client).await;
    let queue = fresh("e2e-restart");
    declare(client, &queue, true).await;
    add_consumer(client, &queue, false, 10).await;
    consumer_text(client, 1, "subscribed", |t| t.contains("consuming")).await;
    let exchange = fresh("e2e-restart-logs");
    let body = serde_json::json!({ "type": "fanout", "durable": false });
    let (status, _) = super::broker::api("PUT", &format!("/exchanges/%2F/{}", super::broker::encode(&exchange)), Some(&body));
    assert!((200..300).contains(&status), "declaring {exchange}: HTTP {status}");
    super::exchanges::subscribe(client, &exchange, "", "").await;
    consumer_text(client, 2, "the exchange subscription", |t| t.contains("consuming exchange")).await;
    let stop = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/burrow"))
        .arg("stop-broker")
        .status()
        .expect("./burrow stop-broker");
    // The broker is shared: if this test fails while it is down, start it again.
    let mut down = BrokerDown(true);
    assert!(stop.success(), "the broker stopped");
    let countdown = |t: &str| t.contains("Connection lost. Reconnecting in");
    wait_text(client, "[data-testid='connection-status']", "countdown", countdown).await;
    publish(client, &queue, "sent while the broker was down", 1).await;
    wait_text(client, "[data-testid='outbox']", "waits in the outbox", |t| t.starts_with("outbox: 1 waiting")).await;
    // A call while the broker is down times out saying so, and that its request
    // is not sent later: it used to say only "no reply within 1000 ms" (and the
    // request went out after the restart, for nobody).
    const RPC: &str = "section[aria-label='RPC call']";
    type_into(client, &format!("{RPC} input[name='rpc-routing-key']"), &fresh("e2e-rpc-down")).await;
    type_into(client, &format!("{RPC} input[name='rpc-timeout']"), "1000").await;
    click(client, &format!("{RPC} button[type='submit']")).await;
    let call = wait_text(client, &format!("{RPC} [data-testid='rpc-outcomes'] li:first-child"), "the call's timeout", |t| t.contains("Timed out")).await;
    assert!(call.contains("the connection was down") && call.contains("not sent later"), "{call}");
    wait_text(client, "[data-testid='outbox']", "only the publish waits", |t| t.starts_with("outbox: 1 waiting")).await;
    // A call with time to spare waits in the outbox too, and goes out after the
    // restart: once RabbitMQ took its request the outbox is empty, though the call
    // still waits for a reply nobody sends. The page heard neither the request come
    // in nor its confirm (the line said "1 in flight" for ever) until the core said
    // OutboxChanged for them.
    type_into(client, &format!("{RPC} input[name='rpc-routing-key']"), &fresh("e2e-rpc-later")).await;
    type_into(client, &format!("{RPC} input[name='rpc-timeout']"), "120000").await;
    click(client, &format!("{RPC} button[type='submit']")).await;
    wait_text(client, "[data-testid='outbox']", "the request waits too", |t| t.starts_with("outbox: 2 waiting")).await;
    let start = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/burrow"))
        .arg("start-broker")
        .status()
        .expect("./burrow start-broker");
    assert!(start.success(), "the broker started");
    down.0 = false;
    // Backoff may have grown to several seconds while the broker was down.
    let long = Duration::from_secs(60);
    let started = Instant::now();
    loop {
        let text = client.find(Locator::Css("[data-testid='consumer-1']")).await.expect("card").text().await.unwrap_or_default();
        if text.contains("sent while the broker was down") {
            println!("broker restart: the message arrived {:.1} s after the broker was back", started.elapsed().as_secs_f64());
            break;
        }
        assert!(started.elapsed() < long, "the message did not arrive after the restart: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_text(client, "[data-testid='connection-status']", "reconnected", |t| t.contains("Connected to")).await;
    wait_text(client, "[data-testid='outbox']", "outbox empties", |t| t.starts_with("outbox: 0 waiting")).await;
    let button = format!("{RPC} button[type='submit']");
    wait_text(client, &button, "the call still waits", |t| t.contains("Waiting for the reply")).await;
    // Before the fix it ended NOT_FOUND ("no exchange") and never consumed again.
    // Its backoff may have grown as long as the main connection's.
    let started = Instant::now();
    loop {
        let text = client.find(Locator::Css("[data-testid='consumer-2']")).await.expect("card").text().await.unwrap_or_default();
        assert!(!text.contains("no exchange"), "the exchange did not come back: {text}");
        if text.contains("consuming exchange") {
            break;
        }
        assert!(started.elapsed() < long, "the exchange subscription did not come back: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    super::exchanges::publish_to(client, &exchange, "", "after the restart").await;
    consumer_text(client, 2, "the live event", |t| t.contains("after the restart")).await;
    super::broker::api("DELETE", &format!("/exchanges/%2F/{}", super::broker::encode(&exchange)), None);
}

