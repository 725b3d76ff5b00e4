//! What the panels' buttons (and the guided flows) do: async calls on the
//! connection whose outcomes go back into the workbench reducer.

use std::rc::Rc;

use futures_util::StreamExt;
use wasm_bindgen_futures::spawn_local;

use crate::client::{CloseReason, ConnectOptions, Event};
use crate::rabbit::{BasicProperties, QueueOptions};
use crate::transport::{Connection, TransportError};

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

/// Opens the main connection and follows it until it closes.
pub fn connect(workbench: Workbench, url: String, options: ConnectOptions) {
    workbench.dispatch(Action::Connecting(url.clone()));
    spawn_local(async move {
        match Connection::open(&url, options.clone()).await {
            Ok(mut connection) => {
                let info = connection.info().unwrap_or_default();
                let mut events = connection.take_events();
                let connection = Rc::new(connection);
                workbench.dispatch(Action::Connected { url, options, info, connection });
                while let Some(event) = events.next().await {
                    if let Event::Closed(reason) = event {
                        workbench.dispatch(Action::Closed(explain_close(&reason)));
                    }
                }
            }
            Err(error) => workbench.dispatch(Action::Closed(explain(&error))),
        }
    });
}

/// Disconnects the main connection.
pub fn disconnect(workbench: &Workbench) {
    if let Some(connection) = workbench.connection.clone() {
        spawn_local(async move {
            let _ = connection.disconnect().await;
        });
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

/// Publishes `count` messages to `routing_key` on the default exchange, each
/// waiting for its confirm; bodies get ` #n` appended when more than one.
pub fn publish(workbench: Workbench, routing_key: String, body: String, persistent: bool, count: u32) {
    let Some(connection) = workbench.connection.clone() else { return };
    let first = workbench.published + 1;
    spawn_local(async move {
        let properties = BasicProperties {
            persistent,
            content_type: Some("text/plain; charset=utf-8".to_owned()),
            ..BasicProperties::default()
        };
        // All are sent at once; confirms settle as they come.
        let mut pending = Vec::new();
        for index in 0..u64::from(count) {
            let number = first + index;
            let text = if count > 1 { format!("{body} #{}", index + 1) } else { body.clone() };
            workbench.dispatch(Action::PublishSent(PublishRecord {
                number,
                routing_key: routing_key.clone(),
                body: text.clone(),
                persistent,
                outcome: PublishOutcome::Pending,
            }));
            let connection = connection.clone();
            let properties = properties.clone();
            let routing_key = routing_key.clone();
            let workbench = workbench.clone();
            pending.push(async move {
                let outcome = match connection
                    .basic_publish("", &routing_key, text.into_bytes(), &properties, true)
                    .await
                {
                    Ok(()) => PublishOutcome::Confirmed,
                    Err(error) => PublishOutcome::Failed(explain(&error)),
                };
                workbench.dispatch(Action::PublishSettled(number, outcome));
            });
        }
        futures_util::future::join_all(pending).await;
    });
}
