//! The workbench's quorum-queue, stream, several-URL and name-display parts, driven through the
//! DOM in headless Chromium against the real broker: the widget is mounted, forms
//! are filled and buttons clicked, and the test waits (bounded) for what the page
//! then shows.
#![cfg(target_arch = "wasm32")]

mod common;
mod widget_dom;
use widget_dom::{click, fill, find, text, until_text};

use burrow::rabbit::{BasicProperties, QueueOptions};
use burrow::reliable::{ReliableConnection, ReliableOptions};
use common::{connect_options, fresh_name, management, within, BROKER_URL, LOGIN, PASSCODE};
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlInputElement, HtmlTextAreaElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Mounts a widget with these panels on `url` (one URL, or several, one per line),
/// connecting at once; returns its element.
fn mount(url: &str, queue: &str, panels: &[&str]) -> (Element, burrow::ui::widget::BurrowWidget) {
    widget_dom::mount(&[("url", url), ("login", LOGIN), ("passcode", PASSCODE), ("queue", queue)], panels)
}

async fn connected(root: &Element) -> String {
    until_text(root, "[data-testid='connection-status']", "connected", |t| t.contains("Connected to")).await
}

#[wasm_bindgen_test]
async fn a_stream_declared_in_the_form_is_read_from_first_shows_offsets_and_replays_from_an_offset() {
    let stream = fresh_name("ui-stream");
    let (page, mut widget) = mount(BROKER_URL, &stream, &["connection", "queue", "consumers"]);
    connected(&page).await;
    // Declare it a stream: choosing the type ticks durable for it.
    fill(&page, "section[aria-label='Queue'] input[name='queue']", &stream);
    fill(&page, "select[name='queue-type']", "stream");
    let durable = find(&page, "input[name='durable']").dyn_into::<HtmlInputElement>().expect("a checkbox");
    within("durable ticked", async {
        while !durable.checked() {
            TimeoutFuture::new(10).await;
        }
    })
    .await;
    click(&page, "section[aria-label='Queue'] button[type='submit']");
    let declared = until_text(&page, "[data-testid='declare-result']", "declared", |t| !t.is_empty()).await;
    assert!(declared.contains("a stream"), "{declared}");
    until_text(&page, "[data-testid='queue-type']", "the figures' type", |t| t == "stream").await;

    let producer = ReliableConnection::start(BROKER_URL, connect_options(), ReliableOptions::default()).expect("url");
    for n in 0..5 {
        let confirm = producer
            .basic_publish("", &stream, format!("s-{n}").into_bytes(), &BasicProperties::persistent())
            .await
            .expect("taken");
        within("a confirm", confirm).await.expect("confirmed");
    }
    // A consumer reading from the first offset.
    fill(&page, "input[name='consume-queue']", &stream);
    fill(&page, "select[name='offset']", "first");
    fill(&page, "input[name='prefetch']", "10");
    click(&page, "section[aria-label='Consumers'] button[type='submit']");
    let card = "[data-testid='consumer-1']";
    let shown = until_text(&page, card, "five deliveries with their offsets", |t| t.contains("offset 4")).await;
    for n in 0..5 {
        assert!(shown.contains(&format!("offset {n}")), "offset {n} shown: {shown}");
    }
    assert!(shown.contains("from first"), "{shown}");
    assert!(!shown.contains("Nack"), "no nack for a stream message: {shown}");
    // Replay from offset 3: two more deliveries, 3 and 4 again.
    fill(&page, "select[name='replay-from']", "offset");
    fill(&page, "input[name='replay-value']", "3");
    click(&page, "button[aria-label='Replay Consumer 1']");
    let replayed = until_text(&page, "[data-testid='consumer-counts']", "the replay", |t| t.contains("received 7")).await;
    assert!(replayed.contains("received 7"), "{replayed}");
    let shown = text(&page, card);
    assert_eq!(shown.matches("offset 3").count(), 2, "offset 3 twice: {shown}");
    assert_eq!(shown.matches("offset 2").count(), 1, "offset 2 once: {shown}");
    // A bad offset is refused in words, in place.
    fill(&page, "select[name='replay-from']", "offset");
    fill(&page, "input[name='replay-value']", "three");
    click(&page, "button[aria-label='Replay Consumer 1']");
    until_text(&page, "[aria-label='Consumer 1'] [role='alert']", "the refusal", |t| t.contains("not an offset")).await;
    widget.unmount();
    producer.stop();
    let _ = management().delete_queue("/", &stream).await;
}

