//! The widget on a host page, through the DOM in headless Chromium: the host's
//! own styles do not move it, its confirmations take the keyboard's focus, and
//! leaving the page while publishes wait in the outbox asks first.
#![cfg(target_arch = "wasm32")]

mod common;
mod widget_dom;
use widget_dom::{click, find, mount, text, until_text};

use burrow::rabbit::QueueOptions;
use burrow::reliable::{ReliableConnection, ReliableOptions};
use common::{connect_options, fresh_name, management, within, BROKER_URL, LOGIN, PASSCODE};
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().and_then(|w| w.document()).expect("a document")
}

/// Waits (bounded) until `check` holds.
async fn until(what: &str, check: impl Fn() -> bool) {
    within(what, async {
        while !check() {
            TimeoutFuture::new(20).await;
        }
    })
    .await;
}

/// `getComputedStyle(element)[property]`, through JavaScript (no web-sys feature for it).
fn computed(element: &Element, property: &str) -> String {
    let window = web_sys::window().expect("a window");
    let get = js_sys::Reflect::get(&window, &"getComputedStyle".into()).expect("getComputedStyle");
    let get: js_sys::Function = get.dyn_into().expect("a function");
    let style = get.call1(&window, element).expect("a style");
    let value = js_sys::Reflect::get(&style, &JsValue::from_str(property)).expect("a property");
    value.as_string().unwrap_or_default()
}

/// Adds a `<style>` to the page's head; the caller removes it.
fn add_style(css: &str) -> Element {
    let style = document().create_element("style").expect("a style element");
    style.set_text_content(Some(css));
    document().head().expect("a head").append_child(&style).expect("appended");
    style
}

/// What a host page's sheet may say about generic names (QA: a host's
/// `.status { position: fixed }` put two widgets' status lines on top of each other).
const HOSTILE: &str = "
.card, .status, .grid, .panels, .note, .tab, .muted { position: fixed; top: 0; right: 0; display: flex;
  flex-direction: row; width: 300px; float: left; margin: 40px; color: rgb(220, 20, 60); background: rgb(0, 0, 0); }
h1, h2, label, button, table, section, p, form { position: fixed; text-transform: uppercase; color: rgb(220, 20, 60);
  float: right; letter-spacing: 3px; }
";

/// Regression (QA W3): the widget's generic class names and its elements took
/// the host page's rules (`.status`, `.card`, `h2`, `button`).
#[wasm_bindgen_test]
async fn a_hostile_host_sheet_does_not_move_the_widget() {
    let ours = add_style(include_str!("../style.css"));
    let hostile = add_style(HOSTILE);
    let (page, mut widget) =
        mount(&[("url", BROKER_URL), ("login", LOGIN), ("title", "Hostile host"), ("connect", "false")], &["connection", "queue"]);
    until("the widget drawn", || page.query_selector("section.card").ok().flatten().is_some()).await;

    let status = find(&page, "[data-testid='connection-status']");
    assert_eq!(computed(&status, "position"), "static", "the status line stays in the flow");
    assert_eq!(computed(&status, "backgroundColor"), "rgb(238, 240, 244)", "its own background");
    let card = find(&page, "section.card");
    assert_eq!(computed(&card, "position"), "static");
    assert_eq!(computed(&card, "display"), "block", "a card is not the host's flex row");
    assert_eq!(computed(&card, "backgroundColor"), "rgb(255, 255, 255)");
    for css in ["h1", "section.card h2", "button[type='submit']", "label", "form.grid"] {
        let element = find(&page, css);
        assert_eq!(computed(&element, "position"), "static", "{css}");
        assert_eq!(computed(&element, "float"), "none", "{css}");
        assert_eq!(computed(&element, "textTransform"), "none", "{css}");
        assert_ne!(computed(&element, "color"), "rgb(220, 20, 60)", "{css}");
    }
    // The widget's own rules still hold.
    assert_eq!(computed(&find(&page, "form.grid"), "display"), "grid");
    let label = find(&page, "form.grid label");
    assert_eq!((computed(&label, "display"), computed(&label, "flexDirection")), ("flex".into(), "column".into()));
    assert_eq!(computed(&find(&page, "button[type='submit']"), "backgroundColor"), "rgb(194, 65, 12)");
    widget.unmount();
    page.remove();
    hostile.remove();
    ours.remove();
}

fn active() -> Option<Element> {
    document().active_element()
}

/// Presses Escape where the focus is (a keydown that bubbles, as a browser sends).
fn press_escape() {
    let window = web_sys::window().expect("a window");
    let init = js_sys::Object::new();
    js_sys::Reflect::set(&init, &"key".into(), &"Escape".into()).expect("set");
    js_sys::Reflect::set(&init, &"bubbles".into(), &JsValue::TRUE).expect("set");
    js_sys::Reflect::set(&init, &"cancelable".into(), &JsValue::TRUE).expect("set");
    let class: js_sys::Function = js_sys::Reflect::get(&window, &"KeyboardEvent".into()).expect("KeyboardEvent").dyn_into().expect("a class");
    let args = js_sys::Array::of2(&"keydown".into(), &init);
    let event: web_sys::Event = js_sys::Reflect::construct(&class, &args).expect("an event").dyn_into().expect("an event");
    let target: web_sys::EventTarget = active().map(Into::into).unwrap_or_else(|| document().into());
    target.dispatch_event(&event).expect("dispatched");
}

