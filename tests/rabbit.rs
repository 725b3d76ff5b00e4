//! The pika-to-STOMP mapping: which frames each call becomes (native, no broker).
#![cfg(not(target_arch = "wasm32"))]

use burrow::client::*;
use burrow::rabbit::*;
use burrow::stomp::{Command, Frame};

mod channel;
use channel::{channel_on, connected_channel, sent_frames, NOW};


#[test]
fn queue_declare_declares_inside_an_aborted_transaction_then_fences_with_a_receipt() {
    let mut channel = connected_channel();
    let options = QueueOptions {
        durable: true,
        arguments: vec![("x-message-ttl".into(), "60000".into())],
        ..QueueOptions::default()
    };
    let receipt = channel.queue_declare(NOW, "水续传", &options).unwrap();
    let frames = sent_frames(&mut channel);
    let commands: Vec<_> = frames.iter().map(|f| f.command).collect();
    assert_eq!(commands, [Command::Begin, Command::Send, Command::Abort, Command::Send]);
    let tx = frames[0].header("transaction").unwrap();
    let declare = &frames[1];
    assert_eq!(declare.header("destination"), Some("/queue/水续传"));
    assert_eq!(declare.header("transaction"), Some(tx), "the declaring SEND is never published");
    assert_eq!(declare.header("durable"), Some("true"));
    assert_eq!(declare.header("auto-delete"), Some("false"));
    assert_eq!(declare.header("exclusive"), Some("false"));
    assert_eq!(declare.header("x-message-ttl"), Some("60000"));
    assert!(declare.body.is_empty());
    assert_eq!(frames[2].header("transaction"), Some(tx));
    let fence = &frames[3];
    assert!(fence.header("destination").unwrap().starts_with("/amq/queue/amq."), "routes nowhere");
    assert_eq!(fence.header("receipt"), Some(receipt.0.as_str()));
    assert!(fence.header("transaction").is_none());
}

#[test]
fn a_non_durable_declare_says_so_explicitly_because_rabbitmq_defaults_differ() {
    let mut channel = connected_channel();
    channel.queue_declare(NOW, "hello", &QueueOptions::default()).unwrap();
    let declare = &sent_frames(&mut channel)[1];
    // Without these, RabbitMQ would make it durable, or (durable:false alone)
    // exclusive and auto-delete.
    assert_eq!(declare.header("durable"), Some("false"));
    assert_eq!(declare.header("exclusive"), Some("false"));
    assert_eq!(declare.header("auto-delete"), Some("false"));
}

#[test]
fn declare_refuses_what_web_stomp_would_silently_ignore() {
    let mut channel = connected_channel();
    let unsupported = QueueOptions { arguments: vec![("x-overflow".into(), "reject-publish".into())], ..Default::default() };
    assert_eq!(
        channel.queue_declare(NOW, "q", &unsupported),
        Err(RabbitError::UnsupportedArgument("x-overflow".into()))
    );
    let not_a_number = QueueOptions { arguments: vec![("x-max-length".into(), "ten".into())], ..Default::default() };
    assert!(matches!(channel.queue_declare(NOW, "q", &not_a_number), Err(RabbitError::InvalidArgument { .. })));
    assert_eq!(channel.queue_declare(NOW, "", &QueueOptions::default()), Err(RabbitError::EmptyQueueName));
    assert!(matches!(channel.queue_declare(NOW, &"x".repeat(256), &QueueOptions::default()), Err(RabbitError::NameTooLong(_))));
    assert!(sent_frames(&mut channel).is_empty(), "nothing was sent");
}

