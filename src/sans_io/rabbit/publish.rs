//! A publish checked once: [`CheckedPublish`] is what the outbox keeps and the
//! channel sends, so nothing is checked again on a send or a resend.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::{check_name, limits, DEFAULT_EXCHANGE_ALIAS, publish_destination, BasicProperties, RabbitError, RESENT_HEADER};

/// A message to publish: the arguments of pika's `basic_publish`, not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPublish {
    /// The exchange (`""` for the default exchange).
    pub exchange: String,
    /// The routing key (for the default exchange: the queue's name).
    pub routing_key: String,
    /// The body, byte for byte.
    pub body: Vec<u8>,
    /// Its properties.
    pub properties: BasicProperties,
}

impl PendingPublish {
    /// Checks it once, for good: see [`CheckedPublish::new`].
    ///
    /// # Errors
    ///
    /// As [`check_publish`].
    pub fn check(self, max_frame: usize) -> Result<CheckedPublish, RabbitError> {
        CheckedPublish::new(self, max_frame)
    }
}

/// A publish that passed every check [`check_publish`] makes, with its SEND
/// destination and headers worked out: the outbox keeps it and
/// [`super::Channel::publish_checked`] sends it (again after a reconnect) as it is.
///
/// ```
/// use burrow::rabbit::{BasicProperties, PendingPublish, RabbitError, PUBLISH_MAX_FRAME};
///
/// let publish = PendingPublish {
///     exchange: "logs".into(),
///     routing_key: "info".into(),
///     body: b"hello".to_vec(),
///     properties: BasicProperties::persistent(),
/// };
/// let checked = publish.clone().check(PUBLISH_MAX_FRAME)?;
/// assert_eq!(checked.destination(), "/exchange/logs/info");
/// assert_eq!(checked.body(), b"hello");
///
/// let too_long = PendingPublish { routing_key: "k".repeat(300), ..publish };
/// assert!(matches!(too_long.check(PUBLISH_MAX_FRAME), Err(RabbitError::NameTooLong(_))));
/// # Ok::<(), RabbitError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPublish {
    publish: PendingPublish,
    destination: String,
    headers: Vec<(String, String)>,
}

impl CheckedPublish {
    /// Checks `publish` against `max_frame` (see [`check_publish`]) and keeps what
    /// the SEND needs.
    ///
    /// # Errors
    ///
    /// As [`check_publish`].
    pub fn new(publish: PendingPublish, max_frame: usize) -> Result<Self, RabbitError> {
        let headers = check_publish(
            &publish.exchange,
            &publish.routing_key,
            publish.body.len(),
            &publish.properties,
            max_frame,
        )?;
        let destination = publish_destination(&publish.exchange, &publish.routing_key);
        Ok(CheckedPublish { publish, destination, headers })
    }

    /// The exchange (`""` for the default exchange).
    pub fn exchange(&self) -> &str {
        &self.publish.exchange
    }

    /// The routing key.
    pub fn routing_key(&self) -> &str {
        &self.publish.routing_key
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.publish.body
    }

    /// Its properties.
    pub fn properties(&self) -> &BasicProperties {
        &self.publish.properties
    }

    /// Where the SEND goes.
    pub fn destination(&self) -> &str {
        &self.destination
    }

    /// The SEND's headers for its properties (without the resent mark).
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The message as it was given.
    pub fn into_inner(self) -> PendingPublish {
        self.publish
    }

    /// The SEND's destination, headers and body, for a one-off send.
    pub(crate) fn into_send_parts(self) -> (String, Vec<(String, String)>, Vec<u8>) {
        (self.destination, self.headers, self.publish.body)
    }
}

/// Everything a publish is checked for before sending, without a channel: names
/// within 255 bytes, a routing key for the default exchange, no reserved
/// application header, and a frame within `max_frame` bytes. Returns the SEND
/// headers for `properties`.
///
/// # Errors
///
/// [`RabbitError::NameTooLong`], [`RabbitError::EmptyRoutingKey`],
/// [`RabbitError::DefaultExchangeByName`],
/// [`RabbitError::ReservedHeader`] or [`RabbitError::TooLarge`]: the broker
/// would refuse it (or never confirm it), so
/// it is refused here, before it can hold up anything else.
/// [`RabbitError::HeadersTooLarge`] when its headers would come back over what
/// Burrow's decoder takes.
pub fn check_publish(
    exchange: &str,
    routing_key: &str,
    body_len: usize,
    properties: &BasicProperties,
    max_frame: usize,
) -> Result<Vec<(String, String)>, RabbitError> {
    check_name(exchange)?;
    check_name(routing_key)?;
    // Sent, it would wait for a receipt that never comes.
    if exchange.is_empty() && routing_key.is_empty() {
        return Err(RabbitError::EmptyRoutingKey);
    }
    if exchange == DEFAULT_EXCHANGE_ALIAS {
        return Err(RabbitError::DefaultExchangeByName);
    }
    let headers = properties.to_headers()?;
    let destination = publish_destination(exchange, routing_key);
    let mut counted = headers.clone();
    // A resent copy carries one more header; count it so a resend never goes over.
    counted.push((RESENT_HEADER.to_owned(), "true".to_owned()));
    limits::check_publish_size(&destination, &counted, body_len, max_frame).map_err(RabbitError::TooLarge)?;
    // A Burrow consumer could not read it back: refused now.
    limits::check_round_trip_headers(&counted)?;
    Ok(headers)
}
