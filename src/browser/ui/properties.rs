//! A message's properties as rows of a list, the way the cards and a peek show them.

use crate::rabbit::BasicProperties;

/// Every property that is set, then every header, as (name, value) rows; names
/// as pika spells them.
pub fn property_rows(properties: &BasicProperties) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let mut row = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            rows.push((name.to_owned(), value));
        }
    };
    row("delivery_mode", properties.persistent.then(|| "2 (persistent)".to_owned()));
    row("content_type", properties.content_type.clone());
    row("content_encoding", properties.content_encoding.clone());
    row("priority", properties.priority.map(|p| p.to_string()));
    row("correlation_id", properties.correlation_id.clone());
    // As sent, as a peek and pika show it (not Web-STOMP's "/reply-queue/<name>").
    row("reply_to", properties.reply_to_as_sent().map(str::to_owned));
    row("expiration", properties.expiration.clone());
    row("message_id", properties.message_id.clone());
    // Seconds since the epoch, as AMQP keeps it, and as a date (QA: a bare number).
    row("timestamp", properties.timestamp.map(timestamp_words));
    row("type", properties.kind.clone());
    row("user_id", properties.user_id.clone());
    row("app_id", properties.app_id.clone());
    row("x-stream-filter-value", properties.stream_filter_value.clone());
    for (name, value) in &properties.headers {
        rows.push((format!("header {name}"), value.clone()));
    }
    rows
}

/// `1796626292 (2026-12-07T06:51:32Z)`: AMQP's seconds, and the date they are.
fn timestamp_words(seconds: u64) -> String {
    // Beyond what a JavaScript Date holds, toISOString would throw: the number alone.
    if seconds > 8_640_000_000_000 {
        return seconds.to_string();
    }
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(seconds as f64 * 1000.0));
    let iso: String = date.to_iso_string().into();
    // "…T06:51:32.000Z": AMQP has no milliseconds to show.
    format!("{seconds} ({}Z)", iso.trim_end_matches('Z').trim_end_matches(".000"))
}
