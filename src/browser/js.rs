//! The JavaScript/TypeScript API (wasm only, feature `js`): `connect(url, options)`
//! returns a [`JsConnection`] (`Connection` in JavaScript) with `queueDeclare`,
//! `publish` (a Promise that resolves on RabbitMQ's confirm), `consume` (a
//! callback per message, `message.ack()` / `message.nack()`), and status events.
//! `./burrow package` builds it into an npm package; the `.d.ts` comes from here.
//!
//! Everything goes through [`ReliableConnection`]: reconnects with backoff,
//! consumers resubscribed, unconfirmed publishes resent, at most a window of
//! publishes in flight.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use futures_channel::oneshot;
use futures_util::{FutureExt, StreamExt};
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, spawn_local};

use crate::client::{Backoff, ConnectOptions, HeartBeat, Jitter};
use crate::rabbit::{BasicProperties, OutboxLimits, QueueOptions, RabbitError, StreamOffset};
use crate::reliable::{
    AckHandle, ConnectionEvent, ConsumeOptions, DeclareError, Delivery, Phase, ReliableConnection, ReliableOptions, Window,
};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** How to connect. Every field is optional. */
export interface ConnectOptions {
  /** RabbitMQ user (the tutorial's `burrow`). */
  login?: string;
  /** Its password; kept in memory only. */
  passcode?: string;
  /** Virtual host, default "/". */
  vhost?: string;
  /** We send a heart-beat at least this often, in ms (default 10000; 0 turns it off). */
  heartbeatOutgoing?: number;
  /** We want the broker's heart-beat this often, in ms (default 10000; 0 turns it off). */
  heartbeatIncoming?: number;
  /** First reconnect delay in ms (default 500); it doubles up to `maxReconnectDelay`. */
  reconnectDelay?: number;
  /** Longest reconnect delay in ms (default 30000). */
  maxReconnectDelay?: number;
  /** Publishes awaiting their confirm at once (default 128). */
  window?: number;
  /** Socket writes at once per millisecond before frames are batched into one
   * write (default 4; 0 or Infinity: never batch). */
  writesPerMs?: number;
  /** Most messages waiting in the outbox (default 10000); `publish` waits beyond it. */
  outboxMessages?: number;
  /** Most body bytes waiting in the outbox (default 64 MiB). */
  outboxBytes?: number;
  /** Called with each status event, connecting to stopped. */
  onStatus?: (event: StatusEvent) => void;
}

/** What a connection reports about itself. `stopped` is always the last. */
export type StatusEvent =
  | { type: "connecting"; url: string }
  | { type: "connected"; url: string; server: string | null; heartbeatOutgoing: number; heartbeatIncoming: number }
  | { type: "reconnecting"; reason: string; fault: "network" | "broker" | "local" | "user"; attempt: number; delayMs: number; nextUrl: string }
  | { type: "consumer-ready"; consumer: number }
  | { type: "consumer-failed"; consumer: number; reason: string }
  | { type: "warning"; message: string }
  | { type: "stopped"; reason: string };

/** pika's `queue_declare` flags. */
export interface QueueDeclareOptions {
  durable?: boolean;
  exclusive?: boolean;
  autoDelete?: boolean;
  /**
   * x- arguments, such as { "x-queue-type": "quorum" } or { "x-message-ttl": 60000 }.
   * A quorum queue or a stream must be durable, not exclusive, not auto-delete.
   */
  arguments?: Record<string, string | number>;
}

/** pika's `basic_publish` properties. */
export interface PublishOptions {
  /** The exchange; "" (the default) routes by queue name. */
  exchange?: string;
  /** delivery_mode=2: survives a broker restart in a durable queue. */
  persistent?: boolean;
  contentType?: string;
  contentEncoding?: string;
  correlationId?: string;
  replyTo?: string;
  /** Per-message TTL in ms, as text. */
  expiration?: string;
  messageId?: string;
  priority?: number;
  type?: string;
  appId?: string;
  /** Application headers. */
  headers?: Record<string, string>;
}

