//! Arbitrary bytes, split into chunks, through the decoder; whatever decodes must
//! survive encode → decode unchanged.
//!
//! The first input byte is the chunk size, so the fuzzer also explores how input is split.
//! Run with `cargo +nightly fuzz run decoder` from this directory.

#![no_main]

use burrow::stomp::{encode_to_vec, DecodeError, Decoded, Decoder, EncodeError, Frame, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else { return };
    let chunk = usize::from(first).max(1);
    // Small limits so the fuzzer reaches every limit check.
    let limits = Limits { max_headers: 8, max_header_line: 128, max_body: 1024 };
    let mut decoder = Decoder::new(limits);
    let mut frames = Vec::new();
    'input: for piece in input.chunks(chunk) {
        decoder.push(piece);
        loop {
            match decoder.next_item() {
                Ok(Some(Decoded::Frame(frame))) => frames.push(frame),
                Ok(Some(Decoded::HeartBeat)) => {}
                Ok(None) => break,
                Err(_) => {
                    assert_eq!(decoder.next_item(), Err(DecodeError::Poisoned));
                    break 'input;
                }
            }
        }
    }
    for frame in frames {
        let bytes = match encode_to_vec(&frame) {
            Ok(bytes) => bytes,
            // The decoder is lenient where the encoder is strict: a body on RECEIPT, or a
            // raw CR inside a CONNECTED header. The decoder never yields an empty name.
            Err(EncodeError::BodyNotAllowed { .. } | EncodeError::Unescapable { .. }) => continue,
            Err(error) => panic!("decoded frame cannot be encoded: {error}"),
        };
        let mut again = Decoder::new(Limits::default());
        again.push(&bytes);
        assert_eq!(again.next_item(), Ok(Some(Decoded::Frame(normalized(frame)))));
        assert_eq!(again.next_item(), Ok(None));
    }
});

/// The encoder replaces any `content-length` with the true one, written last.
fn normalized(mut frame: Frame) -> Frame {
    frame.headers.retain(|(name, _)| name != "content-length");
    if !frame.body.is_empty() {
        frame.headers.push(("content-length".into(), frame.body.len().to_string()));
    }
    frame
}