/// QA on 4.0.5: a stream's retention (`x-max-age`, `x-stream-max-segment-size-bytes`)
/// was refused as "not passed on", which 3.10.8's adapter does not, and newer ones
/// do. Taken from a broker that passes them on, with the values and the queue
/// type RabbitMQ takes (measured with pika on 4.0.5: a classic or quorum queue
/// refuses them, `0D` and `7` are `invalid_max_age`, filter sizes outside 16-255
/// and segments over 3,000,000,000 bytes are refused); refused in words on 3.10.8.
#[test]
fn stream_retention_is_passed_on_where_the_adapter_does() {
    let stream = |arguments: &[(&str, &str)]| QueueOptions {
        arguments: arguments.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect(),
        ..QueueOptions::stream()
    };
    let retention = stream(&[("x-max-age", "7D"), ("x-stream-max-segment-size-bytes", "1000000"), ("x-stream-filter-size-bytes", "32")]);
    let mut four = channel_on("RabbitMQ/4.0.5");
    four.queue_declare(NOW, "s", &retention).expect("4.0.5 takes a stream's retention");
    let declare = &sent_frames(&mut four)[1];
    assert_eq!(declare.header("x-max-age"), Some("7D"));
    assert_eq!(declare.header("x-stream-max-segment-size-bytes"), Some("1000000"));
    assert_eq!(declare.header("x-stream-filter-size-bytes"), Some("32"));
    for (name, value) in [
        ("x-max-age", "0D"),
        ("x-max-age", "7"),
        ("x-max-age", "7X"),
        ("x-stream-filter-size-bytes", "15"),
        ("x-stream-filter-size-bytes", "256"),
        ("x-stream-max-segment-size-bytes", "3000000001"),
    ] {
        let refused = four.queue_declare(NOW, "s", &stream(&[(name, value)]));
        assert!(matches!(refused, Err(RabbitError::ArgumentOutOfRange { .. })), "{name}={value}: {refused:?}");
    }
    let classic = QueueOptions { arguments: vec![("x-max-age".into(), "7D".into())], ..QueueOptions::durable() };
    let refused = four.queue_declare(NOW, "c", &classic).expect_err("a classic queue refuses it");
    assert_eq!(refused.to_string(), "a classic queue does not take the argument x-max-age (RabbitMQ refuses it with PRECONDITION_FAILED)");
    let quorum = QueueOptions { arguments: vec![("x-stream-max-segment-size-bytes".into(), "1000".into())], ..QueueOptions::quorum() };
    assert!(four.queue_declare(NOW, "q", &quorum).is_err(), "a quorum queue refuses it");
    let mut old = channel_on("RabbitMQ/3.10.8");
    let refused = old.queue_declare(NOW, "s", &stream(&[("x-max-age", "7D")])).expect_err("3.10.8 ignores it");
    assert!(refused.to_string().contains("RabbitMQ 3.12.0 or later; this broker is RabbitMQ/3.10.8"), "{refused}");
    let refused = old.queue_declare(NOW, "s", &stream(&[("x-stream-filter-size-bytes", "32")])).expect_err("3.10.8 ignores it");
    assert!(refused.to_string().contains("RabbitMQ 3.13.0 or later"), "{refused}");
    assert!(sent_frames(&mut old).is_empty(), "nothing was sent");
}

/// Publishing to the default exchange with no routing key names no queue:
/// Web-STOMP answers "Invalid destination", and the publish waited for ever.
#[test]
fn a_publish_to_the_default_exchange_needs_a_routing_key() {
    let refused = check_publish("", "", 0, &BasicProperties::default(), 1 << 20);
    assert!(refused.as_ref().is_err_and(|e| e.to_string().contains("needs a routing key")), "{refused:?}");
    assert!(check_publish("amq.fanout", "", 0, &BasicProperties::default(), 1 << 20).is_ok(), "an exchange takes an empty key");
}

/// RabbitMQ's STOMP adapter would skip either and still send the receipt: with
/// other options, and with the same ones after the queue was deleted. The core
/// then declares over a side connection.
#[test]
fn redeclaring_on_the_same_connection_is_refused_locally() {
    let mut channel = connected_channel();
    channel.queue_declare(NOW, "task_queue", &QueueOptions::durable()).unwrap();
    let again = Err(RabbitError::AlreadyDeclared { queue: "task_queue".into() });
    assert_eq!(channel.queue_declare(NOW, "task_queue", &QueueOptions::durable()), again);
    assert_eq!(channel.queue_declare(NOW, "task_queue", &QueueOptions::default()), again);
}

