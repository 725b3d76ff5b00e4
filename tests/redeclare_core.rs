//! The core declaring again, natively, the queues a connection declared: before
//! the consumers at each later connection, once refused a warning, and an
//! exclusive queue the connection that dropped still holds kept until RabbitMQ
//! lets it go.

mod core_frames;

use std::time::Duration;

use burrow::client::{ConnectOptions, SocketClose};
use burrow::rabbit::{ConsumeFrom, QueueFacts, QueueOptions};
use burrow::reliable::{
    Action, ConnectionEvent, ConsumeOptions, ConsumerKey, Core, DeclareError, DeclareId, LinkId, ReliableEvent,
    ReliableOptions,
};
use core_frames::{
    connect, connected_with_tokens, declare_receipt, declared_and_consumed, frames_from, ms, receipt_of, reconnect,
    reconnect_at_retry, renewal_socket, subscribe_frame, token, tutorial_6_server, written,
};

/// QA: tutorial 6's server declared its non-durable queue once; a broker restart
/// deleted it, and the consumer's SUBSCRIBE to `/amq/queue/rpc_queue` (which does
/// not declare) failed NOT_FOUND after two reconnects: the server never served
/// again. The core declares again, on every later connection, each queue this
/// connection declared, before the consumers' SUBSCRIBEs, as its own: no
/// `Declared` for anyone.
#[test]
fn a_queue_declared_is_declared_again_before_its_consumer_after_a_reconnect() {
    let mut core = Core::new(vec!["ws://broker/ws".into()], ConnectOptions::new("/"), ReliableOptions::default(), 3);
    let (first, key) = tutorial_6_server(&mut core);
    std::iter::from_fn(|| core.poll_event()).for_each(drop);
    let (second, sent, now) = reconnect(&mut core, first, ms(10), 1006, "");
    let order = frames_from(&sent, "destination:/queue/rpc_queue");
    assert!(order.iter().any(|frame| frame.starts_with("SUBSCRIBE\n")), "declared again, then subscribed: {sent}");
    assert!(order.iter().any(|frame| frame.lines().any(|l| l == "durable:false")), "as declared: {sent}");
    let receipt = declare_receipt(&sent, "rpc_queue");
    core.handle_bytes(now, second, format!("RECEIPT\nreceipt-id:{receipt}\n\n\0").as_bytes());
    let headers = subscribe_frame(&sent);
    core.handle_bytes(now, second, format!("RECEIPT\nreceipt-id:{}\n\n\0", receipt_of(&headers)).as_bytes());
    let after: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(!after.iter().any(|e| matches!(e, ReliableEvent::Declared { .. })), "nobody waits for it: {after:?}");
    assert!(!after.iter().any(|e| matches!(e, ReliableEvent::Connection(ConnectionEvent::Warning(_)))), "{after:?}");
    assert!(after.contains(&ReliableEvent::Connection(ConnectionEvent::ConsumerReady(key))), "{after:?}");
    // And again on the connection after.
    let (_, sent, _) = reconnect(&mut core, second, now + ms(10), 1006, "");
    assert!(sent.contains("destination:/queue/rpc_queue"), "declared on every later connection: {sent}");
}

/// A declare again that RabbitMQ refuses (someone declared the queue otherwise
/// meanwhile) is said once, as a warning in RabbitMQ's words naming the queue,
/// and the queue is not declared again.
#[test]
fn a_queue_refused_when_declared_again_is_a_warning_and_not_declared_again() {
    let (mut core, second, now, _) = declared_again(ReliableOptions::default(), &QueueOptions::default());
    let detail = "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'rpc_queue' in vhost '/': received 'false' but current is 'true'";
    core.handle_bytes(now, second, format!("ERROR\nmessage:precondition_failed\n\n{detail}\0").as_bytes());
    core.handle_closed(now, second, SocketClose::new(1000, ""));
    let after: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(!after.iter().any(|e| matches!(e, ReliableEvent::Declared { .. })), "nobody waits for it: {after:?}");
    let warnings = warnings(&after);
    assert!(
        matches!(&warnings[..], [words] if words.contains("'rpc_queue'") && words.contains("inequivalent arg 'durable'")),
        "one warning naming the queue, in RabbitMQ's words: {warnings:?}"
    );
    let retry = core.poll_timeout().expect("a retry");
    core.handle_timeout(retry);
    connect(&mut core, retry);
    let sent = written(&mut core, retry);
    assert!(!sent.contains("destination:/queue/rpc_queue"), "not declared again: {sent}");
    assert!(sent.contains("destination:/amq/queue/rpc_queue"), "its consumer subscribes still: {sent}");
}

/// A declare again left unanswered when Web-STOMP closes without words (3.10.8
/// does on some refusals, and when another request beside it is refused) waits
/// for the facts, with its consumer: not sent on the next connection before
/// they come. Cleared by them (here the queue is missing, as after a broker
/// restart), it goes again there, then its consumer, and stays remembered. QA:
/// it was forgotten at such a close, so the next restart left a non-durable
/// queue undeclared and publishes to it were confirmed and lost.
#[test]
fn a_queue_declared_again_cut_without_words_waits_for_the_facts_then_goes_again() {
    let (mut core, look_up, third, retry) = declared_again_cut_without_words();
    let sent = written(&mut core, retry);
    assert!(!sent.contains("destination:/queue/rpc_queue"), "not declared again before the facts: {sent}");
    assert!(!sent.contains("SUBSCRIBE\n"), "its consumer waits with it: {sent}");
    core.handle_queue_facts(retry + ms(1), look_up.id, Ok(None));
    let sent = written(&mut core, retry + ms(1));
    assert!(sent.contains("destination:/queue/rpc_queue"), "declared again once cleared: {sent}");
    let receipt = declare_receipt(&sent, "rpc_queue");
    core.handle_bytes(retry + ms(2), third, format!("RECEIPT\nreceipt-id:{receipt}\n\n\0").as_bytes());
    let sent = written(&mut core, retry + ms(2));
    assert!(sent.contains("destination:/amq/queue/rpc_queue"), "then its consumer: {sent}");
    let after: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(warnings(&after).is_empty(), "nothing to warn of: {after:?}");
    assert!(!after.iter().any(|e| matches!(e, ReliableEvent::Declared { .. })), "nobody waits for it: {after:?}");
    let (_, sent, _) = reconnect(&mut core, third, retry + ms(10), 1006, "");
    assert!(sent.contains("destination:/queue/rpc_queue"), "still declared on later connections: {sent}");
}

