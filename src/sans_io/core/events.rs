//! What the core reports.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crate::client::{CloseReason, ConnectionInfo, LocalError, SubscriptionId};
use crate::rabbit::{Delivery, OutboxId};

use super::{Acker, ConsumeError, ConsumerKey, DeclareError, DeclareId, LinkId, PublishError, StopReason};

/// What a connection reports about itself, from the core to every user as it
/// is: the Rust API's status stream, the JavaScript API's status objects and the
/// app's status line are views of it. Deliveries go to their consumer and
/// publish outcomes to their publisher instead ([`ReliableEvent`]).
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionEvent {
    /// A connection attempt began.
    Connecting {
        /// Its socket.
        link: LinkId,
        /// Where to.
        url: String,
    },
    /// Connected (again): consumers are being restored and the outbox resent.
    Connected {
        /// Its socket.
        link: LinkId,
        /// Where to.
        url: String,
        /// What CONNECTED said.
        info: ConnectionInfo,
    },
    /// The connection was lost; the next attempt comes at `retry_at`.
    Reconnecting {
        /// Why it was lost.
        reason: CloseReason,
        /// Which retry this is, from 1.
        attempt: u32,
        /// How long until it.
        delay: Duration,
        /// When, on the clock passed in.
        retry_at: Duration,
        /// Where it will go (the next URL when there are several).
        next_url: String,
    },
    /// The broker accepted a consumer's subscription (again, after a reconnect).
    ConsumerReady(ConsumerKey),
    /// A consumer ended because the broker refused it; it is gone.
    ConsumerFailed {
        /// Which consumer.
        consumer: ConsumerKey,
        /// Why.
        error: ConsumeError,
    },
    /// Something odd that changes nothing (a receipt nobody asked for).
    Warning(Warning),
    /// No more connections: the user stopped it, or the broker refused CONNECT in
    /// a way retrying cannot fix. Always the last event.
    Stopped(StopReason),
}

/// Everything the core reports: the connection's status ([`ConnectionEvent`]),
/// and the outcome of each request, for the driver to hand to whoever awaits it.
// Deliveries are most of the traffic; boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ReliableEvent {
    /// The connection's status, for the user as it is.
    Connection(ConnectionEvent),
    /// A delivery to one of the consumers.
    Delivery {
        /// Which consumer.
        consumer: ConsumerKey,
        /// The delivery.
        delivery: Delivery,
        /// Acknowledges it; `None` for an auto-ack consumer.
        acker: Option<Acker>,
    },
    /// The broker confirmed a message from the outbox.
    Confirmed(OutboxId),
    /// A message left the outbox unconfirmed, for this reason.
    PublishFailed {
        /// Which message.
        publish: OutboxId,
        /// Why.
        error: PublishError,
    },
    /// A cancelled consumer's subscription ended: no more deliveries for it.
    ConsumerCancelled(ConsumerKey),
    /// A `queue_declare` was answered.
    Declared {
        /// Which call.
        request: DeclareId,
        /// The outcome.
        result: Result<(), DeclareError>,
    },
}

/// Something odd that changed nothing ([`ConnectionEvent::Warning`]): worth a log
/// line, not an action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Warning {
    /// The session reported a problem on our side (a receipt nobody asked for).
    #[error("{0}")]
    Local(#[from] LocalError),
    /// An auto-ack delivery came for a subscription no consumer holds any more
    /// (its cancel crossed it); nothing can be done with it.
    #[error("an auto-ack delivery for unknown subscription {0} was dropped")]
    UnknownSubscription(SubscriptionId),
}