/** A message delivered to a consumer. */
export interface Message {
  /** The body, byte for byte. */
  readonly body: Uint8Array;
  /** The body as text (invalid UTF-8 shown as U+FFFD). */
  readonly text: string;
  /** The routing key (for the default exchange: the queue). */
  readonly routingKey: string;
  /** The exchange ("" for the default exchange). */
  readonly exchange: string;
  /** Delivered before and not acknowledged (its consumer crashed). */
  readonly redelivered: boolean;
  /** Redelivered, or published again after a lost confirm: the only messages that may arrive twice. */
  readonly possiblyDuplicate: boolean;
  /** Persistent (delivery_mode=2). */
  readonly persistent: boolean;
  /** Application headers. */
  readonly headers: Readonly<Record<string, string>>;
  readonly contentType?: string;
  readonly messageId?: string;
  /** Quorum queues: how many times it was delivered before (x-delivery-count). */
  readonly deliveryCount?: number;
  /** Streams: its offset (x-stream-offset). */
  readonly streamOffset?: number;
  /** pika's basic_ack, on the connection it came on; throws "Stale" when that connection is gone
   * (RabbitMQ redelivers it, marked), "AlreadySettled" the second time. Nothing to do for auto-ack. */
  ack(): void;
  /** pika's basic_nack: { requeue: false } drops (or dead-letters) it; by default it goes back. */
  nack(options?: { requeue?: boolean }): void;
}

/** How to consume. */
export interface ConsumeOptions {
  /** "manual" (default): call message.ack(); "auto": the broker counts it done once sent. */
  ack?: "manual" | "auto";
  /** Unacknowledged messages at once; 0 is unlimited (default 1). */
  prefetch?: number;
  /**
   * For a stream: where to start reading (RabbitMQ's x-stream-offset). A number is
   * an offset; `{ timestamp }` is seconds since the epoch (or a Date). Needs
   * `ack: "manual"` and a prefetch above 0. After a reconnect the consumer goes on
   * from the first message it did not ack, whatever this says.
   */
  offset?: StreamOffset;
}

/** Where a stream consumer starts. */
export type StreamOffset = "first" | "last" | "next" | number | { timestamp: number | Date };
"#;

#[wasm_bindgen]
extern "C" {
    /// `string | string[]`.
    #[wasm_bindgen(typescript_type = "string | string[]")]
    pub type UrlOrUrls;
    /// Options for `connect`.
    #[wasm_bindgen(typescript_type = "ConnectOptions")]
    pub type JsConnectOptions;
    /// Options for `queueDeclare`.
    #[wasm_bindgen(typescript_type = "QueueDeclareOptions")]
    pub type JsQueueDeclareOptions;
    /// Options for `publish`.
    #[wasm_bindgen(typescript_type = "PublishOptions")]
    pub type JsPublishOptions;
    /// Options for `consume`.
    #[wasm_bindgen(typescript_type = "ConsumeOptions")]
    pub type JsConsumeOptions;
    /// `string | Uint8Array`.
    #[wasm_bindgen(typescript_type = "string | Uint8Array")]
    pub type Body;
    /// `(message: Message) => void`, where `Message` is the interface in the `.d.ts`.
    #[wasm_bindgen(typescript_type = "(message: Message) => void")]
    pub type MessageHandler;
    /// `{ requeue?: boolean }`.
    #[wasm_bindgen(typescript_type = "{ requeue?: boolean }")]
    pub type NackOptions;
}

