//! The browser side of a connection (wasm only): one WebSocket (`Socket`), the
//! worker tick (`Ticker`) and the clock ([`now`]). It decides nothing: the one
//! driver, `reliable::ReliableConnection`, feeds what they report to the core.
//! A socket unsets its handlers before it closes, so no browser event ever calls
//! into freed memory, and the worker tick ([`TICK_MS`]) keeps heart-beats on time
//! in a background tab.

use std::time::Duration;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use crate::client::SocketClose;
use crate::management::describe;

/// The WebSocket subprotocol that RabbitMQ's Web-STOMP speaks for STOMP 1.2.
pub const SUBPROTOCOL: &str = "v12.stomp";

/// Why a WebSocket could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The URL is not a Web-STOMP URL: it does not start with `ws://` or `wss://`.
    #[error("cannot open a WebSocket to {url}: a Web-STOMP URL must start with ws:// or wss://, such as ws://127.0.0.1:15674/ws")]
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
}

thread_local! {
    /// The page's `performance`, looked up once: every socket event reads the clock.
    static PERFORMANCE: Option<web_sys::Performance> = web_sys::window().and_then(|w| w.performance());
    /// The latest time `now` gave: it never gives less.
    static LAST: std::cell::Cell<Duration> = const { std::cell::Cell::new(Duration::ZERO) };
}

/// The current time for the sans-IO layers: the page's monotonic clock
/// (`performance.now()`). A page without one gets the wall clock, kept from going
/// back (see [`has_monotonic_clock`]), so deadlines never move backwards.
pub fn now() -> Duration {
    let millis = PERFORMANCE.with(|p| p.as_ref().map(|p| p.now())).unwrap_or_else(js_sys::Date::now);
    let read = Duration::from_micros((millis.max(0.0) * 1000.0) as u64);
    LAST.with(|last| {
        let now = last.get().max(read);
        last.set(now);
        now
    })
}

/// Whether the page has a monotonic clock (`performance`); without one, [`now`]
/// follows the wall clock, which may jump (it is never let go back).
pub fn has_monotonic_clock() -> bool {
    PERFORMANCE.with(Option::is_some)
}

/// Whether `url` (ws:// or wss://) points at the host that served this page.
fn same_origin_as_page(url: &str) -> bool {
    let page_host = web_sys::window().and_then(|w| w.location().host().ok()).unwrap_or_default();
    let url_host = crate::sans_io::text::split_once(url, "://").map(|(_, rest)| rest.split('/').next().unwrap_or_default());
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
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
        let _ = web_sys::Url::revoke_object_url(&self.url);
    }
}

impl Ticker {
    /// Calls `tick` every [`TICK_MS`] until dropped. A worker that the page cannot
    /// start is an `Err` in the browser's words, or, when the browser only says so
    /// afterwards (a Content-Security-Policy without `blob:` in `worker-src`),
    /// `failed` with why.
    pub(crate) fn start(
        mut tick: impl FnMut() + 'static,
        failed: impl FnOnce(String) + 'static,
    ) -> Result<Ticker, String> {
        let source = format!("setInterval(function () {{ postMessage(0); }}, {TICK_MS});");
        let parts = js_sys::Array::of1(&JsValue::from_str(&source));
        let bag = web_sys::BlobPropertyBag::new();
        bag.set_type("text/javascript");
        let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &bag).map_err(|e| describe(&e))?;
        let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| describe(&e))?;
        let worker = web_sys::Worker::new(&url).map_err(|e| describe(&e))?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |_| tick());
        let mut failed = Some(failed);
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if let Some(failed) = failed.take() {
                failed("the browser refused to run it; a Content-Security-Policy without blob: in worker-src does".into());
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Ticker { worker, url, _on_message: on_message, _on_error: on_error })
    }
}
