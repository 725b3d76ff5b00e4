//! The browser WebSocket driving the sans-IO protocol (wasm only).
//!
//! [`Connection`] is one plain connection: it drives one [`Link`] over a browser
//! WebSocket, with an async API named as in pika (`queue_declare`,
//! `basic_publish`, `basic_consume`, `basic_ack`, `close`) and the raw STOMP
//! calls on [`Connection::stomp`]. It does not reconnect: for that, use
//! [`ReliableConnection`](crate::reliable::ReliableConnection), which drives its
//! own links over the same (crate-private) socket wrapper. That wrapper unsets
//! its handlers before it closes, so no browser event ever calls into freed
//! memory, and a worker tick ([`TICK_MS`]) keeps heart-beats on time in a
//! background tab.
//!
//! ```no_run
//! use burrow::client::ConnectOptions;
//! use burrow::rabbit::{BasicProperties, Delivery, QueueOptions};
//! use burrow::client::Event;
//! use burrow::transport::{Connection, TransportError};
//!
//! async fn hello() -> Result<(), TransportError> {
//!     let options = ConnectOptions::new("/").with_credentials("burrow", "burrow");
//!     let mut connection = Connection::open("ws://127.0.0.1:15674/ws", options).await?;
//!     connection.queue_declare("hello", &QueueOptions::default()).await?;
//!     // `true`: resolves once RabbitMQ confirmed the message.
//!     connection.basic_publish("", "hello", b"Hello World!".to_vec(), &BasicProperties::default(), true).await?;
//!     connection.basic_consume("hello", false, Some(1)).await?;
//!     while let Some(event) = connection.next_event().await {
//!         if let Event::Message(message) = event {
//!             let delivery = Delivery::from_message(&message);
//!             println!("{}", delivery.body_text());
//!             if let Some(tag) = &delivery.delivery_tag {
//!                 connection.basic_ack(tag)?;
//!             }
//!             break;
//!         }
//!     }
//!     connection.close().await
//! }
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::time::Duration;

use futures_channel::{mpsc, oneshot};
use gloo_timers::callback::Timeout;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use crate::client::{
    AckMode, CloseReason, ConnectOptions, ConnectionInfo, Event, Fault, ReceiptId, SocketClose, State,
    SubscriptionId,
};
use crate::management::{describe, ManagementApi};
use crate::rabbit::{
    diagnose_consume, diagnose_declare, BasicProperties, Channel, ConsumeOk, HeartBeats, Link,
    QueueOptions, RabbitError, Refusal,
};
use crate::stomp::Limits;

/// The WebSocket subprotocol that RabbitMQ's Web-STOMP speaks for STOMP 1.2.
pub const SUBPROTOCOL: &str = "v12.stomp";

/// Above this many bytes waiting in the socket's send buffer, [`Connection::basic_publish`]
/// and [`Stomp::send`] wait before sending more (backpressure).
pub const SEND_BUFFER_HIGH_WATER: u32 = 4 * 1024 * 1024;

/// Why the transport could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The URL is not a Web-STOMP URL: it does not start with `ws://` or `wss://`.
    #[error("cannot open a WebSocket to {url}: a Web-STOMP URL starts with ws:// or wss://, such as ws://127.0.0.1:15674/ws")]
    NotWebSocket {
        /// The URL that was given.
        url: String,
    },
    /// The browser refused to open the WebSocket (a malformed URL, a blocked port).
    #[error("cannot open a WebSocket to {url}: {reason}")]
    Open {
        /// The URL that was tried.
        url: String,
        /// The browser's words (its exception's message).
        reason: String,
    },
    /// The connection closed (or never opened); the reason says why, in plain words.
    #[error("connection closed: {0}")]
    Closed(#[source] CloseReason),
    /// The session refused the request (for example, it is not connected).
    #[error("{0}")]
    Client(#[from] crate::client::ClientError),
    /// The RabbitMQ mapping refused the request before sending it.
    #[error("{0}")]
    Rabbit(#[from] RabbitError),
}

impl TransportError {
    /// The broker's refusal behind this error, classified, if it was one.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            TransportError::Closed(reason) => reason.server_error().map(Refusal::from_server_error),
            TransportError::Rabbit(RabbitError::Refused(refusal)) => Some(refusal.clone()),
            _ => None,
        }
    }

    /// Which side failed: the network, the broker, or Burrow's own checks.
    pub fn fault(&self) -> Fault {
        match self {
            TransportError::NotWebSocket { .. } | TransportError::Open { .. } | TransportError::Client(_) => {
                Fault::Local
            }
            TransportError::Closed(reason) => reason.fault(),
            TransportError::Rabbit(RabbitError::Refused(_)) => Fault::Broker,
            TransportError::Rabbit(_) => Fault::Local,
        }
    }
}

