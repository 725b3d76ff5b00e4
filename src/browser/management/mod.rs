//! RabbitMQ's management HTTP API from the browser (wasm only): queue figures for
//! the UI, the facts behind a refusal that Web-STOMP closed without explaining,
//! and pika's exchange and binding calls (`exchange_declare`, `queue_bind`, …),
//! which STOMP cannot make.

use std::future::Future;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

use crate::client::ConnectOptions;
use crate::sans_io::text::split_once;

mod exchanges;
mod json;
mod peek;
mod queue_state;
mod route;

pub(crate) use exchanges::ExchangeCall;
pub use exchanges::ExchangeError;
pub use peek::{PeekedMessage, PEEK_TRUNCATE_BYTES};
pub use queue_state::{QueueState, QueueStateError};
pub use route::RouteCheck;

/// Why the management API could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManagementError {
    /// No answer at all: the plugin is off, the proxy is missing, or CORS forbids it.
    #[error("the management API at {url} is unreachable: {reason}")]
    Unreachable {
        /// What was asked.
        url: String,
        /// The browser's words.
        reason: String,
    },
    /// 401: the management API refused the login: a wrong login or passcode, or
    /// (when the same login works over Web-STOMP) a user without a management
    /// tag (`management`, `monitoring` or `administrator`).
    #[error("the management API refused the login (HTTP 401): a wrong login or passcode, or a user without a management tag")]
    Unauthorized,
    /// Any other unexpected status.
    #[error("the management API answered HTTP {status}{}", reason(*status, body))]
    Status {
        /// The HTTP status.
        status: u16,
        /// The start of the answer.
        body: String,
    },
    /// An answer that is not the JSON expected.
    #[error("the management API sent something unexpected: {0}")]
    BadAnswer(#[source] QueueStateError),
}

/// The management API at `base` (such as `http://127.0.0.1:15672/api`), with credentials.
///
/// The page's origin must be allowed by the broker's CORS settings
/// (`management.cors.allow_origins`), or be the same origin through a proxy.
///
/// ```no_run
/// use burrow::management::{ManagementApi, ManagementError};
///
/// # async fn figures() -> Result<(), ManagementError> {
/// let api = ManagementApi::new("http://127.0.0.1:15672/api", "burrow", "burrow");
/// if let Some(queue) = api.queue("/", "task_queue").await? {
///     println!("{} ready, {} unacked, {:.1} msg/s in", queue.messages_ready, queue.messages_unacknowledged, queue.publish_rate);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ManagementApi {
    base: String,
    authorization: String,
}

impl std::fmt::Debug for ManagementApi {
    // Never print the credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagementApi").field("base", &self.base).finish_non_exhaustive()
    }
}

impl ManagementApi {
    /// The same API with other credentials (a provider's fresh token).
    pub fn with_credentials(&self, login: &str, passcode: &str) -> Self {
        ManagementApi::new(self.base.clone(), login, passcode)
    }

    /// The API at `base`, logging in with HTTP basic auth.
    pub fn new(base: impl Into<String>, login: &str, passcode: &str) -> Self {
        let token = crate::client::basic_auth_base64(format!("{login}:{passcode}").as_bytes());
        ManagementApi { base: base.into(), authorization: format!("Basic {token}") }
    }

    /// The API for a connection: at `configured` when given (such as
    /// `http://127.0.0.1:15672/api`, or `http://127.0.0.1:15672`: see
    /// [`api_base`]), else where RabbitMQ's defaults put it for `web_stomp_url`
    /// ([`default_base_url`]), with the connection's credentials. `None` when
    /// neither says where.
    pub fn for_connection(web_stomp_url: &str, configured: Option<&str>, options: &ConnectOptions) -> Option<Self> {
        let base = match configured.map(str::trim).filter(|c| !c.is_empty()) {
            Some(base) => api_base(base),
            None => default_base_url(web_stomp_url)?,
        };
        let login = options.login.as_deref().unwrap_or_default();
        Some(ManagementApi::new(base, login, options.passcode.as_deref().unwrap_or_default()))
    }

    /// One queue, or `None` when it does not exist.
    pub async fn queue(&self, vhost: &str, name: &str) -> Result<Option<QueueState>, ManagementError> {
        match self.get(&item_path(Collection::Queues, vhost, name)).await? {
            None => Ok(None),
            Some(json) => QueueState::from_management_json(&json).map(Some).map_err(ManagementError::BadAnswer),
        }
    }

