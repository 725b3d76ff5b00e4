//! The reliability core, sans-IO: every decision of a connection that survives
//! outages, with no socket, no timer and no clock.
//!
//! [`Core`] takes what happened ([`Core::handle_opened`], [`Core::handle_bytes`],
//! [`Core::handle_closed`], [`Core::handle_timeout`]) and what the user asks
//! ([`Core::basic_publish`], [`Core::basic_consume`], [`Core::basic_ack`],
//! [`Core::stop`], …), and says what to do: [`Core::poll_action`] (open or close a
//! socket), [`Core::poll_transmit`] (bytes to write), [`Core::poll_event`] (what to
//! tell the user) and [`Core::poll_timeout`] (when to wake it). The browser driver
//! (`reliable::ReliableConnection`) only carries these out; the simulator in
//! `tests/simulation.rs` drives it against a simulated broker.
//!
//! What it guarantees by construction:
//! - a socket that opens after [`Core::stop`], or that is not the current one, is
//!   closed at once and never sends CONNECT (no zombie consumer);
//! - [`ReliableEvent::Stopped`] is emitted exactly once and is the last event;
//! - a publish is checked (names, headers, frame size) before it enters the outbox,
//!   and refused there in words; a message the broker refuses fails alone and the
//!   outbox goes on; the outbox is bounded in messages and bytes;
//! - at most [`Window::messages`] publishes (and about [`Window::bytes`]) await their
//!   confirm at once, well under RabbitMQ's credit, so a burst of any size cannot
//!   trip Web-STOMP's `{unexpected_message,resume}` crash;
//! - only a refusal at CONNECT stops reconnecting; a broker's ERROR mid-session
//!   fails the request it refused and the session comes back;
//! - an ack carries its connection ([`Acker`]): acking a delivery of an earlier
//!   connection is refused as stale and never reaches another socket;
//! - a stream consumer resumes after a reconnect at the lowest offset it was given
//!   and did not ack (or just after the highest it acked): nothing skipped, and
//!   only what was not acked comes again, marked (an acked offset that comes
//!   again is acked here, not handed out twice); a stream delivery is never nacked
//!   (RabbitMQ closes the connection on it).

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;
use std::time::Duration;

use crate::client::{
    is_retryable, Backoff, ClientError, CloseReason, ConnectOptions, ConnectionInfo, Event, Fault, LocalError,
    OptionsError, ReceiptId, Reconnector, Request, SocketClose, SubscriptionId,
};
use crate::rabbit::{
    check_publish, check_stream_consume, ConsumeOk, Delivery, HeartBeats, Link, Outbox, OutboxError, OutboxId,
    OutboxLimits, PendingPublish, QueueOptions, RabbitError, Refusal, RefusalKind, StreamOffset, Unsent,
    ROUND_TRIP_MAX_FRAME, STREAM_OFFSET_HEADER,
};
use crate::stomp::Limits;

mod pacer;

pub use self::pacer::{Pacer, Pacing};

/// One socket the core asked for; a new one for every connection attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub u64);

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "link-{}", self.0)
    }
}

/// Which consumer (stable across reconnects, unlike the STOMP subscription id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConsumerKey(pub u64);

/// Which `queue_declare` call an outcome answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeclareId(pub u64);

/// What the driver must do with sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a WebSocket to `url` and report it as `link`.
    Open {
        /// The id to report its events with.
        link: LinkId,
        /// Where to.
        url: String,
    },
    /// Close this socket (and forget it): it is over, or it should never have opened.
    Close {
        /// Which.
        link: LinkId,
        /// The close code (1000, or 4000–4999 for our own reasons; browsers refuse others).
        code: u16,
        /// The close reason.
        reason: String,
    },
}

/// How many publishes may await their confirm at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Most messages in flight. RabbitMQ 3.10's Web-STOMP crashes a connection
    /// (`{unexpected_message,resume}`) when hundreds of SENDs outrun its credit flow
    /// (400, refilled by 200) while heart-beats are on; 128 stays well under.
    pub messages: usize,
    /// Most body bytes in flight (one message is always allowed, however large).
    pub bytes: usize,
}

impl Default for Window {
    /// 128 messages, 4 MiB.
    fn default() -> Self {
        Window { messages: 128, bytes: 4 * 1024 * 1024 }
    }
}

/// How a [`Core`] behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReliableOptions {
    /// Delays between reconnect attempts.
    pub backoff: Backoff,
    /// What the outbox holds at most.
    pub outbox: OutboxLimits,
    /// Publishes awaiting their confirm at once.
    pub window: Window,
    /// Largest SEND frame; larger publishes are refused before they enter the outbox.
    /// The default is what Burrow's own decoder takes back ([`ROUND_TRIP_MAX_FRAME`]).
    pub max_frame: usize,
    /// What the decoder accepts from the broker.
    pub limits: Limits,
    /// How the browser driver batches socket writes under load (the core itself
    /// hands out every frame at once).
    pub pacing: Pacing,
    /// Where the browser driver reads RabbitMQ's management API (such as
    /// `http://127.0.0.1:15672/api`) to explain refusals Web-STOMP closed without
    /// words; `None`: where RabbitMQ's defaults put it for the connection's URL.
    pub management_url: Option<String>,
}

impl Default for ReliableOptions {
    fn default() -> Self {
        ReliableOptions {
            backoff: Backoff::default(),
            outbox: OutboxLimits::default(),
            window: Window::default(),
            max_frame: ROUND_TRIP_MAX_FRAME,
            limits: Limits::default(),
            pacing: Pacing::default(),
            management_url: None,
        }
    }
}

/// How to consume: pika's `basic_consume` arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumeOptions {
    /// The broker counts a delivery acknowledged once sent (`auto_ack=True`).
    pub auto_ack: bool,
    /// At most this many unacknowledged deliveries at once; 0 is unlimited.
    pub prefetch: u16,
    /// For a stream: where to start reading (pika:
    /// `arguments={'x-stream-offset': ...}`). Needs manual ack and a prefetch above
    /// 0. After a reconnect the consumer continues from what it had not acked,
    /// whatever this says.
    pub stream_offset: Option<StreamOffset>,
}

