//! The workbench's state: one reducer of plain data (a derived `PartialEq`, no
//! live connection in it), shared with every panel through a context. The live
//! handles are in their own context ([`super::LiveHandles`]).

use std::collections::BTreeMap;
use std::rc::Rc;

use yew::prelude::*;

use crate::client::ConnectionInfo;
use crate::rabbit::{QueueType, StreamFilter, StreamOffset};
use crate::reliable::OutboxStatus;

mod config;
mod connection;
mod consumers;
mod guide;
mod publishing;

pub use config::{Panels, WorkbenchConfig};
pub use connection::{
    management_failure, ConnectionSettings, ConnectionStatus, MainConnection, MANAGEMENT_ADDRESS_HINT, WARNINGS_KEPT,
};
pub use consumers::{CardPhase, ConsumerProgress, ConsumerSource, ConsumerSpec, Consumers};
pub use guide::{DeclareResult, GuideProgress, LessonProgress, ResetOutcome};
pub use publishing::{Destination, PublishCounts, PublishOutcome, PublishRecord, Publishing, PUBLISH_LOG_LIMIT};

/// Everything the workbench panels share.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkbenchState {
    /// How it started.
    pub config: WorkbenchConfig,
    /// The main connection.
    pub main: MainConnection,
    /// The queue the figures, the producer and the consumer form use.
    pub queue: String,
    /// Queue types known from the queue list, the figures and declares, by name.
    pub queue_types: BTreeMap<String, QueueType>,
    /// The last declare's outcome.
    pub declare_result: Option<DeclareResult>,
    /// The producer's records and counts.
    pub publishing: Publishing,
    /// The consumers.
    pub consumers: Consumers,
    /// The tutorial's lessons.
    pub guide: GuideProgress,
    /// How often the queue list and figures are read again (ms); `None`: only
    /// when asked.
    pub refresh_ms: Option<u32>,
    /// How many times the figures were asked to be read again ("Refresh now", a declare).
    pub figures_asked: u32,
}

/// How often the management API is read by default (ms).
pub const DEFAULT_REFRESH_MS: u32 = 2_000;

impl WorkbenchState {
    /// The starting state for `config`.
    pub fn new(config: WorkbenchConfig) -> Self {
        WorkbenchState {
            queue: config.queue.clone(),
            config,
            main: MainConnection::default(),
            queue_types: BTreeMap::new(),
            declare_result: None,
            publishing: Publishing::default(),
            consumers: Consumers::default(),
            guide: GuideProgress::default(),
            refresh_ms: Some(DEFAULT_REFRESH_MS),
            figures_asked: 0,
        }
    }

    /// The type of `queue`, when known.
    pub fn queue_type(&self, queue: &str) -> Option<QueueType> {
        self.queue_types.get(queue).copied()
    }
}

/// A consumer to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConsumer {
    /// What it consumes.
    pub source: ConsumerSource,
    /// Auto-ack.
    pub auto_ack: bool,
    /// Prefetch; 0 is unlimited.
    pub prefetch: u16,
    /// For a stream: where to read from.
    pub stream_offset: Option<StreamOffset>,
    /// For a stream: which filter values (RabbitMQ 3.13+).
    pub stream_filter: Option<StreamFilter>,
    /// Its priority (x-priority, RabbitMQ 4.0+).
    pub priority: Option<i8>,
    /// The tutorial lesson adding it, and its role there.
    pub lesson: Option<(usize, &'static str)>,
    /// It replies fib(n) to each request (the RPC lesson's server).
    pub fib_server: bool,
}

