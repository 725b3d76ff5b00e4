//! Why a call into the core was refused or failed, typed.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt;

use crate::client::{ClientError, CloseReason, Fault, ServerError};
use crate::rabbit::{OutboxError, RabbitError, Refusal};

use super::LinkId;

/// Why an ack or nack was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// The delivery came on a connection that is gone; the broker gives the message
    /// to a consumer again, marked redelivered.
    #[error("the delivery came on a connection that has closed ({link}); RabbitMQ will redeliver it, marked redelivered")]
    Stale {
        /// Its connection.
        link: LinkId,
    },
    /// It was acked or nacked already (a second ack would make RabbitMQ close the connection).
    #[error("the delivery was already acknowledged or rejected")]
    AlreadySettled,
    /// The connection was stopped.
    #[error("the connection was stopped; RabbitMQ will redeliver the message")]
    Stopped,
    /// Its consumer was cancelled: RabbitMQ's STOMP adapter takes no ack for a
    /// subscription that is gone (it would answer with an ERROR). Nothing was sent;
    /// the message returns to its queue when the connection closes.
    #[error("the delivery's consumer was cancelled, and RabbitMQ takes no ack after that; the message returns to its queue when the connection closes")]
    Cancelled,
    /// A stream delivery cannot be nacked: RabbitMQ closes the connection ("basic.nack
    /// and basic.reject not supported by stream queues"). Nothing was sent.
    #[error("a message from a stream cannot be nacked (RabbitMQ would close the connection): ack it, and read it again from its offset if needed")]
    StreamNack,
    /// The session could not send it.
    #[error("{0}")]
    Client(#[from] ClientError),
}

/// Why a publish failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// Refused before it entered the outbox: the broker would refuse it too, or it
    /// breaks a limit (name over 255 bytes, reserved header, frame too large).
    /// Nothing was sent.
    #[error("{0}")]
    Invalid(#[source] RabbitError),
    /// The outbox is full: slow down until confirms come back. Nothing was sent.
    #[error("{0}")]
    Full(#[source] OutboxError),
    /// The broker refused this message (for example, a missing exchange). The
    /// messages after it went on.
    #[error("{0}")]
    Refused(#[source] Refusal),
    /// The connection was stopped before the broker confirmed it: the broker may
    /// or may not have it.
    #[error("the connection was stopped before RabbitMQ confirmed this message; it may or may not have arrived")]
    Stopped,
    /// The connection was stopped before this message was sent (or it was
    /// published after the stop): the broker does not have it.
    #[error("the connection was stopped; the message was not sent")]
    StoppedUnsent,
}

impl PublishError {
    /// Which side refused it.
    pub fn fault(&self) -> Fault {
        match self {
            PublishError::Invalid(_) | PublishError::Full(_) => Fault::Local,
            PublishError::Refused(_) => Fault::Broker,
            PublishError::Stopped | PublishError::StoppedUnsent => Fault::User,
        }
    }
}

/// Why a consumer ended without being cancelled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsumeError {
    /// Refused before sending (an empty or too long queue name).
    #[error("{0}")]
    Invalid(#[source] RabbitError),
    /// The broker refused the subscription (no such queue, an exclusive queue of
    /// another connection). RabbitMQ 3.10.8 may close without saying why; then the
    /// refusal says so and the caller can look the queue up.
    #[error("{0}")]
    Refused(#[source] Refusal),
    /// RabbitMQ cancelled the consumer after it was subscribed (its queue was
    /// deleted), in its words; the connection went on.
    #[error("RabbitMQ cancelled the consumer (was its queue deleted?): {0}")]
    CancelledByBroker(#[source] ServerError),
    /// The connection was stopped.
    #[error("the connection was stopped")]
    Stopped,
}

/// Why a `queue_declare` failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeclareError {
    /// Only a connected connection can declare.
    #[error("not connected: declare once connected")]
    NotConnected,
    /// Refused before sending.
    #[error("{0}")]
    Invalid(#[source] RabbitError),
    /// The broker refused, in its words.
    #[error("{0}")]
    Refused(#[source] Refusal),
    /// The connection closed before the broker answered. A declare the connection's
    /// end cut short goes again on the next connection and is answered there (one
    /// the broker closed on without words once the management API's facts refuse
    /// nothing); this is its answer only when there is none: reconnects off, a
    /// stop after a refused CONNECT, its queue deleted or declared otherwise
    /// meanwhile, or cut short on a side connection or a renewal's old one.
    #[error("the connection closed before RabbitMQ answered the declare: {0}")]
    Closed(#[source] CloseReason),
    /// The connection was stopped.
    #[error("the connection was stopped")]
    Stopped,
}

/// Why a [`Core`](crate::reliable::Core) stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// [`Core::stop`](crate::reliable::Core::stop) was called.
    Requested,
    /// The broker refused CONNECT in a way retrying cannot fix (credentials, vhost),
    /// or the options cannot be sent.
    Refused(CloseReason),
    /// The connection closed, for this reason, and reconnects are off
    /// ([`super::ReliableOptions::reconnect`]).
    Closed(CloseReason),
}

impl std::error::Error for StopReason {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StopReason::Requested => None,
            StopReason::Refused(reason) | StopReason::Closed(reason) => Some(reason),
        }
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Requested => f.write_str("disconnected"),
            StopReason::Refused(CloseReason::ConnectRefused(error)) => {
                write!(f, "{}", Refusal::from_server_error(error))
            }
            StopReason::Refused(reason) => write!(f, "{reason}"),
            StopReason::Closed(reason) => write!(f, "closed: {reason}"),
        }
    }
}
