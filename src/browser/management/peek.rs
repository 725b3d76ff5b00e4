//! A message as the management API's "Get messages" shows it, read from its JSON.

use super::json::Json;
use super::QueueStateError;

/// How much of each body "Get messages" returns (RabbitMQ's `truncate`): enough
/// to read, never a whole large body in the page.
pub const PEEK_TRUNCATE_BYTES: u32 = 50_000;

/// One message looked at with [`super::ManagementApi::get_messages`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeekedMessage {
    /// The body: as text when RabbitMQ could (its `payload_encoding` `string`),
    /// else base64 ([`PeekedMessage::base64`]).
    pub body: String,
    /// The body was not valid UTF-8 and is base64.
    pub base64: bool,
    /// Its size in bytes (the body may be cut at [`PEEK_TRUNCATE_BYTES`]).
    pub size: u64,
    /// Delivered before and not acknowledged (a peek itself leaves it marked).
    pub redelivered: bool,
    /// The exchange it was published to (`""`: the default exchange).
    pub exchange: String,
    /// Its routing key.
    pub routing_key: String,
    /// How many messages remained in the queue after it was taken.
    pub remaining: u64,
    /// Its properties other than headers (`content_type`, `priority`, …), by AMQP
    /// name, values as text.
    pub properties: Vec<(String, String)>,
    /// Its headers, values as text (JSON for anything but a string).
    pub headers: Vec<(String, String)>,
}

impl PeekedMessage {
    /// Reads the answer of `POST /api/queues/{vhost}/{name}/get`.
    ///
    /// ```
    /// use burrow::management::PeekedMessage;
    ///
    /// let json = r#"[{"payload_bytes":6,"redelivered":false,"exchange":"","routing_key":"q",
    ///     "message_count":4,"properties":{"priority":3,"headers":{"a":1,"b":"x"}},
    ///     "payload":"héllo","payload_encoding":"string"}]"#;
    /// let messages = PeekedMessage::list_from_management_json(json)?;
    /// assert_eq!(messages[0].body, "héllo");
    /// assert_eq!(messages[0].properties, [("priority".to_owned(), "3".to_owned())]);
    /// assert_eq!(messages[0].headers, [("a".to_owned(), "1".to_owned()), ("b".to_owned(), "x".to_owned())]);
    /// # Ok::<(), burrow::management::QueueStateError>(())
    /// ```
    pub fn list_from_management_json(json: &str) -> Result<Vec<PeekedMessage>, QueueStateError> {
        let items = Json::parse(json)?.as_array().ok_or(QueueStateError::NotAList)?;
        Ok(items.iter().map(Self::from_value).collect())
    }

    fn from_value(value: &Json) -> PeekedMessage {
        let text = |key: &str| value.get(key).and_then(|v| v.as_str()).unwrap_or_default();
        let mut properties = Vec::new();
        let mut headers = Vec::new();
        for (name, property) in value.get("properties").and_then(|p| p.entries()).unwrap_or_default() {
            if name == "headers" {
                headers = property
                    .entries()
                    .map(|h| h.into_iter().map(|(k, v)| (k, v.to_text())).collect())
                    .unwrap_or_default();
            } else {
                properties.push((name, property.to_text()));
            }
        }
        PeekedMessage {
            body: text("payload"),
            base64: value.get("payload_encoding").and_then(|e| e.as_str()).as_deref() == Some("base64"),
            size: value.get("payload_bytes").and_then(|v| v.as_u64()).unwrap_or(0),
            redelivered: value.get("redelivered").and_then(|v| v.as_bool()).unwrap_or(false),
            exchange: text("exchange"),
            routing_key: text("routing_key"),
            remaining: value.get("message_count").and_then(|v| v.as_u64()).unwrap_or(0),
            properties,
            headers,
        }
    }
}
