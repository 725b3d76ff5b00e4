//! The workbench's state: one reducer, shared with every panel through a context.

use std::rc::Rc;

use yew::prelude::*;

use crate::client::{ConnectOptions, ConnectionInfo};
use crate::rabbit::StreamOffset;
use crate::reliable::{OutboxStatus, ReliableConnection};

use super::log::BoundedLog;

/// How many publish records the producer keeps on screen; older ones are only counted.
pub const PUBLISH_LOG_LIMIT: usize = 100;

/// Which panels a workbench shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panels {
    /// The guided tutorial flows.
    pub guide: bool,
    /// The connection form.
    pub connection: bool,
    /// Declare a queue, and its live figures.
    pub queue: bool,
    /// Publish messages.
    pub producer: bool,
    /// Consumers and their deliveries.
    pub consumers: bool,
}

impl Default for Panels {
    fn default() -> Self {
        Panels { guide: true, connection: true, queue: true, producer: true, consumers: true }
    }
}

impl Panels {
    /// Parses names such as `["producer", "consumers"]`; unknown names are ignored.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut panels =
            Panels { guide: false, connection: false, queue: false, producer: false, consumers: false };
        for name in names {
            match name {
                "guide" => panels.guide = true,
                "connection" => panels.connection = true,
                "queue" => panels.queue = true,
                "producer" => panels.producer = true,
                "consumers" => panels.consumers = true,
                _ => {}
            }
        }
        panels
    }
}

/// How a workbench starts: set by the app, or by the page that embeds the widget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkbenchConfig {
    /// The Web-STOMP URL in the form at first.
    pub url: String,
    /// The login in the form at first.
    pub login: String,
    /// The passcode, if the host page gives it; otherwise the user types it.
    pub passcode: Option<String>,
    /// The virtual host.
    pub vhost: String,
    /// The queue the panels start with.
    pub queue: String,
    /// Which panels to show.
    pub panels: Panels,
    /// Connect at once (only when a passcode is given).
    pub auto_connect: bool,
    /// A title above the panels.
    pub title: Option<String>,
}

/// The connection's status line.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionStatus {
    /// Nothing tried yet.
    Idle,
    /// WebSocket opening or CONNECT sent.
    Connecting {
        /// Where to.
        url: String,
    },
    /// CONNECTED received.
    Connected {
        /// Where to.
        url: String,
        /// What the broker said in CONNECTED.
        info: ConnectionInfo,
    },
    /// Lost; the next attempt is at `retry_at` (the page's clock, in ms).
    Reconnecting {
        /// Why it was lost, in words.
        reason: String,
        /// Which retry is next, from 1.
        attempt: u32,
        /// When it comes, on `performance.now()`'s clock, in milliseconds.
        retry_at: f64,
        /// Where it will go (with several URLs, the next node).
        next_url: String,
    },
    /// Closed, with the reason in plain words.
    Closed {
        /// Why.
        reason: String,
    },
}

/// A publish as the producer shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRecord {
    /// Its number on screen, from 1 (from [`WorkbenchState::next_publish_number`]).
    pub number: u64,
    /// The queue (routing key) it went to.
    pub routing_key: String,
    /// The body as typed.
    pub body: String,
    /// Persistent or not.
    pub persistent: bool,
    /// Where its confirm stands.
    pub outcome: PublishOutcome,
}

/// A publish's confirm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Sent, no receipt yet.
    Pending,
    /// RabbitMQ confirmed it.
    Confirmed,
    /// Refused, or the connection closed first.
    Failed(String),
}

/// A consumer the user added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerSpec {
    /// Its number on screen, from 1.
    pub number: u32,
    /// The queue.
    pub queue: String,
    /// Auto-ack or manual ack.
    pub auto_ack: bool,
    /// Prefetch; 0 is unlimited.
    pub prefetch: u16,
    /// For a stream: where it reads from (`None`: RabbitMQ's default, or not a stream).
    pub stream_offset: Option<StreamOffset>,
    /// How many times the user asked it to read the stream again ("Replay from");
    /// each makes a new consumer from [`ConsumerSpec::stream_offset`].
    pub replays: u32,
    /// Asked to crash (drop its connection without acking).
    pub crash_requested: bool,
}