thread_local! {
    /// The page's `performance`, looked up once: every socket event reads the clock.
    static PERFORMANCE: Option<web_sys::Performance> = web_sys::window().and_then(|w| w.performance());
}

/// The current time for the sans-IO layers: a monotonic clock from the page's `performance`.
pub fn now() -> Duration {
    let millis = PERFORMANCE.with(|p| p.as_ref().map(|p| p.now())).unwrap_or_else(js_sys::Date::now);
    Duration::from_micros((millis.max(0.0) * 1000.0) as u64)
}

/// Whether `url` (ws:// or wss://) points at the host that served this page.
fn same_origin_as_page(url: &str) -> bool {
    let page_host = web_sys::window().and_then(|w| w.location().host().ok()).unwrap_or_default();
    let url_host = url.split_once("://").map(|(_, rest)| rest.split('/').next().unwrap_or_default());
    !page_host.is_empty() && url_host == Some(page_host.as_str())
}

/// Called with each WebSocket message's bytes.
pub(crate) type BytesHandler = Box<dyn FnMut(&[u8])>;

/// What a [`Socket`] reports.
pub(crate) struct SocketHandlers {
    /// The handshake completed.
    pub on_open: Box<dyn FnMut()>,
    /// One WebSocket message arrived.
    pub on_bytes: BytesHandler,
    /// The socket closed (or never opened).
    pub on_close: Box<dyn FnMut(SocketClose)>,
}

/// One browser WebSocket with binary frames. Dropping it unsets its handlers, then
/// closes it: nothing it does afterwards reaches Rust.
pub(crate) struct Socket {
    socket: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Socket {
    /// Opens a WebSocket to `url`; events go to `handlers`.
    pub(crate) fn open(url: &str, handlers: SocketHandlers) -> Result<Socket, TransportError> {
        // Browsers resolve anything else as a path on the page's origin, which
        // fails later and less clearly.
        if !(url.starts_with("ws://") || url.starts_with("wss://")) {
            return Err(TransportError::NotWebSocket { url: url.to_owned() });
        }
        // Dev-server proxies on the page's own origin (trunk serve's among them)
        // drop the Sec-WebSocket-Protocol answer, which makes the browser fail the
        // handshake; RabbitMQ speaks STOMP either way, so ask only across origins.
        let socket = if same_origin_as_page(url) {
            WebSocket::new(url)
        } else {
            WebSocket::new_with_str(url, SUBPROTOCOL)
        };
        let socket =
            socket.map_err(|e| TransportError::Open { url: url.to_owned(), reason: describe(&e) })?;
        // Binary frames arrive as ArrayBuffer, so bodies stay byte for byte.
        socket.set_binary_type(BinaryType::Arraybuffer);
        let SocketHandlers { on_open, mut on_bytes, mut on_close } = handlers;
        let on_open = Closure::<dyn FnMut()>::new(on_open);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            // Web-STOMP sends text frames unless configured for binary; accept both.
            if let Some(buffer) = data.dyn_ref::<js_sys::ArrayBuffer>() {
                on_bytes(&js_sys::Uint8Array::new(buffer).to_vec());
            } else if let Some(text) = data.as_string() {
                on_bytes(text.as_bytes());
            }
        });
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            on_close(SocketClose::new(event.code(), event.reason()));
        });
        // The browser reports no detail on WebSocket errors; the close event that
        // follows carries the code, so the error event itself adds nothing.
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Socket { socket, _on_open: on_open, _on_message: on_message, _on_close: on_close })
    }

    /// Writes `bytes` as one binary WebSocket message.
    pub(crate) fn send(&self, bytes: &[u8]) -> Result<(), String> {
        self.socket.send_with_u8_array(bytes).map_err(|e| describe(&e))
    }

    /// Bytes the browser holds, not yet written to the network.
    pub(crate) fn buffered_amount(&self) -> u32 {
        self.socket.buffered_amount()
    }

    /// Closes with `code` (1000, or 3000–4999: browsers throw on any other) and a reason.
    pub(crate) fn close(&self, code: u16, reason: &str) {
        let code = if code == 1000 || (3000..=4999).contains(&code) { code } else { 1000 };
        // Reasons are limited to 123 bytes of UTF-8; ours are short and ASCII.
        let reason: String = reason.chars().take(100).collect();
        let _ = self.socket.close_with_code_and_reason(code, &reason);
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}