#[wasm_bindgen_test]
async fn a_quorum_queue_shows_its_type_leader_and_members_and_its_redelivery_count() {
    let queue = fresh_name("ui-quorum");
    let (page, mut widget) = mount(BROKER_URL, &queue, &["connection", "queue", "consumers"]);
    connected(&page).await;
    fill(&page, "section[aria-label='Queue'] input[name='queue']", &queue);
    fill(&page, "select[name='queue-type']", "quorum");
    click(&page, "section[aria-label='Queue'] button[type='submit']");
    let declared = until_text(&page, "[data-testid='declare-result']", "declared", |t| !t.is_empty()).await;
    assert!(declared.contains("quorum"), "{declared}");
    until_text(&page, "[data-testid='queue-type']", "the type", |t| t == "quorum").await;
    let leader = until_text(&page, "[data-testid='queue-leader']", "the leader", |t| !t.is_empty()).await;
    let members = text(&page, "[data-testid='queue-members']");
    assert!(members.contains(&leader), "the leader {leader} is a member: {members}");

    // One message; a consumer crashes holding it; the next sees "delivered 1× before".
    let producer = ReliableConnection::start(BROKER_URL, connect_options(), ReliableOptions::default()).expect("url");
    let confirm = producer.basic_publish("", &queue, b"q".to_vec(), &BasicProperties::persistent()).await.expect("taken");
    within("the confirm", confirm).await.expect("confirmed");
    fill(&page, "input[name='consume-queue']", &queue);
    click(&page, "section[aria-label='Consumers'] button[type='submit']");
    until_text(&page, "[data-testid='consumer-1']", "the first delivery", |t| t.contains("Ack")).await;
    click(&page, "button[aria-label='Crash Consumer 1']");
    click(&page, "section[aria-label='Consumers'] button[type='submit']");
    let again = until_text(&page, "[data-testid='consumer-2']", "the redelivery", |t| t.contains("before")).await;
    assert!(again.contains("delivered 1× before") && again.contains("redelivered"), "{again}");
    widget.unmount();
    producer.stop();
    let _ = management().delete_queue("/", &queue).await;
}

#[wasm_bindgen_test]
async fn several_urls_fail_over_to_the_next_and_the_status_says_which_node() {
    // Nothing listens on port 9: the first URL fails and the second is used.
    let urls = format!("ws://127.0.0.1:9/ws\n{BROKER_URL}");
    let (page, mut widget) = mount(&urls, "hello", &["connection"]);
    let status = connected(&page).await;
    assert!(status.contains(&format!("Connected to {BROKER_URL} (node 2 of 2)")), "{status}");
    let field = find(&page, "textarea[name='url']").dyn_into::<HtmlTextAreaElement>().expect("a textarea");
    assert_eq!(field.value(), urls, "the form shows both URLs");
    widget.unmount();
}

