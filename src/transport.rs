//! The browser WebSocket driving the sans-IO [`Session`] (wasm only).
//!
//! Bytes from the socket go through the [`Decoder`] into the session; what the
//! session wants sent is encoded and written to the socket; its timeout is kept
//! with a browser timer. Callers get an async API: [`Connection::open`] resolves
//! once CONNECTED arrives (or with the reason it did not), events arrive through
//! [`Connection::next_event`], and requests with a receipt can be awaited.

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
    AckMode, CloseReason, ConnectOptions, ConnectionInfo, Event, ReceiptId, Session, State,
    SubscriptionId, Transmit,
};
use crate::management::{describe, ManagementApi};
use crate::rabbit::{
    diagnose_consume, diagnose_declare, management_url_for, BasicProperties, Channel, QueueOptions,
    RabbitError, Refusal,
};
use crate::stomp::{encode_to_vec, DecodeError, Decoded, Decoder, Limits};

/// The WebSocket subprotocol that RabbitMQ's Web-STOMP speaks for STOMP 1.2.
pub const SUBPROTOCOL: &str = "v12.stomp";

/// Why the transport could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The browser refused to open the WebSocket (a malformed URL, a blocked port).
    #[error("cannot open a WebSocket to {url}: {reason}")]
    Open {
        /// The URL that was tried.
        url: String,
        /// The browser's words.
        reason: String,
    },
    /// The connection closed; the reason says why, in plain words.
    #[error("connection closed: {0}")]
    Closed(CloseReason),
    /// The session refused the request (for example, it is not connected).
    #[error(transparent)]
    Client(#[from] crate::client::ClientError),
    /// The RabbitMQ mapping refused the request before sending it.
    #[error(transparent)]
    Rabbit(#[from] RabbitError),
    /// The request's receipt never came: the connection closed first.
    #[error("no receipt: the connection closed before the broker confirmed")]
    ReceiptLost,
}

impl TransportError {
    /// The broker's refusal behind this error, classified, if it was one.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            TransportError::Closed(CloseReason::ServerError(error)) => {
                Some(Refusal::from_server_error(error))
            }
            TransportError::Rabbit(RabbitError::Refused(refusal)) => Some(refusal.clone()),
            _ => None,
        }
    }
}

/// The current time for the session: a monotonic clock from the page's `performance`.
pub(crate) fn now() -> Duration {
    let millis = web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now);
    Duration::from_micros((millis.max(0.0) * 1000.0) as u64)
}


/// Whether `url` (ws:// or wss://) points at the host that served this page.
fn same_origin_as_page(url: &str) -> bool {
    let page_host = web_sys::window().and_then(|w| w.location().host().ok()).unwrap_or_default();
    let url_host = url.split_once("://").map(|(_, rest)| rest.split('/').next().unwrap_or_default());
    !page_host.is_empty() && url_host == Some(page_host.as_str())
}

/// Plain words for a WebSocket close.
fn describe_close(code: u16, reason: &str) -> String {
    match (code, reason) {
        // What Web-STOMP says when it ends a session, refusals included (RabbitMQ
        // 3.10 drops the ERROR frame that should precede it).
        (_, "STOMP died") => format!("RabbitMQ ended the session (code {code}, \"STOMP died\")"),
        // The browser's code for "no close frame": nothing listens there, the
        // network dropped, or the broker went away.
        (1006, _) => "the connection failed or dropped without a goodbye (code 1006): is the broker running, and is the URL right?".to_owned(),
        (_, "") => format!("the WebSocket closed (code {code})"),
        (_, reason) => format!("the WebSocket closed (code {code}): {reason}"),
    }
}

type ReceiptWaiter = oneshot::Sender<Result<(), TransportError>>;

