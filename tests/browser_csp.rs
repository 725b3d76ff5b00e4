//! A page whose Content-Security-Policy forbids `blob:` workers: the heart-beat
//! worker cannot start, and the connection says so (a Warning) instead of
//! silently depending on the page's timers. Its own test binary: the policy
//! stays on the page for the rest of its tests.
#![cfg(target_arch = "wasm32")]

mod common;
mod widget_dom;
use widget_dom::{click, fill, mount, until_text};

use burrow::reliable::{ConnectionEvent, ReliableConnection, Warning};
use common::{connect_options, one_off, BROKER_URL};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Puts a Content-Security-Policy on the page, as a `<meta>` in its head.
fn forbid_workers() {
    let document = web_sys::window().and_then(|w| w.document()).expect("a document");
    let meta = document.create_element("meta").expect("a meta element");
    meta.set_attribute("http-equiv", "Content-Security-Policy").expect("http-equiv");
    meta.set_attribute("content", "worker-src 'none'").expect("content");
    document.head().expect("a head").append_child(&meta).expect("appended");
}

#[wasm_bindgen_test]
async fn a_heart_beat_worker_that_cannot_start_is_reported() {
    forbid_workers();
    let mut connection = ReliableConnection::start(BROKER_URL, connect_options(), one_off()).expect("a ws:// URL");
    let event = common::until_event(&mut connection, "a warning that the worker did not start", |e| {
        matches!(e, ConnectionEvent::Warning(Warning::TickerUnavailable(_)))
    })
    .await;
    let ConnectionEvent::Warning(warning) = event else { unreachable!("picked a warning") };
    let words = warning.to_string();
    assert!(words.contains("worker"), "{words}");
    // The connection itself still works on the page's timers.
    assert!(common::within("CONNECTED", connection.wait_connected()).await);
    connection.stop();
}

/// Regression (QA W4): the widget showed nothing when its heart-beat worker was
/// refused (the UI dropped every connection Warning): the status read
/// "Connected … heart-beat: we send 10000 ms" as if all were well.
#[wasm_bindgen_test]
async fn the_widget_shows_that_its_heart_beat_worker_did_not_start() {
    forbid_workers();
    let login = [("url", BROKER_URL), ("login", common::LOGIN), ("passcode", common::PASSCODE)];
    let (element, mut widget) = mount(&login, &["connection"]);
    let warnings = || {
        element.query_selector("[data-testid='connection-warnings']").ok().flatten().and_then(|e| e.text_content()).unwrap_or_default()
    };
    common::eventually("the warning shown", common::EVENT_TIMEOUT_MS, || warnings().contains("heart-beat worker could not start")).await;
    // Read, it can be dismissed (a late RPC reply's warning stayed for good).
    click(&element, "[data-testid='connection-warnings'] button");
    common::eventually("the warnings dismissed", common::EVENT_TIMEOUT_MS, || {
        element.query_selector("[data-testid='connection-warnings']").ok().flatten().is_none()
    })
    .await;
    widget.unmount();
    element.remove();
}

/// Regression (QA): a consumer card runs its own connection, whose warnings the
/// card dropped: its heart-beats depended on the page's timers without a word.
#[wasm_bindgen_test]
async fn a_consumer_card_shows_its_own_connections_warning() {
    forbid_workers();
    let queue = common::fresh_name("csp-card");
    let options = [("url", BROKER_URL), ("login", common::LOGIN), ("passcode", common::PASSCODE), ("queue", queue.as_str())];
    let (element, mut widget) = mount(&options, &["connection", "consumers"]);
    let declarer = ReliableConnection::start(BROKER_URL, connect_options(), one_off()).expect("a ws:// URL");
    common::within("declared", declarer.queue_declare(&queue, &burrow::rabbit::QueueOptions::default())).await.expect("declared");
    until_text(&element, "[data-testid='connection-status']", "connected", |t| t.contains("Connected to")).await;
    fill(&element, "input[name='consume-queue']", &queue);
    click(&element, "section[aria-label='Consumers'] button[type='submit']");
    let note = "[data-testid='consumer-1'] [data-testid='consumer-note']";
    until_text(&element, note, "the card's warning", |t| t.contains("heart-beat worker could not start")).await;
    widget.unmount();
    element.remove();
    declarer.stop();
    let _ = common::management().delete_queue("/", &queue).await;
}