#[wasm_bindgen_test]
async fn a_stream_filter_and_a_priority_from_the_forms_work_where_the_broker_has_them_and_are_refused_in_words_before() {
    let version = common::server_version().await;
    let stream = fresh_name("ui-filter");
    let producer = ReliableConnection::start(BROKER_URL, connect_options(), ReliableOptions::default()).expect("url");
    producer.queue_declare(&stream, &QueueOptions::stream()).await.expect("declare a stream");
    let (page, mut widget) = mount(BROKER_URL, &stream, &["connection", "producer", "consumers"]);
    let server = connected(&page).await;
    // Three red ones from the producer form.
    fill(&page, "section[aria-label='Producer'] input[name='routing-key']", &stream);
    fill(&page, "section[aria-label='Producer'] input[name='stream-filter-value']", "red");
    fill(&page, "section[aria-label='Producer'] input[name='count']", "3");
    click(&page, "section[aria-label='Producer'] button[type='submit']");
    let counts = "[data-testid='publish-counts']";
    if version < (3, 13, 0) {
        let log = until_text(&page, "section[aria-label='Producer'] ol.log", "the refusal", |t| t.contains("failed")).await;
        assert!(log.contains("stream filtering needs RabbitMQ 3.13.0 or later; this broker is RabbitMQ/"), "{log}");
    } else {
        until_text(&page, counts, "three confirms", |t| t.contains("published 3") && t.contains("pending 0")).await;
        let blue = BasicProperties { stream_filter_value: Some("blue".into()), ..BasicProperties::default() };
        for n in 0..5 {
            let confirm = producer.basic_publish("", &stream, format!("b-{n}").into_bytes(), &blue).await.expect("taken");
            within("a confirm", confirm).await.expect("confirmed");
        }
    }
    // A filtered stream consumer, from the consumer form.
    fill(&page, "input[name='consume-queue']", &stream);
    fill(&page, "select[name='offset']", "first");
    fill(&page, "input[name='prefetch']", "10");
    fill(&page, "input[name='stream-filter']", "red");
    click(&page, "section[aria-label='Consumers'] button[type='submit']");
    if version < (3, 13, 0) {
        let refused = until_text(&page, "[data-testid='consumer-1']", "the refusal", |t| t.contains("needs RabbitMQ")).await;
        assert!(refused.contains("stream filtering needs RabbitMQ 3.13.0 or later; this broker is RabbitMQ/"), "{refused}");
    } else {
        let counts = "[data-testid='consumer-1'] [data-testid='consumer-counts']";
        let shown = until_text(&page, counts, "three red", |t| t.contains("received 3")).await;
        assert!(shown.contains("kept back by the stream filter"), "{shown}");
        let status = text(&page, "[data-testid='consumer-1'] [data-testid='consumer-status']");
        assert!(status.contains("filter red"), "{status}");
    }
    // A consumer with a priority on a classic queue.
    let queue = fresh_name("ui-priority");
    producer.queue_declare(&queue, &QueueOptions::durable()).await.expect("declare");
    fill(&page, "input[name='consume-queue']", &queue);
    fill(&page, "select[name='offset']", "");
    fill(&page, "input[name='stream-filter']", "");
    fill(&page, "input[name='consumer-priority']", "5");
    click(&page, "section[aria-label='Consumers'] button[type='submit']");
    let second = "[data-testid='consumer-2'] [data-testid='consumer-status']";
    if version < (4, 0, 0) {
        let refused = until_text(&page, second, "the refusal", |t| t.contains("needs RabbitMQ")).await;
        assert!(refused.contains("a consumer priority (x-priority) needs RabbitMQ 4.0.0 or later"), "{refused}");
    } else {
        let status = until_text(&page, second, "consuming", |t| t.contains("consuming")).await;
        assert!(status.contains("priority 5"), "{status}");
    }
    console_log!("the forms on {server}: {}", text(&page, "[data-testid='consumer-1'] [data-testid='consumer-counts']"));
    widget.unmount();
    producer.stop();
    let _ = management().delete_queue("/", &stream).await;
    let _ = management().delete_queue("/", &queue).await;
}

/// The rendered text of the element at `css`, as a user sees and copies it
/// (`innerText` follows the style: collapsed spaces come out collapsed).
fn seen(root: &Element, css: &str) -> String {
    root.query_selector(css).ok().flatten().and_then(|e| e.dyn_into::<HtmlElement>().ok()).map(|e| e.inner_text()).unwrap_or_default()
}

