//! Exchanges and bindings through the management API: STOMP cannot declare an
//! exchange or bind a queue, so pika's `exchange_declare`, `exchange_delete`,
//! `queue_bind` and `queue_unbind` go over HTTP, refused in words.

use super::json::{object_text, Json};
use super::{component, item_path, Collection, ManagementApi, ManagementError};
use crate::sans_io::core::ExchangeSpec;
use crate::sans_io::text::{contains, Quoted};

/// Why an exchange or binding call failed, in words (what RabbitMQ 3.10.8's
/// management API answers is in each variant's documentation).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// HTTP 401 or 403: a wrong login, a user without a management tag ("Not
    /// management user"), no configure/write/read permission on the vhost or
    /// name, or a name starting with `amq.` ("Access refused.").
    #[error("RabbitMQ's management API refused {what} (HTTP {status}: {reason}): a wrong login, a user without a management tag, no permission on it, or a reserved amq. name")]
    NoPermission {
        /// What was asked, in words.
        what: String,
        /// 401 or 403.
        status: u16,
        /// RabbitMQ's reason (such as `Access refused.`).
        reason: String,
    },
    /// No answer at all: the management plugin is off or unreachable, or CORS
    /// forbids this page's origin.
    #[error("{what} needs RabbitMQ's management API, which is not reachable: {source}")]
    Unreachable {
        /// What was asked, in words.
        what: String,
        /// The browser's words.
        #[source]
        source: ManagementError,
    },
    /// HTTP 400 "unknown exchange type": RabbitMQ has no such exchange type
    /// (direct, fanout, topic, headers, and those of enabled plugins).
    #[error("RabbitMQ refused the exchange type {} ({reason}); use direct, fanout, topic or headers", Quoted(.kind))]
    UnknownType {
        /// The type asked for.
        kind: String,
        /// RabbitMQ's reason.
        reason: String,
    },
    /// HTTP 400 "inequivalent arg": the exchange exists with other properties
    /// (AMQP's PRECONDITION_FAILED); delete it first or declare it as it is.
    #[error("PRECONDITION_FAILED - {reason} (the exchange exists with other properties: declare it as it is, or delete it first)")]
    Inequivalent {
        /// RabbitMQ's reason, such as "inequivalent arg 'type' for exchange 'x'
        /// in vhost '/': received 'fanout' but current is 'topic'".
        reason: String,
    },
    /// HTTP 404: the exchange or queue a binding names does not exist.
    #[error("NOT_FOUND - {reason}")]
    NotFound {
        /// RabbitMQ's reason, such as "no queue 'q' in vhost '/'".
        reason: String,
    },
    /// The connection making the call stopped before the management API
    /// answered (the request is cancelled; whether RabbitMQ had done it is not known).
    #[error("{what} was not answered: the connection stopped first")]
    Stopped {
        /// What was asked, in words.
        what: String,
    },
    /// Any other answer.
    #[error("RabbitMQ's management API refused {what}: HTTP {status}: {reason}")]
    Other {
        /// What was asked, in words.
        what: String,
        /// The HTTP status.
        status: u16,
        /// RabbitMQ's reason (or the start of its answer).
        reason: String,
    },
}

impl ManagementApi {
    /// pika's `exchange_declare(exchange, exchange_type, durable, auto_delete)`:
    /// `PUT /api/exchanges/<vhost>/<name>`. Declaring it again as it is does
    /// nothing; with other properties it is refused ([`ExchangeError::Inequivalent`]).
    ///
    /// # Errors
    ///
    /// [`ExchangeError`] in words: no permission, management unreachable, an
    /// unknown type, an inequivalent redeclare.
    pub async fn exchange_declare(
        &self,
        vhost: &str,
        exchange: &str,
        exchange_type: &str,
        durable: bool,
        auto_delete: bool,
    ) -> Result<(), ExchangeError> {
        let call = ExchangeCall::Declare { exchange, kind: exchange_type, durable, auto_delete };
        self.exchange_call(vhost, &call).await.map(drop)
    }

    /// pika's `exchange_delete(exchange)`: `DELETE /api/exchanges/<vhost>/<name>`
    /// (its bindings go with it); `false` when there was no such exchange.
    ///
    /// # Errors
    ///
    /// [`ExchangeError`] in words (no permission, management unreachable).
    pub async fn exchange_delete(&self, vhost: &str, exchange: &str) -> Result<bool, ExchangeError> {
        self.exchange_call(vhost, &ExchangeCall::Delete { exchange }).await
    }

