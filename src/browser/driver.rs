//! The browser driver of the reliability [`Core`] (wasm only): it opens and closes
//! the WebSockets the core asks for, feeds it what they report, writes what it
//! wants written, keeps its timer (with a worker tick for background tabs), and
//! hands its events to futures and streams. It decides nothing itself.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_channel::{mpsc, oneshot};
use futures_util::{Stream, StreamExt};
use gloo_timers::callback::Timeout;

use crate::sans_io::core::{
    Pacer,
    AckError, Acker, Action, ConsumeError, ConsumeOptions, ConsumerKey, Core, DeclareError, DeclareId, LinkId,
    Phase, PublishError, ReliableEvent, ReliableOptions, StopReason, Warning,
};
use crate::client::{CloseReason, ConnectOptions, ConnectionInfo, Fault, SocketClose};
use crate::management::ManagementApi;
use crate::rabbit::{
    diagnose_consume, diagnose_declare, BasicProperties, HeartBeats, OutboxId, PendingPublish,
    QueueOptions, RefusalKind,
};
use crate::transport::{declare_on_new_connection, now, Socket, SocketHandlers, Ticker, TransportError, TransportOptions};

/// What a [`ReliableConnection`] reports about itself (deliveries go to each
/// [`Consumer`], confirms to each [`PublishConfirm`]).
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionEvent {
    /// Opening a connection to `url`.
    Connecting {
        /// Where to.
        url: String,
    },
    /// Connected (again); consumers are restored and the outbox resent.
    Connected {
        /// Where to.
        url: String,
        /// What CONNECTED said.
        info: ConnectionInfo,
    },
    /// The connection was lost; the next attempt comes after `delay`.
    Reconnecting {
        /// Why it was lost.
        reason: CloseReason,
        /// Which retry this is, from 1.
        attempt: u32,
        /// How long until it.
        delay: Duration,
        /// Where it will go.
        next_url: String,
    },
    /// The broker accepted a consumer's subscription (again, after a reconnect).
    ConsumerReady(ConsumerKey),
    /// A consumer ended because the broker refused it.
    ConsumerFailed {
        /// Which consumer.
        consumer: ConsumerKey,
        /// Why.
        error: ConsumeError,
    },
    /// Something odd that changes nothing.
    Warning(Warning),
    /// No more connections: the user stopped it, or the broker refused CONNECT in a
    /// way retrying cannot fix. Always the last event.
    Stopped(StopReason),
}

/// How many messages wait in the outbox, and how many of them are in flight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStatus {
    /// Messages waiting for their confirm (unsent or in flight).
    pub messages: usize,
    /// Their body bytes.
    pub bytes: usize,
    /// Sent on the current connection, confirm not yet back.
    pub in_flight: usize,
}

type Shared = Rc<RefCell<Driver>>;

struct Driver {
    core: Core,
    sockets: HashMap<LinkId, Socket>,
    timer: Option<Timeout>,
    /// The deadline `timer` is armed for.
    timer_at: Option<Duration>,
    ticker: Option<Ticker>,
    events: mpsc::UnboundedSender<ConnectionEvent>,
    confirms: HashMap<OutboxId, ConfirmSink>,
    consumers: HashMap<ConsumerKey, mpsc::UnboundedSender<Result<Delivery, ConsumeError>>>,
    queues: HashMap<ConsumerKey, String>,
    declares: HashMap<DeclareId, oneshot::Sender<Result<(), DeclareError>>>,
    /// Publishers waiting for room, in the order they came (by ticket); only the
    /// first is woken when room comes, so they go in order and a confirm wakes one
    /// task, not all of them.
    room: VecDeque<(u64, Option<oneshot::Sender<()>>)>,
    next_ticket: u64,
    /// Callers waiting for the connection to be up (or stopped).
    up: Vec<oneshot::Sender<()>>,
    /// Bytes for `pending_link` not yet written: the pacer batches them under load.
    out: Vec<u8>,
    pending_link: Option<LinkId>,
    pacer: Pacer,
    /// Writes what the pacer held, when its slot ends.
    flush_timer: Option<Timeout>,
    options: ConnectOptions,
    /// Where the last connection went, for management API look-ups after it closed.
    last_url: Option<String>,
    /// The management API's address, when given ([`ReliableOptions::management_url`]).
    management_url: Option<String>,
    weak: Weak<RefCell<Driver>>,
}

