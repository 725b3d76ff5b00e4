//! The queue list as a RabbitMQ user uses it: find an existing queue and see its
//! figures, peek (the messages go back), purge and delete after a confirmation,
//! read a stream from an offset, and a user without the management tag told
//! what is missing.

use std::time::{Duration, Instant};

use fantoccini::Client;

use super::broker::{self, ensure_user, NO_TAG_USER};
use super::page::*;

/// Filters the list down to `queue` and selects it.
async fn select_in_list(client: &Client, queue: &str) {
    type_into(client, "section[aria-label='Queues'] input[name='queue-filter']", queue).await;
    let row = format!("[data-testid='queue-list'] tr[data-queue='{queue}']");
    element(client, &row).await;
    click(client, &format!("{row} th button")).await;
    wait_text(client, "[data-testid='figures-read-at']", "the figures are the selected queue's", |t| t.contains(queue)).await;
}

/// Waits until the management API says `queue` has `ready` messages ready.
async fn broker_ready(queue: &str, ready: u64) {
    broker::queue_figure_becomes(queue, "messages_ready", ready).await;
}

/// Waits until the management API no longer has `queue`.
async fn broker_gone(queue: &str) {
    let start = Instant::now();
    while broker::queue(queue).is_some() {
        assert!(start.elapsed() < WAIT, "“{queue}” is gone from the broker");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// An existing queue with 25 messages, never declared by the page: the list
/// shows it with the time of the reading; selecting it shows its figures and
/// makes it the producer's and the consumer form's queue.
pub async fn selecting_an_existing_queue_shows_its_figures(client: &Client) {
    let queue = fresh("e2e-existing");
    broker::fill_queue(&queue, 25, "waiting").await;
    open_connected(client).await;
    let read_at = wait_text(client, "[data-testid='queues-read-at']", "the list's reading time", |t| t.contains("Read at")).await;
    assert!(read_at.chars().filter(|c| *c == ':').count() >= 2, "a time such as 18:33:04: {read_at}");
    select_in_list(client, &queue).await;
    wait_text(client, "[data-testid='ready']", "its figures", |t| t == "25").await;
    assert_eq!(value_of(client, "section[aria-label='Producer'] input[name='routing-key']").await, queue);
    assert_eq!(value_of(client, "section[aria-label='Consumers'] input[name='consume-queue']").await, queue);
    assert_eq!(value_of(client, "section[aria-label='Queue'] input[name='queue']").await, queue);
    wait_text(client, &format!("tr[data-queue='{queue}'] td.ready"), "its count", |t| t == "25").await;
    let row = element(client, &format!("tr[data-queue='{queue}']")).await.text().await.unwrap_or_default();
    assert!(row.contains("classic"), "{row}");
    broker::delete_queue(&queue);
}

/// With the refresh off, nothing reads the management API until "Refresh now",
/// which reads the list and the selected queue's figures again.
pub async fn refresh_now_reads_the_list_and_the_figures(client: &Client) {
    let queue = fresh("e2e-refresh");
    broker::fill_queue(&queue, 2, "before").await;
    broker_ready(&queue, 2).await;
    open_connected(client).await;
    choose(client, "section[aria-label='Queues'] select[name='refresh']", "").await;
    select_in_list(client, &queue).await;
    wait_text(client, "[data-testid='ready']", "its figures", |t| t == "2").await;
    broker::fill_queue(&queue, 3, "after").await;
    broker_ready(&queue, 5).await;
    let row = format!("tr[data-queue='{queue}'] td.ready");
    assert_eq!(element(client, "[data-testid='ready']").await.text().await.unwrap_or_default(), "2", "refresh off");
    assert_eq!(element(client, &row).await.text().await.unwrap_or_default(), "2", "refresh off");
    click(client, "section[aria-label='Queues'] button[name='refresh-now']").await;
    wait_text(client, &row, "the list read again", |t| t == "5").await;
    wait_text(client, "[data-testid='ready']", "the figures read again", |t| t == "5").await;
    broker::delete_queue(&queue);
}

/// Peek shows the messages with their properties and bodies and returns them;
/// a consumer then sees them marked redelivered. Takes docs/queues.png.
pub async fn peek_returns_the_messages_to_the_queue(client: &Client) {
    let queue = fresh("e2e-peek");
    broker::fill_queue(&queue, 3, "{\"order\": 42}").await;
    broker::api("POST", "/exchanges/%2F/amq.default/publish", Some(&serde_json::json!({
        // `receipt` and `content-length` as Web-STOMP copies them from a SEND into the message.
        "properties": { "content_type": "application/json", "correlation_id": "c-7",
            "headers": { "trace": "t-1", "receipt": "receipt-21", "content-length": "15" } },
        "routing_key": queue, "payload": "with properties", "payload_encoding": "string"
    })));
    open_connected(client).await;
    select_in_list(client, &queue).await;
    click(client, &format!("button[aria-label='Peek into {queue}']")).await;
    click(client, "[data-testid='peek'] button[type='submit']").await;
    let note = wait_text(client, "[data-testid='peek-note']", "the peek", |t| t.contains("went back")).await;
    assert!(note.contains("4 messages") && note.contains("redelivered"), "{note}");
    let peeked = wait_text(client, "[data-testid='peek'] ol", "the messages", |t| t.contains("with properties")).await;
    for expected in ["{\"order\": 42} #1", "{\"order\": 42} #3", "content_type", "application/json", "correlation_id", "c-7", "header trace", "t-1"] {
        assert!(peeked.contains(expected), "{expected:?} missing from the peek: {peeked}");
    }
    // QA: a peek listed them; a consumer card hides them, as STOMP's, not the publisher's.
    for hidden in ["header receipt", "header content-length"] {
        assert!(!peeked.contains(hidden), "{hidden:?} shown in the peek: {peeked}");
    }
    broker_ready(&queue, 4).await;
    wait_text(client, &format!("tr[data-queue='{queue}'] td.ready"), "the list after the peek", |t| t == "4").await;
    wait_for_styles(client).await;
    let section = element(client, "section[aria-label='Queues']").await;
    let png = section.screenshot().await.expect("a screenshot of the queue list");
    std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/queues.png"), png).expect("write docs/queues.png");
    add_consumer(client, &queue, true, 0).await;
    let card = consumer_text(client, 1, "the four, marked", |t| t.contains("received 4,")).await;
    assert!(card.contains("redelivered 4"), "every peeked message comes back marked redelivered: {card}");
    broker::delete_queue(&queue);
}

/// A queue deleted from the list and declared again from the form exists again:
/// RabbitMQ's STOMP adapter skips a second declare on the connection that made
/// the first, so "declared" used to be said of a queue that was not there.
pub async fn a_deleted_queue_declared_again_exists(client: &Client) {
    let queue = fresh("e2e-again");
    open_connected(client).await;
    let first = declare(client, &queue, false).await;
    assert!(first.contains("declared"), "{first}");
    select_in_list(client, &queue).await;
    click(client, &format!("button[aria-label='Delete {queue}']")).await;
    click(client, "[data-testid='confirm'] button.danger").await;
    wait_text(client, "[data-testid='queue-tool-outcome']", "deleted", |t| t.contains("Deleted")).await;
    broker_gone(&queue).await;
    let figures = "[data-testid='queue-figures']";
    wait_text(client, figures, "the figures of the deleted queue", |t| t.contains("(yet)")).await;
    click(client, "section[aria-label='Queue'] button[type='submit']").await;
    wait_text(client, figures, "the queue's figures", |t| t.contains("ready") && !t.contains("(yet)")).await;
    let again = element(client, "[data-testid='declare-result']").await.text().await.unwrap_or_default();
    assert!(again.contains("declared"), "{again}");
    assert!(broker::queue(&queue).is_some(), "“{queue}” is on the broker after “{again}”");
    broker::delete_queue(&queue);
}

/// Purge and delete name the queue and its count first; Cancel does nothing.
pub async fn purge_and_delete_ask_first(client: &Client) {
    let queue = fresh("e2e-purge");
    broker::fill_queue(&queue, 7, "to purge").await;
    open_connected(client).await;
    select_in_list(client, &queue).await;
    wait_text(client, &format!("tr[data-queue='{queue}'] td.ready"), "its count", |t| t == "7").await;
    click(client, &format!("button[aria-label='Purge {queue}']")).await;
    let ask = wait_text(client, "[data-testid='confirm']", "the question", |t| t.contains("Purge")).await;
    assert!(ask.contains(&queue) && ask.contains("7 messages"), "names the queue and its count: {ask}");
    click(client, "[data-testid='confirm'] button.secondary").await;
    assert!(!exists(client, "[data-testid='confirm']").await, "Cancel closes it");
    broker_ready(&queue, 7).await;
    click(client, &format!("button[aria-label='Purge {queue}']")).await;
    click(client, "[data-testid='confirm'] button.danger").await;
    wait_text(client, "[data-testid='queue-tool-outcome']", "purged", |t| t.contains("Purged")).await;
    broker_ready(&queue, 0).await;
    wait_text(client, &format!("tr[data-queue='{queue}'] td.ready"), "the list after the purge", |t| t == "0").await;
    click(client, &format!("button[aria-label='Delete {queue}']")).await;
    let ask = wait_text(client, "[data-testid='confirm']", "the question", |t| t.contains("Delete")).await;
    assert!(ask.contains(&queue) && ask.contains("0 messages"), "{ask}");
    click(client, "[data-testid='confirm'] button.danger").await;
    wait_text(client, "[data-testid='queue-tool-outcome']", "deleted", |t| t.contains("Deleted")).await;
    broker_gone(&queue).await;
}

/// A stream is read from an offset without a consumer card; nothing is taken.
pub async fn a_stream_is_peeked_from_an_offset(client: &Client) {
    let stream = fresh("e2e-stream-peek");
    let (status, _) = broker::api("PUT", &format!("/queues/%2F/{stream}"), Some(&serde_json::json!({
        "durable": true, "arguments": { "x-queue-type": "stream" }
    })));
    assert!((200..300).contains(&status), "stream declared: HTTP {status}");
    for n in 0..3 {
        broker::api("POST", "/exchanges/%2F/amq.default/publish", Some(&serde_json::json!({
            "properties": {}, "routing_key": stream, "payload": format!("event {n}"), "payload_encoding": "string"
        })));
    }
    open_connected(client).await;
    select_in_list(client, &stream).await;
    assert!(!exists(client, &format!("button[aria-label='Purge {stream}']")).await, "a stream cannot be purged");
    click(client, &format!("button[aria-label='Peek into {stream}']")).await;
    choose(client, "[data-testid='peek'] select[name='peek-from']", "first").await;
    click(client, "[data-testid='peek'] button[type='submit']").await;
    let note = wait_text(client, "[data-testid='peek-note']", "the read", |t| t.contains("Read")).await;
    assert!(note.contains("3 messages") && note.contains("takes nothing away"), "{note}");
    let read = wait_text(client, "[data-testid='peek'] ol", "offsets", |t| t.contains("event 2")).await;
    for n in 0..3 {
        assert!(read.contains(&format!("offset {n}")), "offset {n}: {read}");
    }
    assert!(!exists(client, "[data-testid='consumer-1']").await, "no consumer card for a peek");
    broker::delete_queue(&stream);
}

/// A user without the management tag: the list says what it cannot show, and
/// publishing and consuming still work (confirms said to be unchecked).
pub async fn without_the_management_tag(client: &Client) {
    ensure_user(NO_TAG_USER, NO_TAG_USER, "");
    let queue = fresh("e2e-notag");
    broker::fill_queue(&queue, 0, "").await;
    open_connected_as(client, NO_TAG_USER, NO_TAG_USER).await;
    let problem = wait_text(client, "[data-testid='queues-problem']", "the words", |t| t.contains("management tag")).await;
    assert!(problem.contains(NO_TAG_USER) && problem.contains("still work"), "{problem}");
    add_consumer(client, &queue, true, 0).await;
    consumer_text(client, 1, "subscribed", |t| t.contains("consuming")).await;
    publish(client, &queue, "no tag needed", 1).await;
    consumer_text(client, 1, "delivered", |t| t.contains("no tag needed")).await;
    let log = wait_text(client, "section[aria-label='Producer'] ol.log", "the confirm", |t| t.contains("confirmed")).await;
    assert!(log.contains("not checked") && log.contains("management tag"), "{log}");
    broker::delete_queue(&queue);
}

/// At 400 px the list keeps its headings on one line and scrolls sideways, its
/// row's buttons reachable (QA: "n a m e ▲" a letter a line, Delete out of view).
pub async fn the_list_reads_in_a_narrow_window(client: &Client) {
    let queue = fresh("e2e-narrow");
    broker::fill_queue(&queue, 1, "narrow").await;
    open_connected(client).await;
    select_in_list(client, &queue).await;
    let (width, height) = client.get_window_size().await.expect("the window's size");
    client.set_window_size(400, 900).await.expect("a narrow window");
    let delete = format!("button[aria-label='Delete {queue}']");
    let measured = client
        .execute(
            "const [selector] = arguments; const button = document.querySelector(selector);
             button.scrollIntoView({ block: 'center', inline: 'center' });
             const heading = document.querySelector('table.queue-list thead th').getBoundingClientRect().height;
             const box = button.getBoundingClientRect();
             return [heading, box.height, box.left, box.right, document.documentElement.clientWidth];",
            vec![serde_json::json!(delete)],
        )
        .await
        .expect("script");
    client.set_window_size(u32::try_from(width).unwrap_or(1280), u32::try_from(height).unwrap_or(1000)).await.expect("the window back");
    let figure = |n: usize| measured.get(n).and_then(serde_json::Value::as_f64).unwrap_or(f64::NAN);
    let (heading, button, left, right, viewport) = (figure(0), figure(1), figure(2), figure(3), figure(4));
    assert!(heading <= 2.0 * button, "headings on one line: {heading} px high, a button {button} px ({measured:?})");
    assert!(left >= 0.0 && right <= viewport, "Delete scrolled into view: {left}..{right} of {viewport} ({measured:?})");
    broker::delete_queue(&queue);
}