    /// Whether `vhost` has a queue named exactly `name`, learnt with a 200: reading
    /// a missing queue is a 404, which browsers print in the console as an error,
    /// however it is handled. Asks for that name alone (`GET /api/queues/{vhost}?columns=name&page=1&name=^…$&use_regex=true`,
    /// which RabbitMQ 3.10.8 and 4.x honour), so the answer stays a few bytes however
    /// many queues the broker has; RabbitMQ matches it case-insensitively, so the
    /// answer is compared exactly here.
    pub async fn queue_exists(&self, vhost: &str, name: &str) -> Result<bool, ManagementError> {
        let filter = component(&exact_name_pattern(name));
        let path = format!("/queues/{}?columns=name&page=1&page_size=100&use_regex=true&name={filter}", component(vhost));
        let json = self.get(&path).await?.unwrap_or_else(|| "{}".to_owned());
        let page = json::Json::parse(&json).map_err(ManagementError::BadAnswer)?;
        let items = page.get("items").and_then(|items| items.as_array()).ok_or(ManagementError::BadAnswer(QueueStateError::NotAList))?;
        Ok(items.iter().any(|item| item.get("name").and_then(|n| n.as_str()).as_deref() == Some(name)))
    }

    /// Every queue of `vhost`.
    pub async fn queues(&self, vhost: &str) -> Result<Vec<QueueState>, ManagementError> {
        let path = format!("/queues/{}", component(vhost));
        let json = self.get(&path).await?.unwrap_or_else(|| "[]".to_owned());
        QueueState::list_from_management_json(&json).map_err(ManagementError::BadAnswer)
    }

    /// Deletes a queue and its messages; `false` when there was no such queue.
    pub async fn delete_queue(&self, vhost: &str, name: &str) -> Result<bool, ManagementError> {
        Ok(self.request("DELETE", &item_path(Collection::Queues, vhost, name)).await?.is_some())
    }

    /// Closes a client connection by its management name (a [`QueueState`]'s
    /// `consumer_connections` lists them), as an administrator's "Force close"
    /// does; `false` when there was no such connection.
    pub async fn close_connection(&self, name: &str) -> Result<bool, ManagementError> {
        let path = format!("/connections/{}", component(name));
        Ok(self.request("DELETE", &path).await?.is_some())
    }

    /// Removes every ready message from a queue (the management UI's "Purge");
    /// `false` when there was no such queue. A stream cannot be purged: RabbitMQ
    /// answers HTTP 400, which comes back as [`ManagementError::Status`].
    pub async fn purge_queue(&self, vhost: &str, name: &str) -> Result<bool, ManagementError> {
        let path = format!("{}/contents", item_path(Collection::Queues, vhost, name));
        Ok(self.request("DELETE", &path).await?.is_some())
    }

    /// The management UI's "Get messages" with "Nack message requeue true": up to
    /// `count` messages from the head of a classic or quorum queue, with their
    /// properties and bodies (the first [`PEEK_TRUNCATE_BYTES`] of each), put back
    /// in the queue afterwards. RabbitMQ then marks them redelivered, so a
    /// consumer sees them marked. `None` when there is no such queue; a stream
    /// refuses it (HTTP 400: read a stream with a consumer from an offset).
    pub async fn get_messages(&self, vhost: &str, name: &str, count: u32) -> Result<Option<Vec<PeekedMessage>>, ManagementError> {
        let path = format!("{}/get", item_path(Collection::Queues, vhost, name));
        let body = json::object_text(&[
            ("count", count.into()),
            ("ackmode", "reject_requeue_true".into()),
            ("encoding", "auto".into()),
            ("truncate", PEEK_TRUNCATE_BYTES.into()),
        ]);
        match self.send("POST", &path, Some(&body)).await? {
            None => Ok(None),
            Some(json) => PeekedMessage::list_from_management_json(&json).map(Some).map_err(ManagementError::BadAnswer),
        }
    }

    // `get` and `request` hand on `send`'s future rather than await it: an
    // async wrapper would be one more state machine in every future using it.

    /// GETs `path`; `None` on 404.
    pub(crate) fn get<'a>(&'a self, path: &'a str) -> impl Future<Output = Result<Option<String>, ManagementError>> + 'a {
        self.send("GET", path, None)
    }

