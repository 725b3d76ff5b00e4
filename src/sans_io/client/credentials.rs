//! Credentials fetched for each connection (an OAuth2 token as the passcode,
//! say), why fetching them failed, and reading a JWT's expiry without verifying
//! it: the broker verifies; Burrow only needs to know when to fetch a new one,
//! and to say so when the broker refused a token that had expired.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt;
use std::time::Duration;

use super::types::{Seconds, ServerError};

/// What a credentials provider answers: the `login` and `passcode` of the next
/// CONNECT, and when they stop being valid if the provider knows (a token's
/// lifetime). A passcode that is a JWT with an `exp` claim is read for its expiry
/// too; the earlier of the two counts.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Sent as `login` (RabbitMQ's OAuth2 backend ignores it; any name will do).
    pub login: String,
    /// Sent as `passcode` (the token). Kept in memory only.
    pub passcode: String,
    /// How long from when the provider answered until they expire, if known.
    pub expires_in: Option<Duration>,
}

impl fmt::Debug for Credentials {
    // The passcode is a secret: never in a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("login", &self.login)
            .field("passcode", &"<hidden>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

impl Credentials {
    /// Credentials with no known expiry (besides a JWT passcode's own `exp`).
    pub fn new(login: impl Into<String>, passcode: impl Into<String>) -> Self {
        Credentials { login: login.into(), passcode: passcode.into(), expires_in: None }
    }
}

/// Why no credentials came for a connection attempt; the attempt counts as failed
/// and is retried with the backoff, nothing in the outbox lost.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// The provider failed (its Promise rejected, its future returned an error),
    /// in its own words.
    #[error("the credentials provider failed: {0}")]
    Failed(String),
    /// The provider did not answer in time.
    #[error("the credentials provider did not answer within {}", Seconds(*.0))]
    TimedOut(Duration),
}

/// The broker refused CONNECT, and the token Burrow sent as the passcode had
/// expired (its JWT `exp`): RabbitMQ only says "Access refused" for any bad token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the token sent as the passcode had expired (its exp, {expired_at} s after 1970, was {} before CONNECT), so the broker refused it: {refused}",
    Seconds(*.expired_for)
)]
pub struct TokenExpired {
    /// The token's `exp`, in seconds since 1970.
    pub expired_at: u64,
    /// How long before the CONNECT it expired.
    pub expired_for: Duration,
    /// The broker's own words.
    #[source]
    pub refused: ServerError,
}

/// The `exp` claim of a JWT (seconds since 1970), read without verifying the
/// signature; `None` for anything that is not a JWT with a numeric `exp`.
///
/// ```
/// use burrow::client::jwt_expiry;
///
/// // {"alg":"HS256"} . {"sub":"burrow","exp":1700000000} . signature
/// let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJidXJyb3ciLCJleHAiOjE3MDAwMDAwMDB9.c2ln";
/// assert_eq!(jwt_expiry(token), Some(1_700_000_000));
/// assert_eq!(jwt_expiry("burrow"), None);
/// ```
pub fn jwt_expiry(token: &str) -> Option<u64> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&base64url_decode(payload)?).ok()?;
    let exp = json.get("exp")?;
    // RFC 7519 allows a fraction of a second.
    exp.as_u64().or_else(|| exp.as_f64().filter(|e| *e >= 0.0).map(|e| e as u64))
}

/// Base64url without padding (RFC 4648 §5), as JWTs use it; padding is accepted.
fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in text.trim_end_matches('=').bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips_what_jwts_use() {
        assert_eq!(base64url_decode("eyJleHAiOjF9").as_deref(), Some(&b"{\"exp\":1}"[..]));
        assert_eq!(base64url_decode("_-8"), Some(vec![0xff, 0xef]));
        assert_eq!(base64url_decode("a b"), None);
    }

    #[test]
    fn a_fractional_exp_counts_and_a_missing_one_does_not() {
        // {"exp":12.5} and {"sub":"x"}
        assert_eq!(jwt_expiry("e30.eyJleHAiOjEyLjV9.x"), Some(12));
        assert_eq!(jwt_expiry("e30.eyJzdWIiOiJ4In0.x"), None);
        assert_eq!(jwt_expiry("a.b.c.d"), None);
    }
}
