//! A page whose Content-Security-Policy forbids `blob:` workers: the heart-beat
//! worker cannot start, and the connection says so (a Warning) instead of
//! silently depending on the page's timers. Its own test binary: the policy
//! stays on the page for the rest of its tests.
#![cfg(target_arch = "wasm32")]

mod common;

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