/// Everything the workbench panels share.
#[derive(Clone)]
pub struct WorkbenchState {
    /// How it started.
    pub config: WorkbenchConfig,
    /// The status line.
    pub status: ConnectionStatus,
    /// Whether the main connection is connected now (declares need it).
    pub connected: bool,
    /// The main connection, reconnecting by itself, from Connect until Disconnect.
    pub reliable: Option<Rc<ReliableConnection>>,
    /// Messages in its outbox (waiting for a confirm).
    pub outbox: OutboxStatus,
    /// URL and options of the last successful connect (the node it is on, when
    /// there are several), for the management API and consumers' connections.
    pub settings: Option<(String, ConnectOptions)>,
    /// The Web-STOMP URLs of the last Connect: several for a cluster's nodes.
    /// Consumers' own connections get them all.
    pub urls: Vec<String>,
    /// The queue the panels work on.
    pub queue: String,
    /// The last declare's outcome in words, and whether it succeeded.
    pub declare_result: Option<(bool, String)>,
    /// Recent publishes.
    pub publishes: BoundedLog<PublishRecord>,
    /// How many were published, confirmed and failed in all.
    pub published: u64,
    /// How many confirms arrived.
    pub confirmed: u64,
    /// How many publishes failed.
    pub failed: u64,
    /// Numbers publishes on screen (unique list keys, refused ones included); shared
    /// by every copy of the state, so callers number records before dispatching.
    pub publish_numbers: Rc<std::cell::Cell<u64>>,
    /// The consumers.
    pub consumers: Vec<ConsumerSpec>,
    next_consumer: u32,
    /// Bumped on every change of the connection, so effects can follow it.
    pub generation: u64,
}

impl PartialEq for WorkbenchState {
    fn eq(&self, other: &Self) -> bool {
        self.generation == other.generation
            && self.status == other.status
            && self.queue == other.queue
            && self.declare_result == other.declare_result
            && self.publishes == other.publishes
            && self.published == other.published
            && self.confirmed == other.confirmed
            && self.consumers == other.consumers
            && self.outbox == other.outbox
            && self.connected == other.connected
            && self.urls == other.urls
    }
}

impl WorkbenchState {
    /// A fresh number for a publish record: unique within this workbench.
    pub fn next_publish_number(&self) -> u64 {
        let number = self.publish_numbers.get() + 1;
        self.publish_numbers.set(number);
        number
    }

    /// The starting state for `config`.
    pub fn new(config: WorkbenchConfig) -> Self {
        WorkbenchState {
            queue: config.queue.clone(),
            config,
            status: ConnectionStatus::Idle,
            connected: false,
            reliable: None,
            outbox: OutboxStatus::default(),
            settings: None,
            urls: Vec::new(),
            declare_result: None,
            publishes: BoundedLog::new(PUBLISH_LOG_LIMIT),
            published: 0,
            confirmed: 0,
            failed: 0,
            publish_numbers: Rc::new(std::cell::Cell::new(0)),
            consumers: Vec::new(),
            next_consumer: 0,
            generation: 0,
        }
    }
}

