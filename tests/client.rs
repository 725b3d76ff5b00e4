//! The session state machine against a simulated broker and simulated time.
#![cfg(not(target_arch = "wasm32"))]

use std::time::Duration;

use burrow::client::*;
use burrow::stomp::{Command, Frame};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Drives a session the way a transport would, playing the broker by hand.
struct Peer {
    session: Session,
}

impl Peer {
    fn new(options: ConnectOptions) -> Self {
        Peer { session: Session::new(options) }
    }

    /// Everything the session wants sent, in order.
    fn sent(&mut self) -> Vec<Transmit> {
        std::iter::from_fn(|| self.session.poll_transmit()).collect()
    }

    /// The frames the session wants sent (heart-beats left out).
    fn frames(&mut self) -> Vec<Frame> {
        self.sent()
            .into_iter()
            .filter_map(|t| match t {
                Transmit::Frame(f) => Some(f),
                Transmit::HeartBeat => None,
            })
            .collect()
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.session.poll_event()).collect()
    }

    /// CONNECT, answered by CONNECTED with the given heart-beat header.
    fn connected(options: ConnectOptions, heart_beat: &str) -> Self {
        let mut peer = Peer::new(options);
        peer.session.connect(ms(0));
        peer.sent();
        peer.session.handle_frame(
            ms(5),
            Frame::new(Command::Connected)
                .with_header("version", "1.2")
                .with_header("heart-beat", heart_beat)
                .with_header("server", "RabbitMQ/3.10.8")
                .with_header("session", "session-1"),
        );
        peer.events();
        peer
    }
}

fn options() -> ConnectOptions {
    ConnectOptions::new("/").with_credentials("burrow", "secret")
}

fn receipt_for(frame: &Frame) -> Frame {
    let id = frame.header("receipt").expect("frame asked for a receipt");
    Frame::new(Command::Receipt).with_header("receipt-id", id)
}

#[test]
fn connect_sends_version_vhost_credentials_and_heart_beat_offer() {
    let mut peer = Peer::new(ConnectOptions {
        heart_beat: HeartBeat::new(ms(4000), ms(8000)),
        ..ConnectOptions::new("my-vhost").with_credentials("guest", "guest")
    });
    peer.session.connect(ms(0));
    let frames = peer.frames();
    assert_eq!(frames.len(), 1);
    let connect = &frames[0];
    assert_eq!(connect.command, Command::Connect);
    assert_eq!(connect.header("accept-version"), Some("1.2"));
    assert_eq!(connect.header("host"), Some("my-vhost"));
    assert_eq!(connect.header("login"), Some("guest"));
    assert_eq!(connect.header("passcode"), Some("guest"));
    assert_eq!(connect.header("heart-beat"), Some("4000,8000"));
    assert_eq!(peer.session.state(), &State::Connecting);
}

#[test]
fn connected_reports_server_session_and_negotiated_heart_beats() {
    let mut peer = Peer::new(ConnectOptions { heart_beat: HeartBeat::new(ms(4000), ms(8000)), ..options() });
    peer.session.connect(ms(0));
    peer.sent();
    peer.session.handle_frame(
        ms(10),
        Frame::new(Command::Connected)
            .with_header("version", "1.2")
            .with_header("heart-beat", "10000,3000")
            .with_header("server", "RabbitMQ/3.10.8")
            .with_header("session", "s-1"),
    );
    let info = ConnectionInfo {
        version: "1.2".into(),
        server: Some("RabbitMQ/3.10.8".into()),
        session: Some("s-1".into()),
        // We send every max(4000, 3000); the broker every max(10000, 8000).
        heart_beat: HeartBeat::new(ms(4000), ms(10000)),
    };
    assert_eq!(peer.events(), vec![Event::Connected(info.clone())]);
    assert_eq!(peer.session.info(), Some(&info));
}