/// A connection that reconnects by itself, restores its consumers and resends what
/// was not confirmed; see the module documentation. Dropping it stops it.
///
/// Its status comes as [`ConnectionEvent`]s, for a status line:
///
/// ```no_run
/// use burrow::client::ConnectOptions;
/// use burrow::reliable::{ConnectionEvent, ReliableConnection, ReliableOptions};
///
/// # async fn status() -> Result<(), burrow::reliable::StartError> {
/// let options = ConnectOptions::new("/").with_credentials("burrow", "burrow");
/// let mut connection = ReliableConnection::start("ws://127.0.0.1:15674/ws", options, ReliableOptions::default())?;
/// while let Some(event) = connection.next_event().await {
///     match event {
///         ConnectionEvent::Connected { info, .. } => println!("connected to {:?}", info.server),
///         ConnectionEvent::Reconnecting { reason, delay, .. } => println!("{reason}; trying again in {delay:?}"),
///         ConnectionEvent::Stopped(reason) => println!("stopped: {reason}"), // always the last event
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
pub struct ReliableConnection {
    shared: Shared,
    events: mpsc::UnboundedReceiver<ConnectionEvent>,
}

/// Why [`ReliableConnection::start`] refused its arguments.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// No URL was given.
    #[error("no Web-STOMP URL to connect to")]
    NoUrl,
    /// A URL is not a WebSocket URL.
    #[error("{0:?} is not a Web-STOMP URL: it starts with ws:// or wss://, such as ws://127.0.0.1:15674/ws")]
    NotWebSocket(String),
}

impl ReliableConnection {
    /// Starts connecting to `url` and keeps the connection up until
    /// [`ReliableConnection::stop`] (or a CONNECT refusal).
    ///
    /// # Errors
    ///
    /// [`StartError`] for a URL that is not `ws://` or `wss://`.
    pub fn start(url: &str, options: ConnectOptions, reliable: ReliableOptions) -> Result<Self, StartError> {
        Self::start_with_urls(vec![url.to_owned()], options, reliable)
    }

    /// As [`ReliableConnection::start`], with several Web-STOMP URLs (the nodes of
    /// a cluster): each failure moves to the next one, with the same backoff.
    ///
    /// # Errors
    ///
    /// [`StartError`] for no URL or one that is not `ws://` or `wss://`.
    pub fn start_with_urls(
        urls: Vec<String>,
        options: ConnectOptions,
        reliable: ReliableOptions,
    ) -> Result<Self, StartError> {
        if urls.is_empty() {
            return Err(StartError::NoUrl);
        }
        if let Some(bad) = urls.iter().find(|u| !(u.starts_with("ws://") || u.starts_with("wss://"))) {
            return Err(StartError::NotWebSocket(bad.clone()));
        }
        let seed = (js_sys::Math::random() * 2f64.powi(53)) as u64;
        let (events_tx, events) = mpsc::unbounded();
        let shared = Rc::new_cyclic(|weak| {
            RefCell::new(Driver {
                core: Core::new(urls, options.clone(), reliable.clone(), seed),
                sockets: HashMap::new(),
                timer: None,
                timer_at: None,
                ticker: None,
                events: events_tx,
                confirms: HashMap::new(),
                consumers: HashMap::new(),
                queues: HashMap::new(),
                declares: HashMap::new(),
                room: VecDeque::new(),
                next_ticket: 0,
                up: Vec::new(),
                out: Vec::new(),
                pending_link: None,
                pacer: Pacer::new(reliable.pacing),
                flush_timer: None,
                options,
                last_url: None,
                management_url: reliable.management_url.clone(),
                weak: weak.clone(),
            })
        });
        let weak = Rc::downgrade(&shared);
        let ticker = Ticker::start(move || {
            with_driver(&weak, |shared| {
                let due = shared.borrow().core.poll_timeout().is_some_and(|at| at <= now());
                if due {
                    shared.borrow_mut().core.handle_timeout(now());
                    pump(shared);
                }
            })
        });
        shared.borrow_mut().ticker = ticker;
        shared.borrow_mut().core.start(now());
        pump(&shared);
        Ok(ReliableConnection { shared, events })
    }

    /// The next status event; `None` once stopped and every event was read.
    pub async fn next_event(&mut self) -> Option<ConnectionEvent> {
        self.events.next().await
    }

    /// Takes the status stream, for a caller that reads it on its own task.
    pub fn take_events(&mut self) -> mpsc::UnboundedReceiver<ConnectionEvent> {
        let (_, empty) = mpsc::unbounded();
        std::mem::replace(&mut self.events, empty)
    }