/// The same, cut so a second time before it is answered: given up, said once
/// as a warning naming the queue, and not declared again (no reconnect loop).
#[test]
fn a_queue_declared_again_cut_twice_without_words_is_given_up() {
    let (mut core, look_up, third, retry) = declared_again_cut_without_words();
    core.handle_queue_facts(retry + ms(1), look_up.id, Ok(None));
    let sent = written(&mut core, retry + ms(1));
    assert!(sent.contains("destination:/queue/rpc_queue"), "declared again once cleared: {sent}");
    core.handle_closed(retry + ms(2), third, SocketClose::new(1000, "STOMP died"));
    let look_up = look_up_of(&mut core).expect("looked up again");
    core.handle_queue_facts(retry + ms(3), look_up.id, Ok(None));
    let after: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    let warnings = warnings(&after);
    assert!(matches!(&warnings[..], [words] if words.contains("queue 'rpc_queue'")), "said once: {after:?}");
    let (_, sent, _) = reconnect_at_retry(&mut core);
    assert!(!sent.contains("destination:/queue/rpc_queue"), "not declared again: {sent}");
}

/// Facts that refuse it (declared otherwise meanwhile) give it up at once.
#[test]
fn a_queue_declared_again_cut_without_words_and_refused_by_the_facts_is_given_up() {
    let (mut core, look_up, third, retry) = declared_again_cut_without_words();
    let durable = QueueFacts { durable: true, ..QueueFacts::default() };
    core.handle_queue_facts(retry + ms(1), look_up.id, Ok(Some(durable)));
    let sent = written(&mut core, retry + ms(1));
    assert!(!sent.contains("destination:/queue/rpc_queue"), "not declared again: {sent}");
    let after: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    let warnings = warnings(&after);
    assert!(
        matches!(&warnings[..], [words] if words.contains("'rpc_queue'") && words.contains("durable")),
        "said once, in RabbitMQ's words from the facts: {after:?}"
    );
    let (_, sent, _) = reconnect(&mut core, third, retry + ms(10), 1006, "");
    assert!(!sent.contains("destination:/queue/rpc_queue"), "forgotten: {sent}");
}

/// `rpc_queue` (not durable, a consumer on it) declared again on a second
/// connection that RabbitMQ closes without words; the next connection is up.
/// Returns the core, the look-up asked, that connection and when it came.
fn declared_again_cut_without_words() -> (Core, burrow::reliable::QueueLookUp, LinkId, Duration) {
    let (mut core, second, now, _) = declared_again(ReliableOptions::default(), &QueueOptions::default());
    core.handle_closed(now + ms(5), second, SocketClose::new(1000, "STOMP died"));
    let look_up = look_up_of(&mut core).expect("the queue is looked up");
    assert_eq!(look_up.queue, "rpc_queue");
    let retry = core.poll_timeout().expect("a retry");
    core.handle_timeout(retry);
    let third = connect(&mut core, retry);
    (core, look_up, third, retry)
}

/// The look-up the core asks the driver for, if any.
fn look_up_of(core: &mut Core) -> Option<burrow::reliable::QueueLookUp> {
    std::iter::from_fn(|| core.poll_action()).find_map(|a| match a {
        Action::LookUp(question) => Some(question),
        _ => None,
    })
}

/// A declare again cut short by the network (a 1006 close right after the
/// reconnect, as while a broker restarts) is sent again on the next connection:
/// only a close the broker made without words may be its refusal.
#[test]
fn a_queue_declared_again_cut_by_the_network_is_declared_again_next_time() {
    let mut core = Core::new(vec!["ws://broker/ws".into()], ConnectOptions::new("/"), ReliableOptions::default(), 3);
    let (first, _) = tutorial_6_server(&mut core);
    let (second, sent, now) = reconnect(&mut core, first, ms(10), 1006, "");
    assert!(sent.contains("destination:/queue/rpc_queue"), "{sent}");
    let (_, sent, _) = reconnect(&mut core, second, now + ms(5), 1006, "");
    assert!(sent.contains("destination:/queue/rpc_queue"), "declared again after the drop: {sent}");
    let after: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(!after.iter().any(|e| matches!(e, ReliableEvent::Connection(ConnectionEvent::Warning(_)))), "{after:?}");
}

/// A queue the user deleted through this connection (`queue_delete`, through the
/// management API) is forgotten: declared again, it would come back.
#[test]
fn a_queue_forgotten_is_not_declared_again() {
    let mut core = Core::new(vec!["ws://broker/ws".into()], ConnectOptions::new("/"), ReliableOptions::default(), 3);
    let (first, _) = tutorial_6_server(&mut core);
    core.forget_queue("rpc_queue");
    let (_, sent, _) = reconnect(&mut core, first, ms(10), 1006, "");
    assert!(!sent.contains("destination:/queue/rpc_queue"), "not declared again: {sent}");
}

