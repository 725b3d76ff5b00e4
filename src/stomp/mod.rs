//! STOMP 1.2 frame codec, sans-IO: bytes in, frames out, and back.
//!
//! Touches no browser API and does no I/O, so it runs and is tested natively.

mod frame;

pub use frame::{Command, Frame};
