//! The credentials provider and the side connection, natively: a second declare
//! of a queue with other options goes over a connection of its own, and that
//! CONNECT asks the provider first, as every CONNECT does (issue 18: "called
//! before every CONNECT").

use std::time::Duration;

use burrow::client::{ConnectOptions, Credentials};
use burrow::rabbit::QueueOptions;
use burrow::reliable::{Action, Core, CredentialsId, DeclareError, LinkId, ReliableEvent, ReliableOptions};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The next action, skipping timers and status.
fn next_action(core: &mut Core) -> Option<Action> {
    core.poll_action()
}

fn credentials_asked(core: &mut Core) -> CredentialsId {
    match next_action(core) {
        Some(Action::Credentials { id, .. }) => id,
        other => panic!("the provider was asked first, got {other:?}"),
    }
}

fn socket_asked(core: &mut Core) -> LinkId {
    match next_action(core) {
        Some(Action::Open { link, .. }) => link,
        other => panic!("a socket was asked for, got {other:?}"),
    }
}

fn written(core: &mut Core, now: Duration) -> String {
    let mut out = Vec::new();
    while core.poll_transmit(now, &mut out).is_some() {}
    String::from_utf8_lossy(&out).into_owned()
}

/// A core with a provider, connected with the passcode `token-1`.
fn connected() -> Core {
    let options = ReliableOptions { ask_credentials: true, ..ReliableOptions::default() };
    let mut core = Core::new(vec!["ws://broker/ws".into()], ConnectOptions::new("/"), options, 3);
    core.start(ms(0));
    let id = credentials_asked(&mut core);
    core.handle_credentials(ms(1), id, Ok(Credentials::new("user", "token-1")));
    let link = socket_asked(&mut core);
    core.handle_opened(ms(2), link);
    assert!(written(&mut core, ms(2)).contains("passcode:token-1"));
    core.handle_bytes(ms(3), link, b"CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\0");
    core
}

fn durable() -> QueueOptions {
    QueueOptions { durable: true, ..QueueOptions::default() }
}

#[test]
fn a_side_connection_asks_the_provider_before_its_connect() {
    let mut core = connected();
    core.queue_declare(ms(4), "task_queue", &durable()).expect("declare");
    written(&mut core, ms(4));
    // The same queue with other options: a side connection.
    core.queue_declare(ms(5), "task_queue", &QueueOptions::default()).expect("declare again");
    let id = credentials_asked(&mut core);
    assert!(core.poll_action().is_none(), "no socket before the provider answered");
    core.handle_credentials(ms(6), id, Ok(Credentials::new("user", "token-2")));
    let side = socket_asked(&mut core);
    core.handle_opened(ms(7), side);
    let connect = written(&mut core, ms(7));
    assert!(connect.contains("CONNECT") && connect.contains("passcode:token-2"), "{connect}");
}

#[test]
fn a_provider_that_fails_for_a_side_connection_ends_its_declare_in_its_words() {
    let mut core = connected();
    core.queue_declare(ms(4), "task_queue", &durable()).expect("declare");
    written(&mut core, ms(4));
    let request = core.queue_declare(ms(5), "task_queue", &QueueOptions::default()).expect("declare again");
    let id = credentials_asked(&mut core);
    core.handle_credentials(ms(6), id, Err("the identity provider is unreachable".into()));
    let result = std::iter::from_fn(|| core.poll_event()).find_map(|e| match e {
        ReliableEvent::Declared { request: r, result } if r == request => Some(result),
        _ => None,
    });
    match result {
        Some(Err(error @ DeclareError::Closed(_))) => {
            assert!(error.to_string().contains("the identity provider is unreachable"), "{error}");
        }
        other => panic!("the declare ends as closed, in the provider's words: {other:?}"),
    }
    assert!(!std::iter::from_fn(|| core.poll_action()).any(|a| matches!(a, Action::Open { .. } | Action::Close { .. })),
        "no socket opened or closed for it");
}

#[test]
fn a_provider_too_slow_for_a_side_connection_ends_its_declare() {
    let mut core = connected();
    core.queue_declare(ms(4), "task_queue", &durable()).expect("declare");
    written(&mut core, ms(4));
    let request = core.queue_declare(ms(5), "task_queue", &QueueOptions::default()).expect("declare again");
    credentials_asked(&mut core);
    let late = ms(5) + ReliableOptions::default().credentials_timeout;
    let due = core.poll_timeout().expect("a deadline for the provider");
    assert!(due <= late, "{due:?} after {late:?}");
    core.handle_timeout(late);
    let ended = std::iter::from_fn(|| core.poll_event())
        .any(|e| matches!(e, ReliableEvent::Declared { request: r, result: Err(DeclareError::Closed(_)) } if r == request));
    assert!(ended, "the declare ended as closed");
}