/// A queue the user declares again while the connection is down (held) is the
/// user's to declare on the next connection, as they asked: not also declared
/// again by the core as it was.
#[test]
fn a_queue_declared_again_by_the_user_while_down_is_declared_once_as_asked() {
    let mut core = Core::new(vec!["ws://broker/ws".into()], ConnectOptions::new("/"), ReliableOptions::default(), 3);
    let (first, _) = tutorial_6_server(&mut core);
    core.handle_closed(ms(10), first, SocketClose::new(1006, ""));
    let held = core.queue_declare_or_hold(ms(11), "rpc_queue", &QueueOptions::durable()).expect("held");
    let retry = core.poll_timeout().expect("a retry");
    core.handle_timeout(retry);
    let second = connect(&mut core, retry);
    let sent = written(&mut core, retry);
    assert_eq!(sent.matches("destination:/queue/rpc_queue").count(), 1, "declared once: {sent}");
    assert!(frames_from(&sent, "destination:/queue/rpc_queue")[0].contains("durable:true"), "as asked: {sent}");
    let receipt = declare_receipt(&sent, "rpc_queue");
    core.handle_bytes(retry, second, format!("RECEIPT\nreceipt-id:{receipt}\n\n\0").as_bytes());
    let answered = std::iter::from_fn(|| core.poll_event()).any(|e| e == ReliableEvent::Declared { request: held, result: Ok(()) });
    assert!(answered, "the user's declare is answered");
    let remembered: Vec<(String, bool)> = core.declared_queues().map(|(q, o)| (q.to_owned(), o.durable)).collect();
    assert_eq!(remembered, [("rpc_queue".to_owned(), true)], "remembered as last declared");
}

/// A network drop RabbitMQ has not noticed: the connection that dropped still
/// holds its exclusive queue, so declaring it again is refused `RESOURCE_LOCKED`
/// (4.0.5's words; the refusal ends the connection). The queue and its consumer
/// are kept, said once as a warning: the next connection waits 2 s, then reads
/// the queue from the management API every 2 s until it is gone, declares it
/// again, and subscribes the consumer once that succeeds. Before, the queue was
/// "not declared again" and its consumer failed for good.
#[test]
fn an_exclusive_queue_the_dropped_connection_holds_is_declared_again_once_let_go() {
    let (mut core, second, now, key) = declared_again(ReliableOptions::default(), &exclusive());
    core.handle_bytes(now, second, LOCKED.as_bytes());
    let (third, sent, now) = reconnect(&mut core, second, now + ms(5), 1000, "");
    let after: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    let warnings = warnings(&after);
    assert!(
        matches!(&warnings[..], [words] if words.contains("'rpc_queue' is still held by the connection that ended")),
        "one warning, that the old connection holds it: {warnings:?}"
    );
    assert!(!after.iter().any(|e| matches!(e, ReliableEvent::Connection(ConnectionEvent::ConsumerFailed { .. }))), "{after:?}");
    assert!(!sent.contains("rpc_queue"), "neither declared nor subscribed at once: {sent}");
    let retry_at = core.poll_timeout().expect("a timer");
    assert_eq!(retry_at, now + Duration::from_secs(2), "looked up 2 s after connecting");
    core.handle_timeout(retry_at);
    let held = burrow::rabbit::QueueFacts { durable: false, exclusive: true, auto_delete: false, arguments: Vec::new(), consumers: None };
    let id = locked_look_up(&mut core);
    core.handle_queue_facts(retry_at, id, Ok(Some(held)));
    assert_eq!(written(&mut core, retry_at), "", "still held: nothing sent");
    let retry_at = core.poll_timeout().expect("a timer");
    assert_eq!(retry_at, now + Duration::from_secs(4), "looked up again 2 s later");
    core.handle_timeout(retry_at);
    let id = locked_look_up(&mut core);
    core.handle_queue_facts(retry_at, id, Ok(None));
    let sent = written(&mut core, retry_at);
    assert!(sent.contains("destination:/queue/rpc_queue") && !sent.contains("SUBSCRIBE"), "declared again, alone: {sent}");
    let receipt = declare_receipt(&sent, "rpc_queue");
    core.handle_bytes(retry_at, third, format!("RECEIPT\nreceipt-id:{receipt}\n\n\0").as_bytes());
    let sent = written(&mut core, retry_at);
    let headers = subscribe_frame(&sent);
    assert!(headers.iter().any(|h| h == "destination:/amq/queue/rpc_queue"), "then its consumer: {sent}");
    core.handle_bytes(retry_at, third, format!("RECEIPT\nreceipt-id:{}\n\n\0", receipt_of(&headers)).as_bytes());
    let after: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(after.contains(&ReliableEvent::Connection(ConnectionEvent::ConsumerReady(key))), "{after:?}");
    assert!(!after.iter().any(|e| matches!(e, ReliableEvent::Connection(ConnectionEvent::Warning(_)))), "{after:?}");
}

/// As above on RabbitMQ 3.10.8, which closes on the refusal without words: the
/// management API's facts (the queue exists, exclusive) say it is locked.
#[test]
fn an_exclusive_queue_refused_without_words_is_held_when_the_facts_say_locked() {
    let facts = burrow::rabbit::QueueFacts { durable: false, exclusive: true, auto_delete: false, arguments: Vec::new(), consumers: None };
    let (_, _, after) = declared_again_closed_without_words(Some(facts));
    let warnings = warnings(&after);
    assert!(matches!(&warnings[..], [words] if words.contains("still held")), "held, not given up: {warnings:?}");
}