impl Default for ConsumeOptions {
    /// Manual acknowledgement, prefetch 1: the tutorial's fair dispatch.
    fn default() -> Self {
        ConsumeOptions { auto_ack: false, prefetch: 1, stream_offset: None }
    }
}

impl ConsumeOptions {
    /// A stream consumer from `offset` with manual ack and `prefetch` unacked at once.
    pub fn stream(offset: StreamOffset, prefetch: u16) -> Self {
        ConsumeOptions { auto_ack: false, prefetch, stream_offset: Some(offset) }
    }
}

/// Acknowledges one delivery, on the connection it came on only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Acker {
    link: LinkId,
    consumer: ConsumerKey,
    tag: String,
    /// The stream offset, for a delivery from a stream.
    offset: Option<u64>,
}

impl Acker {
    /// The connection the delivery came on.
    pub fn link(&self) -> LinkId {
        self.link
    }

    /// The consumer it went to.
    pub fn consumer(&self) -> ConsumerKey {
        self.consumer
    }

    /// The broker's delivery tag (the MESSAGE's `ack` header).
    pub fn delivery_tag(&self) -> &str {
        &self.tag
    }

    /// The offset of a delivery from a stream (`None` from other queues).
    pub fn stream_offset(&self) -> Option<u64> {
        self.offset
    }
}

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
}

impl PublishError {
    /// Which side refused it.
    pub fn fault(&self) -> Fault {
        match self {
            PublishError::Invalid(_) | PublishError::Full(_) => Fault::Local,
            PublishError::Refused(_) => Fault::Broker,
            PublishError::Stopped => Fault::User,
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
    /// This connection already declared the queue with other options, and
    /// RabbitMQ's STOMP adapter declares a queue once per connection: declare it
    /// from another connection to hear the broker's answer.
    #[error("this connection already declared {0:?} with other options")]
    AlreadyDeclared(String),
    /// The broker refused, in its words.
    #[error("{0}")]
    Refused(#[source] Refusal),
    /// The connection closed before the broker answered: by the broker (a refusal
    /// it did not explain; look the queue up) or by the network.
    #[error("the connection closed before RabbitMQ answered the declare: {0}")]
    Closed(#[source] CloseReason),
    /// The connection was stopped.
    #[error("the connection was stopped")]
    Stopped,
}

/// Why a [`Core`] stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// [`Core::stop`] was called.
    Requested,
    /// The broker refused CONNECT in a way retrying cannot fix (credentials, vhost),
    /// or the options cannot be sent.
    Refused(CloseReason),
}

impl std::error::Error for StopReason {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StopReason::Requested => None,
            StopReason::Refused(reason) => Some(reason),
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
        }
    }
}

/// What the core reports.
// Deliveries are most of the traffic; boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ReliableEvent {
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
    /// The broker accepted a consumer's subscription (again, after a reconnect).
    ConsumerReady(ConsumerKey),
    /// A consumer ended because the broker refused it; it is gone.
    ConsumerFailed {
        /// Which consumer.
        consumer: ConsumerKey,
        /// Why.
        error: ConsumeError,
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
    /// Something odd that changes nothing (a receipt nobody asked for).
    Warning(Warning),
    /// No more connections: always the last event.
    Stopped(StopReason),
}

/// Something odd that changed nothing ([`ReliableEvent::Warning`]): worth a log
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

/// Where the core is, for a status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// [`Core::start`] not called yet.
    Idle,
    /// A socket is opening, or CONNECT was sent.
    Connecting {
        /// Where to.
        url: String,
    },
    /// Connected.
    Connected {
        /// Where to.
        url: String,
    },
    /// Waiting to reconnect.
    Waiting {
        /// When, on the clock passed in.
        retry_at: Duration,
    },
    /// Stopping: DISCONNECT sent.
    Stopping,
    /// Stopped for good.
    Stopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request2 {
    Subscribe(ConsumerKey),
    Unsubscribe(ConsumerKey),
    Declare(DeclareId),
}

#[derive(Debug)]
struct Current {
    id: LinkId,
    url: String,
    link: Link,
    connected: bool,
    /// Live subscriptions on this link, to their consumers (cancelled ones stay
    /// until their UNSUBSCRIBE is confirmed, so late deliveries still find them).
    subs: HashMap<SubscriptionId, ConsumerKey>,
    /// Requests other than publishes awaiting their receipt.
    requests: HashMap<ReceiptId, Request2>,
    /// Delivery tags handed out and not yet acked or nacked.
    unacked: HashSet<String>,
    /// Consumers cancelled while their UNSUBSCRIBE could not be sent: cancelled
    /// when this link ends.
    cancelling: Vec<ConsumerKey>,
    /// The socket opened (the session's own CONNECT deadline runs from then).
    opened: bool,
    /// Until then: when to give up on the socket ever opening (a black-holed host).
    open_deadline: Duration,
}

#[derive(Debug, Clone)]
struct ConsumerSpec {
    queue: String,
    options: ConsumeOptions,
    /// Its subscription on the current link.
    sub: Option<SubscriptionId>,
    ready: bool,
    /// Where it is in a stream (empty for other queues).
    stream: StreamPosition,
}

/// Most acked offsets a stream consumer remembers above its lowest unacked one;
/// beyond it, the oldest are forgotten and would only come again marked.
const ACKED_OFFSETS_KEPT: usize = 65_536;

/// Where a stream consumer is, so that a resubscription continues after what it
/// acked: nothing skipped, and only what it did not ack handed out again.
#[derive(Debug, Clone, Default)]
struct StreamPosition {
    /// Offsets handed out and not acked, on any connection: a lost connection's
    /// stay until they come again and are acked.
    pending: BTreeSet<u64>,
    /// Acked offsets above the lowest pending one: they come again after a
    /// resubscription, and are then acked here instead of handed out twice.
    acked: BTreeSet<u64>,
    /// The highest offset acked.
    max_acked: Option<u64>,
    /// The highest offset handed out: a delivery at or below it is a repeat.
    high: Option<u64>,
    /// The highest offset that arrived on the current subscription (deliveries
    /// come in offset order, so an acked offset at or below it is not coming again
    /// on it).
    link_high: Option<u64>,
}

impl StreamPosition {
    /// Where to resubscribe: the lowest offset not acked, else after the highest
    /// acked; `None` before any delivery (then the consumer's own option counts).
    fn resume(&self) -> Option<u64> {
        self.pending.first().copied().or_else(|| self.max_acked.map(|m| m.saturating_add(1)))
    }

