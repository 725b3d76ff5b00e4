//! Burrow: a RabbitMQ client that runs in the browser.
//!
//! Burrow speaks STOMP 1.2 over a WebSocket to RabbitMQ's Web-STOMP plugin and
//! calls things by pika's names (`queue_declare`, `basic_publish`, `basic_consume`,
//! `basic_ack`), so the RabbitMQ tutorial reads the same. It is written for
//! `wasm32-unknown-unknown`; everything that decides is sans-IO (no socket, no
//! timer, no clock) and also builds, and is tested, natively.
//!
//! # Layers
//!
//! Two halves: the sans-IO layers (`stomp`, `client`, `rabbit`, and the core of
//! `reliable`) decide everything, take the time with each call and use only the
//! layers above them; the browser half (the driver in `reliable`, `transport`,
//! `management`, `ui`, `js`) carries their decisions out and decides nothing.
//!
//! | module | what it does | runs on |
//! |---|---|---|
//! | [`stomp`] | the STOMP 1.2 frame codec: [`stomp::Decoder`] (bytes in any split → frames and heart-beats), [`stomp::encode`] | native and wasm |
//! | [`client`] | the STOMP session, [`client::Session`]: CONNECT, heart-beats, receipts, subscriptions, ACK/NACK, typed close reasons; [`client::Backoff`] | native and wasm |
//! | [`rabbit`] | RabbitMQ's meaning with pika's names: [`rabbit::Channel`], [`rabbit::Link`] (a channel with its decoder), [`rabbit::Outbox`], [`rabbit::Delivery`], typed refusals | native and wasm |
//! | [`reliable`] | [`reliable::Core`], every decision of a connection that survives outages (sans-IO); in the browser, [`ReliableConnection`], the one driver, carries them out (a plain one-off connection is the same with reconnects off) | core: both; driver: wasm |
//! | `transport` | the browser's WebSocket, the worker tick and the clock, for the driver | wasm |
//! | `management` | RabbitMQ's management HTTP API by `fetch` | wasm |
//! | `ui` | the yew app and the embeddable widget (feature `ui`) | wasm |
//! | `js` | the JavaScript/TypeScript API of the npm package (feature `js`) | wasm |
//!
//! # The reliable connection in 20 lines
//!
//! [`ReliableConnection`] is what a pika program's connection and channel become:
//! it reconnects with backoff, resubscribes its consumers and resends what RabbitMQ
//! did not confirm. A consumer is a [`Stream`] of deliveries that ack themselves
//! on the connection they came on; a publish returns a future that resolves on
//! RabbitMQ's confirm. (wasm only; `examples/plain_page/flows.rs` runs the
//! tutorial's four flows this way, and a browser test runs that code.)
//!
//! ```ignore
//! use burrow::client::ConnectOptions;
//! use burrow::rabbit::{BasicProperties, QueueOptions};
//! use burrow::reliable::{ConsumeOptions, ReliableConnection, ReliableOptions};
//! use futures_util::StreamExt;
//!
//! async fn hello() -> Result<(), Box<dyn std::error::Error>> {
//!     let options = ConnectOptions::new("/").with_credentials("burrow", "burrow");
//!     let url = "ws://127.0.0.1:15674/ws";
//!     let connection = ReliableConnection::start(url, options, ReliableOptions::default())?;
//!     connection.queue_declare("hello", &QueueOptions::default()).await?;
//!     // The outbox takes the message; the returned future resolves on RabbitMQ's confirm.
//!     let confirm = connection.basic_publish("", "hello", "Hello World!".into(), &BasicProperties::default()).await?;
//!     confirm.await?;
//!     let mut consumer = connection.basic_consume("hello", ConsumeOptions::default())?;
//!     while let Some(delivery) = consumer.next().await {
//!         let delivery = delivery?; // a consumer the broker refused ends with why
//!         println!("{} (maybe a second copy: {})", delivery.body_text(), delivery.possibly_duplicate());
//!         delivery.ack()?; // on its own connection; a stale one is refused, typed
//!     }
//!     Ok(())
//! }
//! ```
//!
//! # Without a browser
//!
//! The sans-IO layers take bytes and times and return bytes and events, so they
//! run (and are tested) anywhere. A session, fed the broker's answer by hand:
//!
//! ```
//! use std::time::Duration;
//! use burrow::client::{ConnectOptions, Event, Session, Transmit};
//! use burrow::stomp::{Command, Frame};
//!
//! let mut session = Session::new(ConnectOptions::new("/").with_credentials("burrow", "burrow"));
//! session.connect(Duration::ZERO);
//! let Some(Transmit::Frame(connect)) = session.poll_transmit() else { panic!("CONNECT first") };
//! assert_eq!(connect.command, Command::Connect);
//!
//! let connected = Frame::new(Command::Connected).with_header("version", "1.2");
//! session.handle_frame(Duration::from_millis(5), connected);
//! assert!(matches!(session.poll_event(), Some(Event::Connected(_))));
//! ```
//!
//! # Features
//!
//! - `ui` (default): the yew app and the embeddable widget (`ui`). Turn it off
//!   (`burrow = { version = "0.1", default-features = false }`) for the client alone:
//!   no yew is compiled in.
//! - `js`: the wasm half of the npm package's JavaScript/TypeScript API (`js`),
//!   which `./burrow package` builds together with the package's own modules
//!   (`src/browser/js/npm/`: `connect`, `Connection`, `Message`; see
//!   `docs/npm-README.md`). Its glue imports those modules, so it is for that
//!   package only.
//!
//! # More
//!
//! - `docs/rust.md`: pika → Burrow with the frames sent, the reliable
//!   connection, quorum queues, streams and a cluster; `docs/webstomp.md`: where
//!   Web-STOMP differs from AMQP, the bad inputs and what each shows.
//! - `docs/ARCHITECTURE.md`: the layers, who calls whom, and the reliability
//!   core's invariants (checked by a deterministic simulation).
//! - `examples/plain_page` and `examples/yew_app`: two pages on the library alone
//!   (`./burrow example plain_page`).
//!
//!
//! # The browser types
//!
//! [`ReliableConnection`] and its `Consumer`, `Delivery` and `PublishConfirm`, the
//! management client and the UI exist only in the wasm build; their documentation
//! is built for that target:
//! `cargo doc --target wasm32-unknown-unknown --no-default-features --open`.
//!
//! [`Stream`]: https://docs.rs/futures-core/latest/futures_core/stream/trait.Stream.html
#![cfg_attr(
    target_arch = "wasm32",
    doc = "[`ReliableConnection`]: reliable::ReliableConnection"
)]
// Natively the type does not exist: the link goes to the section above that says
// how to see it.
#![cfg_attr(not(target_arch = "wasm32"), doc = "[`ReliableConnection`]: #the-browser-types")]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod sans_io;
#[cfg(target_arch = "wasm32")]
mod browser;

