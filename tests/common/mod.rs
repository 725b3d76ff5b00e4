//! What the browser tests share: where the broker is, who to log in as, and how
//! to wait for an event without sleeping.
#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;

use burrow::client::{CloseReason, ConnectOptions, ConnectionInfo, SubscriptionId};
use burrow::rabbit::{BasicProperties, Delivery, HeartBeats, QueueOptions, Refusal};
use burrow::reliable::{
    AckError, AckHandle, ConnectionEvent, ConsumeError, ConsumeOptions, Consumer, DeclareError, PublishError,
    ReliableConnection, ReliableOptions, StopReason,
};
use futures_util::future::{select, Either};
use futures_util::StreamExt;
use gloo_timers::future::TimeoutFuture;

/// The broker's Web-STOMP: the host's RabbitMQ 3.10.8 as `./burrow setup`
/// configures it, or another broker chosen at build time with `BURROW_WS_URL`
/// (`./burrow test` builds the suites again with RabbitMQ 4.0.5's,
/// `ws://127.0.0.1:15675/ws`).
pub const BROKER_URL: &str = match option_env!("BURROW_WS_URL") {
    Some(url) => url,
    None => "ws://127.0.0.1:15674/ws",
};

/// The same broker's management API (`BURROW_MANAGEMENT_URL` at build time,
/// without the `/api`).
pub const MANAGEMENT_URL: &str = match option_env!("BURROW_MANAGEMENT_URL") {
    Some(url) => url,
    None => "http://127.0.0.1:15672",
};

/// The user `./burrow setup` creates; the same environment variables override both.
pub const LOGIN: &str = match option_env!("BURROW_RABBIT_USER") {
    Some(user) => user,
    None => "burrow",
};
/// The password `./burrow setup` sets.
pub const PASSCODE: &str = match option_env!("BURROW_RABBIT_PASSWORD") {
    Some(password) => password,
    None => "burrow",
};

/// How long any single expected event may take before the test fails.
pub const EVENT_TIMEOUT_MS: u32 = 10_000;

/// Returns when RabbitMQ has handled every frame `c` sent before: a publish to
/// a queue nobody has, confirmed. The STOMP adapter handles one connection's
/// frames in order, and a SUBSCRIBE or UNSUBSCRIBE waits for its AMQP reply
/// there, so after the fence the consumer is in place, or gone.
pub async fn fence(c: &ReliableConnection) {
    let nowhere = fresh_name("nowhere");
    let confirm = c.basic_publish("", &nowhere, b"fence".to_vec(), &BasicProperties::default()).await.expect("taken");
    within("the fence's confirm", confirm).await.expect("confirmed");
}

/// Connect options for the default vhost with the setup's user.
pub fn connect_options() -> ConnectOptions {
    ConnectOptions::new("/").with_credentials(LOGIN, PASSCODE)
}

/// A plain one-off connection with the setup's user, or a failed test saying
/// why not. Its management API is the broker's own ([`MANAGEMENT_URL`]):
/// RabbitMQ's default ports say where only for the first broker.
pub async fn connect() -> Plain {
    within("CONNECTED", Plain::open(BROKER_URL, connect_options()))
        .await
        .unwrap_or_else(|e| panic!("CONNECT to {BROKER_URL} failed: {e}"))
}

/// Reliable-connection options whose management API is the broker's own
/// ([`MANAGEMENT_URL`]), for explaining refusals Web-STOMP closes without a word.
pub fn reliable_options() -> burrow::reliable::ReliableOptions {
    burrow::reliable::ReliableOptions {
        management_url: Some(format!("{MANAGEMENT_URL}/api")),
        ..Default::default()
    }
}

/// `future`'s output, or a failed test naming what did not come in time.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    let future = Box::pin(future);
    match select(future, TimeoutFuture::new(EVENT_TIMEOUT_MS)).await {
        Either::Left((value, _)) => value,
        Either::Right(_) => panic!("{what} did not happen within {EVENT_TIMEOUT_MS} ms"),
    }
}

/// The options of a plain one-off connection: the one driver with reconnects off,
/// reading the broker's own management API.
pub fn one_off() -> ReliableOptions {
    ReliableOptions { reconnect: false, ..reliable_options() }
}

/// A plain one-off connection for the tests: `ReliableConnection` with reconnects
/// off, and the calls the tests make, under pika's names (one consumer at a time,
/// acks by delivery tag).
pub struct Plain {
    /// The connection itself.
    pub connection: ReliableConnection,
    consumer: Option<Consumer>,
    acks: HashMap<String, AckHandle>,
}

impl Plain {
    /// Connects to `url`; `Err` with why it stopped instead.
    pub async fn open(url: &str, options: ConnectOptions) -> Result<Plain, StopReason> {
        Plain::open_with(url, options, one_off()).await
    }

