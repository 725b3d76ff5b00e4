//! A connection that survives outages: it reconnects with backoff, restores its
//! consumers, and republishes from a bounded outbox whatever was not confirmed.
//!
//! The decisions live in the sans-IO [`Core`] (native and wasm, tested by a
//! deterministic simulation); in the browser, `ReliableConnection` only drives it
//! with a WebSocket and timers. Delivery is at-least-once: a message may arrive
//! twice, and every such second copy is marked
//! ([`crate::rabbit::Delivery::possibly_duplicate`]).
//!
//! In the browser (wasm), the API is lapin's shape with pika's names:
//! `ReliableConnection::basic_consume` gives a `Consumer`, a `Stream` of
//! `Delivery`s that ack themselves (`delivery.ack()`) on the connection they
//! came on; `ReliableConnection::basic_publish` gives a `PublishConfirm`, a
//! future that resolves on RabbitMQ's confirm. See the crate root for an example.

mod core;
#[cfg(target_arch = "wasm32")]
mod driver;
mod pacer;

pub use self::pacer::{Pacer, Pacing};

#[cfg(target_arch = "wasm32")]
pub use self::driver::{
    AckHandle, ConnectionEvent, Consumer, Delivery, OutboxStatus, PublishConfirm, ReliableConnection, StartError,
};

pub use self::core::{
    parse_urls, AckError, Acker, Action, ConsumeError, ConsumeOptions, ConsumerKey, Core, DeclareError, DeclareId,
    LinkId, Phase, PublishError, ReliableEvent, ReliableOptions, StopReason, Warning, Window,
};