/// What can happen to the workbench.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Connect was clicked: connection `generation` starts, on these URLs.
    Connecting {
        /// Its generation.
        generation: u64,
        /// Its URLs (several for a cluster).
        urls: Vec<String>,
    },
    /// Opening a connection (again) to this URL.
    Opening {
        /// Which connection.
        generation: u64,
        /// Where to.
        url: String,
    },
    /// Got CONNECTED.
    Connected {
        /// Which connection.
        generation: u64,
        /// Where, and how.
        settings: ConnectionSettings,
        /// What CONNECTED said.
        info: ConnectionInfo,
    },
    /// Lost; retrying at the given time.
    Reconnecting {
        /// Which connection.
        generation: u64,
        /// Why, in words.
        reason: String,
        /// Which retry.
        attempt: u32,
        /// When, in `performance.now()` milliseconds.
        retry_at: f64,
        /// Where to.
        next_url: String,
    },
    /// The outbox's size changed.
    Outbox {
        /// Which connection.
        generation: u64,
        /// Its outbox.
        outbox: OutboxStatus,
    },
    /// The broker holds publishes back (since when, in `performance.now()`
    /// milliseconds), or confirms flow again (`None`).
    HeldBack {
        /// Which connection.
        generation: u64,
        /// Since when.
        since: Option<f64>,
    },
    /// The connection warned (a heart-beat worker that could not start, a late
    /// reply …), in words.
    Warning {
        /// Which connection.
        generation: u64,
        /// What it said.
        words: String,
    },
    /// The user dismissed the main connection's warnings (read; they stay in the log).
    DismissWarnings,
    /// The user clicked Disconnect.
    DisconnectClicked,
    /// The main connection stopped (Disconnect, or a refusal), for this reason.
    Closed {
        /// Which connection.
        generation: u64,
        /// Why, in words.
        reason: String,
    },
    /// Read the management API this often (ms); `None`: only when asked.
    RefreshEvery(Option<u32>),
    /// Read the selected queue's figures again at once ("Refresh now", a declare).
    ReadFiguresAgain,
    /// Select the queue the panels work on (a row of the list, a declare, a lesson).
    SelectQueue(String),
    /// Queue types read from the broker (the list, the figures).
    QueueTypes(Vec<(String, QueueType)>),
    /// A queue is gone (deleted from the list, or by a lesson's reset).
    QueueDeleted(String),
    /// A declare finished.
    Declared {
        /// Its outcome.
        result: DeclareResult,
        /// The type declared, when it succeeded.
        queue_type: Option<QueueType>,
        /// The lesson that declared it, if any.
        lesson: Option<usize>,
    },
    /// A publish was handed to the outbox (or refused).
    PublishSent(PublishRecord),
    /// A publish's confirm arrived (or failed).
    PublishSettled {
        /// Its record's number.
        number: u64,
        /// How.
        outcome: PublishOutcome,
        /// The lesson that published it, if any.
        lesson: Option<usize>,
    },
    /// Add a consumer.
    AddConsumer(NewConsumer),
    /// Read a stream again from `offset` in consumer `number` (a new consumer
    /// replaces its current one).
    ReplayConsumer {
        /// Which consumer.
        number: u32,
        /// From where.
        offset: StreamOffset,
    },
    /// Crash consumer number n.
    CrashConsumer(u32),
    /// Remove consumer number n.
    RemoveConsumer(u32),
    /// Stop every consumer's connection (their cards stay).
    StopAllConsumers,
    /// A card's report.
    ConsumerProgress {
        /// Which consumer.
        number: u32,
        /// Its report.
        progress: ConsumerProgress,
    },
    /// A lesson declared an exchange (or was refused).
    LessonExchange {
        /// Which lesson.
        lesson: usize,
        /// The exchange.
        exchange: String,
        /// Declared, or refused.
        ok: bool,
        /// What happened, in words.
        words: String,
    },
    /// A lesson's RPC call ended: its reply and time, or why not, in words.
    LessonCall {
        /// Which lesson.
        lesson: usize,
        /// Answered.
        ok: bool,
        /// What happened, in words.
        words: String,
    },
    /// A lesson was reset: its consumers removed, its queues deleted.
    LessonReset {
        /// Which lesson.
        lesson: usize,
        /// What the reset did, and whether all of it went.
        outcome: ResetOutcome,
    },
}

impl Reducible for WorkbenchState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        if let Some(main) = main_connection(&next.main, &action) {
            next.main = main;
        } else {
            reduce_panels(&mut next, action);
        }
        Rc::new(next)
    }
}

/// The main connection after `action`, or `None` when it is not about it (or
/// is news of an earlier connection, which changes nothing).
fn main_connection(main: &MainConnection, action: &Action) -> Option<MainConnection> {
    let mut next = main.clone();
    let current = |generation: &u64| *generation == main.generation;
    match action {
        Action::Connecting { generation, urls } => {
            next = MainConnection {
                status: ConnectionStatus::Connecting { url: urls.first().cloned().unwrap_or_default() },
                running: true,
                urls: urls.clone(),
                generation: *generation,
                settings: main.settings.clone(),
                ..MainConnection::default()
            };
        }
        Action::Opening { generation, url } if current(generation) => {
            if next.running && !next.connected {
                next.status = ConnectionStatus::Connecting { url: url.clone() };
            }
        }
        Action::Connected { generation, settings, info } if current(generation) => {
            next.status = ConnectionStatus::Connected { url: settings.url.clone(), info: info.clone() };
            next.connected = true;
            next.was_connected = true;
            next.settings = Some(settings.clone());
        }
        Action::Reconnecting { generation, reason, attempt, retry_at, next_url } if current(generation) => {
            next.status = ConnectionStatus::Reconnecting {
                reason: reason.clone(),
                attempt: *attempt,
                retry_at: *retry_at,
                next_url: next_url.clone(),
                was_connected: main.was_connected,
            };
            next.connected = false;
            next.held_back_since = None;
        }
        Action::Outbox { generation, outbox } if current(generation) => next.outbox = *outbox,
        Action::HeldBack { generation, since } if current(generation) => next.held_back_since = *since,
        Action::Warning { generation, words } if current(generation) => next.warn(words),
        Action::DismissWarnings => next.warnings.clear(),
        Action::DisconnectClicked => next.stopped_by_user = true,
        Action::Closed { generation, reason } if current(generation) => {
            next.status = ConnectionStatus::Closed { reason: reason.clone() };
            next.connected = false;
            next.running = false;
            next.held_back_since = None;
            // A stopped connection's outbox is gone: its publishes failed (Stopped).
            next.outbox = OutboxStatus::default();
        }
        Action::Opening { .. }
        | Action::Connected { .. }
        | Action::Reconnecting { .. }
        | Action::Outbox { .. }
        | Action::HeldBack { .. }
        | Action::Warning { .. }
        | Action::Closed { .. } => {}
        _ => return None,
    }
    Some(next)
}

