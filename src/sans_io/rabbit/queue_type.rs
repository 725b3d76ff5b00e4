//! RabbitMQ's queue types (classic, quorum, stream) and stream offsets.
//!
//! What each type refuses is checked before anything is sent: RabbitMQ 3.10.8's
//! Web-STOMP answers such a refusal by closing the connection ("STOMP died")
//! without the ERROR frame, so the user would learn nothing. The rules below were
//! measured against RabbitMQ 3.10.8 (its log's `PRECONDITION_FAILED` lines):
//! - quorum and stream queues must be durable, not exclusive, not auto-delete
//!   ("invalid property 'non-durable' / 'exclusive-owner' / 'auto-delete'");
//! - a quorum queue refuses `x-max-priority`;
//! - a stream refuses every argument the STOMP adapter passes on except
//!   `x-max-length-bytes` (dead-lettering, `x-expires`, `x-max-length`,
//!   `x-max-priority`, `x-message-ttl`: "invalid arg … of queue type rabbit_stream_queue");
//! - any other `x-queue-type` value is refused ("invalid arg 'x-queue-type'").

use std::fmt;
use std::str::FromStr;

use super::{QueueOptions, RabbitError};
use crate::sans_io::text::parse_u64;

/// The `x-queue-type` argument's name.
pub const QUEUE_TYPE_ARGUMENT: &str = "x-queue-type";

/// A RabbitMQ queue type (pika: `arguments={'x-queue-type': ...}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueType {
    /// The original queue: one node, any flags and arguments.
    Classic,
    /// Replicated over a cluster's nodes by Raft; durable only. Redeliveries carry
    /// `x-delivery-count`.
    Quorum,
    /// An append-only log read from an offset; consumers ack but nothing is
    /// removed or requeued.
    Stream,
}

impl QueueType {
    /// The `x-queue-type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueType::Classic => "classic",
            QueueType::Quorum => "quorum",
            QueueType::Stream => "stream",
        }
    }

    /// The STOMP adapter's arguments this type refuses.
    fn refused_arguments(self) -> &'static [&'static str] {
        match self {
            // Measured with pika on 3.10.8 and 4.0.5: "invalid arg 'x-max-age' … of
            // queue type rabbit_classic_queue" (the filter size they take, and ignore).
            QueueType::Classic => &["x-max-age", "x-stream-max-segment-size-bytes"],
            QueueType::Quorum => &["x-max-priority", "x-max-age", "x-stream-max-segment-size-bytes"],
            QueueType::Stream => &[
                "x-dead-letter-exchange",
                "x-dead-letter-routing-key",
                "x-expires",
                "x-max-length",
                "x-max-priority",
                "x-message-ttl",
            ],
        }
    }
}

impl fmt::Display for QueueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for QueueType {
    type Err = RabbitError;

    /// `classic`, `quorum` or `stream`, as RabbitMQ spells them.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "classic" => Ok(QueueType::Classic),
            "quorum" => Ok(QueueType::Quorum),
            "stream" => Ok(QueueType::Stream),
            other => Err(RabbitError::UnknownQueueType(other.to_owned())),
        }
    }
}

/// What a queue type does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueTypeProblem {
    /// Exclusive (RabbitMQ: "invalid property 'exclusive-owner'").
    Exclusive,
    /// Not durable (RabbitMQ: "invalid property 'non-durable'").
    NotDurable,
    /// Auto-delete (RabbitMQ: "invalid property 'auto-delete'").
    AutoDelete,
    /// An argument this type refuses (RabbitMQ: "invalid arg '…'").
    Argument(String),
}

impl fmt::Display for QueueTypeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueTypeProblem::Exclusive => f.write_str("cannot be exclusive"),
            QueueTypeProblem::NotDurable => f.write_str("must be durable"),
            QueueTypeProblem::AutoDelete => f.write_str("cannot be auto-delete"),
            QueueTypeProblem::Argument(name) => write!(f, "does not take the argument {name}"),
        }
    }
}

/// The type an `x-queue-type` among `arguments` names, when it names one RabbitMQ has.
pub fn named_queue_type(arguments: &[(String, String)]) -> Option<QueueType> {
    let named = arguments.iter().find(|(name, _)| name == QUEUE_TYPE_ARGUMENT);
    named.and_then(|(_, value)| value.parse().ok())
}