/// How often the worker ticks, in milliseconds.
pub const TICK_MS: u32 = 250;

/// A dedicated Web Worker that posts a message every [`TICK_MS`]. Browsers throttle
/// a background tab's timers (Chrome to once a minute after five minutes), which
/// would starve heart-beats; a worker's timers keep their pace.
pub(crate) struct Ticker {
    worker: web_sys::Worker,
    url: String,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.terminate();
        let _ = web_sys::Url::revoke_object_url(&self.url);
    }
}

impl Ticker {
    /// Calls `tick` every [`TICK_MS`] until dropped; `None` if the page cannot start workers.
    pub(crate) fn start(mut tick: impl FnMut() + 'static) -> Option<Ticker> {
        let source = format!("setInterval(function () {{ postMessage(0); }}, {TICK_MS});");
        let parts = js_sys::Array::of1(&JsValue::from_str(&source));
        let bag = web_sys::BlobPropertyBag::new();
        bag.set_type("text/javascript");
        let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &bag).ok()?;
        let url = web_sys::Url::create_object_url_with_blob(&blob).ok()?;
        let worker = web_sys::Worker::new(&url).ok()?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |_| tick());
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Some(Ticker { worker, url, _on_message: on_message })
    }
}

/// How the transport runs, beyond what the session decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportOptions {
    /// Decoder limits for what the broker sends.
    pub limits: Limits,
    /// Also wake the session with the page's own timer. The worker tick (every
    /// [`TICK_MS`]) always runs; turning this off shows it suffices.
    pub page_timer: bool,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions { limits: Limits::default(), page_timer: true }
    }
}

type Waiter = oneshot::Sender<Result<(), TransportError>>;

struct Inner {
    socket: Option<Socket>,
    link: Link,
    events: mpsc::UnboundedSender<Event>,
    timer: Option<Timeout>,
    receipt_waiters: HashMap<ReceiptId, Waiter>,
    opened: Option<Waiter>,
    page_timer: bool,
    ticker: Option<Ticker>,
    /// A reused buffer for what goes to the socket.
    out: Vec<u8>,
}

/// One RabbitMQ connection over a browser WebSocket, with pika's names:
/// `queue_declare`, `basic_publish` (with or without a confirm), `basic_consume`,
/// `basic_ack`, `basic_nack`, `basic_cancel`, `basic_qos`, `close`, and `abort`
/// for a crash. Deliveries come as [`Event::Message`] from
/// [`Connection::next_event`]. It does not reconnect (see
/// [`ReliableConnection`](crate::reliable::ReliableConnection) for that); the
/// module documentation has an example, and [`Connection::stomp`] the raw STOMP
/// calls.
///
/// Dropping it closes the socket without DISCONNECT, the way a crashed program
/// would: unacknowledged messages go back to their queue.
pub struct Connection {
    inner: Rc<RefCell<Inner>>,
    events: mpsc::UnboundedReceiver<Event>,
    vhost: String,
    management: Option<ManagementApi>,
    /// Where and how it connected, for a short-lived second connection (see
    /// [`Connection::queue_declare`]).
    url: String,
    options: ConnectOptions,
    transport: TransportOptions,
}

