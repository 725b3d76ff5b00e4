//! Tutorial 2, durability, first half: a durable queue with persistent and
//! transient messages, and a transient queue. `./burrow test` restarts the broker
//! after this and then runs `durable_after_restart`.
#![cfg(target_arch = "wasm32")]

mod common;

use burrow::rabbit::{BasicProperties, QueueOptions};
use common::{connect, within};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Fixed names: the second half, after the restart, looks for them.
/// `./burrow test` deletes both before this runs.
const DURABLE: &str = "burrow.test.durable";
const TRANSIENT: &str = "burrow.test.transient";

#[wasm_bindgen_test]
async fn before_restart_publish_persistent_and_transient_messages() {
    let mut producer = connect().await;
    within("declare durable", producer.queue_declare(DURABLE, &QueueOptions::durable()))
        .await
        .expect("declare durable");
    within("declare transient", producer.queue_declare(TRANSIENT, &QueueOptions::default()))
        .await
        .expect("declare transient");
    let messages = [("persistent 1", true), ("transient 1", false), ("persistent 2", true), ("transient 2", false), ("persistent 3", true)];
    for (body, persistent) in messages {
        let properties = BasicProperties { persistent, ..BasicProperties::default() };
        within("publish", producer.basic_publish("", DURABLE, body.into(), &properties, true))
            .await
            .expect("confirmed");
    }
    within("publish", producer.basic_publish("", TRANSIENT, "in a transient queue".into(), &BasicProperties::persistent(), true))
        .await
        .expect("confirmed");
    within("close", producer.close()).await.expect("close");
}