    /// pika's `basic_publish` with a publisher confirm. Waits while the outbox is
    /// full (backpressure), then puts the message in it and returns the confirm to
    /// await: it resolves when RabbitMQ confirms the message, or with why it never
    /// will. Across reconnects the message is kept and sent again.
    ///
    /// # Errors
    ///
    /// [`PublishError::Invalid`] for a message the broker would refuse or that breaks
    /// a limit (nothing sent), [`PublishError::Stopped`] once stopped.
    pub async fn basic_publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        properties: &BasicProperties,
    ) -> Result<PublishConfirm, PublishError> {
        let mut turn: Option<WaitingPublisher> = None;
        loop {
            let waiting = {
                let mut driver = self.shared.borrow_mut();
                let first = match &turn {
                    Some(turn) => driver.room.front().is_some_and(|(ticket, _)| *ticket == turn.ticket),
                    None => driver.room.is_empty(),
                };
                match driver.core.check_room(body.len()) {
                    Ok(()) if first => None,
                    Ok(()) | Err(PublishError::Full(_)) => {
                        let (tx, rx) = oneshot::channel();
                        match &turn {
                            Some(turn) => {
                                if let Some(place) = driver.room.iter_mut().find(|(ticket, _)| *ticket == turn.ticket) {
                                    place.1 = Some(tx);
                                }
                            }
                            None => {
                                let ticket = driver.next_ticket;
                                driver.next_ticket += 1;
                                driver.room.push_back((ticket, Some(tx)));
                                turn = Some(WaitingPublisher { ticket, shared: Rc::downgrade(&self.shared) });
                            }
                        }
                        Some(rx)
                    }
                    Err(other) => return Err(other),
                }
            };
            match waiting {
                None => break,
                // Room came (a confirm or failure), or the connection is gone: look again.
                Some(rx) => {
                    let _ = rx.await;
                }
            }
        }
        // Out of the queue; the next in it looks for room in its turn.
        drop(turn);
        self.try_basic_publish(exchange, routing_key, body, properties)
    }

    /// [`ReliableConnection::basic_publish`] without waiting: refused at once with
    /// [`PublishError::Full`] while the outbox is full.
    ///
    /// # Errors
    ///
    /// As [`ReliableConnection::basic_publish`], plus [`PublishError::Full`].
    pub fn try_basic_publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        properties: &BasicProperties,
    ) -> Result<PublishConfirm, PublishError> {
        let (tx, rx) = oneshot::channel();
        let id = self.enqueue(exchange, routing_key, body, properties, ConfirmSink::Future(tx))?;
        Ok(PublishConfirm { id, rx })
    }

    /// [`ReliableConnection::try_basic_publish`] whose outcome goes to `then`
    /// (called once, also when stopped) instead of a future: the JavaScript API
    /// resolves its Promise there, with no task and no channel per message.
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn try_basic_publish_then(
        &self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        properties: &BasicProperties,
        then: Box<dyn FnOnce(Result<(), PublishError>)>,
    ) -> Result<(), PublishError> {
        self.enqueue(exchange, routing_key, body, properties, ConfirmSink::Callback(then)).map(|_| ())
    }

    /// Puts the message in the outbox (the core validates it) with where its
    /// outcome goes, then lets the driver send it.
    fn enqueue(
        &self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        properties: &BasicProperties,
        sink: ConfirmSink,
    ) -> Result<OutboxId, PublishError> {
        let publish = PendingPublish {
            exchange: exchange.to_owned(),
            routing_key: routing_key.to_owned(),
            body,
            properties: properties.clone(),
        };
        let id = {
            let mut driver = self.shared.borrow_mut();
            let id = driver.core.basic_publish(now(), publish)?;
            driver.confirms.insert(id, sink);
            id
        };
        pump(&self.shared);
        Ok(id)
    }

    /// Whether a publish with a body of `size` bytes would be taken now (room in
    /// the outbox, not stopped) without overtaking a publisher waiting for room.
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn has_room(&self, size: usize) -> bool {
        let driver = self.shared.borrow();
        driver.room.is_empty() && driver.core.check_room(size).is_ok()
    }

    /// pika's `basic_consume`: a consumer that subscribes now (or once connected)
    /// and again after every reconnect. Its deliveries come through the returned
    /// [`Consumer`] stream; each one acks itself.
    ///
    /// # Errors
    ///
    /// [`ConsumeError::Invalid`] for an empty or too long queue name,
    /// [`ConsumeError::Stopped`] once stopped.
    pub fn basic_consume(&self, queue: &str, options: ConsumeOptions) -> Result<Consumer, ConsumeError> {
        let (tx, rx) = mpsc::unbounded();
        let key = {
            let mut driver = self.shared.borrow_mut();
            let key = driver.core.basic_consume(now(), queue, options)?;
            driver.consumers.insert(key, tx);
            driver.queues.insert(key, queue.to_owned());
            key
        };
        pump(&self.shared);
        Ok(Consumer { key, deliveries: rx, shared: Rc::downgrade(&self.shared), cancelled: false })
    }

    /// Waits until connected; `false` if it stopped instead (a CONNECT refusal, or
    /// [`ReliableConnection::stop`]).
    pub async fn wait_connected(&self) -> bool {
        loop {
            let waiting = {
                let mut driver = self.shared.borrow_mut();
                match driver.core.phase() {
                    Phase::Connected { .. } => return true,
                    Phase::Stopping | Phase::Stopped => return false,
                    _ => {
                        let (tx, rx) = oneshot::channel();
                        driver.up.push(tx);
                        rx
                    }
                }
            };
            let _ = waiting.await;
        }
    }

    /// pika's `queue_declare`, once connected (it waits for the connection, as
    /// pika's blocking calls do). A refusal comes back in RabbitMQ's words (rebuilt
    /// from the management API when Web-STOMP closed without them); the connection
    /// then reconnects by itself.
    ///
    /// # Errors
    ///
    /// [`DeclareError`]: invalid, refused, the connection closed first, or stopped.
    pub async fn queue_declare(&self, queue: &str, options: &QueueOptions) -> Result<(), DeclareError> {
        if !self.wait_connected().await {
            return Err(DeclareError::Stopped);
        }
        let started = {
            let mut driver = self.shared.borrow_mut();
            match driver.core.queue_declare(now(), queue, options) {
                Ok(id) => {
                    let (tx, rx) = oneshot::channel();
                    driver.declares.insert(id, tx);
                    Ok(rx)
                }
                Err(error) => Err(error),
            }
        };
        pump(&self.shared);
        let result = match started {
            Ok(rx) => rx.await.unwrap_or(Err(DeclareError::Stopped)),
            // The broker answers a second declare only on a new connection.
            Err(DeclareError::AlreadyDeclared(_)) => self.declare_elsewhere(queue, options).await,
            Err(error) => Err(error),
        };
        match result {
            Err(DeclareError::Closed(reason)) if reason.fault() == Fault::Broker && reason.server_error().is_none() => {
                let existing = match self.management() {
                    Some((api, vhost)) => api.queue(&vhost, queue).await.ok().flatten().map(|q| q.facts()),
                    None => None,
                };
                let vhost = self.shared.borrow().options.host.clone();
                Err(DeclareError::Refused(diagnose_declare(queue, &vhost, options, existing.as_ref())))
            }
            other => other,
        }
    }

    async fn declare_elsewhere(&self, queue: &str, options: &QueueOptions) -> Result<(), DeclareError> {
        let (url, connect) = {
            let driver = self.shared.borrow();
            let url = match driver.core.phase() {
                Phase::Connected { url } | Phase::Connecting { url } => url,
                _ => return Err(DeclareError::NotConnected),
            };
            (url, driver.options.clone())
        };
        let management = self.management().map(|(api, _)| api);
        match declare_on_new_connection(&url, &connect, TransportOptions::default(), management, queue, options).await {
            Ok(()) => Ok(()),
            Err(error) => match error.refusal() {
                Some(refusal) => Err(DeclareError::Refused(refusal)),
                None => match error {
                    TransportError::Closed(reason) => Err(DeclareError::Closed(reason)),
                    other => Err(DeclareError::Closed(CloseReason::Transport(other.to_string()))),
                },
            },
        }
    }

    /// The management API for the current URL, and the vhost.
    fn management(&self) -> Option<(ManagementApi, String)> {
        let driver = self.shared.borrow();
        let url = match driver.core.phase() {
            Phase::Connected { url } | Phase::Connecting { url } => url,
            _ => return None,
        };
        let api = ManagementApi::for_connection(&url, driver.management_url.as_deref(), &driver.options)?;
        Some((api, driver.options.host.clone()))
    }

    /// Stops: DISCONNECT, no more attempts. Unconfirmed publishes fail with
    /// [`PublishError::Stopped`]; [`ConnectionEvent::Stopped`] comes last.
    pub fn stop(&self) {
        self.shared.borrow_mut().core.stop(now());
        pump(&self.shared);
    }

    /// Drops the connection without DISCONNECT and without acking, as a crashed
    /// worker would, and does not come back: the broker redelivers what it had
    /// given this connection, marked redelivered.
    pub fn crash(&self) {
        {
            let mut driver = self.shared.borrow_mut();
            let now = now();
            if let Some(link) = driver.core.current_link() {
                if let Some(socket) = driver.sockets.remove(&link) {
                    socket.close(1000, "crashed");
                }
                driver.core.handle_closed(now, link, SocketClose::new(1000, "crashed on purpose"));
            }
            driver.core.stop(now);
        }
        pump(&self.shared);
    }

    /// Where it is now.
    pub fn phase(&self) -> Phase {
        self.shared.borrow().core.phase()
    }

    /// Whether it is connected now.
    pub fn is_connected(&self) -> bool {
        self.shared.borrow().core.is_connected()
    }

    /// The outbox's size.
    pub fn outbox(&self) -> OutboxStatus {
        let driver = self.shared.borrow();
        let outbox = driver.core.outbox();
        OutboxStatus { messages: outbox.len(), bytes: outbox.bytes(), in_flight: outbox.in_flight() }
    }

    /// Heart-beats on the current connection.
    pub fn heartbeats(&self) -> HeartBeats {
        self.shared.borrow().core.heartbeats()
    }

    /// Time left until the next reconnect attempt, when one is scheduled.
    pub fn countdown(&self) -> Option<Duration> {
        self.shared.borrow().core.countdown(now())
    }
}

