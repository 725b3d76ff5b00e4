//! Consumers for JavaScript: `consume` and `messages` in `npm/index.js`. Each
//! consumer runs on a task of its own until cancelled, refused, or its
//! connection stops; the task, not a JavaScript object, owns it. Delivered
//! messages are built by `makeMessage` in `npm/message.js` with the body copied
//! out once; wasm keeps only the acker, under a number, until ack or nack.

use crate::sans_io::map::RingMap;

use futures_channel::oneshot;
use std::future::poll_fn;

use futures_util::{FutureExt, StreamExt};
use js_sys::{Function, Object, Uint8Array};
use wasm_bindgen::prelude::*;
use crate::browser::driver::spawn;

use super::errors::{ack_error, consume_error, error, stopped_because};
use super::{entry, set, Entry};
use crate::rabbit::{ConsumeFrom, StreamFilter, StreamOffset};
use crate::reliable::{AckError, AckHandle, ConsumeError, ConsumeOptions, ConsumerKey, Delivery, Phase, StopReason};

#[wasm_bindgen(raw_module = "./message.js")]
extern "C" {
    /// `makeMessage(...)` in `npm/message.js`: a `Message`.
    #[wasm_bindgen(js_name = makeMessage)]
    #[allow(clippy::too_many_arguments)]
    fn make_message(
        owner: &JsValue,
        token: f64,
        body: Uint8Array,
        routing_key: &str,
        exchange: &str,
        flags: u32,
        headers: JsValue,
        content_type: Option<&str>,
        content_encoding: Option<&str>,
        correlation_id: Option<&str>,
        reply_to: Option<&str>,
        expiration: Option<&str>,
        message_id: Option<&str>,
        kind: Option<&str>,
        user_id: Option<&str>,
        app_id: Option<&str>,
        priority: Option<f64>,
        timestamp: Option<f64>,
        delivery_count: Option<f64>,
        stream_offset: Option<f64>,
        stream_filter_value: Option<&str>,
    ) -> JsValue;
}

/// The ackers of messages handed to JavaScript, by number, so a message's body is
/// not held in wasm memory until the JavaScript garbage collector gets to it.
#[derive(Default)]
pub(super) struct AckTable {
    next: u64,
    handles: RingMap<u64, AckHandle>,
}

impl AckTable {
    fn insert(&mut self, handle: AckHandle) -> f64 {
        self.next += 1;
        self.handles.insert(self.next, handle);
        self.next as f64
    }

    /// `how`: 0 ack, 1 nack with requeue, 2 nack without.
    fn settle(&mut self, token: f64, how: u32) -> JsValue {
        let Some(handle) = self.handles.remove(&(token as u64)) else {
            return ack_error(AckError::AlreadySettled);
        };
        let result = match how {
            0 => handle.ack(),
            1 => handle.nack(true),
            _ => handle.nack(false),
        };
        match result {
            Ok(()) => JsValue::UNDEFINED,
            // A nack refused before sending (a stream message) can still be acked.
            Err(refused @ AckError::StreamNack) => {
                self.handles.insert(token as u64, handle);
                ack_error(refused)
            }
            Err(other) => ack_error(other),
        }
    }
}

/// `message.ack()` / `message.nack()`: settles message `token` of connection `id`.
/// Returns the error to throw, or `undefined`. A connection that is gone makes it
/// `Stale`: RabbitMQ redelivers the message.
#[wasm_bindgen(js_name = rawSettle)]
pub fn raw_settle(id: u32, token: f64, how: u32) -> JsValue {
    match entry(id) {
        Some(entry) => entry.acks.borrow_mut().settle(token, how),
        None => error("Stale", "the connection this message came on is closed; RabbitMQ redelivers the message"),
    }
}

/// A stream offset from its kind (0 none, 1 first, 2 last, 3 next, 4 an offset,
/// 5 a timestamp in seconds) and value, as `index.js` encodes it.
fn stream_offset(kind: u32, value: f64) -> Option<StreamOffset> {
    match kind {
        1 => Some(StreamOffset::First),
        2 => Some(StreamOffset::Last),
        3 => Some(StreamOffset::Next),
        4 => Some(StreamOffset::Offset(value as u64)),
        5 => Some(StreamOffset::Timestamp(value as u64)),
        _ => None,
    }
}

