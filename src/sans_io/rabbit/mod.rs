//! The RabbitMQ mapping: pika's calls, as STOMP frames RabbitMQ's Web-STOMP understands.
//!
//! Sans-IO like [`crate::client`]: a [`Channel`] wraps a [`Session`] and each call
//! queues frames on it and returns the receipt that will confirm it. The browser
//! transport awaits those receipts; native tests inspect the frames.
//!
//! - [`Channel`]: `queue_declare`, `basic_publish`, `basic_consume`, `basic_ack`, …
//!   with [`QueueOptions`] and [`BasicProperties`]; deliveries come back as
//!   [`Delivery`].
//! - [`Link`]: a channel with its decoder, what a driver feeds socket bytes to.
//! - [`Outbox`]: publishes kept until confirmed, bounded ([`OutboxLimits`]).
//! - [`Refusal`]: what the broker refused, classified ([`RefusalKind`]) with a hint;
//!   [`diagnose_declare`] and [`diagnose_consume`] rebuild the words Web-STOMP
//!   3.10.8 leaves out, from the queue's [`QueueFacts`] (read from the management API).
//!
//! How RabbitMQ 3.10's STOMP adapter treats destinations decides the mapping:
//! - `/queue/<name>` *declares* the queue on every SEND or SUBSCRIBE (once per
//!   connection), durable unless a `durable:false` header says otherwise, and a
//!   non-durable one defaults to exclusive + auto-delete. Publishing or consuming
//!   through it from another connection would redeclare with those defaults and
//!   can be refused. So only [`Channel::queue_declare`] uses `/queue/`.
//! - `/amq/queue/<name>` never declares: SEND goes through the default exchange
//!   (unroutable messages are dropped, as with pika), SUBSCRIBE to a missing queue
//!   is refused with `NOT_FOUND`. [`Channel::basic_publish`] and
//!   [`Channel::basic_consume`] use it, which is what pika does.
//! - `/exchange/<exchange>/<routing key>` publishes to a named exchange.
//! - A `/` inside a name is written `%2F`.

use std::collections::HashMap;
use std::fmt;

mod diagnose;
mod limits;
mod link;
mod outbox;
mod queue_type;
mod routing;

pub use diagnose::{diagnose_consume, diagnose_declare, QueueFacts};
pub use limits::{
    check_basic_publish, check_publish_size, publish_frame_size, FrameTooLarge, ROUND_TRIP_MAX_FRAME,
    WEB_STOMP_MAX_FRAME,
};
pub use link::{HeartBeats, Link};
pub use outbox::{Outbox, OutboxError, OutboxId, OutboxLimits, PendingPublish, Unsent};
pub use routing::{
    binding_matches, matching_bindings, topic_matches, Binding, BindingDestination, ExchangeKind, Unroutable,
};
pub use queue_type::{
    check_stream_consume, QueueType, QueueTypeProblem, StreamConsumeProblem, StreamOffset, QUEUE_TYPE_ARGUMENT,
};

use crate::client::{AckMode, ClientError, Message, ReceiptId, ServerError, Session, SubscriptionId};

/// The queue arguments RabbitMQ's STOMP adapter passes on to `queue.declare`;
/// it silently ignores any other `x-` header, so Burrow refuses them instead.
pub const SUPPORTED_ARGUMENTS: [&str; 8] = [
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-expires",
    "x-max-length",
    "x-max-length-bytes",
    "x-max-priority",
    "x-message-ttl",
    "x-queue-type",
];

/// The arguments whose value RabbitMQ reads as an integer.
const INTEGER_ARGUMENTS: [&str; 5] =
    ["x-expires", "x-max-length", "x-max-length-bytes", "x-max-priority", "x-message-ttl"];

/// Publishing here is a no-op that the broker confirms: queue names starting with
/// `amq.` are reserved, so the default exchange routes it nowhere. Its receipt
/// proves every earlier frame on the channel (such as a declare) was accepted.
const FENCE_DESTINATION: &str = "/amq/queue/amq.burrow.fence";

/// pika's `queue_declare` flags and arguments.
///
/// ```
/// use burrow::rabbit::QueueOptions;
///
/// // queue_declare("task_queue", durable=True, arguments={"x-max-length": 1000})
/// let options = QueueOptions {
///     arguments: vec![("x-max-length".into(), "1000".into())],
///     ..QueueOptions::durable()
/// };
/// assert!(options.durable && !options.exclusive && !options.auto_delete);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueOptions {
    /// Survives a broker restart (pika: `durable=True`).
    pub durable: bool,
    /// Used by this connection only and deleted when it closes.
    pub exclusive: bool,
    /// Deleted when its last consumer goes away.
    pub auto_delete: bool,
    /// `x-` arguments such as `x-message-ttl` or `x-queue-type`, as text.
    pub arguments: Vec<(String, String)>,
    /// The queue type, sent as `x-queue-type`; `None` sends none (RabbitMQ makes
    /// a classic queue). An `x-queue-type` in `arguments` works too; both must agree.
    pub queue_type: Option<QueueType>,
}