/// Only its own connection may declare an exclusive queue again (another gets
/// RESOURCE_LOCKED), and no other client can delete it under it.
#[test]
fn an_exclusive_queue_is_declared_again_on_its_own_connection() {
    let mut channel = connected_channel();
    let exclusive = QueueOptions { exclusive: true, ..QueueOptions::default() };
    channel.queue_declare(NOW, "mine", &exclusive).unwrap();
    channel.queue_declare(NOW, "mine", &exclusive).expect("declared again as it was");
    assert_eq!(
        channel.queue_declare(NOW, "mine", &QueueOptions::default()),
        Err(RabbitError::AlreadyDeclared { queue: "mine".into() })
    );
}

#[test]
fn publish_to_the_default_exchange_never_declares() {
    let mut channel = connected_channel();
    let properties = BasicProperties {
        persistent: true,
        content_type: Some("text/plain".into()),
        correlation_id: Some("c-1".into()),
        reply_to: Some("replies".into()),
        expiration: Some("60000".into()),
        priority: Some(5),
        headers: vec![("trace".into(), "a\nb:c".into())],
        ..BasicProperties::default()
    };
    let receipt = channel.basic_publish(NOW, "", "a/b", "大郎 起来喝药了".into(), &properties, true).unwrap();
    let send = &sent_frames(&mut channel)[0];
    assert_eq!(send.command, Command::Send);
    assert_eq!(send.header("destination"), Some("/amq/queue/a%2Fb"));
    assert_eq!(send.header("persistent"), Some("true"));
    assert_eq!(send.header("content-type"), Some("text/plain"));
    assert_eq!(send.header("correlation-id"), Some("c-1"));
    assert_eq!(send.header("reply-to"), Some("replies"));
    assert_eq!(send.header("expiration"), Some("60000"));
    assert_eq!(send.header("priority"), Some("5"));
    assert_eq!(send.header("trace"), Some("a\nb:c"), "the codec escapes it on the wire");
    assert_eq!(send.header("receipt"), receipt.as_ref().map(|r| r.0.as_str()));
    assert!(send.header("durable").is_none());
    assert_eq!(send.body, "大郎 起来喝药了".as_bytes());
}

#[test]
fn publish_to_a_named_exchange() {
    let mut channel = connected_channel();
    channel.basic_publish(NOW, "logs", "", b"x".to_vec(), &BasicProperties::default(), false).unwrap();
    channel.basic_publish(NOW, "amq.direct", "info", b"x".to_vec(), &BasicProperties::default(), false).unwrap();
    let frames = sent_frames(&mut channel);
    assert_eq!(frames[0].header("destination"), Some("/exchange/logs"));
    assert_eq!(frames[1].header("destination"), Some("/exchange/amq.direct/info"));
    assert!(frames[0].header("persistent").is_none(), "transient unless asked");
    assert!(frames[0].header("receipt").is_none());
}

#[test]
fn application_headers_cannot_smuggle_stomp_or_queue_headers() {
    let mut channel = connected_channel();
    // "redelivered": RabbitMQ sets its own on every MESSAGE, and dropped the application's.
    for name in ["destination", "receipt", "transaction", "durable", "x-max-length", "persistent", "redelivered", ""] {
        let properties = BasicProperties { headers: vec![(name.into(), "v".into())], ..Default::default() };
        assert_eq!(
            channel.basic_publish(NOW, "", "q", vec![], &properties, false),
            Err(RabbitError::ReservedHeader(name.into())),
        );
    }
    assert!(sent_frames(&mut channel).is_empty());
}

#[test]
fn consume_subscribes_to_the_existing_queue_with_ack_mode_and_prefetch() {
    let mut channel = connected_channel();
    let manual = channel.basic_consume(NOW, "task_queue", false, Some(1)).unwrap().consumer_tag;
    channel.basic_qos(10);
    let auto = channel.basic_consume(NOW, "hello", true, None).unwrap().consumer_tag;
    let frames = sent_frames(&mut channel);
    assert_eq!(frames[0].header("destination"), Some("/amq/queue/task_queue"));
    assert_eq!(frames[0].header("ack"), Some("client-individual"));
    assert_eq!(frames[0].header("prefetch-count"), Some("1"));
    assert_eq!(frames[0].header("id"), Some(manual.0.as_str()));
    assert!(frames[0].header("receipt").is_some());
    assert_eq!(frames[1].header("ack"), Some("auto"));
    assert_eq!(frames[1].header("prefetch-count"), Some("10"), "basic_qos sets later consumers' prefetch");
    assert_eq!(channel.consumers().count(), 2);
    channel.basic_cancel(NOW, &auto).unwrap();
    assert_eq!(channel.consumers().count(), 1);
}

