//! A queue as the management API describes it, read from its JSON.

use super::json::Json;
use crate::rabbit::QueueFacts;

/// A queue as the broker has it (read from the management API).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueState {
    /// Its name.
    pub name: String,
    /// Survives a restart.
    pub durable: bool,
    /// Owned by one connection.
    pub exclusive: bool,
    /// Deleted when its last consumer goes.
    pub auto_delete: bool,
    /// Its `x-` arguments, values as text.
    pub arguments: Vec<(String, String)>,
    /// Messages waiting to be delivered.
    pub messages_ready: u64,
    /// Messages delivered and not yet acknowledged.
    pub messages_unacknowledged: u64,
    /// Consumers attached.
    pub consumers: u64,
    /// Messages published per second, lately.
    pub publish_rate: f64,
    /// Messages delivered per second, lately.
    pub deliver_rate: f64,
    /// `classic`, `quorum` or `stream` (empty when the broker did not say).
    pub queue_type: String,
    /// A quorum queue's leader node (`None` for other types, or while none is elected).
    pub leader: Option<String>,
    /// The nodes holding a replica (quorum queues and streams).
    pub members: Vec<String>,
    /// Which of the members are running.
    pub online: Vec<String>,
    /// The node the queue lives on (for a quorum queue: its leader).
    pub node: Option<String>,
    /// The connections of its consumers, by the management API's connection name
    /// (`GET /api/queues/{vhost}/{name}` lists them; the list of all queues does not).
    pub consumer_connections: Vec<String>,
}

/// Why the management API's answer could not be read as queues.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueStateError {
    /// Not JSON at all; the browser's words.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// A list of queues was expected.
    #[error("expected a JSON array of queues")]
    NotAList,
    /// A queue without its `name`.
    #[error("a queue without a name")]
    Unnamed,
}

impl QueueState {

    /// What the refusal logic needs of it ([`crate::rabbit::diagnose_declare`]).
    pub fn facts(&self) -> QueueFacts {
        QueueFacts {
            durable: self.durable,
            exclusive: self.exclusive,
            auto_delete: self.auto_delete,
            arguments: self.arguments.clone(),
            consumers: Some(self.consumers),
        }
    }

    /// Reads one queue from the management API's JSON (`GET /api/queues/{vhost}/{name}`).
    ///
    /// ```
    /// use burrow::management::QueueState;
    ///
    /// let json = r#"{"name": "hello", "durable": true, "messages_ready": 3,
    ///                "message_stats": {"publish_details": {"rate": 2.5}}}"#;
    /// let queue = QueueState::from_management_json(json)?;
    /// assert_eq!((queue.name.as_str(), queue.durable, queue.messages_ready), ("hello", true, 3));
    /// assert_eq!(queue.publish_rate, 2.5);
    /// # Ok::<(), burrow::management::QueueStateError>(())
    /// ```
    pub fn from_management_json(json: &str) -> Result<QueueState, QueueStateError> {
        Self::from_management_value(&Json::parse(json)?)
    }

    /// Reads every queue from `GET /api/queues/{vhost}`.
    pub fn list_from_management_json(json: &str) -> Result<Vec<QueueState>, QueueStateError> {
        let items = Json::parse(json)?.as_array().ok_or(QueueStateError::NotAList)?;
        items.iter().map(Self::from_management_value).collect()
    }

    /// What the refusal logic needs of one queue, read alone from `GET
    /// /api/queues/{vhost}/{name}` (a look-up needs no more of it).
    pub(crate) fn facts_from_management_json(json: &str) -> Result<QueueFacts, QueueStateError> {
        facts_of(&Json::parse(json)?).map(|(_, facts)| facts)
    }

    fn from_management_value(value: &Json) -> Result<QueueState, QueueStateError> {
        let (name, facts) = facts_of(value)?;
        let count = |key: &str| value.get(key).and_then(|v| v.as_u64()).unwrap_or(0);
        let rate = |stat: &str| value.at(&["message_stats", stat, "rate"]).and_then(|r| r.as_f64()).unwrap_or(0.0);
        let text = |key: &str| value.get(key).and_then(|v| v.as_str());
        let names = |key: &str| -> Vec<String> {
            value
                .get(key)
                .and_then(|v| v.as_array())
                .map(|items| items.iter().filter_map(Json::as_str).collect())
                .unwrap_or_default()
        };
        let consumer_connections = value
            .get("consumer_details")
            .and_then(|c| c.as_array())
            .map(|items| {
                items.iter().filter_map(|c| c.at(&["channel_details", "connection_name"]).and_then(|n| n.as_str())).collect()
            })
            .unwrap_or_default();
        Ok(QueueState {
            queue_type: text("type").unwrap_or_default(),
            leader: text("leader"),
            members: names("members"),
            online: names("online"),
            node: text("node"),
            consumer_connections,
            name,
            durable: facts.durable,
            exclusive: facts.exclusive,
            auto_delete: facts.auto_delete,
            arguments: facts.arguments,
            messages_ready: count("messages_ready"),
            messages_unacknowledged: count("messages_unacknowledged"),
            consumers: count("consumers"),
            publish_rate: rate("publish_details"),
            deliver_rate: rate("deliver_get_details"),
        })
    }
}

/// A queue's name and the facts the refusal logic needs of it.
fn facts_of(value: &Json) -> Result<(String, QueueFacts), QueueStateError> {
    let name = value.get("name").and_then(|n| n.as_str()).ok_or(QueueStateError::Unnamed)?;
    let flag = |key: &str| value.get(key).and_then(|v| v.as_bool()).unwrap_or(false);
    let arguments = value
        .get("arguments")
        .and_then(|a| a.entries())
        .map(|args| args.into_iter().map(|(k, v)| (k, v.to_text())).collect())
        .unwrap_or_default();
    // Absent until the queue's first statistics: not known, rather than 0.
    let consumers = value.get("consumers").and_then(|n| n.as_u64());
    let facts = QueueFacts { durable: flag("durable"), exclusive: flag("exclusive"), auto_delete: flag("auto_delete"), arguments, consumers };
    Ok((name, facts))
}
