//! The STOMP 1.2 client session, sans-IO.
//!
//! [`Session`] takes what arrived and the current time, and returns frames to send
//! and events for its user. It touches no browser API, opens no socket and reads
//! no clock, so it runs and is tested natively (modelled on quinn-proto).
//!
//! What it reports is typed: [`Event`]s (CONNECTED, MESSAGE, RECEIPT, ERROR, the
//! close), and for the close a [`CloseReason`] that says in words what happened
//! and which side it came from ([`Fault`]). [`Backoff`] and [`Reconnector`]
//! decide when to try again, and [`is_retryable`] whether to.

mod close;
mod credentials;
mod reconnect;
mod session;
mod types;

pub use credentials::{jwt_expiry, Credentials, CredentialsError, TokenExpired};
#[cfg(target_arch = "wasm32")]
pub(crate) use credentials::basic_auth_base64;
pub use reconnect::{is_retryable, Backoff, Jitter, ReconnectState, Reconnector};
pub use session::{Session, Subscribed, Subscription};
pub use close::{CloseCode, CloseReason, Fault, OptionsError, ProtocolError, ServerError, SocketClose, WEB_STOMP_DIED};
pub use types::{
    AckMode, ClientError, ConnectOptions, ConnectionInfo, Event, HeartBeat, LocalError, LostReceipt, Message,
    NotConnected, ReceiptId, Request, State, SubscriptionId, Transmit,
};
pub(crate) use types::whole_millis;
