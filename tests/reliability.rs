#![cfg(not(target_arch = "wasm32"))]
//! Reconnect backoff, the publish outbox and the frame size check (native, no broker).

use std::time::Duration;

use burrow::client::*;
use burrow::rabbit::*;
use burrow::stomp::{encode_to_vec, Command, Decoded, Decoder, Frame, Limits};

mod channel;
use channel::{connected_channel, sent_frames, NOW};

const MS: Duration = Duration::from_millis(1);

fn backoff(jitter: Jitter) -> Backoff {
    Backoff::new(500 * MS, 2, Duration::from_secs(30), jitter)
}

// ---- Backoff ----

#[test]
fn backoff_doubles_up_to_the_cap() {
    let mut b = backoff(Jitter::Full);
    // Just below 1: the delay is just below its ceiling.
    let delays: Vec<u128> = (0..10).map(|_| b.next_delay(0.999_999).as_millis()).collect();
    let ceilings = [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000];
    for (delay, ceiling) in delays.iter().zip(ceilings) {
        assert!(*delay <= ceiling && *delay + 1 >= ceiling, "{delay} vs {ceiling}");
    }
    assert_eq!(b.attempts(), 10);
}

#[test]
fn backoff_stays_capped_after_very_many_attempts() {
    let mut b = backoff(Jitter::Equal);
    for _ in 0..200 {
        assert!(b.next_delay(0.5) <= Duration::from_secs(30));
    }
    assert_eq!(b.ceiling(), Duration::from_secs(30));
}

#[test]
fn full_jitter_spans_zero_to_the_ceiling() {
    let mut b = backoff(Jitter::Full);
    assert_eq!(b.next_delay(0.0), Duration::ZERO);
    let mut b = backoff(Jitter::Full);
    assert_eq!(b.next_delay(0.5), 250 * MS);
    let mut b = backoff(Jitter::Full);
    assert!(b.next_delay(0.999_999_999) < 500 * MS);
}

#[test]
fn equal_jitter_waits_at_least_half_the_ceiling() {
    for unit in [0.0, 0.25, 0.5, 0.75, 0.999_999] {
        let mut b = backoff(Jitter::Equal);
        let first = b.next_delay(unit);
        assert!(first >= 250 * MS && first < 500 * MS, "{first:?}");
        let second = b.next_delay(unit);
        assert!(second >= 500 * MS && second < 1000 * MS, "{second:?}");
    }
    let mut b = backoff(Jitter::Equal);
    assert_eq!(b.next_delay(0.0), 250 * MS);
}

#[test]
fn out_of_range_random_numbers_are_clamped() {
    for unit in [f64::NAN, -1.0, f64::NEG_INFINITY] {
        let mut b = backoff(Jitter::Full);
        assert_eq!(b.next_delay(unit), Duration::ZERO, "{unit}");
    }
    for unit in [1.0, 7.5, f64::INFINITY] {
        let mut b = backoff(Jitter::Full);
        let delay = b.next_delay(unit);
        assert!(delay < 500 * MS && delay > 499 * MS, "{unit}: {delay:?}");
    }
}

#[test]
fn reset_starts_over_from_the_initial_delay() {
    let mut b = backoff(Jitter::Full);
    for _ in 0..5 {
        b.next_delay(0.5);
    }
    assert_eq!(b.ceiling(), 32 * 500 * MS);
    b.reset();
    assert_eq!(b.attempts(), 0);
    assert_eq!(b.next_delay(0.5), 250 * MS);
}

#[test]
fn the_default_is_500ms_doubling_to_30s_with_equal_jitter() {
    let mut b = Backoff::default();
    assert_eq!(b.next_delay(0.0), 250 * MS);
    assert_eq!(b.ceiling(), 1000 * MS);
}

#[test]
fn odd_policies_do_not_panic() {
    let mut constant = Backoff::new(100 * MS, 0, Duration::from_secs(1), Jitter::Full);
    assert_eq!(constant.next_delay(0.5), 50 * MS);
    assert_eq!(constant.next_delay(0.5), 50 * MS);
    let mut huge = Backoff::new(Duration::MAX, u32::MAX, Duration::MAX, Jitter::Equal);
    for _ in 0..5 {
        huge.next_delay(0.999);
    }
    let mut zero = Backoff::new(Duration::ZERO, 2, Duration::ZERO, Jitter::Equal);
    assert_eq!(zero.next_delay(0.5), Duration::ZERO);
}

// ---- Reconnector ----