/// Checks the queue type of `options` against its flags and `arguments` (already
/// checked one by one), and returns the arguments to send: `x-queue-type` added
/// when [`QueueOptions::queue_type`] sets it.
///
/// # Errors
///
/// [`RabbitError::UnknownQueueType`], [`RabbitError::ConflictingQueueTypes`] or
/// [`RabbitError::QueueTypeConflict`]: what RabbitMQ would refuse by closing the
/// connection.
pub(crate) fn check_queue_type(
    options: &QueueOptions,
    mut arguments: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, RabbitError> {
    let named = arguments.iter().find(|(name, _)| name == QUEUE_TYPE_ARGUMENT).map(|(_, v)| v.clone());
    let queue_type = match (options.queue_type, named) {
        (Some(field), Some(argument)) if argument != field.as_str() => {
            return Err(RabbitError::ConflictingQueueTypes { field, argument });
        }
        (Some(field), Some(_)) => field,
        (Some(field), None) => {
            arguments.push((QUEUE_TYPE_ARGUMENT.to_owned(), field.as_str().to_owned()));
            field
        }
        (None, Some(argument)) => argument.parse()?,
        (None, None) => QueueType::Classic,
    };
    let classic = queue_type == QueueType::Classic;
    let problem = if !classic && !options.durable {
        Some(QueueTypeProblem::NotDurable)
    } else if !classic && options.exclusive {
        Some(QueueTypeProblem::Exclusive)
    } else if !classic && options.auto_delete {
        Some(QueueTypeProblem::AutoDelete)
    } else {
        arguments
            .iter()
            .find(|(name, _)| queue_type.refused_arguments().contains(&name.as_str()))
            .map(|(name, _)| QueueTypeProblem::Argument(name.clone()))
    };
    match problem {
        Some(problem) => Err(RabbitError::QueueTypeConflict { queue_type, problem }),
        None => Ok(arguments),
    }
}

/// Where a stream consumer starts reading (the SUBSCRIBE header `x-stream-offset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamOffset {
    /// The first message still in the stream.
    First,
    /// The last chunk written (RabbitMQ writes messages in chunks, so this can be
    /// several of the latest messages).
    Last,
    /// Only messages published from now on (RabbitMQ's default).
    Next,
    /// This offset (0 is the first message ever); beyond the end, it waits for it.
    Offset(u64),
    /// The first chunk written at or after this time, in seconds since the epoch.
    Timestamp(u64),
}

impl StreamOffset {
    /// The `x-stream-offset` header value: `first`, `last`, `next`, `offset=N` or
    /// `timestamp=S`, as RabbitMQ 3.10's STOMP adapter reads it.
    pub fn header_value(&self) -> String {
        match self {
            StreamOffset::First => "first".to_owned(),
            StreamOffset::Last => "last".to_owned(),
            StreamOffset::Next => "next".to_owned(),
            StreamOffset::Offset(n) => format!("offset={n}"),
            StreamOffset::Timestamp(seconds) => format!("timestamp={seconds}"),
        }
    }
}

impl fmt::Display for StreamOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.header_value())
    }
}

impl FromStr for StreamOffset {
    type Err = RabbitError;

    /// `first`, `last`, `next`, `offset=N` (or just `N`), `timestamp=S`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let number = |digits: &str| {
            parse_u64(digits.trim()).ok_or_else(|| RabbitError::InvalidStreamOffset(text.to_owned()))
        };
        match text {
            "first" => Ok(StreamOffset::First),
            "last" => Ok(StreamOffset::Last),
            "next" => Ok(StreamOffset::Next),
            _ => match text.split_once('=').map(|(key, value)| (key.trim(), value)) {
                Some(("offset", n)) => number(n).map(StreamOffset::Offset),
                Some(("timestamp", s)) => number(s).map(StreamOffset::Timestamp),
                Some(_) => Err(RabbitError::InvalidStreamOffset(text.to_owned())),
                None => number(text).map(StreamOffset::Offset),
            },
        }
    }
}

/// Why a stream consumer cannot be made as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamConsumeProblem {
    /// Auto-ack: RabbitMQ closes the connection.
    AutoAck,
    /// Prefetch 0: RabbitMQ closes the connection (a stream needs credit).
    NoPrefetch,
    /// A consumer priority: RabbitMQ 4.0.5 refuses `x-priority` on a stream
    /// (measured: "PRECONDITION_FAILED - invalid arg 'x-priority' … of queue type
    /// rabbit_stream_queue").
    Priority,
    /// An offset or a stream filter on a queue this connection declared as
    /// another type (QA: RabbitMQ closed the connection on each SUBSCRIBE, and the
    /// consumer failed after three reconnects in words that did not say why).
    NotAStream(QueueType),
}

impl fmt::Display for StreamConsumeProblem {
    // One sentence each, with what RabbitMQ would do: shown as it is, in a
    // refusal ([`RabbitError::StreamConsume`]) and in a consumer card.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StreamConsumeProblem::AutoAck => {
                "a stream is consumed with manual acknowledgement, not auto-ack (RabbitMQ closes the connection otherwise)"
            }
            StreamConsumeProblem::NoPrefetch => {
                "a stream consumer needs a prefetch above 0, which is its credit (RabbitMQ closes the connection otherwise)"
            }
            StreamConsumeProblem::Priority => {
                "a stream consumer takes no priority: RabbitMQ refuses x-priority on a stream with PRECONDITION_FAILED, \
                 closing the connection"
            }
            StreamConsumeProblem::NotAStream(queue_type) => {
                return write!(
                    f,
                    "an offset or a stream filter is for a stream, and this queue was declared {} \
                     (RabbitMQ closes the connection otherwise)",
                    queue_type.as_str()
                );
            }
        })
    }
}

/// Checks a stream subscription: manual acknowledgement and a prefetch above 0,
/// which RabbitMQ requires (it closes the connection otherwise).
///
/// # Errors
///
/// [`RabbitError::StreamConsume`].
pub fn check_stream_consume(auto_ack: bool, prefetch: u16) -> Result<(), RabbitError> {
    if auto_ack {
        return Err(RabbitError::StreamConsume(StreamConsumeProblem::AutoAck));
    }
    if prefetch == 0 {
        return Err(RabbitError::StreamConsume(StreamConsumeProblem::NoPrefetch));
    }
    Ok(())
}
