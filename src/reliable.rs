//! A connection that survives outages (wasm only): it reconnects with backoff,
//! restores its consumers with their ack mode and prefetch, and republishes from a
//! bounded outbox whatever was not confirmed. Delivery is at-least-once: a message
//! may arrive twice, and every such second copy is marked ([`Delivery::possibly_duplicate`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use futures_channel::mpsc;
use futures_util::StreamExt;
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen_futures::spawn_local;

use crate::client::{is_retryable, Backoff, ConnectOptions, ConnectionInfo, Event, Reconnector, Request};
use crate::rabbit::{BasicProperties, Delivery, Outbox, OutboxId, PendingPublish, RabbitError};
use crate::transport::{now, Connection, TransportError};

/// How a [`ReliableConnection`] behaves.
#[derive(Debug, Clone)]
pub struct ReliableOptions {
    /// Delays between reconnect attempts.
    pub backoff: Backoff,
    /// Most messages waiting for their confirm at once.
    pub outbox_capacity: usize,
}

impl Default for ReliableOptions {
    /// 0.5 s doubling to 30 s with jitter; 10,000 messages in the outbox.
    fn default() -> Self {
        ReliableOptions { backoff: Backoff::default(), outbox_capacity: 10_000 }
    }
}

/// Which consumer of a [`ReliableConnection`] (stable across reconnects, unlike
/// the STOMP subscription id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConsumerKey(pub u32);

/// What a [`ReliableConnection`] reports.
#[derive(Debug, Clone, PartialEq)]
pub enum ReliableEvent {
    /// Connected (again); consumers are restored and the outbox is being resent.
    Connected {
        /// What CONNECTED said.
        info: ConnectionInfo,
        /// Which connection this is, from 1; acks carry it.
        generation: u64,
    },
    /// The connection was lost; the next attempt comes after `delay`.
    Reconnecting {
        /// Why it was lost, in words.
        reason: String,
        /// Which retry this is, from 1.
        attempt: u32,
        /// How long until it.
        delay: Duration,
    },
    /// A delivery to one of the consumers.
    Delivery {
        /// Which consumer.
        consumer: ConsumerKey,
        /// The connection it came on; ack it only on that one.
        generation: u64,
        /// The delivery.
        delivery: Delivery,
    },
    /// The broker confirmed a message from the outbox.
    Confirmed(OutboxId),
    /// A consumer could not be (re)started; it is kept and retried after the next reconnect.
    ConsumeFailed {
        /// Which consumer.
        consumer: ConsumerKey,
        /// Why, in words.
        error: String,
    },
    /// No more retries: the user stopped it, or the close cannot be fixed by retrying
    /// (wrong password, unknown vhost).
    Stopped(String),
}

#[derive(Debug, Clone)]
struct ConsumerSpec {
    queue: String,
    auto_ack: bool,
    prefetch: u16,
}

struct Shared {
    url: String,
    options: ConnectOptions,
    outbox: Outbox,
    consumers: Vec<(ConsumerKey, ConsumerSpec)>,
    next_consumer: u32,
    current: Option<(u64, Rc<Connection>)>,
    /// The current connection's subscription ids, to their consumers.
    tags: HashMap<crate::client::SubscriptionId, ConsumerKey>,
    reconnector: Reconnector,
    stopped: bool,
    events: mpsc::UnboundedSender<ReliableEvent>,
}

impl Shared {
    fn emit(&self, event: ReliableEvent) {
        let _ = self.events.unbounded_send(event);
    }
}

/// A connection that reconnects by itself; see the module documentation.
pub struct ReliableConnection {
    shared: Rc<RefCell<Shared>>,
    events: mpsc::UnboundedReceiver<ReliableEvent>,
}

impl ReliableConnection {
    /// Starts connecting to `url` and keeps the connection up until [`ReliableConnection::stop`].
    pub fn start(url: &str, options: ConnectOptions, reliable: ReliableOptions) -> Self {
        let (events_tx, events) = mpsc::unbounded();
        let mut reconnector = Reconnector::new(reliable.backoff);
        reconnector.start();
        let shared = Rc::new(RefCell::new(Shared {
            url: url.to_owned(),
            options,
            outbox: Outbox::new(reliable.outbox_capacity),
            consumers: Vec::new(),
            next_consumer: 0,
            current: None,
            tags: HashMap::new(),
            reconnector,
            stopped: false,
            events: events_tx,
        }));
        spawn_local(run(shared.clone()));
        ReliableConnection { shared, events }
    }