fn get(object: &JsValue, key: &str) -> JsValue {
    if object.is_object() {
        Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

fn text(object: &JsValue, key: &str) -> Option<String> {
    get(object, key).as_string()
}

fn number(object: &JsValue, key: &str) -> Option<f64> {
    get(object, key).as_f64().filter(|n| n.is_finite() && *n >= 0.0)
}

fn flag(object: &JsValue, key: &str) -> Option<bool> {
    get(object, key).as_bool()
}

/// A queue argument's number as RabbitMQ reads it: whole numbers only, so no float
/// formatting is compiled in.
fn whole_number(value: f64) -> String {
    (value.trunc().clamp(i64::MIN as f64, i64::MAX as f64) as i64).to_string()
}

fn millis(value: f64) -> Duration {
    Duration::from_millis(value.min(u32::MAX as f64) as u64)
}

/// A JavaScript `Error` with `name` set, so callers can tell failures apart.
fn error(name: &str, message: impl std::fmt::Display) -> JsValue {
    let error = js_sys::Error::new(&message.to_string());
    error.set_name(name);
    error.into()
}

fn set(object: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(object, &JsValue::from_str(key), &value.into());
}

fn status_object(event: &ConnectionEvent) -> Object {
    let object = Object::new();
    match event {
        ConnectionEvent::Connecting { url } => {
            set(&object, "type", "connecting");
            set(&object, "url", url.as_str());
        }
        ConnectionEvent::Connected { url, info } => {
            set(&object, "type", "connected");
            set(&object, "url", url.as_str());
            set(&object, "server", info.server.clone().map_or(JsValue::NULL, JsValue::from));
            set(&object, "heartbeatOutgoing", info.heart_beat.outgoing.as_millis() as f64);
            set(&object, "heartbeatIncoming", info.heart_beat.incoming.as_millis() as f64);
        }
        ConnectionEvent::Reconnecting { reason, attempt, delay, next_url } => {
            set(&object, "type", "reconnecting");
            set(&object, "reason", reason.to_string());
            let fault = match reason.fault() {
                crate::client::Fault::Network => "network",
                crate::client::Fault::Broker => "broker",
                crate::client::Fault::Local => "local",
                crate::client::Fault::User => "user",
            };
            set(&object, "fault", fault);
            set(&object, "attempt", *attempt);
            set(&object, "delayMs", delay.as_millis() as f64);
            set(&object, "nextUrl", next_url.as_str());
        }
        ConnectionEvent::ConsumerReady(key) => {
            set(&object, "type", "consumer-ready");
            set(&object, "consumer", key.0 as f64);
        }
        ConnectionEvent::ConsumerFailed { consumer, error } => {
            set(&object, "type", "consumer-failed");
            set(&object, "consumer", consumer.0 as f64);
            set(&object, "reason", error.to_string());
        }
        ConnectionEvent::Warning(words) => {
            set(&object, "type", "warning");
            set(&object, "message", words.to_string());
        }
        ConnectionEvent::Stopped(reason) => {
            set(&object, "type", "stopped");
            set(&object, "reason", reason.to_string());
        }
    }
    object
}

/// Connects to RabbitMQ's Web-STOMP at `url` (or the first of several URLs, the
/// nodes of a cluster) and keeps the connection up until `close()`: reconnects
/// with backoff, resubscribes consumers, resends unconfirmed publishes.
#[wasm_bindgen(js_name = connect)]
pub fn connect(url: UrlOrUrls, options: Option<JsConnectOptions>) -> Result<JsConnection, JsValue> {
    let url: JsValue = url.into();
    let urls: Vec<String> = if Array::is_array(&url) {
        Array::from(&url).iter().filter_map(|u| u.as_string()).collect()
    } else {
        url.as_string().into_iter().collect()
    };
    let options: JsValue = options.map(Into::into).unwrap_or(JsValue::UNDEFINED);
    let mut connect = ConnectOptions::new(text(&options, "vhost").unwrap_or_else(|| "/".to_owned()));
    connect.login = text(&options, "login");
    connect.passcode = text(&options, "passcode");
    let outgoing = number(&options, "heartbeatOutgoing").map_or(connect.heart_beat.outgoing, millis);
    let incoming = number(&options, "heartbeatIncoming").map_or(connect.heart_beat.incoming, millis);
    connect.heart_beat = HeartBeat::new(outgoing, incoming);
    let mut reliable = ReliableOptions::default();
    let initial = number(&options, "reconnectDelay").map_or(Duration::from_millis(500), millis);
    let cap = number(&options, "maxReconnectDelay").map_or(Duration::from_secs(30), millis);
    reliable.backoff = Backoff::new(initial, 2, cap, Jitter::Equal);
    if let Some(window) = number(&options, "window") {
        reliable.window = Window { messages: (window as usize).max(1), ..Window::default() };
    }
    if let Some(writes) = get(&options, "writesPerMs").as_f64() {
        // 0 or Infinity: every write at once.
        reliable.pacing = if writes >= 1.0 && writes.is_finite() {
            crate::reliable::Pacing { burst: writes as u32, slot: Duration::from_millis(1) }
        } else {
            crate::reliable::Pacing::off()
        };
    }
    let defaults = OutboxLimits::default();
    reliable.outbox = OutboxLimits {
        messages: number(&options, "outboxMessages").map_or(defaults.messages, |n| n as usize),
        bytes: number(&options, "outboxBytes").map_or(defaults.bytes, |n| n as usize),
    };
    let mut connection = ReliableConnection::start_with_urls(urls, connect, reliable)
        .map_err(|e| error("InvalidUrl", e))?;
    let mut events = connection.take_events();
    let listener = get(&options, "onStatus").dyn_into::<Function>().ok();
    let status = Rc::new(RefCell::new(None));
    {
        let status = status.clone();
        spawn_local(async move {
            while let Some(event) = events.next().await {
                let object = status_object(&event);
                *status.borrow_mut() = Some(object.clone());
                if let Some(listener) = &listener {
                    // A listener that throws must not stop the others.
                    if let Err(thrown) = listener.call1(&JsValue::NULL, &object) {
                        web_sys::console::error_2(&"Burrow: the onStatus listener threw".into(), &thrown);
                    }
                }
            }
        });
    }
    let acks = Rc::new(RefCell::new(AckTable::default()));
    let settle = {
        let acks = acks.clone();
        Closure::<dyn Fn(f64, u32) -> JsValue>::new(move |token, how| acks.borrow_mut().settle(token, how))
    };
    Ok(JsConnection { connection: Rc::new(connection), status, acks, settle })
}

/// A connection to RabbitMQ that survives outages.
#[wasm_bindgen(js_name = Connection)]
pub struct JsConnection {
    connection: Rc<ReliableConnection>,
    status: Rc<RefCell<Option<Object>>>,
    /// The acks of messages handed to JavaScript, by token.
    acks: Rc<RefCell<AckTable>>,
    /// What a message's `ack()` / `nack()` calls: `(token, how)`; returns an Error or
    /// `undefined`. One per connection, alive as long as it is.
    settle: Closure<dyn Fn(f64, u32) -> JsValue>,
}

/// Messages handed to JavaScript keep only a number; the acker behind it stays here
/// until the message is acked or nacked, so a message's body is not held in wasm
/// memory until the JavaScript garbage collector gets to it.
#[derive(Default)]
struct AckTable {
    next: u64,
    handles: HashMap<u64, AckHandle>,
}

impl AckTable {
    fn insert(&mut self, handle: AckHandle) -> f64 {
        self.next += 1;
        self.handles.insert(self.next, handle);
        self.next as f64
    }

    /// `how`: 0 ack, 1 nack with requeue, 2 nack without.
    fn settle(&mut self, token: f64, how: u32) -> JsValue {
        let Some(handle) = self.handles.remove(&(token as u64)) else {
            return ack_error(crate::reliable::AckError::AlreadySettled);
        };
        let result = match how {
            0 => handle.ack(),
            1 => handle.nack(true),
            _ => handle.nack(false),
        };
        match result {
            Ok(()) => JsValue::UNDEFINED,
            // A nack refused before sending (a stream message) can still be acked.
            Err(error @ crate::reliable::AckError::StreamNack) => {
                self.handles.insert(token as u64, handle);
                ack_error(error)
            }
            Err(error) => ack_error(error),
        }
    }
}

#[wasm_bindgen(inline_js = r#"
const utf8 = new TextDecoder();
const noHeaders = Object.freeze({});
class Message {
  constructor(settle, token, body, routingKey, exchange, flags, headers, contentType, messageId, deliveryCount, streamOffset) {
    this.body = body;
    this.routingKey = routingKey;
    this.exchange = exchange;
    this.redelivered = (flags & 1) !== 0;
    this.possiblyDuplicate = (flags & 2) !== 0;
    this.persistent = (flags & 4) !== 0;
    this.headers = headers === undefined ? noHeaders : headers;
    this.contentType = contentType;
    this.messageId = messageId;
    this.deliveryCount = deliveryCount;
    this.streamOffset = streamOffset;
    Object.defineProperty(this, "_settle", { value: settle });
    Object.defineProperty(this, "_token", { value: token });
  }
  get text() { return utf8.decode(this.body); }
  ack() { if (this._token === 0) return; const e = this._settle(this._token, 0); if (e) throw e; }
  nack(options) {
    if (this._token === 0) return;
    const requeue = !options || options.requeue !== false;
    const e = this._settle(this._token, requeue ? 1 : 2);
    if (e) throw e;
  }
}
export function makeMessage(settle, token, body, routingKey, exchange, flags, headers, contentType, messageId, deliveryCount, streamOffset) {
  return new Message(settle, token, body, routingKey, exchange, flags, headers, contentType, messageId, deliveryCount, streamOffset);
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = makeMessage)]
    #[allow(clippy::too_many_arguments)]
    fn make_message(
        settle: &JsValue,
        token: f64,
        body: Uint8Array,
        routing_key: &str,
        exchange: &str,
        flags: u32,
        headers: JsValue,
        content_type: Option<String>,
        message_id: Option<String>,
        delivery_count: Option<f64>,
        stream_offset: Option<f64>,
    ) -> JsValue;
}

