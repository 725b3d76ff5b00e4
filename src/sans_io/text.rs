//! Small text helpers that keep core's heavier machinery out of the wasm: a
//! quoted value for error messages without `str`'s `Debug` (its escaping of
//! non-printable Unicode pulls in tables and code), and a substring search
//! without `str::contains(&str)`'s Two-Way searcher and its panicking slicing.
//! The texts searched are short (error messages, URLs), so a plain scan does.
//! And [`IdText`], an id made as text that sorts in the order it was made.

use std::cmp::Ordering;
use std::fmt;

/// Writes the text in double quotes, escaping `"`, `\` and ASCII control
/// characters as `{:?}` does (`\n`, `\u{1b}`, …); anything else, Chinese
/// included, goes out as it is.
pub(crate) struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        let mut plain = 0;
        for (at, byte) in self.0.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                b'\0' => "\\0",
                0..=0x1f | 0x7f => "",
                _ => continue,
            };
            // `at` is an ASCII byte, so both slices end on a char boundary.
            f.write_str(self.0.get(plain..at).unwrap_or_default())?;
            if escape.is_empty() {
                write!(f, "\\u{{{byte:x}}}")?;
            } else {
                f.write_str(escape)?;
            }
            plain = at + 1;
        }
        f.write_str(self.0.get(plain..).unwrap_or_default())?;
        f.write_str("\"")
    }
}

/// Texts written with ", " between them, as `join(", ")` makes them, without
/// building the joined `String` (its length sum and copy loops) in the wasm.
pub(crate) struct Listed<'a>(pub &'a [&'a str]);

impl fmt::Display for Listed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, text) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(text)?;
        }
        Ok(())
    }
}

/// `str::parse::<u64>()`'s answer, as one function for every unsigned number
/// read (narrower types through `try_from`): std's parser is inlined at each
/// call site and type. The same rules: an optional `+`, then one or more ASCII
/// digits; `None` for anything else or past `u64::MAX`.
pub(crate) fn parse_u64(text: &str) -> Option<u64> {
    let digits = text.strip_prefix('+').unwrap_or(text);
    if digits.is_empty() {
        return None;
    }
    let mut number: u64 = 0;
    for byte in digits.bytes() {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        number = number.checked_mul(10)?.checked_add(u64::from(digit))?;
    }
    Some(number)
}

/// `str::parse::<i64>()`'s answer through [`parse_u64`]: an optional `-` or `+`,
/// then one or more ASCII digits, within `i64`'s range.
pub(crate) fn parse_i64(text: &str) -> Option<i64> {
    match text.strip_prefix('-') {
        // "-+1" is no number to std either.
        Some(digits) if digits.starts_with('+') => None,
        Some(digits) => 0i64.checked_sub_unsigned(parse_u64(digits)?),
        None => i64::try_from(parse_u64(text)?).ok(),
    }
}

/// Where `needle` first occurs in `haystack`, as `str::find(&str)`.
pub(crate) fn find(haystack: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.as_bytes().windows(needle.len()).position(|window| window == needle.as_bytes())
}

/// Whether `needle` occurs in `haystack`, as `str::contains(&str)`.
pub(crate) fn contains(haystack: &str, needle: &str) -> bool {
    find(haystack, needle).is_some()
}

/// The text before and after the first `needle`, as `str::split_once(&str)`.
pub(crate) fn split_once<'a>(haystack: &'a str, needle: &str) -> Option<(&'a str, &'a str)> {
    let at = find(haystack, needle)?;
    // A match of valid UTF-8 in valid UTF-8 starts and ends on char boundaries.
    Some((haystack.get(..at)?, haystack.get(at + needle.len()..)?))
}

