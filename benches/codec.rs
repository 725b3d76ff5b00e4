//! Codec throughput on a RabbitMQ-style MESSAGE frame.
//!
//! `cargo bench --bench codec -- --warm-up-time 1 --measurement-time 3`

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::hint::black_box;

    use burrow::stomp::{encode, encode_to_vec, Command, Decoded, Decoder, Frame, Limits};
    use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};

    const SIZES: [(usize, &str); 2] = [(100, "100B"), (64 * 1024, "64KiB")];

    /// A MESSAGE as RabbitMQ Web-STOMP delivers it.
    fn message(body_len: usize) -> Frame {
        Frame::new(Command::Message)
            .with_header("subscription", "sub-0")
            .with_header("destination", "/queue/burrow-tutorial")
            .with_header("message-id", "T_sub-0@@session-3vWq9pKb1cXh2Ezr0TmYnA@@1042")
            .with_header("redelivered", "false")
            .with_header("ack", "T_sub-0@@session-3vWq9pKb1cXh2Ezr0TmYnA@@1042")
            .with_header("content-type", "application/json")
            .with_header("persistent", "true")
            .with_header("content-length", body_len.to_string())
            .with_body(vec![b'x'; body_len])
    }

    /// Decodes one frame out of `chunks`, on a decoder reused like a connection's.
    fn decode_one(decoder: &mut Decoder, chunks: &[&[u8]]) -> Frame {
        for chunk in chunks {
            decoder.push(chunk);
            match decoder.next_item() {
                Ok(Some(Decoded::Frame(frame))) => return frame,
                Ok(None) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        panic!("frame incomplete")
    }

    fn decode(c: &mut Criterion) {
        let mut group = c.benchmark_group("decode");
        for (len, label) in SIZES {
            let bytes = encode_to_vec(&message(len)).expect("encodable");
            group.throughput(Throughput::Bytes(bytes.len() as u64));
            let mut decoder = Decoder::new(Limits::default());
            group.bench_function(BenchmarkId::new("whole", label), |b| {
                b.iter(|| decode_one(&mut decoder, &[black_box(&bytes)]))
            });
        }
        // A WebSocket layer may hand a large frame over in pieces.
        let bytes = encode_to_vec(&message(64 * 1024)).expect("encodable");
        let chunks: Vec<&[u8]> = bytes.chunks(4 * 1024).collect();
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        let mut decoder = Decoder::new(Limits::default());
        group.bench_function(BenchmarkId::new("4KiB-chunks", "64KiB"), |b| {
            b.iter(|| decode_one(&mut decoder, black_box(&chunks)))
        });
        // Without content-length the body has to be searched for its NUL.
        let mut frame = message(64 * 1024);
        frame.headers.retain(|(name, _)| name != "content-length");
        let mut bytes = encode_to_vec(&frame).expect("encodable");
        let blank = bytes.windows(2).position(|w| w == b"\n\n").expect("blank line");
        let cl_start = bytes[..blank].iter().rposition(|&b| b == b'\n').expect("line") + 1;
        bytes.drain(cl_start..=blank);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        let chunks: Vec<&[u8]> = bytes.chunks(4 * 1024).collect();
        let mut decoder = Decoder::new(Limits::default());
        group.bench_function(BenchmarkId::new("4KiB-chunks-no-content-length", "64KiB"), |b| {
            b.iter(|| decode_one(&mut decoder, black_box(&chunks)))
        });
        group.finish();
    }

    fn encode_frames(c: &mut Criterion) {
        let mut group = c.benchmark_group("encode");
        for (len, label) in SIZES {
            let frame = message(len);
            let size = encode_to_vec(&frame).expect("encodable").len();
            group.throughput(Throughput::Bytes(size as u64));
            // Reusing the output buffer, as a sender would.
            let mut out = Vec::with_capacity(size);
            group.bench_function(BenchmarkId::new("reused-buffer", label), |b| {
                b.iter(|| {
                    out.clear();
                    encode(black_box(&frame), &mut out).expect("encodable");
                    out.len()
                })
            });
        }
        group.finish();
    }

    criterion_group!(benches, decode, encode_frames);
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(native::benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