/// The JavaScript `Message` for `delivery`: its body copied out once, its acker
/// left in `acks` under a token (0 for auto-ack: nothing to settle).
fn js_message(delivery: &Delivery, settle: &JsValue, acks: &RefCell<AckTable>) -> JsValue {
    let handle = delivery.ack_handle();
    let token = if handle.needs_ack() { acks.borrow_mut().insert(handle) } else { 0.0 };
    let flags = u32::from(delivery.redelivered)
        | u32::from(delivery.possibly_duplicate()) << 1
        | u32::from(delivery.properties.persistent) << 2;
    let headers = if delivery.properties.headers.is_empty() {
        JsValue::UNDEFINED
    } else {
        let object = Object::new();
        for (name, value) in &delivery.properties.headers {
            set(&object, name, value.as_str());
        }
        object.into()
    };
    make_message(
        settle,
        token,
        Uint8Array::from(delivery.body.as_slice()),
        &delivery.routing_key,
        &delivery.exchange,
        flags,
        headers,
        delivery.properties.content_type.clone(),
        delivery.properties.message_id.clone(),
        delivery.delivery_count.map(|n| n as f64),
        delivery.stream_offset.map(|n| n as f64),
    )
}

#[wasm_bindgen(js_class = Connection)]
impl JsConnection {
    /// pika's `queue_declare`. Resolves once RabbitMQ accepted it; rejects with the
    /// broker's refusal in its words (`error.name` is `"DeclareRefused"`), such as
    /// PRECONDITION_FAILED for a redeclare with other durability, or, before
    /// anything is sent, with `"DeclareInvalid"` for what RabbitMQ would refuse: a
    /// quorum queue or stream (`arguments: { "x-queue-type": "quorum" }`) that is
    /// not durable, exclusive, auto-delete, or has an argument its type refuses.
    #[wasm_bindgen(js_name = queueDeclare)]
    pub fn queue_declare(&self, queue: String, options: Option<JsQueueDeclareOptions>) -> Promise {
        let options: JsValue = options.map(Into::into).unwrap_or(JsValue::UNDEFINED);
        let arguments = get(&options, "arguments");
        let arguments = if arguments.is_object() {
            Object::entries(arguments.unchecked_ref())
                .iter()
                .filter_map(|pair| {
                    let pair = Array::from(&pair);
                    let name = pair.get(0).as_string()?;
                    let value = pair.get(1);
                    let value = value.as_string().or_else(|| value.as_f64().map(whole_number))?;
                    Some((name, value))
                })
                .collect()
        } else {
            Vec::new()
        };
        let declare = QueueOptions {
            durable: flag(&options, "durable").unwrap_or(false),
            exclusive: flag(&options, "exclusive").unwrap_or(false),
            auto_delete: flag(&options, "autoDelete").unwrap_or(false),
            arguments,
            queue_type: None,
        };
        let connection = self.connection.clone();
        future_to_promise(async move {
            connection
                .queue_declare(&queue, &declare)
                .await
                .map(|()| JsValue::UNDEFINED)
                .map_err(|e| {
                    let name = if matches!(e, DeclareError::Invalid(_)) { "DeclareInvalid" } else { "DeclareRefused" };
                    error(name, e)
                })
        })
    }

