//! `connection.queueDeclare` for JavaScript.

use js_sys::{Array, Function};
use wasm_bindgen::prelude::*;
use crate::browser::driver::spawn;

use super::entry;
use super::errors::{declare_error, stopped_because};
use crate::rabbit::QueueOptions;
use crate::reliable::DeclareError;

/// pika's `queue_declare` on connection `id` (flags checked by `index.js`;
/// `arguments` a flat `[name, value, ...]` of strings). Calls `resolve` once
/// RabbitMQ accepted it, or `reject` with `DeclareRefusedError` in RabbitMQ's
/// words, `DeclareInvalidError` for what it would refuse (nothing sent), or
/// `StoppedError`. (The Promise is made in JavaScript: js_sys's
/// `future_to_promise` would cost the wasm 4 KB.)
#[wasm_bindgen(js_name = rawDeclare)]
#[allow(clippy::too_many_arguments)]
pub fn raw_declare(
    id: u32,
    queue: String,
    durable: bool,
    exclusive: bool,
    auto_delete: bool,
    arguments: Array,
    resolve: Function,
    reject: Function,
) {
    let arguments = super::pairs(&arguments);
    let declare = QueueOptions { durable, exclusive, auto_delete, arguments, queue_type: None };
    let entry = entry(id);
    // Handed to the connection now, so that a publish or consume made right after
    // it (not awaited, as amqplib's tutorial does) goes out after it.
    let declared = entry.as_ref().map(|entry| entry.connection.queue_declare(&queue, &declare));
    spawn(Box::pin(async move {
        let outcome = match declared {
            Some(declared) => declared.await,
            None => Err(DeclareError::Stopped),
        };
        // Still held here, so the reason is there even once the table let it go.
        let reason = entry.as_ref().and_then(|entry| entry.connection.stop_reason());
        let _ = match outcome {
            Ok(()) => resolve.call0(&JsValue::UNDEFINED),
            Err(e) => reject.call1(&JsValue::UNDEFINED, &stopped_because(declare_error(e), reason)),
        };
    }));
}