impl Connection {
    /// Opens a WebSocket to `url` (for RabbitMQ: `ws://host:15674/ws`), sends CONNECT
    /// and waits for CONNECTED. Fails with the broker's or the browser's reason.
    pub async fn open(url: &str, options: ConnectOptions) -> Result<Connection, TransportError> {
        Self::open_with(url, options, TransportOptions::default()).await
    }

    /// As [`Connection::open`], with explicit decoder limits.
    pub async fn open_with_limits(
        url: &str,
        options: ConnectOptions,
        limits: Limits,
    ) -> Result<Connection, TransportError> {
        Self::open_with(url, options, TransportOptions { limits, ..TransportOptions::default() }).await
    }

    /// As [`Connection::open`], with explicit transport options.
    pub async fn open_with(
        url: &str,
        options: ConnectOptions,
        transport: TransportOptions,
    ) -> Result<Connection, TransportError> {
        // The same user reads the management API, to explain refusals that
        // Web-STOMP closes on without an ERROR frame.
        let management = ManagementApi::for_connection(url, None, &options);
        let (events_tx, events_rx) = mpsc::unbounded();
        let (opened_tx, opened_rx) = oneshot::channel();
        let inner = Rc::new(RefCell::new(Inner {
            socket: None,
            link: Link::new(options.clone(), transport.limits),
            events: events_tx,
            timer: None,
            receipt_waiters: HashMap::new(),
            opened: Some(opened_tx),
            page_timer: transport.page_timer,
            ticker: None,
            out: Vec::new(),
        }));
        let weak = Rc::downgrade(&inner);
        let handlers = SocketHandlers {
            on_open: Box::new({
                let weak = weak.clone();
                move || with_inner(&weak, |rc| {
                    rc.borrow_mut().link.handle_open(now());
                    pump(rc);
                })
            }),
            on_bytes: Box::new({
                let weak = weak.clone();
                move |bytes| with_inner(&weak, |rc| {
                    rc.borrow_mut().link.handle_bytes(now(), bytes);
                    pump(rc);
                })
            }),
            on_close: Box::new({
                let weak = weak.clone();
                move |closed| with_inner(&weak, |rc| {
                    rc.borrow_mut().link.handle_closed(now(), closed);
                    pump(rc);
                })
            }),
        };
        let socket = Socket::open(url, handlers)?;
        let ticker = Ticker::start({
            let weak = weak.clone();
            move || with_inner(&weak, |rc| {
                let due = rc.borrow().link.poll_timeout().is_some_and(|at| at <= now());
                if due {
                    rc.borrow_mut().link.handle_timeout(now());
                    pump(rc);
                }
            })
        });
        {
            let mut guard = inner.borrow_mut();
            guard.socket = Some(socket);
            guard.ticker = ticker;
        }
        let connection = Connection {
            inner,
            events: events_rx,
            vhost: options.host.clone(),
            management,
            url: url.to_owned(),
            options,
            transport,
        };
        match opened_rx.await {
            Ok(Ok(())) => Ok(connection),
            Ok(Err(e)) => Err(e),
            // Only dropping the connection drops the sender, and we hold it.
            Err(_) => Err(TransportError::Closed(CloseReason::Transport("the connection was dropped while opening".into()))),
        }
    }

    /// The next event from the session: messages, receipts nobody awaits, errors,
    /// the close. `None` once the connection is closed and every event has been read.
    pub async fn next_event(&mut self) -> Option<Event> {
        use futures_util::StreamExt;
        self.events.next().await
    }

