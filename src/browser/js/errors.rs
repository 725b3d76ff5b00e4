//! Every failure the JavaScript API reports becomes an instance of one of the
//! classes in `npm/errors.js` (all under `BurrowError`), made there by
//! `makeError`, so `instanceof` works as well as `error.name`.

use std::fmt::Display;

use wasm_bindgen::prelude::*;

use crate::reliable::{AckError, CallError, ConsumeError, DeclareError, PublishError, ReplyError, StartError, StopReason};

#[wasm_bindgen(raw_module = "./errors.js")]
extern "C" {
    /// `makeError(name, message)` in `npm/errors.js`: the class of that name.
    #[wasm_bindgen(js_name = makeError)]
    fn make_error(name: &str, message: &str) -> JsValue;
}

/// The error class called `name` ("Stopped" is `StoppedError`), saying `message`.
pub(crate) fn error(name: &str, message: impl Display) -> JsValue {
    make_error(name, &message.to_string())
}

/// `error` as it goes to JavaScript: a `StoppedError` whose connection stopped
/// for a `reason` gets it as `error.reason` (the `stopped` event's words), and,
/// unless the stop was `close()`, in its message too, so that a rejected publish
/// says why (a login refused for good, a close with reconnects off).
pub(crate) fn stopped_because(error: JsValue, reason: Option<StopReason>) -> JsValue {
    let Some(reason) = reason else { return error };
    if super::get(&error, "name").as_string().as_deref() != Some("Stopped") {
        return error;
    }
    let words = reason.to_string();
    if reason != StopReason::Requested {
        let message = super::get(&error, "message").as_string().unwrap_or_default();
        let _ = js_sys::Reflect::set(&error, &"message".into(), &format!("{message} (it stopped: {words})").into());
    }
    let _ = js_sys::Reflect::set(&error, &"reason".into(), &words.into());
    error
}

pub(crate) fn start_error(e: StartError) -> JsValue {
    // index.js checks URLs first; this only says the same if one gets through.
    error("TypeError", format_args!("connect: {e}"))
}

pub(crate) fn publish_error(e: PublishError) -> JsValue {
    let name = match &e {
        PublishError::Invalid(_) => "PublishInvalid",
        PublishError::Full(_) => "OutboxFull",
        PublishError::Refused(_) => "PublishRefused",
        PublishError::Stopped | PublishError::StoppedUnsent => "Stopped",
    };
    error(name, e)
}

pub(crate) fn declare_error(e: DeclareError) -> JsValue {
    let name = match &e {
        DeclareError::Invalid(_) => "DeclareInvalid",
        DeclareError::Stopped => "Stopped",
        DeclareError::Refused(_) => "DeclareRefused",
        // Cut short, not refused: RabbitMQ may never have seen it.
        DeclareError::Closed(_) | DeclareError::NotConnected => "ConnectionLost",
    };
    error(name, e)
}

pub(crate) fn consume_error(e: ConsumeError) -> JsValue {
    let name = match &e {
        ConsumeError::Invalid(_) => "ConsumeInvalid",
        // Both end the consumer for good: one class, as errors.js says.
        ConsumeError::Refused(_) | ConsumeError::CancelledByBroker(_) => "ConsumeRefused",
        ConsumeError::Stopped => "Stopped",
    };
    error(name, e)
}

pub(crate) fn ack_error(e: AckError) -> JsValue {
    let name = match &e {
        // Its connection is gone either way: RabbitMQ redelivers the message.
        AckError::Stale { .. } | AckError::Stopped => "Stale",
        AckError::AlreadySettled => "AlreadySettled",
        AckError::StreamNack => "StreamNack",
        // Acked after its consumer's cancel: RabbitMQ would ignore it; the
        // message went back to the queue with the cancel.
        AckError::Cancelled => "Cancelled",
        AckError::Client(_) => "AckFailed",
    };
    error(name, e)
}

pub(crate) fn call_error(e: CallError) -> JsValue {
    let name = match e {
        CallError::Publish(e) => return publish_error(e),
        // The same class: code that catches timeouts keeps working.
        CallError::Timeout(_) | CallError::NoQueue { .. } | CallError::NoConsumer { .. } => "Timeout",
        CallError::ConnectionLost(_) => "ConnectionLost",
        CallError::Stopped => "Stopped",
        CallError::ReplyToGiven(_) | CallError::CorrelationInUse(_) => "CallInvalid",
    };
    error(name, e)
}

pub(crate) fn reply_error(e: ReplyError) -> JsValue {
    match e {
        ReplyError::Publish(e) => publish_error(e),
        ReplyError::NoReplyTo => error("NoReplyTo", e),
    }
}
