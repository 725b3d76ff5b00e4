//! Quorum queues and streams in the RabbitMQ mapping (native, no broker): the
//! declares and subscriptions they become, what RabbitMQ 3.10.8 would refuse
//! (refused here first, since Web-STOMP closes without saying why), and what
//! deliveries say about them.
#![cfg(not(target_arch = "wasm32"))]

use burrow::client::*;
use burrow::rabbit::*;
use burrow::stomp::{Command, Frame};

mod channel;
use channel::{connected_channel, sent_frames};


fn args(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

#[test]
fn a_quorum_queue_and_a_stream_are_declared_durable_with_their_type() {
    let mut channel = connected_channel();
    channel.queue_declare("orders", &QueueOptions::quorum()).unwrap();
    channel.queue_declare("events", &QueueOptions::stream()).unwrap();
    let sent = sent_frames(&mut channel);
    let declares: Vec<&Frame> = sent.iter().filter(|f| f.header("transaction").is_some() && f.command == Command::Send).collect();
    assert_eq!(declares[0].header("destination"), Some("/queue/orders"));
    assert_eq!(declares[0].header("x-queue-type"), Some("quorum"));
    assert_eq!(declares[0].header("durable"), Some("true"));
    assert_eq!(declares[0].header("exclusive"), Some("false"));
    assert_eq!(declares[0].header("auto-delete"), Some("false"));
    assert_eq!(declares[1].header("x-queue-type"), Some("stream"));
    // pika's way, the type as an argument, is the same declare.
    let mut channel = connected_channel();
    let pika = QueueOptions { arguments: args(&[("x-queue-type", "quorum")]), ..QueueOptions::durable() };
    channel.queue_declare("orders", &pika).unwrap();
    let sent = sent_frames(&mut channel);
    let types: Vec<&str> = sent.iter().filter_map(|f| f.header("x-queue-type")).collect();
    assert_eq!(types, ["quorum"], "sent once");
}

#[test]
fn what_rabbitmq_refuses_for_a_queue_type_is_refused_before_sending() {
    use QueueTypeProblem::*;
    let quorum = QueueOptions::quorum;
    let stream = QueueOptions::stream;
    let cases: Vec<(QueueOptions, QueueType, QueueTypeProblem, &str)> = vec![
        (QueueOptions { exclusive: true, ..quorum() }, QueueType::Quorum, Exclusive, "a quorum queue cannot be exclusive"),
        (QueueOptions { durable: false, ..quorum() }, QueueType::Quorum, NotDurable, "a quorum queue must be durable"),
        (QueueOptions { auto_delete: true, ..quorum() }, QueueType::Quorum, AutoDelete, "cannot be auto-delete"),
        (QueueOptions { exclusive: true, ..stream() }, QueueType::Stream, Exclusive, "a stream queue cannot be exclusive"),
        (QueueOptions { durable: false, ..stream() }, QueueType::Stream, NotDurable, "must be durable"),
        (QueueOptions { auto_delete: true, ..stream() }, QueueType::Stream, AutoDelete, "cannot be auto-delete"),
        (
            QueueOptions { arguments: args(&[("x-max-priority", "5")]), ..quorum() },
            QueueType::Quorum,
            Argument("x-max-priority".into()),
            "does not take the argument x-max-priority",
        ),
        (
            // pika's spelling, checked the same way.
            QueueOptions { arguments: args(&[("x-queue-type", "quorum")]), ..QueueOptions::default() },
            QueueType::Quorum,
            NotDurable,
            "must be durable",
        ),
    ];
    for (options, queue_type, problem, words) in cases {
        let mut channel = connected_channel();
        let refused = channel.queue_declare("q", &options);
        assert_eq!(refused, Err(RabbitError::QueueTypeConflict { queue_type, problem: problem.clone() }), "{options:?}");
        let text = refused.unwrap_err().to_string();
        assert!(text.contains(words) && text.contains("PRECONDITION_FAILED"), "{text}");
        assert!(sent_frames(&mut channel).is_empty(), "nothing sent for {options:?}");
    }
    // A stream takes x-max-length-bytes, and none of the others the adapter passes on.
    for refused in ["x-dead-letter-exchange", "x-expires", "x-max-length", "x-max-priority", "x-message-ttl"] {
        let options = QueueOptions { arguments: args(&[(refused, "10")]), ..stream() };
        let error = connected_channel().queue_declare("s", &options).unwrap_err();
        assert_eq!(
            error,
            RabbitError::QueueTypeConflict { queue_type: QueueType::Stream, problem: Argument(refused.into()) }
        );
    }
    let retention = QueueOptions { arguments: args(&[("x-max-length-bytes", "1000000")]), ..stream() };
    assert!(connected_channel().queue_declare("s", &retention).is_ok());
    // A quorum queue takes dead-lettering, TTL and length limits.
    let quorum_args = args(&[
        ("x-dead-letter-exchange", "dlx"),
        ("x-dead-letter-routing-key", "dead"),
        ("x-message-ttl", "60000"),
        ("x-max-length", "10"),
        ("x-expires", "600000"),
    ]);
    assert!(connected_channel().queue_declare("q", &QueueOptions { arguments: quorum_args, ..quorum() }).is_ok());
}

#[test]
fn an_unknown_or_contradictory_queue_type_is_refused() {
    let mut channel = connected_channel();
    let unknown = QueueOptions { arguments: args(&[("x-queue-type", "lazy")]), ..QueueOptions::durable() };
    let error = channel.queue_declare("q", &unknown).unwrap_err();
    assert_eq!(error, RabbitError::UnknownQueueType("lazy".into()));
    assert!(error.to_string().contains("classic, quorum or stream"));
    let both = QueueOptions { arguments: args(&[("x-queue-type", "stream")]), ..QueueOptions::quorum() };
    assert_eq!(
        channel.queue_declare("q", &both),
        Err(RabbitError::ConflictingQueueTypes { field: QueueType::Quorum, argument: "stream".into() })
    );
    // Classic, said explicitly, takes anything a classic queue takes.
    let classic = QueueOptions {
        queue_type: Some(QueueType::Classic),
        exclusive: true,
        auto_delete: true,
        arguments: args(&[("x-max-priority", "10")]),
        ..QueueOptions::default()
    };
    assert!(channel.queue_declare("c", &classic).is_ok());
    assert!(sent_frames(&mut channel).iter().any(|f| f.header("x-queue-type") == Some("classic")));
}

#[test]
fn arguments_out_of_rabbitmq_s_range_are_refused_before_sending() {
    let refused = [
        ("x-max-length", "-1", "0 or more"),
        ("x-message-ttl", "-5", "0 or more"),
        ("x-max-priority", "300", "between 0 and 255"),
        ("x-expires", "0", "above 0"),
    ];
    for (name, value, words) in refused {
        let mut channel = connected_channel();
        let options = QueueOptions { arguments: args(&[(name, value)]), ..QueueOptions::durable() };
        let error = channel.queue_declare("q", &options).unwrap_err();
        assert!(matches!(&error, RabbitError::ArgumentOutOfRange { name: n, .. } if n == name), "{error:?}");
        assert!(error.to_string().contains(words), "{error}");
        assert!(sent_frames(&mut channel).is_empty());
    }
    let mut channel = connected_channel();
    let lonely = QueueOptions { arguments: args(&[("x-dead-letter-routing-key", "k")]), ..QueueOptions::durable() };
    assert_eq!(channel.queue_declare("q", &lonely), Err(RabbitError::RoutingKeyWithoutDeadLetterExchange));
    assert!(sent_frames(&mut channel).is_empty());
}

#[test]
fn stream_offsets_are_written_and_read_as_rabbitmq_spells_them() {
    let offsets = [
        (StreamOffset::First, "first"),
        (StreamOffset::Last, "last"),
        (StreamOffset::Next, "next"),
        (StreamOffset::Offset(500), "offset=500"),
        (StreamOffset::Timestamp(1_700_000_000), "timestamp=1700000000"),
    ];
    for (offset, text) in offsets {
        assert_eq!(offset.header_value(), text);
        assert_eq!(text.parse::<StreamOffset>(), Ok(offset));
    }
    assert_eq!("42".parse::<StreamOffset>(), Ok(StreamOffset::Offset(42)), "a bare number is an offset");
    assert_eq!(" offset = 7 ".parse::<StreamOffset>(), Ok(StreamOffset::Offset(7)));
    for bad in ["offset=abc", "offset=-1", "yesterday", "timestamp=", ""] {
        let error = bad.parse::<StreamOffset>().unwrap_err();
        assert!(matches!(error, RabbitError::InvalidStreamOffset(_)), "{bad}: {error:?}");
        assert!(error.to_string().contains("first, last, next, offset=N"), "{error}");
    }
}

#[test]
fn a_stream_is_consumed_with_manual_ack_a_prefetch_and_its_offset() {
    let mut channel = connected_channel();
    channel.basic_consume_stream("events", 50, &StreamOffset::Offset(500)).unwrap();
    let subscribe = &sent_frames(&mut channel)[0];
    assert_eq!(subscribe.command, Command::Subscribe);
    assert_eq!(subscribe.header("destination"), Some("/amq/queue/events"));
    assert_eq!(subscribe.header("ack"), Some("client-individual"));
    assert_eq!(subscribe.header("prefetch-count"), Some("50"));
    assert_eq!(subscribe.header("x-stream-offset"), Some("offset=500"));
    assert!(subscribe.header("receipt").is_some());
    // RabbitMQ closes the connection on prefetch 0 or auto-ack: refused here.
    assert_eq!(
        channel.basic_consume_stream("events", 0, &StreamOffset::First),
        Err(RabbitError::StreamConsume(StreamConsumeProblem::NoPrefetch))
    );
    assert_eq!(check_stream_consume(true, 10), Err(RabbitError::StreamConsume(StreamConsumeProblem::AutoAck)));
    assert!(sent_frames(&mut channel).is_empty());
}

fn message(extra: &[(&str, &str)]) -> Message {
    let mut headers = args(&[
        ("subscription", "sub-1"),
        ("destination", "/queue/orders"),
        ("message-id", "T_sub-1@@s@@1"),
        ("redelivered", "true"),
        ("ack", "T_sub-1@@s@@1"),
    ]);
    headers.extend(args(extra));
    Message {
        subscription: SubscriptionId("sub-1".into()),
        destination: "/queue/orders".into(),
        message_id: "T_sub-1@@s@@1".into(),
        ack: Some("T_sub-1@@s@@1".into()),
        headers,
        body: b"x".to_vec(),
    }
}

#[test]
fn a_delivery_exposes_its_delivery_count_and_stream_offset() {
    let redelivered = Delivery::from_message(&message(&[("x-delivery-count", "2"), ("trace", "t")]));
    assert_eq!(redelivered.delivery_count, Some(2));
    assert_eq!(redelivered.stream_offset, None);
    assert!(redelivered.possibly_duplicate());
    assert_eq!(redelivered.properties.headers, args(&[("trace", "t")]), "delivery headers are not application headers");
    let from_stream = Delivery::from_message(&message(&[("x-stream-offset", "1234")]));
    assert_eq!(from_stream.stream_offset, Some(1234));
    assert_eq!(from_stream.delivery_count, None);
    assert!(from_stream.properties.headers.is_empty());
    let first = Delivery::from_message(&message(&[]));
    assert_eq!((first.delivery_count, first.stream_offset), (None, None));
}

#[test]
fn a_refused_declare_names_the_queue_type_it_differs_in() {
    let existing = QueueFacts { durable: true, arguments: args(&[("x-queue-type", "quorum")]), ..QueueFacts::default() };
    let refusal = diagnose_declare("orders", "/", &QueueOptions::durable(), Some(&existing));
    assert_eq!(refusal.kind, RefusalKind::PreconditionFailed);
    assert!(refusal.detail.contains("inequivalent arg 'x-queue-type'"), "{}", refusal.detail);
    assert!(refusal.detail.contains("received 'none' but current is 'quorum'"), "{}", refusal.detail);
    // Asked for the same type by the field: nothing differs there.
    let same = diagnose_declare("orders", "/", &QueueOptions::quorum(), Some(&existing));
    assert!(!same.detail.contains("x-queue-type"), "{}", same.detail);
}