struct Inner {
    socket: WebSocket,
    channel: Channel,
    decoder: Decoder,
    events: mpsc::UnboundedSender<Event>,
    timer: Option<Timeout>,
    receipt_waiters: HashMap<ReceiptId, ReceiptWaiter>,
    opened: Option<oneshot::Sender<Result<(), TransportError>>>,
    /// Whether the page's own timer (throttled in background tabs) also drives the session.
    page_timer: bool,
    /// Heart-beats sent and received, for the UI and tests.
    heartbeats: (u64, u64),
    // Kept alive as long as the socket may call them.
    _callbacks: Vec<Box<dyn std::any::Any>>,
    ticker: Option<Ticker>,
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

/// How often the worker ticks, in milliseconds.
pub const TICK_MS: u32 = 250;

/// A dedicated Web Worker that posts a message every [`TICK_MS`]. Browsers throttle
/// a background tab's timers (Chrome to once a minute after five minutes), which
/// would starve heart-beats; a worker's timers keep their pace.
struct Ticker {
    worker: web_sys::Worker,
    url: String,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.worker.terminate();
        let _ = web_sys::Url::revoke_object_url(&self.url);
    }
}

fn start_ticker(weak: Weak<RefCell<Inner>>) -> Option<Ticker> {
    let source = format!("setInterval(function () {{ postMessage(0); }}, {TICK_MS});");
    let parts = js_sys::Array::of1(&JsValue::from_str(&source));
    let bag = web_sys::BlobPropertyBag::new();
    bag.set_type("text/javascript");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &bag).ok()?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).ok()?;
    let worker = web_sys::Worker::new(&url).ok()?;
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |_| {
        with_inner(&weak, |rc| {
            let due = rc.borrow().channel.session().poll_timeout().is_some_and(|at| at <= now());
            if due {
                rc.borrow_mut().channel.session_mut().handle_timeout(now());
                pump(rc);
            }
        })
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    Some(Ticker { worker, url, _on_message: on_message })
}

