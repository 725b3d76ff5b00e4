//! How a workbench is told where things are, driven through the DOM in headless
//! Chromium: the management API's address (form field and the widget's
//! `managementUrl`), the host page's login against the one remembered in the
//! browser, and a Web-STOMP URL the browser can never open.
#![cfg(target_arch = "wasm32")]

mod common;
mod widget_dom;
use widget_dom::{click, fill, find, until_text};

use burrow::rabbit::QueueOptions;
use burrow::reliable::ReliableConnection;
use common::{connect_options, fresh_name, one_off, within, BROKER_URL, LOGIN, PASSCODE};
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlInputElement, HtmlTextAreaElement};

wasm_bindgen_test_configure!(run_in_browser);

/// A broker whose Web-STOMP is not on 15674, so its management API is not where
/// RabbitMQ's defaults say: RabbitMQ 4.0.5 as `./burrow setup` runs it.
const OTHER_WS_URL: &str = match option_env!("BURROW4_WS_URL") {
    Some(url) => url,
    None => "ws://127.0.0.1:15675/ws",
};
/// Its management API (without `/api`, as a user would type it).
const OTHER_MANAGEMENT_URL: &str = match option_env!("BURROW4_MANAGEMENT_URL") {
    Some(url) => url,
    None => "http://127.0.0.1:15673",
};

/// Mounts a widget with `options` (`[(key, value)]`) into a fresh element.
fn mount(options: &[(&str, JsValue)]) -> (Element, burrow::ui::widget::BurrowWidget) {
    let document = web_sys::window().and_then(|w| w.document()).expect("a document");
    let element = document.create_element("div").expect("a div");
    document.body().expect("a body").append_child(&element).expect("appended");
    let object = js_sys::Object::new();
    for (key, value) in options {
        js_sys::Reflect::set(&object, &JsValue::from_str(key), value).expect("set");
    }
    let widget = burrow::ui::widget::mount(element.clone(), object.into());
    (element, widget)
}

fn panels(names: &[&str]) -> JsValue {
    names.iter().map(|p| JsValue::from_str(p)).collect::<js_sys::Array>().into()
}

/// Waits (bounded) until yew has drawn `css`: a mount draws on the next tick.
async fn drawn(root: &Element, css: &str) {
    let root = root.clone();
    let css = css.to_owned();
    within("the widget drawn", async move {
        while root.query_selector(&css).ok().flatten().is_none() {
            TimeoutFuture::new(20).await;
        }
    })
    .await;
}

fn value(root: &Element, css: &str) -> String {
    let element = find(root, css);
    match element.dyn_ref::<HtmlInputElement>() {
        Some(input) => input.value(),
        None => element.dyn_ref::<HtmlTextAreaElement>().map(|a| a.value()).expect("an input or textarea"),
    }
}

/// A fresh queue on the other broker (declared over its Web-STOMP), for its list to show.
async fn queue_on_the_other_broker() -> String {
    let queue = fresh_name("appcfg");
    let options = burrow::reliable::ReliableOptions {
        management_url: Some(format!("{OTHER_MANAGEMENT_URL}/api")),
        ..one_off()
    };
    let connection = ReliableConnection::start(OTHER_WS_URL, connect_options(), options).expect("started");
    // Durable: RabbitMQ 4 deprecates transient non-exclusive queues; it expires by itself.
    let mut args = QueueOptions::durable();
    args.arguments.push(("x-expires".to_owned(), "120000".to_owned()));
    within("the declare on the other broker", connection.queue_declare(&queue, &args)).await.expect("declared");
    queue
}

#[wasm_bindgen_test]
async fn the_management_api_typed_in_the_connection_form_lists_that_broker_s_queues() {
    let queue = queue_on_the_other_broker().await;
    let (page, mut widget) = mount(&[
        ("url", OTHER_WS_URL.into()),
        ("login", LOGIN.into()),
        ("connect", false.into()),
        ("panels", panels(&["connection", "queues"])),
    ]);
    drawn(&page, "input[name='login']").await;
    let field = find(&page, "input[name='management']");
    let placeholder = field.get_attribute("placeholder").unwrap_or_default();
    assert!(placeholder.contains("15675"), "the derived address as placeholder, got {placeholder:?}");
    fill(&page, "input[name='management']", OTHER_MANAGEMENT_URL);
    fill(&page, "input[name='passcode']", PASSCODE);
    click(&page, "button[type='submit']");
    until_text(&page, "[data-testid='queue-list']", "the other broker's queue in the list", |t| t.contains(&queue)).await;
    widget.unmount();
}

