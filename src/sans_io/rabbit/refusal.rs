//! What the broker refused, classified ([`Refusal`], [`RefusalKind`]), and every
//! reason a RabbitMQ call could not be made ([`RabbitError`]).

use std::fmt;

use super::{features, limits, outbox, QueueType, QueueTypeProblem, StreamConsumeProblem, SUPPORTED_ARGUMENTS};
use crate::client::{ClientError, ServerError};
use crate::sans_io::text::{contains, Listed, Quoted};

/// What kind of refusal an ERROR frame carries, after AMQP's reply codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    /// Wrong login or password (STOMP `Bad CONNECT`, "Access refused").
    BadCredentials,
    /// The virtual host does not exist or the user may not use it.
    VhostDenied,
    /// `ACCESS_REFUSED`: the user lacks a permission.
    AccessRefused,
    /// `NOT_FOUND`: no such queue or exchange.
    NotFound,
    /// `PRECONDITION_FAILED`: for example, redeclaring a queue with other durability.
    PreconditionFailed,
    /// `RESOURCE_LOCKED`: an exclusive queue of another connection.
    ResourceLocked,
    /// Anything else the broker refused.
    Other,
    /// Web-STOMP closed the connection without the ERROR frame that says why
    /// (RabbitMQ 3.10.8 loses it): the words are Burrow's, from what it could see.
    Unexplained,
}

/// A refusal from the broker: its kind, its words, and what to do about it.
///
/// ```
/// use burrow::client::ServerError;
/// use burrow::rabbit::{Refusal, RefusalKind};
///
/// let error = ServerError {
///     message: Some("not_found".into()),
///     body: "NOT_FOUND - no queue 'hello' in vhost '/'".into(),
///     receipt_id: None,
///     headers: vec![],
/// };
/// let refusal = Refusal::from_server_error(&error);
/// assert_eq!(refusal.kind, RefusalKind::NotFound);
/// assert_eq!(
///     refusal.to_string(),
///     "RabbitMQ refused: NOT_FOUND - no queue 'hello' in vhost '/' (declare the queue (or exchange) first)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The kind, for code that reacts to it.
    pub kind: RefusalKind,
    /// The ERROR frame's `message` header.
    pub message: String,
    /// The ERROR frame's body: the broker's full explanation.
    pub detail: String,
}

impl Refusal {
    /// Classifies an ERROR frame from RabbitMQ.
    pub fn from_server_error(error: &ServerError) -> Self {
        let message = error.message.clone().unwrap_or_default();
        let detail = error.body.trim().to_owned();
        let text = format!("{message} {detail}").to_ascii_lowercase();
        let kind = if contains(&text, "precondition_failed") {
            RefusalKind::PreconditionFailed
        } else if contains(&text, "not_found") {
            RefusalKind::NotFound
        } else if contains(&text, "resource_locked") {
            RefusalKind::ResourceLocked
        } else if contains(&text, "bad connect") && contains(&text, "virtual host") {
            RefusalKind::VhostDenied
        } else if contains(&text, "bad connect") && contains(&text, "access refused") {
            RefusalKind::BadCredentials
        } else if contains(&text, "access_refused") || contains(&text, "access refused") {
            RefusalKind::AccessRefused
        } else {
            RefusalKind::Other
        };
        Refusal { kind, message, detail }
    }

    /// The broker closed the connection itself (`CONNECTION_FORCED`: a node
    /// shutting down, an administrator closing it): no request was refused.
    pub fn is_connection_forced(&self) -> bool {
        contains(&format!("{} {}", self.message, self.detail).to_ascii_lowercase(), "connection_forced")
    }

    /// What a user can do about it, in plain words.
    pub fn hint(&self) -> &'static str {
        match self.kind {
            RefusalKind::BadCredentials => "check the login and passcode",
            RefusalKind::VhostDenied => "check the virtual host name and the user's permissions on it",
            RefusalKind::AccessRefused => "the user needs configure/write/read permission for this",
            RefusalKind::NotFound => "declare the queue (or exchange) first",
            // A SUBSCRIBE's stream options on a classic or quorum queue: "invalid
            // arg 'x-stream-filter' … of queue type rabbit_classic_queue".
            RefusalKind::PreconditionFailed if contains(&self.detail, "'x-stream-") => {
                "a stream offset or filter needs a stream (a queue declared with x-queue-type stream)"
            }
            RefusalKind::PreconditionFailed => {
                "a queue that already exists cannot change its properties: use a new queue name, or declare it as it is"
            }
            RefusalKind::ResourceLocked => "the queue is exclusive to another connection",
            RefusalKind::Other => "see the broker's explanation",
            RefusalKind::Unexplained => "RabbitMQ's log says why",
        }
    }
}

impl std::error::Error for Refusal {}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let said = if self.detail.is_empty() { &self.message } else { &self.detail };
        write!(f, "RabbitMQ refused: {said} ({})", self.hint())
    }
}