    /// As [`Plain::open`], with `reliable` options.
    pub async fn open_with(url: &str, options: ConnectOptions, reliable: ReliableOptions) -> Result<Plain, StopReason> {
        let mut connection = match ReliableConnection::start(url, options, reliable) {
            Ok(connection) => connection,
            Err(error) => panic!("start: {error}"),
        };
        loop {
            match connection.next_event().await {
                Some(ConnectionEvent::Connected { .. }) => break,
                Some(ConnectionEvent::Stopped(reason)) => return Err(reason),
                Some(_) => {}
                None => return Err(StopReason::Requested),
            }
        }
        Ok(Plain { connection, consumer: None, acks: HashMap::new() })
    }

    /// pika's `queue_declare`.
    pub async fn queue_declare(&self, queue: &str, options: &QueueOptions) -> Result<(), DeclareError> {
        self.connection.queue_declare(queue, options).await
    }

    /// pika's `basic_publish`; with `confirm`, resolves on RabbitMQ's confirm.
    pub async fn basic_publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        properties: &BasicProperties,
        confirm: bool,
    ) -> Result<(), PublishError> {
        let confirmed = self.connection.basic_publish(exchange, routing_key, body, properties).await?;
        if confirm {
            confirmed.await?;
        }
        Ok(())
    }

    /// pika's `basic_consume`: resolves with the consumer tag once the broker
    /// accepted the subscription, or with its refusal. `prefetch` `None` is unlimited.
    pub async fn basic_consume(
        &mut self,
        queue: &str,
        auto_ack: bool,
        prefetch: Option<u16>,
    ) -> Result<SubscriptionId, ConsumeError> {
        let options = ConsumeOptions { auto_ack, prefetch: prefetch.unwrap_or(0), stream_offset: None, ..ConsumeOptions::default() };
        let mut consumer = self.connection.basic_consume(queue, options)?;
        let key = consumer.key();
        loop {
            match self.connection.next_event().await {
                Some(ConnectionEvent::ConsumerReady(ready)) if ready == key => break,
                Some(ConnectionEvent::ConsumerFailed { consumer: failed, .. }) if failed == key => {
                    // The stream says why, as a reader would see it.
                    return match consumer.next().await {
                        Some(Err(error)) => Err(error),
                        other => panic!("a failed consumer's stream gave {:?}", other.map(|r| r.map(|d| d.body_text()))),
                    };
                }
                Some(ConnectionEvent::Stopped(_)) | None => return Err(ConsumeError::Stopped),
                Some(_) => {}
            }
        }
        let tag = consumer.consumer_tag().unwrap_or_else(|| panic!("a ready consumer has a tag"));
        self.consumer = Some(consumer);
        Ok(tag)
    }

    /// The next delivery to the consumer; fails the test on its end.
    pub async fn next_delivery(&mut self) -> Delivery {
        let consumer = self.consumer.as_mut().unwrap_or_else(|| panic!("basic_consume first"));
        let delivery = match within("a delivery", consumer.next()).await {
            Some(Ok(delivery)) => delivery,
            Some(Err(error)) => panic!("the consumer failed while waiting for a delivery: {error}"),
            None => panic!("the consumer ended while waiting for a delivery"),
        };
        if let Some(tag) = &delivery.delivery_tag {
            self.acks.insert(tag.clone(), delivery.ack_handle());
        }
        delivery.message().clone()
    }

    /// pika's `basic_ack`, by delivery tag.
    pub fn basic_ack(&self, delivery_tag: &str) -> Result<(), AckError> {
        self.handle(delivery_tag).ack()
    }

    /// pika's `basic_nack`, by delivery tag.
    pub fn basic_nack(&self, delivery_tag: &str, requeue: bool) -> Result<(), AckError> {
        self.handle(delivery_tag).nack(requeue)
    }

    fn handle(&self, delivery_tag: &str) -> &AckHandle {
        self.acks.get(delivery_tag).unwrap_or_else(|| panic!("no delivery with tag {delivery_tag}"))
    }

    /// pika's `connection.close()`: DISCONNECT; `Err` with how it ended otherwise.
    pub async fn close(&mut self) -> Result<(), StopReason> {
        self.connection.stop();
        match self.stopped("the close").await {
            StopReason::Requested => Ok(()),
            other => Err(other),
        }
    }

    /// A crash: the socket goes without DISCONNECT or acks.
    pub fn abort(&self) {
        self.connection.crash();
    }

    /// Why it stopped, skipping other events; fails the test after the timeout.
    pub async fn stopped(&mut self, what: &str) -> StopReason {
        let connection = &mut self.connection;
        within(what, async {
            loop {
                match connection.next_event().await {
                    Some(ConnectionEvent::Stopped(reason)) => return reason,
                    Some(_) => {}
                    None => panic!("the events ended without Stopped"),
                }
            }
        })
        .await
    }

    /// Why the connection closed by itself (reconnects are off).
    pub async fn closed(&mut self, what: &str) -> CloseReason {
        match self.stopped(what).await {
            StopReason::Closed(reason) | StopReason::Refused(reason) => reason,
            StopReason::Requested => CloseReason::Disconnected,
        }
    }

    /// Whether it is connected now.
    pub fn is_connected(&self) -> bool {
        self.connection.is_connected()
    }

    /// What CONNECTED said.
    pub fn info(&self) -> Option<ConnectionInfo> {
        self.connection.info()
    }

    /// Heart-beats so far.
    pub fn heartbeats(&self) -> HeartBeats {
        self.connection.heartbeats()
    }
}