#[test]
fn a_zero_on_either_side_turns_that_heart_beat_off() {
    let mut peer = Peer::connected(ConnectOptions { heart_beat: HeartBeat::new(ms(0), ms(5000)), ..options() }, "0,1000");
    assert_eq!(peer.session.info().map(|i| i.heart_beat), Some(HeartBeat::OFF));
    assert_eq!(peer.session.poll_timeout(), None, "nothing to wake up for");
    assert!(peer.events().is_empty());
}

#[test]
fn heart_beats_are_sent_when_due_and_skipped_after_a_frame() {
    let mut peer = Peer::connected(ConnectOptions { heart_beat: HeartBeat::new(ms(1000), ms(0)), ..options() }, "0,1000");
    // CONNECTED came at 5 ms: the first beat is due one interval later.
    assert_eq!(peer.session.poll_timeout(), Some(ms(1005)));
    peer.session.handle_timeout(ms(1005));
    assert_eq!(peer.sent(), vec![Transmit::HeartBeat]);
    assert_eq!(peer.session.poll_timeout(), Some(ms(2005)));
    // A frame in between already proves we live: the next beat is due one
    // interval after it, not at the old schedule.
    peer.session.send(ms(1500), "/queue/a", vec![], b"x".to_vec(), false).unwrap();
    peer.sent();
    assert_eq!(peer.session.poll_timeout(), Some(ms(2500)));
    peer.session.handle_timeout(ms(2005));
    assert!(peer.sent().is_empty());
    peer.session.handle_timeout(ms(2500));
    assert_eq!(peer.sent(), vec![Transmit::HeartBeat]);
}

#[test]
fn a_silent_broker_is_declared_gone_after_twice_its_interval() {
    let mut peer = Peer::connected(ConnectOptions { heart_beat: HeartBeat::new(ms(0), ms(1000)), ..options() }, "1000,0");
    assert_eq!(peer.session.poll_timeout(), Some(ms(2005)));
    // A heart-beat from the broker pushes the deadline.
    peer.session.handle_heartbeat(ms(1500));
    assert_eq!(peer.session.poll_timeout(), Some(ms(3500)));
    peer.session.handle_timeout(ms(3000));
    assert!(peer.events().is_empty(), "an early wake-up changes nothing");
    peer.session.handle_timeout(ms(3500));
    let reason = CloseReason::HeartBeatTimeout { silent_for: ms(2000), interval: ms(1000) };
    assert_eq!(peer.events(), vec![Event::Closed(reason.clone())]);
    assert_eq!(peer.session.state(), &State::Closed(reason.clone()));
    assert!(reason.to_string().contains("went silent"));
}

#[test]
fn no_connected_in_time_is_a_connect_timeout() {
    let mut peer = Peer::new(ConnectOptions { connect_timeout: ms(3000), ..options() });
    peer.session.connect(ms(100));
    assert_eq!(peer.session.poll_timeout(), Some(ms(3100)));
    peer.session.handle_timeout(ms(3100));
    assert_eq!(peer.events(), vec![Event::Closed(CloseReason::ConnectTimeout(ms(3000)))]);
}

#[test]
fn an_error_at_connect_closes_with_the_brokers_words() {
    let mut peer = Peer::new(options());
    peer.session.connect(ms(0));
    peer.sent();
    peer.session.handle_frame(
        ms(1),
        Frame::new(Command::Error)
            .with_header("message", "Bad CONNECT")
            .with_header("content-type", "text/plain")
            .with_body("Access refused for user 'burrow'"),
    );
    let events = peer.events();
    let Event::Closed(CloseReason::ConnectRefused(error)) = &events[1] else {
        panic!("expected a close with the broker's error, got {events:?}");
    };
    assert_eq!(events[0], Event::Error(error.clone()));
    assert_eq!(error.message.as_deref(), Some("Bad CONNECT"));
    assert_eq!(error.body, "Access refused for user 'burrow'");
    assert_eq!(
        CloseReason::ConnectRefused(error.clone()).to_string(),
        "the broker said: Bad CONNECT (Access refused for user 'burrow')"
    );
}

