//! The reliability core, sans-IO: every decision of a connection that survives
//! outages, with no socket, no timer and no clock.
//!
//! [`Core`] takes what happened ([`Core::handle_opened`], [`Core::handle_bytes`],
//! [`Core::handle_closed`], [`Core::handle_timeout`], [`Core::handle_queue_facts`])
//! and what the user asks ([`Core::basic_publish`], [`Core::basic_consume`],
//! [`Core::take_delivery`], [`Core::basic_ack`], [`Core::stop`], …), each with the
//! time, and says what to do: [`Core::poll_action`] (open or close a socket, read
//! the management API), [`Core::poll_transmit`] (bytes to write),
//! [`Core::poll_event`] (what to tell whom) and [`Core::poll_timeout`] (when to
//! wake it). After every input, a driver drains the `poll_*` outputs until each
//! says nothing, then waits for `poll_timeout` or the next input. The browser
//! driver (`reliable::ReliableConnection`) only carries this out; the simulator in
//! `tests/simulation.rs` drives it against a simulated broker.
//!
//! What it guarantees by construction:
//! - a socket that opens after [`Core::stop`], or that is not the current one, is
//!   closed at once and never sends CONNECT (no zombie consumer);
//! - [`ConnectionEvent::Stopped`] is emitted exactly once and is the last event;
//! - a publish is checked once (names, headers, frame size) before it enters the
//!   outbox, and refused there in words; a message the broker refuses fails alone
//!   and the outbox goes on; the outbox is bounded in messages and bytes, and
//!   publishers waiting for room enter it in the order they came;
//! - at most [`Window::messages`] publishes (and about [`Window::bytes`]) await their
//!   confirm at once, well under RabbitMQ's credit, so a burst of any size cannot
//!   trip Web-STOMP's `{unexpected_message,resume}` crash;
//! - each consumer's unread deliveries are bounded by its window (auto-ack
//!   consumers included, see [`ConsumeOptions::auto_ack`]; two windows while a
//!   token renewal's two connections both deliver); what a cancelled consumer
//!   left unread goes back to the broker;
//! - only a refusal at CONNECT stops reconnecting; a broker's ERROR mid-session
//!   fails the request it refused and the session comes back; a refusal Web-STOMP
//!   closed on without words is explained from the management API's facts;
//! - an ack carries its connection ([`Acker`]): acking a delivery of an earlier
//!   connection is refused as stale and never reaches another socket;
//! - a stream consumer resumes after a reconnect at the lowest offset it was given
//!   and did not ack (or just after the highest it acked): nothing skipped, and
//!   only what was not acked comes again, marked (an acked offset that comes
//!   again is acked here, not handed out twice); a stream delivery is never nacked
//!   (RabbitMQ closes the connection on it).
//!
//! Code map: `types` (ids, options, [`Acker`]), `errors`, `events`, `timer` (the
//! table of named deadlines), `alarm` (when a driver re-arms its timer), `pacer`
//! (write batching), `publish` (waiting line, outbox and window), `consumers`
//! (subscribing, cancelling), `deliveries` (bounded buffers, auto acks, giving
//! back), `acks`, `stream` (a stream consumer's place), `declare` (and declaring
//! again on later connections) and `side` (a second declare over a side
//! connection), `blame` (which request the broker refused) and `lookup` (explaining
//! it), `link` (connections, reconnect and failover, stop), `rpc` (calls, their
//! replies by correlation id, replying), `credentials` (credentials per connection,
//! planned reconnects before they expire), `renew` (those reconnects,
//! make-before-break: the new connection's consumers subscribed before the old one
//! closes), `topology` (exchanges and bindings declared again after a reconnect).

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::time::Duration;

use crate::client::{CloseReason, ConnectOptions, Event, ReceiptId, Reconnector, SocketClose, SubscriptionId};
use crate::sans_io::map::{Map, Set};
use crate::sans_io::text::IdText;
use crate::rabbit::{CheckedPublish, ConsumeFrom, Link, Outbox, OutboxId, QueueOptions};

mod acks;
mod alarm;
mod blame;
mod consumers;
mod credentials;
mod declare;
mod deliveries;
mod errors;
mod events;
mod held_back;
mod link;
mod locked;
mod lookup;
mod pacer;
mod publish;
mod renew;
mod rpc;
mod side;
mod stream;
mod timer;
mod topology;
mod types;
mod view;