/// The same close without words, but the facts say the queue is not there:
/// RabbitMQ let the old connection go (and deleted the queue with it), so
/// nothing holds it. No warning that the old connection holds it (simulation
/// seed 83 said so); as any queue whose declare again a close without words cut,
/// it waits (that close may have been its refusal), is looked up again and
/// declared again on the next connection, before its consumer.
#[test]
fn an_exclusive_queue_the_facts_say_is_gone_is_not_said_to_be_held() {
    let (mut core, key, after) = declared_again_closed_without_words(None);
    assert!(warnings(&after).is_empty(), "gone, not held: {:?}", warnings(&after));
    let retry = core.poll_timeout().expect("a retry");
    core.handle_timeout(retry);
    let third = connect(&mut core, retry);
    let mut now = retry;
    // Declared again (after a look-up, as a queue cut without words is), then its consumer.
    let sent = loop {
        let sent = written(&mut core, now);
        if sent.contains("destination:/queue/rpc_queue") {
            break sent;
        }
        if let Some(look_up) = look_up_of(&mut core) {
            core.handle_queue_facts(now, look_up.id, Ok(None));
            continue;
        }
        now = core.poll_timeout().expect("a timer");
        assert!(now < retry + Duration::from_secs(5), "declared again within 5 s");
        core.handle_timeout(now);
    };
    assert!(!sent.contains("SUBSCRIBE"), "the queue first: {sent}");
    let receipt = declare_receipt(&sent, "rpc_queue");
    core.handle_bytes(now, third, format!("RECEIPT\nreceipt-id:{receipt}\n\n\0").as_bytes());
    let sent = written(&mut core, now);
    let headers = subscribe_frame(&sent);
    core.handle_bytes(now, third, format!("RECEIPT\nreceipt-id:{}\n\n\0", receipt_of(&headers)).as_bytes());
    let after: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(after.contains(&ReliableEvent::Connection(ConnectionEvent::ConsumerReady(key))), "{after:?}");
    assert!(warnings(&after).is_empty(), "{after:?}");
}

/// An exclusive `rpc_queue` declared again, on a connection RabbitMQ then closes
/// without words; the management API answers `facts` when it is looked up.
/// Returns the core, the queue's consumer and the events since.
fn declared_again_closed_without_words(
    facts: Option<burrow::rabbit::QueueFacts>,
) -> (Core, ConsumerKey, Vec<ReliableEvent>) {
    let settings = ReliableOptions { management_url: Some("http://broker/api".into()), ..ReliableOptions::default() };
    let (mut core, second, now, key) = declared_again(settings, &exclusive());
    core.handle_closed(now + ms(5), second, SocketClose::new(1000, "STOMP died"));
    let look_up = look_up_of(&mut core).expect("the queue is looked up");
    core.handle_queue_facts(now + ms(6), look_up.id, Ok(facts));
    let after: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    (core, key, after)
}

/// The words of the warnings among `events`.
fn warnings(events: &[ReliableEvent]) -> Vec<String> {
    let words = events.iter().filter_map(|e| match e {
        ReliableEvent::Connection(ConnectionEvent::Warning(words)) => Some(words.to_string()),
        _ => None,
    });
    words.collect()
}

/// RabbitMQ 4.0.5's refusal of `rpc_queue` held by another connection.
const LOCKED: &str =
    "ERROR\nmessage:resource_locked\n\nRESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'rpc_queue' in vhost '/'\0";

/// `link` refuses the held queue once more and closes: the core gives it up, as
/// a queue not declared again.
fn given_up_at_the_next_refusal(core: &mut Core, now: Duration, link: LinkId) {
    core.handle_bytes(now, link, LOCKED.as_bytes());
    core.handle_closed(now, link, SocketClose::new(1000, ""));
    let after: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(warnings(&after).iter().any(|words| words.contains("it is not declared again")), "given up: {after:?}");
}

/// Options of an exclusive queue (not durable).
fn exclusive() -> QueueOptions {
    QueueOptions { exclusive: true, ..QueueOptions::default() }
}

/// A core whose `rpc_queue` (declared with `options`, a consumer on it) went
/// out again on a second connection after a drop; the events so far read.
/// Returns the core, that link, when, and the consumer.
fn declared_again(settings: ReliableOptions, options: &QueueOptions) -> (Core, LinkId, Duration, ConsumerKey) {
    let mut core = Core::new(vec!["ws://broker/ws".into()], ConnectOptions::new("/"), settings, 3);
    let (first, key) = declared_and_consumed(&mut core, options);
    let (second, sent, now) = reconnect(&mut core, first, ms(10), 1006, "");
    assert!(sent.contains("destination:/queue/rpc_queue"), "declared again: {sent}");
    std::iter::from_fn(|| core.poll_event()).for_each(drop);
    (core, second, now, key)
}

/// The look-up of `rpc_queue` among the actions the core asks for now.
fn locked_look_up(core: &mut Core) -> burrow::reliable::LookUpId {
    locked_look_up_of(core, "rpc_queue")
}

