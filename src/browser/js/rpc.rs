//! `connection.call` and `connection.reply` for JavaScript (RabbitMQ's tutorial
//! 6): the body comes as the bytes `index.js` made of it, the options as the
//! properties it checked, packed by position; the Promise's `resolve` / `reject` are called straight from
//! the core's outcome. A reply resolves as a `Message` with nothing to ack (the
//! broker auto-acks a temp queue's deliveries).

use std::rc::Rc;

use js_sys::{Array, Function};
use wasm_bindgen::prelude::*;

use super::consume::message_object;
use super::errors::{call_error, reply_error, stopped_because};
use super::publish::read_properties;
use super::{entry, millis, stop_reason};
use crate::rabbit::BasicProperties;
use crate::reliable::{CallError, PublishError, ReplyError};

/// `call(routingKey, body, options)`: publishes with `reply-to` and a
/// `correlation-id`; `resolve` gets the reply `Message`, `reject` a
/// `TimeoutError`, `ConnectionLostError`, `StoppedError`, `CallInvalidError` or a
/// publish's error.
#[wasm_bindgen(js_name = rawCall)]
pub fn raw_call(
    id: u32,
    routing_key: &str,
    body: Vec<u8>,
    properties: Option<Array>,
    timeout_ms: f64,
    resolve: Function,
    reject: Function,
) {
    let Some(entry) = entry(id) else {
        // Closed: nothing is sent, and the error says so (QA).
        let _ = reject.call1(&JsValue::UNDEFINED, &call_error(CallError::Publish(PublishError::StoppedUnsent)));
        return;
    };
    let (exchange, properties) = properties.as_ref().map_or_else(|| (String::new(), BasicProperties::default()), read_properties);
    // The reply's Message is made when it comes, with the entry still alive.
    let weak = Rc::downgrade(&entry);
    let reject_later = reject.clone();
    let then = Box::new(move |outcome: Result<crate::rabbit::Delivery, CallError>| {
        let _ = match (outcome, weak.upgrade()) {
            (Ok(reply), Some(entry)) => resolve.call1(&JsValue::UNDEFINED, &message_object(&entry, 0.0, &reply)),
            (Ok(_), None) => reject_later.call1(&JsValue::UNDEFINED, &call_error(CallError::Stopped)),
            (Err(e), _) => reject_later.call1(&JsValue::UNDEFINED, &stopped_because(call_error(e), stop_reason(&weak))),
        };
    });
    let timeout = millis(timeout_ms);
    if let Err(refused) = entry.connection.call_then(&exchange, routing_key, body, &properties, timeout, then) {
        let _ = reject.call1(&JsValue::UNDEFINED, &call_error(refused));
    }
}

/// `reply(message, body, options)`: publishes to the request's `replyTo` with its
/// `correlationId`; settles on RabbitMQ's confirm. `reply_to` absent: rejected
/// with `NoReplyToError`, nothing sent.
#[wasm_bindgen(js_name = rawReply)]
pub fn raw_reply(
    id: u32,
    reply_to: Option<String>,
    correlation_id: Option<String>,
    body: Vec<u8>,
    properties: Option<Array>,
    resolve: Function,
    reject: Function,
) {
    let Some(entry) = entry(id) else {
        let _ = reject.call1(&JsValue::UNDEFINED, &reply_error(ReplyError::Publish(PublishError::StoppedUnsent)));
        return;
    };
    let (_, properties) = properties.as_ref().map_or_else(|| (String::new(), BasicProperties::default()), read_properties);
    let weak = Rc::downgrade(&entry);
    let then = Box::new(move |outcome| {
        let _ = match outcome {
            Ok(()) => resolve.call0(&JsValue::UNDEFINED),
            Err(e) => reject.call1(&JsValue::UNDEFINED, &stopped_because(reply_error(e), stop_reason(&weak))),
        };
    });
    entry.connection.reply_then(reply_to.as_deref(), correlation_id.as_deref(), body, &properties, then);
}

/// How many replies connection `id` dropped because they matched no call in flight.
#[wasm_bindgen(js_name = rawUnmatchedReplies)]
pub fn raw_unmatched_replies(id: u32) -> f64 {
    entry(id).map_or(0.0, |entry| entry.connection.unmatched_replies() as f64)
}
