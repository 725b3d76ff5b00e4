#![cfg(not(target_arch = "wasm32"))]
//! RPC in the core (native, no broker): the frames a call and a reply send, replies
//! routed by correlation id, unmatched replies counted and dropped, the timeout,
//! and a call in flight when the connection drops or the core stops.

mod core_frames;

use std::time::Duration;

use burrow::client::{ConnectOptions, SocketClose};
use burrow::rabbit::{BasicProperties, Delivery, PendingPublish, QueueFacts};
use burrow::reliable::{
    Action, CallError, CallId, ConnectionEvent, Core, LinkId, PublishError, QueueLookUp, ReliableEvent, ReliableOptions,
    ReplyError, Warning, REPLY_TO,
};
use core_frames::{connected_with_tokens, renewal_socket, token};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A core connected by hand, as the driver would run it.
struct Hand {
    core: Core,
    link: LinkId,
    now: Duration,
}

impl Hand {
    fn connected() -> Self {
        Self::connected_to("ws://127.0.0.1:15674/ws")
    }

    fn connected_to(url: &str) -> Self {
        let mut core = Core::new(vec![url.to_owned()], ConnectOptions::new("/"), ReliableOptions::default(), 7);
        core.start(ms(0));
        let Some(Action::Open { link, .. }) = core.poll_action() else { panic!("a socket first") };
        let mut hand = Hand { core, link, now: ms(0) };
        hand.open(link);
        hand
    }

    fn open(&mut self, link: LinkId) {
        self.link = link;
        self.core.handle_opened(self.now, link);
        self.sent();
        self.core.handle_bytes(self.now, link, b"CONNECTED\nversion:1.2\n\n\0");
    }

    /// Every frame written since the last look, as text.
    fn sent(&mut self) -> String {
        let mut out = Vec::new();
        while self.core.poll_transmit(self.now, &mut out).is_some() {}
        String::from_utf8_lossy(&out).into_owned()
    }

    fn events(&mut self) -> Vec<ReliableEvent> {
        std::iter::from_fn(|| self.core.poll_event()).collect()
    }

    fn receive(&mut self, frame: &str) {
        self.core.handle_bytes(self.now, self.link, format!("{frame}\0").as_bytes());
    }

    fn call(&mut self, body: &str, timeout: Duration) -> CallId {
        let request = PendingPublish {
            exchange: String::new(),
            routing_key: "rpc_queue".into(),
            body: body.as_bytes().to_vec(),
            properties: BasicProperties::default(),
        };
        self.core.call(self.now, request, timeout).expect("the call is taken")
    }

    /// A call whose request the broker confirmed; its correlation id.
    fn confirmed_call(&mut self, body: &str, timeout: Duration) -> (CallId, String) {
        let call = self.call(body, timeout);
        let sent = self.sent();
        let receipt = header(&sent, "receipt").expect("a receipt").to_owned();
        self.receive(&format!("RECEIPT\nreceipt-id:{receipt}\n\n"));
        self.events();
        (call, header(&sent, "correlation-id").expect("a correlation id").to_owned())
    }

    /// The clock moves to `at` and the core handles its timers.
    fn at(&mut self, at: Duration) {
        self.now = at;
        self.core.handle_timeout(at);
    }

    /// The management API look-ups asked for since the last look.
    fn look_ups(&mut self) -> Vec<QueueLookUp> {
        std::iter::from_fn(|| self.core.poll_action())
            .filter_map(|action| match action {
                Action::LookUp(question) => Some(question),
                _ => None,
            })
            .collect()
    }

    fn reply(&mut self, correlation_id: &str, body: &str) {
        self.receive(&format!(
            "MESSAGE\nsubscription:{REPLY_TO}\ndestination:/queue/amq.gen-abc\nmessage-id:T_{REPLY_TO}@@session-1@@1\ncorrelation-id:{correlation_id}\n\n{body}"
        ));
    }
}

fn header<'a>(frame: &'a str, name: &str) -> Option<&'a str> {
    frame.lines().find_map(|line| line.strip_prefix(&format!("{name}:")[..]))
}

