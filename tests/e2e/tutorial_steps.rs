//! RabbitMQ's six tutorials as a newcomer walks them in the app's guided
//! tutorial, clicking each lesson's buttons in order: what each step shows in
//! the lesson's panel and on the consumer cards, and the reset that removes
//! what the lesson made. The publish/subscribe step is the README's screenshot.

use fantoccini::Client;

use super::broker;
use super::page::*;
use super::tutorial::{enabled_step, progress, step, GUIDE};

/// Opens lesson tab `index` (from 0) with a click, and checks its title.
async fn open_lesson(client: &Client, index: usize, title: &str) {
    let tab = format!("{GUIDE} [role='tab']:nth-of-type({})", index + 1);
    click(client, &tab).await;
    let selected = element(client, &format!("{GUIDE} [role='tab'][aria-selected='true']")).await.text().await.unwrap_or_default();
    assert_eq!(selected, title);
}

/// Clicks step `n` once it is enabled; its label.
async fn press(client: &Client, n: usize) -> String {
    let label = enabled_step(client, n).await;
    click(client, &step(n)).await;
    label
}

/// "Reset this lesson", and what it said.
async fn reset(client: &Client) -> String {
    click(client, &format!("{GUIDE} [data-testid='lesson-reset']")).await;
    progress(client, "the reset", |t| t.contains("Reset:")).await
}

/// Removes what an earlier run may have left.
fn clean() {
    for queue in ["水续传", "task_queue", "rpc_queue"] {
        broker::delete_queue(queue);
    }
    for exchange in ["logs", "direct_logs", "topic_logs"] {
        broker::api("DELETE", &format!("/exchanges/%2F/{exchange}"), None);
    }
}

/// Whether the exchange exists.
fn exchange_exists(name: &str) -> bool {
    broker::api("GET", &format!("/exchanges/%2F/{name}"), None).0 == 200
}

/// Lessons 1 and 2 (hello world, work queues): consumers 1, 2 and 3.
async fn hello_and_work_queues(client: &Client) {
    open_lesson(client, 0, "1. Hello World").await;
    press(client, 0).await;
    progress(client, "declared", |t| t.contains("“水续传” declared")).await;
    press(client, 1).await;
    progress(client, "published", |t| t.contains("Published 1: confirmed 1")).await;
    assert_eq!(press(client, 2).await, "Add a consumer (auto-ack)");
    progress(client, "received", |t| t.contains("Consumer 1: consuming; received 1")).await;
    consumer_text(client, 1, "the body as sent", |t| t.contains("大郎 起来喝药了")).await;
    let words = reset(client).await;
    assert!(words.contains("removed Consumer 1") && words.contains("deleted queue 水续传"), "{words}");

    open_lesson(client, 1, "2. Work queues").await;
    for n in 0..3 {
        press(client, n).await;
    }
    progress(client, "two consumers", |t| t.contains("Consumer 2: consuming") && t.contains("Consumer 3: consuming")).await;
    press(client, 3).await;
    let done = progress(client, "round-robin", |t| {
        t.contains("Consumer 2: consuming; received 5") && t.contains("Consumer 3: consuming; received 5")
    })
    .await;
    assert!(done.contains("Published 10: confirmed 10"), "{done}");
    let words = reset(client).await;
    assert!(words.contains("deleted queue task_queue"), "{words}");
}

/// Lesson 3 (publish/subscribe): consumers 4 and 5 both get every message; the
/// screenshot; the reset deletes the exchange.
async fn publish_subscribe(client: &Client) {
    open_lesson(client, 4, "3. Publish/Subscribe").await;
    assert!(!enabled(client, &step(1)).await, "no subscriber before the exchange exists");
    assert_eq!(press(client, 0).await, "Declare exchange logs (fanout)");
    progress(client, "declared", |t| t.contains("Exchange “logs” (fanout) declared.")).await;
    assert!(exchange_exists("logs"));
    assert_eq!(press(client, 1).await, "Subscribe a first consumer to logs");
    assert_eq!(press(client, 2).await, "Subscribe a second consumer to logs");
    progress(client, "two subscribers", |t| t.contains("Consumer 4: consuming") && t.contains("Consumer 5: consuming")).await;
    for number in [4, 5] {
        let card = consumer_text(client, number, "subscribed", |t| t.contains("consuming exchange “logs”")).await;
        assert!(card.contains("bound to exchange “logs”") && card.contains("transient"), "{card}");
    }
    for _ in 0..3 {
        press(client, 3).await;
    }
    let done = progress(client, "both get all three", |t| {
        t.contains("Consumer 4: consuming; received 3") && t.contains("Consumer 5: consuming; received 3")
    })
    .await;
    assert!(done.contains("Published 3: confirmed 3"), "{done}");
    assert!(!done.contains("routed nowhere"), "{done}");
    super::measure::axe(client, "the tutorial (publish/subscribe under way)").await;
    screenshot(client).await;
    let words = reset(client).await;
    assert!(words.contains("removed Consumer 4 and Consumer 5") && words.contains("deleted exchange logs"), "{words}");
    assert!(!exchange_exists("logs"), "the reset leaves no exchange behind");
}