impl Drop for ReliableConnection {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The broker's confirm of one publish: resolves to `Ok(())` once RabbitMQ has
/// the message, or to why it never will.
///
/// Awaiting it is optional: the message stays in the outbox (and is resent after a
/// reconnect) until confirmed either way. Many can be in flight at once:
///
/// ```no_run
/// use burrow::rabbit::BasicProperties;
/// use burrow::reliable::{PublishError, ReliableConnection};
///
/// # async fn publish(connection: &ReliableConnection) -> Result<(), PublishError> {
/// let mut confirms = Vec::new();
/// for n in 0..1000 {
///     // Waits only while the outbox is full.
///     let body = format!("task {n}").into_bytes();
///     confirms.push(connection.basic_publish("", "task_queue", body, &BasicProperties::persistent()).await?);
/// }
/// for confirm in confirms {
///     confirm.await?; // Refused (a missing exchange), or Stopped before RabbitMQ confirmed it
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct PublishConfirm {
    id: OutboxId,
    rx: oneshot::Receiver<Result<(), PublishError>>,
}

impl PublishConfirm {
    /// The message's place in the outbox.
    pub fn id(&self) -> OutboxId {
        self.id
    }
}

impl Future for PublishConfirm {
    type Output = Result<(), PublishError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx).poll(cx).map(|result| result.unwrap_or(Err(PublishError::Stopped)))
    }
}

