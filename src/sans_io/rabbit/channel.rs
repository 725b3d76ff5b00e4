//! pika's channel over a STOMP session: each call queues its frames and returns the
//! receipt that will confirm it.

use crate::sans_io::map::Map;
use crate::sans_io::text::parse_i64;
use std::time::Duration;

use super::{
    check_name, limits, check_stream_consume, escape_name, queue_type, BasicProperties, CheckedPublish, ConsumeArguments,
    ConsumeFrom, Feature, PendingPublish, QueueOptions, RabbitError, StreamOffset, INTEGER_ARGUMENTS, RESENT_HEADER,
    STREAM_ARGUMENTS, SUPPORTED_ARGUMENTS,
};
use crate::client::{AckMode, ClientError, ReceiptId, Session, SubscriptionId};

/// Publishing here is a no-op that the broker confirms: queue names starting with
/// `amq.` are reserved, so the default exchange routes it nowhere. Its receipt
/// proves every earlier frame on the channel (such as a declare) was accepted.
const FENCE_DESTINATION: &str = "/amq/queue/amq.burrow.fence";

/// A consumer as [`Channel::basic_consume`] made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    /// Its tag (the STOMP subscription id).
    pub tag: SubscriptionId,
    /// The queue it consumes from: its name, or, for a transient exchange
    /// subscription on a broker that gave no session id (so RabbitMQ names the
    /// queue and never says the name), the subscription in words.
    pub queue: String,
    /// Whether [`Consumer::queue`] is the queue's name.
    pub queue_named: bool,
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
/// let now = Duration::from_millis(3);
/// channel.queue_declare(now, "task_queue", &QueueOptions::durable())?;
/// let receipt = channel.basic_publish(now, "", "task_queue", b"task".to_vec(), &BasicProperties::persistent(), true)?;
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
    declared: Map<String, QueueOptions>,
    consumers: Map<SubscriptionId, Consumer>,
    prefetch: u16,
    next_transaction: u64,
    /// Transient subscription queues named on this connection.
    transient_queues: u64,
    max_frame: usize,
}

impl Channel {
    /// A channel over `session` (connected or not yet).
    pub fn new(session: Session) -> Self {
        Channel {
            session,
            declared: Map::new(),
            consumers: Map::new(),
            prefetch: 0,
            next_transaction: 0,
            transient_queues: 0,
            max_frame: limits::PUBLISH_MAX_FRAME,
        }
    }

