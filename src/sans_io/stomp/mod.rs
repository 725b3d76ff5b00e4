//! STOMP 1.2 frame codec, sans-IO: bytes in, frames out, and back.
//!
//! Touches no browser API and does no I/O, so it runs and is tested natively.
//! [`Decoder`] turns a byte stream (split anyhow) into [`Decoded`] frames and
//! heart-beats, within [`Limits`]; [`encode`] writes a [`Frame`] back to bytes,
//! escaping headers as STOMP 1.2 asks. Malformed input is a typed
//! [`DecodeError`], never a panic.
//!
//! ```
//! use burrow::stomp::{encode_to_vec, Command, Decoded, Decoder, Frame, Limits};
//!
//! let send = Frame::new(Command::Send)
//!     .with_header("destination", "/amq/queue/hello")
//!     .with_header("note", "a:b\nc") // a colon and a line break: escaped on the wire
//!     .with_body("Hello World!");
//! let bytes = encode_to_vec(&send)?;
//!
//! // The bytes may arrive in any pieces: here, one byte at a time.
//! let mut decoder = Decoder::new(Limits::default());
//! let mut frames = Vec::new();
//! for byte in &bytes {
//!     decoder.push(std::slice::from_ref(byte));
//!     while let Some(item) = decoder.next_item()? {
//!         if let Decoded::Frame(frame) = item {
//!             frames.push(frame);
//!         }
//!     }
//! }
//! let [frame] = &frames[..] else { panic!("one frame") };
//! assert_eq!(frame.header("note"), Some("a:b\nc"));
//! assert_eq!(frame.body, b"Hello World!");
//! // The encoder wrote the body's length, so a body may hold NUL bytes.
//! assert_eq!(frame.header("content-length"), Some("12"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decode;
mod encode;
mod frame;

pub use decode::{DecodeError, Decoded, Decoder, Limits};
pub use encode::{encode, encode_to_vec, escaped_len, EncodeError, HEARTBEAT_EOL};
pub use frame::{Command, Frame};
