//! What newer RabbitMQ versions add to STOMP, and which broker has it: stream
//! filtering (3.13) and consumer priorities (4.0), gated by the version in
//! CONNECTED's `server` header (`RabbitMQ/4.0.5`).
//!
//! Read from RabbitMQ's source (`deps/rabbitmq_stomp/src/rabbit_stomp_processor.erl`,
//! `subscribe_arguments`): 3.13.0 is the first whose STOMP plugin passes
//! `x-stream-filter` (split at commas) and `x-stream-match-unfiltered` on to
//! `basic.consume`; 4.0.0 the first that passes `x-priority` (as a signed byte).
//! An older plugin drops these headers without a word (measured: `x-priority` on
//! 3.10.8 delivers round-robin), so Burrow refuses them there instead, before
//! anything is sent. A publish's `x-stream-filter-value` is an ordinary message
//! header to every version; only 3.13+ streams index it, so it is gated the same.
//!
//! A `server` header that is absent or not `RabbitMQ/<x.y.z>` (a proxy, a broker
//! configured to hide it) gates nothing: the broker decides.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt;

use super::StreamOffset;
use crate::sans_io::text::parse_u64;

/// The publish header (and message property) a stream indexes for filtering.
pub const STREAM_FILTER_VALUE_HEADER: &str = "x-stream-filter-value";

/// The SUBSCRIBE header listing the filter values (comma-separated).
pub const STREAM_FILTER_HEADER: &str = "x-stream-filter";

/// The SUBSCRIBE header that also asks for messages published without a filter value.
pub const MATCH_UNFILTERED_HEADER: &str = "x-stream-match-unfiltered";

/// The SUBSCRIBE header of a consumer's priority.
pub const PRIORITY_HEADER: &str = "x-priority";

/// A RabbitMQ version, as the `server` header says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BrokerVersion {
    /// Major (3, 4).
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch.
    pub patch: u32,
}

impl BrokerVersion {
    /// The version in a `server` header such as `RabbitMQ/3.10.8` (a missing patch
    /// reads as 0; a suffix such as `-rc.1` is ignored); `None` for another product
    /// or a version that is not numbers.
    ///
    /// ```
    /// use burrow::rabbit::BrokerVersion;
    ///
    /// assert_eq!(BrokerVersion::from_server("RabbitMQ/4.0.5"), Some(BrokerVersion { major: 4, minor: 0, patch: 5 }));
    /// assert_eq!(BrokerVersion::from_server("nginx"), None);
    /// ```
    pub fn from_server(server: &str) -> Option<Self> {
        let version = server.trim().strip_prefix("RabbitMQ/")?;
        let numbers = version.split(['-', '+', ' ']).next()?;
        let mut parts = numbers.split('.').map(|part| u32::try_from(parse_u64(part)?).ok());
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = match parts.next() {
            Some(patch) => patch?,
            None => 0,
        };
        Some(BrokerVersion { major, minor, patch })
    }
}

impl fmt::Display for BrokerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Something a newer RabbitMQ's STOMP plugin adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    /// `x-stream-filter` / `x-stream-match-unfiltered` on SUBSCRIBE, and a
    /// publish's `x-stream-filter-value`: RabbitMQ 3.13.
    StreamFilter,
    /// `x-priority` on SUBSCRIBE: RabbitMQ 4.0.
    ConsumerPriority,
    /// A stream's retention arguments on a declare, `x-max-age` and
    /// `x-stream-max-segment-size-bytes`: passed on by 4.0.5's adapter, not by
    /// 3.10.8's; 3.12.0 is the first release with both (some later 3.10 and 3.11
    /// patches have them too, and are refused here).
    StreamRetention,
}

impl Feature {
    /// The first RabbitMQ version whose STOMP plugin has it.
    pub fn since(self) -> BrokerVersion {
        match self {
            Feature::StreamFilter => BrokerVersion { major: 3, minor: 13, patch: 0 },
            Feature::ConsumerPriority => BrokerVersion { major: 4, minor: 0, patch: 0 },
            Feature::StreamRetention => BrokerVersion { major: 3, minor: 12, patch: 0 },
        }
    }

    /// Whether a broker whose `server` header says `server` has it: yes when the
    /// header is absent or unreadable (the broker decides then).
    ///
    /// # Errors
    ///
    /// [`Unsupported`] for a RabbitMQ older than [`Feature::since`].
    pub fn check(self, server: Option<&str>) -> Result<(), Unsupported> {
        let Some(server) = server else { return Ok(()) };
        match BrokerVersion::from_server(server) {
            Some(version) if version < self.since() => {
                Err(Unsupported { feature: self, server: server.trim().to_owned() })
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Feature::StreamFilter => "stream filtering",
            Feature::ConsumerPriority => "a consumer priority (x-priority)",
            Feature::StreamRetention => "a stream's x-max-age or x-stream-max-segment-size-bytes",
        })
    }
}