#[test]
fn ack_and_nack_by_delivery_tag() {
    let mut channel = connected_channel();
    channel.basic_ack(NOW, "T_sub-1@@s@@1").unwrap();
    channel.basic_nack(NOW, "T_sub-1@@s@@2", false).unwrap();
    channel.basic_nack(NOW, "T_sub-1@@s@@3", true).unwrap();
    let frames = sent_frames(&mut channel);
    assert_eq!(frames[0], Frame::new(Command::Ack).with_header("id", "T_sub-1@@s@@1"));
    assert_eq!(frames[1].header("requeue"), Some("false"));
    assert_eq!(frames[2].header("requeue"), None, "RabbitMQ requeues by default");
}

#[test]
fn a_delivery_carries_consumer_redelivered_properties_and_body() {
    let message = Message {
        subscription: SubscriptionId("sub-3".into()),
        destination: "/queue/%E6%B0%B4%E7%BB%AD%E4%BC%A0".into(),
        message_id: "T_sub-3@@s@@7".into(),
        ack: Some("T_sub-3@@s@@7".into()),
        headers: vec![
            ("subscription".into(), "sub-3".into()),
            ("destination".into(), "/queue/%E6%B0%B4%E7%BB%AD%E4%BC%A0".into()),
            ("message-id".into(), "T_sub-3@@s@@7".into()),
            ("redelivered".into(), "true".into()),
            ("ack".into(), "T_sub-3@@s@@7".into()),
            ("persistent".into(), "true".into()),
            ("content-type".into(), "text/plain".into()),
            ("priority".into(), "5".into()),
            ("trace".into(), "abc".into()),
            ("content-length".into(), "3".into()),
        ],
        body: b"abc".to_vec(),
    };
    let delivery = Delivery::from_message(&message);
    assert_eq!(delivery.consumer_tag, SubscriptionId("sub-3".into()));
    assert_eq!(delivery.delivery_tag.as_deref(), Some("T_sub-3@@s@@7"));
    assert!(delivery.redelivered);
    assert_eq!(delivery.exchange, "");
    assert_eq!(delivery.routing_key, "水续传");
    assert!(delivery.properties.persistent);
    assert_eq!(delivery.properties.content_type.as_deref(), Some("text/plain"));
    assert_eq!(delivery.properties.priority, Some(5));
    assert_eq!(delivery.properties.headers, vec![("trace".to_owned(), "abc".to_owned())]);
    assert_eq!(delivery.body_text(), "abc");
}

/// RabbitMQ 4.0.5 marks a stream's messages `persistent:1` (a stream keeps every
/// message on disk), 3.10.8 and both brokers' queues `persistent:true`: both
/// read as persistent, anything else as not.
#[test]
fn a_delivery_reads_persistent_as_rabbitmq_4_writes_it_too() {
    let message_with = |value: &str| Message {
        subscription: SubscriptionId("sub-1".into()),
        destination: "/amq/queue/events".into(),
        message_id: "m".into(),
        ack: None,
        headers: vec![("persistent".into(), value.into())],
        body: Vec::new(),
    };
    for (value, persistent) in [("true", true), ("1", true), ("false", false), ("0", false), ("", false)] {
        assert_eq!(Delivery::from_message(&message_with(value)).properties.persistent, persistent, "persistent:{value}");
    }
}

#[test]
fn destinations_parse_back_to_exchange_and_routing_key() {
    assert_eq!(parse_destination("/queue/hello"), Route::new("", "hello"));
    assert_eq!(parse_destination("/amq/queue/a%2Fb"), Route::new("", "a/b"));
    assert_eq!(parse_destination("/topic/x.y"), Route::new("amq.topic", "x.y"));
    assert_eq!(parse_destination("/exchange/logs"), Route::new("logs", ""));
    assert_eq!(parse_destination("/exchange/logs/info"), Route::new("logs", "info"));
    assert_eq!(parse_destination("/queue/100%"), Route::new("", "100%"), "a lone % is kept");
    assert_eq!(parse_destination("weird"), Route::new("", "weird"));
}

