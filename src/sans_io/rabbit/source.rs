//! What a consumer reads from: a queue, or an exchange through a queue that
//! Web-STOMP makes and binds for the subscription.

use super::{check_name, escape_name, RabbitError};

/// What `basic_consume` reads from.
///
/// A `&str` or `String` is a queue, so `basic_consume("hello", …)` reads the
/// queue `hello` as before. An exchange subscription is RabbitMQ's tutorials 3 to
/// 5 (pika: `queue_declare('', exclusive=True)`, `queue_bind(exchange, queue,
/// routing_key)`, `basic_consume(queue)`) in one SUBSCRIBE:
///
/// - [`ConsumeFrom::exchange`] (transient): `SUBSCRIBE /exchange/<exchange>/<key>`;
///   RabbitMQ makes a non-durable, auto-delete queue
///   (`stomp-subscription-…`) bound with the key, gone with the subscription.
///   The channel names it (`x-queue-name`, from the connection's session id;
///   see `Channel::basic_consume_from`), so the consumer can say which queue it reads.
///   **After a reconnect it is made anew: what was published while the
///   connection was down is lost** (the core says so with
///   `ConnectionEvent::SubscriptionGap`).
/// - [`ConsumeFrom::durable`]: the same SUBSCRIBE with `x-queue-name:<queue>`,
///   `durable:true`, `auto-delete:false` and `exclusive:false`: a named durable queue that outlives
///   the connection (and, with persistent messages, a broker restart), so a
///   reconnect loses nothing. It lasts until deleted (the management API's
///   `delete_queue`); an UNSUBSCRIBE does not delete it.
///
/// ```
/// use burrow::rabbit::ConsumeFrom;
///
/// assert_eq!(ConsumeFrom::from("hello").destination()?, "/amq/queue/hello");
/// assert_eq!(ConsumeFrom::exchange("logs", "").destination()?, "/exchange/logs");
/// assert_eq!(ConsumeFrom::exchange("topic_logs", "*.critical").destination()?, "/exchange/topic_logs/*.critical");
/// // A `/` in a name is written %2F; other characters (Chinese too) go as UTF-8.
/// assert_eq!(ConsumeFrom::exchange("日志/a", "k").destination()?, "/exchange/日志%2Fa/k");
/// let durable = ConsumeFrom::durable("topic_logs", "kern.*", "kern-log");
/// assert_eq!(durable.queue_name(), Some("kern-log"));
/// assert!(durable.subscribe_headers().contains(&("x-queue-name".to_owned(), "kern-log".to_owned())));
/// # Ok::<(), burrow::rabbit::RabbitError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ConsumeFrom {
    /// A queue, by name (`SUBSCRIBE /amq/queue/<name>`: never declares it).
    Queue(String),
    /// An exchange, through a queue bound with a binding key.
    Exchange(ExchangeSubscription),
}

/// An exchange subscription: see [`ConsumeFrom`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExchangeSubscription {
    /// The exchange (it must exist: `exchange_declare` through the management API,
    /// or one of RabbitMQ's `amq.*`).
    pub exchange: String,
    /// The binding key (pika's `routing_key` of `queue_bind`): a topic pattern
    /// such as `*.critical` or `kern.#` for a topic exchange, ignored by a fanout.
    pub routing_key: String,
    /// `Some(name)`: a durable subscription into the queue `name`, which survives
    /// reconnects and restarts; `None`: transient (lost across a reconnect).
    pub durable_queue: Option<String>,
}

impl ConsumeFrom {
    /// The queue `name`.
    pub fn queue(name: impl Into<String>) -> Self {
        ConsumeFrom::Queue(name.into())
    }

    /// A transient subscription to `exchange` with the binding key `routing_key`.
    pub fn exchange(exchange: impl Into<String>, routing_key: impl Into<String>) -> Self {
        ConsumeFrom::Exchange(ExchangeSubscription {
            exchange: exchange.into(),
            routing_key: routing_key.into(),
            durable_queue: None,
        })
    }

    /// A durable subscription to `exchange` with the binding key `routing_key`,
    /// into the durable queue `queue` (made if missing, bound each time it subscribes).
    pub fn durable(exchange: impl Into<String>, routing_key: impl Into<String>, queue: impl Into<String>) -> Self {
        ConsumeFrom::Exchange(ExchangeSubscription {
            exchange: exchange.into(),
            routing_key: routing_key.into(),
            durable_queue: Some(queue.into()),
        })
    }

    /// The queue it reads, when it has a name before subscribing (a queue, or a
    /// durable subscription's queue); `None` for a transient subscription, whose
    /// queue is named per connection when it subscribes.
    pub fn queue_name(&self) -> Option<&str> {
        match self {
            ConsumeFrom::Queue(name) => Some(name),
            ConsumeFrom::Exchange(sub) => sub.durable_queue.as_deref(),
        }
    }