#[test]
fn an_error_while_connected_becomes_the_reason_of_the_close_that_follows() {
    let mut peer = Peer::connected(options(), "0,0");
    let error = Frame::new(Command::Error)
        .with_header("message", "not_found")
        .with_body("NOT_FOUND - no queue 'nope' in vhost '/'");
    peer.session.handle_frame(ms(10), error.clone());
    let expected = ServerError::from_frame(&error);
    assert_eq!(peer.events(), vec![Event::Error(expected.clone())]);
    peer.session.handle_closed(ms(11), SocketClose::new(1000, WEB_STOMP_DIED));
    assert_eq!(peer.events(), vec![Event::Closed(CloseReason::ServerError(expected))]);
}

/// RabbitMQ 4.0.5 answers a SUBSCRIBE to a missing queue with ERROR
/// (`message:not_found`), then the SUBSCRIBE's RECEIPT, then the close: that
/// receipt does not mean the subscription exists (measured with
/// tests/support/webstomp_facts.py case 4).
#[test]
fn a_receipt_after_an_error_that_ends_the_connection_confirms_nothing() {
    let mut peer = Peer::connected(options(), "0,0");
    let Subscribed { id, receipt } =
        peer.session.subscribe(ms(5), "/amq/queue/nope", AckMode::ClientIndividual, vec![], true).unwrap();
    let receipt = receipt.unwrap();
    let sub = peer.frames().remove(0);
    let error = Frame::new(Command::Error)
        .with_header("message", "not_found")
        .with_body("NOT_FOUND - no queue 'nope' in vhost '/'");
    peer.session.handle_frame(ms(10), error.clone());
    peer.session.handle_frame(ms(11), receipt_for(&sub));
    let expected = ServerError::from_frame(&error);
    assert_eq!(peer.events(), vec![Event::Error(expected.clone())], "no Receipt event");
    peer.session.handle_closed(ms(12), SocketClose::new(1000, WEB_STOMP_DIED));
    assert_eq!(
        peer.events(),
        vec![
            Event::ReceiptsLost(vec![LostReceipt { id: receipt, request: Request::Subscribe(id) }]),
            Event::Closed(CloseReason::ServerError(expected)),
        ]
    );
}

/// RabbitMQ's own STOMP checks (`Unknown destination`, `Subscription not found`)
/// send an ERROR and go on: the receipts that follow still count.
#[test]
fn receipts_after_an_error_that_does_not_end_the_connection_still_count() {
    let mut peer = Peer::connected(options(), "0,0");
    let r = peer.session.send(ms(5), "/queue/a", vec![], b"m".to_vec(), true).unwrap().unwrap();
    let send = peer.frames().remove(0);
    let error = Frame::new(Command::Error)
        .with_header("message", "Subscription not found")
        .with_body("Message with id \"T_x@@session-x@@1\" has no subscription");
    peer.session.handle_frame(ms(10), error.clone());
    peer.session.handle_frame(ms(11), receipt_for(&send));
    assert_eq!(
        peer.events(),
        vec![
            Event::Error(ServerError::from_frame(&error)),
            Event::Receipt { id: r, request: Request::Send { destination: "/queue/a".into() } },
        ]
    );
}

#[test]
fn a_socket_closing_on_its_own_is_a_socket_close() {
    let mut peer = Peer::connected(options(), "0,0");
    peer.session.handle_closed(ms(9), SocketClose::new(1006, ""));
    assert_eq!(peer.events(), vec![Event::Closed(CloseReason::Socket(SocketClose::new(1006, "")))]);
    // Closing twice reports once.
    peer.session.handle_closed(ms(10), SocketClose::new(1000, "again"));
    assert!(peer.events().is_empty());
}