/// With no management API to ask (the look-up fails), a held exclusive queue is
/// declared again after 2 s, then, refused again, after longer waits on the
/// next connections; eight refusals end it as a queue not declared again.
#[test]
fn an_exclusive_queue_held_with_no_management_api_is_declared_again_after_growing_waits() {
    let mut core = Core::new(vec!["ws://broker/ws".into()], ConnectOptions::new("/"), ReliableOptions::default(), 3);
    let (mut link, _) = declared_and_consumed(&mut core, &exclusive());
    let (next, _, mut now) = reconnect(&mut core, link, ms(10), 1006, "");
    link = next;
    let mut waits = Vec::new();
    for round in 0..8 {
        core.handle_bytes(now, link, LOCKED.as_bytes());
        let (next, sent, connected) = reconnect(&mut core, link, now + ms(5), 1000, "");
        assert!(!sent.contains("rpc_queue"), "neither declared nor subscribed at once: {sent}");
        link = next;
        let due = core.poll_timeout().expect("a timer");
        waits.push((due - connected).as_secs());
        core.handle_timeout(due);
        if round == 0 {
            let id = locked_look_up(&mut core);
            core.handle_queue_facts(due, id, Err("no management API".into()));
        }
        let sent = written(&mut core, due);
        assert!(sent.contains("destination:/queue/rpc_queue"), "declared again: {sent}");
        now = due;
    }
    assert_eq!(waits, [2, 4, 8, 16, 16, 16, 16, 16], "the waits");
    given_up_at_the_next_refusal(&mut core, now, link);
}

/// Held for two minutes of look-ups (60, every 2 s): declared again regardless,
/// and that refusal ends it as a queue not declared again.
#[test]
fn an_exclusive_queue_held_for_two_minutes_of_look_ups_is_given_up_at_its_next_refusal() {
    let (mut core, second, now, _) = declared_again(ReliableOptions::default(), &exclusive());
    core.handle_bytes(now, second, LOCKED.as_bytes());
    let (third, _, connected) = reconnect(&mut core, second, now + ms(5), 1000, "");
    let held = burrow::rabbit::QueueFacts { durable: false, exclusive: true, auto_delete: false, arguments: Vec::new(), consumers: None };
    let mut due = connected;
    for _ in 0..=60 {
        due = core.poll_timeout().expect("the next look-up");
        core.handle_timeout(due);
        let id = locked_look_up(&mut core);
        core.handle_queue_facts(due, id, Ok(Some(held.clone())));
    }
    assert_eq!(due, connected + Duration::from_secs(122), "61 look-ups, 2 s apart after the first wait");
    let sent = written(&mut core, due);
    assert!(sent.contains("destination:/queue/rpc_queue"), "declared again regardless: {sent}");
    std::iter::from_fn(|| core.poll_event()).for_each(drop);
    given_up_at_the_next_refusal(&mut core, due, third);
}

/// A token renewal (make-before-break) with an exclusive queue of ours: the new
/// connection may not consume from it while the old one holds it (RabbitMQ
/// refuses `RESOURCE_LOCKED` and closes, so the renewal failed every time). Its
/// consumer moves once the old connection is gone, which deletes the queue: it
/// is declared again there first.
#[test]
fn a_token_renewal_moves_an_exclusive_queue_s_consumer_after_the_old_connection() {
    let (mut core, old, new, now, sent) = renewal_with_exclusive_queue(&["mine"]);
    assert!(!sent.contains("/amq/queue/mine"), "not consumed from the new connection while the old holds it: {sent}");
    let events: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(events.iter().any(|e| matches!(e, ReliableEvent::Connection(ConnectionEvent::Renewed { .. }))), "{events:?}");
    // An exclusive queue declared on the new connection is its own, not held.
    core.queue_declare(now, "fresh", &exclusive()).expect("declare");
    let receipt = declare_receipt(&written(&mut core, now), "fresh");
    core.handle_bytes(now, new, format!("RECEIPT\nreceipt-id:{receipt}\n\n\0").as_bytes());
    // The old connection goes (its DISCONNECT answered by the close).
    core.handle_closed(now, old, burrow::client::SocketClose::new(1000, ""));
    let due = core.poll_timeout().expect("the queue's look-up");
    assert_eq!(due, now, "looked up at once");
    core.handle_timeout(due);
    let asked: Vec<(String, burrow::reliable::LookUpId)> = std::iter::from_fn(|| core.poll_action())
        .filter_map(|a| match a {
            Action::LookUp(question) => Some((question.queue, question.id)),
            _ => None,
        })
        .collect();
    let [(queue, id)] = &asked[..] else { panic!("one look-up, of the old connection's queue: {asked:?}") };
    assert_eq!(queue, "mine");
    core.handle_queue_facts(now, *id, Ok(None));
    let sent = written(&mut core, now);
    assert!(sent.contains("destination:/queue/mine") && !sent.contains("SUBSCRIBE"), "declared again on the new connection: {sent}");
    let receipt = declare_receipt(&sent, "mine");
    core.handle_bytes(now, new, format!("RECEIPT\nreceipt-id:{receipt}\n\n\0").as_bytes());
    let headers = subscribe_frame(&written(&mut core, now));
    assert!(headers.iter().any(|h| h == "destination:/amq/queue/mine"), "then its consumer: {headers:?}");
    let events: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    let warnings = warnings(&events);
    assert!(matches!(&warnings[..], [words] if words.contains("'mine' is still held")), "the move said once: {warnings:?}");
}

