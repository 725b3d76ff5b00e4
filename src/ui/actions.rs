//! What the panels' buttons (and the guided flows) do: async calls on the
//! connection whose outcomes go back into the workbench reducer.

use std::rc::Rc;

use futures_util::StreamExt;
use wasm_bindgen_futures::spawn_local;

use crate::client::{CloseReason, ConnectOptions};
use crate::rabbit::{BasicProperties, QueueOptions};
use crate::reliable::{ReliableConnection, ReliableEvent, ReliableOptions};
use crate::transport::TransportError;

use super::state::{Action, PublishOutcome, PublishRecord, Workbench};

/// Plain words for a failed call.
pub fn explain(error: &TransportError) -> String {
    match error.refusal() {
        Some(refusal) => refusal.to_string(),
        None => match error {
            TransportError::Closed(reason) => explain_close(reason),
            other => other.to_string(),
        },
    }
}

/// Plain words for why a connection ended.
pub fn explain_close(reason: &CloseReason) -> String {
    match reason {
        CloseReason::ServerError(error) => {
            crate::rabbit::Refusal::from_server_error(error).to_string()
        }
        other => other.to_string(),
    }
}

/// The page's clock in milliseconds, the one reconnect countdowns are shown on.
pub fn page_now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or_else(js_sys::Date::now)
}

/// Opens the main connection, which reconnects by itself, and follows it.
pub fn connect(workbench: Workbench, url: String, options: ConnectOptions) {
    let mut reliable = ReliableConnection::start(&url, options.clone(), ReliableOptions::default());
    let events = reliable.take_events();
    let reliable = Rc::new(reliable);
    workbench.dispatch(Action::Connecting(url.clone(), reliable.clone()));
    spawn_local(async move {
        let mut events = events;
        while let Some(event) = events.next().await {
            match event {
                ReliableEvent::Connected { info, .. } => {
                    if let Some(connection) = reliable.current() {
                        let options = options.clone();
                        workbench.dispatch(Action::Connected { url: url.clone(), options, info, connection });
                    }
                }
                ReliableEvent::Reconnecting { reason, attempt, delay } => {
                    let retry_at = page_now_ms() + delay.as_secs_f64() * 1000.0;
                    workbench.dispatch(Action::Reconnecting { reason, attempt, retry_at });
                }
                ReliableEvent::Confirmed(id) => {
                    workbench.dispatch(Action::PublishSettled(id.0, PublishOutcome::Confirmed));
                }
                ReliableEvent::Stopped(reason) => {
                    workbench.dispatch(Action::Closed(reason));
                    break;
                }
                _ => {}
            }
            let (count, bytes) = reliable.outbox_len();
            workbench.dispatch(Action::Outbox(count, bytes));
        }
    });
}

/// Disconnects the main connection; no more reconnects.
pub fn disconnect(workbench: &Workbench) {
    if let Some(reliable) = workbench.reliable.clone() {
        reliable.stop();
    }
}

/// Declares `queue`; the outcome, in words, lands next to the form.
pub fn declare(workbench: Workbench, queue: String, options: QueueOptions) {
    let Some(connection) = workbench.connection.clone() else {
        workbench.dispatch(Action::Declared(false, "Connect first.".to_owned()));
        return;
    };
    workbench.dispatch(Action::SetQueue(queue.clone()));
    spawn_local(async move {
        let outcome = match connection.queue_declare(&queue, &options).await {
            Ok(()) => {
                let kind = if options.durable { "durable" } else { "transient" };
                (true, format!("Queue “{queue}” declared ({kind})."))
            }
            Err(error) => (false, explain(&error)),
        };
        workbench.dispatch(Action::Declared(outcome.0, outcome.1));
    });
}

/// Publishes `count` messages to `routing_key` on the default exchange through the
/// outbox: each is confirmed, or kept and sent again after a reconnect. Bodies get
/// ` #n` appended when more than one.
pub fn publish(workbench: Workbench, routing_key: String, body: String, persistent: bool, count: u32) {
    let Some(reliable) = workbench.reliable.clone() else { return };
    let properties = BasicProperties {
        persistent,
        content_type: Some("text/plain; charset=utf-8".to_owned()),
        ..BasicProperties::default()
    };
    for index in 0..count {
        let text = if count > 1 { format!("{body} #{}", index + 1) } else { body.clone() };
        let (number, outcome) = match reliable.publish("", &routing_key, text.clone().into_bytes(), &properties) {
            Ok(id) => (id.0, PublishOutcome::Pending),
            // Refused before sending (too large, outbox full): shown, never queued.
            Err(error) => (0, PublishOutcome::Failed(error.to_string())),
        };
        let failed = matches!(outcome, PublishOutcome::Failed(_));
        workbench.dispatch(Action::PublishSent(PublishRecord {
            number,
            routing_key: routing_key.clone(),
            body: text,
            persistent,
            outcome: outcome.clone(),
        }));
        if failed {
            workbench.dispatch(Action::PublishSettled(number, outcome));
        }
    }
    let (waiting, bytes) = reliable.outbox_len();
    workbench.dispatch(Action::Outbox(waiting, bytes));
}