    /// Takes the event stream, for a caller that reads events on its own task.
    pub fn take_events(&mut self) -> mpsc::UnboundedReceiver<Event> {
        let (_, empty) = mpsc::unbounded();
        std::mem::replace(&mut self.events, empty)
    }

    /// What the broker said in CONNECTED, while connected.
    pub fn info(&self) -> Option<ConnectionInfo> {
        self.inner.borrow().link.session().info().cloned()
    }

    /// Runs a RabbitMQ-mapping call, then sends what it queued.
    fn with_channel<T>(&self, call: impl FnOnce(&mut Channel) -> Result<T, RabbitError>) -> Result<T, TransportError> {
        let result = {
            let mut inner = self.inner.borrow_mut();
            inner.link.channel_mut().session_mut().advance(now());
            call(inner.link.channel_mut())
        };
        pump(&self.inner);
        Ok(result?)
    }

    /// Runs a session call, then sends what it queued.
    fn with_session<T>(
        &self,
        call: impl FnOnce(&mut crate::client::Session) -> Result<T, crate::client::ClientError>,
    ) -> Result<T, TransportError> {
        self.with_channel(|channel| call(channel.session_mut()).map_err(RabbitError::from))
    }

    /// Registers a waiter for `receipt`, resolved when the RECEIPT arrives.
    async fn await_receipt(&self, receipt: Option<ReceiptId>) -> Result<(), TransportError> {
        let Some(receipt) = receipt else { return Ok(()) };
        let (tx, rx) = oneshot::channel();
        {
            let mut inner = self.inner.borrow_mut();
            if let State::Closed(reason) = inner.link.session().state() {
                return Err(TransportError::Closed(reason.clone()));
            }
            inner.receipt_waiters.insert(receipt, tx);
        }
        rx.await.unwrap_or_else(|_| Err(TransportError::Closed(CloseReason::Transport("the connection was dropped".into()))))
    }

    /// Bytes the browser holds for this socket, not yet written to the network.
    pub fn buffered_amount(&self) -> u32 {
        self.inner.borrow().socket.as_ref().map_or(0, Socket::buffered_amount)
    }

    /// Waits while the socket holds more than [`SEND_BUFFER_HIGH_WATER`] unsent bytes.
    async fn wait_for_room(&self) {
        loop {
            let buffered = self.inner.borrow().socket.as_ref().map_or(0, Socket::buffered_amount);
            if buffered <= SEND_BUFFER_HIGH_WATER {
                return;
            }
            // The browser has no event for a draining send buffer; look again soon.
            gloo_timers::future::TimeoutFuture::new(2).await;
        }
    }

