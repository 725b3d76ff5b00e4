//! The half that carries out (wasm only): the browser's WebSocket, its timers
//! and clock (`transport`), the one driver that feeds the sans-IO core and
//! drains it (`driver`), RabbitMQ's management HTTP API over `fetch`
//! (`management`), the JavaScript API (`js`) and the yew UI (`ui`). Nothing
//! here decides what the protocol does next; everything it does is asked for by
//! `crate::sans_io`.

pub mod driver;
pub mod management;
pub mod transport;

#[cfg(feature = "js")]
pub mod js;
#[cfg(feature = "ui")]
pub mod ui;
