//! What the producer form holds, as typed, and the publish it asks for.

use crate::rabbit::BasicProperties;

use super::fields::{optional_whole_number, whole_number};
use super::publish::{Numbering, PublishRequest};
use super::state::Destination;

/// The most copies one Publish sends.
pub const MAX_COPIES: u64 = 10_000;

/// The producer form's fields, as typed (kept across publishes).
#[derive(Debug, Clone, PartialEq)]
pub struct ProducerDraft {
    /// The exchange; empty is the default exchange.
    pub exchange: String,
    /// The routing key (the queue, for the default exchange).
    pub routing_key: String,
    /// The body.
    pub body: String,
    /// delivery_mode=2.
    pub persistent: bool,
    /// How many copies, as typed.
    pub count: String,
    /// How copies are numbered.
    pub numbering: Numbering,
    /// content_type.
    pub content_type: String,
    /// content_encoding.
    pub content_encoding: String,
    /// priority, as typed.
    pub priority: String,
    /// expiration in ms, as typed.
    pub expiration: String,
    /// correlation_id.
    pub correlation_id: String,
    /// reply_to.
    pub reply_to: String,
    /// message_id.
    pub message_id: String,
    /// type.
    pub kind: String,
    /// app_id.
    pub app_id: String,
    /// A stream's filter value (x-stream-filter-value, RabbitMQ 3.13+).
    pub stream_filter_value: String,
    /// user_id (RabbitMQ checks it is the connection's user).
    pub user_id: String,
    /// Set timestamp to the time of publishing.
    pub timestamp: bool,
    /// Headers as name/value rows.
    pub headers: Vec<(String, String)>,
}

impl ProducerDraft {
    /// The form as it starts, for `queue`.
    pub fn new(queue: String) -> Self {
        ProducerDraft {
            exchange: String::new(),
            routing_key: queue,
            body: "大郎 起来喝药了".to_owned(),
            persistent: false,
            count: "1".to_owned(),
            numbering: Numbering::Header,
            content_type: "text/plain; charset=utf-8".to_owned(),
            content_encoding: String::new(),
            priority: String::new(),
            expiration: String::new(),
            correlation_id: String::new(),
            reply_to: String::new(),
            message_id: String::new(),
            kind: String::new(),
            app_id: String::new(),
            stream_filter_value: String::new(),
            user_id: String::new(),
            timestamp: false,
            headers: Vec::new(),
        }
    }

    /// Sets the text field named `field` (its form name).
    pub fn set(&mut self, field: &str, value: String) {
        let slot = match field {
            "exchange" => &mut self.exchange,
            "routing-key" => &mut self.routing_key,
            "body" => &mut self.body,
            "count" => &mut self.count,
            "content-type" => &mut self.content_type,
            "content-encoding" => &mut self.content_encoding,
            "priority" => &mut self.priority,
            "expiration" => &mut self.expiration,
            "correlation-id" => &mut self.correlation_id,
            "reply-to" => &mut self.reply_to,
            "message-id" => &mut self.message_id,
            "type" => &mut self.kind,
            "app-id" => &mut self.app_id,
            "stream-filter-value" => &mut self.stream_filter_value,
            "user-id" => &mut self.user_id,
            _ => return,
        };
        *slot = value;
    }

    /// The count's problem, in words.
    pub fn count_error(&self) -> Option<String> {
        whole_number(&self.count, 1, MAX_COPIES, "how many").err()
    }

    /// The priority's problem, in words.
    pub fn priority_error(&self) -> Option<String> {
        optional_whole_number(&self.priority, 0, 255, "priority").err()
    }

    /// The expiration's problem, in words.
    pub fn expiration_error(&self) -> Option<String> {
        optional_whole_number(&self.expiration, 0, u64::from(u32::MAX), "expiration (ms)").err()
    }

    /// A header row's problem, in words.
    pub fn header_error(&self, row: usize) -> Option<String> {
        let (name, value) = self.headers.get(row)?;
        let name = name.trim();
        if name.is_empty() {
            return (!value.is_empty()).then(|| "a header needs a name".to_owned());
        }
        // Said where it is typed, not only once Publish fails (QA).
        if !crate::rabbit::header_name_usable(name) {
            return Some(format!("header “{name}” cannot be used (x-…, or one STOMP or RabbitMQ uses itself)"));
        }
        // A message carries one value per name (STOMP keeps the first): a later
        // row with the same name would be dropped without a word.
        let first = self.headers.iter().position(|(other, _)| other.trim() == name)?;
        (first < row).then(|| format!("header “{name}” is already set in header {}: a message carries one value per name", first + 1))
    }

    /// The properties typed, or the first problem in words.
    pub fn properties(&self, now_seconds: u64) -> Result<BasicProperties, String> {
        let text = |value: &str| (!value.trim().is_empty()).then(|| value.trim().to_owned());
        let priority = optional_whole_number(&self.priority, 0, 255, "priority")?;
        let expiration = optional_whole_number(&self.expiration, 0, u64::from(u32::MAX), "expiration (ms)")?;
        if let Some(problem) = (0..self.headers.len()).find_map(|row| self.header_error(row)) {
            return Err(problem);
        }
        Ok(BasicProperties {
            persistent: self.persistent,
            content_type: text(&self.content_type),
            content_encoding: text(&self.content_encoding),
            priority: priority.and_then(|p| u8::try_from(p).ok()),
            correlation_id: text(&self.correlation_id),
            reply_to: text(&self.reply_to),
            expiration: expiration.map(|e| e.to_string()),
            message_id: text(&self.message_id),
            timestamp: self.timestamp.then_some(now_seconds),
            kind: text(&self.kind),
            user_id: text(&self.user_id),
            app_id: text(&self.app_id),
            stream_filter_value: text(&self.stream_filter_value),
            headers: self.headers.iter().filter(|(name, _)| !name.trim().is_empty()).map(|(n, v)| (n.trim().to_owned(), v.clone())).collect(),
        })
    }

    /// The publish this form asks for, or its first problem in words.
    pub fn request(&self, now_seconds: u64) -> Result<PublishRequest, String> {
        let count = whole_number(&self.count, 1, MAX_COPIES, "how many")?;
        Ok(PublishRequest {
            destination: Destination { exchange: self.exchange.trim().to_owned(), routing_key: self.routing_key.clone() },
            body: self.body.clone(),
            properties: self.properties(now_seconds)?,
            count: u32::try_from(count).unwrap_or(1),
            numbering: self.numbering,
            lesson: None,
        })
    }
}