impl Default for QueueOptions {
    /// pika's defaults: not durable, not exclusive, not auto-delete, no arguments.
    fn default() -> Self {
        QueueOptions { durable: false, exclusive: false, auto_delete: false, arguments: Vec::new(), queue_type: None }
    }
}

impl QueueOptions {
    /// A durable queue, as in the tutorial's `queue_declare(queue, durable=True)`.
    pub fn durable() -> Self {
        QueueOptions { durable: true, ..QueueOptions::default() }
    }

    /// A quorum queue (durable, as RabbitMQ requires): pika's
    /// `queue_declare(queue, durable=True, arguments={'x-queue-type': 'quorum'})`.
    pub fn quorum() -> Self {
        QueueOptions { durable: true, queue_type: Some(QueueType::Quorum), ..QueueOptions::default() }
    }

    /// A stream (durable, as RabbitMQ requires): pika's
    /// `queue_declare(queue, durable=True, arguments={'x-queue-type': 'stream'})`.
    pub fn stream() -> Self {
        QueueOptions { durable: true, queue_type: Some(QueueType::Stream), ..QueueOptions::default() }
    }

    /// The arguments as declared: [`QueueOptions::arguments`] with `x-queue-type`
    /// from [`QueueOptions::queue_type`] when only the field sets it.
    pub fn effective_arguments(&self) -> Vec<(String, String)> {
        let mut arguments = self.arguments.clone();
        if let Some(queue_type) = self.queue_type {
            if !arguments.iter().any(|(name, _)| name == QUEUE_TYPE_ARGUMENT) {
                arguments.push((QUEUE_TYPE_ARGUMENT.to_owned(), queue_type.as_str().to_owned()));
            }
        }
        arguments
    }
}

/// pika's `BasicProperties`: what travels with a message.
///
/// Each field becomes a header of the SEND (`persistent:true` for
/// `delivery_mode=2`); application headers may not take a name STOMP or RabbitMQ
/// uses itself (refused as [`RabbitError::ReservedHeader`]).
///
/// ```
/// use burrow::rabbit::BasicProperties;
///
/// // BasicProperties(delivery_mode=2, content_type="text/plain", headers={"trace": "42"})
/// let properties = BasicProperties {
///     content_type: Some("text/plain".into()),
///     headers: vec![("trace".into(), "42".into())],
///     ..BasicProperties::persistent()
/// };
/// assert!(properties.persistent);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BasicProperties {
    /// `delivery_mode=2`: written to disk in a durable queue, survives a restart.
    pub persistent: bool,
    /// MIME type of the body.
    pub content_type: Option<String>,
    /// Encoding of the body, such as `gzip`.
    pub content_encoding: Option<String>,
    /// 0 to 255; used by queues with `x-max-priority`.
    pub priority: Option<u8>,
    /// Correlates a reply with its request.
    pub correlation_id: Option<String>,
    /// Where to send a reply.
    pub reply_to: Option<String>,
    /// Per-message time to live in milliseconds, as text (AMQP's own format).
    pub expiration: Option<String>,
    /// The application's message id (AMQP `message_id`, STOMP `amqp-message-id`).
    pub message_id: Option<String>,
    /// Seconds since the epoch.
    pub timestamp: Option<u64>,
    /// The message's type name.
    pub kind: Option<String>,
    /// The publishing user; RabbitMQ checks it equals the connection's user.
    pub user_id: Option<String>,
    /// The publishing application.
    pub app_id: Option<String>,
    /// Application headers (pika's `headers={...}`), as text.
    pub headers: Vec<(String, String)>,
}

/// STOMP headers that map onto [`BasicProperties`] fields.
const PROPERTY_HEADERS: [&str; 12] = [
    "persistent",
    "content-type",
    "content-encoding",
    "priority",
    "correlation-id",
    "reply-to",
    "expiration",
    "amqp-message-id",
    "timestamp",
    "type",
    "user-id",
    "app-id",
];

/// Headers of a MESSAGE that describe the delivery, not the message. `receipt` is
/// there because RabbitMQ copies a SEND's `receipt` header into the message.
const DELIVERY_HEADERS: [&str; 10] = [
    "subscription",
    "destination",
    "message-id",
    "redelivered",
    "ack",
    "content-length",
    "receipt",
    RESENT_HEADER,
    DELIVERY_COUNT_HEADER,
    STREAM_OFFSET_HEADER,
];