/// An id made as text ending in a growing number (`burrow-…-9`, then
/// `burrow-…-10`; a delivery's ack id, `T_<subscription>@@<session>@@<tag>`),
/// sorted by that number first (shorter first, then by its digits), then as
/// [`shortlex`]: in the order made, so in a sorted map (`map::RingMap`) a new one
/// goes at the back and the oldest leaves from the front, both O(1), where plain
/// text order (`-10` before `-9`) would put each mid-way. By the number first
/// because one connection's ack ids share one count across its subscriptions:
/// by the whole text they would sort by subscription. Any text is fine; only
/// speed depends on the ids growing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct IdText(pub String);

impl Ord for IdText {
    fn cmp(&self, other: &Self) -> Ordering {
        let (mine, theirs) = (trailing_digits(&self.0), trailing_digits(&other.0));
        shortlex(mine, theirs).then_with(|| shortlex(&self.0, &other.0))
    }
}

/// The digits `text` ends with (empty when it ends otherwise).
fn trailing_digits(text: &str) -> &str {
    let start = text.bytes().rposition(|byte| !byte.is_ascii_digit()).map_or(0, |at| at + 1);
    text.get(start..).unwrap_or_default()
}

impl PartialOrd for IdText {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Shorter first, then by bytes: the order ids with a growing number were made in.
pub(crate) fn shortlex(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_as_debug_does_for_ascii_and_keeps_other_text() {
        for text in ["", "plain", "say \"hi\"", "back\\slash", "a\nb\r\tc\0", "esc\u{1b}del\u{7f}", "队列", "🐇 x"] {
            assert_eq!(Quoted(text).to_string(), format!("{text:?}"));
        }
    }

    #[test]
    fn parses_unsigned_numbers_as_std_does() {
        let texts = [
            "", "0", "7", "+7", "-7", "+", "-", "++7", " 7", "7 ", "1_000", "0x10", "007", "٣",
            "18446744073709551615", "18446744073709551616", "99999999999999999999x", "255", "256",
            "-0", "--7", "-+7", "+-7", "9223372036854775807", "9223372036854775808",
            "-9223372036854775808", "-9223372036854775809",
        ];
        for text in texts {
            assert_eq!(parse_u64(text), text.parse::<u64>().ok(), "{text:?}");
            assert_eq!(parse_i64(text), text.parse::<i64>().ok(), "{text:?}");
        }
        assert_eq!(Listed(&["a", "b", "c"]).to_string(), ["a", "b", "c"].join(", "));
        assert_eq!(Listed(&[]).to_string(), "");
    }

    #[test]
    fn ids_sort_in_the_order_made() {
        let mut ids: Vec<IdText> = [10, 9, 100, 1].iter().map(|n| IdText(format!("burrow-1f-{n}"))).collect();
        ids.sort();
        let made: Vec<&str> = ids.iter().map(|id| id.0.as_str()).collect();
        assert_eq!(made, ["burrow-1f-1", "burrow-1f-9", "burrow-1f-10", "burrow-1f-100"]);
        // One connection's ack ids: one count across its subscriptions.
        let arrived = ["T_sub-2@@s@@7", "T_sub-1@@s@@8", "T_sub-10@@s@@9", "T_sub-1@@s@@10", "T_sub-2@@s@@11"];
        let mut ids: Vec<IdText> = arrived.iter().rev().map(|id| IdText((*id).to_owned())).collect();
        ids.sort();
        let sorted: Vec<&str> = ids.iter().map(|id| id.0.as_str()).collect();
        assert_eq!(sorted, arrived);
    }

    #[test]
    fn searches_as_str_does() {
        for (haystack, needle) in [("", ""), ("abc", ""), ("", "a"), ("ws://h/p", "://"), ("队列 'x' in vhost", "' in vhost"), ("aab", "ab"), ("ab", "abc")] {
            assert_eq!(find(haystack, needle), haystack.find(needle));
            assert_eq!(contains(haystack, needle), haystack.contains(needle));
            assert_eq!(split_once(haystack, needle), haystack.split_once(needle));
        }
    }
}
