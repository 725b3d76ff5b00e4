//! STOMP 1.2 frame codec, sans-IO: bytes in, frames out, and back.
//!
//! Touches no browser API and does no I/O, so it runs and is tested natively.
//! [`Decoder`] turns a byte stream (split anyhow) into [`Decoded`] frames and
//! heart-beats; [`encode`] writes a [`Frame`] back to bytes.

mod decode;
mod encode;
mod frame;

pub use decode::{DecodeError, Decoded, Decoder, Limits};
pub use encode::{encode, encode_to_vec, EncodeError, HEARTBEAT_EOL};
pub use frame::{Command, Frame};