/// Starts a consumer on connection `id` (checked by `index.js`): from the queue
/// `queue` when `exchange` is absent, else from `exchange` with the binding key
/// `routing_key`, transient, or durable into the queue `queue`
/// (`connection.consume({ exchange, routingKey, queue, durable: true }, …)`).
/// `auto_ack` for ack "auto" or "broker", `broker_acks` for "broker" alone:
/// `on_message` gets each `Message`, `on_end` is called once when it ends, with
/// the error if RabbitMQ refused it. Returns its number.
#[wasm_bindgen(js_name = rawConsume)]
#[allow(clippy::too_many_arguments)]
pub fn raw_consume(
    id: u32,
    exchange: Option<String>,
    routing_key: Option<String>,
    queue: Option<String>,
    auto_ack: bool,
    broker_acks: bool,
    prefetch: u32,
    offset_kind: u32,
    offset: f64,
    filter: Option<String>,
    match_unfiltered: bool,
    priority: Option<i32>,
    on_message: Function,
    on_end: Function,
) -> Result<u32, JsValue> {
    let routing_key = routing_key.unwrap_or_default();
    let source = match (exchange, queue) {
        (None, queue) => ConsumeFrom::queue(queue.unwrap_or_default()),
        (Some(exchange), Some(queue)) => ConsumeFrom::durable(exchange, routing_key, queue),
        (Some(exchange), None) => ConsumeFrom::exchange(exchange, routing_key),
    };
    let options =
        consume_options(auto_ack, broker_acks, prefetch, offset_kind, offset, filter, match_unfiltered, priority);
    consume_from(id, source, options, on_message, on_end)
}

/// The consume options as `index.js` checked and encoded them: `broker_acks` is
/// ack "broker" (RabbitMQ's own auto-ack; the core makes it auto-ack too),
/// `filter` the stream filter's values joined with commas (none may hold one),
/// `priority` -128 to 127.
#[allow(clippy::too_many_arguments)]
fn consume_options(
    auto_ack: bool,
    broker_acks: bool,
    prefetch: u32,
    offset_kind: u32,
    offset: f64,
    filter: Option<String>,
    match_unfiltered: bool,
    priority: Option<i32>,
) -> ConsumeOptions {
    let stream_filter = filter.map(|values| StreamFilter {
        values: values.split(',').map(str::to_owned).collect(),
        match_unfiltered,
    });
    ConsumeOptions {
        auto_ack,
        broker_acks,
        prefetch: prefetch.min(u32::from(u16::MAX)) as u16,
        stream_offset: stream_offset(offset_kind, offset),
        stream_filter,
        priority: priority.map(|p| p.clamp(i32::from(i8::MIN), i32::from(i8::MAX)) as i8),
    }
}

fn consume_from(
    id: u32,
    source: ConsumeFrom,
    options: ConsumeOptions,
    on_message: Function,
    on_end: Function,
) -> Result<u32, JsValue> {
    let Some(entry) = entry(id) else {
        return Err(consume_error(ConsumeError::Stopped));
    };
    // RabbitMQ counted these done as it sent them: handed out even while closing.
    let broker_acks = options.broker_acks;
    let mut consumer = entry.connection.basic_consume(source, options).map_err(consume_error)?;
    let key = consumer.key().0 as u32;
    let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
    entry.consumers.borrow_mut().insert(key, cancel_tx);
    let weak = std::rc::Rc::downgrade(&entry);
    drop(entry);
    spawn(Box::pin(async move {
        let mut cancel = Some(cancel_rx);
        let mut failure = None;
        // By hand, not `select!`: its random branch order costs the wasm a seeded RNG.
        while let Some(item) = poll_fn(|cx| {
            // Cancelled, or its connection is gone (the switch dropped with it).
            if cancel.as_mut().is_some_and(|switch| switch.poll_unpin(cx).is_ready()) {
                cancel = None;
                consumer.cancel();
            }
            consumer.poll_next_unpin(cx)
        })
        .await
        {
            match item {
                Ok(delivery) => {
                    let Some(entry) = weak.upgrade() else { continue };
                    // After close(): its ack could not reach RabbitMQ (StaleError),
                    // which gives the message again; the reader never sees it.
                    if !broker_acks && matches!(entry.connection.phase(), Phase::Stopping | Phase::Stopped) {
                        continue;
                    }
                    let message = js_message(&entry, &delivery);
                    // The body is in the message now; wasm keeps only the acker.
                    drop((delivery, entry));
                    if let Err(thrown) = on_message.call1(&JsValue::NULL, &message) {
                        web_sys::console::error_2(&"burrow-rabbitmq: onMessage threw".into(), &thrown);
                    }
                }
                // The failure is also a status event; the stream ends next.
                Err(e) => failure = Some(e),
            }
        }
        if let Some(entry) = weak.upgrade() {
            entry.consumers.borrow_mut().remove(&key);
        }
        // Ended by a stop that was not `close()` (a login refused for good, a close
        // with reconnects off): a `for await` loop throws why, as a publish does.
        let stopped_by_itself = super::stop_reason(&weak).filter(|reason| *reason != StopReason::Requested);
        let end = match (failure, stopped_by_itself) {
            (None | Some(ConsumeError::Stopped), None) => JsValue::UNDEFINED,
            (None | Some(ConsumeError::Stopped), reason) => stopped_because(consume_error(ConsumeError::Stopped), reason),
            (Some(other), _) => consume_error(other),
        };
        if let Err(thrown) = on_end.call1(&JsValue::NULL, &end) {
            web_sys::console::error_2(&"burrow-rabbitmq: a consumer's end handler threw".into(), &thrown);
        }
    }));
    Ok(key)
}