    /// Sends `method` to `path`; the answer's text, `None` on 404.
    fn request<'a>(
        &'a self,
        method: &'a str,
        path: &'a str,
    ) -> impl Future<Output = Result<Option<String>, ManagementError>> + 'a {
        self.send(method, path, None)
    }

    /// Sends `method` to `path` with a JSON `body`; the answer's text, `None` on 404.
    async fn send(&self, method: &str, path: &str, body: Option<&str>) -> Result<Option<String>, ManagementError> {
        let (status, text) = self.send_raw(method, path, body).await?;
        match status {
            200..=299 => Ok(Some(text)),
            404 => Ok(None),
            401 => Err(ManagementError::Unauthorized),
            status => Err(ManagementError::Status { status, body: text.chars().take(200).collect() }),
        }
    }

    /// Sends `method` to `path` with a JSON `body`: the answer's status and text,
    /// whatever the status; an error only when nothing answered.
    async fn send_raw(&self, method: &str, path: &str, body: Option<&str>) -> Result<(u16, String), ManagementError> {
        let url = format!("{}{path}", self.base);
        // A request nothing answers is cancelled at the limit: its Promise settles
        // (QA: an exchangeDeclare never did), and it does not hold one of the six
        // connections a browser allows per host for minutes.
        let abort = web_sys::AbortController::new().ok();
        let _limit = RequestLimit {
            _timer: abort.clone().map(|abort| gloo_timers::callback::Timeout::new(REQUEST_LIMIT_MS, move || abort.abort())),
            abort: abort.clone(),
        };
        // Every failure before an answer is one JavaScript value, said once.
        let response = match self.fetch(&url, method, body, abort.as_ref()) {
            Ok(promise) => JsFuture::from(promise).await.and_then(|response| response.dyn_into::<Response>()),
            Err(e) => Err(e),
        };
        let response = match response {
            Ok(response) => response,
            Err(_) if abort.as_ref().is_some_and(|abort| abort.signal().aborted()) => {
                let reason = format!("no answer within {} s (is it overloaded, or a proxy holding the request?)", REQUEST_LIMIT_MS / 1000);
                return Err(ManagementError::Unreachable { reason, url });
            }
            Err(e) => return Err(ManagementError::Unreachable { reason: describe(&e), url }),
        };
        let text = match response.text() {
            Ok(promise) => JsFuture::from(promise).await.ok().and_then(|t| t.as_string()).unwrap_or_default(),
            Err(_) => String::new(),
        };
        Ok((response.status(), text))
    }

    /// Starts `method` to `url` with a JSON `body`: the browser's `fetch` promise.
    fn fetch(
        &self,
        url: &str,
        method: &str,
        body: Option<&str>,
        abort: Option<&web_sys::AbortController>,
    ) -> Result<js_sys::Promise, wasm_bindgen::JsValue> {
        let init = RequestInit::new();
        init.set_method(method);
        if let Some(abort) = abort {
            init.set_signal(Some(&abort.signal()));
        }
        if let Some(body) = body {
            init.set_body(&wasm_bindgen::JsValue::from_str(body));
        }
        let request = Request::new_with_str_and_init(url, &init)?;
        let headers = request.headers();
        headers.set("Authorization", &self.authorization)?;
        if body.is_some() {
            headers.set("Content-Type", "application/json")?;
        }
        let window = web_sys::window().ok_or_else(|| wasm_bindgen::JsValue::from_str("no window"))?;
        Ok(window.fetch_with_request(&request))
    }
}

/// A request's limit: it cancels the request at [`REQUEST_LIMIT_MS`], or when
/// dropped unanswered (its caller stopped waiting, as a stopped connection's
/// call does), so that it does not hold one of the browser's connections.
struct RequestLimit {
    abort: Option<web_sys::AbortController>,
    /// Kept for its life: dropping it clears the timer.
    _timer: Option<gloo_timers::callback::Timeout>,
}

impl Drop for RequestLimit {
    fn drop(&mut self) {
        // After the answer was read, aborting changes nothing.
        if let Some(abort) = &self.abort {
            abort.abort();
        }
    }
}

/// How long a request to the management API may go unanswered, in ms.
pub const REQUEST_LIMIT_MS: u32 = 15_000;

/// Where RabbitMQ's defaults put the management API for a Web-STOMP URL:
/// Web-STOMP on its own port 15674 means the management API on port 15672 of the
/// same host; any other address is taken to be a reverse proxy (such as `trunk
/// serve`'s) that forwards `/api` on the same origin. Other layouts (a cluster's
/// nodes on other ports) need the address given
/// ([`crate::reliable::ReliableOptions::management_url`]).
///
/// ```
/// # #[cfg(target_arch = "wasm32")] {
/// use burrow::management::default_base_url;
///
/// assert_eq!(default_base_url("ws://127.0.0.1:15674/ws").as_deref(), Some("http://127.0.0.1:15672/api"));
/// assert_eq!(default_base_url("wss://rabbit.example/ws").as_deref(), Some("https://rabbit.example/api"));
/// assert_eq!(default_base_url("http://x/ws"), None);
/// # }
/// ```
pub fn default_base_url(web_stomp_url: &str) -> Option<String> {
    let (scheme, rest) = split_once(web_stomp_url, "://")?;
    let http = match scheme {
        "ws" => "http",
        "wss" => "https",
        _ => return None,
    };
    let authority = rest.split('/').next().filter(|a| !a.is_empty())?;
    let authority = match authority.rsplit_once(':') {
        Some((host, "15674")) => format!("{host}:15672"),
        _ => authority.to_owned(),
    };
    Some(format!("{http}://{authority}/api"))
}