/// A delivery to a [`Consumer`]: the message (it dereferences to
/// [`crate::rabbit::Delivery`]) and what acknowledges it on its own connection.
///
/// ```no_run
/// use burrow::reliable::{AckError, Delivery};
///
/// fn handle(delivery: Delivery) {
///     println!("{}", delivery.body_text());
///     match delivery.ack() {
///         Ok(()) => {}
///         // Its connection was lost meanwhile: RabbitMQ redelivers it, marked.
///         Err(AckError::Stale { .. }) => {}
///         Err(other) => eprintln!("{other}"),
///     }
/// }
/// ```
#[derive(Debug)]
pub struct Delivery {
    delivery: crate::rabbit::Delivery,
    acker: Option<Acker>,
    shared: Weak<RefCell<Driver>>,
}

impl std::ops::Deref for Delivery {
    type Target = crate::rabbit::Delivery;

    fn deref(&self) -> &Self::Target {
        &self.delivery
    }
}

impl Delivery {
    /// pika's `basic_ack`, on the connection the delivery came on.
    ///
    /// # Errors
    ///
    /// [`AckError::Stale`] when that connection is gone (RabbitMQ redelivers the
    /// message, marked), [`AckError::AlreadySettled`], [`AckError::Stopped`]. An
    /// auto-ack delivery needs no ack: `Ok`.
    pub fn ack(&self) -> Result<(), AckError> {
        self.ack_handle().ack()
    }

    /// pika's `basic_nack`: `requeue` puts it back in the queue, otherwise RabbitMQ
    /// drops or dead-letters it.
    ///
    /// # Errors
    ///
    /// As [`Delivery::ack`].
    pub fn nack(&self, requeue: bool) -> Result<(), AckError> {
        self.ack_handle().nack(requeue)
    }

    /// What acknowledges it: its connection and delivery tag (`None` for auto-ack).
    pub fn acker(&self) -> Option<&Acker> {
        self.acker.as_ref()
    }

    /// A handle that acks or nacks this delivery later, without keeping its body.
    pub fn ack_handle(&self) -> AckHandle {
        AckHandle { acker: self.acker.clone(), shared: self.shared.clone() }
    }

    /// The message itself.
    pub fn message(&self) -> &crate::rabbit::Delivery {
        &self.delivery
    }
}

/// Acknowledges one delivery later (see [`Delivery::ack_handle`]); holds no body.
#[derive(Debug, Clone)]
pub struct AckHandle {
    acker: Option<Acker>,
    shared: Weak<RefCell<Driver>>,
}

impl PartialEq for AckHandle {
    fn eq(&self, other: &Self) -> bool {
        self.acker == other.acker && self.shared.ptr_eq(&other.shared)
    }
}