/// Regression (QA): a name with two spaces in a row showed with one (HTML
/// collapses white space) in the declare result, the list and the purge dialog,
/// so a user who copied it got another name. With the app's style sheet each
/// keeps both spaces.
#[wasm_bindgen_test]
async fn a_name_with_two_spaces_in_a_row_shows_both() {
    let document = web_sys::window().and_then(|w| w.document()).expect("a document");
    let style = document.create_element("style").expect("a style");
    style.set_text_content(Some(include_str!("../style.css")));
    document.head().expect("a head").append_child(&style).expect("appended");
    let queue = fresh_name("ui two  spaces");
    let (page, mut widget) = mount(BROKER_URL, &queue, &["connection", "queue", "queues"]);
    connected(&page).await;
    fill(&page, "section[aria-label='Queue'] input[name='queue']", &queue);
    click(&page, "section[aria-label='Queue'] button[type='submit']");
    until_text(&page, "[data-testid='declare-result']", "declared", |t| !t.is_empty()).await;
    let declared = seen(&page, "[data-testid='declare-result']");
    assert!(declared.contains(&queue), "the declare result keeps both spaces: {declared:?}");
    let row = format!("tr[data-queue='{queue}']");
    until_text(&page, "[data-testid='queue-list']", "the queue listed", |t| t.contains(&queue)).await;
    let listed = seen(&page, &row);
    assert!(listed.contains(&queue), "the list keeps both spaces: {listed:?}");
    click(&page, &format!("{row} button[aria-label='Purge {queue}']"));
    until_text(&page, "[data-testid='confirm']", "the purge dialog", |t| t.contains(&queue)).await;
    let asked = seen(&page, "[data-testid='confirm']");
    assert!(asked.contains(&format!("Purge “{queue}”?")), "the dialog keeps both spaces: {asked:?}");
    widget.unmount();
    style.remove();
    let _ = management().delete_queue("/", &queue).await;
}

/// Regression (QA): an exclusive queue declared in the form was worded
/// "declared (transient)", as if any connection could use it until a restart;
/// RabbitMQ deletes it when the connection that declared it closes, and no other
/// connection (a consumer card's among them) may use it.
#[wasm_bindgen_test]
async fn an_exclusive_queue_declared_in_the_form_is_worded_exclusive() {
    let queue = fresh_name("ui-exclusive");
    let (page, mut widget) = mount(BROKER_URL, &queue, &["connection", "queue"]);
    let declared = declare_ticked(&page, &queue, "exclusive").await;
    assert_eq!(
        declared,
        format!(
            "Queue “{queue}” declared (exclusive: only the workbench's own connection may use it, not a consumer \
             card's, and RabbitMQ deletes it when that connection closes)."
        )
    );
    // What the words say is what the broker made.
    let state = within("the queue read", management().queue("/", &queue)).await.expect("read").expect("the queue exists");
    assert!(state.exclusive && !state.durable, "{state:?}");
    widget.unmount();
    // Gone with the widget's connection.
    within("the queue gone with its connection", async {
        while matches!(management().queue("/", &queue).await, Ok(Some(_))) {
            TimeoutFuture::new(100).await;
        }
    })
    .await;
}

/// Once connected, declares `queue` in the Queue form with the checkbox `flag`
/// ticked; what the form then says.
async fn declare_ticked(page: &Element, queue: &str, flag: &str) -> String {
    connected(page).await;
    fill(page, "section[aria-label='Queue'] input[name='queue']", queue);
    // A click ticks it and tells the page, as a person's does.
    let checkbox = format!("input[name='{flag}']");
    click(page, &checkbox);
    assert!(find(page, &checkbox).dyn_into::<HtmlInputElement>().expect("a checkbox").checked(), "{flag} ticked");
    click(page, "section[aria-label='Queue'] button[type='submit']");
    until_text(page, "[data-testid='declare-result']", "declared", |t| !t.is_empty()).await
}

