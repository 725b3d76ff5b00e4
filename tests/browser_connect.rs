//! Headless Chromium against the real RabbitMQ: the whole chain from the browser's
//! WebSocket through Web-STOMP to CONNECTED, on the one driver with reconnects off
//! (a plain one-off connection). Run by `./burrow test`.
#![cfg(target_arch = "wasm32")]

mod common;

use burrow::client::{CloseReason, HeartBeat};
use burrow::reliable::{ReliableConnection, ReliableOptions, StartError, StopReason};
use common::{connect_options, one_off, Plain, BROKER_URL};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn connects_with_the_tutorial_user_and_gets_connected() {
    let mut connection = Plain::open(BROKER_URL, connect_options())
        .await
        .unwrap_or_else(|e| panic!("CONNECT to {BROKER_URL} failed: {e}"));
    let info = connection.info().expect("connected info");
    assert_eq!(info.version, "1.2");
    let server = info.server.clone().unwrap_or_default();
    assert!(server.starts_with("RabbitMQ/"), "server header was {server:?}");
    assert!(connection.is_connected());
    let asked = js_sys::Date::now();
    connection.close().await.expect("stopped as asked");
    // The disconnect timeout is 5 s: sooner means RabbitMQ answered DISCONNECT.
    let took = js_sys::Date::now() - asked;
    assert!(took < 4_000.0, "DISCONNECT took {took} ms: not answered");
    assert!(!connection.is_connected());
}

#[wasm_bindgen_test]
async fn a_wrong_password_is_refused_in_the_brokers_words() {
    let mut options = connect_options();
    options.passcode = Some("certainly-not-the-password".to_owned());
    match Plain::open(BROKER_URL, options).await {
        Err(StopReason::Refused(CloseReason::ConnectRefused(error))) => {
            let message = error.message.clone().unwrap_or_default();
            assert!(
                message.to_lowercase().contains("access refused") || message.contains("Bad CONNECT"),
                "ERROR message header was {message:?}"
            );
        }
        Err(other) => panic!("expected the broker's ERROR, got {other}"),
        Ok(_) => panic!("a wrong password must not connect"),
    }
}

/// Heart-beats run on the worker tick alone (what a background tab leaves us):
/// with the page's timer off, beats go out on time and the broker keeps us.
#[wasm_bindgen_test]
async fn heart_beats_keep_going_on_the_worker_tick_alone() {
    let mut options = connect_options();
    options.heart_beat = HeartBeat::both(std::time::Duration::from_millis(1000));
    let reliable = ReliableOptions { page_timer: false, ..one_off() };
    let mut connection = Plain::open_with(BROKER_URL, options, reliable).await.expect("connect");
    let info = connection.info().expect("info");
    assert_eq!(info.heart_beat, HeartBeat::both(std::time::Duration::from_millis(1000)));
    // Wait (bounded) until five beats went out: five seconds with no other traffic.
    let mut waited = 0;
    while connection.heartbeats().sent < 5 {
        assert!(waited < 15_000, "only {:?} heart-beats (sent, received) after {waited} ms", connection.heartbeats());
        gloo_timers::future::TimeoutFuture::new(250).await;
        waited += 250;
    }
    assert!(connection.is_connected(), "the broker kept the connection: {:?}", connection.connection.phase());
    assert!(connection.heartbeats().received >= 3, "the broker's beats arrived too: {:?}", connection.heartbeats());
    connection.close().await.expect("close");
}

/// A URL that is not one, and one where no broker listens: typed errors in words.
#[wasm_bindgen_test]
async fn a_wrong_url_and_a_missing_broker_are_explained() {
    match ReliableConnection::start("not a url", connect_options(), one_off()) {
        Err(error @ StartError::NotWebSocket(_)) => {
            assert!(error.to_string().contains("must start with ws:// or wss://"), "{error}");
        }
        Err(other) => panic!("expected a NotWebSocket error, got {other}"),
        Ok(_) => panic!("connected to nothing"),
    }
    match Plain::open("ws://127.0.0.1:9/ws", connect_options()).await {
        Err(StopReason::Closed(reason @ CloseReason::Socket(_))) => {
            let words = reason.to_string();
            assert!(words.contains("is the broker running"), "{words}");
            assert_eq!(reason.fault(), burrow::client::Fault::Network, "a closed port is the network's doing");
        }
        Err(other) => panic!("expected a transport close, got {other}"),
        Ok(_) => panic!("connected to nothing"),
    }
}
