//! Named regressions: defects the simulation found in the core, and streams
//! (invariant 9).

use super::*;

// ---- defects the simulation found in the core (see the fixes in src/sans_io/core/)

/// Seed 0 found it: `blame` preferred any subscription awaiting its receipt over
/// the ERROR's own words, so a consumer subscribed just after a publish to a
/// missing exchange failed with "no exchange 'nope'", and the publish was resent.
/// Without the ERROR frame, the subscription sent after an unconfirmed publish is
/// not the culprit either.
#[test]
fn a_subscription_sent_after_a_refused_publish_is_not_blamed_for_it() {
    for lose_error in [0, 100] {
        let mut sim = Sim::scripted();
        sim.broker.lose_error = lose_error;
        sim.connect();
        let doomed = sim.publish_with("nope", "k", PubKind::MissingExchange, 0).expect("publish");
        let consumer = sim.consume("q", false, 1).expect("consumer");
        sim.run_for(secs(10));
        assert_eq!(sim.outcome(doomed), Some(Outcome::Refused), "lose_error {lose_error}");
        assert_eq!(sim.core.consumers().collect::<Vec<_>>(), vec![consumer], "lose_error {lose_error}");
        let link = sim.core.current_link().expect("link");
        assert_eq!(sim.broker_subs(link).len(), 1, "lose_error {lose_error}");
    }
}

/// Seed 1 found it: pending requests were ordered as strings, so `receipt-10`
/// came before `receipt-9` and an unexplained close blamed the wrong declare.
#[test]
fn an_unexplained_close_blames_the_oldest_request_by_number() {
    let mut sim = Sim::scripted();
    sim.broker.lose_error = 100;
    sim.connect();
    for _ in 0..8 {
        sim.publish().expect("publish");
    }
    sim.settle();
    // Their fences go with receipt-9 and receipt-10.
    let refused = sim.declare("q", &QueueOptions::default(), DeclareExpect::Refused).expect("declare");
    let fine = sim.declare("other", &QueueOptions::default(), DeclareExpect::Ok).expect("declare");
    let receipts: Vec<String> = sim
        .frames_on(sim.core.current_link().expect("link"))
        .iter()
        .filter_map(|f| f.header("receipt").filter(|_| f.header("destination") == Some("/amq/queue/amq.burrow.fence")))
        .map(str::to_owned)
        .collect();
    assert_eq!(receipts, ["receipt-9", "receipt-10"]);
    sim.run_for(secs(3));
    let result = |id: DeclareId| {
        sim.events.iter().find_map(|(_, e)| match e {
            ReliableEvent::Declared { request, result } if *request == id => Some(result.clone()),
            _ => None,
        })
    };
    assert!(matches!(result(refused), Some(Err(DeclareError::Refused(_)))), "{:?}", result(refused));
    // The facts clear it: the close only cut it short, and it went again.
    assert!(matches!(result(fine), Some(Ok(()))), "{:?}", result(fine));
}

/// Seed 143 found it: a consumer cancelled while its SUBSCRIBE was refused got
/// ConsumerFailed and then ConsumerCancelled.
#[test]
fn a_cancelled_consumer_whose_subscription_is_refused_ends_once() {
    let mut sim = Sim::scripted();
    sim.connect();
    let key = sim.consume("missing", false, 1).expect("consumer");
    sim.cancel(key);
    sim.run_for(secs(3));
    let ends: Vec<ReliableEvent> = sim
        .events
        .iter()
        .map(|(_, e)| e.clone())
        .filter(|e| {
            matches!(e, ReliableEvent::ConsumerCancelled(k) if *k == key)
                || matches!(e, ReliableEvent::Connection(ConnectionEvent::ConsumerFailed { consumer, .. }) if *consumer == key)
        })
        .collect();
    assert_eq!(ends, vec![ReliableEvent::ConsumerCancelled(key)]);
    assert!(sim.core.is_connected());
}