/// `subscription.queue`: the queue consumer `consumer` of connection `id` reads
/// now, by name (a transient exchange subscription's queue is named by Burrow
/// and new after each reconnect); `undefined` before it subscribed. (A
/// `JsValue`, not an `Option<String>`: its glue is the smaller.)
#[wasm_bindgen(js_name = rawConsumerQueue)]
pub fn raw_consumer_queue(id: u32, consumer: u32) -> JsValue {
    let queue = entry(id).and_then(|entry| entry.connection.consumer_queue(ConsumerKey(u64::from(consumer))));
    queue.map_or(JsValue::UNDEFINED, JsValue::from)
}

/// `subscription.filteredOut`: how many messages consumer `consumer`'s stream
/// filter kept back on the client (0 once its connection is gone).
#[wasm_bindgen(js_name = rawFilteredOut)]
pub fn raw_filtered_out(id: u32, consumer: u32) -> f64 {
    entry(id).map_or(0.0, |entry| entry.connection.filtered_out(ConsumerKey(u64::from(consumer))) as f64)
}

/// `subscription.cancel()`: no more messages after those already on their way.
#[wasm_bindgen(js_name = rawCancel)]
pub fn raw_cancel(id: u32, consumer: u32) {
    let switch = entry(id).and_then(|entry| entry.consumers.borrow_mut().remove(&consumer));
    if let Some(switch) = switch {
        let _ = switch.send(());
    }
}

/// The JavaScript `Message` for `delivery`: its body copied out once, its acker
/// left in the table under a number (0 for auto-ack: nothing to settle).
fn js_message(entry: &Entry, delivery: &Delivery) -> JsValue {
    let handle = delivery.ack_handle();
    let token = if handle.needs_ack() { entry.acks.borrow_mut().insert(handle) } else { 0.0 };
    message_object(entry, token, delivery)
}

/// The JavaScript `Message` for a delivery whose acker (if any) is under `token`
/// (0: nothing to settle, as for an RPC reply).
pub(super) fn message_object(entry: &Entry, token: f64, delivery: &crate::rabbit::Delivery) -> JsValue {
    let properties = &delivery.properties;
    let flags = u32::from(delivery.redelivered)
        | u32::from(delivery.possibly_duplicate()) << 1
        | u32::from(properties.persistent) << 2;
    // The name, as AMQP clients see it, so `publish(message.replyTo, …)` answers.
    let reply_to = properties.reply_to_as_sent();
    let headers = if properties.headers.is_empty() {
        JsValue::UNDEFINED
    } else {
        let object = Object::new();
        for (name, value) in &properties.headers {
            set(&object, name, value.as_str());
        }
        object.into()
    };
    make_message(
        &entry.owner,
        token,
        Uint8Array::from(delivery.body.as_slice()),
        &delivery.routing_key,
        &delivery.exchange,
        flags,
        headers,
        properties.content_type.as_deref(),
        properties.content_encoding.as_deref(),
        properties.correlation_id.as_deref(),
        reply_to,
        properties.expiration.as_deref(),
        properties.message_id.as_deref(),
        properties.kind.as_deref(),
        properties.user_id.as_deref(),
        properties.app_id.as_deref(),
        properties.priority.map(f64::from),
        properties.timestamp.map(|t| t as f64),
        delivery.delivery_count.map(|n| n as f64),
        delivery.stream_offset.map(|n| n as f64),
        properties.stream_filter_value.as_deref(),
    )
}
