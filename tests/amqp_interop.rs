//! Interop with a native AMQP 0-9-1 client (lapin), in two halves around the
//! browser test `browser_interop`: first AMQP publishes for the browser, then AMQP
//! reads what the browser published. They need the broker and that order, so they
//! are `#[ignore]`d here and run by `./burrow test` explicitly:
//! `cargo test --test amqp_interop -- --ignored --exact amqp_publishes_for_the_browser`.
#![cfg(not(target_arch = "wasm32"))]


use futures_lite::future::block_on;
use lapin::options::{BasicGetOptions, BasicPublishOptions, QueueDeclareOptions, QueuePurgeOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};

/// What the AMQP side publishes and the browser checks (and back).
pub const FROM_AMQP: &str = "burrow.interop.from-amqp";
const FROM_BROWSER: &str = "burrow.interop.from-browser";
const BODIES: [&str; 3] = ["第一 from pika's world", "second\0with NUL", "third"];

fn amqp_url() -> String {
    let user = std::env::var("BURROW_RABBIT_USER").unwrap_or_else(|_| "burrow".into());
    let password = std::env::var("BURROW_RABBIT_PASSWORD").unwrap_or_else(|_| "burrow".into());
    format!("amqp://{user}:{password}@127.0.0.1:5672/%2f")
}

async fn channel() -> (Connection, Channel) {
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("AMQP connection to the broker ./burrow setup started");
    let channel = connection.create_channel().await.expect("channel");
    (connection, channel)
}

async fn declare_durable(channel: &Channel, queue: &str) {
    let options = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
    channel.queue_declare(queue, options, FieldTable::default()).await.expect("declare");
}

#[test]
#[ignore = "needs the broker; run by ./burrow test before the browser interop test"]
fn amqp_publishes_for_the_browser() {
    block_on(async {
        let (connection, channel) = channel().await;
        declare_durable(&channel, FROM_AMQP).await;
        channel.queue_purge(FROM_AMQP, QueuePurgeOptions::default()).await.expect("purge");
        channel.confirm_select(Default::default()).await.expect("confirms");
        for (n, body) in BODIES.iter().enumerate() {
            let mut headers = FieldTable::default();
            headers.insert("trace".into(), AMQPValue::LongString(format!("amqp-{n}").into()));
            if n == 1 {
                // Not UTF-8, as AMQP clients write binary (.NET's byte[]): RabbitMQ's
                // STOMP copies it as it is.
                headers.insert("bin".into(), AMQPValue::LongString(vec![0xff, 0xfe, b'o', b'k'].into()));
            }
            let properties = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type(ShortString::from("text/plain"))
                .with_correlation_id(ShortString::from(format!("corr-{n}")))
                .with_reply_to(ShortString::from("replies"))
                .with_priority(n as u8)
                .with_headers(headers);
            let confirm = channel
                .basic_publish("", FROM_AMQP, BasicPublishOptions::default(), body.as_bytes(), properties)
                .await
                .expect("publish")
                .await
                .expect("confirm");
            assert!(confirm.is_ack(), "the broker confirmed message {n}");
        }
        // Persistent messages in a durable queue, also from the browser side next.
        declare_durable(&channel, FROM_BROWSER).await;
        channel.queue_purge(FROM_BROWSER, QueuePurgeOptions::default()).await.expect("purge");
        connection.close(200, "done").await.expect("close");
    });
}

#[test]
#[ignore = "needs the broker; run by ./burrow test after the browser interop test"]
fn amqp_reads_what_the_browser_published() {
    block_on(async {
        let (connection, channel) = channel().await;
        for (n, body) in BODIES.iter().enumerate() {
            let message = channel
                .basic_get(FROM_BROWSER, BasicGetOptions { no_ack: true })
                .await
                .expect("basic_get")
                .unwrap_or_else(|| panic!("message {n} from the browser is missing"));
            let delivery = &message.delivery;
            assert_eq!(delivery.data, body.as_bytes(), "body {n} byte for byte");
            let properties = &delivery.properties;
            assert_eq!(*properties.delivery_mode(), Some(2), "persistent");
            assert_eq!(properties.content_type().as_ref().map(|c| c.as_str()), Some("text/plain"));
            let correlation = format!("browser-{n}");
            assert_eq!(properties.correlation_id().as_ref().map(|c| c.as_str()), Some(correlation.as_str()));
            assert_eq!(*properties.priority(), Some(n as u8));
            let trace = properties
                .headers()
                .as_ref()
                .and_then(|h| h.inner().get("trace").cloned())
                .unwrap_or_else(|| panic!("message {n} lost its trace header"));
            let expected = format!("browser-{n}");
            match trace {
                AMQPValue::LongString(value) => assert_eq!(value.to_string(), expected),
                other => panic!("trace header came as {other:?}"),
            }
        }
        let extra = channel.basic_get(FROM_BROWSER, BasicGetOptions { no_ack: true }).await.expect("basic_get");
        assert!(extra.is_none(), "nothing but the browser's three messages");
        connection.close(200, "done").await.expect("close");
    });
}