/// The API's base from an address a person gives: the management UI's own
/// address (`http://127.0.0.1:15673`, what RabbitMQ's docs and the browser's
/// address bar show) gets the `/api` it serves the API under; an address with a
/// path (`…/api`, a proxy's `…/rabbitmq/api`), or a path alone on the page's
/// origin (`/rabbitmq/api`), is taken as it is.
///
/// ```
/// # #[cfg(target_arch = "wasm32")] {
/// use burrow::management::api_base;
///
/// assert_eq!(api_base("http://127.0.0.1:15673"), "http://127.0.0.1:15673/api");
/// assert_eq!(api_base("http://127.0.0.1:15673/"), "http://127.0.0.1:15673/api");
/// assert_eq!(api_base("https://rabbit.example/rabbitmq/api/"), "https://rabbit.example/rabbitmq/api");
/// assert_eq!(api_base("/rabbitmq/api"), "/rabbitmq/api");
/// # }
/// ```
pub fn api_base(address: &str) -> String {
    let trimmed = address.trim().trim_end_matches('/');
    match split_once(trimmed, "://") {
        Some((_, authority)) if !authority.contains('/') => format!("{trimmed}/api"),
        _ => trimmed.to_owned(),
    }
}

/// What an answer that is a web page says: RabbitMQ's API answers in JSON, so
/// something else answered at that address.
const NOT_THE_API: &str = "a web page, not RabbitMQ's answer: is the address its management API?";

/// Whether an answer's body is a web page (markup), not the API's JSON.
fn is_web_page(body: &str) -> bool {
    body.trim_start().starts_with('<')
}

/// `body` after a colon, or that there was none (RabbitMQ 3.10's 500s have none,
/// and neither has a proxy's, trunk's among them, that cannot reach RabbitMQ: in
/// an outage the queue panels said only "HTTP 500 with no reason given", QA). A
/// web page is no reason either: RabbitMQ's API answers in JSON, so a page came
/// from something else at that address (QA: a whole HTML page in the error).
fn reason(status: u16, body: &str) -> String {
    let page = is_web_page(body);
    match (body.trim().is_empty() || page, status) {
        (false, _) => format!(": {body}"),
        (true, 500 | 502..=504) => {
            " with no reason given: RabbitMQ may be down or restarting (a proxy in between answers so when it cannot reach it)"
                .to_owned()
        }
        (true, _) if page => format!(" with {NOT_THE_API}"),
        (true, _) => " with no reason given".to_owned(),
    }
}

/// A regular expression (Erlang's `re`, PCRE) that matches `name` and nothing
/// longer: every ASCII character that is not a letter or a digit escaped (PCRE
/// reads a backslash before one as that character itself), the rest as it is.
fn exact_name_pattern(name: &str) -> String {
    let mut pattern = String::with_capacity(name.len() + 8);
    pattern.push('^');
    for c in name.chars() {
        if c.is_ascii() && !c.is_ascii_alphanumeric() {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('$');
    pattern
}

/// The management API's collections whose items are read by vhost and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Collection {
    /// `/queues`.
    Queues,
    /// `/exchanges`.
    Exchanges,
}

/// `/{queues|exchanges}/{vhost}/{name}`: where one queue or exchange is.
pub(crate) fn item_path(collection: Collection, vhost: &str, name: &str) -> String {
    let collection = match collection {
        Collection::Queues => "queues",
        Collection::Exchanges => "exchanges",
    };
    format!("/{collection}/{}/{}", component(vhost), component(name))
}

pub(crate) fn component(text: &str) -> String {
    String::from(js_sys::encode_uri_component(text))
}

/// A JavaScript error or value in words: the browser's message where it has one,
/// else the value as JSON, else its type. (Not Rust's Debug of a `JsValue`, whose
/// glue, `debugString`, the package would carry only for this.)
pub(crate) fn describe(value: &wasm_bindgen::JsValue) -> String {
    value
        .as_string()
        .or_else(|| value.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())))
        .or_else(|| js_sys::JSON::stringify(value).ok().and_then(|json| json.as_string()))
        .unwrap_or_else(|| value.js_typeof().as_string().unwrap_or_default())
}
