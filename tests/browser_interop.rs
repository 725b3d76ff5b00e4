//! The browser half of the AMQP interop (see `tests/amqp_interop.rs`): Burrow
//! consumes what lapin published over AMQP, then publishes for lapin to read.
//! Run by `./burrow test` between the two native halves.
#![cfg(target_arch = "wasm32")]

mod common;

use burrow::rabbit::{BasicProperties, QueueOptions};
use common::{connect, next_delivery, within};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const FROM_AMQP: &str = "burrow.interop.from-amqp";
const FROM_BROWSER: &str = "burrow.interop.from-browser";
const BODIES: [&str; 3] = ["第一 from pika's world", "second\0with NUL", "third"];

#[wasm_bindgen_test]
async fn burrow_reads_amqp_messages_and_writes_messages_amqp_reads() {
    let mut consumer = connect().await;
    within("consume", consumer.basic_consume(FROM_AMQP, false, Some(10))).await.expect("consume");
    for (n, body) in BODIES.iter().enumerate() {
        let delivery = next_delivery(&mut consumer).await;
        assert_eq!(delivery.body, body.as_bytes(), "body {n} byte for byte");
        let properties = &delivery.properties;
        assert!(properties.persistent, "delivery_mode=2 arrives as persistent");
        assert_eq!(properties.content_type.as_deref(), Some("text/plain"));
        assert_eq!(properties.correlation_id.as_deref(), Some(format!("corr-{n}").as_str()));
        assert_eq!(properties.reply_to.as_deref(), Some("/reply-queue/replies"), "Web-STOMP prefixes a bare reply-to");
        assert_eq!(properties.priority, Some(n as u8));
        let mut headers = vec![("trace".to_owned(), format!("amqp-{n}"))];
        if n == 1 {
            // Regression: Burrow's decoder refused it, and the consumer lost its
            // connection at each delivery, for good.
            headers.insert(0, ("bin".to_owned(), "\u{FFFD}\u{FFFD}ok".to_owned()));
        }
        assert_eq!(properties.headers, headers, "message {n}'s headers");
        consumer.basic_ack(delivery.delivery_tag.as_deref().expect("tag")).expect("ack");
    }

    let producer = connect().await;
    within("declare", producer.queue_declare(FROM_BROWSER, &QueueOptions::durable())).await.expect("declare");
    for (n, body) in BODIES.iter().enumerate() {
        let properties = BasicProperties {
            persistent: true,
            content_type: Some("text/plain".into()),
            correlation_id: Some(format!("browser-{n}")),
            priority: Some(n as u8),
            headers: vec![("trace".into(), format!("browser-{n}"))],
            ..BasicProperties::default()
        };
        within("publish", producer.basic_publish("", FROM_BROWSER, body.as_bytes().to_vec(), &properties, true))
            .await
            .expect("publish confirmed");
    }
}
