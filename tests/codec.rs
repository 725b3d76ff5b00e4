#![cfg(not(target_arch = "wasm32"))]
//! The STOMP 1.2 codec against the rules of the spec, one rule per test, plus
//! property tests of the encode → split anyhow → decode round trip.

use burrow::stomp::{
    encode, encode_to_vec, Command, DecodeError, Decoded, Decoder, EncodeError, Frame, Limits,
    HEARTBEAT_EOL,
};
use proptest::prelude::*;

/// Pushes `chunks` one after another, draining items after each; stops at the first error.
fn decode_chunks<'a>(
    limits: Limits,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<Decoded>, DecodeError> {
    let mut decoder = Decoder::new(limits);
    let mut items = Vec::new();
    for chunk in chunks {
        decoder.push(chunk);
        while let Some(item) = decoder.next_item()? {
            items.push(item);
        }
    }
    Ok(items)
}

/// Decodes `bytes` pushed at once and pushed one byte at a time; both must agree.
fn decode(bytes: &[u8]) -> Result<Vec<Decoded>, DecodeError> {
    decode_with(Limits::default(), bytes)
}

fn decode_with(limits: Limits, bytes: &[u8]) -> Result<Vec<Decoded>, DecodeError> {
    let whole = decode_chunks(limits, [bytes]);
    let bytewise = decode_chunks(limits, bytes.chunks(1));
    assert_eq!(whole, bytewise, "whole and byte-by-byte decoding differ");
    whole
}

/// The single frame in `bytes`, ignoring heart-beats.
fn one_frame(bytes: &[u8]) -> Frame {
    let frames: Vec<Frame> = decode(bytes)
        .expect("valid input")
        .into_iter()
        .filter_map(|item| match item {
            Decoded::Frame(frame) => Some(frame),
            Decoded::HeartBeat => None,
        })
        .collect();
    assert_eq!(frames.len(), 1, "expected exactly one frame");
    frames.into_iter().next().expect("one frame")
}

fn error_of(bytes: &[u8]) -> DecodeError {
    decode(bytes).expect_err("input should be rejected")
}

fn error_with(limits: Limits, bytes: &[u8]) -> DecodeError {
    decode_with(limits, bytes).expect_err("input should be rejected")
}

/// What a frame decodes to after a trip through the encoder, which replaces any
/// `content-length` with the true one, written last.
fn normalized(frame: &Frame) -> Frame {
    let mut expected = frame.clone();
    expected.headers.retain(|(name, _)| name != "content-length");
    if !expected.body.is_empty() {
        expected.headers.push(("content-length".into(), expected.body.len().to_string()));
    }
    expected
}

// --- EOLs and heart-beats ---------------------------------------------------------

#[test]
fn lf_eols() {
    let frame = one_frame(b"SEND\ndestination:/queue/a\n\nhi\0");
    assert_eq!(
        frame,
        Frame::new(Command::Send).with_header("destination", "/queue/a").with_body("hi")
    );
}

#[test]
fn crlf_eols_on_command_header_and_blank_lines() {
    let frame = one_frame(b"SEND\r\ndestination:/queue/a\r\nx:y\r\n\r\nhi\0");
    assert_eq!(
        frame,
        Frame::new(Command::Send)
            .with_header("destination", "/queue/a")
            .with_header("x", "y")
            .with_body("hi")
    );
}

#[test]
fn mixed_lf_and_crlf_eols() {
    let frame = one_frame(b"SEND\r\na:1\nb:2\r\n\nhi\0");
    assert_eq!(frame.headers, vec![("a".into(), "1".into()), ("b".into(), "2".into())]);
}

#[test]
fn heart_beats_lf_and_crlf_between_frames() {
    let items = decode(b"\n\r\nRECEIPT\nreceipt-id:1\n\n\0\n\r\n\nRECEIPT\nreceipt-id:2\n\n\0\r\n")
        .expect("valid input");
    let receipt =
        |id: &str| Decoded::Frame(Frame::new(Command::Receipt).with_header("receipt-id", id));
    assert_eq!(
        items,
        vec![
            Decoded::HeartBeat,
            Decoded::HeartBeat,
            receipt("1"),
            Decoded::HeartBeat,
            Decoded::HeartBeat,
            Decoded::HeartBeat,
            receipt("2"),
            Decoded::HeartBeat,
        ]
    );
}

