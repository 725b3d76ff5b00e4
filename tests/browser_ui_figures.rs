//! The Queue card's live figures, through the DOM in headless Chromium against
//! the real broker: what the card asks the management API while the selected
//! queue does not exist, and the figures once it does.
#![cfg(target_arch = "wasm32")]

mod common;
mod widget_dom;
use widget_dom::{text, until_text};

use burrow::rabbit::QueueOptions;
use burrow::reliable::{ReliableConnection, ReliableOptions};
use common::{connect_options, fresh_name, management, within, BROKER_URL, LOGIN, PASSCODE};
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::Element;

wasm_bindgen_test_configure!(run_in_browser);

/// Mounts a widget with the connection and queue panels on `queue`, connecting at once.
fn mount(queue: &str) -> (Element, burrow::ui::widget::BurrowWidget) {
    let document = web_sys::window().and_then(|w| w.document()).expect("a document");
    let element = document.create_element("div").expect("a div");
    document.body().expect("a body").append_child(&element).expect("appended");
    let options = js_sys::Object::new();
    let set = |key: &str, value: JsValue| {
        js_sys::Reflect::set(&options, &key.into(), &value).expect("set");
    };
    set("url", BROKER_URL.into());
    set("login", LOGIN.into());
    set("passcode", PASSCODE.into());
    set("queue", queue.into());
    set("panels", ["connection", "queue"].iter().map(|p| JsValue::from_str(p)).collect::<js_sys::Array>().into());
    let widget = burrow::ui::widget::mount(element.clone(), options.into());
    (element, widget)
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
/// (which answers 200) and reads the queue only once it is listed.
#[wasm_bindgen_test]
async fn a_missing_queue_is_read_once_then_its_figures_appear_when_it_is_declared() {
    let queue = fresh_name("ui-missing");
    let before = fetched().len();
    let (page, mut widget) = mount(&queue);
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