fn call_done(events: &[ReliableEvent]) -> Vec<(CallId, Result<Box<Delivery>, CallError>)> {
    events
        .iter()
        .filter_map(|event| match event {
            ReliableEvent::CallDone { call, result } => Some((*call, result.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_call_sends_reply_to_and_correlation_and_resolves_with_its_reply() {
    let mut hand = Hand::connected();
    hand.events();
    let call = hand.call("30", Duration::from_secs(5));
    let sent = hand.sent();
    assert!(sent.starts_with("SEND\ndestination:/amq/queue/rpc_queue\n"), "{sent}");
    assert_eq!(header(&sent, "reply-to"), Some(REPLY_TO));
    let correlation = header(&sent, "correlation-id").expect("a correlation id").to_owned();
    let receipt = header(&sent, "receipt").expect("a receipt").to_owned();
    let outbox = |messages, in_flight| [ReliableEvent::Connection(ConnectionEvent::OutboxChanged { messages, in_flight })];
    // The request in the outbox is said, as its confirm is below: the app's
    // outbox line heard neither and said "1 in flight" for ever.
    assert_eq!(hand.events(), outbox(1, 1));
    hand.receive(&format!("RECEIPT\nreceipt-id:{receipt}\n\n"));
    // The request's confirm is the call's: no publisher hears of it, only the outbox's counts.
    assert_eq!(hand.events(), outbox(0, 0));
    assert_eq!(hand.core.calls_in_flight(), 1);
    hand.reply(&correlation, "832040");
    let done = call_done(&hand.events());
    let [(id, Ok(reply))] = &done[..] else { panic!("one reply: {done:?}") };
    assert_eq!(*id, call);
    assert_eq!(reply.body, b"832040");
    // Web-STOMP auto-acks a temp queue's MESSAGE: nothing to ack, nothing acked.
    assert_eq!(reply.delivery_tag, None);
    assert!(!hand.sent().contains("ACK"));
    assert_eq!(hand.core.calls_in_flight(), 0);
    assert_eq!(hand.core.poll_timeout(), hand.core.next_timer().map(|(_, at)| at));
}

#[test]
fn concurrent_calls_each_get_their_own_reply() {
    let mut hand = Hand::connected();
    hand.events();
    let calls: Vec<CallId> = (0..3).map(|n| hand.call(&n.to_string(), Duration::from_secs(5))).collect();
    let sent = hand.sent();
    let correlations: Vec<String> = sent
        .split('\0')
        .filter_map(|frame| header(frame, "correlation-id").map(str::to_owned))
        .collect();
    assert_eq!(correlations.len(), 3);
    // Answered in reverse order: each reply still reaches its own call.
    for (n, correlation) in correlations.iter().enumerate().rev() {
        hand.reply(correlation, &format!("reply {n}"));
    }
    let done = call_done(&hand.events());
    assert_eq!(done.len(), 3);
    for (call, result) in done {
        let n = calls.iter().position(|c| *c == call).expect("one of ours");
        assert_eq!(result.expect("a reply").body, format!("reply {n}").into_bytes());
    }
}

#[test]
fn a_reply_that_matches_no_call_is_counted_and_dropped() {
    let mut hand = Hand::connected();
    hand.events();
    let _call = hand.call("1", Duration::from_secs(5));
    hand.sent();
    // The request's way into the outbox is said apart.
    hand.events();
    hand.reply("nobody-asked", "stray");
    let events = hand.events();
    assert!(call_done(&events).is_empty(), "{events:?}");
    assert_eq!(
        events,
        [ReliableEvent::Connection(ConnectionEvent::Warning(Warning::UnmatchedReply {
            correlation_id: Some("nobody-asked".into())
        }))]
    );
    assert_eq!(hand.core.unmatched_replies(), 1);
    assert_eq!(hand.core.calls_in_flight(), 1);
}

#[test]
fn a_call_without_a_reply_times_out_and_its_late_reply_is_unmatched() {
    let mut hand = Hand::connected();
    hand.events();
    let call = hand.call("1", ms(300));
    let correlation = header(&hand.sent(), "correlation-id").expect("a correlation id").to_owned();
    assert_eq!(hand.core.poll_timeout(), Some(ms(300)).min(hand.core.poll_timeout()));
    hand.now = ms(299);
    hand.core.handle_timeout(hand.now);
    assert!(call_done(&hand.events()).is_empty());
    hand.now = ms(300);
    hand.core.handle_timeout(hand.now);
    assert_eq!(call_done(&hand.events()), [(call, Err(CallError::Timeout(ms(300))))]);
    hand.reply(&correlation, "too late");
    let events = hand.events();
    assert!(call_done(&events).is_empty());
    // Said as late (tutorial 6: a late reply is safe to drop), not as a stray.
    assert_eq!(
        events,
        [ReliableEvent::Connection(ConnectionEvent::Warning(Warning::LateReply {
            correlation_id: correlation.clone(),
            timeout: ms(300)
        }))]
    );
    assert_eq!(hand.core.unmatched_replies(), 1);
    // Only once: a second copy of it is a stray.
    hand.reply(&correlation, "again");
    assert!(matches!(hand.events().as_slice(), [ReliableEvent::Connection(ConnectionEvent::Warning(Warning::UnmatchedReply { .. }))]));
    assert_eq!(hand.core.unmatched_replies(), 2);
}

#[test]
fn a_call_whose_request_was_confirmed_fails_when_the_connection_drops() {
    let mut hand = Hand::connected();
    hand.events();
    let call = hand.call("1", Duration::from_secs(5));
    let receipt = header(&hand.sent(), "receipt").expect("a receipt").to_owned();
    hand.receive(&format!("RECEIPT\nreceipt-id:{receipt}\n\n"));
    let link = hand.link;
    hand.core.handle_closed(hand.now, link, SocketClose::new(1006, ""));
    let done = call_done(&hand.events());
    assert!(matches!(&done[..], [(id, Err(CallError::ConnectionLost(_)))] if *id == call), "{done:?}");
}

#[test]
fn a_call_not_yet_confirmed_goes_again_after_a_reconnect_and_gets_its_reply() {
    let mut hand = Hand::connected();
    hand.events();
    let call = hand.call("1", Duration::from_secs(60));
    let first = hand.sent();
    let correlation = header(&first, "correlation-id").expect("a correlation id").to_owned();
    let link = hand.link;
    hand.core.handle_closed(hand.now, link, SocketClose::new(1006, ""));
    assert!(call_done(&hand.events()).is_empty());
    hand.now = ms(40_000);
    hand.core.handle_timeout(hand.now);
    let Some(Action::Open { link, .. }) = std::iter::from_fn(|| hand.core.poll_action()).find(|a| matches!(a, Action::Open { .. })) else {
        panic!("a reconnect")
    };
    hand.open(link);
    let again = hand.sent();
    assert_eq!(header(&again, "correlation-id"), Some(&correlation[..]), "{again}");
    assert_eq!(header(&again, "reply-to"), Some(REPLY_TO));
    hand.reply(&correlation, "after the outage");
    let done = call_done(&hand.events());
    assert!(matches!(&done[..], [(id, Ok(reply))] if *id == call && reply.body == b"after the outage"), "{done:?}");
}

/// Regression (QA): a call that timed out while the connection was down left its
/// request in the outbox, and it went out once the connection was back: the
/// server did the work, and the reply went nowhere ("no call waits for it").
/// A request not on the wire when its call ends is taken out.
#[test]
fn a_call_that_times_out_while_down_is_not_sent_afterwards() {
    let mut hand = Hand::connected();
    hand.events();
    let link = hand.link;
    hand.core.handle_closed(hand.now, link, SocketClose::new(1006, ""));
    let call = hand.call("1", ms(500));
    hand.now = ms(500);
    hand.core.handle_timeout(hand.now);
    assert_eq!(call_done(&hand.events()), [(call, Err(CallError::Timeout(ms(500))))]);
    assert!(hand.core.outbox().is_empty(), "the request is out of the outbox");
    // The reconnect asked for (at the retry, maybe already due), opened at once.
    let link = loop {
        if let Some(Action::Open { link, .. }) = std::iter::from_fn(|| hand.core.poll_action()).find(|a| matches!(a, Action::Open { .. })) {
            break link;
        }
        hand.now = hand.core.poll_timeout().expect("a retry is planned");
        hand.core.handle_timeout(hand.now);
    };
    hand.open(link);
    let sent = hand.sent();
    assert!(!sent.contains("SEND"), "the request was not sent: {sent}");
    // Sent and unconfirmed when the connection dropped, it is taken out too.
    let second = hand.call("2", ms(500));
    assert!(hand.sent().contains("SEND"), "the second request went");
    let link = hand.link;
    hand.core.handle_closed(hand.now, link, SocketClose::new(1006, ""));
    hand.now += ms(500);
    hand.core.handle_timeout(hand.now);
    assert_eq!(call_done(&hand.events()), [(second, Err(CallError::Timeout(ms(500))))]);
    assert!(hand.core.outbox().is_empty(), "the second request is out of the outbox");
}

/// QA: stopped in the reconnect countdown, a call and a publish made while the
/// connection was down said "stopped before the reply came" and "it may or may not
/// have arrived", though neither had been sent. One sent and unconfirmed still
/// may have arrived.
#[test]
fn stop_while_down_says_what_was_never_sent() {
    let mut hand = Hand::connected();
    let sent_first = hand.call("sent", ms(60_000));
    assert!(hand.sent().contains("SEND"), "the first request went");
    let link = hand.link;
    hand.core.handle_closed(hand.now, link, SocketClose::new(1006, ""));
    let unsent = hand.call("unsent", ms(60_000));
    let request = PendingPublish {
        exchange: String::new(),
        routing_key: "q".into(),
        body: b"while down".to_vec(),
        properties: BasicProperties::default(),
    };
    let publish = hand.core.basic_publish(hand.now, request).expect("kept in the outbox");
    hand.events();
    hand.core.stop(hand.now);
    let events = hand.events();
    let done = call_done(&events);
    assert!(done.contains(&(sent_first, Err(CallError::Stopped))), "{done:?}");
    assert!(done.contains(&(unsent, Err(CallError::Publish(PublishError::StoppedUnsent)))), "{done:?}");
    assert!(events.iter().any(|e| matches!(e, ReliableEvent::PublishFailed { publish: p, error: PublishError::StoppedUnsent } if *p == publish)),
        "{events:?}");
}

/// Every frame written since the last look, per link.
fn written_by_link(core: &mut Core, now: Duration) -> Vec<(LinkId, String)> {
    let mut frames = Vec::new();
    loop {
        let mut out = Vec::new();
        let Some(link) = core.poll_transmit(now, &mut out) else { break };
        frames.push((link, String::from_utf8_lossy(&out).into_owned()));
    }
    frames
}

/// QA: at a token renewal (make-before-break) a call whose request the old link
/// had confirmed failed with ConnectionLostError: the old link's DISCONNECT went
/// as soon as its confirms were in, and its reply queue with it. The old link now
/// waits for the reply (publishing has moved), then goes.
#[test]
fn a_call_in_flight_at_a_token_renewal_gets_its_reply() {
    let (mut core, old) = connected_with_tokens();
    let request = PendingPublish {
        exchange: String::new(),
        routing_key: "rpc_queue".into(),
        body: b"30".to_vec(),
        properties: BasicProperties::default(),
    };
    let call = core.call(ms(4), request, Duration::from_secs(60)).expect("the call is taken");
    let sent = written_by_link(&mut core, ms(4));
    let send = &sent.iter().find(|(_, frame)| frame.contains("SEND")).expect("the request").1;
    let receipt = header(send, "receipt").expect("a receipt").to_owned();
    let correlation = header(send, "correlation-id").expect("a correlation id").to_owned();
    core.handle_bytes(ms(5), old, format!("RECEIPT\nreceipt-id:{receipt}\n\n\0").as_bytes());
    // The renewal: the provider again, a new socket beside the old one.
    let (new, now) = renewal_socket(&mut core, ms(5), token(2));
    core.handle_opened(now, new);
    written_by_link(&mut core, now);
    core.handle_bytes(now, new, b"CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\0");
    let events: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(events.iter().any(|e| matches!(e, ReliableEvent::Connection(ConnectionEvent::Renewed { .. }))), "{events:?}");
    assert!(call_done(&events).is_empty(), "the call waits for its reply: {events:?}");
    let frames = written_by_link(&mut core, now);
    assert!(!frames.iter().any(|(link, frame)| *link == old && frame.contains("DISCONNECT")), "the old link stays: {frames:?}");
    let reply = format!(
        "MESSAGE\nsubscription:{REPLY_TO}\ndestination:/queue/amq.gen-abc\nmessage-id:T_{REPLY_TO}@@session-1@@1\ncorrelation-id:{correlation}\n\n832040\0"
    );
    core.handle_bytes(now, old, reply.as_bytes());
    let events: Vec<ReliableEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    let done = call_done(&events);
    assert!(matches!(done.as_slice(), [(c, Ok(reply))] if *c == call && reply.body == b"832040"), "{events:?}");
    let frames = written_by_link(&mut core, now);
    assert!(frames.iter().any(|(link, frame)| *link == old && frame.contains("DISCONNECT")), "then the old link goes: {frames:?}");
}

#[test]
fn stop_ends_every_call_before_stopped() {
    let mut hand = Hand::connected();
    hand.events();
    let confirmed = hand.call("1", Duration::from_secs(5));
    let receipt = header(&hand.sent(), "receipt").expect("a receipt").to_owned();
    hand.receive(&format!("RECEIPT\nreceipt-id:{receipt}\n\n"));
    let unconfirmed = hand.call("2", Duration::from_secs(5));
    hand.sent();
    hand.core.stop(hand.now);
    let disconnect = hand.sent();
    if let Some(receipt) = header(&disconnect, "receipt") {
        let receipt = receipt.to_owned();
        hand.receive(&format!("RECEIPT\nreceipt-id:{receipt}\n\n"));
    }
    let link = hand.link;
    hand.core.handle_closed(hand.now, link, SocketClose::new(1000, ""));
    let events = hand.events();
    let done = call_done(&events);
    assert_eq!(done.len(), 2, "{events:?}");
    assert!(done.iter().all(|(call, result)| [confirmed, unconfirmed].contains(call)
        && *result == Err(CallError::Stopped)));
    assert!(matches!(events.last(), Some(ReliableEvent::Connection(ConnectionEvent::Stopped(_)))));
}

/// Simulation (seed 2775 with the look-ups): stopped before its deadline, a call
/// whose deadline passed while DISCONNECT awaited its receipt was resolved by a
/// reply that came later. Its timer runs while stopping; nothing is asked then.
#[test]
fn a_call_times_out_at_its_deadline_while_stopping() {
    let mut hand = Hand::connected();
    hand.events();
    let (call, correlation) = hand.confirmed_call("30", ms(1000));
    hand.now = ms(900);
    hand.core.stop(hand.now);
    assert!(hand.sent().contains("DISCONNECT"));
    hand.at(ms(1000));
    assert_eq!(call_done(&hand.events()), [(call, Err(CallError::Timeout(ms(1000))))]);
    assert_eq!(hand.look_ups(), []);
    hand.now = ms(1010);
    hand.reply(&correlation, "too late");
    assert!(call_done(&hand.events()).is_empty());
}

#[test]
fn a_call_refuses_a_reply_to_of_its_own_and_a_correlation_id_in_use() {
    let mut hand = Hand::connected();
    let mut request = PendingPublish {
        exchange: String::new(),
        routing_key: "rpc_queue".into(),
        body: Vec::new(),
        properties: BasicProperties { reply_to: Some("mine".into()), ..BasicProperties::default() },
    };
    assert_eq!(hand.core.call(hand.now, request.clone(), ms(10)), Err(CallError::ReplyToGiven("mine".into())));
    request.properties = BasicProperties { correlation_id: Some("c1".into()), ..BasicProperties::default() };
    assert!(hand.core.call(hand.now, request.clone(), ms(10)).is_ok());
    assert_eq!(hand.core.call(hand.now, request, ms(10)), Err(CallError::CorrelationInUse("c1".into())));
}

#[test]
fn a_reply_goes_to_the_requests_reply_to_with_its_correlation_id() {
    let mut hand = Hand::connected();
    hand.events();
    hand.receive("MESSAGE\nsubscription:0\ndestination:/amq/queue/rpc_queue\nmessage-id:m1\nack:a1\nreply-to:/reply-queue/amq.gen-Xy_1\ncorrelation-id:c-7\n\n30");
    // A delivery for no subscription of ours is only warned about; take its words.
    let request = Delivery {
        properties: BasicProperties {
            reply_to: Some("/reply-queue/amq.gen-Xy_1".into()),
            correlation_id: Some("c-7".into()),
            ..BasicProperties::default()
        },
        ..delivery()
    };
    hand.core.reply(hand.now, &request, b"832040".to_vec(), BasicProperties::default()).expect("sent");
    let sent = hand.sent();
    assert!(sent.starts_with("SEND\ndestination:/amq/queue/amq.gen-Xy_1\n"), "{sent}");
    assert_eq!(header(&sent, "correlation-id"), Some("c-7"));
    assert!(sent.ends_with("832040\0"));
    let nowhere = delivery();
    assert_eq!(hand.core.reply(hand.now, &nowhere, Vec::new(), BasicProperties::default()), Err(ReplyError::NoReplyTo));
}

/// A learner who starts tutorial 6's client before its server (which declares
/// `rpc_queue`) got "no reply within 5000 ms" alone: RabbitMQ confirms a message
/// no queue takes and drops it. A call with no reply by half its timeout asks the
/// management API whether its queue exists, and not before.
#[test]
fn a_slow_call_asks_for_its_queue_at_half_time_and_not_before() {
    let mut hand = Hand::connected();
    hand.events();
    hand.confirmed_call("30", ms(1000));
    assert_eq!(hand.core.poll_timeout(), Some(ms(500)));
    hand.at(ms(499));
    assert_eq!(hand.look_ups(), []);
    hand.at(ms(500));
    let asked = hand.look_ups();
    let [QueueLookUp { url, vhost, queue, .. }] = &asked[..] else { panic!("one look-up: {asked:?}") };
    assert_eq!((&url[..], &vhost[..], &queue[..]), ("ws://127.0.0.1:15674/ws", "/", "rpc_queue"));
    // Nothing ends before the deadline; the next timer is it.
    assert!(call_done(&hand.events()).is_empty());
    assert_eq!(hand.core.poll_timeout(), Some(ms(1000)));
}

/// The bench makes ~800 calls a second: a call answered before half-time costs
/// no HTTP request.
#[test]
fn a_call_answered_before_half_time_costs_no_look_up() {
    let mut hand = Hand::connected();
    hand.events();
    let (call, correlation) = hand.confirmed_call("30", ms(1000));
    hand.at(ms(499));
    hand.reply(&correlation, "832040");
    assert!(matches!(&call_done(&hand.events())[..], [(id, Ok(_))] if *id == call));
    hand.at(ms(2000));
    assert_eq!(hand.look_ups(), []);
    assert_eq!(hand.core.poll_timeout(), hand.core.next_timer().map(|(_, at)| at));
}

#[test]
fn a_call_to_a_missing_queue_ends_at_its_deadline_saying_so() {
    let mut hand = Hand::connected();
    hand.events();
    let (call, _) = hand.confirmed_call("30", ms(5000));
    hand.at(ms(2500));
    let [question] = &hand.look_ups()[..] else { panic!("one look-up") };
    hand.now = ms(2600);
    hand.core.handle_queue_facts(hand.now, question.id, Ok(None));
    // Neither earlier than its deadline…
    assert!(call_done(&hand.events()).is_empty());
    hand.at(ms(4999));
    assert!(call_done(&hand.events()).is_empty());
    // …nor later.
    hand.at(ms(5000));
    let done = call_done(&hand.events());
    let error = CallError::NoQueue { queue: "rpc_queue".into(), vhost: "/".into(), after: ms(5000) };
    assert_eq!(done, [(call, Err(error.clone()))]);
    assert_eq!(
        error.to_string(),
        "no reply within 5000 ms: there is no queue 'rpc_queue' in vhost '/', so RabbitMQ dropped the request \
         (it confirms a message no queue takes); start the server that declares it, or declare it"
    );
    // Once, whatever comes after.
    hand.core.handle_queue_facts(hand.now, question.id, Ok(None));
    hand.at(ms(10_000));
    assert!(call_done(&hand.events()).is_empty());
}

/// The server may come up after the look-up: its reply still resolves the call.
#[test]
fn a_reply_after_the_look_up_still_resolves_the_call() {
    let mut hand = Hand::connected();
    hand.events();
    let (call, correlation) = hand.confirmed_call("30", ms(1000));
    hand.at(ms(500));
    let [question] = &hand.look_ups()[..] else { panic!("one look-up") };
    hand.core.handle_queue_facts(hand.now, question.id, Ok(None));
    hand.now = ms(900);
    hand.reply(&correlation, "832040");
    assert!(matches!(&call_done(&hand.events())[..], [(id, Ok(_))] if *id == call));
    hand.at(ms(1000));
    assert!(call_done(&hand.events()).is_empty());
}

fn queue_facts() -> QueueFacts {
    QueueFacts { durable: false, exclusive: false, auto_delete: false, arguments: Vec::new(), consumers: None }
}

/// QA on 4.0.5: a call to a queue that exists with no consumer (its server
/// stopped) said only "no reply within 2000 ms", though the look-up at half the
/// timeout had the queue with 0 consumers. It says so; one with a consumer, or
/// whose count is not known, times out plainly.
#[test]
fn a_call_whose_queue_has_no_consumer_says_so() {
    for (consumers, idle) in [(Some(0), true), (Some(1), false), (None, false)] {
        let mut hand = Hand::connected();
        hand.events();
        let (call, _) = hand.confirmed_call("30", ms(1000));
        hand.at(ms(500));
        let [question] = &hand.look_ups()[..] else { panic!("one look-up") };
        hand.core.handle_queue_facts(hand.now, question.id, Ok(Some(QueueFacts { consumers, ..queue_facts() })));
        hand.at(ms(1000));
        let error = if idle {
            CallError::NoConsumer { queue: "rpc_queue".into(), after: ms(1000) }
        } else {
            CallError::Timeout(ms(1000))
        };
        assert_eq!(call_done(&hand.events()), [(call, Err(error))], "{consumers:?} consumers");
    }
    let words = CallError::NoConsumer { queue: "rpc_queue".into(), after: ms(2000) }.to_string();
    assert_eq!(
        words,
        "no reply within 2000 ms: queue 'rpc_queue' had no consumer in the management API's figures at half that time (a \
         few seconds old), so likely no server took the request (it waits in the queue for one); start the server that \
         consumes it"
    );
}

/// The facts do not say it is missing (it exists, or the API could not say), or
/// none came by the deadline: a plain timeout.
#[test]
fn a_call_whose_queue_is_not_known_missing_times_out_plainly() {
    let answers: [Option<Result<Option<QueueFacts>, String>>; 3] =
        [Some(Ok(Some(queue_facts()))), Some(Err("HTTP 401".into())), None];
    for answer in answers {
        let mut hand = Hand::connected();
        hand.events();
        let (call, _) = hand.confirmed_call("30", ms(1000));
        hand.at(ms(500));
        let [question] = &hand.look_ups()[..] else { panic!("one look-up") };
        if let Some(facts) = answer.clone() {
            hand.core.handle_queue_facts(hand.now, question.id, facts);
        }
        hand.at(ms(1000));
        assert_eq!(call_done(&hand.events()), [(call, Err(CallError::Timeout(ms(1000))))], "{answer:?}");
        // An answer after the deadline changes nothing.
        hand.core.handle_queue_facts(hand.now, question.id, Ok(None));
        assert!(call_done(&hand.events()).is_empty());
    }
}

/// A user without the management tag gets 401s, and a page whose management API
/// sends no CORS headers gets network errors, each printed in the console: once
/// the API failed to answer, later calls ask nothing for a while.
#[test]
fn once_the_management_api_failed_calls_ask_nothing_more() {
    let mut hand = Hand::connected();
    hand.events();
    let (first, _) = hand.confirmed_call("1", ms(1000));
    hand.at(ms(500));
    let [question] = &hand.look_ups()[..] else { panic!("one look-up") };
    hand.core.handle_queue_facts(hand.now, question.id, Err("HTTP 401".into()));
    hand.at(ms(1000));
    assert_eq!(call_done(&hand.events()), [(first, Err(CallError::Timeout(ms(1000))))]);
    let (second, _) = hand.confirmed_call("2", ms(1000));
    hand.at(ms(1500));
    assert_eq!(hand.look_ups(), []);
    hand.at(ms(2000));
    assert_eq!(call_done(&hand.events()), [(second, Err(CallError::Timeout(ms(1000))))]);
}

/// A management API down for a moment (a broker restarting) answers again: a
/// failed look-up pauses the asks for a minute, not for the connection's life.
#[test]
fn after_a_failed_look_up_calls_ask_again_a_minute_later() {
    let mut hand = Hand::connected();
    hand.events();
    let (first, _) = hand.confirmed_call("1", ms(1000));
    hand.at(ms(500));
    let [question] = &hand.look_ups()[..] else { panic!("one look-up") };
    let down = "the management API at http://127.0.0.1:15672/api/queues is unreachable: Failed to fetch";
    hand.core.handle_queue_facts(hand.now, question.id, Err(down.into()));
    hand.at(ms(1000));
    assert_eq!(call_done(&hand.events()), [(first, Err(CallError::Timeout(ms(1000))))]);
    // Within the minute, nothing is asked.
    hand.now = ms(30_000);
    let (second, _) = hand.confirmed_call("2", ms(1000));
    hand.at(ms(30_500));
    assert_eq!(hand.look_ups(), []);
    hand.at(ms(31_000));
    assert_eq!(call_done(&hand.events()), [(second, Err(CallError::Timeout(ms(1000))))]);
    // After it, the API is back: a slow call asks, and says its queue is missing.
    hand.now = ms(61_000);
    let (third, _) = hand.confirmed_call("3", ms(1000));
    hand.at(ms(61_500));
    let [question] = &hand.look_ups()[..] else { panic!("asked again after the pause") };
    hand.core.handle_queue_facts(hand.now, question.id, Ok(None));
    hand.at(ms(62_000));
    let missing = CallError::NoQueue { queue: "rpc_queue".into(), vhost: "/".into(), after: ms(1000) };
    assert_eq!(call_done(&hand.events()), [(third, Err(missing))]);
}

/// Where no management API is known (no management URL, and a connection URL
/// RabbitMQ's defaults give none for), the driver answers the look-up at once with
/// an error (no HTTP): the call times out plainly, and the failure pauses the asks
/// as any does.
#[test]
fn a_call_without_a_management_api_is_answered_at_once_and_times_out_plainly() {
    let url = "stomp+tcp://127.0.0.1:61613";
    let mut hand = Hand::connected_to(url);
    hand.events();
    let (call, _) = hand.confirmed_call("30", ms(1000));
    hand.at(ms(500));
    let [question] = &hand.look_ups()[..] else { panic!("one look-up") };
    assert_eq!(question.url, url);
    hand.core.handle_queue_facts(hand.now, question.id, Err(format!("no management API is known for {url}")));
    hand.at(ms(1000));
    assert_eq!(call_done(&hand.events()), [(call, Err(CallError::Timeout(ms(1000))))]);
    let (next, _) = hand.confirmed_call("31", ms(1000));
    hand.at(ms(1500));
    assert_eq!(hand.look_ups(), []);
    hand.at(ms(2000));
    assert_eq!(call_done(&hand.events()), [(next, Err(CallError::Timeout(ms(1000))))]);
}

/// A request to a named exchange is routed by its bindings: no queue to ask about.
#[test]
fn a_call_to_a_named_exchange_asks_nothing() {
    let mut hand = Hand::connected();
    hand.events();
    let request = PendingPublish {
        exchange: "rpc".into(),
        routing_key: "fib".into(),
        body: b"30".to_vec(),
        properties: BasicProperties::default(),
    };
    let call = hand.core.call(hand.now, request, ms(1000)).expect("the call is taken");
    hand.sent();
    hand.at(ms(500));
    assert_eq!(hand.look_ups(), []);
    hand.at(ms(1000));
    assert_eq!(call_done(&hand.events()), [(call, Err(CallError::Timeout(ms(1000))))]);
}

/// Calls to one queue share its look-up; its answer is theirs all.
#[test]
fn calls_to_one_queue_share_one_look_up() {
    let mut hand = Hand::connected();
    hand.events();
    let (first, _) = hand.confirmed_call("1", ms(1000));
    hand.now = ms(100);
    let (second, _) = hand.confirmed_call("2", ms(1000));
    hand.at(ms(500));
    let [question] = &hand.look_ups()[..] else { panic!("one look-up") };
    // The second's half-time comes while the first's look-up is in flight.
    hand.at(ms(600));
    assert_eq!(hand.look_ups(), []);
    hand.core.handle_queue_facts(hand.now, question.id, Ok(None));
    hand.at(ms(1000));
    let missing = |after| CallError::NoQueue { queue: "rpc_queue".into(), vhost: "/".into(), after };
    assert_eq!(call_done(&hand.events()), [(first, Err(missing(ms(1000))))]);
    hand.at(ms(1100));
    assert_eq!(call_done(&hand.events()), [(second, Err(missing(ms(1000))))]);
    // Once answered, a later call asks again: the queue may have come meanwhile.
    let (third, _) = hand.confirmed_call("3", ms(1000));
    hand.at(ms(1600));
    assert_eq!(hand.look_ups().len(), 1);
    hand.at(ms(2100));
    assert_eq!(call_done(&hand.events()), [(third, Err(CallError::Timeout(ms(1000))))]);
}

fn delivery() -> Delivery {
    Delivery {
        consumer_tag: burrow::client::SubscriptionId("0".into()),
        delivery_tag: None,
        redelivered: false,
        resent: false,
        delivery_count: None,
        stream_offset: None,
        exchange: String::new(),
        routing_key: "rpc_queue".into(),
        properties: BasicProperties::default(),
        body: b"30".to_vec(),
    }
}
