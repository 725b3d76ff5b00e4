//! What the panels' buttons (and the guided flows) do: calls on the main
//! connection whose outcomes go back into the workbench reducer.

use std::rc::{Rc, Weak};

use futures_util::StreamExt;
use wasm_bindgen_futures::spawn_local;

use crate::client::{CloseReason, ConnectOptions};
use crate::rabbit::{BasicProperties, QueueOptions, QueueType};
use crate::reliable::{parse_urls, ConnectionEvent, ReliableConnection, ReliableOptions};

use super::state::{Action, PublishOutcome, PublishRecord, Workbench};

/// Plain words for why a connection ended.
pub fn explain_close(reason: &CloseReason) -> String {
    match reason.server_error() {
        Some(error) => crate::rabbit::Refusal::from_server_error(error).to_string(),
        None => reason.to_string(),
    }
}

/// The page's clock in milliseconds, the one reconnect countdowns are shown on.
pub fn page_now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or_else(js_sys::Date::now)
}

/// Opens the main connection, which reconnects by itself, and follows it. `urls`
/// is what the user typed: one Web-STOMP URL, or several (a cluster's nodes, one
/// per line or comma-separated); each failure moves to the next.
pub fn connect(workbench: Workbench, urls: String, options: ConnectOptions) {
    let urls = parse_urls(&urls);
    let first = urls.first().cloned().unwrap_or_default();
    let mut reliable = match ReliableConnection::start_with_urls(urls.clone(), options.clone(), ReliableOptions::default()) {
        Ok(reliable) => reliable,
        Err(error) => {
            workbench.dispatch(Action::Closed(error.to_string()));
            return;
        }
    };
    workbench.dispatch(Action::UseUrls(urls));
    let url = first;
    let events = reliable.take_events();
    let reliable = Rc::new(reliable);
    // The follower holds it weakly: when the workbench lets go (Disconnect, unmount),
    // the connection is dropped and stops, whatever this task is waiting for.
    let weak = Rc::downgrade(&reliable);
    workbench.dispatch(Action::Connecting(url, reliable));
    spawn_local(follow(workbench, weak, events, options));
}

async fn follow(
    workbench: Workbench,
    reliable: Weak<ReliableConnection>,
    mut events: futures_channel::mpsc::UnboundedReceiver<ConnectionEvent>,
    options: ConnectOptions,
) {
    while let Some(event) = events.next().await {
        match event {
            ConnectionEvent::Connecting { url } => workbench.dispatch(Action::Opening(url)),
            ConnectionEvent::Connected { url, info } => {
                workbench.dispatch(Action::Connected { url, options: options.clone(), info });
            }
            ConnectionEvent::Reconnecting { reason, attempt, delay, next_url } => {
                let retry_at = page_now_ms() + delay.as_secs_f64() * 1000.0;
                let reason = explain_close(&reason);
                workbench.dispatch(Action::Reconnecting { reason, attempt, retry_at, next_url });
            }
            ConnectionEvent::Stopped(reason) => {
                workbench.dispatch(Action::Closed(reason.to_string()));
                break;
            }
            ConnectionEvent::ConsumerReady(_) | ConnectionEvent::ConsumerFailed { .. } | ConnectionEvent::Warning(_) => {}
        }
        if let Some(reliable) = reliable.upgrade() {
            workbench.dispatch(Action::Outbox(reliable.outbox()));
        }
    }
}

/// Disconnects the main connection; no more reconnects.
pub fn disconnect(workbench: &Workbench) {
    if let Some(reliable) = workbench.reliable.clone() {
        reliable.stop();
    }
}

/// Declares `queue`; the outcome, in words, lands next to the form.
pub fn declare(workbench: Workbench, queue: String, options: QueueOptions) {
    let Some(reliable) = workbench.reliable.clone().filter(|_| workbench.connected) else {
        workbench.dispatch(Action::Declared(false, "Connect first.".to_owned()));
        return;
    };
    workbench.dispatch(Action::SetQueue(queue.clone()));
    spawn_local(async move {
        let outcome = match reliable.queue_declare(&queue, &options).await {
            Ok(()) => {
                let kind = match options.queue_type {
                    Some(QueueType::Quorum) => "a quorum queue, replicated",
                    Some(QueueType::Stream) => "a stream",
                    _ if options.durable => "durable",
                    _ => "transient",
                };
                (true, format!("Queue “{queue}” declared ({kind})."))
            }
            Err(error) => (false, error.to_string()),
        };
        workbench.dispatch(Action::Declared(outcome.0, outcome.1));
    });
}

/// Publishes `count` messages to `routing_key` on the default exchange through the
/// outbox: each is confirmed, or kept and sent again after a reconnect. When the
/// outbox is full the next one waits for room. Bodies get ` #n` appended when more than one.
pub fn publish(workbench: Workbench, routing_key: String, body: String, persistent: bool, count: u32) {
    let Some(reliable) = workbench.reliable.clone() else { return };
    let properties = BasicProperties {
        persistent,
        content_type: Some("text/plain; charset=utf-8".to_owned()),
        ..BasicProperties::default()
    };
    // Held weakly between messages, so Disconnect or unmount ends the loop.
    let reliable = Rc::downgrade(&reliable);
    spawn_local(async move {
        for index in 0..count {
            let Some(reliable) = reliable.upgrade() else { break };
            let text = if count > 1 { format!("{body} #{}", index + 1) } else { body.clone() };
            let number = workbench.next_publish_number();
            let published = reliable.basic_publish("", &routing_key, text.clone().into_bytes(), &properties).await;
            let stopped = matches!(published, Err(crate::reliable::PublishError::Stopped));
            let outcome = match &published {
                Ok(_) => PublishOutcome::Pending,
                // Refused before sending (a bad name, too large): shown, never queued.
                Err(error) => PublishOutcome::Failed(error.to_string()),
            };
            workbench.dispatch(Action::PublishSent(PublishRecord {
                number,
                routing_key: routing_key.clone(),
                body: text,
                persistent,
                outcome,
            }));
            workbench.dispatch(Action::Outbox(reliable.outbox()));
            if let Ok(confirm) = published {
                let (workbench, reliable) = (workbench.clone(), Rc::downgrade(&reliable));
                spawn_local(async move {
                    let outcome = match confirm.await {
                        Ok(()) => PublishOutcome::Confirmed,
                        Err(error) => PublishOutcome::Failed(error.to_string()),
                    };
                    workbench.dispatch(Action::PublishSettled(number, outcome));
                    if let Some(reliable) = reliable.upgrade() {
                        workbench.dispatch(Action::Outbox(reliable.outbox()));
                    }
                });
            }
            if stopped {
                break;
            }
        }
    });
}