/// The broker's refusal behind an error, if it was one.
pub trait Refused {
    /// The refusal, classified.
    fn refusal(&self) -> Option<Refusal>;
}

impl Refused for DeclareError {
    fn refusal(&self) -> Option<Refusal> {
        match self {
            DeclareError::Refused(refusal) => Some(refusal.clone()),
            DeclareError::Closed(reason) => reason.server_error().map(Refusal::from_server_error),
            _ => None,
        }
    }
}

impl Refused for ConsumeError {
    fn refusal(&self) -> Option<Refusal> {
        match self {
            ConsumeError::Refused(refusal) => Some(refusal.clone()),
            _ => None,
        }
    }
}

impl Refused for StopReason {
    fn refusal(&self) -> Option<Refusal> {
        match self {
            StopReason::Refused(reason) | StopReason::Closed(reason) => {
                reason.server_error().map(Refusal::from_server_error)
            }
            StopReason::Requested => None,
        }
    }
}

/// The next delivery on `connection`; fails on its end.
pub async fn next_delivery(connection: &mut Plain) -> Delivery {
    connection.next_delivery().await
}

/// Why `connection` closed by itself; fails the test after the timeout.
pub async fn next_close(connection: &mut Plain, what: &str) -> CloseReason {
    connection.closed(what).await
}

/// A queue name no earlier run used, so tests never see each other's messages.
pub fn fresh_name(prefix: &str) -> String {
    let stamp = js_sys::Date::now() as u64;
    let random = (js_sys::Math::random() * 1e9) as u64;
    format!("{prefix}-{stamp}-{random}")
}

/// Where `tests/support/broker_restarter.py` listens for this run's broker
/// (`BURROW_HELPER_URL` at build time; `./burrow test` runs one with `--broker4`
/// on 8094 for RabbitMQ 4.0.5).
pub const HELPER_URL: &str = match option_env!("BURROW_HELPER_URL") {
    Some(url) => url,
    None => "http://127.0.0.1:8093",
};

/// POSTs to `tests/support/broker_restarter.py` (`/restart`, `/pause`, `/resume`);
/// resolves when it has done it.
pub async fn ask_broker_helper(path: &str) -> Result<(), String> {
    ask_broker_helper_text(path).await.map(|_| ())
}

/// As [`ask_broker_helper`], returning the helper's answer.
pub async fn ask_broker_helper_text(path: &str) -> Result<String, String> {
    use wasm_bindgen::JsCast;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let url = format!("{HELPER_URL}{path}");
    let request = web_sys::Request::new_with_str_and_init(&url, &init).map_err(|e| format!("{e:?}"))?;
    let window = web_sys::window().ok_or("no window")?;
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|e| format!("{e:?}"))?;
    let response: web_sys::Response = response.dyn_into().map_err(|e| format!("{e:?}"))?;
    if response.ok() {
        let text = response.text().map_err(|e| format!("{e:?}"))?;
        let text = wasm_bindgen_futures::JsFuture::from(text).await.map_err(|e| format!("{e:?}"))?;
        Ok(text.as_string().unwrap_or_default())
    } else {
        Err(format!("the broker helper answered {path} with HTTP {}", response.status()))
    }
}

/// Where the broker's log ends now, to look for crashes after it.
pub async fn broker_log_mark() -> u64 {
    let text = ask_broker_helper_text("/log-mark").await.unwrap_or_else(|e| panic!("log mark: {e}"));
    text.trim().parse().unwrap_or_else(|_| panic!("log mark {text:?}"))
}

/// Connection crashes the broker logged since `mark`: (`{unexpected_message,resume}`
/// lines, `reached_max_restart_intensity` lines).
pub async fn broker_crashes_since(mark: u64) -> (u64, u64) {
    let text = ask_broker_helper_text(&format!("/log-crashes?since={mark}")).await.unwrap_or_else(|e| panic!("{e}"));
    let mut numbers = text.split_whitespace().map(|n| n.parse().unwrap_or(u64::MAX));
    (numbers.next().unwrap_or(u64::MAX), numbers.next().unwrap_or(u64::MAX))
}