/// Seed 394 found it: basic_cancel after stop() could not send UNSUBSCRIBE
/// (DISCONNECT was out) yet said ConsumerCancelled at once, while the broker kept
/// delivering to the subscription until it read the DISCONNECT.
#[test]
fn a_consumer_cancelled_while_disconnecting_is_cancelled_when_the_connection_ends() {
    let mut sim = Sim::scripted();
    sim.connect();
    let key = sim.consume("q", true, 0).expect("consumer");
    sim.settle();
    sim.publish().expect("publish");
    sim.publish().expect("publish");
    // The SENDs are on their way; DISCONNECT follows them.
    sim.stop();
    let mark = sim.mark();
    sim.cancel(key);
    let cancelled = |events: Vec<ReliableEvent>| events.iter().any(|e| matches!(e, ReliableEvent::ConsumerCancelled(_)));
    assert!(!cancelled(sim.events_since(mark)), "not cancelled yet: the subscription still delivers");
    sim.run_for(secs(2));
    let events = sim.events_since(mark);
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            ReliableEvent::ConsumerCancelled(_) => Some("cancelled"),
            ReliableEvent::Connection(ConnectionEvent::Stopped(_)) => Some("stopped"),
            ReliableEvent::Confirmed(_) => Some("confirmed"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["confirmed", "confirmed", "cancelled", "stopped"]);
    // A cancelled consumer's reader takes nothing more: what still came stays
    // unacked until the connection ends (RabbitMQ takes no ack after UNSUBSCRIBE).
    assert!(sim.taken_since(mark, key).is_empty());
}

#[test]
fn a_socket_that_never_opens_is_given_up_after_the_connect_timeout() {
    let mut sim = Sim::scripted();
    // The handshake would take ten minutes: a black-holed host.
    sim.cfg.open_delay = (600_000, 600_000);
    sim.start();
    sim.run_for(secs(11));
    let gave_up = sim.events.iter().any(|(_, e)| {
        matches!(e, ReliableEvent::Connection(ConnectionEvent::Reconnecting { reason: CloseReason::ConnectTimeout(_), .. }))
    });
    assert!(gave_up, "no reconnect after the connect timeout: {:?}", sim.events);
    let closed_first = sim.actions.iter().any(|(_, a)| matches!(a, Action::Close { link: LinkId(1), .. }));
    assert!(closed_first, "the socket that never opened is closed");
    sim.run_for(secs(2));
    let opens = sim.actions.iter().filter(|(_, a)| matches!(a, Action::Open { .. })).count();
    assert_eq!(opens, 2, "a second attempt followed");
}


// ---- streams (invariant 9)

#[test]
fn a_stream_consumer_resumes_at_the_first_offset_it_did_not_ack() {
    let mut sim = Sim::scripted();
    sim.connect();
    sim.publish_to_stream(10);
    let key = sim.consume_stream(StreamOffset::First, 4).expect("consumer");
    sim.settle();
    let mark = sim.mark();
    sim.ack_offsets(&[0, 1]);
    // The credit of two acks brings two more; 2..=5 are held, not acked.
    assert_eq!(sim.stream_deliveries_since(mark, key), vec![(4, false), (5, false)]);
    let first = sim.core.current_link().expect("link");
    assert_eq!(sim.subscribed_offsets(first), vec![Some("first".to_owned())]);
    let mark = sim.mark();
    let second = sim.reconnect_after_a_drop();
    assert_eq!(sim.subscribed_offsets(second), vec![Some("offset=2".to_owned())], "not from the start");
    // The four it had not acked come again, marked; 0 and 1 never.
    assert_eq!(sim.stream_deliveries_since(mark, key), vec![(2, true), (3, true), (4, true), (5, true)]);
    let mark = sim.mark();
    sim.ack_offsets(&[2, 3, 4, 5]);
    sim.ack_offsets(&[6, 7, 8, 9]);
    let after: Vec<(u64, bool)> = sim.stream_deliveries_since(mark, key);
    assert_eq!(after, (6..10).map(|o| (o, false)).collect::<Vec<_>>(), "then the rest, unmarked, nothing skipped");
}