    /// pika's `basic_publish` with a publisher confirm: resolves when RabbitMQ has
    /// the message. While the outbox is full it waits (backpressure). Across
    /// reconnects the message is kept and sent again, marked as a possible
    /// duplicate. Rejects with `error.name` `"PublishInvalid"` (refused before
    /// sending: name over 255 bytes, reserved header, too large), `"PublishRefused"`
    /// (the broker refused it, e.g. a missing exchange) or `"Stopped"`.
    pub fn publish(&self, routing_key: String, body: Body, options: Option<JsPublishOptions>) -> Promise {
        let body: JsValue = body.into();
        let bytes = match body.as_string() {
            Some(text) => text.into_bytes(),
            None => body.dyn_into::<Uint8Array>().map(|b| b.to_vec()).unwrap_or_default(),
        };
        let options: JsValue = options.map(Into::into).unwrap_or(JsValue::UNDEFINED);
        let exchange = text(&options, "exchange").unwrap_or_default();
        let properties = properties(&options);
        if self.connection.has_room(bytes.len()) {
            // Room now: the confirm resolves the Promise directly, with no task per
            // message (a third of Burrow's own time per publish went to the task).
            let connection = &self.connection;
            let mut message = Some((exchange, routing_key, bytes));
            return Promise::new(&mut |resolve, reject| {
                let Some((exchange, routing_key, bytes)) = message.take() else { return };
                let settle_reject = reject.clone();
                let then = Box::new(move |outcome: Result<(), crate::reliable::PublishError>| {
                    let _ = match outcome {
                        Ok(()) => resolve.call0(&JsValue::UNDEFINED),
                        Err(e) => settle_reject.call1(&JsValue::UNDEFINED, &publish_error(e)),
                    };
                });
                if let Err(e) = connection.try_basic_publish_then(&exchange, &routing_key, bytes, &properties, then) {
                    let _ = reject.call1(&JsValue::UNDEFINED, &publish_error(e));
                }
            });
        }
        let connection = self.connection.clone();
        future_to_promise(async move {
            let confirm = connection
                .basic_publish(&exchange, &routing_key, bytes, &properties)
                .await
                .map_err(publish_error)?;
            // Only the confirm keeps going; the connection may be closed meanwhile.
            drop(connection);
            confirm.await.map(|()| JsValue::UNDEFINED).map_err(publish_error)
        })
    }