    /// The STOMP-level calls on this connection (SEND, SUBSCRIBE, ACK, … by
    /// destination and header), for what the RabbitMQ-level calls do not cover.
    ///
    /// ```no_run
    /// # async fn run(connection: burrow::transport::Connection) -> Result<(), burrow::transport::TransportError> {
    /// use burrow::client::AckMode;
    ///
    /// let stomp = connection.stomp();
    /// let id = stomp.subscribe("/topic/news", AckMode::Auto, vec![]).await?;
    /// stomp.send("/topic/news", vec![], b"hello".to_vec(), true).await?;
    /// stomp.unsubscribe(&id).await?;
    /// # Ok(()) }
    /// ```
    pub fn stomp(&self) -> Stomp<'_> {
        Stomp { connection: self }
    }

    /// pika's `connection.close()`: DISCONNECT, wait for the broker's receipt, then
    /// close the socket. Unacknowledged messages return to their queue.
    pub async fn close(&self) -> Result<(), TransportError> {
        let now = now();
        let receipt = self.with_session(|s| s.disconnect(now))?;
        let result = match self.await_receipt(Some(receipt)).await {
            // The broker closed after DISCONNECT instead of sending its receipt.
            Err(TransportError::Closed(CloseReason::Disconnected)) => Ok(()),
            other => other,
        };
        self.close_socket(1000, "");
        result
    }

    /// Closes the socket without DISCONNECT: what a crashed consumer does.
    /// Unacknowledged messages return to their queue, marked redelivered.
    pub fn abort(&self) {
        self.close_socket(1000, "");
    }

    fn close_socket(&self, code: u16, reason: &str) {
        if let Some(socket) = self.inner.borrow().socket.as_ref() {
            socket.close(code, reason);
        }
    }

    /// Heart-beats sent and received so far.
    pub fn heartbeats(&self) -> HeartBeats {
        self.inner.borrow().link.heartbeats()
    }

    /// Whether the session is still connected.
    pub fn is_connected(&self) -> bool {
        matches!(self.inner.borrow().link.session().state(), State::Connected(_))
    }

    /// The session's state: connecting, connected, closed with its reason.
    pub fn state(&self) -> State {
        self.inner.borrow().link.session().state().clone()
    }

    /// pika's `queue_declare`: resolves once the broker accepted the declare, or
    /// with its refusal (which closes the connection, as a channel error does).
    /// See [`Channel::queue_declare`] for the frames.
    ///
    /// RabbitMQ's STOMP adapter declares a queue once per connection, so a second
    /// declare of the same queue with other options goes over a short-lived second
    /// connection: the broker then answers it (usually `PRECONDITION_FAILED`) and
    /// this connection stays open.
    pub async fn queue_declare(&self, queue: &str, options: &QueueOptions) -> Result<(), TransportError> {
        let declared = self.with_channel(|c| c.queue_declare(queue, options));
        let receipt = match declared {
            Err(TransportError::Rabbit(RabbitError::AlreadyDeclared { .. })) => {
                return Box::pin(self.declare_elsewhere(queue, options)).await;
            }
            other => other?,
        };
        match self.await_receipt(Some(receipt)).await {
            // Only a close the broker made is a refusal; a network drop stays one.
            Err(TransportError::Closed(reason)) if reason.fault() == Fault::Broker && reason.server_error().is_none() => {
                let existing = self.look_up(queue).await;
                Err(RabbitError::Refused(diagnose_declare(queue, &self.vhost, options, existing.as_ref())).into())
            }
            other => other,
        }
    }

    async fn declare_elsewhere(&self, queue: &str, options: &QueueOptions) -> Result<(), TransportError> {
        declare_on_new_connection(&self.url, &self.options, self.transport, self.management.clone(), queue, options)
            .await
    }

    /// The management API this connection uses to explain refusals, if any.
    pub fn management(&self) -> Option<&ManagementApi> {
        self.management.as_ref()
    }

    /// Sets (or, with `None`, turns off) the management API used to explain refusals.
    pub fn set_management(&mut self, management: Option<ManagementApi>) {
        self.management = management;
    }

    /// The queue as the management API has it; `None` if it does not exist or the
    /// API cannot say.
    async fn look_up(&self, queue: &str) -> Option<crate::rabbit::QueueFacts> {
        let api = self.management.as_ref()?;
        api.queue(&self.vhost, queue).await.ok().flatten().map(|queue| queue.facts())
    }

    /// pika's `basic_publish`; with `confirm`, resolves after RabbitMQ's publisher
    /// confirm. See [`Channel::basic_publish`]. Waits first while the socket's send
    /// buffer is over [`SEND_BUFFER_HIGH_WATER`].
    pub async fn basic_publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        properties: &BasicProperties,
        confirm: bool,
    ) -> Result<(), TransportError> {
        self.wait_for_room().await;
        let receipt = self.with_channel(|c| c.basic_publish(exchange, routing_key, body, properties, confirm))?;
        self.await_receipt(receipt).await
    }

    /// pika's `basic_consume`: resolves with the consumer tag once the broker
    /// accepted the subscription. Deliveries arrive as [`Event::Message`]; read
    /// them with [`crate::rabbit::Delivery::from_message`].
    pub async fn basic_consume(
        &self,
        queue: &str,
        auto_ack: bool,
        prefetch: Option<u16>,
    ) -> Result<SubscriptionId, TransportError> {
        let started = self.with_channel(|c| c.basic_consume(queue, auto_ack, prefetch))?;
        match self.await_receipt(Some(started.receipt)).await {
            Ok(()) => Ok(started.consumer_tag),
            Err(TransportError::Closed(reason)) if reason.fault() == Fault::Broker && reason.server_error().is_none() => {
                let existing = self.look_up(queue).await;
                Err(RabbitError::Refused(diagnose_consume(queue, &self.vhost, existing.as_ref())).into())
            }
            Err(other) => Err(other),
        }
    }

    /// Sends `basic_consume`'s SUBSCRIBE and returns its consumer tag at once, before
    /// the broker's receipt (wait for that with [`Connection::wait_receipt`]): a
    /// caller routing deliveries by tag must know the tag before the first one comes.
    pub fn basic_consume_now(
        &self,
        queue: &str,
        auto_ack: bool,
        prefetch: Option<u16>,
    ) -> Result<ConsumeOk, TransportError> {
        self.with_channel(|c| c.basic_consume(queue, auto_ack, prefetch))
    }

    /// Waits for the receipt of a request made with a `*_now` call.
    pub async fn wait_receipt(&self, receipt: ReceiptId) -> Result<(), TransportError> {
        self.await_receipt(Some(receipt)).await
    }

    /// pika's `basic_cancel`, confirmed by receipt.
    pub async fn basic_cancel(&self, consumer_tag: &SubscriptionId) -> Result<(), TransportError> {
        let receipt = self.with_channel(|c| c.basic_cancel(consumer_tag))?;
        self.await_receipt(receipt).await
    }

    /// pika's `basic_qos`: the prefetch of consumers made after it.
    pub fn basic_qos(&self, prefetch_count: u16) {
        self.inner.borrow_mut().link.channel_mut().basic_qos(prefetch_count);
    }

    /// pika's `basic_ack`.
    pub fn basic_ack(&self, delivery_tag: &str) -> Result<(), TransportError> {
        self.with_channel(|c| Ok(c.basic_ack(delivery_tag)?))
    }

    /// pika's `basic_nack`.
    pub fn basic_nack(&self, delivery_tag: &str, requeue: bool) -> Result<(), TransportError> {
        self.with_channel(|c| Ok(c.basic_nack(delivery_tag, requeue)?))
    }
}