    /// A new subscription (after a reconnect) starts reading again.
    fn resubscribed(&mut self) {
        self.link_high = None;
    }

    /// A delivery at `offset` arrived: `None` when it was acked already (it must
    /// not reach the user again); otherwise whether it is a repeat.
    fn arrived(&mut self, offset: u64) -> Option<bool> {
        self.link_high = Some(self.link_high.map_or(offset, |high| high.max(offset)));
        if self.acked.contains(&offset) {
            return None;
        }
        let repeat = self.high.is_some_and(|high| offset <= high);
        self.high = Some(self.high.map_or(offset, |high| high.max(offset)));
        self.pending.insert(offset);
        Some(repeat)
    }

    /// The user acked `offset`.
    fn acked(&mut self, offset: u64) {
        self.pending.remove(&offset);
        self.acked.insert(offset);
        self.max_acked = Some(self.max_acked.map_or(offset, |m| m.max(offset)));
        // An acked offset below the next resume point that the current
        // subscription has passed never comes again.
        if let (Some(floor), Some(passed)) = (self.resume(), self.link_high) {
            let below = floor.min(passed.saturating_add(1));
            self.acked = self.acked.split_off(&below);
        }
        while self.acked.len() > ACKED_OFFSETS_KEPT {
            self.acked.pop_first();
        }
    }
}

/// Lifecycle of the whole core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    Idle,
    Running,
    Stopping,
    Stopped,
}

/// The reliability core; see the module documentation.
///
/// Driven by hand here, as the browser driver and the simulator drive it: it asks
/// for a socket, says what to write, and reports what happened.
///
/// ```
/// use std::time::Duration;
/// use burrow::client::ConnectOptions;
/// use burrow::rabbit::{BasicProperties, PendingPublish};
/// use burrow::reliable::{Action, Core, ReliableEvent, ReliableOptions};
///
/// let ms = Duration::from_millis;
/// let urls = vec!["ws://127.0.0.1:15674/ws".to_owned()];
/// let mut core = Core::new(urls, ConnectOptions::new("/"), ReliableOptions::default(), 7);
/// core.start(ms(0));
/// let Some(Action::Open { link, url }) = core.poll_action() else { panic!("a socket first") };
/// assert_eq!(url, "ws://127.0.0.1:15674/ws");
///
/// // The socket opened: CONNECT goes out; the broker answers.
/// core.handle_opened(ms(5), link);
/// let mut out = Vec::new();
/// assert_eq!(core.poll_transmit(&mut out), Some(link));
/// assert!(out.starts_with(b"CONNECT\n"));
/// core.handle_bytes(ms(9), link, b"CONNECTED\nversion:1.2\n\n\0");
///
/// // A publish enters the outbox and goes out as a SEND with a receipt ...
/// let hello = PendingPublish {
///     exchange: String::new(),
///     routing_key: "hello".into(),
///     body: b"Hello World!".to_vec(),
///     properties: BasicProperties::default(),
/// };
/// let id = core.basic_publish(ms(10), hello)?;
/// out.clear();
/// core.poll_transmit(&mut out);
/// let sent = String::from_utf8_lossy(&out).into_owned();
/// let receipt = sent.lines().find_map(|line| line.strip_prefix("receipt:")).expect("a receipt header");
///
/// // ... and RabbitMQ's RECEIPT (its publisher confirm) takes it out.
/// core.handle_bytes(ms(12), link, format!("RECEIPT\nreceipt-id:{receipt}\n\n\0").as_bytes());
/// let events: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
/// assert!(matches!(events[..], [ReliableEvent::Connecting { .. }, ReliableEvent::Connected { .. }, ReliableEvent::Confirmed(confirmed)] if confirmed == id));
/// assert!(core.outbox().is_empty());
/// # Ok::<(), burrow::reliable::PublishError>(())
/// ```
#[derive(Debug)]
pub struct Core {
    urls: Vec<String>,
    next_url: usize,
    options: ConnectOptions,
    settings: ReliableOptions,
    reconnector: Reconnector,
    life: Life,
    current: Option<Current>,
    next_link: u64,
    outbox: Outbox,
    /// Messages in flight when the broker last ended a connection without saying
    /// which request it refused: they go one at a time until each is confirmed or
    /// ends a connection alone (then it is the one refused).
    probation: BTreeSet<OutboxId>,
    consumers: BTreeMap<ConsumerKey, ConsumerSpec>,
    /// Stream positions of consumers cancelled while their subscription still
    /// delivers (until [`ReliableEvent::ConsumerCancelled`]), so those late
    /// deliveries are still marked and acked ones still held back.
    retired: HashMap<ConsumerKey, StreamPosition>,
    /// Consumers whose subscription was pending when the broker last ended a
    /// connection without saying why: a second time, they are what it refuses.
    suspects: HashSet<ConsumerKey>,
    next_consumer: u64,
    next_declare: u64,
    actions: VecDeque<Action>,
    events: VecDeque<ReliableEvent>,
    stopped_emitted: bool,
    rng: u64,
}

impl Core {
    /// A core that will connect to `urls` (tried in turn; Web-STOMP URLs of one
    /// broker or of the nodes of a cluster) with `options`. `seed` feeds the backoff's
    /// jitter. Nothing happens until [`Core::start`].
    pub fn new(urls: Vec<String>, options: ConnectOptions, settings: ReliableOptions, seed: u64) -> Self {
        Core {
            urls,
            next_url: 0,
            options,
            reconnector: Reconnector::new(settings.backoff.clone()),
            outbox: Outbox::new(settings.outbox),
            settings,
            life: Life::Idle,
            current: None,
            next_link: 0,
            probation: BTreeSet::new(),
            consumers: BTreeMap::new(),
            retired: HashMap::new(),
            suspects: HashSet::new(),
            next_consumer: 0,
            next_declare: 0,
            actions: VecDeque::new(),
            events: VecDeque::new(),
            stopped_emitted: false,
            // xorshift must not start at 0.
            rng: seed | 1,
        }
    }

