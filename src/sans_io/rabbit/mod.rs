//! The RabbitMQ mapping: pika's calls, as STOMP frames RabbitMQ's Web-STOMP understands.
//!
//! Sans-IO like [`crate::client`]: a [`Channel`] wraps a [`Session`](crate::client::Session) and each call
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
//! - `/exchange/<exchange>/<routing key>` publishes to a named exchange; a
//!   SUBSCRIBE to it makes a queue bound with that key ([`ConsumeFrom`]).
//! - A `/` inside a name is written `%2F`.


mod channel;
mod diagnose;
mod features;
mod limits;
mod link;
mod outbox;
mod properties;
mod publish;
mod queue_type;
mod refusal;
mod routing;
mod source;

pub use channel::{Channel, ConsumeOk, Consumer};
pub use features::{
    check_filter_value, BrokerVersion, ConsumeArguments, Feature, StreamFilter, Unsupported, MATCH_UNFILTERED_HEADER, PRIORITY_HEADER,
    STREAM_FILTER_HEADER, STREAM_FILTER_VALUE_HEADER,
};
pub use diagnose::{diagnose_consume, diagnose_declare, QueueFacts};
pub use limits::{
    check_basic_publish, check_publish_size, check_round_trip_headers, publish_frame_size, FrameTooLarge,
    HeadersTooLarge, BROKER_HEADERS, PUBLISH_MAX_FRAME, WEB_STOMP_MAX_FRAME,
};
pub use link::{HeartBeats, Link};
pub use outbox::{NoRoom, Outbox, OutboxError, OutboxId, OutboxLimits, Unsent};
pub use properties::{header_name_usable, BasicProperties, Delivery, DELIVERY_COUNT_HEADER, RESENT_HEADER, STREAM_OFFSET_HEADER};
pub use publish::{check_publish, CheckedPublish, PendingPublish};
pub use routing::{
    binding_matches, matching_bindings, topic_matches, Binding, BindingDestination, ExchangeKind, Unroutable,
};
pub use queue_type::{
    check_stream_consume, named_queue_type, QueueType, QueueTypeProblem, StreamConsumeProblem, StreamOffset, QUEUE_TYPE_ARGUMENT,
};
pub use refusal::{RabbitError, Refusal, RefusalKind};
pub use source::{ConsumeFrom, ExchangeSubscription};


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

/// The stream arguments a newer STOMP adapter passes on too (3.10.8's ignores
/// them), each with what it takes: refused on an older broker, in words.
pub const STREAM_ARGUMENTS: [(&str, Feature); 3] = [
    ("x-max-age", Feature::StreamRetention),
    ("x-stream-max-segment-size-bytes", Feature::StreamRetention),
    ("x-stream-filter-size-bytes", Feature::StreamFilter),
];

/// The arguments whose value RabbitMQ reads as an integer.
const INTEGER_ARGUMENTS: [&str; 5] =
    ["x-expires", "x-max-length", "x-max-length-bytes", "x-max-priority", "x-message-ttl"];


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

    /// Its type when it says one (the field, else an `x-queue-type` argument);
    /// `None` leaves it to the vhost's default.
    pub fn declared_type(&self) -> Option<QueueType> {
        self.queue_type.or_else(|| named_queue_type(&self.arguments))
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

/// The management UI's name for the default exchange (`""` in AMQP and STOMP).
pub const DEFAULT_EXCHANGE_ALIAS: &str = "amq.default";

/// AMQP limits names to 255 bytes.
/// A name that goes into a STOMP destination: at most 255 bytes, and without
/// `%2F`, which RabbitMQ's STOMP adapter reads back as `/` (a queue declared as
/// `a%2Fb` was made as `a/b`, and a publish to it was said to route nowhere).
fn check_name(name: &str) -> Result<(), RabbitError> {
    if name.len() > 255 {
        return Err(RabbitError::NameTooLong(name.to_owned()));
    }
    if crate::sans_io::text::contains(name, "%2F") {
        return Err(RabbitError::UnescapableName(name.to_owned()));
    }
    Ok(())
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