/// How many times a quorum queue delivered the message before (RabbitMQ sets it
/// on redeliveries only; classic queues never do).
pub const DELIVERY_COUNT_HEADER: &str = "x-delivery-count";

/// A stream message's offset, on each delivery from a stream; also the SUBSCRIBE
/// header that says where to start.
pub const STREAM_OFFSET_HEADER: &str = "x-stream-offset";

/// Marks a message Burrow published again because the connection dropped before
/// its confirm: the broker may have had it already, so it may be a duplicate that
/// RabbitMQ itself does not flag as redelivered.
pub const RESENT_HEADER: &str = "burrow-resent";

/// Headers an application header may not be called: STOMP's and RabbitMQ's own.
const RESERVED_HEADERS: [&str; 13] = [
    RESENT_HEADER,
    "destination",
    "receipt",
    "transaction",
    "content-length",
    "message-id",
    "id",
    "ack",
    "subscription",
    "durable",
    "auto-delete",
    "exclusive",
    "prefetch-count",
];

impl BasicProperties {
    /// Persistent, nothing else: the tutorial's `delivery_mode=2`.
    pub fn persistent() -> Self {
        BasicProperties { persistent: true, ..BasicProperties::default() }
    }

    /// The SEND headers for these properties.
    fn to_headers(&self) -> Result<Vec<(String, String)>, RabbitError> {
        let mut headers = Vec::new();
        let mut put = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                headers.push((name.to_owned(), value));
            }
        };
        put("persistent", self.persistent.then(|| "true".to_owned()));
        put("content-type", self.content_type.clone());
        put("content-encoding", self.content_encoding.clone());
        put("priority", self.priority.map(|p| p.to_string()));
        put("correlation-id", self.correlation_id.clone());
        put("reply-to", self.reply_to.clone());
        put("expiration", self.expiration.clone());
        put("amqp-message-id", self.message_id.clone());
        put("timestamp", self.timestamp.map(|t| t.to_string()));
        put("type", self.kind.clone());
        put("user-id", self.user_id.clone());
        put("app-id", self.app_id.clone());
        for (name, value) in &self.headers {
            let taken = PROPERTY_HEADERS.contains(&name.as_str())
                || RESERVED_HEADERS.contains(&name.as_str())
                || name.starts_with("x-");
            if name.is_empty() || taken {
                return Err(RabbitError::ReservedHeader(name.clone()));
            }
            headers.push((name.clone(), value.clone()));
        }
        Ok(headers)
    }

    /// Reads the properties back from a MESSAGE's headers.
    fn from_headers(headers: &[(String, String)]) -> Self {
        let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        let mut seen = Vec::new();
        let custom = headers
            .iter()
            .filter(|(n, _)| {
                let ours = PROPERTY_HEADERS.contains(&n.as_str()) || DELIVERY_HEADERS.contains(&n.as_str());
                // Repeated headers: the first counts, as everywhere in STOMP.
                let repeated = seen.contains(n);
                seen.push(n.clone());
                !ours && !repeated
            })
            .cloned()
            .collect();
        BasicProperties {
            persistent: get("persistent").is_some_and(|v| v == "true"),
            content_type: get("content-type"),
            content_encoding: get("content-encoding"),
            priority: get("priority").and_then(|p| p.parse().ok()),
            correlation_id: get("correlation-id"),
            reply_to: get("reply-to"),
            expiration: get("expiration"),
            message_id: get("amqp-message-id"),
            timestamp: get("timestamp").and_then(|t| t.parse().ok()),
            kind: get("type"),
            user_id: get("user-id"),
            app_id: get("app-id"),
            headers: custom,
        }
    }
}