/// The README's picture: the publish/subscribe step, styled, the whole page
/// (the lesson at the top, the two subscribers' cards at the bottom), the
/// queue list showing the subscriptions' queues RabbitMQ made.
async fn screenshot(client: &Client) {
    type_into(client, "section[aria-label='Queues'] input[name='queue-filter']", "stomp-subscription").await;
    wait_text(client, "[data-testid='queues-read-at']", "the subscriptions' queues", |t| t.contains("shown)")).await;
    // The list's figures lag the broker's statistics: wait until it shows each
    // subscription's queue with its consumer.
    let consumers = "return [...document.querySelectorAll(\"section[aria-label='Queues'] tbody tr\")].map(r => r.cells[5] ? r.cells[5].textContent : '')";
    let start = std::time::Instant::now();
    loop {
        let cells = run(client, consumers).await;
        let cells: Vec<&str> = cells.as_array().into_iter().flatten().filter_map(|c| c.as_str()).collect();
        if cells.len() >= 2 && cells.iter().all(|c| *c == "1") {
            break;
        }
        assert!(start.elapsed() < WAIT, "the queue list shows consumers {cells:?}");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    wait_for_styles(client).await;
    run(client, "window.scrollTo(0, 0); document.activeElement.blur(); return true").await;
    let height = run(client, "return document.documentElement.scrollHeight").await.as_u64().unwrap_or(2200);
    let (width, before) = client.get_window_size().await.expect("the window's size");
    client.set_window_size(u32::try_from(width).unwrap_or(1280), u32::try_from(height + 140).unwrap_or(4000)).await.expect("a taller window");
    let png = client.screenshot().await.expect("screenshot");
    client.set_window_size(u32::try_from(width).unwrap_or(1280), u32::try_from(before).unwrap_or(2200)).await.expect("the window back");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/screenshot.png");
    std::fs::write(path, png).expect("write docs/screenshot.png");
}

/// Lessons 4 and 5 (routing, topics): each subscriber gets what its key matches.
async fn routing_and_topics(client: &Client) {
    open_lesson(client, 5, "4. Routing").await;
    for n in 0..3 {
        press(client, n).await;
    }
    progress(client, "subscribed", |t| t.contains("Consumer 6: consuming") && t.contains("Consumer 7: consuming")).await;
    press(client, 3).await;
    press(client, 4).await;
    let done = progress(client, "by severity", |t| t.contains("Published 2: confirmed 2") && t.contains("Consumer 7: consuming; received 1")).await;
    assert!(done.contains("Consumer 6: consuming; received 1"), "{done}");
    consumer_text(client, 6, "the error", |t| t.contains("Run. Run. Or it will explode.")).await;
    let warning = consumer_text(client, 7, "the warning", |t| t.contains("Disk 80% full.")).await;
    assert!(!warning.contains("explode"), "the warning subscriber gets no error: {warning}");
    assert!(reset(client).await.contains("deleted exchange direct_logs"));

    open_lesson(client, 6, "5. Topics").await;
    for n in 0..3 {
        press(client, n).await;
    }
    progress(client, "subscribed", |t| t.contains("Consumer 8: consuming") && t.contains("Consumer 9: consuming")).await;
    for n in 3..6 {
        press(client, n).await;
    }
    progress(client, "matched", |t| {
        t.contains("Published 3: confirmed 3") && t.contains("Consumer 8: consuming; received 2") && t.contains("Consumer 9: consuming; received 2")
    })
    .await;
    let critical = consumer_text(client, 8, "*.critical", |t| t.contains("Cron stopped")).await;
    assert!(critical.contains("A critical kernel error") && !critical.contains("Kernel booted"), "{critical}");
    let kern = consumer_text(client, 9, "kern.*", |t| t.contains("Kernel booted")).await;
    assert!(kern.contains("A critical kernel error") && !kern.contains("Cron stopped"), "{kern}");
    assert!(reset(client).await.contains("deleted exchange topic_logs"));
}

/// Lesson 6 (RPC): the Fibonacci server in the page answers fib(30).
async fn rpc(client: &Client) {
    open_lesson(client, 7, "6. RPC").await;
    press(client, 0).await;
    progress(client, "declared", |t| t.contains("“rpc_queue” declared")).await;
    assert_eq!(press(client, 1).await, "Start the Fibonacci server");
    progress(client, "serving", |t| t.contains("Consumer 10: consuming")).await;
    consumer_text(client, 10, "the server's card", |t| t.contains("replies fib(n)")).await;
    assert_eq!(press(client, 2).await, "Call fib(30)");
    let done = progress(client, "the reply", |t| t.contains("Called fib(30) on rpc_queue: Reply “832040” after")).await;
    assert!(done.contains(" ms."), "{done}");
    consumer_text(client, 10, "the request on the server's card", |t| t.contains("received 1")).await;
    // A crashed server serves nothing: its step can start another (QA: it kept
    // saying "Consumer 10 serves rpc_queue", its button off), and an auto-ack
    // server held nothing to give back.
    click(client, "button[aria-label='Crash Consumer 10']").await;
    assert_eq!(enabled_step(client, 1).await, "Start the Fibonacci server");
    let crashed = progress(client, "the crash", |t| t.contains("Consumer 10 crashed")).await;
    assert!(crashed.contains("nothing went back to the queue"), "{crashed}");
    let words = reset(client).await;
    assert!(words.contains("removed Consumer 10") && words.contains("deleted queue rpc_queue"), "{words}");
}

/// The six tutorials, step by step, as a person clicks them.
pub async fn the_six_tutorial_steps_and_screenshot(client: &Client) {
    clean();
    open_connected(client).await;
    hello_and_work_queues(client).await;
    publish_subscribe(client).await;
    routing_and_topics(client).await;
    rpc(client).await;
}