fn error(message: &str, body: &str) -> ServerError {
    ServerError::from_frame(&Frame::new(Command::Error).with_header("message", message).with_body(body))
}

#[test]
fn broker_refusals_are_classified_with_a_hint() {
    let cases = [
        (error("Bad CONNECT", "Access refused for user 'burrow'"), RefusalKind::BadCredentials),
        (error("Bad CONNECT", "Virtual host 'nope' access denied"), RefusalKind::VhostDenied),
        (
            error(
                "precondition_failed",
                "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'hello' in vhost '/': received 'true' but current is 'false'",
            ),
            RefusalKind::PreconditionFailed,
        ),
        (error("not_found", "NOT_FOUND - no queue 'nope' in vhost '/'"), RefusalKind::NotFound),
        (error("access_refused", "ACCESS_REFUSED - access to queue 'q' refused"), RefusalKind::AccessRefused),
        (error("resource_locked", "RESOURCE_LOCKED - cannot obtain exclusive access"), RefusalKind::ResourceLocked),
        (error("Something", "else"), RefusalKind::Other),
    ];
    for (error, kind) in cases {
        let refusal = Refusal::from_server_error(&error);
        assert_eq!(refusal.kind, kind, "{error:?}");
        let shown = RabbitError::from(error.clone()).to_string();
        assert!(shown.contains(error.body.trim()), "{shown}");
        assert!(shown.contains(refusal.hint()), "{shown}");
    }
}

/// QA on 4.0.5: a stream filter on a classic queue was refused with the hint for
/// a redeclare ("a queue that already exists cannot change its properties"),
/// though nothing was redeclared.
#[test]
fn a_stream_option_on_another_queue_type_is_hinted_as_such() {
    let body = "PRECONDITION_FAILED - invalid arg 'x-stream-filter' for queue 'classic_q' in vhost '/' of queue type rabbit_classic_queue";
    let refusal = Refusal::from_server_error(&error("precondition_failed", body));
    assert_eq!(refusal.kind, RefusalKind::PreconditionFailed);
    assert_eq!(refusal.hint(), "a stream offset or filter needs a stream (a queue declared with x-queue-type stream)");
}

#[test]
fn an_oversized_publish_is_refused_before_anything_is_sent() {
    let mut channel = connected_channel();
    channel.set_max_frame(1024);
    let result = channel.basic_publish(NOW, "", "q", vec![b'x'; 2048], &BasicProperties::default(), true);
    let Err(RabbitError::TooLarge(error)) = result else { panic!("expected TooLarge, got {result:?}") };
    assert!(error.size > 2048 && error.limit == 1024, "{error}");
    assert!(error.to_string().contains("nothing was sent"));
    assert!(sent_frames(&mut channel).is_empty());
    channel.basic_publish(NOW, "", "q", vec![b'x'; 512], &BasicProperties::default(), true).expect("small is fine");
}

#[test]
fn a_resent_publish_is_marked_and_the_delivery_says_it_may_be_a_duplicate() {
    // The outbox counts sends: a message published again after a lost connection
    // has been sent before, and the reliability core marks that copy (the frame
    // itself is checked against a simulated broker in tests/simulation.rs).
    let mut outbox = Outbox::new(OutboxLimits { messages: 10, bytes: 1024 });
    let publish = PendingPublish {
        exchange: String::new(),
        routing_key: "q".into(),
        body: b"once".to_vec(),
        properties: BasicProperties::persistent(),
    };
    let id = outbox.push(publish.check(PUBLISH_MAX_FRAME).unwrap()).unwrap();
    let Unsent { id: first, sends, .. } = outbox.next_unsent().unwrap();
    assert_eq!((first, sends), (id, 0), "a first send is not marked");
    assert!(outbox.sent(id, ReceiptId("r-1".into())));
    assert!(outbox.next_unsent().is_none());
    outbox.connection_lost();
    let Unsent { id: again, sends, .. } = outbox.next_unsent().unwrap();
    assert_eq!((again, sends), (id, 1), "the second send is marked");

    let message = Message {
        subscription: SubscriptionId("s".into()),
        destination: "/queue/q".into(),
        message_id: "m".into(),
        ack: None,
        headers: vec![("redelivered".into(), "false".into()), (RESENT_HEADER.into(), "true".into())],
        body: b"once".to_vec(),
    };
    let delivery = Delivery::from_message(&message);
    assert!(delivery.resent && !delivery.redelivered && delivery.possibly_duplicate());
    assert!(delivery.properties.headers.is_empty(), "the marker is not an application header");
}

