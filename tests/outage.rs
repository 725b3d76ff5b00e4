//! A broker that stops answering: the session notices after twice the negotiated
//! heart-beat interval and says so. Needs `tests/support/broker_restarter.py`
//! (it freezes and thaws the broker); `./burrow test` runs it beside it.
#![cfg(target_arch = "wasm32")]

mod common;

use std::time::Duration;

use burrow::client::{CloseReason, HeartBeat};
use common::{connect_options, within, Plain, BROKER_URL};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn helper(path: &str) {
    common::ask_broker_helper(path).await.unwrap_or_else(|e| panic!("{e}"));
}

#[wasm_bindgen_test]
async fn a_silent_broker_is_declared_lost_after_twice_the_heart_beat() {
    let mut options = connect_options();
    options.heart_beat = HeartBeat::both(Duration::from_millis(1000));
    let mut connection = within("CONNECTED", Plain::open(BROKER_URL, options)).await.expect("connect");
    helper("/pause").await;
    let reason = common::next_close(&mut connection, "the heart-beat timeout").await;
    helper("/resume").await;
    match reason {
        ref reason @ CloseReason::HeartBeatTimeout { silent_for, interval } => {
            assert_eq!(interval, Duration::from_millis(1000));
            assert!(silent_for >= Duration::from_millis(2000), "declared after {silent_for:?}");
            assert!(reason.to_string().contains("went silent"), "{reason}");
            assert!(!connection.is_connected());
        }
        other => panic!("expected a heart-beat timeout, got {other}"),
    }
}
