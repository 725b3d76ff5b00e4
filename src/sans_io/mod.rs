//! The half that decides: no socket, no timer, no clock (time is passed in with
//! every call). Native and wasm; `cargo test` and the deterministic simulator
//! (`tests/simulation.rs`) reach all of it.
//!
//! `stomp` (frames ⇄ bytes) → `client` (the STOMP session) → `rabbit`
//! (RabbitMQ's meaning, pika's names) → `core` (the reliability core: every
//! decision of a connection that survives outages). Each uses only the ones
//! before it, and none knows about the browser.

pub mod client;
pub(crate) mod map;
pub(crate) mod text;
pub(crate) mod sort;
pub mod core;
pub mod rabbit;
pub mod stomp;