/// The management API as the setup's user.
pub fn management() -> burrow::management::ManagementApi {
    burrow::management::ManagementApi::new(format!("{MANAGEMENT_URL}/api"), LOGIN, PASSCODE)
}

/// The broker's version from a CONNECTED frame's `server` header
/// (`RabbitMQ/4.0.5` → `(4, 0, 5)`); `None` for a broker that did not say.
pub fn broker_version(info: &burrow::client::ConnectionInfo) -> Option<(u32, u32, u32)> {
    let version = info.server.as_deref()?.strip_prefix("RabbitMQ/")?;
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??, parts.next().flatten().unwrap_or(0)))
}

/// The version of the broker the suites run against, from CONNECTED's `server`
/// header (a fresh connection, closed again): tests assert per version.
pub async fn server_version() -> (u32, u32, u32) {
    let mut connection = connect().await;
    let info = connection.info().unwrap_or_else(|| panic!("connected without CONNECTED's headers"));
    let version = broker_version(&info).unwrap_or_else(|| panic!("CONNECTED's server header {:?}", info.server));
    let _ = connection.close().await;
    version
}

/// Whether Web-STOMP delivers the ERROR frame of a refused SUBSCRIBE or queue
/// declare before it closes: RabbitMQ 4.0.5 does (measured), 3.10.8 closes
/// without it (fixed upstream in 3.10.14), so there the refusal's words come from
/// the management API. A SEND to a missing exchange gets no ERROR frame on either.
pub fn delivers_error_frames(version: (u32, u32, u32)) -> bool {
    version >= (3, 10, 14)
}

/// Binds `queue` to `exchange` with `routing_key`, through the management API.
pub async fn bind_queue(exchange: &str, queue: &str, routing_key: &str) -> Result<(), String> {
    let encode = |name: &str| String::from(js_sys::encode_uri_component(name));
    let path = format!("/bindings/%2F/e/{}/q/{}", encode(exchange), encode(queue));
    management_call("POST", &path, &serde_json::json!({ "routing_key": routing_key })).await
}

/// Declares `queue` (`durable` or not) through the management API, as a pika
/// program would have (outside any connection of the test).
pub async fn declare_elsewhere(queue: &str, durable: bool) -> Result<(), String> {
    let path = format!("/queues/%2F/{}", String::from(js_sys::encode_uri_component(queue)));
    management_call("PUT", &path, &serde_json::json!({ "durable": durable })).await
}

/// A write to the management API as the setup's user.
async fn management_call(method: &str, path: &str, body: &serde_json::Value) -> Result<(), String> {
    use wasm_bindgen::JsCast;
    let url = format!("{MANAGEMENT_URL}/api{path}");
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_body(&wasm_bindgen::JsValue::from_str(&body.to_string()));
    let headers = web_sys::Headers::new().map_err(|e| format!("{e:?}"))?;
    let window = web_sys::window().ok_or("no window")?;
    let token = window.btoa(&format!("{LOGIN}:{PASSCODE}")).map_err(|e| format!("{e:?}"))?;
    headers.set("authorization", &format!("Basic {token}")).map_err(|e| format!("{e:?}"))?;
    headers.set("content-type", "application/json").map_err(|e| format!("{e:?}"))?;
    init.set_headers(&headers);
    let request = web_sys::Request::new_with_str_and_init(&url, &init).map_err(|e| format!("{e:?}"))?;
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|e| format!("{e:?}"))?;
    let response: web_sys::Response = response.dyn_into().map_err(|e| format!("{e:?}"))?;
    if response.ok() {
        Ok(())
    } else {
        Err(format!("{method} {path}: HTTP {}", response.status()))
    }
}

/// Bytes of wasm memory now (it only grows).
pub fn wasm_memory_bytes() -> u32 {
    use wasm_bindgen::JsCast;
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .map(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().map(|b| b.byte_length()).unwrap_or(0))
        .unwrap_or(0)
}

/// Waits (bounded) for a status event of `connection` that `pick` accepts.
pub async fn until_event(
    connection: &mut burrow::reliable::ReliableConnection,
    what: &str,
    pick: impl Fn(&burrow::reliable::ConnectionEvent) -> bool,
) -> burrow::reliable::ConnectionEvent {
    within(what, async {
        loop {
            match connection.next_event().await {
                Some(event) if pick(&event) => return event,
                Some(_) => {}
                None => panic!("the events ended while waiting for {what}"),
            }
        }
    })
    .await
}

/// Polls `check` every 50 ms until it holds; fails after `limit_ms`.
pub async fn eventually(what: &str, limit_ms: u32, mut check: impl FnMut() -> bool) {
    let mut waited = 0;
    while !check() {
        assert!(waited < limit_ms, "{what} did not happen within {limit_ms} ms");
        TimeoutFuture::new(50).await;
        waited += 50;
    }
}