/// Regression (QA F5): Delete… and Purge… opened their confirmation below the
/// table, focus stayed on the row (39 Tabs to the confirm button), Escape did nothing.
#[wasm_bindgen_test]
async fn a_queue_confirmation_takes_the_focus_and_escape_gives_it_back() {
    let queue = fresh_name("ui-confirm");
    let declarer = ReliableConnection::start(BROKER_URL, connect_options(), ReliableOptions::default()).expect("url");
    within("declared", declarer.queue_declare(&queue, &QueueOptions::default())).await.expect("declared");
    let (page, mut widget) = mount(&[("url", BROKER_URL), ("login", LOGIN), ("passcode", PASSCODE)], &["connection", "queues"]);
    let row = format!("tr[data-queue='{queue}']");
    until("the queue in the list", || page.query_selector(&row).ok().flatten().is_some()).await;
    for tool in ["Purge", "Delete"] {
        let opener = find(&page, &format!("button[aria-label='{tool} {queue}']"));
        opener.clone().dyn_into::<HtmlElement>().expect("a button").click();
        let inside = |css: &str| active().is_some_and(|a| a.closest(css).ok().flatten().is_some());
        until(&format!("{tool}: the focus in the confirmation"), || inside("[data-testid='confirm']")).await;
        let dialog = find(&page, "[data-testid='confirm']");
        assert_eq!(dialog.get_attribute("role").as_deref(), Some("alertdialog"), "{tool}: announced as a dialog");
        press_escape();
        until(&format!("{tool}: Escape closes it"), || page.query_selector("[data-testid='confirm']").ok().flatten().is_none()).await;
        until(&format!("{tool}: the focus back on the row's button"), || {
            active().and_then(|a| a.get_attribute("aria-label")) == opener.get_attribute("aria-label")
        })
        .await;
    }
    widget.unmount();
    page.remove();
    let _ = management().delete_queue("/", &queue).await;
    drop(declarer);
}

/// Sends a `beforeunload` the page's handlers can cancel; true if one did
/// (the browser would then ask before leaving).
fn leaving_is_questioned() -> bool {
    let event = document().create_event("Event").expect("an event");
    event.init_event_with_bubbles_and_cancelable("beforeunload", false, true);
    web_sys::window().expect("a window").dispatch_event(&event).expect("dispatched");
    event.default_prevented()
}

/// Regression (QA F4): a reload with publishes in the outbox dropped them with no
/// question, while the outbox line said "kept and sent again after a reconnect".
#[wasm_bindgen_test]
async fn leaving_with_publishes_in_the_outbox_asks_first() {
    // Nothing listens there: the connection keeps retrying, the publish waits.
    let (page, mut widget) =
        mount(&[("url", "ws://127.0.0.1:9/ws"), ("login", LOGIN), ("passcode", PASSCODE), ("queue", "ui-unload")], &["connection", "producer"]);
    let publish = || page.query_selector("section[aria-label='Producer'] button[type='submit']").ok().flatten();
    let enabled = |b: &Element| !b.has_attribute("disabled");
    until("Publish enabled while reconnecting", || publish().is_some_and(|b| enabled(&b))).await;
    assert!(!leaving_is_questioned(), "an empty outbox keeps no one on the page");
    publish().and_then(|b| b.dyn_into::<HtmlElement>().ok()).expect("a button").click();
    until("one in the outbox", || text(&page, "[data-testid='outbox']").starts_with("outbox: 1 ")).await;
    // The question comes with the page's next effects (yew runs them after drawing).
    until("the browser asks before the outbox is lost", leaving_is_questioned).await;
    let line = text(&page, "[data-testid='outbox']");
    assert!(line.contains("lost if this page is closed"), "{line}");
    // Disconnect fails what waited (Stopped): nothing is left to lose.
    let disconnect = find(&page, "section[aria-label='Connection'] button[type='button']");
    assert_eq!(disconnect.text_content().as_deref(), Some("Disconnect"));
    disconnect.dyn_into::<HtmlElement>().expect("a button").click();
    until("the outbox empty after Disconnect", || text(&page, "[data-testid='outbox']").starts_with("outbox: 0 ")).await;
    until("no question with an empty outbox", || !leaving_is_questioned()).await;
    // Publish again, and the widget goes: its question goes with it.
    until("Connect", || find(&page, "section[aria-label='Connection'] button[type='submit']").text_content().as_deref() == Some("Connect")).await;
    find(&page, "section[aria-label='Connection'] button[type='submit']").dyn_into::<HtmlElement>().expect("a button").click();
    until("Publish enabled again", || publish().is_some_and(|b| enabled(&b))).await;
    publish().and_then(|b| b.dyn_into::<HtmlElement>().ok()).expect("a button").click();
    until("one in the outbox again", || text(&page, "[data-testid='outbox']").starts_with("outbox: 1 ")).await;
    until("asked again", leaving_is_questioned).await;
    widget.unmount();
    page.remove();
    // yew runs the widget's clean-ups on its scheduler.
    until("the question gone with the widget", || !leaving_is_questioned()).await;
}