#[test]
fn eols_after_nul_are_heart_beats() {
    let items = decode(b"MESSAGE\ncontent-length:2\n\nab\0\r\n\n").expect("valid input");
    assert_eq!(items.len(), 3);
    assert_eq!(&items[1..], &[Decoded::HeartBeat, Decoded::HeartBeat]);
}

#[test]
fn lone_cr_waits_for_its_lf() {
    let mut decoder = Decoder::default();
    decoder.push(b"\r");
    assert_eq!(decoder.next_item(), Ok(None));
    decoder.push(b"\n");
    assert_eq!(decoder.next_item(), Ok(Some(Decoded::HeartBeat)));
    assert_eq!(decoder.next_item(), Ok(None));
}

#[test]
fn heart_beat_constant_decodes_as_heart_beat() {
    assert_eq!(decode(HEARTBEAT_EOL), Ok(vec![Decoded::HeartBeat]));
}

// --- Header values ----------------------------------------------------------------

#[test]
fn header_escapes_are_decoded() {
    let frame = one_frame(b"MESSAGE\nk\\cey:a\\r\\nb\\\\c\\cd\n\n\0");
    assert_eq!(frame.header("k:ey"), Some("a\r\nb\\c:d"));
}

#[test]
fn undefined_escape_is_an_error() {
    assert_eq!(error_of(b"SEND\na:x\\ty\n\n\0"), DecodeError::UndefinedEscape("\\t".into()));
}

#[test]
fn trailing_backslash_is_an_undefined_escape() {
    assert_eq!(error_of(b"SEND\na:x\\\n\n\0"), DecodeError::UndefinedEscape("\\".into()));
}

#[test]
fn connect_and_connected_headers_are_not_unescaped() {
    for command in ["CONNECT", "STOMP", "CONNECTED"] {
        let bytes = format!("{command}\nlogin:a\\tb\\c\npasscode:x:y\n\n\0");
        let frame = one_frame(bytes.as_bytes());
        assert_eq!(frame.header("login"), Some("a\\tb\\c"), "{command}");
        assert_eq!(frame.header("passcode"), Some("x:y"), "{command}");
    }
}

#[test]
fn repeated_headers_keep_order_and_first_wins() {
    let frame = one_frame(b"MESSAGE\nfoo:World\nfoo:Hello\nbar:1\n\n\0");
    assert_eq!(
        frame.headers,
        vec![
            ("foo".into(), "World".into()),
            ("foo".into(), "Hello".into()),
            ("bar".into(), "1".into()),
        ]
    );
    assert_eq!(frame.header("foo"), Some("World"));
}

#[test]
fn header_values_are_not_trimmed() {
    let frame = one_frame(b"SEND\n a : b \n\n\0");
    assert_eq!(frame.headers, vec![(" a ".into(), " b ".into())]);
}

#[test]
fn empty_header_value_is_allowed() {
    assert_eq!(one_frame(b"SEND\na:\n\n\0").header("a"), Some(""));
}

#[test]
fn utf8_header_names_and_values() {
    let frame = one_frame("SEND\ndestination:/queue/水续传\n名前:值\n\n\0".as_bytes());
    assert_eq!(frame.header("destination"), Some("/queue/水续传"));
    assert_eq!(frame.header("名前"), Some("值"));
}

#[test]
fn invalid_utf8_in_a_header_name_is_an_error() {
    assert_eq!(error_of(b"SEND\n\xc3:b\n\n\0"), DecodeError::InvalidUtf8("header name"));
}

/// Regression: RabbitMQ passes an AMQP header's binary long string through as it
/// is (measured: pika publishing `S` 0xff 0xfe "ok" arrives as `bin:\xff\xfeok` on
/// 3.10.8's STOMP), and refusing it cut every consumer of the message off at each
/// delivery, for good.
#[test]
fn invalid_utf8_in_a_header_value_is_read_as_replacement_characters() {
    let frame = one_frame(b"MESSAGE\nsubscription:0\nbin:\xff\xfeok\n\n\0");
    assert_eq!(frame.header("bin"), Some("\u{FFFD}\u{FFFD}ok"));
    assert_eq!(frame.header("subscription"), Some("0"));
}