pub use self::alarm::{Alarm, MAX_DELAY};
pub use self::credentials::{CredentialsId, EXPIRY_SLACK, RENEW_MARGIN};
pub use self::errors::{AckError, ConsumeError, DeclareError, PublishError, StopReason};
pub use self::events::{ConnectionEvent, ReliableEvent, Warning};
pub use self::held_back::HELD_BACK_AFTER;
pub use self::link::{parse_urls, url_problem, UrlProblem};
pub use self::lookup::LOOK_UP_TIMEOUT;
pub use self::pacer::{Pacer, Pacing};
pub use self::rpc::{reply_route, CallError, CallId, ReplyError, REPLY_TO};
pub use self::timer::Timer;
pub use self::topology::{BindingSpec, ExchangeSpec, TopologyRecovery, TOPOLOGY_TIMEOUT};
pub use self::types::{
    Acker, Action, ConsumeOptions, ConsumerKey, DeclareId, ExchangeLookUp, LinkId, LookUpId, Phase, QueueLookUp,
    ReliableOptions, Taken, Window, AUTO_ACK_DELAY, AUTO_ACK_WINDOW,
};

use self::credentials::{Expiry, Fetching, Renewal};
use self::deliveries::{AutoAcks, Buffered};
use self::{held_back::ConfirmWatch, lookup::Explain, renew::Renewals, rpc::Calls};
use self::{side::Sides, stream::StreamPosition, timer::TimerTable};

/// A request other than a publish, awaiting its receipt on the current link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Subscribe(ConsumerKey),
    Unsubscribe(ConsumerKey),
    Declare(DeclareId),
}

/// The current connection.
#[derive(Debug)]
struct Current {
    id: LinkId,
    url: String,
    link: Link,
    connected: bool,
    /// Live subscriptions on this link, to their consumers.
    subs: Map<SubscriptionId, ConsumerKey>,
    /// Subscriptions whose UNSUBSCRIBE went: a delivery still on its way for one
    /// stays unacked (RabbitMQ takes no ack for it) until the connection ends.
    unsubscribed: Set<SubscriptionId>,
    /// Requests other than publishes awaiting their receipt.
    requests: Map<ReceiptId, Pending>,
    /// Delivery tags handed out and not yet acked or nacked.
    // A ring set by `IdText` (shorter first): tags that grow as text ("…@@9" <
    // "…@@10" is false in text order) would land mid-way, and a prefetch of
    // thousands would make each O(n); so they go at the back.
    unacked: crate::sans_io::map::RingSet<IdText>,
    /// Consumers cancelled while their UNSUBSCRIBE could not be sent: cancelled
    /// when this link ends.
    cancelling: Vec<ConsumerKey>,
    /// The socket opened (the session's own CONNECT deadline runs from then).
    opened: bool,
    /// A planned reconnect (credentials about to expire) is ending it: nothing
    /// more is published on it, and its end starts the next link at once.
    planned: Option<Renewal>,
    /// The `exp` of the JWT its CONNECT sent as the passcode, to explain a refusal.
    token_exp: Option<u64>,
}

impl Current {
    /// Connected and taking new requests: not after a planned reconnect's
    /// DISCONNECT (they wait for the next link, as while reconnecting).
    fn takes_requests(&self) -> bool {
        self.connected && !self.disconnect_sent()
    }

    /// A planned reconnect's DISCONNECT went: what the link delivers from now on,
    /// and what waits unread from it, can no longer be acked there, and the
    /// broker gives it out again (marked) once the link is gone.
    fn disconnect_sent(&self) -> bool {
        self.planned == Some(Renewal::Disconnecting)
    }
}