/// A token renewal whose old connection dies before the switch (the successor
/// still awaits a receipt, here for another consumer's SUBSCRIBE): the successor
/// takes over at once, and the exclusive queue went with the old connection (or
/// the old one holds it still). Its consumer waits until it is declared again
/// there; subscribed at once, it failed NOT_FOUND (simulation seed 7594).
#[test]
fn a_renewal_whose_old_connection_dies_first_declares_the_exclusive_queue_again_before_its_consumer() {
    let (mut core, old, new, now, sent) = renewal_with_exclusive_queue(&["mine", "q"]);
    assert!(sent.contains("/amq/queue/q") && !sent.contains("/amq/queue/mine"), "only q's consumer moves first: {sent}");
    std::iter::from_fn(|| core.poll_event()).for_each(drop);
    core.handle_closed(now, old, SocketClose::new(1006, ""));
    let sent = written(&mut core, now);
    assert!(!sent.contains("/amq/queue/mine"), "not subscribed before its queue is declared again: {sent}");
    let due = core.poll_timeout().expect("the queue's look-up");
    assert_eq!(due, now, "looked up at once");
    core.handle_timeout(due);
    let id = locked_look_up_of(&mut core, "mine");
    core.handle_queue_facts(now, id, Ok(None));
    let sent = written(&mut core, now);
    assert!(sent.contains("destination:/queue/mine") && !sent.contains("SUBSCRIBE"), "declared again first: {sent}");
    let receipt = declare_receipt(&sent, "mine");
    core.handle_bytes(now, new, format!("RECEIPT\nreceipt-id:{receipt}\n\n\0").as_bytes());
    let headers = subscribe_frame(&written(&mut core, now));
    assert!(headers.iter().any(|h| h == "destination:/amq/queue/mine"), "then its consumer: {headers:?}");
    let events: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(!events.iter().any(|e| matches!(e, ReliableEvent::Connection(ConnectionEvent::ConsumerFailed { .. }))), "{events:?}");
}

/// The look-up of `queue` among the actions the core asks for now.
fn locked_look_up_of(core: &mut Core, queue: &str) -> burrow::reliable::LookUpId {
    let look_up = std::iter::from_fn(|| core.poll_action()).find_map(|a| match a {
        Action::LookUp(question) if question.queue == queue => Some(question.id),
        _ => None,
    });
    look_up.expect("the held queue is looked up")
}

/// A core with tokens whose exclusive queue `mine` is declared and a consumer on
/// each of `queues` subscribed, then a renewal's new connection CONNECTED.
/// Returns the core, the old and new links, when, and what the new one wrote.
fn renewal_with_exclusive_queue(queues: &[&str]) -> (Core, LinkId, LinkId, Duration, String) {
    let (mut core, old) = connected_with_tokens();
    core.queue_declare(ms(4), "mine", &exclusive()).expect("declare");
    let receipt = declare_receipt(&written(&mut core, ms(4)), "mine");
    core.handle_bytes(ms(4), old, format!("RECEIPT\nreceipt-id:{receipt}\n\n\0").as_bytes());
    for queue in queues {
        let source = burrow::rabbit::ConsumeFrom::Queue((*queue).into());
        core.basic_consume(ms(5), source, burrow::reliable::ConsumeOptions::default()).expect("consume");
        let headers = subscribe_frame(&written(&mut core, ms(5)));
        core.handle_bytes(ms(5), old, format!("RECEIPT\nreceipt-id:{}\n\n\0", receipt_of(&headers)).as_bytes());
    }
    let (new, now) = renewal_socket(&mut core, ms(5), token(2));
    core.handle_opened(now, new);
    written(&mut core, now);
    core.handle_bytes(now, new, b"CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\0");
    let sent = written(&mut core, now);
    (core, old, new, now, sent)
}

/// Stop 35's note: a user's declare that a network drop cut short was answered
/// "closed" and never sent again, so an exclusive queue (gone with its
/// connection, or never made) failed its consumer NOT_FOUND on the next one. It
/// goes again first on the next connection, before the consumer, and the user's
/// answer is that declare's; until then the user hears nothing.
#[test]
fn a_declare_the_network_cut_short_goes_again_before_its_consumer_and_is_answered_there() {
    let (mut core, request, second, sent, now) = declare_cut_short();
    let order = frames_from(&sent, "destination:/queue/x-1");
    assert!(order.iter().any(|frame| frame.lines().any(|l| l == "exclusive:true")), "as declared: {sent}");
    assert!(order.iter().any(|frame| frame.starts_with("SUBSCRIBE\n")), "declared, then subscribed: {sent}");
    let before: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(!before.iter().any(|e| matches!(e, ReliableEvent::Declared { .. })), "no answer yet: {before:?}");
    let receipt = declare_receipt(&sent, "x-1");
    core.handle_bytes(now, second, format!("RECEIPT\nreceipt-id:{receipt}\n\n\0").as_bytes());
    let after: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(after.contains(&ReliableEvent::Declared { request, result: Ok(()) }), "answered there: {after:?}");
    assert!(warnings(&after).is_empty(), "{after:?}");
}

/// A declare still to go again is answered when it never will: with the close
/// that cut it short when the user deletes its queue, `Stopped` at a stop.
#[test]
fn a_declare_still_to_go_again_is_answered_at_a_delete_or_a_stop() {
    let (mut core, request, _, _, _) = declare_cut_short();
    std::iter::from_fn(|| core.poll_event()).for_each(drop);
    core.forget_queue("x-1");
    let deleted: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(
        deleted.iter().any(|e| matches!(e, ReliableEvent::Declared { request: r, result: Err(DeclareError::Closed(_)) } if *r == request)),
        "{deleted:?}"
    );
    let (mut core, request, second, _, now) = declare_cut_short();
    core.stop(now);
    core.handle_closed(now + ms(1), second, SocketClose::new(1000, ""));
    let stopped: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(stopped.contains(&ReliableEvent::Declared { request, result: Err(DeclareError::Stopped) }), "{stopped:?}");
}

