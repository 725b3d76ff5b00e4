//! The one browser driver of the reliability [`Core`] (wasm only): it opens and
//! closes the WebSockets the core asks for, feeds it what they report, writes
//! what it wants written, keeps its one timer (and a worker tick for background
//! tabs), reads the management API when the core asks, and hands the core's
//! events to futures and streams. It decides nothing itself: every decision
//! (when to reconnect, what to resend, who waits for room, what a slow reader may
//! hold, when to re-arm the timer) is the core's, where the simulator reaches it.
//!
//! A plain one-off connection is the same driver with reconnects off
//! ([`ReliableOptions::reconnect`]).

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use futures_channel::{mpsc, oneshot};
use futures_util::StreamExt;

mod consumer;
mod drive;
mod exchanges;
mod publish;
mod rpc;
mod topology;

pub use self::consumer::{AckHandle, Consumer, Delivery};
pub use self::publish::PublishConfirm;
pub use self::rpc::CallReply;

pub(crate) use self::drive::Driver;
use self::drive::{pump, start_ticker, Shared};
use self::publish::{ConfirmSink, Waiting};
use crate::client::{ConnectOptions, ConnectionInfo, Credentials, SocketClose};
use crate::rabbit::{BasicProperties, HeartBeats, PendingPublish, QueueOptions};
use crate::sans_io::core::{
    url_problem, ConnectionEvent, ConsumeError, ConsumeOptions, ConsumerKey, Core, DeclareError, Phase, PublishError, StopReason,
    ReliableOptions, UrlProblem,
};
use crate::transport::now;

/// How many messages wait in the outbox, and how many of them are in flight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStatus {
    /// Messages waiting for their confirm (unsent or in flight).
    pub messages: usize,
    /// Their body bytes.
    pub bytes: usize,
    /// Sent on the current connection, confirm not yet back.
    pub in_flight: usize,
    /// Publishes waiting for room to enter the outbox.
    pub waiting: usize,
}

/// Gives the credentials of each connection attempt (the first, each reconnect,
/// each node of a cluster), an OAuth2 token as the passcode say: called before
/// every CONNECT, and its answer is used for the management API's look-ups too.
/// An `Err` (in the provider's words) or no answer within
/// [`ReliableOptions::credentials_timeout`] fails the attempt, which is retried
/// with the backoff. When the credentials expire ([`Credentials::expires_in`], or a
/// JWT passcode's `exp`), the connection reconnects before they do
/// ([`ConnectionEvent::Renewing`]).
///
/// ```no_run
/// use std::rc::Rc;
/// use burrow::client::{ConnectOptions, Credentials};
/// use burrow::reliable::{CredentialsProvider, ReliableConnection, ReliableOptions};
///
/// # async fn fetch_token() -> Result<String, String> { Ok(String::new()) }
/// let provider: CredentialsProvider = Rc::new(|| {
///     Box::pin(async {
///         let token = fetch_token().await?; // a JWT: its exp says when it expires
///         Ok(Credentials::new("ignored", token))
///     })
/// });
/// let urls = vec!["ws://127.0.0.1:15676/ws".to_owned()];
/// let connection =
///     ReliableConnection::start_with_provider(urls, ConnectOptions::new("/"), ReliableOptions::default(), provider);
/// ```
pub type CredentialsProvider = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Credentials, String>>>>>;

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
    #[error("{} is not a Web-STOMP URL: it must start with ws:// or wss://, such as ws://127.0.0.1:15674/ws", crate::sans_io::text::Quoted(.0))]
    NotWebSocket(String),
    /// A URL has a `#fragment`, which the browser never opens a WebSocket to.
    #[error("{} is not a Web-STOMP URL: a WebSocket URL may not have a #fragment (remove the # and what follows)", crate::sans_io::text::Quoted(.0))]
    Fragment(String),
}

impl ReliableConnection {
    /// Starts connecting to `url` and keeps the connection up until
    /// [`ReliableConnection::stop`] (or a CONNECT refusal). With
    /// [`ReliableOptions::reconnect`] off, it is a plain one-off connection: its
    /// end is [`crate::reliable::StopReason::Closed`] with why.
    ///
    /// # Errors
    ///
    /// [`StartError`] for a URL that is not `ws://` or `wss://`.
    pub fn start(url: &str, options: ConnectOptions, reliable: ReliableOptions) -> Result<Self, StartError> {
        Self::start_with_urls(vec![url.to_owned()], options, reliable)
    }

