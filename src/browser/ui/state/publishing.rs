//! Publishes as the producer shows them: each record, and the counts.

use std::fmt;

use super::super::log::BoundedLog;

/// How many publish records the producer keeps on screen; older ones are only counted.
pub const PUBLISH_LOG_LIMIT: usize = 100;

/// Where a message goes: an exchange (`""`, the default exchange, routes by
/// queue name) and a routing key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Destination {
    /// The exchange; `""` is the default exchange.
    pub exchange: String,
    /// The routing key (for the default exchange: the queue's name).
    pub routing_key: String,
}

impl Destination {
    /// The default exchange, to the queue `queue`.
    pub fn queue(queue: impl Into<String>) -> Self {
        Destination { exchange: String::new(), routing_key: queue.into() }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.exchange.is_empty() {
            write!(f, "queue “{}”", self.routing_key)
        } else {
            write!(f, "exchange “{}”, key “{}”", self.exchange, self.routing_key)
        }
    }
}

/// A publish's confirm, and where it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Sent, no receipt yet.
    Pending,
    /// RabbitMQ confirmed it, and the destination takes it (checked through the
    /// management API).
    Confirmed,
    /// RabbitMQ confirmed it; where it went could not be checked (why, in words).
    ConfirmedUnchecked(String),
    /// RabbitMQ confirmed it and dropped it: nothing takes it (why, in words).
    RoutedNowhere(String),
    /// Refused, or the connection stopped first.
    Failed(String),
}

/// A publish as the producer shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRecord {
    /// Its number on screen, from 1 (unique within the workbench).
    pub number: u64,
    /// Where it went.
    pub destination: Destination,
    /// The body as sent (cut for the screen).
    pub body: String,
    /// Persistent or not.
    pub persistent: bool,
    /// "3/10" when it is one of several copies numbered in a header.
    pub copy: Option<String>,
    /// Where its confirm stands.
    pub outcome: PublishOutcome,
    /// The tutorial lesson that published it, if any.
    pub lesson: Option<usize>,
}

/// How many publishes ended how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublishCounts {
    /// Handed to the outbox or refused.
    pub published: u64,
    /// Confirmed (routed, or not checkable).
    pub confirmed: u64,
    /// Confirmed and dropped: routed nowhere.
    pub nowhere: u64,
    /// Refused or stopped.
    pub failed: u64,
}

impl PublishCounts {
    /// Still waiting for their confirm.
    pub fn pending(&self) -> u64 {
        self.published.saturating_sub(self.confirmed + self.nowhere + self.failed)
    }

    /// Counts a settled outcome.
    pub fn settle(&mut self, outcome: &PublishOutcome) {
        match outcome {
            PublishOutcome::Pending => {}
            PublishOutcome::Confirmed | PublishOutcome::ConfirmedUnchecked(_) => self.confirmed += 1,
            PublishOutcome::RoutedNowhere(_) => self.nowhere += 1,
            PublishOutcome::Failed(_) => self.failed += 1,
        }
    }
}

/// The producer's log and counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Publishing {
    /// Recent publishes.
    pub records: BoundedLog<PublishRecord>,
    /// Every publish, counted.
    pub counts: PublishCounts,
}

impl Default for Publishing {
    fn default() -> Self {
        Publishing { records: BoundedLog::new(PUBLISH_LOG_LIMIT), counts: PublishCounts::default() }
    }
}