    /// pika's `basic_consume`: `onMessage` is called with each message; with
    /// `ack: "manual"` (the default) call `message.ack()` when done. The consumer
    /// is resubscribed after every reconnect until `subscription.cancel()`. On a
    /// stream, `offset` says where to start. Throws `"ConsumeInvalid"` for what
    /// RabbitMQ would refuse (a stream with auto-ack or prefetch 0, a bad offset).
    pub fn consume(
        &self,
        queue: String,
        on_message: MessageHandler,
        options: Option<JsConsumeOptions>,
    ) -> Result<JsSubscription, JsValue> {
        let on_message: Function = JsValue::from(on_message).dyn_into().map_err(|_| error("TypeError", "onMessage must be a function"))?;
        let options: JsValue = options.map(Into::into).unwrap_or(JsValue::UNDEFINED);
        let consume = ConsumeOptions {
            auto_ack: text(&options, "ack").as_deref() == Some("auto"),
            prefetch: number(&options, "prefetch").map_or(1, |n| n.min(f64::from(u16::MAX)) as u16),
            stream_offset: stream_offset(&get(&options, "offset")).map_err(|e| error("ConsumeInvalid", e))?,
        };
        let mut consumer = self.connection.basic_consume(&queue, consume).map_err(|e| error("ConsumeInvalid", e))?;
        let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
        let (settle, acks): (JsValue, _) = (self.settle.as_ref().clone(), self.acks.clone());
        let key = consumer.key().0 as f64;
        spawn_local(async move {
            let mut cancel = cancel_rx.fuse();
            loop {
                futures_util::select! {
                    _ = cancel => consumer.cancel(),
                    item = consumer.next() => match item {
                        Some(Ok(delivery)) => {
                            let message = js_message(&delivery, &settle, &acks);
                            // The body is in the message now; wasm keeps only the acker.
                            drop(delivery);
                            if let Err(thrown) = on_message.call1(&JsValue::NULL, &message) {
                                web_sys::console::error_2(&"Burrow: onMessage threw".into(), &thrown);
                            }
                        }
                        // The failure is also a status event; the stream ends next.
                        Some(Err(_)) => {}
                        None => break,
                    },
                }
            }
        });
        Ok(JsSubscription { cancel: RefCell::new(Some(cancel_tx)), key })
    }