/// Why a RabbitMQ call could not be made, or was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RabbitError {
    /// The session could not take the request.
    #[error("{0}")]
    Client(#[from] ClientError),
    /// The broker refused.
    #[error("{0}")]
    Refused(#[source] Refusal),
    /// Web-STOMP cannot declare server-named queues: a name is needed.
    #[error("a queue name is needed (RabbitMQ's STOMP adapter cannot make server-named queues)")]
    EmptyQueueName,
    /// A publish to the default exchange names its queue in the routing key: an
    /// empty one is no destination (Web-STOMP answers "Invalid destination").
    #[error("a publish to the default exchange needs a routing key: the name of the queue to deliver to")]
    EmptyRoutingKey,
    /// Queue names starting with `amq.` are RabbitMQ's own: it refuses to declare
    /// one (and Web-STOMP closes the connection on it, often without the words).
    #[error("ACCESS_REFUSED - queue name '{0}' contains reserved prefix 'amq.*' (RabbitMQ keeps queue names starting with amq. for itself; choose another name)")]
    ReservedQueueName(String),
    /// RabbitMQ reads `%2F` in a destination back as `/`, so a name containing
    /// `%2F` cannot be written in one (it would name something else).
    #[error("the name {} contains %2F, which RabbitMQ's STOMP adapter reads as '/': it cannot be used by that name over STOMP", Quoted(.0))]
    UnescapableName(String),
    /// AMQP limits names to 255 bytes.
    #[error("the name {} is longer than 255 bytes", Quoted(.0))]
    NameTooLong(String),
    /// `amq.default`, the management UI's name for the default exchange: RabbitMQ
    /// has no exchange by that name (`NOT_FOUND`, whose ERROR 3.10.8's Web-STOMP
    /// loses, so finding the message cost three reconnects).
    #[error("RabbitMQ has no exchange named 'amq.default': that is the management UI's name for the default exchange, which is \"\" in a publish (the routing key names the queue)")]
    DefaultExchangeByName,
    /// A subscription to the default exchange, which takes no bindings (RabbitMQ
    /// answers `Invalid destination` or `NOT_FOUND` and closes the connection).
    #[error("the default exchange takes no bindings: consume from the queue itself")]
    BindToDefaultExchange,
    /// A `x-` argument the STOMP adapter would silently ignore.
    #[error("the queue argument {} is not passed on by RabbitMQ's STOMP adapter (supported: {list}; on a stream from RabbitMQ 3.12 also x-max-age and x-stream-max-segment-size-bytes, from 3.13 x-stream-filter-size-bytes); set others with a policy", Quoted(.0), list = Listed(&SUPPORTED_ARGUMENTS))]
    UnsupportedArgument(String),
    /// An argument RabbitMQ reads as an integer got something else.
    #[error("the queue argument {name} must be a whole number, not {}", Quoted(.value))]
    InvalidArgument {
        /// The argument.
        name: String,
        /// What was given.
        value: String,
    },
    /// An argument outside the range RabbitMQ takes.
    #[error("the queue argument {name} must be {range}, not {}", Quoted(.value))]
    ArgumentOutOfRange {
        /// The argument.
        name: String,
        /// What was given.
        value: String,
        /// What it may be, in words.
        range: &'static str,
    },
    /// RabbitMQ refuses a dead-letter routing key without a dead-letter exchange.
    #[error("x-dead-letter-routing-key needs x-dead-letter-exchange as well (RabbitMQ refuses one without the other)")]
    RoutingKeyWithoutDeadLetterExchange,
    /// `x-queue-type` is not a type RabbitMQ 3.10 knows.
    #[error("{} is not a queue type: use classic, quorum or stream", Quoted(.0))]
    UnknownQueueType(String),
    /// [`QueueOptions::queue_type`](crate::rabbit::QueueOptions::queue_type) and the `x-queue-type` argument disagree.
    #[error("the queue type is {field} but the x-queue-type argument says {}", Quoted(.argument))]
    ConflictingQueueTypes {
        /// The field.
        field: QueueType,
        /// The argument's value.
        argument: String,
    },
    /// The queue type does not allow these options: RabbitMQ would refuse the
    /// declare (PRECONDITION_FAILED) and close the connection.
    #[error("a {queue_type} queue {problem} (RabbitMQ refuses it with PRECONDITION_FAILED)")]
    QueueTypeConflict {
        /// The queue type.
        queue_type: QueueType,
        /// What it does not allow.
        problem: QueueTypeProblem,
    },
    /// A stream subscription RabbitMQ would refuse (closing the connection). The
    /// problem's words say so themselves: a second parenthesis here read "(…) (…)".
    #[error("{0}")]
    StreamConsume(StreamConsumeProblem),
    /// A stream offset that is not `first`, `last`, `next`, `offset=N` or `timestamp=S`.
    #[error("{} is not a stream offset: use first, last, next, offset=N or timestamp=<seconds>", Quoted(.0))]
    InvalidStreamOffset(String),
    /// A stream filter (or a publish's filter value) RabbitMQ's STOMP plugin
    /// cannot carry as given.
    #[error("{0}")]
    InvalidStreamFilter(String),
    /// The connected broker lacks the feature (it would ignore it silently).
    #[error("{0}")]
    Unsupported(#[from] features::Unsupported),
    /// An application header name that cannot be used: empty, `x-…`, or one
    /// STOMP or RabbitMQ uses for itself.
    #[error("the header name {} cannot be used (empty, x-…, or one STOMP or RabbitMQ uses itself); choose another", Quoted(.0))]
    ReservedHeader(String),
    /// The message would make a frame larger than the limit.
    #[error("{0}")]
    TooLarge(#[from] limits::FrameTooLarge),
    /// Its headers would come back over what a consumer's decoder takes.
    #[error("{0}")]
    HeadersTooLarge(#[from] limits::HeadersTooLarge),
    /// The outbox refused the message.
    #[error("{0}")]
    Outbox(#[from] outbox::OutboxError),
    /// RabbitMQ's STOMP adapter declares a queue at most once per connection, so a
    /// second declare on the same connection would silently do nothing: with other
    /// options, and with the same ones after the queue was deleted.
    #[error("this connection already declared {}; RabbitMQ's STOMP adapter declares a queue once per connection, so redeclare it from a new connection", Quoted(.queue))]
    AlreadyDeclared {
        /// The queue.
        queue: String,
    },
}

impl From<ServerError> for RabbitError {
    fn from(error: ServerError) -> Self {
        RabbitError::Refused(Refusal::from_server_error(&error))
    }
}