#[test]
fn subscribe_carries_id_destination_ack_mode_and_extra_headers() {
    let mut peer = Peer::connected(options(), "0,0");
    let prefetch = vec![("prefetch-count".to_owned(), "1".to_owned())];
    let Subscribed { id, receipt } = peer
        .session
        .subscribe(ms(10), "/queue/水续传", AckMode::ClientIndividual, prefetch, true)
        .unwrap();
    let frames = peer.frames();
    let sub = &frames[0];
    assert_eq!(sub.command, Command::Subscribe);
    assert_eq!(sub.header("id"), Some(id.0.as_str()));
    assert_eq!(sub.header("destination"), Some("/queue/水续传"));
    assert_eq!(sub.header("ack"), Some("client-individual"));
    assert_eq!(sub.header("prefetch-count"), Some("1"));
    assert_eq!(sub.header("receipt"), receipt.as_ref().map(|r| r.0.as_str()));
    assert_eq!(peer.session.subscriptions().count(), 1);

    peer.session.handle_frame(ms(20), receipt_for(sub));
    assert_eq!(
        peer.events(),
        vec![Event::Receipt { id: receipt.unwrap(), request: Request::Subscribe(id.clone()) }]
    );

    let second = peer.session.subscribe(ms(10), "/queue/other", AckMode::Auto, vec![], false).unwrap();
    assert_ne!(second.id, id, "each subscription gets its own id");
    assert_eq!(second.receipt, None);
}

#[test]
fn messages_are_delivered_with_their_subscription_and_ack_id() {
    let mut peer = Peer::connected(options(), "0,0");
    let id = peer.session.subscribe(ms(10), "/queue/q", AckMode::Client, vec![], false).unwrap().id;
    let body = vec![0u8, 1, 2, 0, 255];
    peer.session.handle_frame(
        ms(30),
        Frame::new(Command::Message)
            .with_header("subscription", id.0.clone())
            .with_header("destination", "/queue/q")
            .with_header("message-id", "T_sub-1@@session@@1")
            .with_header("redelivered", "true")
            .with_header("ack", "T_sub-1@@session@@1")
            .with_body(body.clone()),
    );
    let events = peer.events();
    let [Event::Message(message)] = events.as_slice() else { panic!("got {events:?}") };
    assert_eq!(message.subscription, id);
    assert_eq!(message.destination, "/queue/q");
    assert_eq!(message.ack.as_deref(), Some("T_sub-1@@session@@1"));
    assert_eq!(message.header("redelivered"), Some("true"));
    assert_eq!(message.body, body);
}

#[test]
fn ack_and_nack_use_the_messages_ack_header() {
    let mut peer = Peer::connected(options(), "0,0");
    peer.session.ack(ms(10), "a-1", None, false).unwrap();
    peer.session.nack(ms(10), "a-2", Some("tx-1"), false, false).unwrap();
    peer.session.nack(ms(10), "a-3", None, true, false).unwrap();
    let frames = peer.frames();
    assert_eq!(frames[0], Frame::new(Command::Ack).with_header("id", "a-1"));
    assert_eq!(
        frames[1],
        Frame::new(Command::Nack)
            .with_header("id", "a-2")
            .with_header("transaction", "tx-1")
            .with_header("requeue", "false")
    );
    assert_eq!(frames[2], Frame::new(Command::Nack).with_header("id", "a-3"));
}

#[test]
fn send_confirms_by_receipt_matched_to_its_request() {
    let mut peer = Peer::connected(options(), "0,0");
    let headers = vec![("persistent".to_owned(), "true".to_owned())];
    let first = peer.session.send(ms(10), "/queue/a", headers, "大郎 起来喝药了".into(), true).unwrap().unwrap();
    let second = peer.session.send(ms(10), "/queue/b", vec![], b"two".to_vec(), true).unwrap().unwrap();
    let frames = peer.frames();
    assert_eq!(frames[0].header("persistent"), Some("true"));
    assert_eq!(frames[0].body, "大郎 起来喝药了".as_bytes());
    // Receipts may be matched in any order.
    peer.session.handle_frame(ms(40), receipt_for(&frames[1]));
    peer.session.handle_frame(ms(41), receipt_for(&frames[0]));
    assert_eq!(
        peer.events(),
        vec![
            Event::Receipt { id: second, request: Request::Send { destination: "/queue/b".into() } },
            Event::Receipt { id: first, request: Request::Send { destination: "/queue/a".into() } },
        ]
    );
    assert_eq!(peer.session.pending_receipts(), 0);
}

