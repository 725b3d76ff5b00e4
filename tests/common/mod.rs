//! What the browser tests share: where the broker is, who to log in as, and how
//! to wait for an event without sleeping.
#![allow(dead_code)]

use std::future::Future;

use burrow::client::{ConnectOptions, Event};
use burrow::rabbit::Delivery;
use burrow::transport::Connection;
use futures_util::future::{select, Either};
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

/// Connect options for the default vhost with the setup's user.
pub fn connect_options() -> ConnectOptions {
    ConnectOptions::new("/").with_credentials(LOGIN, PASSCODE)
}

/// A connection with the setup's user, or a failed test saying why not. Its
/// management API is the broker's own ([`MANAGEMENT_URL`]): RabbitMQ's default
/// ports say where only for the first broker.
pub async fn connect() -> Connection {
    let mut connection = within("CONNECTED", Connection::open(BROKER_URL, connect_options()))
        .await
        .unwrap_or_else(|e| panic!("CONNECT to {BROKER_URL} failed: {e}"));
    connection.set_management(Some(management()));
    connection
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

/// The next delivery on `connection`, skipping receipts; fails on a close.
pub async fn next_delivery(connection: &mut Connection) -> Delivery {
    within("a delivery", async {
        loop {
            match connection.next_event().await {
                Some(Event::Message(message)) => return Delivery::from_message(&message),
                Some(Event::Closed(reason)) => panic!("closed while waiting for a delivery: {reason}"),
                Some(_) => continue,
                None => panic!("the event stream ended while waiting for a delivery"),
            }
        }
    })
    .await
}

/// A queue name no earlier run used, so tests never see each other's messages.
pub fn fresh_name(prefix: &str) -> String {
    let stamp = js_sys::Date::now() as u64;
    let random = (js_sys::Math::random() * 1e9) as u64;
    format!("{prefix}-{stamp}-{random}")
}

/// Why `connection` closed, skipping other events; fails the test after the timeout.
pub async fn next_close(connection: &mut Connection, what: &str) -> burrow::client::CloseReason {
    within(what, async {
        loop {
            match connection.next_event().await {
                Some(Event::Closed(reason)) => return reason,
                Some(_) => continue,
                None => panic!("the event stream ended without a close"),
            }
        }
    })
    .await
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
    let connection = connect().await;
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
