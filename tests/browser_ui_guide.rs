//! The guided tutorial's lessons in the widget, through the DOM in headless
//! Chromium against the real broker: what a lesson's reset says when part of it
//! fails.
#![cfg(target_arch = "wasm32")]

mod common;
mod widget_dom;
use widget_dom::{click, text, until_text};

use common::{management, within, BROKER_URL, LOGIN, PASSCODE};
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;
use web_sys::Element;

wasm_bindgen_test_configure!(run_in_browser);

/// A management API nothing answers at: every call to it fails.
const NO_MANAGEMENT: &str = "http://127.0.0.1:9/api";

/// The first lesson's queue.
const LESSON_QUEUE: &str = "水续传";

/// Mounts a widget with the guide, connecting at once, its management API at `management_url`.
fn mount(management_url: &str) -> (Element, burrow::ui::widget::BurrowWidget) {
    let document = web_sys::window().and_then(|w| w.document()).expect("a document");
    let element = document.create_element("div").expect("a div");
    document.body().expect("a body").append_child(&element).expect("appended");
    let options = js_sys::Object::new();
    let set = |key: &str, value: JsValue| {
        js_sys::Reflect::set(&options, &key.into(), &value).expect("set");
    };
    set("url", BROKER_URL.into());
    set("managementUrl", management_url.into());
    set("login", LOGIN.into());
    set("passcode", PASSCODE.into());
    let panels = ["connection", "guide", "consumers"];
    set("panels", panels.iter().map(|p| JsValue::from_str(p)).collect::<js_sys::Array>().into());
    let widget = burrow::ui::widget::mount(element.clone(), options.into());
    (element, widget)
}

/// Waits (bounded) until the lesson step button `step` is enabled.
async fn enabled(page: &Element, step: usize) {
    let css = format!("[data-testid='lesson-step-{step}']");
    within(&format!("step {step} enabled"), async {
        while page.query_selector(&css).ok().flatten().is_none_or(|b| b.has_attribute("disabled")) {
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
    let (page, mut widget) = mount(NO_MANAGEMENT);
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