#[derive(Debug, Clone)]
struct ConsumerSpec {
    source: ConsumeFrom,
    /// The broker accepted its subscription on an earlier link: a transient
    /// exchange subscription made again has lost what came in between.
    was_ready: bool,
    options: ConsumeOptions,
    /// Its subscription on the current link.
    sub: Option<SubscriptionId>,
    ready: bool,
    /// Where it is in a stream (empty for other queues).
    stream: StreamPosition,
    /// Deliveries of the current link not yet taken by the reader.
    buffer: VecDeque<Buffered>,
    /// An auto-ack consumer's taken deliveries not yet acked.
    auto: AutoAcks,
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
/// use burrow::reliable::{Action, ConnectionEvent, Core, ReliableEvent, ReliableOptions};
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
/// assert_eq!(core.poll_transmit(ms(5), &mut out), Some(link));
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
/// core.poll_transmit(ms(10), &mut out);
/// let sent = String::from_utf8_lossy(&out).into_owned();
/// let receipt = sent.lines().find_map(|line| line.strip_prefix("receipt:")).expect("a receipt header");
///
/// // ... and RabbitMQ's RECEIPT (its publisher confirm) takes it out.
/// core.handle_bytes(ms(12), link, format!("RECEIPT\nreceipt-id:{receipt}\n\n\0").as_bytes());
/// let events: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
/// use ReliableEvent::Connection;
/// assert!(matches!(
///     events[..],
///     [Connection(ConnectionEvent::Connecting { .. }), Connection(ConnectionEvent::Connected { .. }), ReliableEvent::Confirmed(confirmed)]
///         if confirmed == id
/// ));
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
    /// Publishes waiting for room in the outbox, in the order they came.
    waiting: VecDeque<(OutboxId, CheckedPublish)>,
    /// Messages in flight when the broker last ended a connection without saying
    /// which request it refused: they go one at a time, each alone (after the
    /// suspects), until each is confirmed or ends two connections alone (then it
    /// is the one refused).
    probation: Set<OutboxId>,
    /// Messages on probation that ended a connection alone once: a second time,
    /// they are what the broker refuses. Forgotten when an attempt then cannot
    /// connect (the node was going away, not refusing).
    lone_deaths: Set<OutboxId>,
    consumers: Map<ConsumerKey, ConsumerSpec>,
    /// Consumers that are over and whose reader has not seen the end yet: `None`
    /// cancelled, `Some` refused.
    ended: Map<ConsumerKey, Option<ConsumeError>>,
    /// Consumers whose subscription was pending when the broker ended a
    /// connection without saying why: they subscribe one at a time, each alone,
    /// until each is answered or ends a connection alone (then it is the one
    /// refused).
    suspects: Set<ConsumerKey>,
    /// Consumers blamed once and cleared by the management API (their queue is
    /// there as subscribed), or blamed once for an exchange the facts cannot
    /// tell about: they go on once; blamed again, they fail.
    cleared: Set<ConsumerKey>,
    next_consumer: u64,
    /// Declares awaiting their answer: what was declared, to explain a refusal.
    declares: Map<DeclareId, (String, QueueOptions)>,
    /// Declares made before the connection was up ([`Core::queue_declare_or_hold`]):
    /// sent first once it is, before the consumers' SUBSCRIBEs and the outbox.
    held_declares: Vec<(DeclareId, String, QueueOptions)>,
    /// Queues this connection declared, as last declared: declared again on every
    /// later connection (a broker restart deletes a non-durable one; see `declare`).
    /// A `Vec`, as `redeclaring`: a few entries, and less code than a `Map`'s.
    declared_queues: Vec<(String, QueueOptions)>,
    /// The core's own declares again awaiting their answer, with their queue.
    redeclaring: Vec<(DeclareId, String)>,
    /// Declares again whose queue a later one declared meanwhile: their late
    /// answer (a look-up's, after the next connection) says nothing any more.
    superseded: Vec<DeclareId>,
    /// Queues whose declare again the facts cleared (see `declare::hold_redeclare`).
    redeclares_cleared: Vec<String>,
    /// The user's declares a lost connection cut short, with their queue: declared
    /// again on the next connection as the core's own, and answered by that one
    /// (see `declare::owe`), with the options each asked.
    owed: Vec<(DeclareId, String, CloseReason, QueueOptions)>,
    /// Owed declares cut by a close without words, whose facts are still to
    /// come (see `declare::owe_until_explained`).
    explaining: Vec<DeclareId>,
    /// Exclusive queues of ours that a connection that ended still holds (see `locked`).
    /// A `Vec`, as `redeclaring`: a few entries, and less code than a `Map`'s.
    locked: Vec<locked::Locked>,
    next_declare: u64,
    /// Refusals waiting for the management API's facts to be explained.
    lookups: Map<LookUpId, Explain>,
    /// Exchanges asked about after a close without words (see `lookup`).
    exchange_lookups: Map<LookUpId, String>,
    next_lookup: u64,
    /// Stopped (not by [`Core::stop`]) while refusals waited for their facts: the
    /// Stopped event waits for them, so it stays the last.
    stop_after_lookups: Option<StopReason>,
    /// Why it stopped, once it has: the failures it reports while stopping can say so.
    stopped_because: Option<StopReason>,
    /// The side connection of a second declare, and the ones waiting for it.
    side: Sides,
    /// The exchanges and bindings to declare again after a reconnect.
    topology: topology::Topology,
    /// Calls awaiting their reply ([`Core::call`]).
    calls: Calls,
    pacer: Pacer,
    timers: TimerTable,
    /// Whether publishes in flight wait unusually long for their confirm.
    confirm_watch: ConfirmWatch,
    actions: VecDeque<Action>,
    events: VecDeque<ReliableEvent>,
    stopped_emitted: bool,
    rng: u64,
    /// A credentials request awaiting its answer.
    fetching: Option<Fetching>,
    next_credentials: u64,
    /// When the credentials in use expire.
    expiry: Option<Expiry>,
    /// Renewals before the credentials expire: when, and the links of one under way.
    renewal: Renewals,
    /// The wall clock minus the core's clock (see [`Core::handle_unix_time`]).
    unix_minus_now: Option<Duration>,
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
            pacer: Pacer::new(settings.pacing),
            settings,
            life: Life::Idle,
            current: None,
            next_link: 0,
            waiting: VecDeque::new(),
            probation: Set::new(),
            lone_deaths: Set::new(),
            consumers: Map::new(),
            ended: Map::new(),
            suspects: Set::new(),
            cleared: Set::new(),
            next_consumer: 0,
            declares: Map::new(),
            held_declares: Vec::new(),
            declared_queues: Vec::new(),
            redeclaring: Vec::new(),
            superseded: Vec::new(),
            redeclares_cleared: Vec::new(),
            owed: Vec::new(),
            explaining: Vec::new(),
            locked: Vec::new(),
            next_declare: 0,
            lookups: Map::new(),
            exchange_lookups: Map::new(),
            next_lookup: 0,
            stop_after_lookups: None,
            stopped_because: None,
            side: Sides::default(),
            topology: topology::Topology::default(),
            calls: Calls::default(),
            timers: TimerTable::default(),
            confirm_watch: ConfirmWatch::default(),
            actions: VecDeque::new(),
            events: VecDeque::new(),
            stopped_emitted: false,
            // xorshift must not start at 0.
            rng: seed | 1,
            fetching: None,
            next_credentials: 0,
            expiry: None,
            renewal: Renewals::default(),
            unix_minus_now: None,
        }
    }

    // ---- inputs from the driver ----

    /// The socket `link` opened.
    pub fn handle_opened(&mut self, now: Duration, link: LinkId) {
        let running = self.life == Life::Running;
        if let Some(current) = self.current.as_mut().filter(|c| c.id == link && running) {
            current.opened = true;
            current.link.handle_open(now);
            self.process(now);
        } else if !self.other_opened(now, link) {
            // Stopped, or superseded while it opened: it must not CONNECT.
            self.actions.push_back(Action::Close { link, code: 1000, reason: "not needed".into() });
        }
        self.sync_timers();
    }

    /// The socket `link` received `bytes` (one WebSocket message).
    pub fn handle_bytes(&mut self, now: Duration, link: LinkId, bytes: &[u8]) {
        if let Some(current) = self.current.as_mut().filter(|c| c.id == link) {
            current.link.handle_bytes(now, bytes);
            self.process(now);
        } else {
            self.other_input(now, link, |other| other.handle_bytes(now, bytes));
        }
        self.sync_timers();
    }

    /// The socket `link` closed.
    pub fn handle_closed(&mut self, now: Duration, link: LinkId, closed: SocketClose) {
        if let Some(current) = self.current.as_mut().filter(|c| c.id == link) {
            current.link.handle_closed(now, closed);
            self.process(now);
        } else {
            self.other_input(now, link, |other| other.handle_closed(now, closed));
        }
        self.sync_timers();
    }

    /// The socket `link` refused to send (the driver could not write).
    pub fn handle_send_failed(&mut self, now: Duration, link: LinkId, problem: String) {
        if let Some(current) = self.current.as_mut().filter(|c| c.id == link) {
            current.link.handle_transport_error(now, problem);
            self.process(now);
        } else {
            self.other_input(now, link, |other| other.handle_transport_error(now, problem));
        }
        self.sync_timers();
    }

    /// Something the driver noticed that changes nothing the core decides (its
    /// worker could not start): said as a [`ConnectionEvent::Warning`], in order,
    /// and never after Stopped.
    pub fn handle_warning(&mut self, warning: Warning) {
        self.status(ConnectionEvent::Warning(warning));
    }

    /// The time [`Core::poll_timeout`] asked for came (early or late calls are
    /// fine): handles every [`Timer`] that is due, in [`Timer::VALUES`] order.
    pub fn handle_timeout(&mut self, now: Duration) {
        for timer in Timer::VALUES {
            if !self.timers.is_expired(timer, now) {
                continue;
            }
            match timer {
                Timer::SocketOpen => {
                    let waited = self.options.connect_timeout;
                    self.end_link(now, CloseReason::ConnectTimeout(waited));
                }
                Timer::Link => {
                    if let Some(current) = self.current.as_mut() {
                        current.link.handle_timeout(now);
                        self.process(now);
                    }
                }
                Timer::Retry => {
                    if self.life == Life::Running && self.reconnector.handle_timeout(now) {
                        self.open_link(now);
                    }
                }
                // The held bytes go at the next poll_transmit.
                Timer::Pacing => self.timers.stop(Timer::Pacing),
                Timer::AutoAck => self.flush_auto_acks(now),
                Timer::SideLink => self.side_timeout(now),
                Timer::LookUp => self.look_up_timeout(now),
                Timer::HeldBack => {
                    if let Some(since) = self.confirm_watch.timeout(now) {
                        let in_flight = self.outbox.in_flight();
                        self.status(ConnectionEvent::PublishesHeldBack { since, in_flight });
                    }
                }
                Timer::Call => self.call_timeouts(now),
                Timer::Credentials => self.credentials_timeout(now),
                Timer::Renew => self.renew(now),
                Timer::Locked => self.retry_locked(now),
                Timer::Topology => self.topology_timeout(now),
            }
            self.sync_timers();
        }
    }

    // ---- outputs to the driver ----

    /// The next action: open or close a socket, or read the management API.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Appends bytes to write to `out` and says on which socket; `None` when there
    /// is nothing to write now. Everything queued for a socket goes in one buffer,
    /// so the driver makes one socket send, not one per frame; under load the
    /// current connection's writes are batched further ([`Pacing`]): what exceeds
    /// the burst waits for [`Timer::Pacing`]. Call it until it says `None`.
    pub fn poll_transmit(&mut self, now: Duration, out: &mut Vec<u8>) -> Option<LinkId> {
        if let Some(current) = self.current.as_mut().filter(|c| c.link.has_transmits()) {
            if self.pacer.may_write(now) {
                current.link.write_transmits(out);
                self.pacer.wrote();
                self.timers.stop(Timer::Pacing);
                return Some(current.id);
            }
            self.timers.set(Timer::Pacing, self.pacer.release_at());
        }
        self.other_transmit(out)
    }

    /// Whether bytes wait to be written: held back by [`Pacing`] until
    /// [`Timer::Pacing`], or not polled yet.
    pub fn has_transmits(&self) -> bool {
        self.current.as_ref().is_some_and(|c| c.link.has_transmits())
            || self.side.has_transmits()
            || self.renewal.has_transmits()
    }

    /// The next event for the user.
    pub fn poll_event(&mut self) -> Option<ReliableEvent> {
        // The outbox's counts last: after everything the input changed.
        self.events.pop_front().or_else(|| self.outbox_event())
    }

    /// When to call [`Core::handle_timeout`] next: the earliest [`Timer`].
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.timers.next().map(|(_, at)| at)
    }

    /// The next deadline and which [`Timer`] it is, for a driver's log.
    pub fn next_timer(&self) -> Option<(Timer, Duration)> {
        self.timers.next()
    }

    // ---- inside ----

    fn emit(&mut self, event: ReliableEvent) {
        // A call's request is the call's: its outcome does not reach publishers.
        let Some(event) = self.call_publish_event(event) else { return };
        // A declare again is the core's own: nobody waits for its answer.
        let Some(event) = self.redeclare_event(event) else { return };
        // Stopped is the last word: nothing after it, whatever the path.
        if !self.stopped_emitted {
            self.stopped_emitted = matches!(event, ReliableEvent::Connection(ConnectionEvent::Stopped(_)));
            self.events.push_back(event);
        }
    }

    fn status(&mut self, event: ConnectionEvent) {
        self.emit(ReliableEvent::Connection(event));
    }

    fn random_unit(&mut self) -> f64 {
        // xorshift64*: deterministic for a seed, good enough for jitter.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let value = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (value >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Handles everything the current link reported, then sends what the
    /// outbox may.
    fn process(&mut self, now: Duration) {
        while let Some(event) = self.current.as_mut().and_then(|current| current.link.poll_event()) {
            match event {
                Event::Connected(info) => self.connected_or_recover(now, info),
                Event::Message(message) => self.on_message(now, message),
                Event::Receipt { id, request } => self.on_receipt(now, id, request),
                Event::Error(error) => {
                    // Any other ERROR: the close that follows carries it.
                    if let Some(sub) = error.cancelled_subscription() {
                        self.cancelled_by_broker(now, &sub, error);
                    }
                }
                Event::ReceiptsLost(_) => {}
                Event::LocalError(error) => self.status(ConnectionEvent::Warning(error.into())),
                Event::Closed(reason) => {
                    self.end_link(now, reason);
                    break;
                }
            }
        }
        self.admit_waiting();
        self.flush(now);
        self.continue_renewal(now);
    }
}
