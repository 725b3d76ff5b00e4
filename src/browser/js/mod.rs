//! The wasm half of the JavaScript/TypeScript package (wasm only, feature `js`).
//! `./burrow package` builds it into `burrow_bg.wasm` and its glue `burrow.js`,
//! which only the package's own modules call: `npm/index.js` (the public API,
//! typed by `npm/index.d.ts`) checks every argument and hands these functions
//! nothing but the types they declare. See `docs/npm-README.md`.
//!
//! Lifetimes never depend on the JavaScript garbage collector: nothing here is an
//! exported wasm-bindgen object that a `FinalizationRegistry` could free. Each
//! connection lives in a table under a number until its `stopped` event, with its
//! consumers, their callbacks and the ackers of delivered messages; `close()` and
//! `cancel()` end them, dropping a JavaScript handle does not.
//!
//! Everything goes through [`ReliableConnection`]: reconnects with backoff,
//! consumers resubscribed, unconfirmed publishes resent, at most a window of
//! publishes in flight.

mod consume;
mod declare;
mod decoder;
mod errors;
mod exchanges;
mod publish;
mod rpc;

use std::cell::{Cell, RefCell};
use crate::sans_io::client::whole_millis;
use crate::sans_io::map::Map;
use std::rc::Rc;
use std::time::Duration;

use futures_util::StreamExt;
use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use crate::browser::driver::spawn;

use crate::client::{Backoff, ConnectOptions, Credentials, HeartBeat, Jitter};
use crate::rabbit::OutboxLimits;
use crate::reliable::{
    ConnectionEvent, CredentialsProvider, Pacing, Phase, ReliableConnection, ReliableOptions, Window,
};

pub use consume::{raw_cancel, raw_consume, raw_settle};
pub use declare::raw_declare;
pub use decoder::JsFrameDecoder;
pub use publish::{raw_publish_bytes, raw_publish_text};
pub use rpc::{raw_call, raw_reply, raw_unmatched_replies};

/// One connection of the table: the connection, the JavaScript `Connection`
/// object that owns it (messages call back into it to ack), its consumers'
/// cancel switches and the ackers of messages handed to JavaScript.
struct Entry {
    connection: ReliableConnection,
    owner: JsValue,
    consumers: RefCell<Map<u32, futures_channel::oneshot::Sender<()>>>,
    acks: RefCell<consume::AckTable>,
}

thread_local! {
    static CONNECTIONS: RefCell<Map<u32, Rc<Entry>>> = const { RefCell::new(Map::new()) };
    static NEXT_ID: Cell<u32> = const { Cell::new(0) };
}

/// The live connection numbered `id`; `None` once it has stopped.
fn entry(id: u32) -> Option<Rc<Entry>> {
    CONNECTIONS.with(|table| table.borrow().get(&id).cloned())
}

/// Why connection `entry` stopped, if it is still there and has (see `errors::stopped_because`).
fn stop_reason(entry: &std::rc::Weak<Entry>) -> Option<crate::reliable::StopReason> {
    entry.upgrade().and_then(|entry| entry.connection.stop_reason())
}

fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// The pairs of a flat `[name, value, ...]` of strings that `index.js` checked
/// (headers, queue arguments); `undefined` has none.
fn pairs(flat: &JsValue) -> Vec<(String, String)> {
    if flat.is_undefined() {
        return Vec::new();
    }
    let flat: &Array = flat.unchecked_ref();
    let text = |at| flat.get(at).as_string().unwrap_or_default();
    (0..flat.length() / 2).map(|pair| (text(2 * pair), text(2 * pair + 1))).collect()
}

fn millis(value: f64) -> Duration {
    Duration::from_millis(value.clamp(0.0, f64::from(u32::MAX)) as u64)
}