    /// As [`ReliableConnection::start`], with several Web-STOMP URLs (the nodes of
    /// a cluster): a lost node moves it to the next one, with the same backoff.
    ///
    /// # Errors
    ///
    /// [`StartError`] for no URL or one that is not `ws://` or `wss://`.
    pub fn start_with_urls(
        urls: Vec<String>,
        options: ConnectOptions,
        reliable: ReliableOptions,
    ) -> Result<Self, StartError> {
        Self::start_inner(urls, options, reliable, None)
    }

    /// As [`ReliableConnection::start_with_urls`], with credentials from
    /// `provider` before every CONNECT instead of the options' fixed ones, and
    /// planned reconnects before they expire (see [`CredentialsProvider`]).
    ///
    /// # Errors
    ///
    /// [`StartError`] for no URL or one that is not `ws://` or `wss://`.
    pub fn start_with_provider(
        urls: Vec<String>,
        options: ConnectOptions,
        reliable: ReliableOptions,
        provider: CredentialsProvider,
    ) -> Result<Self, StartError> {
        Self::start_inner(urls, options, ReliableOptions { ask_credentials: true, ..reliable }, Some(provider))
    }

    fn start_inner(
        urls: Vec<String>,
        options: ConnectOptions,
        reliable: ReliableOptions,
        provider: Option<CredentialsProvider>,
    ) -> Result<Self, StartError> {
        if urls.is_empty() {
            return Err(StartError::NoUrl);
        }
        // Refused here in words: the browser would refuse each attempt, for ever.
        for url in &urls {
            match url_problem(url) {
                Some(UrlProblem::NotWebSocket) => return Err(StartError::NotWebSocket(url.clone())),
                Some(UrlProblem::Fragment) => return Err(StartError::Fragment(url.clone())),
                None => {}
            }
        }
        let seed = (js_sys::Math::random() * 2f64.powi(53)) as u64;
        let (status, events) = mpsc::unbounded();
        let management_url = reliable.management_url.clone();
        let page_timer = reliable.page_timer;
        let core = Core::new(urls, options, reliable, seed);
        let shared = Rc::new_cyclic(|weak| {
            std::cell::RefCell::new(Driver::new(core, status, provider, management_url, page_timer, weak.clone()))
        });
        {
            let mut driver = shared.borrow_mut();
            driver.core.handle_unix_time(now(), drive::unix_now());
            driver.core.start(now());
        }
        pump(&shared);
        start_ticker(&shared);
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
    /// full (backpressure: publishers get in in the order they came), then returns
    /// the confirm to await: it resolves when RabbitMQ confirms the message, or
    /// with why it never will. Across reconnects the message is kept and sent again.
    ///
    /// # Errors
    ///
    /// [`PublishError::Invalid`] for a message the broker would refuse or that breaks
    /// a limit (nothing sent; a `stream_filter_value` on a broker before RabbitMQ
    /// 3.13 too), [`PublishError::Stopped`] once stopped.
    pub async fn basic_publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        properties: &BasicProperties,
    ) -> Result<PublishConfirm, PublishError> {
        let publish = pending(exchange, routing_key, body, properties);
        let (tx, rx) = oneshot::channel();
        let (id, admitted) = {
            let mut driver = self.shared.borrow_mut();
            let id = driver.core.basic_publish_or_wait(now(), publish)?;
            driver.confirms.insert(id, ConfirmSink::Future(tx));
            let admitted = driver.core.is_waiting(id).then(|| {
                let (tx, rx) = oneshot::channel();
                driver.admissions.insert(id, tx);
                rx
            });
            (id, admitted)
        };
        pump(&self.shared);
        if let Some(admitted) = admitted {
            // Leaves the line if this future is dropped while it waits.
            let mut waiting = Waiting { id, shared: Rc::downgrade(&self.shared), admitted: false };
            admitted.await.map_err(|_| PublishError::Stopped)?;
            waiting.admitted = true;
        }
        Ok(PublishConfirm { id, rx })
    }