    /// Starts connecting (once; later calls do nothing).
    pub fn start(&mut self, now: Duration) {
        if self.life != Life::Idle {
            return;
        }
        if self.urls.is_empty() {
            self.life = Life::Stopping;
            self.finish_stop(StopReason::Refused(CloseReason::InvalidOptions(OptionsError::NoUrl)));
            return;
        }
        self.life = Life::Running;
        self.reconnector.start();
        self.open_link(now);
    }

    /// Stops: DISCONNECT if connected, close any socket, schedule nothing more.
    /// Deliveries that arrive before the broker closes are still reported; then
    /// every unconfirmed publish fails with [`PublishError::Stopped`] and
    /// [`ReliableEvent::Stopped`] comes, last.
    pub fn stop(&mut self, now: Duration) {
        match self.life {
            Life::Stopping | Life::Stopped => return,
            Life::Idle | Life::Running => {}
        }
        self.reconnector.give_up();
        self.life = Life::Stopping;
        match self.current.as_mut() {
            Some(current) if current.connected => {
                let session = current.link.channel_mut().session_mut();
                if session.disconnect(now).is_err() {
                    self.end_link(now, CloseReason::Disconnected);
                }
            }
            Some(_) => self.end_link(now, CloseReason::Disconnected),
            None => self.finish_stop(StopReason::Requested),
        }
    }

    /// Where it is.
    pub fn phase(&self) -> Phase {
        match (self.life, &self.current) {
            (Life::Idle, _) => Phase::Idle,
            (Life::Stopping, _) => Phase::Stopping,
            (Life::Stopped, _) => Phase::Stopped,
            (Life::Running, Some(current)) if current.connected => Phase::Connected { url: current.url.clone() },
            (Life::Running, Some(current)) => Phase::Connecting { url: current.url.clone() },
            (Life::Running, None) => match self.reconnector.poll_timeout() {
                Some(retry_at) => Phase::Waiting { retry_at },
                None => Phase::Stopped,
            },
        }
    }

    /// Whether it is connected now.
    pub fn is_connected(&self) -> bool {
        self.life == Life::Running && self.current.as_ref().is_some_and(|c| c.connected)
    }

    /// Time left until the next reconnect attempt, when one is scheduled.
    pub fn countdown(&self, now: Duration) -> Option<Duration> {
        self.reconnector.countdown(now)
    }

    /// The outbox, to read its size.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Heart-beats on the current connection.
    pub fn heartbeats(&self) -> HeartBeats {
        self.current.as_ref().map(|c| c.link.heartbeats()).unwrap_or_default()
    }

    /// The current connection's socket, while there is one.
    pub fn current_link(&self) -> Option<LinkId> {
        self.current.as_ref().map(|c| c.id)
    }

    /// What CONNECTED said on the current connection.
    pub fn info(&self) -> Option<&ConnectionInfo> {
        self.current.as_ref().and_then(|c| c.link.session().info())
    }

