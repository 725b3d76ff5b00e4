//! How a session ends: the broker's ERROR, the socket's close, and the reason in
//! words a user can act on.

use std::fmt;
use std::time::Duration;

use crate::stomp::{Command, DecodeError, Frame};
use super::credentials::{CredentialsError, TokenExpired};
use super::types::{whole_millis, ReceiptId, Seconds, SubscriptionId};

/// An ERROR frame from the broker, kept whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct ServerError {
    /// The `message` header: the broker's short description.
    pub message: Option<String>,
    /// The body: the broker's longer explanation (lossily decoded as UTF-8).
    pub body: String,
    /// The `receipt-id` header, when the error answers a request with a receipt.
    pub receipt_id: Option<ReceiptId>,
    /// All headers, in wire order.
    pub headers: Vec<(String, String)>,
}

impl ServerError {
    /// Builds the error from an ERROR frame.
    pub fn from_frame(frame: &Frame) -> Self {
        ServerError {
            message: frame.header("message").map(str::to_owned),
            body: String::from_utf8_lossy(&frame.body).into_owned(),
            receipt_id: frame.header("receipt-id").map(|r| ReceiptId(r.to_owned())),
            headers: frame.headers.clone(),
        }
    }

    /// The subscription RabbitMQ cancelled, when this is its notice: ERROR
    /// `Server cancelled subscription` with a `subscription` header (its queue was
    /// deleted). The connection stays open; only that subscription ends.
    pub fn cancelled_subscription(&self) -> Option<SubscriptionId> {
        if self.message.as_deref() != Some("Server cancelled subscription") {
            return None;
        }
        let sub = self.headers.iter().find(|(name, _)| name == "subscription")?;
        Some(SubscriptionId(sub.1.clone()))
    }

    /// Whether the error names an AMQP error (`not_found`, `precondition_failed`,
    /// `resource_locked`, …): RabbitMQ sends those when the request ended its
    /// channel, and the connection ends with it. Its own STOMP checks use words
    /// (`Unknown destination`, `Subscription not found`) and the session goes on.
    pub fn ends_connection(&self) -> bool {
        self.message
            .as_deref()
            .is_some_and(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
    }

    fn describe(&self) -> String {
        let body = self.body.trim();
        match (self.message.as_deref(), body.is_empty()) {
            (Some(m), true) => format!("the broker said: {m}"),
            (Some(m), false) => format!("the broker said: {m} ({body})"),
            (None, false) => format!("the broker said: {body}"),
            (None, true) => "the broker sent an ERROR without a message".to_owned(),
        }
    }
}

/// How the connection underneath a session closed, as the browser reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketClose {
    /// The WebSocket close code (1006: no close frame at all).
    pub code: u16,
    /// The close frame's reason text.
    pub reason: String,
    /// Bytes of an unfinished frame that were lost with the connection.
    pub unread: usize,
}

/// The reason RabbitMQ's Web-STOMP gives when it ends a session itself, refusals
/// included (3.10.8 may drop the ERROR frame that should come first).
pub const WEB_STOMP_DIED: &str = "STOMP died";

/// Which side a failure came from, so a user knows where to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The network or the socket: nothing was refused, the link just went.
    Network,
    /// The broker refused or ended the session on purpose.
    Broker,
    /// Burrow's own limits or options refused it before anything was sent.
    Local,
    /// The user asked for it.
    User,
}

impl SocketClose {
    /// A close with this code and reason and nothing lost mid-frame.
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        SocketClose { code, reason: reason.into(), unread: 0 }
    }

    /// Whether the broker ended the session on purpose (Web-STOMP's "STOMP died",
    /// after a refusal it may not have explained), rather than the network dropping it.
    pub fn by_broker(&self) -> bool {
        self.reason == WEB_STOMP_DIED
    }
}

impl std::error::Error for SocketClose {}

impl fmt::Display for SocketClose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (code, reason) = (self.code, self.reason.as_str());
        match reason {
            WEB_STOMP_DIED => write!(f, "RabbitMQ ended the session (code {code}, \"{WEB_STOMP_DIED}\")")?,
            // The browser's code for "no close frame": nothing listens there, the
            // network dropped, or the broker went away.
            _ if code == 1006 => f.write_str(
                "the connection failed or dropped without a goodbye (code 1006): is the broker running, and is the URL right?",
            )?,
            "" => write!(f, "the WebSocket closed (code {code})")?,
            _ => write!(f, "the WebSocket closed (code {code}): {reason}")?,
        }
        if self.unread > 0 {
            write!(f, ", in the middle of a frame ({} bytes of it were lost)", self.unread)?;
        }
        Ok(())
    }
}