    /// Whether it is connected now.
    #[wasm_bindgen(getter)]
    pub fn connected(&self) -> bool {
        self.connection.is_connected()
    }

    /// The latest status event (`null` before the first).
    #[wasm_bindgen(getter)]
    pub fn status(&self) -> JsValue {
        self.status.borrow().clone().map_or(JsValue::NULL, JsValue::from)
    }

    /// The outbox: `{ messages, bytes, inFlight }` waiting for their confirm.
    #[wasm_bindgen(getter)]
    pub fn outbox(&self) -> JsValue {
        let outbox = self.connection.outbox();
        let object = Object::new();
        set(&object, "messages", outbox.messages as f64);
        set(&object, "bytes", outbox.bytes as f64);
        set(&object, "inFlight", outbox.in_flight as f64);
        object.into()
    }

    /// Milliseconds until the next reconnect attempt, or `null` when none is scheduled.
    #[wasm_bindgen(getter, js_name = reconnectIn)]
    pub fn reconnect_in(&self) -> Option<f64> {
        self.connection.countdown().map(|d| d.as_millis() as f64)
    }

    /// Closes: DISCONNECT, no more reconnects. Unconfirmed publishes reject with
    /// `"Stopped"`; the last status event is `stopped`.
    pub fn close(&self) {
        self.connection.stop();
    }

    /// Whether `close()` was called or the broker refused CONNECT for good.
    #[wasm_bindgen(getter)]
    pub fn closed(&self) -> bool {
        self.connection.phase() == Phase::Stopped
    }
}

/// A consumer made by `connection.consume`.
#[wasm_bindgen(js_name = Subscription)]
pub struct JsSubscription {
    cancel: RefCell<Option<oneshot::Sender<()>>>,
    key: f64,
}

#[wasm_bindgen(js_class = Subscription)]
impl JsSubscription {
    /// pika's `basic_cancel`: no more messages after those already on their way.
    pub fn cancel(&self) {
        if let Some(cancel) = self.cancel.borrow_mut().take() {
            let _ = cancel.send(());
        }
    }

    /// The consumer's number, as in `consumer-ready` / `consumer-failed` status events.
    #[wasm_bindgen(getter)]
    pub fn consumer(&self) -> f64 {
        self.key
    }
}