fn seconds(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[test]
fn reconnector_counts_down_with_simulated_time() {
    let mut r = Reconnector::new(backoff(Jitter::Full));
    r.start();
    r.on_connected();
    assert_eq!(r.countdown(seconds(1.0)), None);

    let retry_at = r.on_closed(seconds(100.0), true, 0.5);
    assert_eq!(retry_at, Some(seconds(100.25)));
    assert_eq!(r.poll_timeout(), Some(seconds(100.25)));
    assert_eq!(r.state(), ReconnectState::Waiting { retry_at: seconds(100.25), attempt: 1 });
    assert_eq!(r.on_closed(seconds(100.1), true, 0.9), Some(seconds(100.25)), "a repeated close report");
    assert_eq!(r.attempts(), 1);
    assert_eq!(r.countdown(seconds(100.0)), Some(250 * MS));
    assert_eq!(r.countdown(seconds(100.2)), Some(50 * MS));
    assert!(!r.handle_timeout(seconds(100.2)), "not yet");
    assert_eq!(r.countdown(seconds(101.0)), Some(Duration::ZERO), "overdue shows zero");
    assert!(r.handle_timeout(seconds(100.25)));
    assert!(!r.handle_timeout(seconds(100.3)), "only once");
    assert_eq!(r.state(), ReconnectState::Reconnecting);
    assert_eq!(r.countdown(seconds(100.3)), None);

    // The reconnect fails too: the next wait is longer.
    let retry_at = r.on_closed(seconds(110.0), true, 0.5);
    assert_eq!(retry_at, Some(seconds(110.5)));
    assert_eq!(r.attempts(), 2);

    // Success resets the backoff.
    assert!(r.handle_timeout(seconds(111.0)));
    r.on_connected();
    assert_eq!(r.attempts(), 0);
    assert_eq!(r.on_closed(seconds(200.0), true, 0.5), Some(seconds(200.25)));
}

#[test]
fn a_non_retryable_close_stops_retrying() {
    let mut r = Reconnector::default();
    r.on_connected();
    assert_eq!(r.on_closed(seconds(5.0), false, 0.5), None);
    assert_eq!(r.state(), ReconnectState::Stopped);
    assert_eq!(r.countdown(seconds(5.0)), None);
    assert_eq!(r.on_closed(seconds(6.0), true, 0.5), None, "stays stopped");
}

#[test]
fn giving_up_cancels_the_countdown_until_the_user_connects_again() {
    let mut r = Reconnector::default();
    r.on_connected();
    assert!(r.on_closed(seconds(1.0), true, 0.5).is_some());
    r.give_up();
    assert_eq!(r.countdown(seconds(1.1)), None);
    assert_eq!(r.poll_timeout(), None);
    assert!(!r.handle_timeout(seconds(100.0)));
    assert_eq!(r.on_closed(seconds(2.0), true, 0.5), None);

    r.start();
    assert_eq!(r.state(), ReconnectState::Idle);
    // A failed first attempt after the user's connect is retried.
    assert!(r.on_closed(seconds(3.0), true, 0.5).is_some());
}

// ---- Retryable classification ----

fn error(message: &str, body: &str) -> ServerError {
    ServerError { message: Some(message.to_owned()), body: body.to_owned(), receipt_id: None, headers: Vec::new() }
}

fn server_error(message: &str, body: &str) -> CloseReason {
    CloseReason::ServerError(error(message, body))
}

fn connect_refused(message: &str, body: &str) -> CloseReason {
    CloseReason::ConnectRefused(error(message, body))
}

#[test]
fn network_and_protocol_failures_are_retryable() {
    assert!(is_retryable(&CloseReason::Transport("socket closed (1006)".into())));
    assert!(is_retryable(&CloseReason::HeartBeatTimeout { silent_for: 30 * 1000 * MS, interval: 10 * 1000 * MS }));
    assert!(is_retryable(&CloseReason::ConnectTimeout(Duration::from_secs(10))));
    assert!(is_retryable(&CloseReason::Protocol(ProtocolError::ConnectedTwice)));
    assert!(is_retryable(&CloseReason::DisconnectTimeout(Duration::from_secs(5))));
    assert!(is_retryable(&server_error("connection_forced", "broker forced connection closure")));
}

#[test]
fn deliberate_or_permanent_closes_are_not_retryable() {
    assert!(!is_retryable(&CloseReason::Disconnected));
    assert!(!is_retryable(&CloseReason::InvalidOptions(OptionsError::ControlCharacter("login"))));
    assert!(!is_retryable(&connect_refused("Bad CONNECT", "Access refused for user 'guest'")));
    assert!(!is_retryable(&connect_refused("Bad CONNECT", "Virtual host '/nope' access denied")));
    assert!(!is_retryable(&connect_refused("access_refused", "ACCESS_REFUSED - write access")));
}

#[test]
fn a_refusal_after_connected_is_retryable() {
    // The reliability core fails the refused request alone; the session comes back.
    assert!(is_retryable(&server_error("access_refused", "ACCESS_REFUSED - write access")));
    assert!(is_retryable(&server_error("not_found", "NOT_FOUND - no exchange 'x'")));
    assert!(is_retryable(&server_error("precondition_failed", "PRECONDITION_FAILED - inequivalent arg")));
    assert!(is_retryable(&CloseReason::Socket(SocketClose::new(1000, WEB_STOMP_DIED))));
    assert!(is_retryable(&CloseReason::Socket(SocketClose::new(1006, ""))));
}

// ---- Outbox ----

fn publish(key: &str, body: &str) -> CheckedPublish {
    let publish = PendingPublish {
        exchange: String::new(),
        routing_key: key.to_owned(),
        body: body.as_bytes().to_vec(),
        properties: BasicProperties::persistent(),
    };
    publish.check(PUBLISH_MAX_FRAME).expect("a valid publish")
}

fn limits(messages: usize) -> OutboxLimits {
    OutboxLimits { messages, bytes: 1024 * 1024 }
}

/// The routing keys waiting to be sent on the current connection, in send order.
fn keys(outbox: &Outbox) -> Vec<String> {
    let mut copy = outbox.clone();
    let mut keys = Vec::new();
    let mut n = 0;
    while let Some(Unsent { id, publish, .. }) = copy.next_unsent() {
        keys.push(publish.routing_key().to_owned());
        n += 1;
        assert!(copy.sent(id, ReceiptId(format!("probe-{n}"))));
    }
    keys
}

#[test]
fn outbox_keeps_push_order_and_counts_bytes() {
    let mut outbox = Outbox::new(limits(10));
    let a = outbox.push(publish("a", "1")).unwrap();
    let b = outbox.push(publish("b", "22")).unwrap();
    let c = outbox.push(publish("c", "333")).unwrap();
    assert!(a < b && b < c);
    assert_eq!(keys(&outbox), ["a", "b", "c"]);
    assert_eq!((outbox.len(), outbox.bytes(), outbox.limits()), (3, 6, limits(10)));
    assert_eq!(outbox.unsent(), 3);
    assert_eq!(outbox.get(b), Some(&publish("b", "22")));
    let ids: Vec<OutboxId> = outbox.iter().map(|(id, _)| id).collect();
    assert_eq!(ids, [a, b, c]);
}

#[test]
fn outbox_refuses_beyond_capacity_until_a_confirm_frees_room() {
    let mut outbox = Outbox::new(limits(2));
    let a = outbox.push(publish("a", "x")).unwrap();
    outbox.push(publish("b", "x")).unwrap();
    assert_eq!(outbox.push(publish("c", "x")).map_err(|full| full.error), Err(OutboxError::Full { capacity: 2 }));
    assert_eq!(outbox.check_room(1), Err(OutboxError::Full { capacity: 2 }));
    assert_eq!(
        OutboxError::Full { capacity: 2 }.to_string(),
        "the outbox is full: 2 messages are waiting to be confirmed"
    );
    assert!(outbox.sent(a, ReceiptId("r-1".into())));
    assert!(outbox.push(publish("c", "x")).is_err(), "sent is not confirmed");
    assert_eq!(outbox.confirmed(&ReceiptId("r-1".into())), Some(a));
    assert!(outbox.push(publish("c", "x")).is_ok());
    assert_eq!(Outbox::new(limits(0)).push(publish("a", "x")).map_err(|full| full.error), Err(OutboxError::Full { capacity: 0 }));
}

#[test]
fn outbox_refuses_beyond_its_byte_limit_but_takes_one_large_message_when_empty() {
    let mut outbox = Outbox::new(OutboxLimits { messages: 10, bytes: 5 });
    let big = outbox.push(publish("big", "0123456789")).expect("an empty outbox takes any size");
    assert_eq!(
        outbox.push(publish("a", "x")).map_err(|full| full.error),
        Err(OutboxError::FullBytes { waiting: 10, size: 1, limit: 5 })
    );
    outbox.remove(big);
    outbox.push(publish("a", "xxx")).unwrap();
    outbox.push(publish("b", "xx")).unwrap();
    assert!(matches!(outbox.push(publish("c", "x")).map_err(|full| full.error), Err(OutboxError::FullBytes { .. })));
}

#[test]
fn confirm_removes_exactly_the_confirmed_message() {
    let mut outbox = Outbox::new(limits(10));
    let a = outbox.push(publish("a", "aaaa")).unwrap();
    let b = outbox.push(publish("b", "bb")).unwrap();
    assert!(outbox.sent(a, ReceiptId("r-a".into())));
    assert!(outbox.sent(b, ReceiptId("r-b".into())));
    assert_eq!((outbox.in_flight(), outbox.in_flight_bytes()), (2, 6));
    assert_eq!(keys(&outbox), Vec::<String>::new(), "nothing left to send");
    assert_eq!(outbox.by_receipt(&ReceiptId("r-b".into())), Some(b));

    assert_eq!(outbox.confirmed(&ReceiptId("r-b".into())), Some(b));
    assert_eq!(outbox.confirmed(&ReceiptId("r-b".into())), None, "a second RECEIPT is ignored");
    assert_eq!(outbox.confirmed(&ReceiptId("someone-else".into())), None);
    assert_eq!((outbox.len(), outbox.bytes(), outbox.in_flight(), outbox.in_flight_bytes()), (1, 4, 1, 4));
    assert!(!outbox.sent(b, ReceiptId("r-late".into())), "a confirmed message cannot be sent again");
}

#[test]
fn after_a_lost_connection_unconfirmed_messages_are_resent_in_original_order() {
    let mut outbox = Outbox::new(limits(10));
    let ids: Vec<OutboxId> = ["a", "b", "c", "d"].iter().map(|k| outbox.push(publish(k, k)).unwrap()).collect();
    // a, b and d sent; c not yet; b confirmed.
    for (id, r) in [(ids[0], "r-a"), (ids[1], "r-b"), (ids[3], "r-d")] {
        assert!(outbox.sent(id, ReceiptId(r.into())));
    }
    assert!(outbox.confirmed(&ReceiptId("r-b".into())).is_some());
    assert_eq!(keys(&outbox), ["c"]);
    let in_flight: std::collections::BTreeSet<OutboxId> = outbox.in_flight_ids().collect();
    assert_eq!(in_flight, [ids[0], ids[3]].into_iter().collect());

    outbox.connection_lost();
    assert_eq!(keys(&outbox), ["a", "c", "d"]);
    assert_eq!((outbox.in_flight(), outbox.in_flight_bytes()), (0, 0));
    // A RECEIPT of the old connection cannot confirm anything any more.
    assert_eq!(outbox.confirmed(&ReceiptId("r-a".into())), None);
    // Sent before: the next send is marked as a possible duplicate.
    assert_eq!(outbox.next_unsent().map(|next| (next.id, next.sends)), Some((ids[0], 1)));

    // Resent on the new connection with new receipts.
    assert!(outbox.sent(ids[0], ReceiptId("r2-a".into())));
    assert_eq!(keys(&outbox), ["c", "d"]);
    assert_eq!(outbox.confirmed(&ReceiptId("r2-a".into())), Some(ids[0]));
    assert_eq!(outbox.len(), 2);
}

#[test]
fn removed_and_drained_messages_leave_the_outbox() {
    let mut outbox = Outbox::new(limits(10));
    let a = outbox.push(publish("a", "12345")).unwrap();
    let b = outbox.push(publish("b", "67")).unwrap();
    assert!(outbox.sent(a, ReceiptId("r-a".into())));
    assert_eq!(outbox.remove(a), Some(publish("a", "12345")));
    assert_eq!(outbox.confirmed(&ReceiptId("r-a".into())), None, "a late RECEIPT of a removed message");
    assert_eq!(outbox.remove(b), Some(publish("b", "67")));
    assert_eq!(outbox.remove(b), None);
    assert!(outbox.is_empty());
    assert_eq!((outbox.bytes(), outbox.in_flight_bytes()), (0, 0));

    let c = outbox.push(publish("c", "1")).unwrap();
    let d = outbox.push(publish("d", "2")).unwrap();
    assert!(outbox.sent(c, ReceiptId("r-c".into())));
    let drained: Vec<(OutboxId, bool)> = outbox.drain().into_iter().map(|(id, _, sent)| (id, sent)).collect();
    assert_eq!(drained, [(c, true), (d, false)], "oldest first, each with whether it was ever sent");
    assert!(outbox.is_empty() && outbox.next_unsent().is_none());
    assert_eq!((outbox.bytes(), outbox.in_flight(), outbox.unsent()), (0, 0, 0));
}


// ---- Frame size ----

fn send_frame(destination: &str, headers: &[(String, String)], body_len: usize, receipt: &str) -> Vec<u8> {
    let mut frame = Frame::new(Command::Send).with_header("destination", destination);
    frame.headers.extend(headers.iter().cloned());
    frame.headers.push(("receipt".into(), receipt.into()));
    frame.body = vec![b'x'; body_len];
    encode_to_vec(&frame).unwrap()
}

#[test]
fn the_frame_size_counts_headers_body_and_a_receipt_without_undercounting() {
    let headers = vec![("persistent".to_owned(), "true".to_owned()), ("a:b".to_owned(), "c\nd".to_owned())];
    for body_len in [0, 1, 9, 10, 99_999, 100_000] {
        let actual = send_frame("/amq/queue/q", &headers, body_len, &format!("receipt-{}", u64::MAX)).len();
        let counted = publish_frame_size("/amq/queue/q", &headers, body_len);
        assert!(counted >= actual, "{body_len}: {counted} < {actual}");
        // The allowance covers a receipt id of up to 20 digits, no more.
        let shortest = send_frame("/amq/queue/q", &headers, body_len, "receipt-1").len();
        assert!(counted - shortest <= 19, "{body_len}: {counted} vs {shortest}");
    }
}

#[test]
fn a_publish_at_the_limit_passes_and_one_byte_more_is_refused() {
    let headers = vec![("content-type".to_owned(), "text/plain".to_owned())];
    // Measured with a body as many digits long as the one at the limit (content-length).
    let overhead = publish_frame_size("/exchange/logs", &headers, 100_000_000) - 100_000_000;
    let at_limit = WEB_STOMP_MAX_FRAME - overhead;
    assert_eq!(publish_frame_size("/exchange/logs", &headers, at_limit), WEB_STOMP_MAX_FRAME);
    assert_eq!(check_publish_size("/exchange/logs", &headers, at_limit, WEB_STOMP_MAX_FRAME), Ok(()));
    let error = check_publish_size("/exchange/logs", &headers, at_limit + 1, WEB_STOMP_MAX_FRAME).unwrap_err();
    assert_eq!(error.size, WEB_STOMP_MAX_FRAME + 1);
    assert_eq!(error.limit, WEB_STOMP_MAX_FRAME);
    assert_eq!(
        error.to_string(),
        "the message would make a 134217729-byte frame, over the limit of 134217728 bytes (publishing to /exchange/logs); nothing was sent"
    );
}

#[test]
fn the_web_stomp_limit_is_rabbitmq_3_10_default_max_message_size() {
    assert_eq!(WEB_STOMP_MAX_FRAME, 128 * 1024 * 1024);
    assert_eq!(PUBLISH_MAX_FRAME, 16 * 1024 * 1024, "RabbitMQ 4.x's default max_message_size");
    assert_eq!(Limits::default().max_body, WEB_STOMP_MAX_FRAME, "a consumer reads what 3.10.8 takes");
}

#[test]
fn check_basic_publish_measures_what_basic_publish_sends() {
    let properties = BasicProperties { content_type: Some("application/json".into()), ..BasicProperties::persistent() };
    let mut channel = connected_channel();
    channel.basic_publish(NOW, "logs", "a/b", vec![b'x'; 5000], &properties, true).unwrap();
    let frame = sent_frames(&mut channel).pop().unwrap();
    let actual = encode_to_vec(&frame).unwrap().len();
    assert!(check_basic_publish("logs", "a/b", 5000, &properties, actual + 19).is_ok());
    assert!(check_basic_publish("logs", "a/b", 5000, &properties, actual - 1).is_err());
    assert!(check_basic_publish("", "q", 20_000_000, &properties, PUBLISH_MAX_FRAME).is_err());
    assert!(check_basic_publish("", "q", usize::MAX, &properties, WEB_STOMP_MAX_FRAME).is_err(), "no overflow");
}

// ---- Decoder regressions from fuzzing ----

/// Feeds `input` to a decoder with the fuzz target's limits; only checks it does not panic.
fn decode_all(input: &[u8]) {
    let mut decoder = Decoder::new(Limits { max_headers: 8, max_header_line: 128, max_body: 1024 });
    decoder.push(input);
    while let Ok(Some(item)) = decoder.next_item() {
        if let Decoded::Frame(frame) = item {
            let _ = encode_to_vec(&frame);
        }
    }
}

#[test]
fn the_decoder_survives_awkward_inputs() {
    for input in [&b""[..], b"\0", b"\n\n\n", b"SEND\ncontent-length:99999999999999999999999\n\n\0", b"SEND\n:\n\n\0"] {
        decode_all(input);
    }
}