/// The connection options `index.js` checked, by their place in its
/// `CONNECT_OPTIONS` (absent ones `undefined`): login, passcode, vhost, the
/// heart-beats, the reconnect delays, window, writesPerMs, the outbox limits,
/// managementUrl, (onStatus, kept in JavaScript), credentials, credentialsTimeout.
fn options(settings: &Array) -> (ConnectOptions, ReliableOptions) {
    let text = |at| settings.get(at).as_string();
    let number = |at| settings.get(at).as_f64();
    let mut connect = ConnectOptions::new(text(2).unwrap_or_else(|| "/".to_owned()));
    connect.login = text(0);
    connect.passcode = text(1);
    let outgoing = number(3).map_or(connect.heart_beat.outgoing, millis);
    let incoming = number(4).map_or(connect.heart_beat.incoming, millis);
    connect.heart_beat = HeartBeat::new(outgoing, incoming);
    let mut reliable = ReliableOptions::default();
    let initial = number(5).map_or(Duration::from_millis(500), millis);
    let cap = number(6).map_or(Duration::from_secs(30), millis);
    reliable.backoff = Backoff::new(initial, 2, cap.max(initial), Jitter::Equal);
    if let Some(window) = number(7) {
        reliable.window = Window { messages: (window as usize).max(1), ..Window::default() };
    }
    // Absent: the default pacing (4 writes a millisecond); below 1 (0 too) or Infinity: off, every write at once.
    if let Some(writes) = number(8) {
        reliable.pacing = if writes >= 1.0 {
            Pacing { burst: writes as u32, slot: Duration::from_millis(1) }
        } else {
            Pacing::off()
        };
    }
    let defaults = OutboxLimits::default();
    reliable.outbox = OutboxLimits {
        messages: number(9).map_or(defaults.messages, |n| n as usize),
        bytes: number(10).map_or(defaults.bytes, |n| n as usize),
    };
    reliable.management_url = text(11);
    if let Some(timeout) = number(14) {
        reliable.credentials_timeout = millis(timeout);
    }
    (connect, reliable)
}

/// The checked provider `index.js` made of `options.credentials`: each call
/// resolves to `[login, passcode, expiresInMs]`, or rejects (in its words).
fn js_provider(function: Function) -> CredentialsProvider {
    Rc::new(move || {
        let called = function.call0(&JsValue::NULL);
        Box::pin(async move {
            let promise = called.map_err(|thrown| words(&thrown))?;
            let answer = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&promise))
                .await
                .map_err(|thrown| words(&thrown))?;
            let answer: &Array = answer.unchecked_ref();
            let passcode = answer.get(1).as_string().ok_or("the provider gave no passcode")?;
            let mut credentials = Credentials::new(answer.get(0).as_string().unwrap_or_default(), passcode);
            credentials.expires_in = answer.get(2).as_f64().map(millis);
            Ok(credentials)
        })
    })
}

/// What a thrown value or a rejection says: an Error's message, or the value as text.
fn words(thrown: &JsValue) -> String {
    get(thrown, "message").as_string().unwrap_or_else(|| crate::management::describe(thrown))
}

/// Starts a connection (`connect()` in `index.js`): `urls` are Web-STOMP URLs,
/// `settings` the checked options by position (see `options`), `owner` the JavaScript `Connection` (kept, with
/// `on_status`, until `stopped`). Returns its number in the table.
#[wasm_bindgen(js_name = rawConnect)]
pub fn raw_connect(urls: Array, settings: Array, owner: JsValue, on_status: Function) -> Result<u32, JsValue> {
    let urls: Vec<String> = urls.iter().filter_map(|url| url.as_string()).collect();
    let (connect, reliable) = options(&settings);
    let provider = settings.get(13).dyn_into::<Function>().ok();
    let started = match provider {
        Some(provider) => ReliableConnection::start_with_provider(urls, connect, reliable, js_provider(provider)),
        None => ReliableConnection::start_with_urls(urls, connect, reliable),
    };
    let mut connection = started.map_err(errors::start_error)?;
    let mut events = connection.take_events();
    let id = NEXT_ID.with(|next| {
        next.set(next.get().wrapping_add(1));
        next.get()
    });
    let entry = Entry {
        connection,
        owner,
        consumers: RefCell::new(Map::new()),
        acks: RefCell::new(consume::AckTable::default()),
    };
    CONNECTIONS.with(|table| table.borrow_mut().insert(id, Rc::new(entry)));
    spawn(Box::pin(async move {
        // The stream ends right after `stopped`, its last event.
        while let Some(event) = events.next().await {
            let Some(status) = status_object(&event) else { continue };
            if let Err(thrown) = on_status.call1(&JsValue::NULL, &status) {
                web_sys::console::error_2(&"burrow-rabbitmq: the status dispatcher threw".into(), &thrown);
            }
        }
        // Stopped: out of the table. What still refers to it by number finds it
        // gone (a late ack is Stale, a publish Stopped).
        let gone = CONNECTIONS.with(|table| table.borrow_mut().remove(&id));
        drop(gone);
    }));
    Ok(id)
}

/// `connection.close()`: DISCONNECT, no more reconnects; `stopped` comes last.
#[wasm_bindgen(js_name = rawClose)]
pub fn raw_close(id: u32) {
    if let Some(entry) = entry(id) {
        entry.connection.stop();
    }
}