/// The STOMP-level calls of a [`Connection`] ([`Connection::stomp`]): frames by
/// destination and `ack` id, as in any STOMP client. The RabbitMQ-level calls
/// (`queue_declare`, `basic_publish`, …) are on [`Connection`] itself.
#[derive(Clone, Copy)]
pub struct Stomp<'a> {
    connection: &'a Connection,
}

impl Stomp<'_> {
    /// SUBSCRIBE to `destination`; resolves when the broker confirmed it by receipt,
    /// so a refusal (unknown queue, no permission) comes back here.
    pub async fn subscribe(
        &self,
        destination: &str,
        ack: AckMode,
        headers: Vec<(String, String)>,
    ) -> Result<SubscriptionId, TransportError> {
        let subscribed = self.connection.with_session(|s| s.subscribe(destination, ack, headers, true))?;
        self.connection.await_receipt(subscribed.receipt).await?;
        Ok(subscribed.id)
    }

    /// UNSUBSCRIBE, confirmed by receipt.
    pub async fn unsubscribe(&self, id: &SubscriptionId) -> Result<(), TransportError> {
        let receipt = self.connection.with_session(|s| s.unsubscribe(id, true))?;
        self.connection.await_receipt(receipt).await
    }

    /// SEND; with `confirm`, resolves only after the broker's RECEIPT (for RabbitMQ,
    /// after its publisher confirm), otherwise as soon as the frame is handed to the socket.
    pub async fn send(
        &self,
        destination: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        confirm: bool,
    ) -> Result<(), TransportError> {
        self.connection.wait_for_room().await;
        let receipt = self.connection.with_session(|s| s.send(destination, headers, body, confirm))?;
        self.connection.await_receipt(receipt).await
    }

    /// ACK a message by its `ack` header.
    pub fn ack(&self, ack_id: &str) -> Result<(), TransportError> {
        self.connection.with_session(|s| s.ack(ack_id, None, false)).map(|_| ())
    }

    /// NACK a message by its `ack` header; `requeue: false` lets RabbitMQ drop or
    /// dead-letter it instead of queueing it again.
    pub fn nack(&self, ack_id: &str, requeue: bool) -> Result<(), TransportError> {
        self.connection.with_session(|s| s.nack(ack_id, None, requeue, false)).map(|_| ())
    }

    /// DISCONNECT and wait for the broker's receipt, then close the socket: the
    /// same as [`Connection::close`].
    pub async fn disconnect(&self) -> Result<(), TransportError> {
        self.connection.close().await
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Dropping the socket unsets its handlers and closes it.
        if let Ok(mut inner) = self.inner.try_borrow_mut() {
            inner.socket.take();
            inner.ticker.take();
            inner.timer.take();
        }
    }
}