    /// pika's `queue_bind(queue, exchange, routing_key)`:
    /// `POST /api/bindings/<vhost>/e/<exchange>/q/<queue>`. Binding again is harmless.
    ///
    /// # Errors
    ///
    /// [`ExchangeError::NotFound`] for a missing exchange or queue, and the rest in words.
    pub async fn queue_bind(
        &self,
        vhost: &str,
        queue: &str,
        exchange: &str,
        routing_key: &str,
    ) -> Result<(), ExchangeError> {
        self.exchange_call(vhost, &ExchangeCall::Bind { queue, exchange, routing_key }).await.map(drop)
    }

    /// pika's `queue_unbind(queue, exchange, routing_key)`; `false` when there was
    /// no such binding (AMQP's unbind succeeds then too).
    ///
    /// # Errors
    ///
    /// [`ExchangeError::NotFound`] for a missing exchange or queue, and the rest in words.
    pub async fn queue_unbind(
        &self,
        vhost: &str,
        queue: &str,
        exchange: &str,
        routing_key: &str,
    ) -> Result<bool, ExchangeError> {
        self.exchange_call(vhost, &ExchangeCall::Unbind { queue, exchange, routing_key }).await
    }
}

/// One exchange or binding call, as data: every call goes through the one
/// future of [`ManagementApi::exchange_call`] (one `fetch` and its answer's
/// handling in the wasm instead of a copy per call).
#[derive(Debug, Clone, Copy)]
pub(crate) enum ExchangeCall<'a> {
    /// `exchange_declare(exchange, kind, durable, auto_delete)`.
    Declare { exchange: &'a str, kind: &'a str, durable: bool, auto_delete: bool },
    /// `exchange_delete(exchange)`.
    Delete { exchange: &'a str },
    /// `queue_bind(queue, exchange, routing_key)`.
    Bind { queue: &'a str, exchange: &'a str, routing_key: &'a str },
    /// `queue_unbind(queue, exchange, routing_key)`.
    Unbind { queue: &'a str, exchange: &'a str, routing_key: &'a str },
    /// `queue_delete(queue)`.
    QueueDelete { queue: &'a str },
}

impl ExchangeCall<'_> {
    /// What is asked, in words; `whole: false` leaves out a binding's exchange
    /// and key (what a call says when no management API is known).
    pub(crate) fn what(&self, whole: bool) -> String {
        let (queue, exchange, key) = match *self {
            ExchangeCall::Declare { exchange, .. } => return format!("declaring exchange '{exchange}'"),
            ExchangeCall::Delete { exchange } => return format!("deleting exchange '{exchange}'"),
            ExchangeCall::QueueDelete { queue } => return format!("deleting queue '{queue}'"),
            ExchangeCall::Bind { queue, .. } if !whole => return format!("binding queue '{queue}'"),
            ExchangeCall::Unbind { queue, .. } if !whole => return format!("unbinding queue '{queue}'"),
            ExchangeCall::Bind { queue, exchange, routing_key } => {
                return format!("binding queue '{queue}' to exchange '{exchange}' with key '{routing_key}'")
            }
            ExchangeCall::Unbind { queue, exchange, routing_key } => (queue, exchange, routing_key),
        };
        format!("unbinding queue '{queue}' from exchange '{exchange}' (key '{key}')")
    }

    /// The first request: method, path and JSON body.
    fn request(&self, vhost: &str) -> (&'static str, String, Option<String>) {
        let (method, queue, exchange, body) = match *self {
            ExchangeCall::Declare { exchange, kind, durable, auto_delete } => {
                let body = object_text(&[("type", kind.into()), ("durable", durable.into()), ("auto_delete", auto_delete.into())]);
                return ("PUT", item_path(Collection::Exchanges, vhost, exchange), Some(body));
            }
            ExchangeCall::Delete { exchange } => return ("DELETE", item_path(Collection::Exchanges, vhost, exchange), None),
            ExchangeCall::QueueDelete { queue } => return ("DELETE", item_path(Collection::Queues, vhost, queue), None),
            ExchangeCall::Bind { queue, exchange, routing_key } => (
                "POST",
                queue,
                exchange,
                Some(object_text(&[("routing_key", routing_key.into()), ("arguments", js_sys::Object::new().into())])),
            ),
            // The binding's address is its properties key, which RabbitMQ makes
            // from the key and arguments: read it rather than rebuild it.
            ExchangeCall::Unbind { queue, exchange, .. } => ("GET", queue, exchange, None),
        };
        let path = format!("/bindings/{}/e/{}/q/{}", component(vhost), component(exchange), component(queue));
        (method, path, body)
    }
}

/// What an answer leads to: the call's outcome, or one more request (an unbind's
/// DELETE after its GET).
enum Step {
    Done(Result<bool, ExchangeError>),
    Then(String),
}

impl ManagementApi {
    /// The exchange `exchange` as RabbitMQ has it, as a declare by type and flags
    /// makes it again (`None`: there is none, or it is internal or has
    /// arguments, such as an alternate exchange, which such a declare would not
    /// make again).
    pub(crate) async fn exchange_spec(&self, vhost: &str, exchange: &str) -> Result<Option<ExchangeSpec>, ManagementError> {
        let Some(text) = self.get(&item_path(Collection::Exchanges, vhost, exchange)).await? else { return Ok(None) };
        let json = Json::parse(&text).map_err(ManagementError::BadAnswer)?;
        let flag = |key: &str| json.get(key).and_then(|value| value.as_bool()).unwrap_or(false);
        if flag("internal") || !json.get("arguments").is_none_or(|arguments| arguments.is_empty_object()) {
            return Ok(None);
        }
        let kind = json.get("type").and_then(|value| value.as_str()).unwrap_or_default();
        Ok(Some(ExchangeSpec { exchange: exchange.to_owned(), kind, durable: flag("durable"), auto_delete: flag("auto_delete") }))
    }
}

impl ManagementApi {
    /// Makes `call` in `vhost`: `Ok(true)` when done (declared, bound, deleted),
    /// `Ok(false)` when there was nothing to delete or unbind.
    pub(crate) async fn exchange_call(&self, vhost: &str, call: &ExchangeCall<'_>) -> Result<bool, ExchangeError> {
        let (mut method, mut path, mut body) = call.request(vhost);
        loop {
            let answer = self.send_raw(method, &path, body.take().as_deref()).await;
            match answered(call, method, &path, answer) {
                Step::Done(outcome) => return outcome,
                Step::Then(next) => (method, path) = ("DELETE", next),
            }
        }
    }
}

/// What `call`'s answer to `method` at `path` means.
fn answered(
    call: &ExchangeCall<'_>,
    method: &str,
    path: &str,
    answer: Result<(u16, String), ManagementError>,
) -> Step {
    // What was asked, in words: only a refusal says it.
    let what = || call.what(true);
    let (status, text) = match answer {
        Ok(answer) => answer,
        Err(source) => return Step::Done(Err(ExchangeError::Unreachable { what: what(), source })),
    };
    if (200..=299).contains(&status) {
        let ExchangeCall::Unbind { routing_key, .. } = call else { return Step::Done(Ok(true)) };
        if method != "GET" {
            return Step::Done(Ok(true));
        }
        let bindings = Json::parse(&text).ok().and_then(|list| list.as_array()).unwrap_or_default();
        let found = bindings.iter().find(|b| {
            b.get("routing_key").and_then(|k| k.as_str()).as_deref() == Some(*routing_key)
                && b.get("arguments").and_then(|a| a.entries()).is_none_or(|a| a.is_empty())
        });
        return match found.and_then(|b| b.get("properties_key")).and_then(|k| k.as_str()) {
            Some(key) => Step::Then(format!("{path}/{}", component(&key))),
            None => Step::Done(Ok(false)),
        };
    }
    // A delete (of an exchange, a queue, or an unbind's of its binding) of nothing.
    if status == 404 && method == "DELETE" {
        return Step::Done(Ok(false));
    }
    if super::is_web_page(&text) {
        // Not RabbitMQ's JSON: whatever answered, its 404 is not "no such queue".
        return Step::Done(Err(ExchangeError::Other { what: what(), status, reason: super::NOT_THE_API.to_owned() }));
    }
    let reason = reason_of(&text);
    Step::Done(Err(match (call, status) {
        (ExchangeCall::Declare { kind, .. }, 400) if contains(&reason, "unknown exchange type") => {
            ExchangeError::UnknownType { kind: (*kind).to_owned(), reason }
        }
        (_, 401 | 403) => ExchangeError::NoPermission { what: what(), status, reason },
        (_, 400) if contains(&reason, "inequivalent arg") => ExchangeError::Inequivalent { reason },
        (_, 404) => ExchangeError::NotFound { reason },
        _ => ExchangeError::Other { what: what(), status, reason },
    }))
}

/// The `reason` of RabbitMQ's JSON error answer, or the start of the text.
fn reason_of(text: &str) -> String {
    Json::parse(text)
        .ok()
        .and_then(|json| json.get("reason").and_then(|r| r.as_str()))
        .unwrap_or_else(|| text.chars().take(200).collect())
}