/// A consume option `offset`: "first" | "last" | "next" | a number (an offset) |
/// `{ timestamp }` (seconds since the epoch, or a Date); `undefined` is none.
fn stream_offset(value: &JsValue) -> Result<Option<StreamOffset>, RabbitError> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    if let Some(text) = value.as_string() {
        return text.parse().map(Some);
    }
    let whole = |n: f64| (n.is_finite() && n >= 0.0 && n.fract() == 0.0).then_some(n as u64);
    if let Some(n) = value.as_f64() {
        return whole(n).map(|n| Some(StreamOffset::Offset(n))).ok_or(RabbitError::InvalidStreamOffset(n.to_string()));
    }
    let timestamp = get(value, "timestamp");
    let seconds = match timestamp.dyn_ref::<js_sys::Date>() {
        Some(date) => Some((date.get_time() / 1000.0).floor()),
        None => timestamp.as_f64(),
    };
    match seconds.and_then(whole) {
        Some(seconds) => Ok(Some(StreamOffset::Timestamp(seconds))),
        None => Err(RabbitError::InvalidStreamOffset(format!("{value:?}"))),
    }
}

fn properties(options: &JsValue) -> BasicProperties {
    let headers = get(options, "headers");
    let headers = if headers.is_object() {
        Object::entries(headers.unchecked_ref())
            .iter()
            .filter_map(|pair| {
                let pair = Array::from(&pair);
                Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
            })
            .collect()
    } else {
        Vec::new()
    };
    BasicProperties {
        persistent: flag(options, "persistent").unwrap_or(false),
        content_type: text(options, "contentType"),
        content_encoding: text(options, "contentEncoding"),
        priority: number(options, "priority").map(|p| p.min(255.0) as u8),
        correlation_id: text(options, "correlationId"),
        reply_to: text(options, "replyTo"),
        expiration: text(options, "expiration"),
        message_id: text(options, "messageId"),
        timestamp: None,
        kind: text(options, "type"),
        user_id: None,
        app_id: text(options, "appId"),
        headers,
    }
}

fn publish_error(e: crate::reliable::PublishError) -> JsValue {
    use crate::reliable::PublishError;
    let name = match &e {
        PublishError::Invalid(_) => "PublishInvalid",
        PublishError::Full(_) => "OutboxFull",
        PublishError::Refused(_) => "PublishRefused",
        PublishError::Stopped => "Stopped",
    };
    error(name, e)
}

fn ack_error(e: crate::reliable::AckError) -> JsValue {
    use crate::reliable::AckError;
    let name = match &e {
        AckError::Stale { .. } => "Stale",
        AckError::AlreadySettled => "AlreadySettled",
        AckError::Stopped => "Stopped",
        AckError::StreamNack => "StreamNack",
        AckError::Client(_) => "AckFailed",
    };
    error(name, e)
}

/// Burrow's STOMP frame decoder on its own: push the bytes of each WebSocket
/// message; whole frames are decoded (command, headers, body) as the connection
/// decodes them. For measuring, and for pages that bring their own socket.
#[wasm_bindgen(js_name = FrameDecoder)]
pub struct JsFrameDecoder {
    decoder: crate::stomp::Decoder,
}

impl Default for JsFrameDecoder {
    fn default() -> Self {
        JsFrameDecoder::new()
    }
}

#[wasm_bindgen(js_class = FrameDecoder)]
impl JsFrameDecoder {
    /// A decoder with the default limits (16 MiB bodies).
    #[wasm_bindgen(constructor)]
    pub fn new() -> JsFrameDecoder {
        JsFrameDecoder { decoder: crate::stomp::Decoder::new(crate::stomp::Limits::default()) }
    }

    /// Takes one chunk; returns how many whole frames it completed (heart-beats
    /// not counted). Throws `"MalformedFrame"` on bytes that are not STOMP.
    pub fn push(&mut self, chunk: &[u8]) -> Result<u32, JsValue> {
        self.decoder.push(chunk);
        let mut frames = 0;
        loop {
            match self.decoder.next_item() {
                Ok(Some(crate::stomp::Decoded::Frame(frame))) => {
                    frames += 1;
                    // Decoded in full, as the connection hands frames on; only counted here.
                    drop(frame);
                }
                Ok(Some(crate::stomp::Decoded::HeartBeat)) => {}
                Ok(None) => return Ok(frames),
                Err(e) => return Err(error("MalformedFrame", e)),
            }
        }
    }
}