impl AckHandle {
    /// As [`Delivery::ack`].
    ///
    /// # Errors
    ///
    /// As [`Delivery::ack`].
    pub fn ack(&self) -> Result<(), AckError> {
        self.settle(|core, acker| core.basic_ack(now(), acker))
    }

    /// As [`Delivery::nack`].
    ///
    /// # Errors
    ///
    /// As [`Delivery::ack`].
    pub fn nack(&self, requeue: bool) -> Result<(), AckError> {
        self.settle(|core, acker| core.basic_nack(now(), acker, requeue))
    }

    /// Whether there is anything to ack (not an auto-ack delivery).
    pub fn needs_ack(&self) -> bool {
        self.acker.is_some()
    }

    fn settle(&self, call: impl FnOnce(&mut Core, &Acker) -> Result<(), AckError>) -> Result<(), AckError> {
        let Some(acker) = &self.acker else { return Ok(()) };
        let Some(shared) = self.shared.upgrade() else { return Err(AckError::Stopped) };
        let result = call(&mut shared.borrow_mut().core, acker);
        pump(&shared);
        result
    }
}

/// A consumer: a [`Stream`] of its deliveries (and, last, the error that ended it,
/// if the broker refused it). Dropping it cancels it.
///
/// It survives reconnects: after an outage it subscribes again with its ack mode
/// and prefetch, and the stream goes on.
///
/// ```no_run
/// use burrow::reliable::{ConsumeOptions, ReliableConnection};
/// use futures_util::StreamExt;
///
/// # async fn work(connection: &ReliableConnection) -> Result<(), Box<dyn std::error::Error>> {
/// // pika: basic_qos(prefetch_count=1); basic_consume("task_queue", callback, auto_ack=False)
/// let mut tasks = connection.basic_consume("task_queue", ConsumeOptions { auto_ack: false, prefetch: 1, ..Default::default() })?;
/// while let Some(task) = tasks.next().await {
///     let task = task?; // NOT_FOUND and the like end the stream with the refusal
///     if task.possibly_duplicate() {
///         // redelivered, or resent after a lost confirm: at-least-once
///     }
///     task.ack()?;
/// }
/// # Ok(()) }
/// ```
pub struct Consumer {
    key: ConsumerKey,
    deliveries: mpsc::UnboundedReceiver<Result<Delivery, ConsumeError>>,
    shared: Weak<RefCell<Driver>>,
    cancelled: bool,
}

impl Consumer {
    /// Which consumer it is.
    pub fn key(&self) -> ConsumerKey {
        self.key
    }

    /// pika's `basic_cancel`: no more subscriptions; deliveries already on their
    /// way still come, then the stream ends.
    pub fn cancel(&mut self) {
        if std::mem::replace(&mut self.cancelled, true) {
            return;
        }
        if let Some(shared) = self.shared.upgrade() {
            shared.borrow_mut().core.basic_cancel(now(), self.key);
            pump(&shared);
        }
    }
}

impl Stream for Consumer {
    type Item = Result<Delivery, ConsumeError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.deliveries).poll_next(cx)
    }
}

impl futures_util::stream::FusedStream for Consumer {
    fn is_terminated(&self) -> bool {
        self.deliveries.is_terminated()
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.cancel();
    }
}

fn with_driver(weak: &Weak<RefCell<Driver>>, f: impl FnOnce(&Shared)) {
    if let Some(shared) = weak.upgrade() {
        f(&shared);
    }
}

/// Carries out what the core asked, hands its events on, and re-arms its timer.
fn pump(shared: &Shared) {
    let Ok(mut guard) = shared.try_borrow_mut() else { return };
    let driver = &mut *guard;
    loop {
        let mut busy = false;
        while let Some(action) = driver.core.poll_action() {
            busy = true;
            match action {
                Action::Open { link, url } => match Socket::open(&url, handlers(&driver.weak, link)) {
                    Ok(socket) => {
                        driver.sockets.insert(link, socket);
                    }
                    Err(error) => driver.core.handle_send_failed(now(), link, error.to_string()),
                },
                Action::Close { link, code, reason } => {
                    if driver.pending_link == Some(link) {
                        // Bytes for a socket that is going: nobody will read them.
                        driver.out.clear();
                        driver.pending_link = None;
                    }
                    if let Some(socket) = driver.sockets.remove(&link) {
                        socket.close(code, &reason);
                    }
                }
            }
        }
        if driver.pending_link != driver.core.current_link() {
            // Held bytes of a socket that is no longer current: nobody will read them.
            driver.out.clear();
        }
        if let Some(link) = driver.core.poll_transmit(&mut driver.out) {
            driver.pending_link = Some(link);
            busy = true;
        }
        busy |= write_pending(driver);
        while let Some(event) = driver.core.poll_event() {
            busy = true;
            route(driver, event);
        }
        if !busy {
            break;
        }
    }
    // Re-armed only when the deadline moves: a timer per message costs more than the message.
    let deadline = driver.core.poll_timeout();
    if deadline != driver.timer_at || driver.timer.is_none() && deadline.is_some() {
        driver.timer_at = deadline;
        let weak = driver.weak.clone();
        driver.timer = deadline.map(|at| {
            let delay = at.saturating_sub(now()).as_millis().min(u128::from(u32::MAX)) as u32;
            Timeout::new(delay, move || {
                with_driver(&weak, |shared| {
                    {
                        let mut driver = shared.borrow_mut();
                        driver.timer = None;
                        driver.timer_at = None;
                        driver.core.handle_timeout(now());
                    }
                    pump(shared);
                })
            })
        });
    }
}