#[test]
fn offsets_acked_above_one_not_acked_are_not_handed_out_again() {
    let mut sim = Sim::scripted();
    sim.connect();
    sim.publish_to_stream(9);
    let key = sim.consume_stream(StreamOffset::First, 4).expect("consumer");
    sim.settle();
    // 0..=3 delivered; all but 1 acked, then 4 (of the three their credit brought).
    sim.ack_offsets(&[0, 2, 3]);
    sim.ack_offsets(&[4]);
    let mark = sim.mark();
    let second = sim.reconnect_after_a_drop();
    assert_eq!(sim.subscribed_offsets(second), vec![Some("offset=1".to_owned())]);
    // RabbitMQ sends 1..; 2, 3 and 4 were acked: the core acks them again for the
    // credit and keeps them from the user, who sees 1 and the unacked 5, 6 and 7
    // (the acks' credit had brought them) again.
    assert_eq!(sim.stream_deliveries_since(mark, key), vec![(1, true), (5, true), (6, true), (7, true)]);
    let acks = sim.frames_on(second).iter().filter(|f| f.command == Command::Ack).count();
    assert_eq!(acks, 3, "the core acked 2, 3 and 4 on the new connection");
    sim.ack_offsets(&[1, 5, 6, 7]);
    assert_eq!(sim.stream_deliveries_since(mark, key).last(), Some(&(8, false)));
}

#[test]
fn a_stream_consumer_given_nothing_yet_resubscribes_with_its_own_offset() {
    let mut sim = Sim::scripted();
    sim.connect();
    sim.publish_to_stream(2);
    sim.consume_stream(StreamOffset::Offset(3), 2).expect("consumer");
    sim.consume_stream(StreamOffset::Next, 2).expect("consumer");
    sim.consume_stream(StreamOffset::Timestamp(0), 2).expect("consumer");
    sim.settle();
    sim.take_held();
    let second = sim.reconnect_after_a_drop();
    // The timestamp consumer got 0 and 1 (never acked): it resumes at 0.
    let offsets = sim.subscribed_offsets(second);
    assert_eq!(offsets, vec![Some("offset=3".to_owned()), Some("next".to_owned()), Some("offset=0".to_owned())]);
}

#[test]
fn a_nack_of_a_stream_delivery_is_refused_and_sends_nothing() {
    let mut sim = Sim::scripted();
    sim.connect();
    sim.publish_to_stream(1);
    sim.consume_stream(StreamOffset::First, 1).expect("consumer");
    sim.settle();
    let acker = sim.take_held().pop().expect("a delivery");
    let link = sim.core.current_link();
    for requeue in [true, false] {
        let refused = sim.call(|c, now| c.basic_nack(now, &acker, requeue));
        assert_eq!(refused, Err(AckError::StreamNack));
        assert!(refused.unwrap_err().to_string().contains("cannot be nacked"));
        assert_eq!(sim.last_pump.0, 0, "nothing sent");
    }
    // The connection goes on, and the ack works.
    assert_eq!(sim.call(|c, now| c.basic_ack(now, &acker)), Ok(()));
    sim.settle();
    assert_eq!(sim.core.current_link(), link);
    assert!(sim.broker.violations.is_empty());
}

#[test]
fn a_stream_consumer_with_auto_ack_or_prefetch_0_is_refused_before_sending() {
    let mut sim = Sim::scripted();
    sim.connect();
    for (auto_ack, words) in [(true, "manual acknowledgement"), (false, "prefetch above 0")] {
        let options = ConsumeOptions { auto_ack, prefetch: if auto_ack { 5 } else { 0 }, ..ConsumeOptions::stream(StreamOffset::First, 1) };
        let refused = sim.call(|c, now| c.basic_consume(now, "s", options));
        match refused {
            Err(error @ ConsumeError::Invalid(RabbitError::StreamConsume(_))) => {
                assert!(error.to_string().contains(words), "{error}");
            }
            other => panic!("not refused: {other:?}"),
        }
        assert_eq!(sim.last_pump, (0, 0), "nothing sent, no event");
    }
    assert_eq!(sim.core.consumers().count(), 0);
}

