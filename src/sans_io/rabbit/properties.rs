//! What travels with a message ([`BasicProperties`], as SEND headers) and what
//! comes back to a consumer ([`Delivery`], read from a MESSAGE).

use super::{check_filter_value, parse_destination, RabbitError, Route, STREAM_FILTER_VALUE_HEADER};
use crate::client::{Message, SubscriptionId};
use crate::sans_io::text::parse_u64;

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
    /// A stream's filter value (`x-stream-filter-value`, RabbitMQ 3.13+): a
    /// consumer with a [`super::StreamFilter`] gets only the messages of its values.
    /// No comma, not empty (see [`super::check_filter_value`]).
    pub stream_filter_value: Option<String>,
    /// Application headers (pika's `headers={...}`), as text.
    pub headers: Vec<(String, String)>,
}

/// STOMP headers that map onto [`BasicProperties`] fields.
const PROPERTY_HEADERS: [&str; 13] = [
    STREAM_FILTER_VALUE_HEADER,
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
const RESERVED_HEADERS: [&str; 14] = [
    RESENT_HEADER,
    // RabbitMQ puts its own on every MESSAGE; an application's never arrived.
    "redelivered",
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
    /// `reply_to` as its publisher set it: Web-STOMP shows a bare queue name as
    /// `/reply-queue/<name>`; AMQP clients (pika, a peek) see the name.
    pub fn reply_to_as_sent(&self) -> Option<&str> {
        self.reply_to.as_deref().map(|to| to.strip_prefix("/reply-queue/").unwrap_or(to))
    }

    /// Persistent, nothing else: the tutorial's `delivery_mode=2`.
    pub fn persistent() -> Self {
        BasicProperties { persistent: true, ..BasicProperties::default() }
    }

    /// The SEND headers for these properties.
    pub(super) fn to_headers(&self) -> Result<Vec<(String, String)>, RabbitError> {
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
        if let Some(value) = &self.stream_filter_value {
            check_filter_value(value)?;
        }
        put(STREAM_FILTER_VALUE_HEADER, self.stream_filter_value.clone());
        for (name, value) in &self.headers {
            if !header_name_usable(name) {
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
            // RabbitMQ 4.x writes a stream message's flag as `1`.
            persistent: get("persistent").is_some_and(|v| v == "true" || v == "1"),
            content_type: get("content-type"),
            content_encoding: get("content-encoding"),
            priority: get("priority").and_then(|p| u8::try_from(parse_u64(&p)?).ok()),
            correlation_id: get("correlation-id"),
            reply_to: get("reply-to"),
            expiration: get("expiration"),
            message_id: get("amqp-message-id"),
            timestamp: get("timestamp").and_then(|t| parse_u64(&t)),
            kind: get("type"),
            user_id: get("user-id"),
            app_id: get("app-id"),
            stream_filter_value: get(STREAM_FILTER_VALUE_HEADER),
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
    /// What to pass to [`Channel::basic_ack`](crate::rabbit::Channel::basic_ack) or [`Channel::basic_nack`](crate::rabbit::Channel::basic_nack); `None`
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
            delivery_count: message.header(DELIVERY_COUNT_HEADER).and_then(parse_u64),
            stream_offset: message.header(STREAM_OFFSET_HEADER).and_then(parse_u64),
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

/// Whether an application header may be called `name`: not empty, not `x-…`
/// (RabbitMQ's), not a property's or STOMP's own header.
pub fn header_name_usable(name: &str) -> bool {
    !(name.is_empty() || name.starts_with("x-") || PROPERTY_HEADERS.contains(&name) || RESERVED_HEADERS.contains(&name))
}
