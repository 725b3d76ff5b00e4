//! The library as a crate user sees it: the tutorial's four flows exactly as the
//! plain-wasm example page runs them (`examples/plain_page/flows.rs`, included
//! here), in headless Chromium against the real broker. Run by `./burrow test`.
#![cfg(target_arch = "wasm32")]

mod common;
#[path = "../examples/plain_page/flows.rs"]
mod flows;

use burrow::rabbit::RefusalKind;
use burrow::reliable::DeclareError;
use common::{connect_options, fresh_name, within, BROKER_URL};
use flows::Broker;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn broker() -> Broker {
    Broker { url: BROKER_URL.to_owned(), options: connect_options() }
}

#[wasm_bindgen_test]
async fn the_example_says_hello_world() {
    let body = within("hello world", flows::hello_world(&broker(), &fresh_name("hello"))).await;
    assert_eq!(body.expect("the flow runs"), "大郎 起来喝药了");
}

#[wasm_bindgen_test]
async fn the_examples_work_queue_shares_the_tasks_fairly() {
    let got = within("work queues", flows::work_queues(&broker(), &fresh_name("task_queue"))).await;
    let [first, second] = got.expect("the flow runs");
    assert_eq!((first.len(), second.len()), (2, 2), "each worker gets two of four: {first:?} {second:?}");
    let mut all: Vec<String> = first.into_iter().chain(second).collect();
    all.sort();
    assert_eq!(all, ["task 0", "task 1", "task 2", "task 3"], "every task once");
}

#[wasm_bindgen_test]
async fn the_examples_crashed_worker_loses_nothing() {
    let seen = within("acknowledgements", flows::acknowledgements(&broker(), &fresh_name("ack_queue"))).await;
    let seen = seen.expect("the flow runs");
    assert_eq!(seen.bodies, ["a long task", "a long task"]);
    assert_eq!(seen.redelivered, [false, true], "only the second copy is marked redelivered");
}

#[wasm_bindgen_test]
async fn the_examples_durable_queue_refuses_a_non_durable_redeclare() {
    let refused = within("durability", flows::durability(&broker(), &fresh_name("task_queue_durable"))).await;
    match refused.expect("the flow runs") {
        DeclareError::Refused(refusal) => {
            assert_eq!(refusal.kind, RefusalKind::PreconditionFailed, "{refusal}");
            assert!(refusal.detail.contains("durable"), "in RabbitMQ's words: {}", refusal.detail);
        }
        other => panic!("expected the broker's refusal, got {other}"),
    }
}