/// A STOMP connection over a browser WebSocket.
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
        Self::open_with_limits(url, options, Limits::default()).await
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
        let limits = transport.limits;
        // Browsers resolve anything else as a path on the page's origin, which
        // fails later and less clearly.
        if !(url.starts_with("ws://") || url.starts_with("wss://")) {
            return Err(TransportError::Open {
                url: url.to_owned(),
                reason: "a Web-STOMP URL starts with ws:// or wss://, such as ws://127.0.0.1:15674/ws".to_owned(),
            });
        }
        // Dev-server proxies on the page's own origin (trunk serve's among them)
        // drop the Sec-WebSocket-Protocol answer, which makes the browser fail the
        // handshake; RabbitMQ speaks STOMP either way, so ask only across origins.
        let socket = if same_origin_as_page(url) {
            WebSocket::new(url)
        } else {
            WebSocket::new_with_str(url, SUBPROTOCOL)
        };
        let socket = socket.map_err(|e| TransportError::Open {
            url: url.to_owned(),
            reason: describe(&e),
        })?;
        // Binary frames arrive as ArrayBuffer, so bodies stay byte for byte.
        socket.set_binary_type(BinaryType::Arraybuffer);

        let (vhost, saved_options, saved_url) = (options.host.clone(), options.clone(), url.to_owned());
        // The same user reads the management API, to explain refusals that
        // Web-STOMP closes on without an ERROR frame.
        let management = management_url_for(url).map(|base| {
            let login = options.login.clone().unwrap_or_default();
            let passcode = options.passcode.clone().unwrap_or_default();
            ManagementApi::new(base, &login, &passcode)
        });
        let (events_tx, events_rx) = mpsc::unbounded();
        let (opened_tx, opened_rx) = oneshot::channel();
        let inner = Rc::new(RefCell::new(Inner {
            socket: socket.clone(),
            channel: Channel::new(Session::new(options)),
            decoder: Decoder::new(limits),
            events: events_tx,
            timer: None,
            receipt_waiters: HashMap::new(),
            opened: Some(opened_tx),
            page_timer: transport.page_timer,
            heartbeats: (0, 0),
            _callbacks: Vec::new(),
            ticker: None,
        }));
        install_callbacks(&inner, &socket);
        let ticker = start_ticker(Rc::downgrade(&inner));
        inner.borrow_mut().ticker = ticker;

        let connection = Connection {
            inner,
            events: events_rx,
            vhost,
            management,
            url: saved_url,
            options: saved_options,
            transport,
        };
        match opened_rx.await {
            Ok(Ok(())) => Ok(connection),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(TransportError::ReceiptLost),
        }
    }

    /// The next event from the session: messages, receipts, errors, the close.
    /// `None` once the connection is closed and every event has been read.
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
        self.inner.borrow().channel.session().info().cloned()
    }

    /// Runs a session call, then sends what it queued.
    fn with_session<T>(
        &self,
        call: impl FnOnce(&mut Session) -> Result<T, crate::client::ClientError>,
    ) -> Result<T, TransportError> {
        let result = call(self.inner.borrow_mut().channel.session_mut());
        pump(&self.inner);
        Ok(result?)
    }

    /// Runs a RabbitMQ-mapping call, then sends what it queued.
    fn with_channel<T>(
        &self,
        call: impl FnOnce(&mut Channel) -> Result<T, RabbitError>,
    ) -> Result<T, TransportError> {
        let result = call(&mut self.inner.borrow_mut().channel);
        pump(&self.inner);
        Ok(result?)
    }

    /// Registers a waiter for `receipt`, resolved when the RECEIPT arrives.
    async fn await_receipt(&self, receipt: Option<ReceiptId>) -> Result<(), TransportError> {
        let Some(receipt) = receipt else { return Ok(()) };
        let (tx, rx) = oneshot::channel();
        {
            let mut inner = self.inner.borrow_mut();
            if let State::Closed(reason) = inner.channel.session().state() {
                return Err(TransportError::Closed(reason.clone()));
            }
            inner.receipt_waiters.insert(receipt, tx);
        }
        rx.await.unwrap_or(Err(TransportError::ReceiptLost))
    }

    /// SUBSCRIBE to `destination`; resolves when the broker confirmed it by receipt,
    /// so a refusal (unknown queue, no permission) comes back here.
    pub async fn subscribe(
        &self,
        destination: &str,
        ack: AckMode,
        headers: Vec<(String, String)>,
    ) -> Result<SubscriptionId, TransportError> {
        let (id, receipt) = self.with_session(|s| s.subscribe(destination, ack, headers, true))?;
        self.await_receipt(receipt).await?;
        Ok(id)
    }

    /// UNSUBSCRIBE, confirmed by receipt.
    pub async fn unsubscribe(&self, id: &SubscriptionId) -> Result<(), TransportError> {
        let receipt = self.with_session(|s| s.unsubscribe(id, true))?;
        self.await_receipt(receipt).await
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
        let receipt = self.with_session(|s| s.send(destination, headers, body, confirm))?;
        self.await_receipt(receipt).await
    }

    /// ACK a message by its `ack` header.
    pub fn ack(&self, ack_id: &str) -> Result<(), TransportError> {
        self.with_session(|s| s.ack(ack_id, None, false)).map(|_| ())
    }

    /// NACK a message by its `ack` header; `requeue: false` lets RabbitMQ drop or
    /// dead-letter it instead of queueing it again.
    pub fn nack(&self, ack_id: &str, requeue: bool) -> Result<(), TransportError> {
        self.with_session(|s| s.nack(ack_id, None, requeue, false)).map(|_| ())
    }

    /// DISCONNECT and wait for the broker's receipt, then close the socket.
    pub async fn disconnect(&self) -> Result<(), TransportError> {
        let now = now();
        let receipt = self.with_session(|s| s.disconnect(now))?;
        let result = match self.await_receipt(Some(receipt)).await {
            // The broker closed after DISCONNECT instead of sending its receipt.
            Err(TransportError::Closed(CloseReason::Disconnected)) => Ok(()),
            other => other,
        };
        let _ = self.inner.borrow().socket.close();
        result
    }

    /// Closes the socket without DISCONNECT: what a crashed consumer does.
    /// Unacknowledged messages return to their queue, marked redelivered.
    pub fn abort(&self) {
        let _ = self.inner.borrow().socket.close();
    }

    /// Heart-beats `(sent, received)` so far.
    pub fn heartbeats(&self) -> (u64, u64) {
        self.inner.borrow().heartbeats
    }

    /// Whether the session is still connected.
    pub fn is_connected(&self) -> bool {
        matches!(self.inner.borrow().channel.session().state(), State::Connected(_))
    }

    /// The session's state: connecting, connected, closed with its reason.
    pub fn state(&self) -> State {
        self.inner.borrow().channel.session().state().clone()
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
            Err(TransportError::Closed(CloseReason::Transport(_))) => {
                let existing = self.look_up(queue).await;
                Err(RabbitError::Refused(diagnose_declare(queue, &self.vhost, options, existing.as_ref())).into())
            }
            other => other,
        }
    }

    async fn declare_elsewhere(&self, queue: &str, options: &QueueOptions) -> Result<(), TransportError> {
        let mut other = Connection::open_with(&self.url, self.options.clone(), self.transport).await?;
        other.set_management(self.management.clone());
        let result = other.queue_declare(queue, options).await;
        if other.is_connected() {
            let _ = other.disconnect().await;
        }
        result
    }

    /// Publishes everything `outbox` holds unsent, with confirms; their receipts come
    /// as [`Event::Receipt`] and settle them with [`Outbox::confirmed_id`].
    pub fn flush_outbox(&self, outbox: &mut crate::rabbit::Outbox) -> Result<usize, TransportError> {
        self.with_channel(|c| outbox.flush(c))
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
    async fn look_up(&self, queue: &str) -> Option<crate::rabbit::QueueState> {
        let api = self.management.as_ref()?;
        api.queue(&self.vhost, queue).await.ok().flatten()
    }

    /// pika's `basic_publish`; with `confirm`, resolves after RabbitMQ's publisher
    /// confirm. See [`Channel::basic_publish`].
    pub async fn basic_publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        properties: &BasicProperties,
        confirm: bool,
    ) -> Result<(), TransportError> {
        let receipt =
            self.with_channel(|c| c.basic_publish(exchange, routing_key, body, properties, confirm))?;
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
        let (tag, receipt) = self.with_channel(|c| c.basic_consume(queue, auto_ack, prefetch))?;
        match self.await_receipt(Some(receipt)).await {
            Ok(()) => Ok(tag),
            Err(TransportError::Closed(CloseReason::Transport(_))) => {
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
    ) -> Result<(SubscriptionId, ReceiptId), TransportError> {
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
        self.inner.borrow_mut().channel.basic_qos(prefetch_count);
    }

    /// pika's `basic_ack`.
    pub fn basic_ack(&self, delivery_tag: &str) -> Result<(), TransportError> {
        self.with_channel(|c| c.basic_ack(delivery_tag))
    }

    /// pika's `basic_nack`.
    pub fn basic_nack(&self, delivery_tag: &str, requeue: bool) -> Result<(), TransportError> {
        self.with_channel(|c| c.basic_nack(delivery_tag, requeue))
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Ok(inner) = self.inner.try_borrow() {
            let _ = inner.socket.close();
        }
    }
}

fn install_callbacks(inner: &Rc<RefCell<Inner>>, socket: &WebSocket) {
    let weak = Rc::downgrade(inner);
    let on_open = Closure::<dyn FnMut()>::new({
        let weak = weak.clone();
        move || with_inner(&weak, |rc| {
            rc.borrow_mut().channel.session_mut().connect(now());
            pump(rc);
        })
    });
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new({
        let weak = weak.clone();
        move |event: MessageEvent| with_inner(&weak, |rc| on_bytes(rc, &message_bytes(&event)))
    });
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new({
        let weak = weak.clone();
        move |event: CloseEvent| {
            with_inner(&weak, |rc| {
                let mut reason = describe_close(event.code(), &event.reason());
                let unread = rc.borrow().decoder.buffered();
                if unread > 0 {
                    reason.push_str(&format!(", in the middle of a frame ({unread} bytes of it were lost)"));
                }
                rc.borrow_mut().channel.session_mut().handle_closed(now(), reason);
                pump(rc);
            })
        }
    });
    // The browser reports no detail on WebSocket errors; the close event that
    // follows carries the code, so the error event itself adds nothing.
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    inner.borrow_mut()._callbacks =
        vec![Box::new(on_open), Box::new(on_message), Box::new(on_close)];
}

fn with_inner(weak: &Weak<RefCell<Inner>>, f: impl FnOnce(&Rc<RefCell<Inner>>)) {
    if let Some(rc) = weak.upgrade() {
        f(&rc);
    }
}

/// Web-STOMP sends text frames unless configured for binary; accept both.
fn message_bytes(event: &MessageEvent) -> Vec<u8> {
    let data = event.data();
    if let Some(text) = data.as_string() {
        text.into_bytes()
    } else if let Some(buffer) = data.dyn_ref::<js_sys::ArrayBuffer>() {
        js_sys::Uint8Array::new(buffer).to_vec()
    } else {
        Vec::new()
    }
}

fn on_bytes(rc: &Rc<RefCell<Inner>>, bytes: &[u8]) {
    {
        let mut guard = rc.borrow_mut();
        let inner = &mut *guard;
        inner.decoder.push(bytes);
        loop {
            match inner.decoder.next_item() {
                Ok(Some(Decoded::Frame(frame))) => inner.channel.session_mut().handle_frame(now(), frame),
                Ok(Some(Decoded::HeartBeat)) => {
                    inner.heartbeats.1 += 1;
                    inner.channel.session_mut().handle_heartbeat(now());
                }
                Ok(None) => break,
                Err(e) => {
                    protocol_failure(inner, &e);
                    break;
                }
            }
        }
    }
    pump(rc);
}

/// A frame we cannot read desynchronises the stream: the session ends, the socket closes.
fn protocol_failure(inner: &mut Inner, error: &DecodeError) {
    inner.channel.session_mut().handle_protocol_error(now(), error.to_string());
    let _ = inner.socket.close_with_code_and_reason(1002, "malformed STOMP frame");
}

/// Sends what the session queued, delivers its events, and re-arms its timer.
fn pump(rc: &Rc<RefCell<Inner>>) {
    let mut guard = rc.borrow_mut();
    let inner = &mut *guard;
    while let Some(transmit) = inner.channel.session_mut().poll_transmit() {
        let bytes = match transmit {
            Transmit::HeartBeat => {
                inner.heartbeats.0 += 1;
                b"\n".to_vec()
            }
            Transmit::Frame(frame) => match encode_to_vec(&frame) {
                Ok(bytes) => bytes,
                Err(e) => {
                    // The session builds its frames; one we cannot encode is our bug,
                    // reported as an error event rather than a panic.
                    let _ = inner.events.unbounded_send(Event::LocalError(e.to_string()));
                    continue;
                }
            },
        };
        if let Err(e) = inner.socket.send_with_u8_array(&bytes) {
            inner.channel.session_mut().handle_closed(now(), format!("sending failed: {}", describe(&e)));
        }
    }
    while let Some(event) = inner.channel.session_mut().poll_event() {
        match &event {
            Event::Connected(_) => {
                if let Some(opened) = inner.opened.take() {
                    let _ = opened.send(Ok(()));
                }
            }
            Event::Receipt { id, .. } => {
                if let Some(waiter) = inner.receipt_waiters.remove(id) {
                    let _ = waiter.send(Ok(()));
                }
            }
            Event::Closed(reason) => {
                if let Some(opened) = inner.opened.take() {
                    let _ = opened.send(Err(TransportError::Closed(reason.clone())));
                }
                for (_, waiter) in inner.receipt_waiters.drain() {
                    let _ = waiter.send(Err(TransportError::Closed(reason.clone())));
                }
                let _ = inner.socket.close();
            }
            _ => {}
        }
        let _ = inner.events.unbounded_send(event);
    }
    let page_timer = inner.page_timer;
    inner.timer = inner.channel.session().poll_timeout().filter(|_| page_timer).map(|at| {
        let delay = at.saturating_sub(now()).as_millis().min(u32::MAX as u128) as u32;
        let weak = Rc::downgrade(rc);
        Timeout::new(delay, move || {
            with_inner(&weak, |rc| {
                rc.borrow_mut().channel.session_mut().handle_timeout(now());
                pump(rc);
            })
        })
    });
}
