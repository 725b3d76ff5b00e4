//! `connection.publish` for JavaScript: the body comes as the string or the bytes
//! `index.js` made of it, the options as the properties it checked, packed by
//! position (see `read_properties`), and the Promise's `resolve` / `reject` are
//! called straight from the confirm (no task, no channel per message while the
//! outbox has room).

use std::rc::{Rc, Weak};

use js_sys::{Array, Function};
use wasm_bindgen::prelude::*;

use super::errors::{publish_error, stopped_because};
use super::{entry, stop_reason, Entry};
use crate::rabbit::BasicProperties;
use crate::reliable::PublishError;

/// `publish(routingKey, aString, options)`: the string's UTF-8 bytes.
#[wasm_bindgen(js_name = rawPublishText)]
pub fn raw_publish_text(
    id: u32,
    routing_key: &str,
    body: String,
    properties: Option<Array>,
    resolve: Function,
    reject: Function,
) {
    publish(id, routing_key, body.into_bytes(), properties, Outcome { resolve, reject });
}

/// `publish(routingKey, bytes, options)`: an ArrayBuffer's or ArrayBufferView's bytes.
#[wasm_bindgen(js_name = rawPublishBytes)]
pub fn raw_publish_bytes(
    id: u32,
    routing_key: &str,
    body: Vec<u8>,
    properties: Option<Array>,
    resolve: Function,
    reject: Function,
) {
    publish(id, routing_key, body, properties, Outcome { resolve, reject });
}

/// A publish Promise's two ends.
struct Outcome {
    resolve: Function,
    reject: Function,
}

impl Outcome {
    /// Calls one end; a failure says why `entry` stopped, if it did.
    fn settle(self, outcome: Result<(), PublishError>, entry: &Weak<Entry>) {
        let _ = match outcome {
            Ok(()) => self.resolve.call0(&JsValue::UNDEFINED),
            Err(e) => self.reject.call1(&JsValue::UNDEFINED, &stopped_because(publish_error(e), stop_reason(entry))),
        };
    }
}

fn publish(id: u32, routing_key: &str, body: Vec<u8>, properties: Option<Array>, outcome: Outcome) {
    let Some(entry) = entry(id) else {
        // Closed already: nothing goes out.
        return outcome.settle(Err(PublishError::StoppedUnsent), &Weak::new());
    };
    let (exchange, properties) = match properties {
        Some(given) => read_properties(&given),
        None => (String::new(), BasicProperties::default()),
    };
    let weak = Rc::downgrade(&entry);
    let then = Box::new(move |result| outcome.settle(result, &weak));
    entry.connection.publish_then(&exchange, routing_key, body, &properties, then);
}

/// The publish options `index.js` checked, packed in the order of its
/// `PUBLISH_OPTIONS` (absent ones `undefined`; `headers` a flat `[name, value, ...]`
/// of strings). By position, not by name: reading an object's keys one by one
/// cost the wasm 2 KB.
pub(super) fn read_properties(given: &Array) -> (String, BasicProperties) {
    let text = |at| given.get(at).as_string();
    let number = |at| given.get(at).as_f64();
    let properties = BasicProperties {
        persistent: given.get(1).as_bool().unwrap_or(false),
        content_type: text(2),
        content_encoding: text(3),
        correlation_id: text(4),
        reply_to: text(5),
        expiration: text(6),
        message_id: text(7),
        timestamp: number(8).map(|t| t.max(0.0) as u64),
        kind: text(9),
        user_id: text(10),
        app_id: text(11),
        priority: number(12).map(|p| p.clamp(0.0, 255.0) as u8),
        headers: super::pairs(&given.get(13)),
        stream_filter_value: text(14),
    };
    (text(0).unwrap_or_default(), properties)
}