#[test]
fn header_without_colon_is_an_error() {
    assert!(matches!(error_of(b"SEND\nnocolon\n\n\0"), DecodeError::MissingColon(_)));
}

#[test]
fn header_with_empty_name_is_an_error() {
    assert!(matches!(error_of(b"SEND\n:v\n\n\0"), DecodeError::EmptyHeaderName(_)));
}

// --- Bodies -----------------------------------------------------------------------

#[test]
fn content_length_body_may_contain_nul() {
    let frame = one_frame(b"MESSAGE\ncontent-length:5\n\na\0b\0c\0");
    assert_eq!(frame.body, b"a\0b\0c");
}

#[test]
fn body_without_content_length_ends_at_first_nul() {
    let items = decode(b"SEND\n\nabc\0\nRECEIPT\nreceipt-id:9\n\n\0").expect("valid input");
    assert_eq!(
        items,
        vec![
            Decoded::Frame(Frame::new(Command::Send).with_body("abc")),
            Decoded::HeartBeat,
            Decoded::Frame(Frame::new(Command::Receipt).with_header("receipt-id", "9")),
        ]
    );
}

#[test]
fn first_content_length_counts() {
    let frame = one_frame(b"MESSAGE\ncontent-length:3\ncontent-length:1\n\na\0c\0");
    assert_eq!(frame.body, b"a\0c");
}

#[test]
fn bad_content_length_is_an_error() {
    for bad in ["", "abc", "-1", "+3", " 3", "99999999999999999999999"] {
        let bytes = format!("SEND\ncontent-length:{bad}\n\n\0");
        assert_eq!(
            error_of(bytes.as_bytes()),
            DecodeError::BadContentLength(bad.into()),
            "{bad:?}"
        );
    }
}

#[test]
fn content_length_body_not_followed_by_nul_is_an_error() {
    assert_eq!(error_of(b"SEND\ncontent-length:2\n\nabc\0"), DecodeError::MissingNul);
}

#[test]
fn content_length_over_limit_errors_before_body_arrives() {
    let limits = Limits { max_body: 10, ..Limits::default() };
    let mut decoder = Decoder::new(limits);
    decoder.push(b"SEND\ncontent-length:11\n");
    assert_eq!(decoder.next_item(), Err(DecodeError::BodyTooLarge { limit: 10, size: 11 }));
}

#[test]
fn content_length_at_limit_is_accepted() {
    let limits = Limits { max_body: 3, ..Limits::default() };
    let items = decode_with(limits, b"SEND\ncontent-length:3\n\nabc\0").expect("valid input");
    assert_eq!(items.len(), 1);
}

#[test]
fn body_without_content_length_over_limit_errors_once_buffered() {
    let limits = Limits { max_body: 10, ..Limits::default() };
    let mut decoder = Decoder::new(limits);
    decoder.push(b"SEND\n\n0123456789");
    assert_eq!(decoder.next_item(), Ok(None));
    decoder.push(b"X");
    assert_eq!(decoder.next_item(), Err(DecodeError::BodyTooLarge { limit: 10, size: 11 }));
}

// --- Limits -----------------------------------------------------------------------

#[test]
fn too_many_headers() {
    let limits = Limits { max_headers: 2, ..Limits::default() };
    assert_eq!(decode_with(limits, b"SEND\na:1\nb:2\n\n\0").map(|items| items.len()), Ok(1));
    assert_eq!(
        error_with(limits, b"SEND\na:1\nb:2\nc:3\n\n\0"),
        DecodeError::TooManyHeaders { limit: 2 }
    );
}

#[test]
fn header_line_too_long() {
    let limits = Limits { max_header_line: 8, ..Limits::default() };
    // Exactly at the limit, even with a CRLF, is fine.
    assert!(decode_with(limits, b"SEND\r\nabc:1234\r\n\r\n\0").is_ok());
    assert_eq!(
        error_with(limits, b"SEND\nabc:12345\n\n\0"),
        DecodeError::HeaderLineTooLong { limit: 8 }
    );
}