/// A message delivered to a consumer, as pika's `(method, properties, body)`.
///
/// Read from a MESSAGE frame: the routing key and exchange from its destination,
/// the properties from its headers.
///
/// ```
/// use burrow::client::{Message, SubscriptionId};
/// use burrow::rabbit::Delivery;
///
/// let header = |name: &str, value: &str| (name.to_owned(), value.to_owned());
/// let message = Message {
///     subscription: SubscriptionId("sub-1".into()),
///     destination: "/amq/queue/task_queue".into(),
///     message_id: "T_sub-1@@session-1@@1".into(),
///     ack: Some("T_sub-1@@session-1@@1".into()),
///     headers: vec![header("redelivered", "true"), header("persistent", "true"), header("trace", "42")],
///     body: b"task 1".to_vec(),
/// };
/// let delivery = Delivery::from_message(&message);
/// assert_eq!((delivery.exchange.as_str(), delivery.routing_key.as_str()), ("", "task_queue"));
/// assert!(delivery.redelivered && delivery.possibly_duplicate());
/// assert!(delivery.properties.persistent);
/// assert_eq!(delivery.properties.headers, [header("trace", "42")]);
/// assert_eq!(delivery.body_text(), "task 1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The consumer it went to (pika's `consumer_tag`).
    pub consumer_tag: SubscriptionId,
    /// What to pass to [`Channel::basic_ack`] or [`Channel::basic_nack`]; `None`
    /// for an auto-ack consumer.
    pub delivery_tag: Option<String>,
    /// Delivered before and not acknowledged (for example, its consumer crashed).
    pub redelivered: bool,
    /// Published again by Burrow's outbox after a lost confirm ([`RESENT_HEADER`]).
    pub resent: bool,
    /// A quorum queue's count of earlier deliveries ([`DELIVERY_COUNT_HEADER`]):
    /// `None` on a first delivery and from classic queues and streams.
    pub delivery_count: Option<u64>,
    /// Its offset in a stream ([`STREAM_OFFSET_HEADER`]); `None` from other queues.
    pub stream_offset: Option<u64>,
    /// The exchange it was published to (`""` for the default exchange).
    pub exchange: String,
    /// Its routing key (for the default exchange: the queue's name).
    pub routing_key: String,
    /// Its properties.
    pub properties: BasicProperties,
    /// The body, byte for byte.
    pub body: Vec<u8>,
}

impl Delivery {
    /// Reads a delivery from a MESSAGE.
    pub fn from_message(message: &Message) -> Self {
        let Route { exchange, routing_key } = parse_destination(&message.destination);
        Delivery {
            consumer_tag: message.subscription.clone(),
            delivery_tag: message.ack.clone(),
            redelivered: message.header("redelivered") == Some("true"),
            resent: message.header(RESENT_HEADER) == Some("true"),
            delivery_count: message.header(DELIVERY_COUNT_HEADER).and_then(|n| n.parse().ok()),
            stream_offset: message.header(STREAM_OFFSET_HEADER).and_then(|n| n.parse().ok()),
            exchange,
            routing_key,
            properties: BasicProperties::from_headers(&message.headers),
            body: message.body.clone(),
        }
    }

    /// As [`Delivery::from_message`], taking the message: its body moves instead
    /// of being copied (the reliable connection's path for every delivery).
    pub fn from_owned_message(mut message: Message) -> Self {
        let body = std::mem::take(&mut message.body);
        let mut delivery = Delivery::from_message(&message);
        delivery.body = body;
        delivery
    }

    /// Whether this may be a second copy: redelivered by the broker, or resent
    /// by a publisher after a lost confirm. At-least-once means only these repeat.
    pub fn possibly_duplicate(&self) -> bool {
        self.redelivered || self.resent
    }

