//! Burrow: a RabbitMQ client that runs in the browser.
//!
//! Layers, each using only those listed before it:
//! - [`stomp`]: the STOMP 1.2 frame codec (sans-IO).
//! - [`client`]: the STOMP session state machine (sans-IO, time passed in).
//! - [`rabbit`]: pika's calls (`queue_declare`, `basic_publish`, ...) as STOMP (sans-IO).
//! - `transport`: the browser WebSocket driving the client (wasm only).
//! - `management`: RabbitMQ's management HTTP API from the browser (wasm only).
//! - `reliable`: a connection that reconnects, restores consumers and resends (wasm only).
//! - `ui`: the yew app and widget (wasm only).

#![warn(missing_docs)]

pub mod client;
pub mod rabbit;
pub mod reliable;
pub mod stomp;

#[cfg(target_arch = "wasm32")]
pub mod management;
#[cfg(target_arch = "wasm32")]
pub mod transport;
#[cfg(all(target_arch = "wasm32", feature = "ui"))]
pub mod ui;
#[cfg(all(target_arch = "wasm32", feature = "js"))]
pub mod js;