#[test]
fn header_line_too_long_errors_before_its_eol_arrives() {
    let limits = Limits { max_header_line: 8, ..Limits::default() };
    let mut decoder = Decoder::new(limits);
    decoder.push(b"SEND\nabc:1234\r");
    assert_eq!(decoder.next_item(), Ok(None), "8 bytes plus a CR that may start a CRLF");
    decoder.push(b"5");
    assert_eq!(decoder.next_item(), Err(DecodeError::HeaderLineTooLong { limit: 8 }));
}

#[test]
fn command_line_too_long_errors_before_its_eol_arrives() {
    let limits = Limits { max_header_line: 16, ..Limits::default() };
    let mut decoder = Decoder::new(limits);
    decoder.push(&[b'A'; 17]);
    assert_eq!(decoder.next_item(), Err(DecodeError::HeaderLineTooLong { limit: 16 }));
}

// --- Commands and errors ------------------------------------------------------------

#[test]
fn unknown_command_is_an_error() {
    assert_eq!(error_of(b"PUBLISH\n\n\0"), DecodeError::UnknownCommand("PUBLISH".into()));
    assert_eq!(error_of(b"send\n\n\0"), DecodeError::UnknownCommand("send".into()));
}

#[test]
fn decoder_is_poisoned_after_an_error() {
    let mut decoder = Decoder::default();
    decoder.push(b"BOGUS\n\n\0");
    assert_eq!(decoder.next_item(), Err(DecodeError::UnknownCommand("BOGUS".into())));
    decoder.push(b"RECEIPT\nreceipt-id:1\n\n\0");
    assert_eq!(decoder.next_item(), Err(DecodeError::Poisoned));
    assert_eq!(decoder.next_item(), Err(DecodeError::Poisoned));
    assert_eq!(decoder.buffered(), 0, "a poisoned decoder holds no input");
}

#[test]
fn buffered_counts_unparsed_bytes_and_drops_consumed_ones() {
    let mut decoder = Decoder::default();
    assert_eq!(decoder.buffered(), 0);
    decoder.push(b"RECEIPT\nreceipt-id:1\n\n\0RECE");
    assert!(matches!(decoder.next_item(), Ok(Some(Decoded::Frame(_)))));
    assert_eq!(decoder.next_item(), Ok(None));
    assert_eq!(decoder.buffered(), 4);
    decoder.push(b"IPT\n\n\0");
    assert!(matches!(decoder.next_item(), Ok(Some(Decoded::Frame(_)))));
    assert_eq!(decoder.buffered(), 0);
}

#[test]
fn error_messages_are_plain_english() {
    assert_eq!(
        DecodeError::TooManyHeaders { limit: 3 }.to_string(),
        "frame has more than 3 headers"
    );
    assert_eq!(DecodeError::UnknownCommand("X".into()).to_string(), "unknown command \"X\"");
    assert_eq!(
        EncodeError::BodyNotAllowed { command: Command::Ack, len: 2 }.to_string(),
        "ACK frames cannot have a body (got 2 bytes)"
    );
}

// --- The spec's example frames ------------------------------------------------------

#[test]
fn spec_connect() {
    let frame = one_frame(b"CONNECT\naccept-version:1.2\nhost:stomp.github.org\n\n\0");
    assert_eq!(
        frame,
        Frame::new(Command::Connect)
            .with_header("accept-version", "1.2")
            .with_header("host", "stomp.github.org")
    );
}

#[test]
fn spec_connected() {
    let frame = one_frame(b"CONNECTED\nversion:1.2\n\n\0");
    assert_eq!(frame, Frame::new(Command::Connected).with_header("version", "1.2"));
}

#[test]
fn spec_send() {
    let frame =
        one_frame(b"SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\0");
    assert_eq!(frame.command, Command::Send);
    assert_eq!(frame.header("destination"), Some("/queue/a"));
    assert_eq!(frame.header("content-type"), Some("text/plain"));
    assert_eq!(frame.body_text(), Some("hello queue a"));
}

#[test]
fn spec_subscribe() {
    let frame = one_frame(b"SUBSCRIBE\nid:0\ndestination:/queue/foo\nack:client\n\n\0");
    assert_eq!(
        frame,
        Frame::new(Command::Subscribe)
            .with_header("id", "0")
            .with_header("destination", "/queue/foo")
            .with_header("ack", "client")
    );
}

