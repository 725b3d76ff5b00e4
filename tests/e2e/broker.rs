#![allow(dead_code)]
//! The broker's side of the end-to-end checks: its management API (through curl,
//! as an administrator would look) and AMQP (lapin) to fill queues quickly.

use std::process::Command;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};

/// The user `./burrow setup` creates (the same environment variables override it).
pub fn setup_user() -> (String, String) {
    let login = std::env::var("BURROW_RABBIT_USER").unwrap_or_else(|_| "burrow".into());
    let passcode = std::env::var("BURROW_RABBIT_PASSWORD").unwrap_or_else(|_| "burrow".into());
    (login, passcode)
}

/// A user only this test logs in as (administrator, all permissions on `/`), so
/// the connections it counts on the shared broker are the page's own.
pub const E2E_USER: &str = "burrow-e2e";
/// A user with all permissions on `/` but no management tag: the management API
/// refuses it, Web-STOMP does not.
pub const NO_TAG_USER: &str = "burrow-notag";

/// `method` on the management API's `path` with a JSON `body`; the HTTP status and the answer.
pub fn api(method: &str, path: &str, body: Option<&serde_json::Value>) -> (u16, serde_json::Value) {
    let (login, passcode) = setup_user();
    let mut command = Command::new("curl");
    command.args(["-s", "-w", "\n%{http_code}", "-X", method, "-u", &format!("{login}:{passcode}")]);
    if let Some(body) = body {
        command.args(["-H", "content-type: application/json", "-d", &body.to_string()]);
    }
    let out = command.arg(format!("http://127.0.0.1:15672/api{path}")).output().expect("curl the management API");
    let text = String::from_utf8_lossy(&out.stdout);
    let (json, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (status.trim().parse().unwrap_or(0), serde_json::from_str(json).unwrap_or(serde_json::Value::Null))
}

/// Creates (or resets) `user` with `password` and `tags`, with every permission on `/`.
pub fn ensure_user(user: &str, password: &str, tags: &str) {
    let (status, _) = api("PUT", &format!("/users/{user}"), Some(&serde_json::json!({ "password": password, "tags": tags })));
    assert!((200..300).contains(&status), "creating user {user}: HTTP {status}");
    let all = serde_json::json!({ "configure": ".*", "write": ".*", "read": ".*" });
    let (status, _) = api("PUT", &format!("/permissions/%2F/{user}"), Some(&all));
    assert!((200..300).contains(&status), "permissions for {user}: HTTP {status}");
}

/// The names of the broker's client connections of `user` now.
pub fn connections_of(user: &str) -> Vec<String> {
    let (_, list) = api("GET", "/connections?columns=name,user", None);
    list.as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["user"].as_str() == Some(user))
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect()
}

/// The names of the broker's client connections opened at or after `since`
/// (milliseconds since the epoch): the app page's connections, which may still be
/// closing when the embed page loads, are older.
pub fn connection_names(since: u128) -> std::collections::BTreeSet<String> {
    let (_, list) = api("GET", "/connections?columns=name,connected_at", None);
    list.as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["connected_at"].as_u64().is_some_and(|at| u128::from(at) >= since))
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect()
}

/// The queue as the management API has it, `None` when there is none.
pub fn queue(name: &str) -> Option<serde_json::Value> {
    let (status, json) = api("GET", &format!("/queues/%2F/{}", encode(name)), None);
    (status == 200).then_some(json)
}

/// Waits (up to [`super::page::WAIT`]) until the management API's `figure` of
/// `queue` (`messages_ready`, `messages`, …) is `value`.
pub async fn queue_figure_becomes(queue: &str, figure: &str, value: u64) {
    let start = std::time::Instant::now();
    loop {
        let now = self::queue(queue).and_then(|q| q[figure].as_u64());
        if now == Some(value) {
            return;
        }
        assert!(start.elapsed() < super::page::WAIT, "“{queue}” has {figure} {now:?}, {value} expected");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// Deletes the queue if it exists.
pub fn delete_queue(name: &str) {
    api("DELETE", &format!("/queues/%2F/{}", encode(name)), None);
}

/// Percent-encodes a name for a path segment.
pub fn encode(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Milliseconds since the epoch.
pub fn epoch_ms() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default()
}

/// Declares `queue` (classic, not durable) and puts `count` messages in it through
/// AMQP, each confirmed: `body #n`.
pub async fn fill_queue(queue: &str, count: u32, body: &str) {
    let (login, passcode) = setup_user();
    let url = format!("amqp://{login}:{passcode}@127.0.0.1:5672/%2f");
    let connection = Connection::connect(&url, ConnectionProperties::default()).await.expect("AMQP connection");
    let channel = connection.create_channel().await.expect("channel");
    channel.queue_declare(queue, QueueDeclareOptions::default(), FieldTable::default()).await.expect("declare");
    channel.confirm_select(ConfirmSelectOptions::default()).await.expect("confirms");
    let mut confirms = Vec::with_capacity(count as usize);
    for n in 1..=count {
        let payload = format!("{body} #{n}");
        let confirm = channel
            .basic_publish("", queue, BasicPublishOptions::default(), payload.as_bytes(), BasicProperties::default())
            .await
            .expect("publish");
        confirms.push(confirm);
    }
    for confirm in confirms {
        assert!(confirm.await.expect("confirm").is_ack(), "the broker confirmed it");
    }
    connection.close(200, "filled").await.expect("close");
}