#[wasm_bindgen_test]
async fn the_widget_s_management_url_option_lists_that_broker_s_queues() {
    let queue = queue_on_the_other_broker().await;
    let (page, mut widget) = mount(&[
        ("url", OTHER_WS_URL.into()),
        ("managementUrl", OTHER_MANAGEMENT_URL.into()),
        ("login", LOGIN.into()),
        ("passcode", PASSCODE.into()),
        ("panels", panels(&["connection", "queues"])),
    ]);
    drawn(&page, "input[name='login']").await;
    assert_eq!(value(&page, "input[name='management']"), OTHER_MANAGEMENT_URL, "the form shows the option");
    until_text(&page, "[data-testid='queue-list']", "the other broker's queue in the list", |t| t.contains(&queue)).await;
    widget.unmount();
}

#[wasm_bindgen_test]
async fn an_unreachable_management_api_says_where_to_set_its_address() {
    let (page, mut widget) = mount(&[
        ("url", OTHER_WS_URL.into()),
        ("login", LOGIN.into()),
        ("passcode", PASSCODE.into()),
        ("panels", panels(&["connection", "queues"])),
    ]);
    let words = until_text(&page, "[data-testid='queues-problem']", "the list's problem", |t| !t.is_empty()).await;
    assert!(words.contains("Management API"), "the words name the field to change: {words}");
    widget.unmount();
}

fn storage() -> web_sys::Storage {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten()).expect("localStorage")
}

#[wasm_bindgen_test]
async fn a_host_page_s_login_and_passcode_are_used_together_and_leave_the_remembered_pair_alone() {
    let storage = storage();
    storage.set_item("burrow.login", "someone-else").expect("stored");
    storage.set_item("burrow.passcode", "their-secret").expect("stored");
    let (page, mut widget) = mount(&[
        ("url", BROKER_URL.into()),
        ("login", LOGIN.into()),
        ("passcode", PASSCODE.into()),
        ("connect", false.into()),
        ("panels", panels(&["connection"])),
    ]);
    drawn(&page, "input[name='login']").await;
    let shown = (value(&page, "input[name='login']"), value(&page, "input[name='passcode']"));
    let remember = find(&page, "input[name='remember']").dyn_into::<HtmlInputElement>().expect("a checkbox").checked();
    click(&page, "button[type='submit']");
    let status = until_text(&page, "[data-testid='connection-status']", "connected", |t| {
        t.contains("Connected to") || t.contains("Closed")
    })
    .await;
    let kept = (storage.get_item("burrow.login").ok().flatten(), storage.get_item("burrow.passcode").ok().flatten());
    widget.unmount();
    let _ = storage.remove_item("burrow.login");
    let _ = storage.remove_item("burrow.passcode");
    assert_eq!(shown, (LOGIN.to_owned(), PASSCODE.to_owned()), "the host page's pair, not a mixed one");
    assert!(!remember, "Remember is not ticked for the host page's credentials");
    assert!(status.contains("Connected to"), "{status}");
    assert_eq!(kept, (Some("someone-else".to_owned()), Some("their-secret".to_owned())), "the remembered pair is untouched");
}

#[wasm_bindgen_test]
async fn without_a_host_page_login_both_come_from_what_is_remembered() {
    let storage = storage();
    storage.set_item("burrow.login", LOGIN).expect("stored");
    storage.set_item("burrow.passcode", PASSCODE).expect("stored");
    let (page, mut widget) = mount(&[("url", BROKER_URL.into()), ("panels", panels(&["connection"]))]);
    drawn(&page, "input[name='login']").await;
    let shown = (value(&page, "input[name='login']"), value(&page, "input[name='passcode']"));
    widget.unmount();
    let _ = storage.remove_item("burrow.login");
    let _ = storage.remove_item("burrow.passcode");
    assert_eq!(shown, (LOGIN.to_owned(), PASSCODE.to_owned()));
}