    /// The consumers that exist (not cancelled, not failed).
    pub fn consumers(&self) -> impl Iterator<Item = ConsumerKey> + '_ {
        self.consumers.keys().copied()
    }

    // ---- inputs from the driver ----

    /// The socket `link` opened.
    pub fn handle_opened(&mut self, now: Duration, link: LinkId) {
        match self.current.as_mut() {
            Some(current) if current.id == link && self.life == Life::Running => {
                current.opened = true;
                current.link.handle_open(now);
                self.process(now);
            }
            // Stopped, or superseded while it opened: it must not CONNECT.
            _ => self.actions.push_back(Action::Close { link, code: 1000, reason: "not needed".into() }),
        }
    }

    /// The socket `link` received `bytes` (one WebSocket message).
    pub fn handle_bytes(&mut self, now: Duration, link: LinkId, bytes: &[u8]) {
        if let Some(current) = self.current.as_mut().filter(|c| c.id == link) {
            current.link.handle_bytes(now, bytes);
            self.process(now);
        }
    }

    /// The socket `link` closed.
    pub fn handle_closed(&mut self, now: Duration, link: LinkId, closed: SocketClose) {
        if let Some(current) = self.current.as_mut().filter(|c| c.id == link) {
            current.link.handle_closed(now, closed);
            self.process(now);
        }
    }

    /// The socket `link` refused to send (the driver could not write).
    pub fn handle_send_failed(&mut self, now: Duration, link: LinkId, problem: String) {
        if let Some(current) = self.current.as_mut().filter(|c| c.id == link) {
            current.link.handle_transport_error(now, problem);
            self.process(now);
        }
    }

    /// The time [`Core::poll_timeout`] asked for came (early or late calls are fine).
    pub fn handle_timeout(&mut self, now: Duration) {
        if let Some(current) = self.current.as_mut() {
            if !current.opened && now >= current.open_deadline {
                let waited = self.options.connect_timeout;
                self.end_link(now, CloseReason::ConnectTimeout(waited));
            } else {
                current.link.handle_timeout(now);
                self.process(now);
            }
        }
        if self.life == Life::Running && self.reconnector.handle_timeout(now) {
            self.open_link(now);
        }
    }

    // ---- outputs to the driver ----

    /// The next socket action.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Appends the bytes to write to `out` and says on which socket; `None` when
    /// there is nothing to write. Everything queued goes in one buffer, so the
    /// driver makes one socket send per turn, not one per frame (a driver may batch
    /// further across turns, see [`Pacer`]).
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> Option<LinkId> {
        let current = self.current.as_mut()?;
        (current.link.write_transmits(out) > 0).then_some(current.id)
    }

    /// The next event for the user.
    pub fn poll_event(&mut self) -> Option<ReliableEvent> {
        self.events.pop_front()
    }

    /// When to call [`Core::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let link = self.current.as_ref().and_then(|c| {
            if c.opened {
                c.link.poll_timeout()
            } else {
                Some(c.open_deadline)
            }
        });
        [link, self.reconnector.poll_timeout()].into_iter().flatten().min()
    }

    // ---- the user's calls ----

    /// Whether a publish with a body of `size` bytes would be taken now; a driver
    /// waits for room (backpressure) when not.
    ///
    /// # Errors
    ///
    /// [`PublishError::Full`] while the outbox is full, [`PublishError::Stopped`]
    /// once stopped.
    pub fn check_room(&self, size: usize) -> Result<(), PublishError> {
        if matches!(self.life, Life::Stopping | Life::Stopped) {
            return Err(PublishError::Stopped);
        }
        self.outbox.check_room(size).map_err(PublishError::Full)
    }

    /// pika's `basic_publish`, always with a publisher confirm: checks the message,
    /// puts it in the outbox and sends it as soon as the window allows. Its outcome
    /// comes as [`ReliableEvent::Confirmed`] or [`ReliableEvent::PublishFailed`].
    ///
    /// # Errors
    ///
    /// [`PublishError::Invalid`] (nothing sent), [`PublishError::Full`] or
    /// [`PublishError::Stopped`].
    pub fn basic_publish(&mut self, now: Duration, publish: PendingPublish) -> Result<OutboxId, PublishError> {
        self.check_room(publish.body.len())?;
        check_publish(
            &publish.exchange,
            &publish.routing_key,
            publish.body.len(),
            &publish.properties,
            self.settings.max_frame,
        )
        .map_err(PublishError::Invalid)?;
        let id = self.outbox.push(publish).map_err(PublishError::Full)?;
        self.flush(now);
        Ok(id)
    }

    /// pika's `basic_consume`: a consumer that subscribes now if connected and
    /// again after every reconnect, until [`Core::basic_cancel`] or [`Core::stop`].
    ///
    /// # Errors
    ///
    /// [`ConsumeError::Invalid`] for a name the broker cannot take,
    /// [`ConsumeError::Stopped`] once stopped.
    pub fn basic_consume(
        &mut self,
        now: Duration,
        queue: &str,
        options: ConsumeOptions,
    ) -> Result<ConsumerKey, ConsumeError> {
        if matches!(self.life, Life::Stopping | Life::Stopped) {
            return Err(ConsumeError::Stopped);
        }
        if queue.is_empty() {
            return Err(ConsumeError::Invalid(RabbitError::EmptyQueueName));
        }
        if queue.len() > 255 {
            return Err(ConsumeError::Invalid(RabbitError::NameTooLong(queue.to_owned())));
        }
        if options.stream_offset.is_some() {
            check_stream_consume(options.auto_ack, options.prefetch).map_err(ConsumeError::Invalid)?;
        }
        self.next_consumer += 1;
        let key = ConsumerKey(self.next_consumer);
        let spec = ConsumerSpec {
            queue: queue.to_owned(),
            options,
            sub: None,
            ready: false,
            stream: StreamPosition::default(),
        };
        self.consumers.insert(key, spec);
        if self.is_connected() {
            self.subscribe(now, key);
        }
        Ok(key)
    }

    /// pika's `basic_cancel`: the consumer is gone at once (it is never restored);
    /// deliveries already on their way still arrive until
    /// [`ReliableEvent::ConsumerCancelled`]. Returns `false` for an unknown consumer.
    pub fn basic_cancel(&mut self, now: Duration, consumer: ConsumerKey) -> bool {
        let Some(spec) = self.consumers.remove(&consumer) else { return false };
        self.suspects.remove(&consumer);
        if spec.stream.high.is_some() {
            self.retired.insert(consumer, spec.stream.clone());
        }
        let on_link = match (spec.sub, self.current.as_mut()) {
            (Some(sub), Some(current)) if current.connected => {
                current.link.channel_mut().session_mut().advance(now);
                match current.link.channel_mut().basic_cancel(&sub) {
                    Ok(Some(receipt)) => {
                        current.requests.insert(receipt, Request2::Unsubscribe(consumer));
                        true
                    }
                    // Not sent (DISCONNECT went already): the subscription lasts, and
                    // may still deliver, until the connection ends.
                    _ => {
                        current.cancelling.push(consumer);
                        true
                    }
                }
            }
            _ => false,
        };
        if !on_link {
            self.emit(ReliableEvent::ConsumerCancelled(consumer));
        }
        true
    }

    /// pika's `basic_ack`, on the delivery's own connection only.
    ///
    /// # Errors
    ///
    /// [`AckError::Stale`] when that connection is gone (the broker redelivers the
    /// message), [`AckError::AlreadySettled`], [`AckError::Stopped`].
    pub fn basic_ack(&mut self, now: Duration, acker: &Acker) -> Result<(), AckError> {
        let current = self.settle(acker)?;
        current.link.channel_mut().session_mut().advance(now);
        current.link.channel_mut().basic_ack(&acker.tag)?;
        if let (Some(offset), Some(stream)) = (acker.offset, self.stream_mut(acker.consumer)) {
            stream.acked(offset);
        }
        Ok(())
    }

    /// pika's `basic_nack`: `requeue` puts the message back in the queue, otherwise
    /// the broker drops (or dead-letters) it. Same rules as [`Core::basic_ack`].
    ///
    /// # Errors
    ///
    /// As [`Core::basic_ack`], and [`AckError::StreamNack`] for a delivery from a
    /// stream (nothing sent).
    pub fn basic_nack(&mut self, now: Duration, acker: &Acker, requeue: bool) -> Result<(), AckError> {
        if acker.offset.is_some() {
            return Err(AckError::StreamNack);
        }
        let current = self.settle(acker)?;
        current.link.channel_mut().session_mut().advance(now);
        current.link.channel_mut().basic_nack(&acker.tag, requeue)?;
        Ok(())
    }

    /// pika's `queue_declare` on the current connection; the outcome comes as
    /// [`ReliableEvent::Declared`].
    ///
    /// # Errors
    ///
    /// [`DeclareError::NotConnected`], [`DeclareError::Invalid`],
    /// [`DeclareError::AlreadyDeclared`], [`DeclareError::Stopped`].
    pub fn queue_declare(
        &mut self,
        now: Duration,
        queue: &str,
        options: &QueueOptions,
    ) -> Result<DeclareId, DeclareError> {
        if matches!(self.life, Life::Stopping | Life::Stopped) {
            return Err(DeclareError::Stopped);
        }
        let Some(current) = self.current.as_mut().filter(|c| c.connected) else {
            return Err(DeclareError::NotConnected);
        };
        current.link.channel_mut().session_mut().advance(now);
        let receipt = match current.link.channel_mut().queue_declare(queue, options) {
            Ok(receipt) => receipt,
            Err(RabbitError::AlreadyDeclared { queue }) => return Err(DeclareError::AlreadyDeclared(queue)),
            Err(other) => return Err(DeclareError::Invalid(other)),
        };
        self.next_declare += 1;
        let id = DeclareId(self.next_declare);
        current.requests.insert(receipt, Request2::Declare(id));
        Ok(id)
    }

    // ---- inside ----

    /// A consumer's stream position, also while it is being cancelled.
    fn stream_mut(&mut self, consumer: ConsumerKey) -> Option<&mut StreamPosition> {
        match self.consumers.get_mut(&consumer) {
            Some(spec) => Some(&mut spec.stream),
            None => self.retired.get_mut(&consumer),
        }
    }

    fn emit(&mut self, event: ReliableEvent) {
        if let ReliableEvent::ConsumerCancelled(key) = &event {
            self.retired.remove(key);
        }
        // Stopped is the last word: nothing after it, whatever the path.
        if !self.stopped_emitted {
            self.stopped_emitted = matches!(event, ReliableEvent::Stopped(_));
            self.events.push_back(event);
        }
    }

    fn random_unit(&mut self) -> f64 {
        // xorshift64*: deterministic for a seed, good enough for jitter.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let value = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (value >> 11) as f64 / (1u64 << 53) as f64
    }

    fn open_link(&mut self, now: Duration) {
        let url = self.urls.get(self.next_url % self.urls.len().max(1)).cloned().unwrap_or_default();
        self.next_link += 1;
        let id = LinkId(self.next_link);
        self.current = Some(Current {
            id,
            url: url.clone(),
            link: Link::new(self.options.clone(), self.settings.limits),
            connected: false,
            subs: HashMap::new(),
            requests: HashMap::new(),
            unacked: HashSet::new(),
            cancelling: Vec::new(),
            opened: false,
            open_deadline: now.saturating_add(self.options.connect_timeout),
        });
        self.actions.push_back(Action::Open { link: id, url: url.clone() });
        self.emit(ReliableEvent::Connecting { link: id, url });
    }

    /// Checks an ack may go, and takes its tag off the unacked set.
    fn settle(&mut self, acker: &Acker) -> Result<&mut Current, AckError> {
        if matches!(self.life, Life::Stopping | Life::Stopped) {
            return Err(AckError::Stopped);
        }
        match self.current.as_mut() {
            Some(current) if current.id == acker.link && current.connected => {
                if current.unacked.remove(&acker.tag) {
                    Ok(current)
                } else {
                    Err(AckError::AlreadySettled)
                }
            }
            _ => Err(AckError::Stale { link: acker.link }),
        }
    }

    fn subscribe(&mut self, now: Duration, key: ConsumerKey) {
        let Some(spec) = self.consumers.get_mut(&key) else { return };
        let Some(current) = self.current.as_mut().filter(|c| c.connected) else { return };
        current.link.channel_mut().session_mut().advance(now);
        let channel = current.link.channel_mut();
        // A stream consumer that was given something continues after what it acked.
        spec.stream.resubscribed();
        let offset = spec.stream.resume().map(StreamOffset::Offset).or(spec.options.stream_offset);
        let (auto_ack, prefetch) = (spec.options.auto_ack, spec.options.prefetch);
        let subscribed = match offset {
            Some(offset) if !auto_ack => channel.basic_consume_stream(&spec.queue, prefetch, &offset),
            _ => channel.basic_consume(&spec.queue, auto_ack, Some(prefetch)),
        };
        match subscribed {
            Ok(ConsumeOk { consumer_tag: sub, receipt }) => {
                current.subs.insert(sub.clone(), key);
                current.requests.insert(receipt, Request2::Subscribe(key));
                spec.sub = Some(sub);
                spec.ready = false;
            }
            Err(error) => {
                self.consumers.remove(&key);
                self.emit(ReliableEvent::ConsumerFailed { consumer: key, error: ConsumeError::Invalid(error) });
            }
        }
    }

    /// Sends what the outbox holds, as far as the window allows.
    fn flush(&mut self, now: Duration) {
        let Some(current) = self.current.as_mut().filter(|c| c.connected) else { return };
        if self.life != Life::Running {
            return;
        }
        current.link.channel_mut().session_mut().advance(now);
        let window = self.settings.window;
        let mut failed = Vec::new();
        loop {
            let limit = if self.probation.is_empty() { window.messages.max(1) } else { 1 };
            let in_flight = self.outbox.in_flight();
            if in_flight >= limit || (in_flight > 0 && self.outbox.in_flight_bytes() >= window.bytes) {
                break;
            }
            let Some(Unsent { id, publish, sends }) = self.outbox.next_unsent() else { break };
            let resent = sends > 0;
            // Cloned: the outbox keeps the message until its confirm.
            let body = publish.body.clone();
            let sent = current.link.channel_mut().publish_marked(
                &publish.exchange,
                &publish.routing_key,
                body,
                &publish.properties,
                true,
                resent,
            );
            match sent {
                Ok(Some(receipt)) => {
                    self.outbox.sent(id, receipt);
                }
                // Checked on entry, so this is a limit that changed; it fails alone.
                Ok(None) => {
                    self.outbox.remove(id);
                    self.probation.remove(&id);
                    failed.push((id, PublishError::Invalid(RabbitError::Client(ClientError::MissingReceipt))));
                }
                Err(error) => {
                    self.outbox.remove(id);
                    self.probation.remove(&id);
                    failed.push((id, PublishError::Invalid(error)));
                }
            }
        }
        for (publish, error) in failed {
            self.emit(ReliableEvent::PublishFailed { publish, error });
        }
    }

    /// Handles everything the current link reported.
    fn process(&mut self, now: Duration) {
        while let Some(event) = self.current.as_mut().and_then(|current| current.link.poll_event()) {
            match event {
                Event::Connected(info) => self.on_connected(now, info),
                Event::Message(message) => self.on_message(now, message),
                Event::Receipt { id, request } => self.on_receipt(now, id, request),
                // The close that follows carries the error.
                Event::Error(_) | Event::ReceiptsLost(_) => {}
                Event::LocalError(error) => self.emit(ReliableEvent::Warning(error.into())),
                Event::Closed(reason) => {
                    self.end_link(now, reason);
                    break;
                }
            }
        }
        self.flush(now);
    }

    fn on_connected(&mut self, now: Duration, info: ConnectionInfo) {
        let Some(current) = self.current.as_mut() else { return };
        current.connected = true;
        let (link, url) = (current.id, current.url.clone());
        self.reconnector.on_connected();
        self.emit(ReliableEvent::Connected { link, url, info });
        let keys: Vec<ConsumerKey> = self.consumers.keys().copied().collect();
        for key in keys {
            self.subscribe(now, key);
        }
    }

    fn on_message(&mut self, now: Duration, message: crate::client::Message) {
        let Some(current) = self.current.as_mut() else { return };
        let consumer = current.subs.get(&message.subscription).copied();
        match (consumer, message.ack.clone()) {
            (Some(consumer), ack) => {
                let mut delivery = Delivery::from_owned_message(message);
                let stream = match self.consumers.get_mut(&consumer) {
                    Some(spec) => Some(&mut spec.stream),
                    None => self.retired.get_mut(&consumer),
                };
                if let (Some(offset), Some(tag), Some(stream)) = (delivery.stream_offset, ack.as_ref(), stream) {
                    match stream.arrived(offset) {
                        // Acked before the resubscription: ack it again for the
                        // credit, and keep it from the user.
                        None => {
                            current.link.channel_mut().session_mut().advance(now);
                            let _ = current.link.channel_mut().basic_ack(tag);
                            return;
                        }
                        // RabbitMQ never marks a stream message redelivered; a
                        // second copy of an offset is one all the same.
                        Some(repeat) => delivery.redelivered |= repeat,
                    }
                }
                let acker = ack.map(|tag| {
                    current.unacked.insert(tag.clone());
                    Acker { link: current.id, consumer, tag, offset: delivery.stream_offset }
                });
                self.emit(ReliableEvent::Delivery { consumer, delivery, acker });
            }
            // A subscription nobody holds (its UNSUBSCRIBE is confirmed): give the
            // message back rather than leave it unacked until the connection ends
            // (a stream's is acked: RabbitMQ closes the connection on a NACK there).
            (None, Some(tag)) => {
                current.link.channel_mut().session_mut().advance(now);
                if message.header(STREAM_OFFSET_HEADER).is_some() {
                    let _ = current.link.channel_mut().basic_ack(&tag);
                } else {
                    let _ = current.link.channel_mut().basic_nack(&tag, true);
                }
            }
            (None, None) => self.emit(ReliableEvent::Warning(Warning::UnknownSubscription(message.subscription))),
        }
    }

    fn on_receipt(&mut self, _now: Duration, id: ReceiptId, request: Request) {
        let Some(current) = self.current.as_mut() else { return };
        if let Some(request) = current.requests.remove(&id) {
            match request {
                Request2::Subscribe(key) => {
                    self.suspects.remove(&key);
                    if let Some(spec) = self.consumers.get_mut(&key) {
                        spec.ready = true;
                        self.emit(ReliableEvent::ConsumerReady(key));
                    }
                }
                Request2::Unsubscribe(key) => {
                    current.subs.retain(|_, k| *k != key);
                    self.emit(ReliableEvent::ConsumerCancelled(key));
                }
                Request2::Declare(request) => self.emit(ReliableEvent::Declared { request, result: Ok(()) }),
            }
            return;
        }
        if let Request::Send { .. } = request {
            if let Some(publish) = self.outbox.confirmed(&id) {
                self.probation.remove(&publish);
                self.emit(ReliableEvent::Confirmed(publish));
            }
        }
    }

    /// The current link is over, for `reason`: settle what was pending on it, then
    /// stop or schedule the next attempt.
    fn end_link(&mut self, now: Duration, reason: CloseReason) {
        let Some(mut current) = self.current.take() else { return };
        let close = reason.socket_code();
        self.actions.push_back(Action::Close { link: current.id, code: close.code, reason: close.reason.to_owned() });
        if current.connected && reason.fault() == Fault::Broker {
            self.blame(&mut current, &reason);
        }
        // Whatever is still pending on it will never be answered there.
        let mut requests: Vec<(ReceiptId, Request2)> = current.requests.drain().collect();
        requests.sort_by(|a, b| sent_order(&a.0).cmp(&sent_order(&b.0)));
        for (_, request) in requests {
            match request {
                Request2::Declare(request) => {
                    let error = DeclareError::Closed(reason.clone());
                    self.emit(ReliableEvent::Declared { request, result: Err(error) });
                }
                Request2::Unsubscribe(key) => self.emit(ReliableEvent::ConsumerCancelled(key)),
                Request2::Subscribe(_) => {}
            }
        }
        for key in current.cancelling.drain(..) {
            self.emit(ReliableEvent::ConsumerCancelled(key));
        }
        for spec in self.consumers.values_mut() {
            spec.sub = None;
            spec.ready = false;
        }
        self.outbox.connection_lost();
        if self.life == Life::Stopping {
            self.finish_stop(StopReason::Requested);
            return;
        }
        if self.life != Life::Running {
            return;
        }
        if !is_retryable(&reason) {
            self.life = Life::Stopping;
            self.finish_stop(StopReason::Refused(reason));
            return;
        }
        // A cluster: the next node, with the same backoff.
        if !current.connected || reason.fault() == Fault::Network {
            self.next_url = (self.next_url + 1) % self.urls.len().max(1);
        }
        let random = self.random_unit();
        match self.reconnector.on_closed(now, true, random) {
            Some(retry_at) => {
                let attempt = self.reconnector.attempts();
                let next_url = self.urls.get(self.next_url).cloned().unwrap_or_default();
                let delay = retry_at.saturating_sub(now);
                self.emit(ReliableEvent::Reconnecting { reason, attempt, delay, retry_at, next_url });
            }
            None => {
                self.life = Life::Stopping;
                self.finish_stop(StopReason::Requested);
            }
        }
    }

    /// The broker ended a connected session on purpose: find the request it refused
    /// and fail that one alone, so the rest can go on after the reconnect.
    fn blame(&mut self, current: &mut Current, reason: &CloseReason) {
        let error = reason.server_error();
        let refusal = match error {
            Some(error) => Refusal::from_server_error(error),
            None => unexplained(reason),
        };
        // 1. The ERROR names the request by its receipt.
        if let Some(receipt) = error.and_then(|e| e.receipt_id.as_ref()) {
            if let Some(request) = current.requests.remove(receipt) {
                self.fail_request(request, refusal);
                return;
            }
            if let Some(publish) = self.outbox.by_receipt(receipt) {
                self.fail_publish(publish, refusal);
                return;
            }
        }
        // 2. The ERROR names an exchange that does not exist: every message for it
        //    fails. First: a subscription sent after such a message is still
        //    awaiting its receipt, and is not what the broker refused.
        if refusal.kind == RefusalKind::NotFound {
            if let Some(exchange) = named_exchange(&refusal.detail) {
                // Unsent ones too: the broker would refuse each the same way.
                let doomed: Vec<OutboxId> =
                    self.outbox.iter().filter(|(_, p)| p.exchange == exchange).map(|(id, _)| id).collect();
                if !doomed.is_empty() {
                    for id in doomed {
                        self.fail_publish(id, refusal.clone());
                    }
                    return;
                }
            }
        }
        // 3. The broker handles frames in order and answers a declare or a
        //    subscription at once, so the oldest one still unanswered is what it
        //    refused, and the ones after it were never read. A publish is answered
        //    after its confirm, so an older one still unconfirmed could be the culprit
        //    instead, unless the ERROR names a queue.
        let oldest = current
            .requests
            .iter()
            .filter(|(_, r)| matches!(r, Request2::Declare(_) | Request2::Subscribe(_)))
            .min_by_key(|(receipt, _)| sent_order(receipt))
            .map(|(receipt, request)| (receipt.clone(), *request));
        if let Some((receipt, request)) = &oldest {
            let names_queue = error.is_some() && refusal.detail.contains("queue '");
            let older_publish =
                self.outbox.in_flight_receipts().any(|(sent, _)| sent_order(sent) < sent_order(receipt));
            if names_queue || !older_publish {
                // Without the broker's words it may have been an admin's forced close
                // rather than a refusal: a consumer fails only when its subscription
                // is what two connections in a row died on.
                if let (None, Request2::Subscribe(key)) = (error, request) {
                    if self.suspects.insert(*key) {
                        return;
                    }
                }
                current.requests.remove(receipt);
                self.fail_request(*request, refusal);
                return;
            }
        }
        // 4. No words: the messages in flight go one at a time until one ends a
        //    connection alone, which is then the one refused.
        let in_flight: Vec<OutboxId> = self.outbox.in_flight_ids().collect();
        match in_flight.as_slice() {
            [only] if self.probation.contains(only) && oldest.is_none() => {
                let only = *only;
                self.fail_publish(only, refusal);
            }
            [] => {}
            many => self.probation.extend(many.iter().copied()),
        }
    }

    fn fail_request(&mut self, request: Request2, refusal: Refusal) {
        match request {
            Request2::Subscribe(consumer) => {
                self.suspects.remove(&consumer);
                // A consumer cancelled meanwhile ends with its ConsumerCancelled only.
                if self.consumers.remove(&consumer).is_some() {
                    self.emit(ReliableEvent::ConsumerFailed { consumer, error: ConsumeError::Refused(refusal) });
                }
            }
            Request2::Declare(request) => {
                self.emit(ReliableEvent::Declared { request, result: Err(DeclareError::Refused(refusal)) });
            }
            Request2::Unsubscribe(consumer) => self.emit(ReliableEvent::ConsumerCancelled(consumer)),
        }
    }

    fn fail_publish(&mut self, publish: OutboxId, refusal: Refusal) {
        self.probation.remove(&publish);
        if self.outbox.remove(publish).is_some() {
            self.emit(ReliableEvent::PublishFailed { publish, error: PublishError::Refused(refusal) });
        }
    }

    fn finish_stop(&mut self, reason: StopReason) {
        if self.life == Life::Stopped {
            return;
        }
        self.life = Life::Stopped;
        self.reconnector.give_up();
        if let Some(current) = self.current.take() {
            self.actions.push_back(Action::Close { link: current.id, code: 1000, reason: "stopped".into() });
        }
        for (publish, _) in self.outbox.drain() {
            self.emit(ReliableEvent::PublishFailed { publish, error: PublishError::Stopped });
        }
        self.probation.clear();
        self.consumers.clear();
        self.retired.clear();
        self.suspects.clear();
        self.emit(ReliableEvent::Stopped(reason));
    }
}