#[test]
fn spec_message() {
    let frame = one_frame(
        b"MESSAGE\nsubscription:0\nmessage-id:007\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\0",
    );
    assert_eq!(frame.command, Command::Message);
    assert_eq!(frame.header("subscription"), Some("0"));
    assert_eq!(frame.header("message-id"), Some("007"));
    assert_eq!(frame.body_text(), Some("hello queue a"));
}

#[test]
fn spec_receipt() {
    let frame = one_frame(b"RECEIPT\nreceipt-id:message-12345\n\n\0");
    assert_eq!(frame, Frame::new(Command::Receipt).with_header("receipt-id", "message-12345"));
}

#[test]
fn spec_error() {
    let body = "The message:\n-----\nMESSAGE\ndestined:/queue/a\nreceipt:message-12345\n\n\
                Hello queue a!\n-----\nDid not contain a destination header, which is REQUIRED\n\
                for message propagation.\n";
    let bytes = format!(
        "ERROR\nreceipt-id:message-12345\ncontent-type:text/plain\ncontent-length:{}\n\
         message:malformed frame received\n\n{body}\0",
        body.len()
    );
    let frame = one_frame(bytes.as_bytes());
    assert_eq!(frame.command, Command::Error);
    assert_eq!(frame.header("message"), Some("malformed frame received"));
    assert_eq!(frame.body_text(), Some(body));
}

// --- Encoding -----------------------------------------------------------------------

#[test]
fn every_command_encodes_and_decodes_back() {
    for command in Command::ALL {
        let mut frame = Frame::new(command).with_header("receipt", "r-1").with_header("x", "a:b");
        if command.allows_body() {
            frame = frame.with_body(&b"bin\0ary"[..]);
        }
        let bytes = encode_to_vec(&frame).expect("encodable");
        assert_eq!(one_frame(&bytes), normalized(&frame), "{command}");
    }
}

#[test]
fn encode_writes_the_exact_wire_format() {
    let frame = Frame::new(Command::Send)
        .with_header("destination", "/queue/a")
        .with_header("content-length", "999")
        .with_header("a:b", "c\\d\r\n")
        .with_body("hi");
    let bytes = encode_to_vec(&frame).expect("encodable");
    assert_eq!(bytes, b"SEND\ndestination:/queue/a\na\\cb:c\\\\d\\r\\n\ncontent-length:2\n\nhi\0");
}

#[test]
fn encode_empty_body_writes_no_content_length() {
    let frame = Frame::new(Command::Send).with_header("content-length", "5");
    assert_eq!(encode_to_vec(&frame), Ok(b"SEND\n\n\0".to_vec()));
}

#[test]
fn encode_connect_headers_unescaped() {
    let frame = Frame::new(Command::Connect).with_header("passcode", "a\\b:c");
    assert_eq!(encode_to_vec(&frame), Ok(b"CONNECT\npasscode:a\\b:c\n\n\0".to_vec()));
}

#[test]
fn encode_rejects_unescapable_connect_headers() {
    for command in [Command::Connect, Command::Stomp, Command::Connected] {
        for (name, value, what) in [
            ("login", "a\nb", "a line feed"),
            ("login", "a\rb", "a carriage return"),
            ("log\nin", "a", "a line feed"),
            ("log:in", "a", "a colon in its name"),
        ] {
            let frame = Frame::new(command).with_header(name, value);
            assert_eq!(
                encode_to_vec(&frame),
                Err(EncodeError::Unescapable { command, name: name.into(), what }),
                "{command} {name:?}:{value:?}"
            );
        }
    }
}

#[test]
fn encode_rejects_empty_header_name() {
    for command in [Command::Connect, Command::Send] {
        let frame = Frame::new(command).with_header("", "v");
        assert_eq!(encode_to_vec(&frame), Err(EncodeError::EmptyHeaderName { command }));
    }
}

#[test]
fn encode_rejects_body_where_not_allowed() {
    for command in Command::ALL.into_iter().filter(|c| !c.allows_body()) {
        let frame = Frame::new(command).with_body("x");
        assert_eq!(encode_to_vec(&frame), Err(EncodeError::BodyNotAllowed { command, len: 1 }));
    }
}

