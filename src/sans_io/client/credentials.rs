//! Credentials fetched for each connection (an OAuth2 token as the passcode,
//! say), why fetching them failed, and reading a JWT's expiry without verifying
//! it: the broker verifies; Burrow only needs to know when to fetch a new one,
//! and to say so when the broker refused a token that had expired.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt;
use std::time::Duration;

use super::close::ServerError;
use super::types::Seconds;
use crate::sans_io::text::parse_u64;

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
    let json = String::from_utf8(base64url_decode(payload)?).ok()?;
    // RFC 7519 allows a fraction of a second: the whole seconds count. Read as an
    // integer: float parsing would add 5 KB to the wasm for this one claim.
    let number = top_level_number(&json, "exp")?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, "0"));
    fraction.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
    parse_u64(whole)
}

/// The text of the number that `key` names at the top level of a JSON object:
/// a scanner that follows strings (with their escapes) and nesting, so a
/// nested `"exp"` or one inside a string does not count. (No JSON library in
/// the wasm for one claim: it cost the package 16 KB gzipped.)
fn top_level_number<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let bytes = json.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let start = i + 1;
                i = start;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                let name = json.get(start..i)?;
                let rest = json.get(i + 1..)?.trim_start();
                if depth == 1 && name == key {
                    if let Some(value) = rest.strip_prefix(':') {
                        let value = value.trim_start();
                        let end = value
                            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
                            .unwrap_or(value.len());
                        return Some(value.get(..end)?).filter(|number| !number.is_empty());
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Standard base64 with padding, for HTTP Basic authentication (the management
/// API): `btoa` only takes Latin-1, and credentials may be UTF-8.
#[cfg(any(target_arch = "wasm32", test))]
pub(crate) fn basic_auth_base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4 {
            // A sextet is below 64, so the alphabet always has it; '=' pads.
            let sextet = ((n >> (18 - 6 * i)) & 63) as usize;
            let digit = ALPHABET.get(sextet).filter(|_| i <= chunk.len());
            out.push(digit.map_or('=', |&d| char::from(d)));
        }
    }
    out
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
    fn exp_is_read_at_the_top_level_only() {
        assert_eq!(top_level_number(r#"{"sub":"a","exp":1700000000}"#, "exp"), Some("1700000000"));
        assert_eq!(top_level_number(r#"{ "exp" : 17.5 , "x": 1}"#, "exp"), Some("17.5"));
        assert_eq!(top_level_number(r#"{"n":{"exp":5},"s":"\"exp\":6"}"#, "exp"), None);
        assert_eq!(top_level_number(r#"{"exp":"soon"}"#, "exp"), None);
        assert_eq!(top_level_number(r#"{"exp":1"#, "exp"), Some("1"));
        assert_eq!(top_level_number(r#"{"ex"#, "exp"), None);
    }

    #[test]
    fn basic_auth_base64_matches_rfc_4648() {
        assert_eq!(basic_auth_base64(b""), "");
        assert_eq!(basic_auth_base64(b"f"), "Zg==");
        assert_eq!(basic_auth_base64(b"fo"), "Zm8=");
        assert_eq!(basic_auth_base64(b"foo"), "Zm9v");
        assert_eq!(basic_auth_base64(b"burrow:burrow"), "YnVycm93OmJ1cnJvdw==");
        assert_eq!(basic_auth_base64("用户:密码".as_bytes()), "55So5oi3OuWvhueggQ==");
    }

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