    /// [`ReliableConnection::basic_publish`] without waiting: refused at once with
    /// [`PublishError::Full`] while the outbox is full or others wait for room.
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
        let publish = pending(exchange, routing_key, body, properties);
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut driver = self.shared.borrow_mut();
            let id = driver.core.basic_publish(now(), publish)?;
            driver.confirms.insert(id, ConfirmSink::Future(tx));
            id
        };
        pump(&self.shared);
        Ok(PublishConfirm { id, rx })
    }

    /// [`ReliableConnection::basic_publish`] whose outcome goes to `then`, called
    /// once, also when stopped or refused at once ([`PublishError::Invalid`],
    /// [`PublishError::Stopped`]), instead of a future: the message waits in the
    /// core's line for room if it must. The JavaScript API resolves its Promise
    /// there, with no task and no channel per message.
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn publish_then(
        &self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        properties: &BasicProperties,
        then: Box<dyn FnOnce(Result<(), PublishError>)>,
    ) {
        let publish = pending(exchange, routing_key, body, properties);
        let refused = {
            let mut driver = self.shared.borrow_mut();
            match driver.core.basic_publish_or_wait(now(), publish) {
                Ok(id) => {
                    driver.confirms.insert(id, ConfirmSink::Callback(then));
                    None
                }
                Err(refused) => Some((refused, then)),
            }
        };
        // Called with the driver let go: `then` may ask it why it stopped.
        match refused {
            Some((refused, then)) => then(Err(refused)),
            None => pump(&self.shared),
        }
    }

    /// pika's `basic_consume`: a consumer that subscribes now (or once connected)
    /// and again after every reconnect. Its deliveries come through the returned
    /// [`Consumer`] stream; each one acks itself.
    ///
    /// `source` is a queue (`"task_queue"`) or an exchange subscription:
    /// [`crate::rabbit::ConsumeFrom::exchange`]`("logs", "")` (transient: what is
    /// published while the connection is down is lost, and the status stream says
    /// [`crate::reliable::ConnectionEvent::SubscriptionGap`] after the reconnect), or
    /// [`crate::rabbit::ConsumeFrom::durable`]`("topic_logs", "kern.*", "kern-log")`
    /// (a named durable queue: nothing is lost; delete it with
    /// [`crate::management::ManagementApi::delete_queue`] when done).
    ///
    /// # Errors
    ///
    /// [`ConsumeError::Invalid`] for an empty or too long queue name (or a name
    /// RabbitMQ could not read back, see [`crate::rabbit::ConsumeFrom::check`]),
    /// or for a stream filter or priority the connected broker lacks
    /// ([`crate::rabbit::RabbitError::Unsupported`]; made before connecting, the
    /// consumer ends with it once the broker is known), or for one that does not
    /// fit the type this connection declared the queue as (as [`Core::basic_consume`]),
    /// [`ConsumeError::Stopped`] once stopped.
    pub fn basic_consume(
        &self,
        source: impl Into<crate::rabbit::ConsumeFrom>,
        options: ConsumeOptions,
    ) -> Result<Consumer, ConsumeError> {
        let key = self.shared.borrow_mut().core.basic_consume(now(), source, options)?;
        pump(&self.shared);
        Ok(Consumer::new(key, Rc::downgrade(&self.shared)))
    }

    /// How many deliveries `consumer`'s stream filter kept back (see
    /// [`Consumer::filtered_out`]); 0 for an unknown consumer.
    pub fn filtered_out(&self, consumer: ConsumerKey) -> u64 {
        self.shared.borrow().core.filtered_out(consumer)
    }

    /// Waits until connected; `false` if it stopped instead (a CONNECT refusal, or
    /// [`ReliableConnection::stop`]).
    pub async fn wait_connected(&self) -> bool {
        self.wait_for(|core| match core.phase() {
            Phase::Connected { .. } => Some(true),
            Phase::Stopping | Phase::Stopped => Some(false),
            _ => None,
        })
        .await
    }

    /// Waits until `settled` says something of the core, looking again each time
    /// the driver wakes its `up` waiters (CONNECTED, `stop`, Stopped).
    pub(crate) async fn wait_for<T>(&self, settled: impl Fn(&Core) -> Option<T>) -> T {
        loop {
            let waiting = {
                let mut driver = self.shared.borrow_mut();
                if let Some(outcome) = settled(&driver.core) {
                    return outcome;
                }
                let (tx, rx) = oneshot::channel();
                driver.up.push(tx);
                rx
            };
            let _ = waiting.await;
        }
    }

    /// pika's `queue_declare`. Its frames go out in call order, as on an AMQP
    /// channel: made before the connection is up (or while it reconnects), the
    /// declare is sent first once it is, before the consumers' SUBSCRIBEs and the
    /// waiting publishes, so that a `basic_publish` or `basic_consume` made after
    /// it, without awaiting it, finds the queue. A refusal comes back in
    /// RabbitMQ's words (rebuilt from the management API when Web-STOMP closed
    /// without them); the connection then reconnects by itself. A second declare
    /// of a queue this connection declared (RabbitMQ's STOMP adapter would skip
    /// it, even after the queue was deleted) is answered over a short-lived side
    /// connection. A queue declared is declared again on every later connection,
    /// before the consumers' SUBSCRIBEs (a broker restart deletes a non-durable
    /// one); [`ReliableConnection::queue_delete`] forgets it. A declare a network
    /// drop cuts short goes again so on the next connection, and this answers
    /// with that one's outcome.
    ///
    /// # Errors
    ///
    /// [`DeclareError`]: invalid, refused, the connection closed first, or stopped.
    pub fn queue_declare(
        &self,
        queue: &str,
        options: &QueueOptions,
    ) -> impl Future<Output = Result<(), DeclareError>> + 'static {
        // Now, not when the future is first polled: what the caller does next
        // goes out after it.
        let started = declare_now(&self.shared, queue, options);
        async move { started?.await.unwrap_or(Err(DeclareError::Stopped)) }
    }

    /// Stops: DISCONNECT, no more attempts. Unconfirmed publishes fail with
    /// [`PublishError::Stopped`]; [`ConnectionEvent::Stopped`] comes last.
    pub fn stop(&self) {
        if let Ok(mut driver) = self.shared.try_borrow_mut() {
            driver.core.stop(now());
            // Stopping: what waits for the connection ends now, not at Stopped
            // (which waits for the DISCONNECT's receipt).
            driver.wake_up_waiters();
        }
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

    /// Why it stopped, once it has (the reason [`ConnectionEvent::Stopped`] gives);
    /// already known while the publishes it fails on stopping are settled.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.shared.try_borrow().ok().and_then(|driver| driver.core.stop_reason().cloned())
    }

    /// Where it is now.
    pub fn phase(&self) -> Phase {
        self.shared.borrow().core.phase()
    }

    /// Whether it is connected now.
    pub fn is_connected(&self) -> bool {
        self.shared.borrow().core.is_connected()
    }

    /// What CONNECTED said on the current connection.
    pub fn info(&self) -> Option<ConnectionInfo> {
        self.shared.borrow().core.info().cloned()
    }

    /// The outbox's size.
    pub fn outbox(&self) -> OutboxStatus {
        let driver = self.shared.borrow();
        let outbox = driver.core.outbox();
        OutboxStatus {
            messages: outbox.len(),
            bytes: outbox.bytes(),
            in_flight: outbox.in_flight(),
            waiting: driver.core.waiting(),
        }
    }

    /// Heart-beats on the current connection.
    pub fn heartbeats(&self) -> HeartBeats {
        self.shared.borrow().core.heartbeats()
    }

    /// Time left until the next reconnect attempt, when one is scheduled.
    pub fn countdown(&self) -> Option<Duration> {
        self.shared.borrow().core.countdown(now())
    }

    /// Bytes the browser holds for the current socket, not yet written to the network.
    pub fn buffered_amount(&self) -> u32 {
        let driver = self.shared.borrow();
        let socket = driver.core.current_link().and_then(|link| driver.sockets.get(&link));
        socket.map_or(0, |socket| socket.buffered_amount())
    }
}