/// An auto-delete queue was worded "declared (transient)", as if it stayed.
#[wasm_bindgen_test]
async fn an_auto_delete_queue_declared_in_the_form_is_worded_auto_delete() {
    let queue = fresh_name("ui-auto-delete");
    let (page, mut widget) = mount(BROKER_URL, &queue, &["connection", "queue"]);
    let declared = declare_ticked(&page, &queue, "auto-delete").await;
    assert_eq!(declared, format!("Queue “{queue}” declared (transient, auto-delete: RabbitMQ deletes it when its last consumer goes)."));
    let state = within("the queue read", management().queue("/", &queue)).await.expect("read").expect("the queue exists");
    assert!(state.auto_delete && !state.durable && !state.exclusive, "{state:?}");
    widget.unmount();
    page.remove();
    let _ = management().delete_queue("/", &queue).await;
}

/// The URLs the page has fetched so far (the browser's resource timing entries),
/// oldest first.
fn fetched() -> Vec<String> {
    let window = web_sys::window().expect("a window");
    let performance = js_sys::Reflect::get(&window, &"performance".into()).expect("performance");
    let get: js_sys::Function =
        js_sys::Reflect::get(&performance, &"getEntriesByType".into()).expect("getEntriesByType").dyn_into().expect("a function");
    let entries: js_sys::Array = get.call1(&performance, &"resource".into()).expect("entries").dyn_into().expect("an array");
    entries
        .iter()
        .filter_map(|entry| js_sys::Reflect::get(&entry, &"name".into()).ok().and_then(|n| n.as_string()))
        .collect()
}

/// Regression (QA): with a queue that does not exist selected, the card read it
/// (`GET /api/queues/%2F/<name>`, a 404) every period, and Chromium printed a red
/// "Failed to load resource: 404" in the console every 2 s for as long as the page
/// was open. Once a reading says it is missing, the card asks the list of names
/// (which answers 200) and reads the queue only once it is listed. Regression
/// too: that look-up asked for every queue's name, each period.
#[wasm_bindgen_test]
async fn a_missing_queue_is_read_once_then_its_figures_appear_when_it_is_declared() {
    let queue = fresh_name("ui-missing");
    let before = fetched().len();
    let (page, mut widget) = mount(BROKER_URL, &queue, &["connection", "queue"]);
    until_text(&page, "[data-testid='queue-figures']", "the queue said missing", |t| t.contains("No queue")).await;
    // The card's readings are the page's only management calls: wait (bounded)
    // for the first one and three periodic ones after it.
    let api = |url: &String| url.contains("/api/queues/");
    within("four readings", async {
        while fetched().iter().skip(before).filter(|url| api(url)).count() < 4 {
            TimeoutFuture::new(100).await;
        }
    })
    .await;
    let queue_path = format!("/api/queues/%2F/{queue}");
    let missing: Vec<String> = fetched().into_iter().skip(before).filter(|url| url.ends_with(&queue_path)).collect();
    assert!(missing.len() <= 1, "the missing queue was read {} times (each a 404): {missing:?}", missing.len());
    assert!(text(&page, "[data-testid='queue-figures']").contains("No queue"), "still said missing");
    // Each look-up asks for this one name, not for every queue on the broker.
    let lookups: Vec<String> = fetched().into_iter().skip(before).filter(|url| url.contains("/api/queues/%2F?")).collect();
    assert!(!lookups.is_empty(), "no look-up by name: {:?}", fetched());
    let by_name = format!("use_regex=true&name=%5E{}%24", queue.replace('-', "%5C-"));
    let whole_lists: Vec<&String> = lookups.iter().filter(|url| !url.ends_with(&by_name)).collect();
    assert!(whole_lists.is_empty(), "a look-up asked for more than the queue's name: {whole_lists:?}");

    // Declared now: the next periodic reading finds it and shows its figures.
    let declarer = ReliableConnection::start(BROKER_URL, connect_options(), ReliableOptions::default()).expect("url");
    within("declared", declarer.queue_declare(&queue, &QueueOptions::default())).await.expect("declared");
    let ready = until_text(&page, "[data-testid='ready']", "the figures of the declared queue", |t| !t.is_empty()).await;
    assert_eq!(ready, "0");
    assert!(!text(&page, "[data-testid='queue-figures']").contains("No queue"), "no longer said missing");
    widget.unmount();
    page.remove();
    declarer.stop();
    let _ = management().delete_queue("/", &queue).await;
}
