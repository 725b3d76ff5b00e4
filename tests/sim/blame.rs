//! Scripted scenarios of blame: which request the broker refused when it ended
//! a session without saying why (RabbitMQ 3.10.8's Web-STOMP loses the ERROR
//! frame, and with it the RECEIPTs it had not written yet).

use std::time::Duration;

use burrow::rabbit::QueueFacts;
use burrow::reliable::{ConnectionEvent, ConsumeError, ReliableEvent};

use super::{ms, secs, Queue, Sim};

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
    let facts = QueueFacts { durable: true, exclusive: false, auto_delete: false, arguments: Vec::new() };
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
