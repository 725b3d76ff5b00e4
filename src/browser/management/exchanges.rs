//! Exchanges and bindings through the management API: STOMP cannot declare an
//! exchange or bind a queue, so pika's `exchange_declare`, `exchange_delete`,
//! `queue_bind` and `queue_unbind` go over HTTP, refused in words.

use super::json::{object_text, Json};
use super::{component, ManagementApi, ManagementError};

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
    #[error("RabbitMQ refused the exchange type {kind:?} ({reason}); use direct, fanout, topic or headers")]
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

/// An answer other than 2xx, as RabbitMQ gave it.
struct Answer {
    status: u16,
    reason: String,
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
        let what = format!("declaring exchange '{exchange}'");
        let path = format!("/exchanges/{}/{}", component(vhost), component(exchange));
        let body = object_text(&[
            ("type", exchange_type.into()),
            ("durable", durable.into()),
            ("auto_delete", auto_delete.into()),
        ]);
        match self.call("PUT", &path, Some(body), &what).await? {
            Ok(_) => Ok(()),
            Err(Answer { status: 400, reason }) if reason.contains("unknown exchange type") => {
                Err(ExchangeError::UnknownType { kind: exchange_type.to_owned(), reason })
            }
            Err(answer) => Err(refused(what, answer)),
        }
    }

    /// pika's `exchange_delete(exchange)`: `DELETE /api/exchanges/<vhost>/<name>`
    /// (its bindings go with it); `false` when there was no such exchange.
    ///
    /// # Errors
    ///
    /// [`ExchangeError`] in words (no permission, management unreachable).
    pub async fn exchange_delete(&self, vhost: &str, exchange: &str) -> Result<bool, ExchangeError> {
        let what = format!("deleting exchange '{exchange}'");
        let path = format!("/exchanges/{}/{}", component(vhost), component(exchange));
        match self.call("DELETE", &path, None, &what).await? {
            Ok(_) => Ok(true),
            Err(Answer { status: 404, .. }) => Ok(false),
            Err(answer) => Err(refused(what, answer)),
        }
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
        let what = format!("binding queue '{queue}' to exchange '{exchange}' with key '{routing_key}'");
        let path = format!("/bindings/{}/e/{}/q/{}", component(vhost), component(exchange), component(queue));
        let body = object_text(&[("routing_key", routing_key.into()), ("arguments", js_sys::Object::new().into())]);
        self.call("POST", &path, Some(body), &what).await?.map(drop).map_err(|answer| refused(what, answer))
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
        let what = format!("unbinding queue '{queue}' from exchange '{exchange}' (key '{routing_key}')");
        let list = format!("/bindings/{}/e/{}/q/{}", component(vhost), component(exchange), component(queue));
        // The binding's address is its properties key, which RabbitMQ makes from
        // the key and arguments; read it rather than rebuild it.
        let json = match self.call("GET", &list, None, &what).await? {
            Ok(json) => json,
            Err(answer) => return Err(refused(what, answer)),
        };
        let bindings = Json::parse(&json).ok().and_then(|list| list.as_array()).unwrap_or_default();
        let found = bindings.iter().find(|b| {
            b.get("routing_key").and_then(|k| k.as_str()).as_deref() == Some(routing_key)
                && b.get("arguments").and_then(|a| a.entries()).is_none_or(|a| a.is_empty())
        });
        let Some(key) = found.and_then(|b| b.get("properties_key")).and_then(|k| k.as_str()) else {
            return Ok(false);
        };
        let path = format!("{list}/{}", component(&key));
        match self.call("DELETE", &path, None, &what).await? {
            Ok(_) => Ok(true),
            Err(Answer { status: 404, .. }) => Ok(false),
            Err(answer) => Err(refused(what, answer)),
        }
    }

    /// Sends the call: `Ok(Ok(text))` for 2xx, `Ok(Err(answer))` for RabbitMQ's
    /// refusal, `Err` when nothing answered.
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        what: &str,
    ) -> Result<Result<String, Answer>, ExchangeError> {
        match self.send_raw(method, path, body.as_deref()).await {
            Ok((200..=299, text)) => Ok(Ok(text)),
            Ok((status, text)) => Ok(Err(Answer { status, reason: reason_of(&text) })),
            Err(source) => Err(ExchangeError::Unreachable { what: what.to_owned(), source }),
        }
    }
}

/// RabbitMQ's refusal, classified.
fn refused(what: String, Answer { status, reason }: Answer) -> ExchangeError {
    match status {
        401 | 403 => ExchangeError::NoPermission { what, status, reason },
        400 if reason.contains("inequivalent arg") => ExchangeError::Inequivalent { reason },
        404 => ExchangeError::NotFound { reason },
        _ => ExchangeError::Other { what, status, reason },
    }
}

/// The `reason` of RabbitMQ's JSON error answer, or the start of the text.
fn reason_of(text: &str) -> String {
    Json::parse(text)
        .ok()
        .and_then(|json| json.get("reason").and_then(|r| r.as_str()))
        .unwrap_or_else(|| text.chars().take(200).collect())
}