/// What can happen to the workbench.
pub enum Action {
    /// Started connecting.
    Connecting(String, Rc<ReliableConnection>),
    /// Lost; retrying at the given time.
    Reconnecting {
        /// Why, in words.
        reason: String,
        /// Which retry.
        attempt: u32,
        /// When, in `performance.now()` milliseconds.
        retry_at: f64,
        /// Where to.
        next_url: String,
    },
    /// The URLs a Connect uses (several for a cluster).
    UseUrls(Vec<String>),
    /// The outbox's size changed.
    Outbox(OutboxStatus),
    /// Opening a connection (again) to this URL.
    Opening(String),
    /// Got CONNECTED.
    Connected {
        /// Where to.
        url: String,
        /// The options used (the consumers reuse them).
        options: ConnectOptions,
        /// What CONNECTED said.
        info: ConnectionInfo,
    },
    /// The main connection stopped (Disconnect, or a refusal), for this reason.
    Closed(String),
    /// The queue the panels work on.
    SetQueue(String),
    /// A declare finished.
    Declared(bool, String),
    /// A publish was handed to the outbox (or refused); its record gets the next number.
    PublishSent(PublishRecord),
    /// A publish's confirm arrived (or failed).
    PublishSettled(u64, PublishOutcome),
    /// Add a consumer.
    AddConsumer {
        /// Queue.
        queue: String,
        /// Auto-ack.
        auto_ack: bool,
        /// Prefetch.
        prefetch: u16,
        /// For a stream: where to read from.
        stream_offset: Option<StreamOffset>,
    },
    /// Read a stream again from `offset` in consumer number `number` (a new
    /// consumer replaces its current one).
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
}

impl Reducible for WorkbenchState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::Connecting(url, reliable) => {
                next.status = ConnectionStatus::Connecting { url };
                next.connected = false;
                next.reliable = Some(reliable);
                next.generation += 1;
            }
            Action::Opening(url) => {
                // The countdown ended: show the attempt, unless already stopped.
                if next.reliable.is_some() && !next.connected {
                    next.status = ConnectionStatus::Connecting { url };
                }
            }
            Action::Reconnecting { reason, attempt, retry_at, next_url } => {
                next.status = ConnectionStatus::Reconnecting { reason, attempt, retry_at, next_url };
                next.connected = false;
                next.generation += 1;
            }
            Action::Outbox(outbox) => next.outbox = outbox,
            Action::UseUrls(urls) => next.urls = urls,
            Action::Connected { url, options, info } => {
                next.status = ConnectionStatus::Connected { url: url.clone(), info };
                next.connected = true;
                next.settings = Some((url, options));
                next.generation += 1;
            }
            Action::Closed(reason) => {
                next.status = ConnectionStatus::Closed { reason };
                next.connected = false;
                next.reliable = None;
                next.generation += 1;
            }
            Action::SetQueue(queue) => next.queue = queue,
            Action::Declared(ok, words) => next.declare_result = Some((ok, words)),
            Action::PublishSent(record) => {
                next.published += 1;
                if let PublishOutcome::Failed(_) = record.outcome {
                    next.failed += 1;
                }
                next.publishes.push(record);
            }
            Action::PublishSettled(number, outcome) => {
                match &outcome {
                    PublishOutcome::Confirmed => next.confirmed += 1,
                    PublishOutcome::Failed(_) => next.failed += 1,
                    PublishOutcome::Pending => {}
                }
                next.publishes.update(|r| r.number == number, |r| r.outcome = outcome);
            }
            Action::AddConsumer { queue, auto_ack, prefetch, stream_offset } => {
                next.next_consumer += 1;
                next.consumers.push(ConsumerSpec {
                    number: next.next_consumer,
                    queue,
                    auto_ack,
                    prefetch,
                    stream_offset,
                    replays: 0,
                    crash_requested: false,
                });
            }
            Action::ReplayConsumer { number, offset } => {
                if let Some(spec) = next.consumers.iter_mut().find(|c| c.number == number) {
                    spec.stream_offset = Some(offset);
                    spec.replays += 1;
                    spec.crash_requested = false;
                }
            }
            Action::CrashConsumer(number) => {
                if let Some(spec) = next.consumers.iter_mut().find(|c| c.number == number) {
                    spec.crash_requested = true;
                }
            }
            Action::RemoveConsumer(number) => next.consumers.retain(|c| c.number != number),
        }
        Rc::new(next)
    }
}

/// The handle every panel gets from the context.
pub type Workbench = UseReducerHandle<WorkbenchState>;