/// Writes the pending bytes if the pacer allows it now, else makes sure a timer
/// writes them when its slot ends. Returns whether the core has something new to
/// say (the socket refused the write).
fn write_pending(driver: &mut Driver) -> bool {
    let Some(link) = driver.pending_link.filter(|_| !driver.out.is_empty()) else {
        driver.flush_timer = None;
        return false;
    };
    let now = now();
    if !driver.pacer.may_write(now) {
        if driver.flush_timer.is_none() {
            let delay = driver.pacer.release_at().saturating_sub(now).as_millis().min(1_000) as u32;
            let weak = driver.weak.clone();
            driver.flush_timer = Some(Timeout::new(delay, move || {
                with_driver(&weak, |shared| {
                    shared.borrow_mut().flush_timer = None;
                    pump(shared);
                })
            }));
        }
        return false;
    }
    driver.pacer.wrote();
    driver.flush_timer = None;
    let sent = driver.sockets.get(&link).map(|socket| socket.send(&driver.out));
    driver.out.clear();
    match sent {
        Some(Err(problem)) => {
            driver.core.handle_send_failed(now, link, format!("sending failed: {problem}"));
            true
        }
        _ => false,
    }
}

fn handlers(weak: &Weak<RefCell<Driver>>, link: LinkId) -> SocketHandlers {
    SocketHandlers {
        on_open: Box::new({
            let weak = weak.clone();
            move || with_driver(&weak, |shared| {
                shared.borrow_mut().core.handle_opened(now(), link);
                pump(shared);
            })
        }),
        on_bytes: Box::new({
            let weak = weak.clone();
            move |bytes| with_driver(&weak, |shared| {
                shared.borrow_mut().core.handle_bytes(now(), link, bytes);
                pump(shared);
            })
        }),
        on_close: Box::new({
            let weak = weak.clone();
            move |closed| with_driver(&weak, |shared| {
                {
                    let mut driver = shared.borrow_mut();
                    driver.sockets.remove(&link);
                    driver.core.handle_closed(now(), link, closed);
                }
                pump(shared);
            })
        }),
    }
}

/// A [`ReliableConnection::basic_publish`]'s place in the queue for room; it
/// leaves the queue when dropped (done, or its future dropped while waiting).
struct WaitingPublisher {
    ticket: u64,
    shared: Weak<RefCell<Driver>>,
}

impl Drop for WaitingPublisher {
    fn drop(&mut self) {
        let Some(shared) = self.shared.upgrade() else { return };
        let Ok(mut driver) = shared.try_borrow_mut() else { return };
        driver.room.retain(|(ticket, _)| *ticket != self.ticket);
        // The next one looks for room now: there may be some left.
        wake_first_publisher(&mut driver);
    }
}

/// Where a publish's outcome goes.
enum ConfirmSink {
    /// A [`PublishConfirm`] awaits it.
    Future(oneshot::Sender<Result<(), PublishError>>),
    /// Called with it, once.
    Callback(Box<dyn FnOnce(Result<(), PublishError>)>),
}

impl ConfirmSink {
    fn settle(self, outcome: Result<(), PublishError>) {
        match self {
            ConfirmSink::Future(tx) => {
                let _ = tx.send(outcome);
            }
            ConfirmSink::Callback(then) => then(outcome),
        }
    }
}

/// Wakes the first publisher waiting for room (room came).
fn wake_first_publisher(driver: &mut Driver) {
    if let Some(waker) = driver.room.front_mut().and_then(|(_, waker)| waker.take()) {
        let _ = waker.send(());
    }
}

/// Wakes every publisher waiting for room (stopped: each returns its error).
fn wake_all_publishers(driver: &mut Driver) {
    for (_, waker) in driver.room.iter_mut() {
        if let Some(waker) = waker.take() {
            let _ = waker.send(());
        }
    }
}

