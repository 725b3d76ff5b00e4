//! Scripted scenarios of blame: which request the broker refused when it ended
//! a session without saying why (RabbitMQ 3.10.8's Web-STOMP loses the ERROR
//! frame, and with it the RECEIPTs it had not written yet).

use std::time::Duration;

use burrow::rabbit::QueueFacts;
use burrow::reliable::{ConnectionEvent, ConsumeError, ConsumerKey, PublishError, ReliableEvent};
use burrow::stomp::Command;

use super::{ms, secs, Outcome, PubKind, Queue, Sim};

/// The consumers that failed, in order.
fn failed_consumers(sim: &Sim) -> Vec<ConsumerKey> {
    sim.events
        .iter()
        .filter_map(|(_, e)| match e {
            ReliableEvent::Connection(ConnectionEvent::ConsumerFailed { consumer, .. }) => Some(*consumer),
            _ => None,
        })
        .collect()
}

/// Seeds 7 and 84, once the random runs lost the unwritten RECEIPTs: valid
/// subscriptions and a publish to a missing exchange went in one write (a
/// reconnect's), 3.10.8 closed on the publish without words and lost the
/// subscriptions' receipts, and the management API could not clear them: the
/// oldest subscription was blamed, then the next, instead of the publish. Now
/// what was unanswered goes one at a time, and what ends a connection alone is
/// what is blamed.
#[test]
fn a_fatal_publish_after_valid_subscriptions_in_one_write_fails_alone_without_the_management_api() {
    let mut sim = Sim::scripted();
    sim.broker.lose_error = 100;
    sim.broker.lose_unwritten = true;
    sim.cfg.lookup_fails = 100;
    sim.start();
    // Before the socket opens: at CONNECTED the SUBSCRIBEs and the SEND go in one write.
    let good = [sim.consume("q", false, 5).expect("a consumer"), sim.consume("q", true, 5).expect("another")];
    let doomed = sim.publish_with("nope", "k", PubKind::MissingExchange, 0).expect("publish");
    sim.run_for(secs(60));
    let first = sim.frames_on(burrow::reliable::LinkId(1));
    let commands: Vec<Command> = first.iter().map(|f| f.command).collect();
    assert_eq!(commands, [Command::Connect, Command::Subscribe, Command::Subscribe, Command::Send], "one write");
    assert_eq!(sim.outcome(doomed), Some(Outcome::Refused));
    let refused = sim.events.iter().any(|(_, e)| {
        matches!(e, ReliableEvent::PublishFailed { publish, error: PublishError::Refused(r) }
            if *publish == doomed && r.detail.contains("exchange 'nope'"))
    });
    assert!(refused, "the publish fails in words that name its exchange");
    assert_eq!(failed_consumers(&sim), Vec::<ConsumerKey>::new(), "no consumer fails");
    let link = sim.core.current_link().expect("link");
    assert!(sim.core.is_connected());
    assert_eq!(sim.broker_subs(link).len(), good.len(), "both subscribed");
    let mark = sim.mark();
    for _ in 0..4 {
        sim.publish().expect("publish");
    }
    sim.run_for(secs(2));
    sim.read_all();
    sim.ack_all_held();
    sim.run_for(secs(1));
    for key in good {
        assert!(sim.core.consumers().any(|k| k == key), "{key:?} goes on");
        assert!(!sim.taken_since(mark, key).is_empty(), "{key:?} still gets what comes");
    }
    assert_eq!(sim.broker.violations, Vec::<String>::new());
}

/// A consumer blamed without words waits for the management API's facts; if
/// they clear it (its queue is there), it is put back, but only while the core
/// runs: an answer that comes after stop() must not put a consumer back into a
/// core that is stopping (it would subscribe after DISCONNECT, or outlive
/// Stopped). It fails with the refusal it had.
#[test]
fn facts_that_clear_a_blamed_consumer_after_stop_do_not_restore_it() {
    let mut sim = Sim::scripted();
    sim.broker.lose_error = 100;
    sim.cfg.lookup_delay = 60_000;
    sim.connect();
    let doomed = sim.consume("missing", false, 1).expect("a consumer of a missing queue");
    // It ends one connection, then a second alone: blamed, and looked up.
    let mut waited = Duration::ZERO;
    while sim.lookups.is_empty() {
        assert!(waited < secs(30), "no look-up");
        sim.run_for(ms(10));
        waited += ms(10);
    }
    let (_, question) = sim.lookups.remove(0);
    assert_eq!(question.queue, "missing");
    assert!(sim.core.consumers().all(|k| k != doomed), "blamed, awaiting its facts");
    sim.run_for(secs(3));
    assert!(sim.core.is_connected(), "back, while the look-up is under way");
    // Meanwhile someone declared the queue: the facts will clear it.
    sim.broker.queues.insert("missing".to_owned(), Queue::classic(true));
    let mark = sim.mark();
    sim.stop();
    let facts = QueueFacts { durable: true, exclusive: false, auto_delete: false, arguments: Vec::new(), consumers: None };
    sim.call(|c, now| c.handle_queue_facts(now, question.id, Ok(Some(facts))));
    sim.run_for(secs(1));
    let events = sim.events_since(mark);
    let failed = events.iter().find_map(|e| match e {
        ReliableEvent::Connection(ConnectionEvent::ConsumerFailed { consumer, error }) if *consumer == doomed => {
            Some(error.clone())
        }
        _ => None,
    });
    assert!(matches!(failed, Some(ConsumeError::Refused(_))), "it fails as refused: {failed:?}");
    assert!(matches!(events.last(), Some(ReliableEvent::Connection(ConnectionEvent::Stopped(_)))), "{events:?}");
    assert_eq!(sim.core.consumers().count(), 0, "nothing restored into a stopped core");
    assert_eq!(sim.broker.violations, Vec::<String>::new());
}

/// Seeds 23438 and 126333 (once the one-at-a-time blame put more messages on
/// probation): a message alone in flight, its confirm held back, had two
/// connections ended under it by clean restarts whose ERROR connection_forced
/// 3.10.8 lost, and was blamed as refused. A node that then takes no
/// connection was going away rather than refusing it: that lone death does not
/// count.
#[test]
fn a_message_alone_in_flight_through_clean_restarts_without_words_is_not_blamed() {
    let mut sim = Sim::scripted();
    sim.broker.lose_error = 100;
    sim.connect();
    // A resource alarm holds every confirm back (a restart ends it: set again).
    sim.broker.alarm_until = Some(sim.now + secs(3600));
    let sent = [sim.publish().expect("publish"), sim.publish().expect("publish")];
    sim.settle();
    assert_eq!(sim.core.outbox().in_flight(), 2);
    for round in 0..3 {
        // A clean shutdown whose words are lost, and the node down for 2 s.
        sim.restart_broker(secs(2), true);
        sim.broker.alarm_until = Some(sim.now + secs(3600));
        sim.run_for(secs(6));
        assert!(sim.core.is_connected(), "round {round}: back");
        assert_eq!(sim.core.outbox().in_flight(), 1, "round {round}: on probation, one at a time");
    }
    // The confirms held back are the node's: one more restart, without an
    // alarm, and the message goes again and is confirmed.
    sim.broker.alarm_until = None;
    sim.restart_broker(ms(10), false);
    sim.run_for(secs(10));
    for id in sent {
        assert_eq!(sim.outcome(id), Some(Outcome::Confirmed), "{id:?}");
    }
}