/// The names of the landmark regions under `root` (`<section aria-label>` and
/// `role="region"`), in document order.
fn region_names(root: &Element) -> Vec<String> {
    let found = root.query_selector_all("section[aria-label], [role='region'][aria-label]").expect("a selector");
    (0..found.length())
        .filter_map(|i| found.item(i))
        .filter_map(|node| node.dyn_into::<Element>().ok())
        .filter_map(|element| element.get_attribute("aria-label"))
        .collect()
}

/// Regression (QA, accessibility): two widgets on one page named their regions
/// alike ("Connection", "Producer", "Queue" twice), so a screen reader's list of
/// landmarks could not tell them apart. The first keeps its names; the second's
/// say which widget they belong to.
#[wasm_bindgen_test]
async fn two_widgets_on_one_page_name_their_regions_apart() {
    let every = ["guide", "connection", "queues", "queue", "producer", "consumers"];
    let options = [("url", BROKER_URL), ("login", LOGIN), ("connect", "false")];
    let (first, mut first_widget) = mount(&options, &every);
    let (second, mut second_widget) = mount(&options, &every);
    let drawn = |page: &Element| region_names(page).len() >= 7;
    until("both widgets drawn", || drawn(&first) && drawn(&second)).await;
    let ones = region_names(&first);
    let twos = region_names(&second);
    assert_eq!(
        ones,
        ["Guided tutorial", "Connection", "Queue", "Queues", "Producer", "RPC call", "Consumers"],
        "the first widget keeps the names a single widget has"
    );
    let mut all: Vec<&String> = ones.iter().chain(&twos).collect();
    let count = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), count, "every region's name is its own: {ones:?} {twos:?}");
    assert_eq!(twos.first().map(String::as_str), Some("Guided tutorial (widget 2)"), "{twos:?}");
    first_widget.unmount();
    second_widget.unmount();
    first.remove();
    second.remove();
}

/// A management API nothing answers at: every call to it fails.
const NO_MANAGEMENT: &str = "http://127.0.0.1:9/api";

/// The first lesson's queue.
const LESSON_QUEUE: &str = "水续传";

/// Waits (bounded) until the lesson step button `step` is enabled.
async fn enabled(page: &Element, step: usize) {
    let css = format!("[data-testid='lesson-step-{step}']");
    within(&format!("step {step} enabled"), async {
        // aria-disabled: a step's button stays focusable when it cannot be used.
        while page.query_selector(&css).ok().flatten().is_none_or(|b| b.get_attribute("aria-disabled").as_deref() == Some("true")) {
            TimeoutFuture::new(50).await;
        }
    })
    .await;
}

/// Regression (QA): a reset that removed the lesson's consumer but could not
/// delete its queue (the management API unreachable) was shown with ✓, as if the
/// lesson were clean. It shows ✗ and says what failed.
#[wasm_bindgen_test]
async fn a_reset_that_partly_failed_shows_no_success_mark_and_says_what_failed() {
    let existed = matches!(management().queue("/", LESSON_QUEUE).await, Ok(Some(_)));
    let options = [("url", BROKER_URL), ("managementUrl", NO_MANAGEMENT), ("login", LOGIN), ("passcode", PASSCODE)];
    let (page, mut widget) = mount(&options, &["connection", "guide", "consumers"]);
    until_text(&page, "[data-testid='connection-status']", "connected", |t| t.contains("Connected to")).await;
    // Declare the lesson's queue (over STOMP), then add its consumer.
    enabled(&page, 0).await;
    click(&page, "[data-testid='lesson-step-0']");
    enabled(&page, 2).await;
    click(&page, "[data-testid='lesson-step-2']");
    until_text(&page, "[data-testid='lesson-progress']", "the consumer", |t| t.contains("Consumer 1")).await;
    click(&page, "[data-testid='lesson-reset']");
    let progress = "[data-testid='lesson-progress']";
    let said = until_text(&page, progress, "the reset's outcome", |t| t.contains("could not delete")).await;
    let line = page.query_selector(&format!("{progress} li")).ok().flatten().expect("the reset's line");
    let words = line.text_content().unwrap_or_default();
    assert!(words.starts_with("✗ "), "no success mark on a reset that failed in part: {said}");
    assert_eq!(line.get_attribute("class").as_deref(), Some("bad"), "{words}");
    assert!(words.contains(&format!("could not delete queue {LESSON_QUEUE}")), "what failed: {words}");
    assert!(words.contains("removed Consumer 1"), "what was done: {words}");
    assert!(!text(&page, progress).contains('✓'), "{said}");
    widget.unmount();
    page.remove();
    if !existed {
        let _ = management().delete_queue("/", LESSON_QUEUE).await;
    }
}
