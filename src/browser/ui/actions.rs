//! What the connection and queue buttons (and the tutorial's) do: calls on the
//! main connection whose outcomes go back into the workbench reducer.

use std::rc::{Rc, Weak};

use futures_util::StreamExt;
use wasm_bindgen_futures::spawn_local;

use crate::client::{CloseReason, ConnectOptions};
use crate::rabbit::{QueueOptions, QueueType};
use crate::reliable::{parse_urls, ConnectionEvent, ReliableConnection, ReliableOptions};

use super::live::LiveHandles;
use super::state::{Action, ConnectionSettings, DeclareResult, Workbench};

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
/// per line or comma-separated); each failure moves to the next. `management_url`:
/// where RabbitMQ's management API is, when not where the URL implies.
pub fn connect(workbench: Workbench, live: LiveHandles, urls: String, management_url: Option<String>, options: ConnectOptions) {
    let urls = parse_urls(&urls);
    let generation = live.begin_main();
    workbench.dispatch(Action::Connecting { generation, urls: urls.clone() });
    // The driver reads the same API to explain refusals and declare exchanges.
    let reliable = ReliableOptions { management_url: management_url.clone(), ..ReliableOptions::default() };
    let mut reliable = match ReliableConnection::start_with_urls(urls, options.clone(), reliable) {
        Ok(reliable) => reliable,
        Err(error) => {
            workbench.dispatch(Action::Closed { generation, reason: error.to_string() });
            return;
        }
    };
    let events = reliable.take_events();
    let reliable = Rc::new(reliable);
    // The follower holds it weakly: when the workbench lets go (Disconnect, unmount),
    // the connection is dropped and stops, whatever this task is waiting for.
    let weak = Rc::downgrade(&reliable);
    live.set_main(reliable);
    let settings = ConnectionSettings { url: String::new(), options, management_url };
    spawn_local(follow(workbench, live, weak, events, settings, generation));
}

async fn follow(
    workbench: Workbench,
    live: LiveHandles,
    reliable: Weak<ReliableConnection>,
    mut events: futures_channel::mpsc::UnboundedReceiver<ConnectionEvent>,
    settings: ConnectionSettings,
    generation: u64,
) {
    while let Some(event) = events.next().await {
        match event {
            ConnectionEvent::Connecting { url, .. } => workbench.dispatch(Action::Opening { generation, url }),
            ConnectionEvent::Connected { url, info, .. } => {
                let settings = ConnectionSettings { url, ..settings.clone() };
                workbench.dispatch(Action::Connected { generation, settings, info });
            }
            ConnectionEvent::Reconnecting { reason, attempt, retry_at, next_url, .. } => {
                // The core's clock is the page's performance.now(), in the same milliseconds.
                let retry_at = retry_at.as_secs_f64() * 1000.0;
                let reason = explain_close(&reason);
                workbench.dispatch(Action::Reconnecting { generation, reason, attempt, retry_at, next_url });
            }
            ConnectionEvent::PublishesHeldBack { since, .. } => {
                let since = Some(since.as_secs_f64() * 1000.0);
                workbench.dispatch(Action::HeldBack { generation, since });
            }
            ConnectionEvent::PublishesFlowing { .. } => workbench.dispatch(Action::HeldBack { generation, since: None }),
            // Said under the status line (QA: a refused heart-beat worker left no trace).
            ConnectionEvent::Warning(warning) => workbench.dispatch(Action::Warning { generation, words: warning.to_string() }),
            ConnectionEvent::Stopped(reason) => {
                live.release_main(&reliable);
                workbench.dispatch(Action::Closed { generation, reason: reason.to_string() });
                return;
            }
            _ => {}
        }
        // After every event: OutboxChanged (a call's request came in, was
        // confirmed or left) is said for this alone.
        if let Some(reliable) = reliable.upgrade() {
            workbench.dispatch(Action::Outbox { generation, outbox: reliable.outbox() });
        }
    }
    // The connection went (a newer Connect replaced it) before it said Stopped.
    workbench.dispatch(Action::Closed { generation, reason: "stopped".to_owned() });
}

/// Disconnects the main connection; no more reconnects. The consumers' own
/// connections go on (the connection panel says so, and offers to stop them).
pub fn disconnect(workbench: &Workbench, live: &LiveHandles) {
    workbench.dispatch(Action::DisconnectClicked);
    live.stop_main();
}

/// What a successful declare of `options` made, in words. An exclusive queue
/// is said first whatever else it is: RabbitMQ deletes it with the connection
/// that declared it (the workbench's main one), even a durable one, and no other
/// connection may use it, not even a consumer card's (QA: it read "transient");
/// an auto-delete one says so too.
fn declared_kind(options: &QueueOptions) -> &'static str {
    match options.queue_type {
        Some(QueueType::Quorum) => "a quorum queue, replicated",
        Some(QueueType::Stream) => "a stream",
        _ if options.exclusive => {
            "exclusive: only the workbench's own connection may use it, not a consumer card's, and RabbitMQ deletes it when \
             that connection closes"
        }
        // Auto-delete said too: such a queue goes when its last consumer does.
        _ if options.auto_delete && options.durable => "durable, auto-delete: RabbitMQ deletes it when its last consumer goes",
        _ if options.auto_delete => "transient, auto-delete: RabbitMQ deletes it when its last consumer goes",
        _ if options.durable => "durable",
        _ => "transient",
    }
}

/// `queue` was deleted through the management API: the page drops it, and the
/// main connection forgets it (it declares what it declared again at a reconnect,
/// where the queue would come back).
pub fn queue_deleted(workbench: &Workbench, live: &LiveHandles, queue: &str) {
    if let Some(main) = live.main() {
        main.forget_queue(queue);
    }
    workbench.dispatch(Action::QueueDeleted(queue.to_owned()));
}

/// Declares `queue`; the outcome, in words, lands next to the form (and in the
/// lesson's progress when a lesson declared it).
pub fn declare(workbench: Workbench, live: LiveHandles, queue: String, options: QueueOptions, lesson: Option<usize>) {
    let reliable = live.main().filter(|_| workbench.main.connected);
    let Some(reliable) = reliable else {
        let result = DeclareResult::Refused { queue, words: "Connect first.".to_owned() };
        workbench.dispatch(Action::Declared { result, queue_type: None, lesson });
        return;
    };
    spawn_local(async move {
        let declared = reliable.queue_declare(&queue, &options).await;
        // Selected once the broker has answered, not before: the figures read it at
        // once, and RabbitMQ 3.10-3.12's management API answers 500 to a read of a
        // stream in the moments while its declare is still starting it.
        workbench.dispatch(Action::SelectQueue(queue.clone()));
        // Selected already, it would not be read again by the selection.
        workbench.dispatch(Action::ReadFiguresAgain);
        let (result, queue_type) = match declared {
            Ok(()) => {
                let words = format!("Queue “{queue}” declared ({}).", declared_kind(&options));
                (DeclareResult::Declared { queue, words }, Some(options.queue_type.unwrap_or(QueueType::Classic)))
            }
            Err(error) => (DeclareResult::Refused { queue, words: error.to_string() }, None),
        };
        live.forget_routes();
        workbench.dispatch(Action::Declared { result, queue_type, lesson });
    });
}
