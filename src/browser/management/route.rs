//! Whether a publish reaches any queue, looked up through the management API:
//! RabbitMQ confirms a message that routes nowhere, and drops it.

use crate::rabbit::{matching_bindings, Binding, BindingDestination, ExchangeKind, Unroutable};

use super::json::Json;
use super::{item_path, Collection, ManagementApi, ManagementError};

/// How many exchange-to-exchange hops (and alternate exchanges) a check follows.
const MAX_HOPS: usize = 8;

/// Where a message published to an exchange with a routing key would go now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteCheck {
    /// At least one queue takes it: their names.
    Routed(Vec<String>),
    /// No queue takes it: RabbitMQ would confirm it and drop it.
    Nowhere(Unroutable),
    /// The bindings do not decide it (a headers exchange, a plugin's type), in words.
    Unknown(String),
}

impl std::fmt::Display for RouteCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RouteCheck::Routed(queues) => write!(f, "routed to {}", queues.join(", ")),
            RouteCheck::Nowhere(why) => write!(f, "routed nowhere: {why}"),
            RouteCheck::Unknown(why) => write!(f, "not checked: {why}"),
        }
    }
}

/// An exchange as the route check needs it.
struct ExchangeFacts {
    kind: ExchangeKind,
    alternate: Option<String>,
    bindings: Vec<Binding>,
}

impl ManagementApi {
    /// Whether a message published to `exchange` (`""`: the default exchange)
    /// with `routing_key` would reach a queue now: the queue exists (default
    /// exchange), or a binding of the exchange matches (direct, fanout and topic;
    /// exchange-to-exchange bindings and an `alternate-exchange` are followed).
    ///
    /// ```no_run
    /// use burrow::management::{ManagementApi, ManagementError, RouteCheck};
    ///
    /// # async fn check(api: &ManagementApi) -> Result<(), ManagementError> {
    /// if let RouteCheck::Nowhere(why) = api.check_route("/", "", "no-such-queue").await? {
    ///     println!("RabbitMQ would confirm it and drop it: {why}"); // no queue 'no-such-queue'
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn check_route(&self, vhost: &str, exchange: &str, routing_key: &str) -> Result<RouteCheck, ManagementError> {
        if exchange.is_empty() || exchange == "amq.default" {
            return Ok(match self.queue(vhost, routing_key).await? {
                Some(_) => RouteCheck::Routed(vec![routing_key.to_owned()]),
                None => RouteCheck::Nowhere(Unroutable::NoQueue { queue: routing_key.to_owned() }),
            });
        }
        let mut queues: Vec<String> = Vec::new();
        let mut unknown = None;
        let mut first_kind = String::new();
        let mut visited: Vec<String> = Vec::new();
        let mut next = vec![exchange.to_owned()];
        while let Some(name) = next.pop() {
            if visited.contains(&name) || visited.len() >= MAX_HOPS {
                continue;
            }
            visited.push(name.clone());
            let Some(facts) = self.exchange_facts(vhost, &name).await? else {
                if name == exchange {
                    return Ok(RouteCheck::Nowhere(Unroutable::NoExchange { exchange: name }));
                }
                continue;
            };
            if name == exchange {
                first_kind = facts.kind.name().to_owned();
            }
            let Some(matching) = matching_bindings(&facts.kind, &facts.bindings, routing_key) else {
                let kind = facts.kind.name();
                unknown = Some(format!("the {kind} exchange '{name}' routes by more than the routing key"));
                continue;
            };
            let before = queues.len();
            for binding in matching {
                match &binding.destination {
                    BindingDestination::Queue(queue) if !queues.contains(queue) => queues.push(queue.clone()),
                    BindingDestination::Queue(_) => {}
                    BindingDestination::Exchange(to) => next.push(to.clone()),
                }
            }
            // What no binding takes goes to the alternate exchange, if there is one.
            if queues.len() == before {
                next.extend(facts.alternate);
            }
        }
        Ok(match (queues.is_empty(), unknown) {
            (false, _) => RouteCheck::Routed(queues),
            (true, Some(why)) => RouteCheck::Unknown(why),
            (true, None) => RouteCheck::Nowhere(Unroutable::NoBinding {
                exchange: exchange.to_owned(),
                kind: first_kind,
                routing_key: routing_key.to_owned(),
            }),
        })
    }

    /// Whether `exchange` exists in `vhost`.
    pub async fn exchange_exists(&self, vhost: &str, exchange: &str) -> Result<bool, ManagementError> {
        Ok(self.get(&item_path(Collection::Exchanges, vhost, exchange)).await?.is_some())
    }

    /// An exchange's type, alternate exchange and bindings; `None` when it does not exist.
    async fn exchange_facts(&self, vhost: &str, name: &str) -> Result<Option<ExchangeFacts>, ManagementError> {
        let path = item_path(Collection::Exchanges, vhost, name);
        let Some(json) = self.get(&path).await? else { return Ok(None) };
        let value = Json::parse(&json).map_err(ManagementError::BadAnswer)?;
        let kind = ExchangeKind::from_name(&value.get("type").and_then(|t| t.as_str()).unwrap_or_default());
        let alternate = value.at(&["arguments", "alternate-exchange"]).and_then(|a| a.as_str());
        let json = self.get(&format!("{path}/bindings/source")).await?.unwrap_or_else(|| "[]".to_owned());
        let list = Json::parse(&json).map_err(ManagementError::BadAnswer)?;
        let bindings = list
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| {
                let to = b.get("destination")?.as_str()?;
                let destination = match b.get("destination_type")?.as_str()?.as_str() {
                    "queue" => BindingDestination::Queue(to),
                    "exchange" => BindingDestination::Exchange(to),
                    _ => return None,
                };
                let key = b.get("routing_key").and_then(|k| k.as_str()).unwrap_or_default();
                Some(Binding { destination, key })
            })
            .collect();
        Ok(Some(ExchangeFacts { kind, alternate, bindings }))
    }
}