/// Simulation seed 7973: a user's declare cut by a close without words (which
/// may have been its refusal: 3.10.8 loses the words) was answered "closed" when
/// the facts refused nothing, and its consumer subscribed on the next connection
/// before anyone declared the queue: NOT_FOUND. Now the queue and its consumer
/// wait for the facts; when they refuse nothing, the declare goes again, then
/// the consumer, and the user's answer is that declare's.
#[test]
fn a_declare_cut_without_words_waits_for_the_facts_with_its_consumer_then_goes_again() {
    let (mut core, request, first) = declared_and_consumed_unanswered();
    core.handle_closed(ms(10), first, SocketClose::new(1000, "STOMP died"));
    let look_up = locked_look_up_of(&mut core, "x-1");
    let retry = core.poll_timeout().expect("a retry");
    core.handle_timeout(retry);
    let second = connect(&mut core, retry);
    let sent = written(&mut core, retry);
    assert!(!sent.contains("x-1"), "neither declared nor subscribed before the facts: {sent}");
    let waiting: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(!waiting.iter().any(|e| matches!(e, ReliableEvent::Declared { .. })), "no answer yet: {waiting:?}");
    core.handle_queue_facts(retry, look_up, Ok(None));
    let sent = written(&mut core, retry);
    assert!(sent.contains("destination:/queue/x-1"), "declared again: {sent}");
    core.handle_bytes(retry, second, format!("RECEIPT\nreceipt-id:{}\n\n\0", declare_receipt(&sent, "x-1")).as_bytes());
    let after: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(after.contains(&ReliableEvent::Declared { request, result: Ok(()) }), "answered there: {after:?}");
    // On trial (its SUBSCRIBE was pending at the close without words), it goes alone.
    let sent = written(&mut core, retry);
    assert!(sent.starts_with("SUBSCRIBE\n") && sent.contains("destination:/amq/queue/x-1"), "then subscribed: {sent}");
}

/// A core whose user declared the exclusive queue `x-1` and consumed from it,
/// both unanswered when the network dropped; the next connection is up. Returns
/// the core, the declare, that link, what it wrote, and when.
fn declare_cut_short() -> (Core, DeclareId, LinkId, String, Duration) {
    let (mut core, request, first) = declared_and_consumed_unanswered();
    let (second, sent, now) = reconnect(&mut core, first, ms(10), 1006, "");
    (core, request, second, sent, now)
}

/// A connected core whose user declared the exclusive queue `x-1` and consumed
/// from it, both sent and unanswered. Returns the core, the declare, the link.
fn declared_and_consumed_unanswered() -> (Core, DeclareId, LinkId) {
    let mut core = Core::new(vec!["ws://broker/ws".into()], ConnectOptions::new("/"), ReliableOptions::default(), 3);
    core.start(ms(0));
    let first = connect(&mut core, ms(1));
    let request = core.queue_declare(ms(2), "x-1", &exclusive()).expect("declare");
    core.basic_consume(ms(3), ConsumeFrom::Queue("x-1".into()), ConsumeOptions::default()).expect("consume");
    written(&mut core, ms(3));
    (core, request, first)
}

/// A second declare of a queue goes over a side connection of its own (STOMP
/// declares a queue once per connection). One the network cut short was
/// answered closed (JS `ConnectionLostError`) while the main connection's went
/// again; now it goes again too: over another side connection after a wait
/// while the main one is up, or, when the main one dropped as well, on the next connection
/// itself (the queue declared there once, as last asked).
#[test]
fn a_second_declare_the_network_cut_short_goes_again_over_another_side_connection() {
    let mut core = Core::new(vec!["ws://broker/ws".into()], ConnectOptions::new("/"), ReliableOptions::default(), 3);
    tutorial_6_server(&mut core);
    let durable = QueueOptions { durable: true, ..QueueOptions::default() };
    let request = core.queue_declare(ms(6), "rpc_queue", &durable).expect("declare again");
    let side = connect(&mut core, ms(7));
    assert!(written(&mut core, ms(7)).contains("destination:/queue/rpc_queue"), "declared over the side connection");
    core.handle_closed(ms(8), side, SocketClose::new(1006, ""));
    let cut: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(!cut.iter().any(|e| matches!(e, ReliableEvent::Declared { .. })), "not answered yet: {cut:?}");
    let opened = std::iter::from_fn(|| core.poll_action()).any(|a| matches!(a, Action::Open { .. }));
    assert!(!opened, "no side connection at once");
    let wait = core.poll_timeout().expect("the wait before the next one");
    assert_eq!(wait, ms(8) + Duration::from_secs(1));
    core.handle_timeout(wait);
    let again = connect(&mut core, wait);
    assert_ne!(again, side, "another side connection");
    let sent = written(&mut core, wait);
    answered_over(&mut core, again, wait, &sent, request);
}

/// As above, the main connection dropping too.
#[test]
fn a_second_declare_cut_short_with_the_main_connection_goes_again_after_the_reconnect() {
    let mut core = Core::new(vec!["ws://broker/ws".into()], ConnectOptions::new("/"), ReliableOptions::default(), 3);
    let (main, _) = tutorial_6_server(&mut core);
    let durable = QueueOptions { durable: true, ..QueueOptions::default() };
    let request = core.queue_declare(ms(6), "rpc_queue", &durable).expect("declare again");
    let side = connect(&mut core, ms(7));
    written(&mut core, ms(7));
    core.handle_closed(ms(8), main, SocketClose::new(1006, ""));
    core.handle_closed(ms(8), side, SocketClose::new(1006, ""));
    let cut: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(!cut.iter().any(|e| matches!(e, ReliableEvent::Declared { .. })), "not answered yet: {cut:?}");
    // Declared as last asked, once, on the new connection itself.
    let (next, sent, now) = reconnect_at_retry(&mut core);
    let declares = frames_from(&sent, "destination:/queue/rpc_queue");
    assert!(declares.first().is_some_and(|frame| frame.contains("durable:true")), "{sent}");
    answered_over(&mut core, next, now, &sent, request);
}