pub use sans_io::{client, rabbit, stomp};

/// A connection that survives outages: it reconnects with backoff, restores its
/// consumers, and republishes from a bounded outbox whatever was not confirmed.
///
/// The decisions live in the sans-IO [`Core`](reliable::Core) (native and wasm, tested by a
/// deterministic simulation); in the browser, `ReliableConnection` only drives it
/// with a WebSocket and timers. Delivery is at-least-once: a message may arrive
/// twice, and every such second copy is marked
/// ([`crate::rabbit::Delivery::possibly_duplicate`]).
///
/// In the browser (wasm), the API is lapin's shape with pika's names:
/// `ReliableConnection::basic_consume` gives a `Consumer`, a `Stream` of
/// `Delivery`s that ack themselves (`delivery.ack()`) on the connection they
/// came on; `ReliableConnection::basic_publish` gives a `PublishConfirm`, a
/// future that resolves on RabbitMQ's confirm. See the crate root for an example.
pub mod reliable {
    pub use crate::sans_io::core::*;

    #[cfg(target_arch = "wasm32")]
    pub use crate::browser::driver::{
        AckHandle, CallReply, Consumer, CredentialsProvider, Delivery, OutboxStatus, PublishConfirm, ReliableConnection,
        StartError,
    };
}

#[cfg(target_arch = "wasm32")]
pub use browser::{management, transport};
#[cfg(all(target_arch = "wasm32", feature = "js"))]
pub use browser::js;
#[cfg(all(target_arch = "wasm32", feature = "ui"))]
pub use browser::ui;
