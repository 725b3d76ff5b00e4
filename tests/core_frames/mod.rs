//! What the native tests of the reliability core share: a core connected on
//! a link, what it writes as text, the frames in it, and a reconnect.
#![allow(dead_code)]

use std::time::Duration;

use burrow::client::{Credentials, SocketClose};
use burrow::rabbit::{ConsumeFrom, QueueOptions};
use burrow::client::ConnectOptions;
use burrow::reliable::{Action, ConsumeOptions, ConsumerKey, Core, LinkId, ReliableEvent, ReliableOptions};

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A core connected at `now` on a fresh link; returns the link.
pub fn connect(core: &mut Core, now: Duration) -> LinkId {
    connect_as(core, now, None)
}

/// As [`connect`], the broker's CONNECTED carrying `session` (RabbitMQ's always does).
pub fn connect_as(core: &mut Core, now: Duration, session: Option<&str>) -> LinkId {
    let link = loop {
        match core.poll_action() {
            Some(Action::Open { link, .. }) => break link,
            Some(_) => {}
            None => panic!("a socket was asked for"),
        }
    };
    core.handle_opened(now, link);
    let mut out = Vec::new();
    core.poll_transmit(now, &mut out);
    let session = session.map(|s| format!("session:{s}\n")).unwrap_or_default();
    core.handle_bytes(now, link, format!("CONNECTED\nversion:1.2\n{session}heart-beat:0,0\n\n\0").as_bytes());
    link
}

/// What the core writes now, as text.
pub fn written(core: &mut Core, now: Duration) -> String {
    let mut out = Vec::new();
    while core.poll_transmit(now, &mut out).is_some() {}
    String::from_utf8_lossy(&out).into_owned()
}

/// The SUBSCRIBE in `text`: its headers, one `name:value` a line.
pub fn subscribe_frame(text: &str) -> Vec<String> {
    let start = text.find("SUBSCRIBE\n").expect("a SUBSCRIBE was written");
    let frame = &text[start..];
    let end = frame.find("\n\n").expect("the end of its headers");
    frame[..end].lines().skip(1).map(str::to_owned).collect()
}

pub fn receipt_of(headers: &[String]) -> String {
    headers.iter().find_map(|h| h.strip_prefix("receipt:")).expect("a receipt header").to_owned()
}

/// The frame of `text` (frames end in NUL) that holds `line`, and the ones after it.
pub fn frames_from<'a>(text: &'a str, line: &str) -> Vec<&'a str> {
    let frames: Vec<&str> = text.split('\0').map(str::trim_start).collect();
    let first = frames.iter().position(|frame| frame.lines().any(|l| l == line));
    first.map(|at| frames[at..].to_vec()).unwrap_or_default()
}

/// The receipt of the declare of `queue` in `text`: the fence SEND after its
/// `SEND /queue/<queue>` carries it.
pub fn declare_receipt(text: &str, queue: &str) -> String {
    let frames = frames_from(text, &format!("destination:/queue/{queue}"));
    let receipt = frames.iter().find_map(|frame| frame.lines().find_map(|l| l.strip_prefix("receipt:")));
    receipt.expect("the declare's receipt").to_owned()
}

/// RabbitMQ's tutorial 6 server on a core: `queue_declare("rpc_queue")` (not
/// durable) answered, then a consumer on it, subscribed. Returns the link.
pub fn tutorial_6_server(core: &mut Core) -> (LinkId, ConsumerKey) {
    declared_and_consumed(core, &QueueOptions::default())
}

/// As [`tutorial_6_server`], its queue declared with `options`.
pub fn declared_and_consumed(core: &mut Core, options: &QueueOptions) -> (LinkId, ConsumerKey) {
    core.start(ms(0));
    let link = connect(core, ms(1));
    let declare = core.queue_declare(ms(2), "rpc_queue", options).expect("declare");
    let receipt = declare_receipt(&written(core, ms(2)), "rpc_queue");
    core.handle_bytes(ms(3), link, format!("RECEIPT\nreceipt-id:{receipt}\n\n\0").as_bytes());
    let declared = std::iter::from_fn(|| core.poll_event()).any(|e| e == ReliableEvent::Declared { request: declare, result: Ok(()) });
    assert!(declared, "the user's declare is answered");
    let key = core.basic_consume(ms(4), ConsumeFrom::Queue("rpc_queue".into()), ConsumeOptions::default()).expect("consume");
    let headers = subscribe_frame(&written(core, ms(4)));
    core.handle_bytes(ms(5), link, format!("RECEIPT\nreceipt-id:{}\n\n\0", receipt_of(&headers)).as_bytes());
    (link, key)
}

/// The connection closes (`code`, `reason`); the core reconnects at its retry.
/// Returns the new link, what it wrote, and when.
pub fn reconnect(core: &mut Core, link: LinkId, now: Duration, code: u16, reason: &str) -> (LinkId, String, Duration) {
    core.handle_closed(now, link, SocketClose::new(code, reason));
    reconnect_at_retry(core)
}

/// The connection, closed already, reconnects at its retry. Returns the new
/// link, what it wrote, and when.
pub fn reconnect_at_retry(core: &mut Core) -> (LinkId, String, Duration) {
    let retry = core.poll_timeout().expect("a retry");
    core.handle_timeout(retry);
    let next = connect(core, retry);
    (next, written(core, retry), retry)
}

/// A token renewal on `core`: the timers run until the provider is asked
/// (answered with `fresh`) and a socket opens beside the old one. Returns the
/// new link and when.
pub fn renewal_socket(core: &mut Core, mut now: Duration, fresh: Credentials) -> (LinkId, Duration) {
    let link = loop {
        match core.poll_action() {
            Some(Action::Credentials { id, .. }) => core.handle_credentials(now, id, Ok(fresh.clone())),
            Some(Action::Open { link, .. }) => break link,
            Some(_) => {}
            None => {
                now = core.poll_timeout().expect("a renewal is planned");
                core.handle_timeout(now);
            }
        }
    };
    (link, now)
}

/// Credentials `token-<n>` that live 10 s.
pub fn token(n: u32) -> Credentials {
    Credentials { expires_in: Some(Duration::from_secs(10)), ..Credentials::new("user", format!("token-{n}")) }
}

/// A core with a credentials provider, connected at 3 ms with [`token`] 1;
/// returns it and its link.
pub fn connected_with_tokens() -> (Core, LinkId) {
    let options = ReliableOptions { ask_credentials: true, ..ReliableOptions::default() };
    let mut core = Core::new(vec!["ws://broker/ws".into()], ConnectOptions::new("/"), options, 3);
    core.start(ms(0));
    let Some(Action::Credentials { id, .. }) = core.poll_action() else { panic!("the provider first") };
    core.handle_credentials(ms(1), id, Ok(token(1)));
    let Some(Action::Open { link, .. }) = core.poll_action() else { panic!("a socket") };
    core.handle_opened(ms(2), link);
    written(&mut core, ms(2));
    core.handle_bytes(ms(3), link, b"CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\0");
    (core, link)
}