#[test]
fn receipts_still_pending_at_close_are_reported_lost() {
    let mut peer = Peer::connected(options(), "0,0");
    let r = peer.session.send(ms(10), "/queue/a", vec![], b"m".to_vec(), true).unwrap().unwrap();
    peer.session.handle_closed(ms(50), SocketClose::new(1006, ""));
    assert_eq!(
        peer.events(),
        vec![
            Event::ReceiptsLost(vec![LostReceipt { id: r, request: Request::Send { destination: "/queue/a".into() } }]),
            Event::Closed(CloseReason::Socket(SocketClose::new(1006, ""))),
        ]
    );
}

#[test]
fn transactions_begin_commit_and_abort() {
    let mut peer = Peer::connected(options(), "0,0");
    peer.session.begin(ms(10), "tx-1", false).unwrap();
    peer.session.send(ms(10), "/queue/a", vec![("transaction".into(), "tx-1".into())], vec![], false).unwrap();
    peer.session.commit(ms(10), "tx-1", false).unwrap();
    peer.session.begin(ms(10), "tx-2", false).unwrap();
    let receipt = peer.session.abort(ms(10), "tx-2", true).unwrap();
    let frames = peer.frames();
    let commands: Vec<_> = frames.iter().map(|f| f.command).collect();
    assert_eq!(
        commands,
        [Command::Begin, Command::Send, Command::Commit, Command::Begin, Command::Abort]
    );
    assert_eq!(frames[1].header("transaction"), Some("tx-1"));
    assert_eq!(frames[2].header("transaction"), Some("tx-1"));
    peer.session.handle_frame(ms(60), receipt_for(&frames[4]));
    assert_eq!(
        peer.events(),
        vec![Event::Receipt { id: receipt.unwrap(), request: Request::Abort("tx-2".into()) }]
    );
}

#[test]
fn unsubscribe_forgets_the_subscription() {
    let mut peer = Peer::connected(options(), "0,0");
    let id = peer.session.subscribe(ms(10), "/queue/q", AckMode::Auto, vec![], false).unwrap().id;
    peer.sent();
    peer.session.unsubscribe(ms(10), &id, false).unwrap();
    assert_eq!(peer.frames(), vec![Frame::new(Command::Unsubscribe).with_header("id", id.0.clone())]);
    assert_eq!(peer.session.subscriptions().count(), 0);
    assert_eq!(peer.session.unsubscribe(ms(10), &id, false), Err(ClientError::UnknownSubscription(id)));
}

#[test]
fn disconnect_waits_for_its_receipt() {
    let mut peer = Peer::connected(options(), "0,0");
    let receipt = peer.session.disconnect(ms(70)).unwrap();
    let frames = peer.frames();
    assert_eq!(frames[0].command, Command::Disconnect);
    assert_eq!(frames[0].header("receipt"), Some(receipt.0.as_str()));
    assert_eq!(peer.session.state(), &State::Disconnecting);
    assert!(peer.session.send(ms(10), "/queue/a", vec![], vec![], false).is_err());
    peer.session.handle_frame(ms(71), receipt_for(&frames[0]));
    assert_eq!(
        peer.events(),
        vec![
            Event::Receipt { id: receipt, request: Request::Disconnect },
            Event::Closed(CloseReason::Disconnected),
        ]
    );
}

#[test]
fn disconnect_without_receipt_gives_up_after_its_timeout() {
    let mut peer = Peer::connected(ConnectOptions { disconnect_timeout: ms(500), ..options() }, "0,0");
    let receipt = peer.session.disconnect(ms(100)).unwrap();
    assert_eq!(peer.session.poll_timeout(), Some(ms(600)));
    peer.session.handle_timeout(ms(600));
    let events = peer.events();
    assert_eq!(events[0], Event::ReceiptsLost(vec![LostReceipt { id: receipt, request: Request::Disconnect }]));
    assert_eq!(events[1], Event::Closed(CloseReason::DisconnectTimeout(ms(500))));
    assert_eq!(
        CloseReason::DisconnectTimeout(ms(500)).to_string(),
        "the broker did not confirm DISCONNECT within 0.5 s"
    );
}

