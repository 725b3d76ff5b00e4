//! Headless Chromium against the real RabbitMQ: the whole chain from the browser's
//! WebSocket through Web-STOMP to CONNECTED. Run by `./burrow test`.
#![cfg(target_arch = "wasm32")]

mod common;

use burrow::client::CloseReason;
use burrow::transport::{Connection, TransportError};
use common::{connect_options, BROKER_URL};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn connects_with_the_tutorial_user_and_gets_connected() {
    let connection = Connection::open(BROKER_URL, connect_options())
        .await
        .unwrap_or_else(|e| panic!("CONNECT to {BROKER_URL} failed: {e}"));
    let info = connection.info().expect("connected info");
    assert_eq!(info.version, "1.2");
    let server = info.server.clone().unwrap_or_default();
    assert!(server.starts_with("RabbitMQ/"), "server header was {server:?}");
    assert!(connection.is_connected());
    connection.disconnect().await.expect("DISCONNECT is confirmed by receipt");
    assert!(!connection.is_connected());
}

#[wasm_bindgen_test]
async fn a_wrong_password_is_refused_in_the_brokers_words() {
    let mut options = connect_options();
    options.passcode = Some("certainly-not-the-password".to_owned());
    match Connection::open(BROKER_URL, options).await {
        Err(TransportError::Closed(CloseReason::ServerError(error))) => {
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