fn route(driver: &mut Driver, event: ReliableEvent) {
    let status = |driver: &Driver, event: ConnectionEvent| {
        let _ = driver.events.unbounded_send(event);
    };
    match event {
        ReliableEvent::Connecting { url, .. } => status(driver, ConnectionEvent::Connecting { url }),
        ReliableEvent::Connected { url, info, .. } => {
            driver.last_url = Some(url.clone());
            for waiter in driver.up.drain(..) {
                let _ = waiter.send(());
            }
            status(driver, ConnectionEvent::Connected { url, info })
        }
        ReliableEvent::Reconnecting { reason, attempt, delay, next_url, .. } => {
            status(driver, ConnectionEvent::Reconnecting { reason, attempt, delay, next_url })
        }
        ReliableEvent::Delivery { consumer, delivery, acker } => {
            let item = Delivery { delivery, acker: acker.clone(), shared: driver.weak.clone() };
            let taken = driver.consumers.get(&consumer).is_some_and(|tx| tx.unbounded_send(Ok(item)).is_ok());
            if !taken {
                // Nobody reads this consumer any more: give the message back.
                if let Some(acker) = acker {
                    let _ = driver.core.basic_nack(now(), &acker, true);
                }
            }
        }
        ReliableEvent::Confirmed(id) => {
            if let Some(sink) = driver.confirms.remove(&id) {
                sink.settle(Ok(()));
            }
            wake_first_publisher(driver);
        }
        ReliableEvent::PublishFailed { publish, error } => {
            if let Some(sink) = driver.confirms.remove(&publish) {
                sink.settle(Err(error));
            }
            wake_first_publisher(driver);
        }
        ReliableEvent::ConsumerReady(key) => status(driver, ConnectionEvent::ConsumerReady(key)),
        ReliableEvent::ConsumerFailed { consumer, error } => {
            let queue = driver.queues.remove(&consumer);
            let error = match (error, queue) {
                // Web-STOMP closed without saying why: look the queue up and say it.
                (ConsumeError::Refused(refusal), Some(queue)) if refusal.kind == RefusalKind::Other => {
                    refine_consume_failure(driver, consumer, queue, refusal);
                    return;
                }
                (error, _) => error,
            };
            if let Some(tx) = driver.consumers.remove(&consumer) {
                let _ = tx.unbounded_send(Err(error.clone()));
            }
            status(driver, ConnectionEvent::ConsumerFailed { consumer, error });
        }
        ReliableEvent::ConsumerCancelled(key) => {
            driver.consumers.remove(&key);
            driver.queues.remove(&key);
        }
        ReliableEvent::Declared { request, result } => {
            if let Some(tx) = driver.declares.remove(&request) {
                let _ = tx.send(result);
            }
        }
        ReliableEvent::Warning(words) => status(driver, ConnectionEvent::Warning(words)),
        ReliableEvent::Stopped(reason) => {
            driver.consumers.clear();
            driver.queues.clear();
            // The core failed every unconfirmed publish before Stopped; a callback
            // is never left uncalled all the same.
            for (_, sink) in driver.confirms.drain() {
                sink.settle(Err(PublishError::Stopped));
            }
            driver.declares.clear();
            wake_all_publishers(driver);
            for waiter in driver.up.drain(..) {
                let _ = waiter.send(());
            }
            driver.ticker = None;
            driver.sockets.clear();
            status(driver, ConnectionEvent::Stopped(reason));
            // The stream ends after Stopped, so readers are not left waiting.
            driver.events.close_channel();
        }
    }
}

/// Looks the queue up in the management API, then ends the consumer with
/// RabbitMQ's own words for what it refused.
fn refine_consume_failure(driver: &mut Driver, consumer: ConsumerKey, queue: String, refusal: crate::rabbit::Refusal) {
    let Some(tx) = driver.consumers.remove(&consumer) else { return };
    let events = driver.events.clone();
    let options = driver.options.clone();
    let url = driver.last_url.clone();
    let configured = driver.management_url.clone();
    let weak = driver.weak.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let api = url.as_deref().and_then(|url| ManagementApi::for_connection(url, configured.as_deref(), &options));
        let error = match api {
            Some(api) => match api.queue(&options.host, &queue).await {
                Ok(existing) => {
                    let facts = existing.map(|queue| queue.facts());
                    ConsumeError::Refused(diagnose_consume(&queue, &options.host, facts.as_ref()))
                }
                Err(_) => ConsumeError::Refused(refusal),
            },
            None => ConsumeError::Refused(refusal),
        };
        let _ = tx.unbounded_send(Err(error.clone()));
        // Stopped stays the last status event.
        let stopped = weak.upgrade().is_none_or(|shared| shared.borrow().core.phase() == Phase::Stopped);
        if !stopped {
            let _ = events.unbounded_send(ConnectionEvent::ConsumerFailed { consumer, error });
        }
    });
}