impl Drop for ReliableConnection {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `wasm_bindgen_futures::spawn_local` for every task of the driver and the
/// JavaScript API: one copy of it in the wasm (it is generic and inlined, about
/// half a kilobyte a caller), for one more box per task.
#[inline(never)]
pub(crate) fn spawn(task: Pin<Box<dyn Future<Output = ()>>>) {
    wasm_bindgen_futures::spawn_local(task);
}

pub(super) fn pending(exchange: &str, routing_key: &str, body: Vec<u8>, properties: &BasicProperties) -> PendingPublish {
    PendingPublish {
        exchange: exchange.to_owned(),
        routing_key: routing_key.to_owned(),
        body,
        properties: properties.clone(),
    }
}

/// Hands a declare to the core (sent now, or held until connected) and returns
/// where its answer comes.
fn declare_now(
    shared: &Shared,
    queue: &str,
    options: &QueueOptions,
) -> Result<oneshot::Receiver<Result<(), DeclareError>>, DeclareError> {
    let answer = {
        let mut driver = shared.borrow_mut();
        let id = driver.core.queue_declare_or_hold(now(), queue, options)?;
        let (tx, rx) = oneshot::channel();
        driver.declares.insert(id, tx);
        rx
    };
    pump(shared);
    Ok(answer)
}