/// `link` declared `rpc_queue` (in `sent`) and RabbitMQ answers: `request` is
/// answered declared.
fn answered_over(core: &mut Core, link: LinkId, now: Duration, sent: &str, request: DeclareId) {
    let receipt = declare_receipt(sent, "rpc_queue");
    core.handle_bytes(now, link, format!("RECEIPT\nreceipt-id:{receipt}\n\n\0").as_bytes());
    let after: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(after.contains(&ReliableEvent::Declared { request, result: Ok(()) }), "{after:?}");
}

/// A declare held while the connection is down is answered when the user stops
/// (as a held publish is, `StoppedUnsent`): before, the stop cleared it without
/// a word and its future never settled.
#[test]
fn a_declare_held_while_down_is_answered_stopped_at_a_stop() {
    let mut core = Core::new(vec!["ws://broker/ws".into()], ConnectOptions::new("/"), ReliableOptions::default(), 3);
    let (first, _) = tutorial_6_server(&mut core);
    core.handle_closed(ms(10), first, SocketClose::new(1006, ""));
    let held = core.queue_declare_or_hold(ms(11), "rpc_queue", &QueueOptions::durable()).expect("held");
    std::iter::from_fn(|| core.poll_event()).for_each(drop);
    core.stop(ms(12));
    let after: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    let answer = after.iter().find_map(|e| match e {
        ReliableEvent::Declared { request, result } if *request == held => Some(result.clone()),
        _ => None,
    });
    assert_eq!(answer, Some(Err(DeclareError::Stopped)), "{after:?}");
}

/// A declare on a renewal's old link that the network cut short after the new
/// link took over goes again there, as one the main link loses goes again on the
/// next connection; its answer is that declare's. Before: `Closed` (stop 36's note).
#[test]
fn a_declare_cut_short_on_a_retiring_link_goes_again_on_the_new_one() {
    let (mut core, old) = connected_with_tokens();
    let request = core.queue_declare(ms(4), "hello", &QueueOptions::default()).expect("declare");
    assert!(written(&mut core, ms(4)).contains("destination:/queue/hello"));
    let (new, now) = renewal_socket(&mut core, ms(5), token(2));
    core.handle_opened(now, new);
    written(&mut core, now);
    core.handle_bytes(now, new, b"CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\0");
    let switched = std::iter::from_fn(|| core.poll_event()).any(|e| matches!(e, ReliableEvent::Connection(ConnectionEvent::Renewed { .. })));
    assert!(switched, "the new link took over");
    written(&mut core, now);
    core.handle_closed(now + ms(1), old, SocketClose::new(1006, ""));
    let cut: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(!cut.iter().any(|e| matches!(e, ReliableEvent::Declared { .. })), "no answer yet: {cut:?}");
    let sent = written(&mut core, now + ms(1));
    let receipt = declare_receipt(&sent, "hello");
    core.handle_bytes(now + ms(2), new, format!("RECEIPT\nreceipt-id:{receipt}\n\n\0").as_bytes());
    let after: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(after.contains(&ReliableEvent::Declared { request, result: Ok(()) }), "answered there: {after:?}");
    assert_eq!(core.declared_queues().map(|(q, _)| q.to_owned()).collect::<Vec<_>>(), ["hello"]);
}

/// RabbitMQ 4.0.5 after a restart: the declare again of `rpc_queue` (answered by
/// its fence publish's confirm, which comes later), then the SUBSCRIBE to a
/// queue the restart deleted, refused in words that name that queue. The
/// refusal was blamed on the oldest request unanswered, the declare again:
/// "not declared again" in the other queue's words, so the next restart lost
/// it. The words name the queue: the subscription to it fails, and `rpc_queue`
/// goes again at the next connection.
#[test]
fn a_refusal_naming_a_queue_fails_its_subscription_not_an_older_declare_again() {
    let mut core = Core::new(vec!["ws://broker/ws".into()], ConnectOptions::new("/"), ReliableOptions::default(), 3);
    let (first, _) = tutorial_6_server(&mut core);
    let gone = core.basic_consume(ms(6), ConsumeFrom::Queue("gone".into()), ConsumeOptions::default()).expect("consume");
    let headers = subscribe_frame(&written(&mut core, ms(6)));
    core.handle_bytes(ms(7), first, format!("RECEIPT\nreceipt-id:{}\n\n\0", receipt_of(&headers)).as_bytes());
    std::iter::from_fn(|| core.poll_event()).for_each(drop);
    let (second, sent, now) = reconnect(&mut core, first, ms(10), 1006, "");
    assert!(sent.contains("destination:/queue/rpc_queue") && sent.contains("destination:/amq/queue/gone"), "{sent}");
    let detail = "NOT_FOUND - no queue 'gone' in vhost '/'";
    core.handle_bytes(now, second, format!("ERROR\nmessage:not_found\n\n{detail}\0").as_bytes());
    core.handle_closed(now, second, SocketClose::new(1000, ""));
    let after: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(warnings(&after).is_empty(), "nothing said of rpc_queue: {after:?}");
    let failed = after.iter().any(|e| {
        matches!(e, ReliableEvent::Connection(ConnectionEvent::ConsumerFailed { consumer, error }) if *consumer == gone && error.to_string().contains("no queue 'gone'"))
    });
    assert!(failed, "the subscription the words name fails: {after:?}");
    let (_, sent, _) = reconnect_at_retry(&mut core);
    assert!(sent.contains("destination:/queue/rpc_queue"), "declared again: {sent}");
}