#[test]
fn encode_leaves_output_untouched_on_error() {
    let mut out = b"before".to_vec();
    let frame = Frame::new(Command::Connect).with_header("ok", "1").with_header("bad", "\n");
    assert!(encode(&frame, &mut out).is_err());
    assert_eq!(out, b"before");
}

#[test]
fn encode_appends_frames_back_to_back() {
    let mut out = Vec::new();
    let a = Frame::new(Command::Send).with_body("a");
    let b = Frame::new(Command::Disconnect).with_header("receipt", "77");
    encode(&a, &mut out).expect("encodable");
    out.extend_from_slice(HEARTBEAT_EOL);
    encode(&b, &mut out).expect("encodable");
    let items = decode(&out).expect("valid input");
    assert_eq!(items, vec![Decoded::Frame(normalized(&a)), Decoded::HeartBeat, Decoded::Frame(b)]);
}

// --- Properties -------------------------------------------------------------------

/// Headers full of what escaping is for; CONNECT-like frames get only what they can carry.
fn header(escapes: bool) -> impl Strategy<Value = (String, String)> {
    if escapes {
        (r"[a-z:\\\r\n水续传 -]{1,8}", r"[a-z0-9:\\\r\n水续传 ]{0,12}").boxed()
    } else {
        (r"[a-z\\水续传 -]{1,8}", r"[a-z0-9:\\水续传 ]{0,12}").boxed()
    }
}

fn frame() -> impl Strategy<Value = Frame> {
    prop::sample::select(Command::ALL.to_vec()).prop_flat_map(|command| {
        let headers = prop::collection::vec(header(command.escapes_headers()), 0..6);
        let body = if command.allows_body() {
            // Zero is weighted up so bodies often contain NULs.
            prop::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 0..300).boxed()
        } else {
            Just(Vec::new()).boxed()
        };
        (headers, body).prop_map(move |(headers, body)| Frame { command, headers, body })
    })
}