/// Everything but the main connection.
fn reduce_panels(next: &mut WorkbenchState, action: Action) {
    match action {
        Action::SelectQueue(queue) => next.queue = queue,
        Action::RefreshEvery(period) => next.refresh_ms = period,
        Action::ReadFiguresAgain => next.figures_asked = next.figures_asked.wrapping_add(1),
        Action::QueueTypes(types) => next.queue_types.extend(types),
        Action::QueueDeleted(queue) => {
            next.queue_types.remove(&queue);
            for lesson in next.guide.lessons.values_mut() {
                lesson.declares.remove(&queue);
                lesson.refused_again.remove(&queue);
            }
        }
        Action::Declared { result, queue_type, lesson } => {
            if let (true, Some(kind)) = (result.ok(), queue_type) {
                next.queue_types.insert(result.queue().to_owned(), kind);
            }
            if let Some(lesson) = lesson {
                let progress = next.guide.lesson_mut(lesson);
                let queue = result.queue().to_owned();
                // A refused redeclare leaves the queue as it was declared.
                if !result.ok() && progress.declared(&queue) {
                    progress.refused_again.insert(queue, result.clone());
                } else {
                    progress.refused_again.remove(&queue);
                    progress.declares.insert(queue, result.clone());
                }
            }
            next.declare_result = Some(result);
        }
        Action::PublishSent(record) => {
            let counts = &mut next.publishing.counts;
            counts.published += 1;
            counts.settle(&record.outcome);
            if let Some(lesson) = record.lesson {
                let counts = &mut next.guide.lesson_mut(lesson).publishes;
                counts.published += 1;
                counts.settle(&record.outcome);
            }
            next.publishing.records.push(record);
        }
        Action::PublishSettled { number, outcome, lesson } => {
            next.publishing.counts.settle(&outcome);
            if let Some(lesson) = lesson {
                next.guide.lesson_mut(lesson).publishes.settle(&outcome);
            }
            next.publishing.records.update(|r| r.number == number, |r| r.outcome = outcome);
        }
        other => reduce_consumers(next, other),
    }
}

/// The consumers and the lessons.
fn reduce_consumers(next: &mut WorkbenchState, action: Action) {
    let consumers = &mut next.consumers;
    fn spec(consumers: &mut Consumers, number: u32) -> Option<&mut ConsumerSpec> {
        consumers.specs.iter_mut().find(|c| c.number == number)
    }
    match action {
        Action::AddConsumer(new) => {
            consumers.last_number += 1;
            let number = consumers.last_number;
            if let Some((lesson, role)) = new.lesson {
                next.guide.lesson_mut(lesson).consumers.insert(role, number);
            }
            consumers.specs.push(ConsumerSpec {
                number,
                source: new.source,
                auto_ack: new.auto_ack,
                prefetch: new.prefetch,
                stream_offset: new.stream_offset,
                stream_filter: new.stream_filter,
                priority: new.priority,
                replays: 0,
                crash_requested: false,
                stopped: false,
                lesson: new.lesson,
                fib_server: new.fib_server,
            });
        }
        Action::ReplayConsumer { number, offset } => {
            if let Some(spec) = spec(consumers, number) {
                spec.stream_offset = Some(offset);
                spec.replays += 1;
                spec.crash_requested = false;
                spec.stopped = false;
            }
        }
        Action::CrashConsumer(number) => {
            if let Some(spec) = spec(consumers, number) {
                spec.crash_requested = true;
            }
        }
        Action::RemoveConsumer(number) => {
            consumers.specs.retain(|c| c.number != number);
            consumers.progress.remove(&number);
        }
        Action::StopAllConsumers => consumers.specs.iter_mut().for_each(|c| c.stopped = true),
        Action::ConsumerProgress { number, progress } if consumers.get(number).is_some() => {
            consumers.progress.insert(number, progress);
        }
        Action::LessonExchange { lesson, exchange, ok, words } => {
            next.guide.lesson_mut(lesson).exchanges.insert(exchange, (ok, words));
        }
        Action::LessonCall { lesson, ok, words } => next.guide.lesson_mut(lesson).calls.push((ok, words)),
        Action::LessonReset { lesson, outcome } => {
            let progress = next.guide.lesson_mut(lesson);
            *progress = LessonProgress { reset: Some(outcome), ..LessonProgress::default() };
        }
        _ => {}
    }
}

/// The handle every panel gets from the context.
pub type Workbench = UseReducerHandle<WorkbenchState>;
