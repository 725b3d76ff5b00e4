//! `connection.exchangeDeclare`, `exchangeDelete`, `queueBind`, `queueUnbind` and
//! `queueDelete` for JavaScript: pika's calls through RabbitMQ's management API
//! (STOMP cannot make them), refused with an error class per reason.

use js_sys::Function;
use wasm_bindgen::prelude::*;

use super::entry;
use super::errors::error;
use crate::management::{ExchangeCall, ExchangeError};

/// Which call `rawExchange` makes.
const DECLARE: u32 = 1;
const DELETE: u32 = 2;
const BIND: u32 = 3;
const UNBIND: u32 = 4;
const QUEUE_DELETE: u32 = 5;

/// One exchange or binding call on connection `id` (arguments checked by
/// `index.js`): `op` 1 `exchange_declare(a, type b, durable: flags & 1,
/// auto_delete: flags & 2)`, 2 `exchange_delete(a)`, 3 `queue_bind(queue a,
/// exchange b, key c)`, 4 `queue_unbind(a, b, c)`, 5 `queue_delete(a)`. Calls
/// `resolve` with `undefined` (declare, bind) or whether something was deleted,
/// or `reject` with the error class of [`ExchangeError`]'s reason.
#[wasm_bindgen(js_name = rawExchange)]
#[allow(clippy::too_many_arguments)]
pub fn raw_exchange(id: u32, op: u32, a: String, b: String, c: String, flags: u32, resolve: Function, reject: Function) {
    let entry = entry(id);
    crate::browser::driver::spawn(Box::pin(async move {
        let Some(entry) = entry else {
            let _ = reject.call1(&JsValue::UNDEFINED, &error("Stopped", "the connection is closed"));
            return;
        };
        let call = match op {
            DECLARE => ExchangeCall::Declare { exchange: &a, kind: &b, durable: flags & 1 != 0, auto_delete: flags & 2 != 0 },
            DELETE => ExchangeCall::Delete { exchange: &a },
            BIND => ExchangeCall::Bind { queue: &a, exchange: &b, routing_key: &c },
            UNBIND => ExchangeCall::Unbind { queue: &a, exchange: &b, routing_key: &c },
            QUEUE_DELETE => ExchangeCall::QueueDelete { queue: &a },
            _ => {
                let _ = resolve.call1(&JsValue::UNDEFINED, &JsValue::UNDEFINED);
                return;
            }
        };
        let _ = match entry.connection.exchange_call(call).await {
            // A declare or a bind resolves with nothing, a delete or an unbind with whether it did.
            Ok(_) if matches!(op, DECLARE | BIND) => resolve.call1(&JsValue::UNDEFINED, &JsValue::UNDEFINED),
            Ok(done) => resolve.call1(&JsValue::UNDEFINED, &JsValue::from(done)),
            Err(e) => reject.call1(&JsValue::UNDEFINED, &exchange_error(e)),
        };
    }));
}

/// The error class of each reason (`npm/errors.js`).
fn exchange_error(e: ExchangeError) -> JsValue {
    let name = match &e {
        ExchangeError::NoPermission { .. } => "NoPermission",
        ExchangeError::Unreachable { .. } => "ManagementUnreachable",
        ExchangeError::UnknownType { .. } => "UnknownExchangeType",
        ExchangeError::Inequivalent { .. } => "Inequivalent",
        ExchangeError::NotFound { .. } => "NotFound",
        ExchangeError::Other { .. } => "ManagementRefused",
        ExchangeError::Stopped { .. } => "Stopped",
    };
    error(name, e)
}
