//! The core declaring again, natively, the exchanges and bindings a connection
//! made through the management API (topology recovery): after a reconnect the
//! new connection waits for the driver to declare the exchanges before its
//! SUBSCRIBEs and publishes go (a broker restart deletes a non-durable exchange,
//! and a subscription to it would end the connection NOT_FOUND), and goes on
//! without them when the management API does not answer.

mod core_frames;

use std::time::Duration;

use burrow::client::{ConnectOptions, SocketClose};
use burrow::rabbit::ConsumeFrom;
use burrow::reliable::{
    Action, BindingSpec, ConnectionEvent, ConsumeOptions, Core, ExchangeSpec, LinkId, ReliableEvent, ReliableOptions,
    TopologyRecovery, Warning, TOPOLOGY_TIMEOUT,
};
use core_frames::{connect, ms, receipt_of, subscribe_frame, written};

fn logs() -> ExchangeSpec {
    ExchangeSpec { exchange: "logs".into(), kind: "fanout".into(), durable: false, auto_delete: false }
}

fn binding(queue: &str) -> BindingSpec {
    BindingSpec { queue: queue.into(), exchange: "logs".into(), routing_key: String::new() }
}

/// A core subscribed to exchange `logs` (declared through the management API,
/// as `record` says), its first connection lost: the second one's CONNECTED is
/// in. Returns the core, the second link, when, and what it wrote.
fn reconnected(record: impl FnOnce(&mut Core)) -> (Core, LinkId, Duration, String) {
    let mut core = Core::new(vec!["ws://broker/ws".into()], ConnectOptions::new("/"), ReliableOptions::default(), 3);
    core.start(ms(0));
    let first = connect(&mut core, ms(1));
    record(&mut core);
    let key = core.basic_consume(ms(2), ConsumeFrom::exchange("logs", ""), ConsumeOptions::default()).expect("consume");
    let headers = subscribe_frame(&written(&mut core, ms(2)));
    core.handle_bytes(ms(3), first, format!("RECEIPT\nreceipt-id:{}\n\n\0", receipt_of(&headers)).as_bytes());
    let ready: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(ready.contains(&ReliableEvent::Connection(ConnectionEvent::ConsumerReady(key))), "{ready:?}");
    core.handle_closed(ms(10), first, SocketClose::new(1006, "restart"));
    let retry = core.poll_timeout().expect("a retry");
    core.handle_timeout(retry);
    let second = connect(&mut core, retry);
    let sent = written(&mut core, retry);
    (core, second, retry, sent)
}

fn recovery(core: &mut Core) -> Option<TopologyRecovery> {
    std::iter::from_fn(|| core.poll_action()).find_map(|action| match action {
        Action::RecoverTopology(recovery) => Some(recovery),
        _ => None,
    })
}

fn warnings(core: &mut Core) -> Vec<String> {
    std::iter::from_fn(|| core.poll_event())
        .filter_map(|event| match event {
            ReliableEvent::Connection(ConnectionEvent::Warning(warning @ Warning::NotRecovered { .. })) => {
                Some(warning.to_string())
            }
            _ => None,
        })
        .collect()
}

/// QA (stop 38): a page that declared fanout `logs` and subscribed to it lost
/// the subscription for good when the broker restarted (NOT_FOUND: the restart
/// deleted the exchange). Now the new connection asks for the exchange and
/// binding first, and subscribes only once the exchanges are declared again.
#[test]
fn after_a_reconnect_the_exchanges_are_declared_again_before_the_subscriptions() {
    let (mut core, second, now, sent) = reconnected(|core| {
        core.exchange_declared(logs());
        core.queue_bound(binding("q"));
    });
    assert!(!sent.contains("SUBSCRIBE"), "nothing subscribes before the exchanges are back: {sent}");
    let asked = recovery(&mut core).expect("the exchanges and bindings are asked for");
    assert_eq!(asked.link, second);
    assert_eq!((asked.url.as_str(), asked.vhost.as_str()), ("ws://broker/ws", "/"));
    assert_eq!(asked.exchanges, vec![logs()]);
    assert_eq!(asked.bindings, vec![binding("q")]);
    let connected = std::iter::from_fn(|| core.poll_event()).any(|e| matches!(e, ReliableEvent::Connection(ConnectionEvent::Connected { .. })));
    assert!(!connected, "not connected yet");

    core.handle_topology_recovered(now + ms(5), second);
    let sent = written(&mut core, now + ms(5));
    assert!(sent.contains("destination:/exchange/logs"), "subscribed once they are: {sent}");
    let connected = std::iter::from_fn(|| core.poll_event()).any(|e| matches!(e, ReliableEvent::Connection(ConnectionEvent::Connected { .. })));
    assert!(connected, "connected now");
}

