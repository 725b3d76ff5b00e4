//! What a lesson's buttons do with the workbench, and its reset.

use std::time::Duration;

use wasm_bindgen_futures::spawn_local;

use crate::management::ExchangeError;
use crate::rabbit::{BasicProperties, QueueOptions};

use super::super::actions;
use super::super::live::LiveHandles;
use super::super::publish::{self, Numbering, PublishRequest};
use super::super::rpc;
use super::super::state::{
    management_failure, Action, ConsumerSource, Destination, NewConsumer, ResetOutcome, Workbench, MANAGEMENT_ADDRESS_HINT,
};
use super::lessons::{LessonAction, LESSONS};

/// How long a lesson's RPC call waits for its reply.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Carries out `action` of lesson `index`.
pub fn run(action: LessonAction, index: usize, workbench: &Workbench, live: &LiveHandles) {
    match action {
        LessonAction::Declare { queue, durable } => {
            let options = QueueOptions { durable, ..QueueOptions::default() };
            actions::declare(workbench.clone(), live.clone(), queue.to_owned(), options, Some(index));
        }
        LessonAction::Publish { queue, body, persistent, count } => {
            workbench.dispatch(Action::SelectQueue(queue.to_owned()));
            publish_to(workbench, live, index, Destination::queue(queue), body, persistent, count);
        }
        LessonAction::PublishTo { exchange, routing_key, body } => {
            let destination = Destination { exchange: exchange.to_owned(), routing_key: routing_key.to_owned() };
            publish_to(workbench, live, index, destination, body, false, 1);
        }
        LessonAction::AddConsumer { role, queue, auto_ack, prefetch } => {
            workbench.dispatch(Action::SelectQueue(queue.to_owned()));
            add(workbench, index, role, ConsumerSource::Queue(queue.to_owned()), auto_ack, prefetch, false);
        }
        LessonAction::Subscribe { role, exchange, routing_key } => {
            let source = ConsumerSource::Exchange {
                exchange: exchange.to_owned(),
                routing_key: routing_key.to_owned(),
                durable_queue: None,
            };
            add(workbench, index, role, source, true, 0, false);
        }
        LessonAction::Serve { role, queue } => {
            add(workbench, index, role, ConsumerSource::Queue(queue.to_owned()), true, 0, true);
        }
        LessonAction::Crash { role } => {
            if let Some(&number) = workbench.guide.lesson(index).consumers.get(role) {
                workbench.dispatch(Action::CrashConsumer(number));
            }
        }
        LessonAction::DeclareExchange { exchange, kind } => spawn_local(declare_exchange(workbench.clone(), index, exchange, kind)),
        LessonAction::Call { queue, n } => {
            let (workbench, live) = (workbench.clone(), live.clone());
            spawn_local(async move {
                let settings = workbench.main.settings.clone();
                let outcome = rpc::call(&live, settings.as_ref(), "", queue, &n.to_string(), CALL_TIMEOUT).await;
                let words = format!("Called fib({n}) on {queue}: {}", outcome.words);
                workbench.dispatch(Action::LessonCall { lesson: index, ok: outcome.ok, words });
            });
        }
    }
}

/// Publishes `count` copies of `body` for lesson `index`.
fn publish_to(workbench: &Workbench, live: &LiveHandles, index: usize, destination: Destination, body: &str, persistent: bool, count: u32) {
    let properties = BasicProperties {
        persistent,
        content_type: Some("text/plain; charset=utf-8".to_owned()),
        ..BasicProperties::default()
    };
    let request = PublishRequest {
        destination,
        body: body.to_owned(),
        properties,
        count,
        numbering: Numbering::Header,
        lesson: Some(index),
    };
    publish::publish(workbench.clone(), live.clone(), request);
}

/// Adds lesson `index`'s consumer `role`.
fn add(workbench: &Workbench, index: usize, role: &'static str, source: ConsumerSource, auto_ack: bool, prefetch: u16, fib_server: bool) {
    workbench.dispatch(Action::AddConsumer(NewConsumer {
        source,
        auto_ack,
        prefetch,
        stream_offset: None,
        stream_filter: None,
        priority: None,
        lesson: Some((index, role)),
        fib_server,
    }));
}

/// pika's `exchange_declare`, through the management API.
async fn declare_exchange(workbench: Workbench, index: usize, exchange: &'static str, kind: &'static str) {
    let api = workbench.main.settings.as_ref().and_then(|s| s.management().map(|api| (api, s.vhost().to_owned())));
    let (ok, words) = match api {
        Some((api, vhost)) => match api.exchange_declare(&vhost, exchange, kind, false, false).await {
            Ok(()) => (true, format!("Exchange “{exchange}” ({kind}) declared.")),
            Err(error @ ExchangeError::Unreachable { .. }) => {
                (false, format!("Exchange “{exchange}” not declared: {error}; {MANAGEMENT_ADDRESS_HINT}."))
            }
            Err(error) => (false, format!("Exchange “{exchange}” not declared: {error}.")),
        },
        None => (false, format!("Exchange “{exchange}” not declared: no management API (connect first).")),
    };
    workbench.dispatch(Action::LessonExchange { lesson: index, exchange: exchange.to_owned(), ok, words });
}

/// "Reset this lesson": its consumers removed, its queues and exchanges deleted
/// (through the management API), so the next run starts clean; what failed is
/// said, and the progress line is not marked done then.
pub async fn reset(index: usize, workbench: Workbench, live: LiveHandles) {
    let Some(lesson) = LESSONS.get(index) else { return };
    let (mut done, mut failed) = (Vec::new(), Vec::new());
    let consumers: Vec<u32> = workbench.guide.lesson(index).consumers.values().copied().collect();
    for number in &consumers {
        workbench.dispatch(Action::RemoveConsumer(*number));
    }
    if !consumers.is_empty() {
        let names: Vec<String> = consumers.iter().map(|n| format!("Consumer {n}")).collect();
        done.push(format!("removed {}", names.join(" and ")));
    }
    let api = workbench.main.settings.as_ref().and_then(|s| s.management().map(|api| (api, s.vhost().to_owned())));
    for queue in lesson.queues {
        match &api {
            Some((api, vhost)) => match api.delete_queue(vhost, queue).await {
                Ok(true) => done.push(format!("deleted queue {queue}")),
                Ok(false) => done.push(format!("queue {queue} was not there")),
                Err(error) => failed.push(format!("could not delete queue {queue}: {}", management_failure(&error))),
            },
            None => failed.push(format!("could not delete queue {queue}: no management API (connect first)")),
        }
        actions::queue_deleted(&workbench, &live, queue);
    }
    for exchange in lesson.exchanges {
        match &api {
            Some((api, vhost)) => match api.exchange_delete(vhost, exchange).await {
                Ok(true) => done.push(format!("deleted exchange {exchange}")),
                Ok(false) => done.push(format!("exchange {exchange} was not there")),
                Err(error) => failed.push(format!("could not delete exchange {exchange}: {error}")),
            },
            None => failed.push(format!("could not delete exchange {exchange}: no management API (connect first)")),
        }
    }
    workbench.dispatch(Action::LessonReset { lesson: index, outcome: ResetOutcome::of(&done, &failed) });
}