#[test]
fn a_header_value_cannot_inject_a_header() {
    use burrow::stomp::{encode_to_vec, Decoded, Decoder, Limits};
    let mut channel = connected_channel();
    let sneaky = "x\ndestination:/queue/evil\npersistent:true";
    let properties = BasicProperties { headers: vec![("note".into(), sneaky.into())], ..Default::default() };
    channel.basic_publish(NOW, "", "good", b"body".to_vec(), &properties, false).unwrap();
    let frame = sent_frames(&mut channel).remove(0);
    let bytes = encode_to_vec(&frame).unwrap();
    let mut decoder = Decoder::new(Limits::default());
    decoder.push(&bytes);
    let Ok(Some(Decoded::Frame(back))) = decoder.next_item() else { panic!("decodes") };
    assert_eq!(back.header("destination"), Some("/amq/queue/good"));
    assert_eq!(back.header("note"), Some(sneaky));
    assert_eq!(back.header("persistent"), None);
    assert_eq!(back.headers.iter().filter(|(n, _)| n == "destination").count(), 1);
}

/// RabbitMQ keeps queue names starting with `amq.` for itself: declaring one got
/// "RabbitMQ ended the connection … without saying why" (Web-STOMP lost the
/// ACCESS_REFUSED). Refused before sending now, in RabbitMQ's words.
#[test]
fn a_queue_name_with_the_reserved_prefix_is_refused_before_sending_naming_it() {
    let mut channel = connected_channel();
    let error = channel.queue_declare(NOW, "amq.mine", &QueueOptions::default()).unwrap_err();
    assert_eq!(error, RabbitError::ReservedQueueName("amq.mine".into()));
    assert!(error.to_string().contains("reserved prefix 'amq.*'"), "{error}");
    assert!(sent_frames(&mut channel).is_empty(), "nothing sent");
    // Only the prefix is reserved.
    assert!(channel.queue_declare(NOW, "amqp.mine", &QueueOptions::default()).is_ok());
}

/// Regression: a header over the decoder's line limit (then 16 KiB), or more
/// headers than it takes (then some 125), was sent and confirmed, and every
/// consumer of it then lost its connection to it (Burrow's decoder refused the
/// MESSAGE), again after each reconnect. The largest header it
/// accepts comes back through the decoder with RabbitMQ's own headers beside it.
#[test]
fn headers_a_consumer_could_not_read_back_are_refused_before_sending() {
    let mut channel = connected_channel();
    let with = |headers: Vec<(String, String)>| BasicProperties { headers, ..BasicProperties::default() };
    let limits = burrow::stomp::Limits::default();
    let free = limits.max_headers - BROKER_HEADERS - 3;
    let many = with((0..limits.max_headers - BROKER_HEADERS).map(|n| (format!("h{n}"), "v".to_owned())).collect());
    assert!(matches!(channel.basic_publish(NOW, "", "q", b"x".to_vec(), &many, true), Err(RabbitError::HeadersTooLarge(_))));
    let longest = limits.max_header_line - "big:".len();
    let too_long = with(vec![("big".into(), "y".repeat(longest + 1))]);
    assert!(matches!(channel.basic_publish(NOW, "", "q", b"x".to_vec(), &too_long, true), Err(RabbitError::HeadersTooLarge(_))));
    // Escaped on the wire, a colon takes two bytes.
    let escaped = with(vec![("big".into(), ":".repeat(longest / 2 + 1))]);
    assert!(matches!(channel.basic_publish(NOW, "", "q", b"x".to_vec(), &escaped, true), Err(RabbitError::HeadersTooLarge(_))));
    assert!(sent_frames(&mut channel).is_empty(), "nothing was sent");

    let largest = with(vec![("big".into(), "y".repeat(longest))]);
    channel.basic_publish(NOW, "", "q", b"x".to_vec(), &largest, true).expect("the largest that comes back");
    let most = with((0..free).map(|n| (format!("h{n}"), "v".to_owned())).collect());
    channel.basic_publish(NOW, "", "q", b"x".to_vec(), &most, true).expect("as many as come back");
    for sent in sent_frames(&mut channel) {
        let mut message = Frame::new(Command::Message);
        for n in 0..BROKER_HEADERS {
            message = message.with_header(format!("broker-{n}"), "x");
        }
        message.headers.extend(sent.headers.iter().cloned());
        message.body = sent.body.clone();
        let bytes = burrow::stomp::encode_to_vec(&message).expect("encodes");
        let mut decoder = burrow::stomp::Decoder::new(limits);
        decoder.push(&bytes);
        assert!(matches!(decoder.next_item(), Ok(Some(_))), "a consumer reads it back");
    }
}