    /// A transient exchange subscription: what was published while its
    /// connection was down is lost.
    pub fn is_transient(&self) -> bool {
        matches!(self, ConsumeFrom::Exchange(ExchangeSubscription { durable_queue: None, .. }))
    }

    /// Checks the names: what the broker could not take is refused here, before
    /// anything is sent.
    ///
    /// # Errors
    ///
    /// [`RabbitError::EmptyQueueName`] for an empty queue name,
    /// [`RabbitError::NameTooLong`] over 255 bytes, and
    /// [`RabbitError::UnescapableName`] for a name or key containing `%2F`,
    /// which RabbitMQ reads back as `/` in a destination,
    /// [`RabbitError::BindToDefaultExchange`] for a subscription to the default
    /// exchange (`""` or `amq.default`).
    pub fn check(&self) -> Result<(), RabbitError> {
        match self {
            ConsumeFrom::Queue(name) => {
                check_name(name)?;
                if name.is_empty() {
                    return Err(RabbitError::EmptyQueueName);
                }
            }
            ConsumeFrom::Exchange(sub) => {
                check_name(&sub.exchange)?;
                if sub.exchange.is_empty() || sub.exchange == super::DEFAULT_EXCHANGE_ALIAS {
                    return Err(RabbitError::BindToDefaultExchange);
                }
                check_name(&sub.routing_key)?;
                if let Some(queue) = &sub.durable_queue {
                    check_name(queue)?;
                    if queue.is_empty() {
                        return Err(RabbitError::EmptyQueueName);
                    }
                    if queue.starts_with("amq.") {
                        return Err(RabbitError::ReservedQueueName(queue.clone()));
                    }
                }
            }
        }
        Ok(())
    }

    /// The SUBSCRIBE's destination, names checked ([`ConsumeFrom::check`]).
    ///
    /// # Errors
    ///
    /// As [`ConsumeFrom::check`].
    pub fn destination(&self) -> Result<String, RabbitError> {
        self.check()?;
        Ok(match self {
            ConsumeFrom::Queue(name) => format!("/amq/queue/{}", escape_name(name)),
            ConsumeFrom::Exchange(sub) if sub.routing_key.is_empty() => {
                format!("/exchange/{}", escape_name(&sub.exchange))
            }
            ConsumeFrom::Exchange(sub) => {
                format!("/exchange/{}/{}", escape_name(&sub.exchange), escape_name(&sub.routing_key))
            }
        })
    }

    /// The SUBSCRIBE's headers besides id, ack and prefetch: a durable
    /// subscription's `x-queue-name`, `durable:true`, `auto-delete:false` and
    /// `exclusive:false`. Each is needed: without `auto-delete:false` RabbitMQ
    /// 3.10.8 makes the named queue auto-delete; without `exclusive:false`
    /// RabbitMQ 4.0.5 makes it exclusive and not durable (gone with the connection).
    pub fn subscribe_headers(&self) -> Vec<(String, String)> {
        match self {
            ConsumeFrom::Exchange(ExchangeSubscription { durable_queue: Some(queue), .. }) => vec![
                ("x-queue-name".to_owned(), queue.clone()),
                ("durable".to_owned(), "true".to_owned()),
                ("auto-delete".to_owned(), "false".to_owned()),
                ("exclusive".to_owned(), "false".to_owned()),
            ],
            _ => Vec::new(),
        }
    }
}

impl std::fmt::Display for ConsumeFrom {
    /// `queue 'q'`, `exchange 'x' with binding key 'k'`, or with `(durable queue 'd')`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConsumeFrom::Queue(name) => write!(f, "queue '{name}'"),
            ConsumeFrom::Exchange(sub) => {
                write!(f, "exchange '{}' with binding key '{}'", sub.exchange, sub.routing_key)?;
                match &sub.durable_queue {
                    Some(queue) => write!(f, " (durable queue '{queue}')"),
                    None => write!(f, " (transient)"),
                }
            }
        }
    }
}

impl From<&str> for ConsumeFrom {
    fn from(queue: &str) -> Self {
        ConsumeFrom::Queue(queue.to_owned())
    }
}

impl From<String> for ConsumeFrom {
    fn from(queue: String) -> Self {
        ConsumeFrom::Queue(queue)
    }
}

impl From<&String> for ConsumeFrom {
    fn from(queue: &String) -> Self {
        ConsumeFrom::Queue(queue.clone())
    }
}

impl From<&ConsumeFrom> for ConsumeFrom {
    fn from(source: &ConsumeFrom) -> Self {
        source.clone()
    }
}
