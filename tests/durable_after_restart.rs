//! Tutorial 2, durability, second half, after `./burrow test` restarted the broker
//! (see `durable_before_restart`): exactly the persistent messages survived in the
//! durable queue, and the transient queue is gone.
#![cfg(target_arch = "wasm32")]

mod common;

use burrow::rabbit::{BasicProperties, RefusalKind};
use common::{connect, next_delivery, within, Refused};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const DURABLE: &str = "burrow.test.durable";
const TRANSIENT: &str = "burrow.test.transient";

#[wasm_bindgen_test]
async fn after_restart_exactly_the_persistent_messages_survived() {
    let mut consumer = connect().await;
    within("consume", consumer.basic_consume(DURABLE, false, None)).await.expect("the durable queue survived");
    // Published after the restart, so it queues behind whatever survived.
    let producer = connect().await;
    within("publish marker", producer.basic_publish("", DURABLE, "marker".into(), &BasicProperties::default(), true))
        .await
        .expect("marker");
    let mut survivors = Vec::new();
    loop {
        let delivery = next_delivery(&mut consumer).await;
        consumer.basic_ack(delivery.delivery_tag.as_deref().expect("tag")).expect("ack");
        if delivery.body == b"marker" {
            break;
        }
        assert!(delivery.properties.persistent, "{} survived without being persistent", delivery.body_text());
        survivors.push(delivery.body_text());
    }
    assert_eq!(survivors, ["persistent 1", "persistent 2", "persistent 3"]);
}

#[wasm_bindgen_test]
async fn after_restart_the_transient_queue_is_gone() {
    let mut checker = connect().await;
    let error = within("consume", checker.basic_consume(TRANSIENT, true, None))
        .await
        .expect_err("a non-durable queue does not survive a restart");
    assert_eq!(error.refusal().map(|r| r.kind), Some(RefusalKind::NotFound), "{error}");
}