/// Regression: RabbitMQ's STOMP adapter reads `%2F` in a destination as `/`, so
/// `a%2Fb` was declared as `a/b`, and a publish to it said "routed nowhere" while
/// it sat in `a/b`. Every name that goes into a destination is refused with it.
#[test]
fn names_with_percent_2f_are_refused_before_sending() {
    let mut channel = connected_channel();
    let refused = |result: Result<_, RabbitError>| matches!(result, Err(RabbitError::UnescapableName(_)));
    assert!(refused(channel.queue_declare(NOW, "a%2Fb", &QueueOptions::default()).map(drop)));
    assert!(refused(channel.basic_publish(NOW, "", "a%2Fb", b"x".to_vec(), &BasicProperties::default(), true).map(drop)));
    assert!(refused(channel.basic_publish(NOW, "logs", "a%2Fb", b"x".to_vec(), &BasicProperties::default(), true).map(drop)));
    assert!(refused(ConsumeFrom::Queue("a%2Fb".into()).check()));
    assert!(sent_frames(&mut channel).is_empty(), "nothing was sent");
    // A slash itself is escaped, and a percent sign alone is only a percent sign.
    channel.queue_declare(NOW, "a/b 100% sure", &QueueOptions::default()).expect("declared");
}

/// Regression (QA): the management UI calls the default exchange `amq.default`;
/// RabbitMQ has no exchange by that name (NOT_FOUND, whose ERROR 3.10.8's
/// Web-STOMP loses: three reconnects to find the message). An empty routing key
/// on the default exchange was never confirmed. Both refused before sending.
#[test]
fn the_default_exchange_by_name_and_without_a_key_are_refused_before_sending() {
    let mut channel = connected_channel();
    let publish = |channel: &mut burrow::rabbit::Channel, exchange: &str, key: &str| {
        channel.basic_publish(NOW, exchange, key, b"x".to_vec(), &BasicProperties::default(), true).map(drop)
    };
    let error = publish(&mut channel, "amq.default", "task_queue").expect_err("refused");
    assert_eq!(error, RabbitError::DefaultExchangeByName);
    assert!(error.to_string().contains("management UI's name for the default exchange"), "{error}");
    assert_eq!(publish(&mut channel, "", ""), Err(RabbitError::EmptyRoutingKey));
    assert!(sent_frames(&mut channel).is_empty(), "nothing was sent");
    publish(&mut channel, "", "task_queue").expect("the default exchange, by its name \"\"");
}

/// Regression (QA round 3 T1): a refusal Burrow words itself, Web-STOMP having
/// closed without RabbitMQ's words, ended "(see the broker's explanation)",
/// pointing at nothing the user was given.
#[test]
fn a_refusal_without_the_broker_s_words_says_where_they_are() {
    let refusal = burrow::rabbit::diagnose_consume("q", "/", Some(&burrow::rabbit::QueueFacts::default()));
    assert_eq!(refusal.kind, RefusalKind::Unexplained);
    let words = refusal.to_string();
    assert!(words.ends_with("(RabbitMQ's log says why)") && !words.contains("broker's explanation"), "{words}");
}