    /// Takes the event stream, for a caller that reads events on its own task.
    pub fn take_events(&mut self) -> mpsc::UnboundedReceiver<ReliableEvent> {
        let (_, empty) = mpsc::unbounded();
        std::mem::replace(&mut self.events, empty)
    }

    /// The next event; `None` once stopped and every event was read.
    pub async fn next_event(&mut self) -> Option<ReliableEvent> {
        self.events.next().await
    }

    /// Queues a message in the outbox and sends it now if connected; it is sent
    /// again after a reconnect until the broker confirms it.
    pub fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        properties: &BasicProperties,
    ) -> Result<OutboxId, RabbitError> {
        let id = {
            let mut shared = self.shared.borrow_mut();
            let publish = PendingPublish {
                exchange: exchange.to_owned(),
                routing_key: routing_key.to_owned(),
                body,
                properties: properties.clone(),
            };
            shared.outbox.push(publish)?
        };
        flush(&self.shared);
        Ok(id)
    }

    /// Adds a consumer, started now if connected and restored after every reconnect.
    pub fn consume(&self, queue: &str, auto_ack: bool, prefetch: u16) -> ConsumerKey {
        let (key, current) = {
            let mut shared = self.shared.borrow_mut();
            shared.next_consumer += 1;
            let key = ConsumerKey(shared.next_consumer);
            let spec = ConsumerSpec { queue: queue.to_owned(), auto_ack, prefetch };
            shared.consumers.push((key, spec));
            (key, shared.current.clone())
        };
        if let Some((generation, connection)) = current {
            spawn_local(start_consumers(self.shared.clone(), generation, connection, vec![key]));
        }
        key
    }

    /// Acknowledges a delivery that came on connection `generation`. One from an
    /// earlier connection is not acked (that connection is gone, and the broker
    /// redelivers the message, marked): returns `Ok(false)` then.
    pub fn ack(&self, generation: u64, delivery_tag: &str) -> Result<bool, TransportError> {
        match self.connection_of(generation) {
            Some(connection) => connection.basic_ack(delivery_tag).map(|()| true),
            None => Ok(false),
        }
    }

    /// Refuses a delivery that came on connection `generation` (see [`ReliableConnection::ack`]).
    pub fn nack(&self, generation: u64, delivery_tag: &str, requeue: bool) -> Result<bool, TransportError> {
        match self.connection_of(generation) {
            Some(connection) => connection.basic_nack(delivery_tag, requeue).map(|()| true),
            None => Ok(false),
        }
    }

    /// Drops the connection without DISCONNECT and without acking, as a crashed
    /// worker would, and does not come back.
    pub fn crash(&self) {
        if let Some(connection) = self.give_up() {
            connection.abort();
        }
    }

    /// The current connection, if it is connection `generation`.
    fn connection_of(&self, generation: u64) -> Option<Rc<Connection>> {
        match &self.shared.borrow().current {
            Some((live, connection)) if *live == generation => Some(connection.clone()),
            _ => None,
        }
    }

    /// Schedules no more attempts and hands over the current connection, if any.
    fn give_up(&self) -> Option<Rc<Connection>> {
        let mut shared = self.shared.borrow_mut();
        shared.stopped = true;
        shared.reconnector.give_up();
        shared.current.take().map(|(_, connection)| connection)
    }

    /// The connection in use now, if connected: for calls beyond publish and consume.
    pub fn current(&self) -> Option<Rc<Connection>> {
        self.shared.borrow().current.as_ref().map(|(_, c)| c.clone())
    }

    /// Messages waiting in the outbox (unsent or unconfirmed), and their body bytes.
    pub fn outbox_len(&self) -> (usize, usize) {
        let shared = self.shared.borrow();
        (shared.outbox.len(), shared.outbox.bytes())
    }

    /// Time left until the next reconnect attempt, when one is scheduled.
    pub fn countdown(&self) -> Option<Duration> {
        self.shared.borrow().reconnector.countdown(now())
    }

    /// Stops: disconnects and schedules no more attempts.
    pub fn stop(&self) {
        if let Some(connection) = self.give_up() {
            spawn_local(async move {
                let _ = connection.disconnect().await;
            });
        }
    }
}

