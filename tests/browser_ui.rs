//! The workbench's state in the browser: logs stay bounded and memory flat
//! however many messages go through.
#![cfg(target_arch = "wasm32")]

use std::rc::Rc;

use burrow::ui::{Action, PublishOutcome, PublishRecord, WorkbenchConfig, WorkbenchState};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use yew::functional::Reducible;

wasm_bindgen_test_configure!(run_in_browser);

fn wasm_memory_bytes() -> u32 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .map(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().map(|b| b.byte_length()).unwrap_or(0))
        .unwrap_or(0)
}

fn publish(state: Rc<WorkbenchState>, number: u64) -> Rc<WorkbenchState> {
    let record = PublishRecord {
        number,
        routing_key: "task_queue".into(),
        body: format!("大郎 起来喝药了 #{number}"),
        persistent: number % 2 == 0,
        outcome: PublishOutcome::Pending,
    };
    let state = state.reduce(Action::PublishSent(record));
    state.reduce(Action::PublishSettled(number, PublishOutcome::Confirmed))
}

#[wasm_bindgen_test]
fn a_million_publishes_keep_the_log_bounded_and_memory_flat() {
    let mut state = Rc::new(WorkbenchState::new(WorkbenchConfig::default()));
    for number in 1..=10_000 {
        state = publish(state, number);
    }
    let after_ten_thousand = wasm_memory_bytes();
    for number in 10_001..=1_000_000 {
        state = publish(state, number);
    }
    let after_a_million = wasm_memory_bytes();
    assert_eq!(state.published, 1_000_000);
    assert_eq!(state.confirmed, 1_000_000);
    assert_eq!(state.publishes.total(), 1_000_000);
    assert_eq!(state.publishes.len(), burrow::ui::PUBLISH_LOG_LIMIT);
    let newest = state.publishes.newest(1);
    assert_eq!(newest.first().map(|r| r.number), Some(1_000_000));
    assert_eq!(newest.first().map(|r| r.outcome.clone()), Some(PublishOutcome::Confirmed));
    assert_eq!(after_a_million, after_ten_thousand, "wasm memory grew from {after_ten_thousand} to {after_a_million} bytes");
}

#[wasm_bindgen_test]
fn an_https_page_gets_a_wss_url_on_its_own_origin() {
    assert_eq!(burrow::ui::web_stomp_url_for("https:", "rabbit.example:8443"), "wss://rabbit.example:8443/ws");
    assert_eq!(burrow::ui::web_stomp_url_for("http:", "127.0.0.1:8080"), "ws://127.0.0.1:8080/ws");
    assert_eq!(burrow::ui::web_stomp_url_for("file:", ""), "ws://127.0.0.1:15674/ws");
}
