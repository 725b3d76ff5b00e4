//! `connection.queueDeclare` for JavaScript.

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::entry;
use super::errors::declare_error;
use crate::rabbit::QueueOptions;
use crate::reliable::DeclareError;

/// pika's `queue_declare` on connection `id` (flags checked by `index.js`;
/// `arguments` a flat `[name, value, ...]` of strings). Resolves once RabbitMQ
/// accepted it; rejects with `DeclareRefusedError` in RabbitMQ's words,
/// `DeclareInvalidError` for what it would refuse (nothing sent), or `StoppedError`.
#[wasm_bindgen(js_name = rawDeclare)]
pub fn raw_declare(id: u32, queue: String, durable: bool, exclusive: bool, auto_delete: bool, arguments: Array) -> Promise {
    let flat: Vec<String> = arguments.iter().filter_map(|v| v.as_string()).collect();
    let arguments = flat
        .chunks_exact(2)
        .filter_map(|pair| match pair {
            [name, value] => Some((name.clone(), value.clone())),
            _ => None,
        })
        .collect();
    let declare = QueueOptions { durable, exclusive, auto_delete, arguments, queue_type: None };
    let entry = entry(id);
    future_to_promise(async move {
        let Some(entry) = entry else { return Err(declare_error(DeclareError::Stopped)) };
        entry.connection.queue_declare(&queue, &declare).await.map(|()| JsValue::UNDEFINED).map_err(declare_error)
    })
}
