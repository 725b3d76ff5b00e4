//! What the widget's browser suites share to drive its DOM as a person would:
//! find an element, read its text, type or choose a value, click, and wait
//! (bounded) for a text.
#![allow(dead_code)] // each suite uses some of it

use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, HtmlElement, HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};

use super::common::within;

/// Mounts a widget in a new element of the page, with these options (strings;
/// "false" is the boolean) and `panels`; returns the element and the widget.
pub fn mount(options: &[(&str, &str)], panels: &[&str]) -> (Element, burrow::ui::widget::BurrowWidget) {
    let document = web_sys::window().and_then(|w| w.document()).expect("a document");
    let element = document.create_element("div").expect("a div");
    document.body().expect("a body").append_child(&element).expect("appended");
    let object = js_sys::Object::new();
    for (key, value) in options {
        let value = match *value {
            "false" => JsValue::FALSE,
            value => JsValue::from_str(value),
        };
        js_sys::Reflect::set(&object, &JsValue::from_str(key), &value).expect("set");
    }
    let panels: js_sys::Array = panels.iter().map(|p| JsValue::from_str(p)).collect();
    js_sys::Reflect::set(&object, &"panels".into(), &panels).expect("set");
    let widget = burrow::ui::widget::mount(element.clone(), object.into());
    (element, widget)
}

/// The element at `css` under `root`; the test fails if there is none.
pub fn find(root: &Element, css: &str) -> Element {
    root.query_selector(css).ok().flatten().unwrap_or_else(|| panic!("no `{css}` on the page"))
}

/// The text at `css` under `root`, empty if there is no such element.
pub fn text(root: &Element, css: &str) -> String {
    root.query_selector(css).ok().flatten().and_then(|e| e.text_content()).unwrap_or_default()
}

/// Sets an input's, textarea's or select's value, as typing or choosing would,
/// and tells the page (an `input` and a `change` event, as a browser does).
pub fn fill(root: &Element, css: &str, value: &str) {
    let element = find(root, css);
    if let Some(input) = element.dyn_ref::<HtmlInputElement>() {
        input.set_value(value);
    } else if let Some(area) = element.dyn_ref::<HtmlTextAreaElement>() {
        area.set_value(value);
    } else if let Some(select) = element.dyn_ref::<HtmlSelectElement>() {
        select.set_value(value);
    } else {
        panic!("`{css}` takes no value");
    }
    // They bubble, as real ones do: yew listens at the root.
    let document = web_sys::window().and_then(|w| w.document()).expect("a document");
    for kind in ["input", "change"] {
        let event = document.create_event("Event").expect("an event");
        event.init_event_with_bubbles(kind, true);
        element.dispatch_event(&event).expect("dispatched");
    }
}

/// Clicks the element at `css`, as a person would.
pub fn click(root: &Element, css: &str) {
    find(root, css).dyn_into::<HtmlElement>().expect("clickable").click();
}

/// Waits (bounded) until the text at `css` satisfies `check`; returns it.
pub async fn until_text(root: &Element, css: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
    let root = root.clone();
    within(what, async move {
        loop {
            let now = text(&root, css);
            if check(&now) {
                return now;
            }
            TimeoutFuture::new(50).await;
        }
    })
    .await
}
