//! Stream offsets as the forms take them: a choice and, for some, a value.

use crate::rabbit::StreamOffset;

/// The choices of a stream offset picker (value, label).
pub const OFFSET_CHOICES: [(&str, &str); 5] = [
    ("first", "first (the oldest kept)"),
    ("last", "last (the last chunk)"),
    ("next", "next (only new ones)"),
    ("offset", "offset…"),
    ("time", "time…"),
];

/// Reads a stream offset picker: `choice` is "" (none), first, last, next, offset
/// or time; `value` the offset (a whole number) or the time (as typed, read by
/// the browser's `Date.parse`, local time).
pub fn read_offset(choice: &str, value: &str) -> Result<Option<StreamOffset>, String> {
    let value = value.trim();
    match choice {
        "" => Ok(None),
        "offset" => value
            .parse::<u64>()
            .map(|n| Some(StreamOffset::Offset(n)))
            .map_err(|_| format!("“{value}” is not an offset: a whole number, 0 or more")),
        "time" => {
            let millis = js_sys::Date::parse(value);
            if millis.is_finite() && millis >= 0.0 {
                Ok(Some(StreamOffset::Timestamp((millis / 1000.0).floor() as u64)))
            } else {
                Err(format!("“{value}” is not a date and time, such as 2026-11-27 09:30"))
            }
        }
        other => other.parse::<StreamOffset>().map(Some).map_err(|e| e.to_string()),
    }
}