    /// Refuses publishes whose frame would exceed `bytes` (default
    /// [`limits::PUBLISH_MAX_FRAME`], what RabbitMQ 3.10.8 and 4.x take by default).
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
    ///
    /// A queue this channel declared before is refused with
    /// [`RabbitError::AlreadyDeclared`] (the adapter declares once per
    /// connection), but for an exclusive queue declared again as it was.
    pub fn queue_declare(
        &mut self,
        now: Duration,
        queue: &str,
        options: &QueueOptions,
    ) -> Result<ReceiptId, RabbitError> {
        check_name(queue)?;
        if queue.is_empty() {
            return Err(RabbitError::EmptyQueueName);
        }
        if queue.starts_with("amq.") {
            return Err(RabbitError::ReservedQueueName(queue.to_owned()));
        }
        let arguments = queue_type::check_queue_type(options, check_arguments(&options.arguments, self.server())?)?;
        // The adapter would skip a second declare here and still let the receipt
        // through: with other options, and with the same ones when the queue was
        // deleted since (the app's Delete, a lesson's reset). Only the connection
        // that owns an exclusive queue may declare it again, and it cannot lose it
        // to another client's delete.
        match self.declared.get(queue) {
            Some(previous) if previous != options || !options.exclusive => {
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
        self.session.begin(now, &tx, false)?;
        headers.push(("transaction".to_owned(), tx.clone()));
        self.session.send(now, &format!("/queue/{}", escape_name(queue)), headers, Vec::new(), false)?;
        self.session.abort(now, &tx, false)?;
        let receipt = self.session.send(now, FENCE_DESTINATION, Vec::new(), Vec::new(), true)?;
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
        now: Duration,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        properties: &BasicProperties,
        confirm: bool,
    ) -> Result<Option<ReceiptId>, RabbitError> {
        let publish = PendingPublish {
            exchange: exchange.to_owned(),
            routing_key: routing_key.to_owned(),
            body,
            properties: properties.clone(),
        };
        if publish.properties.stream_filter_value.is_some() {
            Feature::StreamFilter.check(self.server())?;
        }
        let (destination, headers, body) = CheckedPublish::new(publish, self.max_frame)?.into_send_parts();
        Ok(self.session.send(now, &destination, headers, body, confirm)?)
    }

    /// Sends a publish checked before (see [`CheckedPublish`]) with a receipt,
    /// nothing checked again; `resent` adds the [`RESENT_HEADER`] that marks a
    /// message published again after its confirm was lost.
    ///
    /// # Errors
    ///
    /// [`ClientError`] when the session cannot send (not connected).
    pub fn publish_checked(
        &mut self,
        now: Duration,
        publish: &CheckedPublish,
        resent: bool,
    ) -> Result<ReceiptId, ClientError> {
        let mut headers = publish.headers().to_vec();
        if resent {
            headers.push((RESENT_HEADER.to_owned(), "true".to_owned()));
        }
        // Cloned: the outbox keeps the message until its confirm.
        let body = publish.body().to_vec();
        self.session.send(now, publish.destination(), headers, body, true)?.ok_or(ClientError::MissingReceipt)
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
        now: Duration,
        queue: &str,
        auto_ack: bool,
        prefetch: Option<u16>,
    ) -> Result<ConsumeOk, RabbitError> {
        let prefetch = prefetch.unwrap_or(self.prefetch);
        let ack = if auto_ack { AckMode::Auto } else { AckMode::ClientIndividual };
        self.subscribe(now, queue, ack, prefetch, &ConsumeArguments::default())
    }

    /// `basic_consume(queue)` with the STOMP ack mode given outright: `client`
    /// (one ACK acknowledges every earlier delivery of the subscription, as
    /// AMQP's `multiple=True`), `client-individual` or `auto`, and `prefetch`.
    pub fn basic_consume_with(
        &mut self,
        now: Duration,
        queue: &str,
        ack: AckMode,
        prefetch: u16,
    ) -> Result<ConsumeOk, RabbitError> {
        self.subscribe(now, queue, ack, prefetch, &ConsumeArguments::default())
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
        now: Duration,
        queue: &str,
        prefetch: u16,
        offset: &StreamOffset,
    ) -> Result<ConsumeOk, RabbitError> {
        check_stream_consume(false, prefetch)?;
        let arguments = ConsumeArguments { stream_offset: Some(*offset), ..ConsumeArguments::default() };
        self.subscribe(now, queue, AckMode::ClientIndividual, prefetch, &arguments)
    }

    /// `basic_consume(queue, arguments={...})` with what [`ConsumeArguments`] holds:
    /// a stream's offset and filter, a priority. What the connected broker lacks
    /// (by its `server` header: a stream filter before RabbitMQ 3.13, a priority
    /// before 4.0) is refused here, because that broker would ignore it silently.
    ///
    /// # Errors
    ///
    /// [`RabbitError::Unsupported`], [`RabbitError::InvalidStreamFilter`],
    /// [`RabbitError::StreamConsume`] for a stream subscription without manual acks
    /// or prefetch, and the name checks of [`ConsumeFrom::check`]. Nothing is sent then.
    pub fn basic_consume_arguments(
        &mut self,
        now: Duration,
        source: &ConsumeFrom,
        ack: AckMode,
        prefetch: u16,
        arguments: &ConsumeArguments,
    ) -> Result<ConsumeOk, RabbitError> {
        arguments.check(self.server())?;
        if arguments.is_stream() {
            check_stream_consume(ack == AckMode::Auto, prefetch)?;
        }
        self.subscribe_to(now, source, ack, prefetch, arguments)
    }

    /// The connected broker's `server` header (`RabbitMQ/3.10.8`), once connected.
    pub fn server(&self) -> Option<&str> {
        self.session.info().and_then(|info| info.server.as_deref())
    }

    /// `basic_consume` from a [`ConsumeFrom`]: a queue as
    /// [`Channel::basic_consume_with`], or an exchange subscription.
    ///
    /// Frame: `SUBSCRIBE /exchange/<exchange>/<binding key>` (RabbitMQ makes and
    /// binds the queue), with `x-queue-name`, `durable:true`, `auto-delete:false`,
    /// `exclusive:false` for a durable one; for a transient one `x-queue-name:
    /// stomp-subscription-<session>-<n>`, `durable:false`, `auto-delete:true` when
    /// the broker gave a session id (so [`Consumer::queue`] is its name);
    /// `prefetch-count` and the ack mode as for a queue.
    ///
    /// # Errors
    ///
    /// The name checks of [`ConsumeFrom::check`]; nothing is sent then.
    pub fn basic_consume_from(
        &mut self,
        now: Duration,
        source: &ConsumeFrom,
        ack: AckMode,
        prefetch: u16,
    ) -> Result<ConsumeOk, RabbitError> {
        self.subscribe_to(now, source, ack, prefetch, &ConsumeArguments::default())
    }

    fn subscribe(
        &mut self,
        now: Duration,
        queue: &str,
        ack: AckMode,
        prefetch: u16,
        arguments: &ConsumeArguments,
    ) -> Result<ConsumeOk, RabbitError> {
        self.subscribe_to(now, &ConsumeFrom::queue(queue), ack, prefetch, arguments)
    }

    fn subscribe_to(
        &mut self,
        now: Duration,
        source: &ConsumeFrom,
        ack: AckMode,
        prefetch: u16,
        arguments: &ConsumeArguments,
    ) -> Result<ConsumeOk, RabbitError> {
        let destination = source.destination()?;
        // Always sent: without it RabbitMQ keeps whatever prefetch an earlier
        // SUBSCRIBE on this connection set.
        let mut headers = vec![("prefetch-count".to_owned(), prefetch.to_string())];
        headers.extend(arguments.headers());
        let transient_queue = source.is_transient().then(|| self.transient_queue_name()).flatten();
        match &transient_queue {
            Some(name) => headers.extend(transient_queue_headers(name)),
            None => headers.extend(source.subscribe_headers()),
        }
        let subscribed = self.session.subscribe(now, &destination, ack, headers, true)?;
        let consumer_tag = subscribed.id;
        let auto_ack = ack == AckMode::Auto;
        let named = transient_queue.or_else(|| source.queue_name().map(str::to_owned));
        let queue_named = named.is_some();
        let queue = named.unwrap_or_else(|| source.to_string());
        let consumer = Consumer { tag: consumer_tag.clone(), queue, queue_named, auto_ack, prefetch };
        self.consumers.insert(consumer_tag.clone(), consumer);
        let receipt = subscribed.receipt.ok_or(RabbitError::Client(ClientError::MissingReceipt))?;
        Ok(ConsumeOk { consumer_tag, receipt })
    }

    /// The consumer whose tag is `tag`, while subscribed.
    pub fn consumer(&self, tag: &SubscriptionId) -> Option<&Consumer> {
        self.consumers.get(tag)
    }

    /// The name Burrow gives a transient exchange subscription's queue, so that
    /// the card and the API can say which queue it reads (RabbitMQ never tells
    /// the name it makes up). Unique: the broker's session id of this connection
    /// and a count; it keeps RabbitMQ's own prefix, so permissions and policies
    /// written for Web-STOMP's names (`^stomp-subscription-`) still match.
    /// `None` (RabbitMQ names it) when the broker gave no session id or the name
    /// would be too long.
    fn transient_queue_name(&mut self) -> Option<String> {
        let session = self.session.info()?.session.as_deref()?;
        self.transient_queues += 1;
        let session = session.strip_prefix("session-").unwrap_or(session);
        let name = format!("stomp-subscription-{session}-{}", self.transient_queues);
        (name.len() <= 255 && !name.contains('/')).then_some(name)
    }

    /// `basic_cancel(consumer_tag)`: UNSUBSCRIBE, confirmed by receipt.
    pub fn basic_cancel(
        &mut self,
        now: Duration,
        consumer_tag: &SubscriptionId,
    ) -> Result<Option<ReceiptId>, RabbitError> {
        self.consumers.remove(consumer_tag);
        Ok(self.session.unsubscribe(now, consumer_tag, true)?)
    }

    /// Forgets a consumer RabbitMQ cancelled itself (see
    /// [`crate::client::ServerError::cancelled_subscription`]): nothing is sent.
    pub fn forget_consumer(&mut self, consumer_tag: &SubscriptionId) {
        self.consumers.remove(consumer_tag);
    }

    /// `basic_ack(delivery_tag)`: ACK with `id` = the MESSAGE's `ack` header.
    pub fn basic_ack(&mut self, now: Duration, delivery_tag: &str) -> Result<(), ClientError> {
        self.session.ack(now, delivery_tag, None, false)?;
        Ok(())
    }

    /// `basic_nack(delivery_tag, requeue)`: NACK; with `requeue: false` RabbitMQ
    /// drops or dead-letters the message instead of queueing it again.
    pub fn basic_nack(&mut self, now: Duration, delivery_tag: &str, requeue: bool) -> Result<(), ClientError> {
        self.session.nack(now, delivery_tag, None, requeue, false)?;
        Ok(())
    }
}

/// A transient subscription's SUBSCRIBE headers with the queue named:
/// non-durable and auto-delete as RabbitMQ's own (4.0.5 makes it exclusive too).
fn transient_queue_headers(name: &str) -> [(String, String); 3] {
    [
        ("x-queue-name".to_owned(), name.to_owned()),
        ("durable".to_owned(), "false".to_owned()),
        ("auto-delete".to_owned(), "true".to_owned()),
    ]
}

fn check_arguments(arguments: &[(String, String)], server: Option<&str>) -> Result<Vec<(String, String)>, RabbitError> {
    // A loop, not `collect::<Result<..>>()`: its adapter is 1.2 KB of wasm here alone.
    for (name, value) in arguments {
        match STREAM_ARGUMENTS.iter().find(|(stream, _)| stream == name) {
            Some((_, feature)) => {
                feature.check(server)?;
                check_stream_argument(name, value)?;
            }
            None => check_argument(name, value)?,
        }
    }
    let has = |wanted: &str| arguments.iter().any(|(name, _)| name == wanted);
    if has("x-dead-letter-routing-key") && !has("x-dead-letter-exchange") {
        return Err(RabbitError::RoutingKeyWithoutDeadLetterExchange);
    }
    Ok(arguments.to_vec())
}

/// A stream argument's value, as RabbitMQ checks it (measured with pika on 4.0.5;
/// a refusal closes the connection).
fn check_stream_argument(name: &str, value: &str) -> Result<(), RabbitError> {
    let given = value.trim();
    let whole_in = |range: std::ops::RangeInclusive<i64>| parse_i64(given).is_some_and(|n| range.contains(&n));
    let (value_ok, range) = match name {
        // A whole number above 0 and one unit: "7D"; "7" and "0D" are invalid_max_age.
        "x-max-age" => (
            given.split_at_checked(given.len().saturating_sub(1)).is_some_and(|(number, unit)| {
                ["Y", "M", "D", "h", "m", "s"].contains(&unit) && parse_i64(number).is_some_and(|n| n > 0)
            }),
            "a whole number above 0 and a unit (Y, M, D, h, m or s), such as \"7D\"",
        ),
        "x-stream-filter-size-bytes" => (whole_in(16..=255), "a whole number from 16 to 255"),
        _ => (whole_in(0..=3_000_000_000), "a whole number from 0 to 3000000000"),
    };
    if value_ok {
        return Ok(());
    }
    Err(RabbitError::ArgumentOutOfRange { name: name.to_owned(), value: value.to_owned(), range })
}

fn check_argument(name: &str, value: &str) -> Result<(), RabbitError> {
    if !SUPPORTED_ARGUMENTS.contains(&name) {
        return Err(RabbitError::UnsupportedArgument(name.to_owned()));
    }
    if INTEGER_ARGUMENTS.contains(&name) {
        let Some(number) = parse_i64(value.trim()) else {
            return Err(RabbitError::InvalidArgument { name: name.to_owned(), value: value.to_owned() });
        };
        // RabbitMQ refuses these with PRECONDITION_FAILED (value_negative,
        // value_zero, max_value_exceeded), closing the connection.
        let range = match name {
            "x-max-priority" => (!(0..=255).contains(&number)).then_some("between 0 and 255"),
            "x-expires" => (number <= 0).then_some("above 0 (milliseconds)"),
            _ => (number < 0).then_some("0 or more"),
        };
        if let Some(range) = range {
            return Err(RabbitError::ArgumentOutOfRange { name: name.to_owned(), value: value.to_owned(), range });
        }
    }
    Ok(())
}