/// Frame-shaped byte strings built from STOMP's own tokens, so that random input often
/// decodes, yet also hits escapes, bad lengths, stray bytes and missing separators.
fn stomp_like() -> impl Strategy<Value = Vec<u8>> {
    let token = || {
        prop_oneof![
            4 => "[a-z0-9 ]{1,3}".prop_map(String::into_bytes),
            1 => prop::sample::select(vec![
                ":", "\\", "\\c", "\\n", "\\r", "\\t", "\r", "\0", "水", "content-length", "3",
            ])
            .prop_map(|t| t.as_bytes().to_vec()),
            1 => any::<u8>().prop_map(|b| vec![b]),
        ]
    };
    let text = move || prop::collection::vec(token(), 0..4).prop_map(|t| t.concat());
    let eol = || prop::sample::select(vec!["\n", "\r\n"]).prop_map(|e| e.as_bytes().to_vec());
    let command = prop::sample::select(
        Command::ALL.iter().map(|c| c.as_str()).chain(["", "BOGUS"]).collect::<Vec<_>>(),
    );
    let header = (text(), prop::sample::select(vec![":", ""]), text(), eol())
        .prop_map(|(n, colon, v, e)| [n, colon.as_bytes().to_vec(), v, e].concat());
    let frame = (command, eol(), prop::collection::vec(header, 0..4), eol(), text(), any::<bool>())
        .prop_map(|(c, e1, headers, e2, body, nul)| {
            let mut bytes = [c.as_bytes().to_vec(), e1, headers.concat(), e2, body].concat();
            if nul {
                bytes.push(0);
            }
            bytes
        });
    prop::collection::vec(prop_oneof![4 => frame, 1 => eol()], 0..4).prop_map(|f| f.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn round_trip_through_random_chunks(
        frames in prop::collection::vec((frame(), 0..3usize, any::<bool>()), 1..6),
        chunk_sizes in prop::collection::vec(1..64usize, 1..20),
    ) {
        let mut bytes = Vec::new();
        let mut expected = Vec::new();
        for (frame, beats, crlf) in &frames {
            for _ in 0..*beats {
                bytes.extend_from_slice(if *crlf { b"\r\n" } else { HEARTBEAT_EOL });
                expected.push(Decoded::HeartBeat);
            }
            encode(frame, &mut bytes).expect("generated frames are encodable");
            expected.push(Decoded::Frame(normalized(frame)));
        }
        let mut chunks = Vec::new();
        let mut rest = &bytes[..];
        for size in chunk_sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at((*size).min(rest.len()));
            chunks.push(chunk);
            rest = tail;
        }
        prop_assert_eq!(decode_chunks(Limits::default(), chunks), Ok(expected));
    }

    #[test]
    fn unescapable_connect_headers_are_rejected(
        command in prop::sample::select(vec![Command::Connect, Command::Stomp, Command::Connected]),
        name in r"[a-z]{0,3}[:\r\n]?[a-z]{0,3}",
        value in r"[a-z]{0,3}[\r\n]?[a-z]{0,3}",
    ) {
        let frame = Frame::new(command).with_header(name.clone(), value.clone());
        let representable = !name.is_empty()
            && !name.contains([':', '\r', '\n'])
            && !value.contains(['\r', '\n']);
        let encoded = encode_to_vec(&frame);
        prop_assert_eq!(encoded.is_ok(), representable);
        if let Ok(bytes) = encoded {
            prop_assert_eq!(decode(&bytes), Ok(vec![Decoded::Frame(frame)]));
        }
    }

    /// What the fuzz target checks, on a budget: whatever decodes re-encodes to the same
    /// frame, unless it is something only the lenient decoder accepts.
    #[test]
    fn decoded_frames_survive_re_encoding(bytes in stomp_like(), chunk in 1..16usize) {
        let limits = Limits { max_headers: 8, max_header_line: 128, max_body: 1024 };
        let mut decoder = Decoder::new(limits);
        let mut frames = Vec::new();
        'input: for piece in bytes.chunks(chunk) {
            decoder.push(piece);
            loop {
                match decoder.next_item() {
                    Ok(Some(Decoded::Frame(frame))) => frames.push(frame),
                    Ok(Some(Decoded::HeartBeat)) => {}
                    Ok(None) => break,
                    Err(_) => {
                        prop_assert_eq!(decoder.next_item(), Err(DecodeError::Poisoned));
                        break 'input;
                    }
                }
            }
        }
        for frame in frames {
            match encode_to_vec(&frame) {
                Ok(bytes) => prop_assert_eq!(
                    decode_chunks(Limits::default(), [&bytes[..]]),
                    Ok(vec![Decoded::Frame(normalized(&frame))])
                ),
                Err(EncodeError::BodyNotAllowed { .. } | EncodeError::Unescapable { .. }) => {}
                Err(error) => prop_assert!(false, "decoded frame cannot be encoded: {}", error),
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        chunk in 1..32usize,
    ) {
        let limits = Limits { max_headers: 4, max_header_line: 64, max_body: 128 };
        let _ = decode_chunks(limits, bytes.chunks(chunk));
    }
}

/// Regression (QA): a message another client published with a 17,000-byte header,
/// some 200 headers or a 20 MiB body was refused by the decoder, and every Burrow
/// consumer of its queue lost its connection at each delivery, for good (stompjs
/// reads it). The defaults take what a RabbitMQ with default settings delivers:
/// AMQP header tables up to its 128 KiB `frame_max`, escaped, and bodies up to
/// 3.10.8's 128 MiB `max_message_size`.
#[test]
fn the_default_limits_read_what_rabbitmq_delivers() {
    let mut message = Frame::new(Command::Message)
        .with_header("subscription", "sub-0")
        .with_header("message-id", "T_sub-0@@session@@1")
        .with_header("big", ":".repeat(64 * 1024));
    for n in 0..30_000 {
        message = message.with_header(format!("h{n}"), "1");
    }
    message.body = vec![b'x'; 20 * 1024 * 1024];
    let bytes = burrow::stomp::encode_to_vec(&message).expect("encodes");
    // Whole, as a WebSocket message brings it (byte by byte takes minutes unoptimised).
    let decoded = decode_chunks(Limits::default(), [bytes.as_slice()]).expect("the default limits read it");
    assert!(matches!(decoded.as_slice(), [Decoded::Frame(frame)] if frame.headers.len() == message.headers.len() + 1 && frame.body.len() == 20 * 1024 * 1024));
}