/// Web-STOMP URLs as a person types them: one per line, or separated by commas
/// or spaces (the nodes of a cluster); blanks are skipped.
///
/// ```
/// use burrow::reliable::parse_urls;
///
/// let typed = "ws://127.0.0.1:15691/ws\nws://127.0.0.1:15692/ws, ws://127.0.0.1:15693/ws\n";
/// assert_eq!(parse_urls(typed), ["ws://127.0.0.1:15691/ws", "ws://127.0.0.1:15692/ws", "ws://127.0.0.1:15693/ws"]);
/// assert!(parse_urls(" ,\n ").is_empty());
/// ```
pub fn parse_urls(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace()).filter(|u| !u.is_empty()).map(str::to_owned).collect()
}

/// RabbitMQ 3.10.8's Web-STOMP may close ("STOMP died") before the ERROR frame
/// that says why reaches us.
fn unexplained(reason: &CloseReason) -> Refusal {
    Refusal {
        kind: RefusalKind::Other,
        message: "refused".to_owned(),
        detail: format!(
            "RabbitMQ ended the connection whenever this was sent, without saying why ({reason}); check that the exchange or queue exists and the user's permissions"
        ),
    }
}

/// The order requests were sent in: the session numbers its receipts
/// `receipt-<n>`, so a shorter id is an older one (plain string order would put
/// `receipt-10` before `receipt-9`).
fn sent_order(receipt: &ReceiptId) -> (usize, &str) {
    (receipt.0.len(), receipt.0.as_str())
}

/// The exchange in RabbitMQ's "NOT_FOUND - no exchange 'x' in vhost '/'".
fn named_exchange(detail: &str) -> Option<String> {
    let rest = detail.split("no exchange '").nth(1)?;
    rest.split("' in vhost").next().map(str::to_owned)
}