/// A management API that does not answer costs the connection
/// `TOPOLOGY_TIMEOUT`, said as a warning; then it goes on without it.
#[test]
fn without_an_answer_the_connection_goes_on_after_the_timeout_with_a_warning() {
    let (mut core, _, now, _) = reconnected(|core| core.exchange_declared(logs()));
    assert!(recovery(&mut core).is_some());
    let deadline = core.poll_timeout().expect("a deadline");
    assert!(deadline <= now + TOPOLOGY_TIMEOUT, "{deadline:?}");
    core.handle_timeout(now + TOPOLOGY_TIMEOUT);
    let said = warnings(&mut core);
    assert!(matches!(&said[..], [words] if words.contains("did not answer")), "{said:?}");
    let sent = written(&mut core, now + TOPOLOGY_TIMEOUT);
    assert!(sent.contains("destination:/exchange/logs"), "it goes on: {sent}");
}

/// Each exchange or binding the driver could not declare again is a warning
/// that names it; an answer for a link that is gone changes nothing.
#[test]
fn a_failure_is_a_warning_naming_what_and_a_stale_answer_changes_nothing() {
    let (mut core, second, now, _) = reconnected(|core| core.exchange_declared(logs()));
    assert!(recovery(&mut core).is_some());
    core.handle_topology_failed(second, "exchange 'logs'".into(), "HTTP 403".into());
    let said = warnings(&mut core);
    assert!(matches!(&said[..], [words] if words.contains("exchange 'logs'") && words.contains("HTTP 403")), "{said:?}");
    core.handle_topology_recovered(now, LinkId(second.0 + 7));
    assert!(!written(&mut core, now).contains("SUBSCRIBE"), "still waiting for its own answer");
    // QA: requests of a connection long gone failed a minute later and said so.
    core.handle_topology_failed(LinkId(second.0 - 1), "exchange 'logs'".into(), "Failed to fetch".into());
    assert!(warnings(&mut core).is_empty(), "a late failure for a link gone says nothing");
}

/// QA: an auto-delete exchange RabbitMQ had deleted with its last binding came
/// back after a restart, to stay. One the connection still subscribes to or
/// binds is declared again; one nothing uses is not.
#[test]
fn an_auto_delete_exchange_comes_back_only_while_in_use() {
    let auto = |name: &str| ExchangeSpec { exchange: name.into(), kind: "fanout".into(), durable: false, auto_delete: true };
    let (mut core, _, _, _) = reconnected(|core| {
        core.exchange_declared(auto("logs"));
        core.exchange_declared(auto("unused"));
    });
    let asked = recovery(&mut core).expect("asked");
    assert_eq!(asked.exchanges, vec![auto("logs")], "the one subscribed to, not the unused one");

    let (mut core, _, _, sent) = reconnected(|core| core.exchange_declared(auto("unused")));
    assert!(recovery(&mut core).is_none(), "nothing in use: no wait");
    assert!(sent.contains("destination:/exchange/logs"), "subscribed at once: {sent}");
}

/// Nothing recorded (or everything deleted since): the connection does not wait.
#[test]
fn what_was_deleted_is_not_declared_again() {
    let (mut core, _, _, sent) = reconnected(|core| {
        core.exchange_declared(logs());
        core.queue_bound(binding("q"));
        core.queue_bound(binding("other"));
        core.forget_queue("q");
        core.queue_unbound(&binding("other"));
        core.exchange_deleted("logs");
    });
    assert!(recovery(&mut core).is_none(), "nothing to declare again");
    assert!(sent.contains("destination:/exchange/logs"), "subscribed at once: {sent}");

    let (mut core, _, _, _) = reconnected(|core| {
        core.exchange_declared(logs());
        core.queue_bound(binding("q"));
        core.queue_bound(binding("q"));
        core.queue_bound(binding("gone"));
        core.forget_queue("gone");
    });
    let asked = recovery(&mut core).expect("asked");
    assert_eq!(asked.bindings, vec![binding("q")], "once each, a deleted queue's gone");
}