#[test]
fn requests_before_connected_are_refused() {
    let mut peer = Peer::new(options());
    assert!(matches!(
        peer.session.send(ms(10), "/queue/a", vec![], vec![], false),
        Err(ClientError::NotConnected(_))
    ));
    peer.session.connect(ms(0));
    assert!(matches!(
        peer.session.subscribe(ms(10), "/queue/a", AckMode::Auto, vec![], false),
        Err(ClientError::NotConnected(_))
    ));
}

#[test]
fn headers_the_session_sets_cannot_be_overridden() {
    let mut peer = Peer::connected(options(), "0,0");
    let sneaky = vec![("receipt".to_owned(), "mine".to_owned())];
    assert_eq!(
        peer.session.send(ms(10), "/queue/a", sneaky, vec![], false),
        Err(ClientError::ReservedHeader("receipt".into()))
    );
    assert!(peer.frames().is_empty(), "nothing was sent");
}

#[test]
fn a_line_break_in_the_login_is_refused_before_anything_is_sent() {
    let mut peer = Peer::new(ConnectOptions::new("/").with_credentials("bob\npasscode:x", "p"));
    peer.session.connect(ms(0));
    assert!(peer.sent().is_empty());
    let events = peer.events();
    assert_eq!(events, [Event::Closed(CloseReason::InvalidOptions(OptionsError::ControlCharacter("login")))]);
}

#[test]
fn a_malformed_heart_beat_header_is_a_protocol_error() {
    let mut peer = Peer::new(options());
    peer.session.connect(ms(0));
    peer.session.handle_frame(ms(1), Frame::new(Command::Connected).with_header("heart-beat", "soon"));
    let events = peer.events();
    assert_eq!(events, [Event::Closed(CloseReason::Protocol(ProtocolError::BadHeartBeat("soon".into())))]);
}

#[test]
fn a_client_frame_from_the_broker_is_a_protocol_error() {
    let mut peer = Peer::connected(options(), "0,0");
    peer.session.handle_frame(ms(1), Frame::new(Command::Send).with_header("destination", "/x"));
    let events = peer.events();
    assert_eq!(events, [Event::Closed(CloseReason::Protocol(ProtocolError::ClientFrame(Command::Send)))]);
}

#[test]
fn a_message_without_subscription_is_a_protocol_error_not_a_panic() {
    let mut peer = Peer::connected(options(), "0,0");
    peer.session.handle_frame(ms(1), Frame::new(Command::Message).with_body("orphan"));
    let events = peer.events();
    assert!(matches!(&events[..], [Event::Closed(CloseReason::Protocol(_))]), "{events:?}");
}

#[test]
fn a_receipt_nobody_asked_for_is_reported_and_the_session_goes_on() {
    let mut peer = Peer::connected(options(), "0,0");
    peer.session.handle_frame(ms(1), Frame::new(Command::Receipt).with_header("receipt-id", "r-999"));
    let events = peer.events();
    assert_eq!(events, [Event::LocalError(LocalError::UnknownReceipt(ReceiptId("r-999".into())))]);
    assert!(matches!(peer.session.state(), State::Connected(_)));
}

#[test]
fn a_close_after_disconnect_is_clean_even_without_its_receipt() {
    // RabbitMQ 3.10 closes the socket on DISCONNECT and never sends the RECEIPT.
    let mut peer = Peer::connected(options(), "0,0");
    let r = peer.session.send(ms(10), "/queue/a", vec![], vec![], true).unwrap().unwrap();
    peer.session.disconnect(ms(10)).unwrap();
    peer.session.handle_closed(ms(11), SocketClose::new(1000, ""));
    assert_eq!(
        peer.events(),
        vec![
            Event::ReceiptsLost(vec![LostReceipt { id: r, request: Request::Send { destination: "/queue/a".into() } }]),
            Event::Closed(CloseReason::Disconnected),
        ]
    );
}