impl Drop for ReliableConnection {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sends whatever the outbox holds unsent, on the current connection.
fn flush(shared: &Rc<RefCell<Shared>>) {
    let current = shared.borrow().current.clone();
    if let Some((_, connection)) = current {
        let mut guard = shared.borrow_mut();
        // A refusal here (the connection just closed) leaves the messages waiting.
        let _ = connection.flush_outbox(&mut guard.outbox);
    }
}

async fn start_consumers(
    shared: Rc<RefCell<Shared>>,
    generation: u64,
    connection: Rc<Connection>,
    keys: Vec<ConsumerKey>,
) {
    for key in keys {
        let spec = shared.borrow().consumers.iter().find(|(k, _)| *k == key).map(|(_, s)| s.clone());
        let Some(spec) = spec else { continue };
        // The tag is routed before the broker answers: deliveries may come before the receipt.
        let started = connection.basic_consume_now(&spec.queue, spec.auto_ack, Some(spec.prefetch));
        let outcome = match started {
            Ok((tag, receipt)) => {
                {
                    let mut s = shared.borrow_mut();
                    if s.current.as_ref().is_some_and(|(g, _)| *g == generation) {
                        s.tags.insert(tag, key);
                    }
                }
                connection.wait_receipt(receipt).await
            }
            Err(error) => Err(error),
        };
        if let Err(error) = outcome {
            shared.borrow().emit(ReliableEvent::ConsumeFailed { consumer: key, error: error.to_string() });
        }
    }
}

async fn run(shared: Rc<RefCell<Shared>>) {
    let mut generation = 0u64;
    loop {
        let (url, options) = {
            let s = shared.borrow();
            if s.stopped {
                break;
            }
            (s.url.clone(), s.options.clone())
        };
        let reason = match Connection::open(&url, options).await {
            Ok(mut connection) => {
                generation += 1;
                let info = connection.info().unwrap_or_default();
                let mut events = connection.take_events();
                let connection = Rc::new(connection);
                {
                    let mut s = shared.borrow_mut();
                    s.reconnector.on_connected();
                    s.current = Some((generation, connection.clone()));
                    s.tags.clear();
                    s.emit(ReliableEvent::Connected { info, generation });
                }
                let keys: Vec<ConsumerKey> = shared.borrow().consumers.iter().map(|(k, _)| *k).collect();
                start_consumers(shared.clone(), generation, connection.clone(), keys).await;
                flush(&shared);
                follow(&shared, &mut events, generation).await
            }
            Err(TransportError::Closed(reason)) => reason,
            Err(error) => crate::client::CloseReason::Transport(error.to_string()),
        };
        let words = match &reason {
            crate::client::CloseReason::ServerError(error) => crate::rabbit::Refusal::from_server_error(error).to_string(),
            other => other.to_string(),
        };
        let retry = {
            let mut s = shared.borrow_mut();
            s.current = None;
            s.outbox.connection_lost();
            if s.stopped {
                s.emit(ReliableEvent::Stopped("disconnected".to_owned()));
                break;
            }
            let random = js_sys::Math::random();
            let at = s.reconnector.on_closed(now(), is_retryable(&reason), random);
            match at {
                Some(at) => {
                    let delay = at.saturating_sub(now());
                    let attempt = s.reconnector.attempts();
                    s.emit(ReliableEvent::Reconnecting { reason: words, attempt, delay });
                    delay
                }
                None => {
                    s.emit(ReliableEvent::Stopped(words));
                    break;
                }
            }
        };
        TimeoutFuture::new(retry.as_millis().min(u128::from(u32::MAX)) as u32).await;
        let _ = shared.borrow_mut().reconnector.handle_timeout(now());
    }
}

/// Passes one connection's events on until it closes; returns why it closed.
async fn follow(
    shared: &Rc<RefCell<Shared>>,
    events: &mut mpsc::UnboundedReceiver<Event>,
    generation: u64,
) -> crate::client::CloseReason {
    while let Some(event) = events.next().await {
        match event {
            Event::Message(message) => {
                let s = shared.borrow();
                let consumer = s.tags.get(&message.subscription).copied();
                if let Some(consumer) = consumer {
                    let delivery = Delivery::from_message(&message);
                    s.emit(ReliableEvent::Delivery { consumer, generation, delivery });
                }
            }
            Event::Receipt { id, request: Request::Send { .. } } => {
                let mut s = shared.borrow_mut();
                if let Some(confirmed_id) = s.outbox.confirmed_id(&id) {
                    s.emit(ReliableEvent::Confirmed(confirmed_id));
                }
            }
            Event::Closed(reason) => return reason,
            _ => {}
        }
    }
    crate::client::CloseReason::Transport("the connection's events ended".to_owned())
}