/// Defect 8: a durable queue declared elsewhere (by pika), then this connection's
/// first declare of it as not durable: Web-STOMP 3.10.8 closes without the
/// PRECONDITION_FAILED, and the refusal said only "ended the connection … without
/// saying why". The core looks the queue up (the management API's facts) and
/// rebuilds RabbitMQ's words; without facts the refusal stays as it was.
#[test]
fn a_first_declare_refused_without_words_is_explained_from_the_queues_facts() {
    for facts in [true, false] {
        let mut sim = Sim::scripted();
        sim.broker.lose_error = 100;
        sim.cfg.lookup_fails = if facts { 0 } else { 100 };
        sim.connect();
        let mark = sim.mark();
        // The simulated broker's "q" is durable, as pika declared it.
        let id = sim.declare("q", &QueueOptions::default(), DeclareExpect::Refused).expect("sent");
        sim.run_for(secs(1));
        let answer = sim.events_since(mark).into_iter().find_map(|e| match e {
            ReliableEvent::Declared { request, result } if request == id => Some(result),
            _ => None,
        });
        if facts {
            let Some(Err(DeclareError::Refused(refusal))) = answer else { panic!("refused, got {answer:?}") };
            assert_eq!(refusal.kind, RefusalKind::PreconditionFailed, "{refusal}");
            assert!(refusal.detail.contains("inequivalent arg 'durable'"), "{}", refusal.detail);
            assert!(refusal.detail.contains("received 'false' but current is 'true'"), "{}", refusal.detail);
        } else {
            // No facts, no words: all that is known is that the close cut it.
            assert!(matches!(answer, Some(Err(DeclareError::Closed(_)))), "{answer:?}");
        }
        assert_eq!(sim.stats.lookups, 1, "one look-up");
    }
}

/// Regression (QA, from JavaScript): RabbitMQ's amqplib tutorial declares, then
/// publishes and consumes without waiting. A declare made before the connection
/// was up went out after the consumer's SUBSCRIBE and the outbox: the publish was
/// dropped (no queue yet) and the SUBSCRIBE refused (NOT_FOUND). Held now, it
/// goes first.
#[test]
fn a_declare_made_before_connecting_goes_before_the_subscribes_and_the_outbox() {
    // The scripted broker has "q" (durable) already: the frames' order says it.
    let mut sim = Sim::scripted();
    sim.start();
    assert!(!sim.core.is_connected(), "not connected yet");
    let id = sim.call(|c, now| c.queue_declare_or_hold(now, "q", &QueueOptions { durable: true, ..QueueOptions::default() })).expect("held");
    sim.declares.insert(id, DeclareRec { queue: "q".into(), expect: DeclareExpect::Ok, done: false });
    sim.consume("q", false, 1).expect("a consumer");
    sim.publish_with("", "q", PubKind::Valid, 0).expect("a publish");
    sim.run_for(ms(50));
    sim.settle();
    let link = sim.core.current_link().expect("link");
    let frames = sim.frames_on(link);
    let at = |wanted: &dyn Fn(&Frame) -> bool| frames.iter().position(wanted);
    let declare = at(&|f| f.header("destination") == Some("/queue/q")).expect("the declaring SEND");
    let subscribe = at(&|f| f.command == Command::Subscribe).expect("the SUBSCRIBE");
    let publish = at(&|f| f.command == Command::Send && f.header("destination") == Some("/amq/queue/q")).expect("the publish");
    assert!(declare < subscribe && declare < publish, "declare {declare}, subscribe {subscribe}, publish {publish}");
    assert!(sim.declares[&id].done, "the declare was answered");
    assert_eq!(sim.stats.connects, 1, "no reconnect");
}

#[test]
fn quorum_and_stream_declares_rabbitmq_would_refuse_are_refused_before_sending() {
    let mut sim = Sim::scripted();
    sim.connect();
    for which in 0..4 {
        sim.declare_invalid(which);
    }
    assert_eq!(sim.stats.invalid_declares, 4);
    let words = sim.call(|c, now| c.queue_declare(now, "typed", &QueueOptions { exclusive: true, ..QueueOptions::quorum() }));
    let words = words.expect_err("refused").to_string();
    assert!(words.contains("a quorum queue cannot be exclusive"), "{words}");
    // A quorum queue as RabbitMQ takes it goes out with its type.
    sim.declare("orders", &QueueOptions::quorum(), DeclareExpect::Ok).expect("declare");
    sim.settle();
    let link = sim.core.current_link().expect("link");
    let declare = sim
        .frames_on(link)
        .into_iter()
        .find(|f| f.header("destination") == Some("/queue/orders"))
        .expect("the declaring SEND");
    assert_eq!(declare.header("x-queue-type"), Some("quorum"));
    assert_eq!(declare.header("durable"), Some("true"));
    assert_eq!(sim.broker.queues["orders"].kind, "quorum");
}