/// A feature the connected broker lacks: refused before anything was sent,
/// because that broker would ignore it without a word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{feature} needs RabbitMQ {since} or later; this broker is {server}", since = feature.since())]
pub struct Unsupported {
    /// What was asked for.
    pub feature: Feature,
    /// The broker's `server` header.
    pub server: String,
}

/// A stream consumer's filter: the broker delivers the chunks whose filter may
/// hold these values, and Burrow keeps only the messages that do (see
/// [`StreamFilter::admits`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamFilter {
    /// The `x-stream-filter-value`s wanted (at least one; none empty or with a comma).
    pub values: Vec<String>,
    /// Also the messages published without a filter value.
    pub match_unfiltered: bool,
}

impl StreamFilter {
    /// A filter on these values, without the unfiltered messages.
    pub fn new<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        StreamFilter { values: values.into_iter().map(Into::into).collect(), match_unfiltered: false }
    }

    /// Whether a message with this `x-stream-filter-value` (or none) is wanted.
    /// RabbitMQ's filter is per chunk (a Bloom filter of the chunk's values), so a
    /// chunk it delivers can hold other values too: this decides per message.
    pub fn admits(&self, value: Option<&str>) -> bool {
        match value {
            Some(value) => self.values.iter().any(|wanted| wanted == value),
            None => self.match_unfiltered,
        }
    }

    /// The SUBSCRIBE headers: `x-stream-filter` (comma-separated), and
    /// `x-stream-match-unfiltered:true` when asked.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut headers = vec![(STREAM_FILTER_HEADER.to_owned(), self.values.join(","))];
        if self.match_unfiltered {
            headers.push((MATCH_UNFILTERED_HEADER.to_owned(), "true".to_owned()));
        }
        headers
    }

    /// Checks the values: at least one, none empty, none with a comma.
    ///
    /// # Errors
    ///
    /// [`super::RabbitError::InvalidStreamFilter`] with why.
    pub fn check(&self) -> Result<(), super::RabbitError> {
        if self.values.is_empty() {
            return Err(super::RabbitError::InvalidStreamFilter("a stream filter needs at least one value".to_owned()));
        }
        self.values.iter().try_for_each(|value| check_filter_value(value))
    }
}

/// Checks one filter value: not empty, and no comma (RabbitMQ's STOMP plugin
/// splits `x-stream-filter` at commas, so a consumer could never name it).
///
/// # Errors
///
/// [`super::RabbitError::InvalidStreamFilter`] with why.
pub fn check_filter_value(value: &str) -> Result<(), super::RabbitError> {
    if value.is_empty() {
        return Err(super::RabbitError::InvalidStreamFilter("a stream filter value cannot be empty".to_owned()));
    }
    if value.contains(',') {
        return Err(super::RabbitError::InvalidStreamFilter(format!(
            "the stream filter value {} contains a comma, which RabbitMQ's STOMP plugin reads as a separator",
            crate::sans_io::text::Quoted(value)
        )));
    }
    Ok(())
}

/// What a SUBSCRIBE asks for beyond its ack mode and prefetch: where a stream
/// consumer starts, its stream filter, its priority.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ConsumeArguments {
    /// For a stream: where to start (`x-stream-offset`).
    pub stream_offset: Option<StreamOffset>,
    /// For a stream: which filter values (`x-stream-filter`, RabbitMQ 3.13+).
    pub stream_filter: Option<StreamFilter>,
    /// The consumer's priority (`x-priority`, RabbitMQ 4.0+): a queue gives its
    /// messages to the highest-priority consumers that have room, others only when
    /// those are full. RabbitMQ's STOMP plugin passes it as a signed byte. Not for
    /// a stream (RabbitMQ 4.0.5 refuses it there).
    pub priority: Option<i8>,
}

impl ConsumeArguments {
    /// Checks the filter's values and that the broker whose `server` header says
    /// `server` has what is asked for (see [`Feature::check`]).
    ///
    /// # Errors
    ///
    /// [`super::RabbitError::InvalidStreamFilter`] or [`super::RabbitError::Unsupported`].
    pub fn check(&self, server: Option<&str>) -> Result<(), super::RabbitError> {
        // No RabbitMQ takes a priority on a stream, so that is said first: the
        // same words whether the broker's version is known yet or not (a consumer
        // card subscribes before CONNECTED), and no "needs 4.0" that an upgrade
        // would not cure.
        if self.priority.is_some() && self.is_stream() {
            return Err(super::RabbitError::StreamConsume(super::StreamConsumeProblem::Priority));
        }
        if let Some(filter) = &self.stream_filter {
            filter.check()?;
            Feature::StreamFilter.check(server)?;
        }
        if self.priority.is_some() {
            Feature::ConsumerPriority.check(server)?;
        }
        Ok(())
    }