/// Declares `queue` over a short-lived connection of its own (RabbitMQ's STOMP
/// adapter declares a queue once per connection, so only a new one hears the
/// broker's answer to a second declare with other options).
pub(crate) async fn declare_on_new_connection(
    url: &str,
    options: &ConnectOptions,
    transport: TransportOptions,
    management: Option<ManagementApi>,
    queue: &str,
    queue_options: &QueueOptions,
) -> Result<(), TransportError> {
    let mut other = Connection::open_with(url, options.clone(), transport).await?;
    other.set_management(management);
    let result = other.queue_declare(queue, queue_options).await;
    if other.is_connected() {
        let _ = other.close().await;
    }
    result
}

fn with_inner(weak: &Weak<RefCell<Inner>>, f: impl FnOnce(&Rc<RefCell<Inner>>)) {
    if let Some(rc) = weak.upgrade() {
        f(&rc);
    }
}

/// Sends what the session queued, delivers its events, and re-arms its timer.
fn pump(rc: &Rc<RefCell<Inner>>) {
    let mut guard = rc.borrow_mut();
    let inner = &mut *guard;
    let mut out = std::mem::take(&mut inner.out);
    out.clear();
    if inner.link.write_transmits(&mut out) > 0 {
        let sent = inner.socket.as_ref().map(|s| s.send(&out));
        if let Some(Err(problem)) = sent {
            inner.link.handle_transport_error(now(), format!("sending failed: {problem}"));
        }
    }
    inner.out = out;
    while let Some(event) = inner.link.poll_event() {
        match &event {
            Event::Connected(_) => {
                if let Some(opened) = inner.opened.take() {
                    let _ = opened.send(Ok(()));
                }
            }
            Event::Receipt { id, .. } => {
                if let Some(waiter) = inner.receipt_waiters.remove(id) {
                    // Awaited: the caller has it, the event stream need not keep it.
                    let _ = waiter.send(Ok(()));
                    continue;
                }
            }
            Event::Closed(reason) => {
                if let Some(opened) = inner.opened.take() {
                    let _ = opened.send(Err(TransportError::Closed(reason.clone())));
                }
                for (_, waiter) in inner.receipt_waiters.drain() {
                    let _ = waiter.send(Err(TransportError::Closed(reason.clone())));
                }
                let close = reason.socket_code();
                if let Some(socket) = inner.socket.as_ref() {
                    socket.close(close.code, close.reason);
                }
                inner.ticker = None;
            }
            _ => {}
        }
        let _ = inner.events.unbounded_send(event);
    }
    let page_timer = inner.page_timer;
    inner.timer = inner.link.poll_timeout().filter(|_| page_timer).map(|at| {
        let delay = at.saturating_sub(now()).as_millis().min(u32::MAX as u128) as u32;
        let weak = Rc::downgrade(rc);
        Timeout::new(delay, move || {
            with_inner(&weak, |rc| {
                rc.borrow_mut().link.handle_timeout(now());
                pump(rc);
            })
        })
    });
}