    /// The body as text (invalid UTF-8 shown with replacement characters).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

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
        let kind = if text.contains("precondition_failed") {
            RefusalKind::PreconditionFailed
        } else if text.contains("not_found") {
            RefusalKind::NotFound
        } else if text.contains("resource_locked") {
            RefusalKind::ResourceLocked
        } else if text.contains("bad connect") && text.contains("virtual host") {
            RefusalKind::VhostDenied
        } else if text.contains("bad connect") && text.contains("access refused") {
            RefusalKind::BadCredentials
        } else if text.contains("access_refused") || text.contains("access refused") {
            RefusalKind::AccessRefused
        } else {
            RefusalKind::Other
        };
        Refusal { kind, message, detail }
    }

    /// What a user can do about it, in plain words.
    pub fn hint(&self) -> &'static str {
        match self.kind {
            RefusalKind::BadCredentials => "check the login and passcode",
            RefusalKind::VhostDenied => "check the virtual host name and the user's permissions on it",
            RefusalKind::AccessRefused => "the user needs configure/write/read permission for this",
            RefusalKind::NotFound => "declare the queue (or exchange) first",
            RefusalKind::PreconditionFailed => {
                "a queue that already exists cannot change its properties: use a new queue name, or declare it as it is"
            }
            RefusalKind::ResourceLocked => "the queue is exclusive to another connection",
            RefusalKind::Other => "see the broker's explanation",
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
    /// AMQP limits names to 255 bytes.
    #[error("the name {0:?} is longer than 255 bytes")]
    NameTooLong(String),
    /// A `x-` argument the STOMP adapter would silently ignore.
    #[error("the queue argument {0:?} is not passed on by RabbitMQ's STOMP adapter (supported: {list})", list = SUPPORTED_ARGUMENTS.join(", "))]
    UnsupportedArgument(String),
    /// An argument RabbitMQ reads as an integer got something else.
    #[error("the queue argument {name} must be a whole number, not {value:?}")]
    InvalidArgument {
        /// The argument.
        name: String,
        /// What was given.
        value: String,
    },
    /// An argument outside the range RabbitMQ takes.
    #[error("the queue argument {name} must be {range}, not {value:?}")]
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
    #[error("{0:?} is not a queue type: use classic, quorum or stream")]
    UnknownQueueType(String),
    /// [`QueueOptions::queue_type`] and the `x-queue-type` argument disagree.
    #[error("the queue type is {field} but the x-queue-type argument says {argument:?}")]
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
    /// A stream subscription RabbitMQ would answer by closing the connection.
    #[error("{0} (RabbitMQ closes the connection otherwise)")]
    StreamConsume(StreamConsumeProblem),
    /// A stream offset that is not `first`, `last`, `next`, `offset=N` or `timestamp=S`.
    #[error("{0:?} is not a stream offset: use first, last, next, offset=N or timestamp=<seconds>")]
    InvalidStreamOffset(String),
    /// An application header that STOMP or RabbitMQ uses for itself.
    #[error("the header name {0:?} is reserved; choose another application header name")]
    ReservedHeader(String),
    /// The message would make a frame larger than the limit.
    #[error("{0}")]
    TooLarge(#[from] limits::FrameTooLarge),
    /// The outbox refused the message.
    #[error("{0}")]
    Outbox(#[from] outbox::OutboxError),
    /// RabbitMQ's STOMP adapter declares a queue at most once per connection, so a
    /// second declare with other options on the same connection would silently do nothing.
    #[error("this connection already declared {queue:?} with other options; RabbitMQ's STOMP adapter declares a queue once per connection, so redeclare it from a new connection")]
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

/// A consumer as [`Channel::basic_consume`] made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    /// Its tag (the STOMP subscription id).
    pub tag: SubscriptionId,
    /// The queue it consumes from.
    pub queue: String,
    /// Whether the broker considers deliveries acknowledged on sending.
    pub auto_ack: bool,
    /// At most this many unacknowledged deliveries at once; 0 is unlimited.
    pub prefetch: u16,
}

/// What [`Channel::basic_consume`] started (AMQP's `basic.consume-ok`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumeOk {
    /// The consumer's tag: deliveries carry it, [`Channel::basic_cancel`] takes it.
    pub consumer_tag: SubscriptionId,
    /// The receipt that comes once the broker accepted the subscription.
    pub receipt: ReceiptId,
}

/// pika's channel, over a STOMP [`Session`]: each call queues frames and returns
/// the receipt that confirms it.
///
/// ```
/// use std::time::Duration;
/// use burrow::client::{ConnectOptions, Session, Transmit};
/// use burrow::rabbit::{BasicProperties, Channel, QueueOptions};
/// use burrow::stomp::{Command, Frame};
///
/// let mut channel = Channel::new(Session::new(ConnectOptions::new("/")));
/// channel.session_mut().connect(Duration::ZERO);
/// channel.session_mut().handle_frame(Duration::ZERO, Frame::new(Command::Connected));
///
/// channel.queue_declare("task_queue", &QueueOptions::durable())?;
/// let receipt = channel.basic_publish("", "task_queue", b"task".to_vec(), &BasicProperties::persistent(), true)?;
/// assert!(receipt.is_some(), "RabbitMQ's RECEIPT for it is its publisher confirm");
///
/// let frames: Vec<Frame> = std::iter::from_fn(|| channel.session_mut().poll_transmit())
///     .filter_map(|t| match t {
///         Transmit::Frame(frame) => Some(frame),
///         Transmit::HeartBeat => None,
///     })
///     .collect();
/// let commands: Vec<Command> = frames.iter().map(|f| f.command).collect();
/// // CONNECT; the declare (BEGIN, SEND /queue/…, ABORT, a fenced SEND); the publish.
/// use Command::*;
/// assert_eq!(commands, [Connect, Begin, Send, Abort, Send, Send]);
/// let publish = &frames[5];
/// assert_eq!(publish.header("destination"), Some("/amq/queue/task_queue"));
/// assert_eq!(publish.header("persistent"), Some("true"));
/// # Ok::<(), burrow::rabbit::RabbitError>(())
/// ```
#[derive(Debug)]
pub struct Channel {
    session: Session,
    declared: HashMap<String, QueueOptions>,
    consumers: HashMap<SubscriptionId, Consumer>,
    prefetch: u16,
    next_transaction: u64,
    max_frame: usize,
}

impl Channel {
    /// A channel over `session` (connected or not yet).
    pub fn new(session: Session) -> Self {
        Channel {
            session,
            declared: HashMap::new(),
            consumers: HashMap::new(),
            prefetch: 0,
            next_transaction: 0,
            max_frame: limits::ROUND_TRIP_MAX_FRAME,
        }
    }

    /// Refuses publishes whose frame would exceed `bytes` (default
    /// [`limits::ROUND_TRIP_MAX_FRAME`], what Burrow's own decoder takes back).
    pub fn set_max_frame(&mut self, bytes: usize) {
        self.max_frame = bytes;
    }

    /// The session underneath, for the transport to drive.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The session underneath, mutably, for the transport to drive.
    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// The consumers made on this channel.
    pub fn consumers(&self) -> impl Iterator<Item = &Consumer> {
        self.consumers.values()
    }

    /// `queue_declare(queue, durable, exclusive, auto_delete, arguments)`.
    ///
    /// Frames: `BEGIN`; `SEND /queue/<name>` inside that transaction with
    /// `durable`, `auto-delete`, `exclusive` and the `x-` arguments as headers
    /// (RabbitMQ declares the queue on reading it, and the message is never
    /// published); `ABORT`; then a `SEND` with a receipt to a destination that
    /// routes nowhere. That receipt comes only after the broker accepted the
    /// declare; a refusal (`PRECONDITION_FAILED`) arrives as ERROR instead and
    /// closes the connection. No message of the queue is consumed or touched.
    pub fn queue_declare(&mut self, queue: &str, options: &QueueOptions) -> Result<ReceiptId, RabbitError> {
        check_name(queue)?;
        if queue.is_empty() {
            return Err(RabbitError::EmptyQueueName);
        }
        let arguments = queue_type::check_queue_type(options, check_arguments(&options.arguments)?)?;
        match self.declared.get(queue) {
            Some(previous) if previous != options => {
                return Err(RabbitError::AlreadyDeclared { queue: queue.to_owned() });
            }
            _ => {}
        }
        let flag = |b: bool| if b { "true" } else { "false" }.to_owned();
        // All three always sent: RabbitMQ's defaults (durable; and for a
        // non-durable queue, exclusive + auto-delete) are not pika's.
        let mut headers = vec![
            ("durable".to_owned(), flag(options.durable)),
            ("auto-delete".to_owned(), flag(options.auto_delete)),
            ("exclusive".to_owned(), flag(options.exclusive)),
        ];
        headers.extend(arguments);
        self.next_transaction += 1;
        let tx = format!("burrow-declare-{}", self.next_transaction);
        self.session.begin(&tx, false)?;
        headers.push(("transaction".to_owned(), tx.clone()));
        self.session.send(&format!("/queue/{}", escape_name(queue)), headers, Vec::new(), false)?;
        self.session.abort(&tx, false)?;
        let receipt = self.session.send(FENCE_DESTINATION, Vec::new(), Vec::new(), true)?;
        self.declared.insert(queue.to_owned(), options.clone());
        receipt.ok_or(RabbitError::Client(ClientError::MissingReceipt))
    }

    /// `basic_publish(exchange, routing_key, body, properties)`.
    ///
    /// Frame: `SEND /amq/queue/<routing key>` for the default exchange (`""`),
    /// `SEND /exchange/<exchange>/<routing key>` otherwise, with the properties as
    /// headers (`persistent:true` for `delivery_mode=2`). With `confirm`, a
    /// `receipt` header: RabbitMQ sends the RECEIPT after its publisher confirm.
    /// As with pika, a message no queue takes is dropped (and still confirmed).
    pub fn basic_publish(
        &mut self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        properties: &BasicProperties,
        confirm: bool,
    ) -> Result<Option<ReceiptId>, RabbitError> {
        self.publish_marked(exchange, routing_key, body, properties, confirm, false)
    }

    /// [`Channel::basic_publish`], with `resent` adding the [`RESENT_HEADER`] that
    /// marks a message published again after its confirm was lost.
    pub(crate) fn publish_marked(
        &mut self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        properties: &BasicProperties,
        confirm: bool,
        resent: bool,
    ) -> Result<Option<ReceiptId>, RabbitError> {
        let mut headers = check_publish(exchange, routing_key, body.len(), properties, self.max_frame)?;
        let destination = publish_destination(exchange, routing_key);
        if resent {
            headers.push((RESENT_HEADER.to_owned(), "true".to_owned()));
        }
        Ok(self.session.send(&destination, headers, body, confirm)?)
    }

    /// `basic_qos(prefetch_count)`: the prefetch of consumers made after it on this
    /// channel (RabbitMQ's STOMP applies prefetch per SUBSCRIBE). 0 is unlimited.
    pub fn basic_qos(&mut self, prefetch_count: u16) {
        self.prefetch = prefetch_count;
    }

    /// `basic_consume(queue, auto_ack)`, with an optional prefetch overriding
    /// [`Channel::basic_qos`].
    ///
    /// Frame: `SUBSCRIBE /amq/queue/<queue>` with `ack:auto` or
    /// `ack:client-individual` (each [`Channel::basic_ack`] acknowledges one
    /// delivery), `prefetch-count` and a receipt. A missing queue is refused with
    /// `NOT_FOUND`, as pika's `basic_consume` is.
    pub fn basic_consume(
        &mut self,
        queue: &str,
        auto_ack: bool,
        prefetch: Option<u16>,
    ) -> Result<ConsumeOk, RabbitError> {
        let prefetch = prefetch.unwrap_or(self.prefetch);
        self.subscribe(queue, auto_ack, prefetch, None)
    }

    /// `basic_consume(queue, arguments={'x-stream-offset': offset})` on a stream:
    /// manual acknowledgement (each ack is credit for one more message) and
    /// `prefetch` above 0, as RabbitMQ requires.
    ///
    /// Frame: as [`Channel::basic_consume`], with `x-stream-offset`.
    ///
    /// # Errors
    ///
    /// [`RabbitError::StreamConsume`] for a prefetch of 0, and the name checks of
    /// [`Channel::basic_consume`]. Nothing is sent then.
    pub fn basic_consume_stream(
        &mut self,
        queue: &str,
        prefetch: u16,
        offset: &StreamOffset,
    ) -> Result<ConsumeOk, RabbitError> {
        check_stream_consume(false, prefetch)?;
        self.subscribe(queue, false, prefetch, Some(offset))
    }

    fn subscribe(
        &mut self,
        queue: &str,
        auto_ack: bool,
        prefetch: u16,
        offset: Option<&StreamOffset>,
    ) -> Result<ConsumeOk, RabbitError> {
        check_name(queue)?;
        if queue.is_empty() {
            return Err(RabbitError::EmptyQueueName);
        }
        let ack = if auto_ack { AckMode::Auto } else { AckMode::ClientIndividual };
        // Always sent: without it RabbitMQ keeps whatever prefetch an earlier
        // SUBSCRIBE on this connection set.
        let mut headers = vec![("prefetch-count".to_owned(), prefetch.to_string())];
        if let Some(offset) = offset {
            headers.push((STREAM_OFFSET_HEADER.to_owned(), offset.header_value()));
        }
        let destination = format!("/amq/queue/{}", escape_name(queue));
        let subscribed = self.session.subscribe(&destination, ack, headers, true)?;
        let consumer_tag = subscribed.id;
        let consumer = Consumer { tag: consumer_tag.clone(), queue: queue.to_owned(), auto_ack, prefetch };
        self.consumers.insert(consumer_tag.clone(), consumer);
        let receipt = subscribed.receipt.ok_or(RabbitError::Client(ClientError::MissingReceipt))?;
        Ok(ConsumeOk { consumer_tag, receipt })
    }

    /// `basic_cancel(consumer_tag)`: UNSUBSCRIBE, confirmed by receipt.
    pub fn basic_cancel(&mut self, consumer_tag: &SubscriptionId) -> Result<Option<ReceiptId>, RabbitError> {
        self.consumers.remove(consumer_tag);
        Ok(self.session.unsubscribe(consumer_tag, true)?)
    }

    /// `basic_ack(delivery_tag)`: ACK with `id` = the MESSAGE's `ack` header.
    pub fn basic_ack(&mut self, delivery_tag: &str) -> Result<(), ClientError> {
        self.session.ack(delivery_tag, None, false)?;
        Ok(())
    }

    /// `basic_nack(delivery_tag, requeue)`: NACK; with `requeue: false` RabbitMQ
    /// drops or dead-letters the message instead of queueing it again.
    pub fn basic_nack(&mut self, delivery_tag: &str, requeue: bool) -> Result<(), ClientError> {
        self.session.nack(delivery_tag, None, requeue, false)?;
        Ok(())
    }
}

/// Everything [`Channel::basic_publish`] checks before sending, without a channel:
/// names within 255 bytes, no reserved application header, and a frame within
/// `max_frame` bytes. Returns the SEND headers for `properties`.
///
/// # Errors
///
/// [`RabbitError::NameTooLong`], [`RabbitError::ReservedHeader`] or
/// [`RabbitError::TooLarge`]: the broker would refuse it (or never confirm it), so
/// it is refused here, before it can hold up anything else.
pub fn check_publish(
    exchange: &str,
    routing_key: &str,
    body_len: usize,
    properties: &BasicProperties,
    max_frame: usize,
) -> Result<Vec<(String, String)>, RabbitError> {
    check_name(exchange)?;
    check_name(routing_key)?;
    let headers = properties.to_headers()?;
    let destination = publish_destination(exchange, routing_key);
    let mut counted = headers.clone();
    // A resent copy carries one more header; count it so a resend never goes over.
    counted.push((RESENT_HEADER.to_owned(), "true".to_owned()));
    limits::check_publish_size(&destination, &counted, body_len, max_frame).map_err(RabbitError::TooLarge)?;
    Ok(headers)
}

fn check_name(name: &str) -> Result<(), RabbitError> {
    if name.len() > 255 {
        return Err(RabbitError::NameTooLong(name.to_owned()));
    }
    Ok(())
}

fn check_arguments(arguments: &[(String, String)]) -> Result<Vec<(String, String)>, RabbitError> {
    arguments
        .iter()
        .map(|(name, value)| {
            if !SUPPORTED_ARGUMENTS.contains(&name.as_str()) {
                return Err(RabbitError::UnsupportedArgument(name.clone()));
            }
            if INTEGER_ARGUMENTS.contains(&name.as_str()) {
                let Ok(number) = value.trim().parse::<i64>() else {
                    return Err(RabbitError::InvalidArgument { name: name.clone(), value: value.clone() });
                };
                // RabbitMQ refuses these with PRECONDITION_FAILED (value_negative,
                // value_zero, max_value_exceeded), closing the connection.
                let range = match name.as_str() {
                    "x-max-priority" => (!(0..=255).contains(&number)).then_some("between 0 and 255"),
                    "x-expires" => (number <= 0).then_some("above 0 (milliseconds)"),
                    _ => (number < 0).then_some("0 or more"),
                };
                if let Some(range) = range {
                    return Err(RabbitError::ArgumentOutOfRange { name: name.clone(), value: value.clone(), range });
                }
            }
            Ok((name.clone(), value.clone()))
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(|checked| {
            let has = |wanted: &str| checked.iter().any(|(name, _)| name == wanted);
            if has("x-dead-letter-routing-key") && !has("x-dead-letter-exchange") {
                return Err(RabbitError::RoutingKeyWithoutDeadLetterExchange);
            }
            Ok(checked)
        })
}

/// Where `basic_publish(exchange, routing_key)` sends: `/amq/queue/<key>` for the
/// default exchange (never declares), `/exchange/<exchange>[/<key>]` otherwise.
pub fn publish_destination(exchange: &str, routing_key: &str) -> String {
    if exchange.is_empty() {
        format!("/amq/queue/{}", escape_name(routing_key))
    } else if routing_key.is_empty() {
        format!("/exchange/{}", escape_name(exchange))
    } else {
        format!("/exchange/{}/{}", escape_name(exchange), escape_name(routing_key))
    }
}

/// RabbitMQ splits destinations at `/` and reads `%2F` back as `/`.
pub fn escape_name(name: &str) -> String {
    name.replace('/', "%2F")
}

/// Where a message was published: the two names of `basic_publish(exchange, routing_key)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Route {
    /// The exchange (`""` for the default exchange).
    pub exchange: String,
    /// The routing key (for the default exchange: the queue's name).
    pub routing_key: String,
}

impl Route {
    /// A route from its two names.
    pub fn new(exchange: impl Into<String>, routing_key: impl Into<String>) -> Self {
        Route { exchange: exchange.into(), routing_key: routing_key.into() }
    }
}

/// Reads the [`Route`] from a MESSAGE's destination, undoing RabbitMQ's `%XX`
/// escapes (it escapes `/`, `%` and non-ASCII bytes there).
///
/// ```
/// use burrow::rabbit::{parse_destination, Route};
///
/// assert_eq!(parse_destination("/amq/queue/a%2Fb"), Route::new("", "a/b"));
/// assert_eq!(parse_destination("/exchange/logs/info"), Route::new("logs", "info"));
/// ```
pub fn parse_destination(destination: &str) -> Route {
    let mut parts = destination.splitn(4, '/').skip(1);
    match (parts.next(), parts.next(), parts.next()) {
        (Some("queue"), Some(name), None) => Route::new("", unescape(name)),
        (Some("amq"), Some("queue"), Some(name)) => Route::new("", unescape(name)),
        (Some("topic"), Some(key), None) => Route::new("amq.topic", unescape(key)),
        (Some("exchange"), Some(exchange), key) => Route::new(unescape(exchange), key.map(unescape).unwrap_or_default()),
        _ => Route::new("", destination),
    }
}

fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