    /// Whether it subscribes to a stream (an offset or a filter).
    pub fn is_stream(&self) -> bool {
        self.stream_offset.is_some() || self.stream_filter.is_some()
    }

    /// The SUBSCRIBE headers.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut headers = Vec::new();
        if let Some(offset) = &self.stream_offset {
            headers.push((super::STREAM_OFFSET_HEADER.to_owned(), offset.header_value()));
        }
        if let Some(filter) = &self.stream_filter {
            headers.extend(filter.headers());
        }
        if let Some(priority) = self.priority {
            headers.push((PRIORITY_HEADER.to_owned(), priority.to_string()));
        }
        headers
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_the_server_header() {
        let v = |major, minor, patch| Some(BrokerVersion { major, minor, patch });
        assert_eq!(BrokerVersion::from_server("RabbitMQ/3.10.8"), v(3, 10, 8));
        assert_eq!(BrokerVersion::from_server("RabbitMQ/4.1.0-rc.1"), v(4, 1, 0));
        assert_eq!(BrokerVersion::from_server("RabbitMQ/4.2"), v(4, 2, 0));
        assert_eq!(BrokerVersion::from_server("RabbitMQ/"), None);
        assert_eq!(BrokerVersion::from_server("RabbitMQ/x.y"), None);
        assert_eq!(BrokerVersion::from_server("ActiveMQ/5.18.0"), None);
    }

    #[test]
    fn features_are_gated_by_version_and_allowed_when_unknown() {
        let old = Some("RabbitMQ/3.10.8");
        let error = Feature::StreamFilter.check(old).unwrap_err();
        assert_eq!(
            error.to_string(),
            "stream filtering needs RabbitMQ 3.13.0 or later; this broker is RabbitMQ/3.10.8"
        );
        assert!(Feature::ConsumerPriority.check(Some("RabbitMQ/3.13.7")).is_err());
        assert!(Feature::StreamFilter.check(Some("RabbitMQ/3.13.0")).is_ok());
        assert!(Feature::ConsumerPriority.check(Some("RabbitMQ/4.0.5")).is_ok());
        assert!(Feature::ConsumerPriority.check(None).is_ok());
        assert!(Feature::ConsumerPriority.check(Some("something else")).is_ok());
    }

    #[test]
    fn the_filter_admits_its_values_and_unfiltered_only_when_asked() {
        let mut filter = StreamFilter::new(["red", "blue"]);
        assert!(filter.admits(Some("red")) && filter.admits(Some("blue")));
        assert!(!filter.admits(Some("green")) && !filter.admits(None));
        filter.match_unfiltered = true;
        assert!(filter.admits(None) && !filter.admits(Some("green")));
        assert_eq!(
            filter.headers(),
            vec![
                ("x-stream-filter".to_owned(), "red,blue".to_owned()),
                ("x-stream-match-unfiltered".to_owned(), "true".to_owned())
            ]
        );
    }

    #[test]
    fn filter_values_are_checked() {
        assert!(StreamFilter::new(Vec::<String>::new()).check().is_err());
        assert!(StreamFilter::new([""]).check().is_err());
        assert!(StreamFilter::new(["a,b"]).check().is_err());
        assert!(StreamFilter::new(["a", "b"]).check().is_ok());
    }

    #[test]
    fn consume_arguments_are_refused_on_a_broker_without_them() {
        let filtered = ConsumeArguments { stream_filter: Some(StreamFilter::new(["a"])), ..Default::default() };
        let prioritised = ConsumeArguments { priority: Some(10), ..Default::default() };
        let old = Some("RabbitMQ/3.10.8");
        let refusal = filtered.check(old).unwrap_err().to_string();
        assert_eq!(refusal, "stream filtering needs RabbitMQ 3.13.0 or later; this broker is RabbitMQ/3.10.8");
        let refusal = prioritised.check(Some("RabbitMQ/3.13.7")).unwrap_err().to_string();
        assert_eq!(
            refusal,
            "a consumer priority (x-priority) needs RabbitMQ 4.0.0 or later; this broker is RabbitMQ/3.13.7"
        );
        assert!(filtered.check(Some("RabbitMQ/4.0.5")).is_ok() && prioritised.check(Some("RabbitMQ/4.0.5")).is_ok());
        assert!(ConsumeArguments::default().check(old).is_ok());
        assert_eq!(prioritised.headers(), vec![("x-priority".to_owned(), "10".to_owned())]);
    }
}