/// Why a session ended, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloseReason {
    /// We sent DISCONNECT and the broker confirmed it.
    #[error("disconnected")]
    Disconnected,
    /// The broker refused CONNECT (credentials, virtual host): retrying gets the same.
    #[error("{0}")]
    ConnectRefused(#[source] ServerError),
    /// The broker sent ERROR after CONNECTED and closed the connection.
    #[error("{0}")]
    ServerError(#[source] ServerError),
    /// The WebSocket closed underneath the session.
    #[error("{0}")]
    Socket(#[source] SocketClose),
    /// CONNECTED did not come in time.
    #[error("the broker did not answer CONNECT within {}", Seconds(*.0))]
    ConnectTimeout(Duration),
    /// Nothing arrived from the broker for longer than the heart-beat allows.
    #[error("the broker went silent: nothing received for {} ms (heart-beat every {} ms)", whole_millis(*.silent_for), whole_millis(*.interval))]
    HeartBeatTimeout {
        /// How long nothing arrived.
        silent_for: Duration,
        /// The negotiated interval the broker promised.
        interval: Duration,
    },
    /// The broker sent bytes that are not STOMP, or frames out of order.
    #[error("the broker sent a malformed frame: {0}")]
    Protocol(#[source] ProtocolError),
    /// DISCONNECT was sent and its receipt did not come within
    /// [`ConnectOptions::disconnect_timeout`](crate::client::ConnectOptions::disconnect_timeout).
    #[error("the broker did not confirm DISCONNECT within {}", Seconds(*.0))]
    DisconnectTimeout(Duration),
    /// The connection failed underneath for another reason, in the browser's words
    /// (a send the socket refused, the connection value dropped while waiting).
    #[error("{0}")]
    Transport(String),
    /// The connect options cannot be sent (for example, a line break in the login).
    #[error("invalid connect options: {0}")]
    InvalidOptions(#[source] OptionsError),
    /// No credentials for this attempt: the credentials provider failed or took
    /// too long (no socket was opened). Retried with the backoff.
    #[error("{0}")]
    Credentials(#[source] CredentialsError),
    /// The broker refused CONNECT, and the token sent as the passcode had expired.
    #[error("{0}")]
    // Boxed: the ERROR frame it carries would make every CloseReason larger.
    TokenExpired(#[source] Box<TokenExpired>),
}

/// What made the broker's stream unusable ([`CloseReason::Protocol`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The bytes are not a STOMP frame; the decoder says exactly why.
    #[error("{0}")]
    Decode(#[from] DecodeError),
    /// A frame only a client sends (such as SEND) came from the broker.
    #[error("a client frame ({0}) came from the broker")]
    ClientFrame(Command),
    /// A second CONNECTED.
    #[error("CONNECTED arrived twice")]
    ConnectedTwice,
    /// CONNECTED's `heart-beat` header is not `<ms>,<ms>`; the header as it came.
    #[error("bad heart-beat header {}", crate::sans_io::text::Quoted(.0))]
    BadHeartBeat(String),
    /// A MESSAGE lacks its `subscription` or `destination` header.
    #[error("a MESSAGE without subscription or destination header")]
    MessageWithoutDestination,
    /// A RECEIPT lacks its `receipt-id` header.
    #[error("a RECEIPT without receipt-id")]
    ReceiptWithoutId,
}

/// Connect options that cannot be used ([`CloseReason::InvalidOptions`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// CONNECT's headers are not escaped (for STOMP 1.0 brokers), so this field
    /// (`host`, `login` or `passcode`) cannot hold a line break or NUL.
    #[error("the {0} contains a line break or NUL")]
    ControlCharacter(&'static str),
    /// No Web-STOMP URL was given.
    #[error("no Web-STOMP URL to connect to")]
    NoUrl,
}

/// The WebSocket close code and reason to close with ([`CloseReason::socket_code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CloseCode {
    /// 1000, or 4000–4999 for Burrow's own reasons (browsers refuse 1002 and
    /// other protocol codes from a page).
    pub code: u16,
    /// A short reason (under the 123 bytes a close frame allows).
    pub reason: &'static str,
}

impl CloseReason {
    /// Which side ended the session.
    pub fn fault(&self) -> Fault {
        match self {
            CloseReason::Disconnected => Fault::User,
            CloseReason::ConnectRefused(_) | CloseReason::ServerError(_) | CloseReason::TokenExpired(_) => Fault::Broker,
            CloseReason::Socket(close) if close.by_broker() => Fault::Broker,
            CloseReason::Socket(_)
            | CloseReason::Transport(_)
            | CloseReason::DisconnectTimeout(_)
            | CloseReason::ConnectTimeout(_)
            | CloseReason::HeartBeatTimeout { .. } => Fault::Network,
            // A malformed frame is the broker's (or a proxy's) doing, not a refusal.
            CloseReason::Protocol(_) => Fault::Network,
            CloseReason::InvalidOptions(_) | CloseReason::Credentials(_) => Fault::Local,
        }
    }

    /// The broker's ERROR behind this close, if one arrived.
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            CloseReason::ConnectRefused(error) | CloseReason::ServerError(error) => Some(error),
            CloseReason::TokenExpired(expired) => Some(&expired.refused),
            _ => None,
        }
    }

    /// The WebSocket close code to close with when the session, not the socket,
    /// ended it: browsers only allow 1000 and 3000–4999 from a page.
    pub fn socket_code(&self) -> CloseCode {
        let (code, reason) = match self {
            CloseReason::Protocol(_) => (4002, "malformed STOMP frame"),
            CloseReason::HeartBeatTimeout { .. } => (4001, "broker went silent"),
            CloseReason::ConnectTimeout(_) => (4003, "no CONNECTED in time"),
            _ => (1000, ""),
        };
        CloseCode { code, reason }
    }
}