/// Whether connection `id` is connected now.
#[wasm_bindgen(js_name = rawConnected)]
pub fn raw_connected(id: u32) -> bool {
    entry(id).is_some_and(|entry| entry.connection.is_connected())
}

/// Whether connection `id` was stopped (or is gone).
#[wasm_bindgen(js_name = rawClosed)]
pub fn raw_closed(id: u32) -> bool {
    entry(id).is_none_or(|entry| entry.connection.phase() == Phase::Stopped)
}

/// Connection `id`'s outbox: `[messages, bytes, inFlight]`.
#[wasm_bindgen(js_name = rawOutbox)]
pub fn raw_outbox(id: u32) -> Array {
    let outbox = entry(id).map(|entry| entry.connection.outbox()).unwrap_or_default();
    let count = |n: usize| JsValue::from(n as f64);
    Array::of3(&count(outbox.messages), &count(outbox.bytes), &count(outbox.in_flight))
}

/// Milliseconds until connection `id`'s next reconnect attempt, or `null` when
/// none is scheduled. (A `JsValue`, not an `Option<f64>`: its glue is the smaller.)
#[wasm_bindgen(js_name = rawReconnectIn)]
pub fn raw_reconnect_in(id: u32) -> JsValue {
    let countdown = entry(id).and_then(|entry| entry.connection.countdown());
    countdown.map_or(JsValue::NULL, |d| JsValue::from(whole_millis(d) as f64))
}

fn set(object: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(object, &JsValue::from_str(key), &value.into());
}

/// A status event as the `StatusEvent` union of `index.d.ts` has it; `None` for
/// one the union has no type for.
fn status_object(event: &ConnectionEvent) -> Option<Object> {
    let object = Object::new();
    match event {
        ConnectionEvent::Connecting { url, .. } => {
            set(&object, "type", "connecting");
            set(&object, "url", url.as_str());
        }
        ConnectionEvent::Connected { url, info, .. } => {
            set(&object, "type", "connected");
            set(&object, "url", url.as_str());
            set(&object, "server", info.server.clone().map_or(JsValue::NULL, JsValue::from));
            set(&object, "heartbeatOutgoing", whole_millis(info.heart_beat.outgoing) as f64);
            set(&object, "heartbeatIncoming", whole_millis(info.heart_beat.incoming) as f64);
        }
        ConnectionEvent::Reconnecting { reason, attempt, delay, next_url, .. } => {
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
            set(&object, "delayMs", whole_millis(*delay) as f64);
            set(&object, "nextUrl", next_url.as_str());
        }
        ConnectionEvent::Renewing { expires_in, .. } => {
            set(&object, "type", "renewing");
            set(&object, "expiresInMs", whole_millis(*expires_in) as f64);
        }
        ConnectionEvent::Renewed { url, info, .. } => {
            set(&object, "type", "renewed");
            set(&object, "url", url.as_str());
            set(&object, "server", info.server.clone().map_or(JsValue::NULL, JsValue::from));
        }
        ConnectionEvent::ConsumerReady(key) => {
            set(&object, "type", "consumer-ready");
            set(&object, "consumer", key.0 as f64);
        }
        ConnectionEvent::SubscriptionGap { consumer, exchange, routing_key } => {
            set(&object, "type", "subscription-gap");
            set(&object, "consumer", consumer.0 as f64);
            set(&object, "exchange", exchange.as_str());
            set(&object, "routingKey", routing_key.as_str());
        }
        ConnectionEvent::ConsumerFailed { consumer, error, .. } => {
            set(&object, "type", "consumer-failed");
            set(&object, "consumer", consumer.0 as f64);
            set(&object, "reason", error.to_string());
        }
        ConnectionEvent::PublishesHeldBack { since, in_flight } => {
            set(&object, "type", "publishes-held-back");
            set(&object, "sinceMs", since.as_secs_f64() * 1000.0);
            set(&object, "inFlight", *in_flight as f64);
        }
        ConnectionEvent::PublishesFlowing { held_for } => {
            set(&object, "type", "publishes-flowing");
            set(&object, "heldForMs", held_for.as_secs_f64() * 1000.0);
        }
        ConnectionEvent::Warning(words) => {
            set(&object, "type", "warning");
            set(&object, "message", words.to_string());
        }
        ConnectionEvent::Stopped(reason) => {
            set(&object, "type", "stopped");
            set(&object, "reason", reason.to_string());
        }
        // Not in the JavaScript API (yet): its `outbox` getter reads the counts.
        ConnectionEvent::OutboxChanged { .. } => return None,
    }
    Some(object)
}