#[wasm_bindgen_test]
async fn a_web_stomp_url_with_a_fragment_is_refused_in_words_not_retried() {
    let url = format!("{BROKER_URL}#frag");
    let (page, mut widget) = mount(&[
        ("url", url.as_str().into()),
        ("login", LOGIN.into()),
        ("passcode", PASSCODE.into()),
        ("panels", panels(&["connection"])),
    ]);
    let status = until_text(&page, "[data-testid='connection-status']", "an end", |t| {
        t.contains("Closed") || t.contains("Reconnecting")
    })
    .await;
    widget.unmount();
    assert!(status.starts_with("Closed"), "refused at once, not retried: {status}");
    assert!(status.contains("fragment"), "the words say what is wrong: {status}");
}

/// Every WebSocket the page opens from now on, in `window.__sockets` (the wasm's
/// glue looks `WebSocket` up on each `new`).
fn record_websockets() {
    let install = js_sys::Function::new_no_args(
        "if (!window.__sockets) { const Original = window.WebSocket; window.__sockets = []; \
         window.WebSocket = class extends Original { constructor(...a) { super(...a); window.__sockets.push(this); } }; }",
    );
    install.call0(&JsValue::NULL).expect("installed");
}

/// The `readyState`s of the sockets recorded since `from`.
fn socket_states(from: u32) -> Vec<u16> {
    let sockets = js_sys::Reflect::get(&web_sys::window().expect("a window"), &"__sockets".into()).expect("recorded");
    js_sys::Array::from(&sockets)
        .iter()
        .skip(from as usize)
        .filter_map(|s| s.dyn_into::<web_sys::WebSocket>().ok())
        .map(|s| s.ready_state())
        .collect()
}

#[wasm_bindgen_test]
async fn a_second_mount_into_the_same_element_unmounts_the_first_and_closes_its_connection() {
    record_websockets();
    let before = socket_states(0).len() as u32;
    let (page, mut first) = mount(&[
        ("url", BROKER_URL.into()),
        ("login", LOGIN.into()),
        ("passcode", PASSCODE.into()),
        ("panels", panels(&["connection"])),
    ]);
    until_text(&page, "[data-testid='connection-status']", "the first widget connected", |t| t.contains("Connected to")).await;
    assert_eq!(socket_states(before), [web_sys::WebSocket::OPEN], "one open WebSocket for the first widget");
    let object = js_sys::Object::new();
    js_sys::Reflect::set(&object, &"connect".into(), &false.into()).expect("set");
    js_sys::Reflect::set(&object, &"panels".into(), &panels(&["connection"])).expect("set");
    let mut second = burrow::ui::widget::mount(page.clone(), object.into());
    within("the first widget's WebSocket closed by the second mount", async {
        while socket_states(before).first() != Some(&web_sys::WebSocket::CLOSED) {
            TimeoutFuture::new(20).await;
        }
    })
    .await;
    drawn(&page, "input[name='login']").await;
    assert_eq!(page.query_selector_all("section[aria-label='Connection']").map(|l| l.length()).unwrap_or(0), 1);
    first.unmount(); // already unmounted: harmless, and leaves the second alone
    assert!(page.query_selector("section[aria-label='Connection']").ok().flatten().is_some(), "the second widget stays");
    second.unmount();
}

/// QA: a widget with `panels: ["guide"]` never finished a lesson: the lessons'
/// consumers are cards in the consumers panel, which was not there, so "Consumer
/// 1: starting" stayed and the publish was routed nowhere. The guide brings the
/// consumers panel with it.
#[wasm_bindgen_test]
async fn the_guide_alone_brings_the_consumers_panel_its_lessons_run_in() {
    let (page, mut widget) = mount(&[("connect", JsValue::FALSE), ("panels", panels(&["guide"]))]);
    drawn(&page, "section[aria-label='Guided tutorial']").await;
    assert!(page.query_selector("section[aria-label='Consumers']").ok().flatten().is_some(), "the consumers panel is there");
    assert!(page.query_selector("section[aria-label='Queue']").ok().flatten().is_none(), "nothing else was added");
    widget.unmount();
}
