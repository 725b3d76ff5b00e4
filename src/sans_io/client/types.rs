//! The values the session takes and gives: options, ids, events, errors.

use std::fmt;
use std::time::Duration;

use super::close::{CloseReason, ServerError};
use crate::stomp::{EncodeError, Frame};

/// How CONNECT introduces us.
///
/// ```
/// use std::time::Duration;
/// use burrow::client::{ConnectOptions, HeartBeat};
///
/// // pika.ConnectionParameters(virtual_host="/", credentials=PlainCredentials("burrow", "burrow"))
/// let mut options = ConnectOptions::new("/").with_credentials("burrow", "burrow");
/// options.heart_beat = HeartBeat::both(Duration::from_secs(30));
/// options.connect_timeout = Duration::from_secs(5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// The virtual host, sent as the `host` header (RabbitMQ's default is `/`).
    pub host: String,
    /// The user name, sent as `login`.
    pub login: Option<String>,
    /// The password, sent as `passcode`. Kept in memory only.
    pub passcode: Option<String>,
    /// Our heart-beat offer: we can send every `outgoing`, we want to hear from
    /// the broker every `incoming` (STOMP's `cx,cy`). Zero means "not at all" on
    /// that side.
    pub heart_beat: HeartBeat,
    /// How long to wait for CONNECTED after CONNECT.
    pub connect_timeout: Duration,
    /// How long to wait for the RECEIPT of DISCONNECT before giving up on it.
    pub disconnect_timeout: Duration,
}

impl ConnectOptions {
    /// Options for `vhost` with no credentials, a 10 s heart-beat both ways and a
    /// 10 s connect timeout.
    pub fn new(vhost: impl Into<String>) -> Self {
        ConnectOptions {
            host: vhost.into(),
            login: None,
            passcode: None,
            heart_beat: HeartBeat::both(Duration::from_secs(10)),
            connect_timeout: Duration::from_secs(10),
            disconnect_timeout: Duration::from_secs(5),
        }
    }

    /// Sets login and passcode (builder style).
    pub fn with_credentials(mut self, login: impl Into<String>, passcode: impl Into<String>) -> Self {
        self.login = Some(login.into());
        self.passcode = Some(passcode.into());
        self
    }
}

/// What the broker told us in CONNECTED, and the heart-beats we agreed on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectionInfo {
    /// The protocol version the broker chose (`1.2`).
    pub version: String,
    /// The broker's `server` header, such as `RabbitMQ/3.10.8`.
    pub server: Option<String>,
    /// The broker's `session` header.
    pub session: Option<String>,
    /// The negotiated intervals: we send every `outgoing`, the broker every
    /// `incoming`; zero is off.
    pub heart_beat: HeartBeat,
}

/// Heart-beat intervals, one per direction (STOMP's `heart-beat:cx,cy`). Zero
/// turns that direction off.
///
/// In [`ConnectOptions`] it is our offer; in [`ConnectionInfo`] what was agreed
/// (each side's interval is the larger of what one side offers and the other
/// wants, or off if either says zero).
///
/// ```
/// use std::time::Duration;
/// use burrow::client::{ConnectOptions, HeartBeat};
///
/// let mut options = ConnectOptions::new("/");
/// assert_eq!(options.heart_beat, HeartBeat::both(Duration::from_secs(10)));
/// // The browser sends none; it still wants to hear from the broker every 10 s.
/// options.heart_beat.outgoing = Duration::ZERO;
/// assert_eq!(options.heart_beat.to_string(), "0,10000");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HeartBeat {
    /// How often we send (STOMP's `cx`); zero: we send none.
    pub outgoing: Duration,
    /// How often we want to hear from the broker (STOMP's `cy`); zero: we need not.
    pub incoming: Duration,
}

impl HeartBeat {
    /// No heart-beats either way.
    pub const OFF: HeartBeat = HeartBeat { outgoing: Duration::ZERO, incoming: Duration::ZERO };

    /// `outgoing` and `incoming` as given.
    pub const fn new(outgoing: Duration, incoming: Duration) -> Self {
        HeartBeat { outgoing, incoming }
    }

    /// The same interval both ways.
    pub const fn both(interval: Duration) -> Self {
        HeartBeat { outgoing: interval, incoming: interval }
    }
}

impl fmt::Display for HeartBeat {
    /// The header value: `outgoing,incoming` in milliseconds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", whole_millis(self.outgoing), whole_millis(self.incoming))
    }
}

/// Where the session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Created; [`crate::client::Session::connect`] not called yet.
    Idle,
    /// CONNECT sent, CONNECTED not yet received.
    Connecting,
    /// CONNECTED received.
    Connected(ConnectionInfo),
    /// DISCONNECT sent, waiting for its receipt.
    Disconnecting,
    /// Over, for this reason.
    Closed(CloseReason),
}

/// A subscription's id, as sent in SUBSCRIBE's `id` header and echoed in MESSAGE's
/// `subscription` header.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(pub String);

impl fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A receipt's id, as sent in a `receipt` header and echoed in RECEIPT's `receipt-id`.
/// Ids sort in the order they were made (`receipt-9` before `receipt-10`: shorter
/// first, then by text), so maps by receipt add at the back and take from the front.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReceiptId(pub String);

impl Ord for ReceiptId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        crate::sans_io::text::shortlex(&self.0, &other.0)
    }
}

impl PartialOrd for ReceiptId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ReceiptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// SUBSCRIBE's `ack` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AckMode {
    /// The broker considers a message acknowledged once sent (pika's `auto_ack=True`).
    Auto,
    /// ACK acknowledges this message and all earlier ones of the subscription.
    Client,
    /// ACK acknowledges exactly one message (pika's `basic_ack` without `multiple`).
    ClientIndividual,
}

impl AckMode {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            AckMode::Auto => "auto",
            AckMode::Client => "client",
            AckMode::ClientIndividual => "client-individual",
        }
    }
}

/// What a request with a receipt was, so a RECEIPT can be told apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// SEND to this destination.
    Send {
        /// The destination.
        destination: String,
    },
    /// SUBSCRIBE.
    Subscribe(SubscriptionId),
    /// UNSUBSCRIBE.
    Unsubscribe(SubscriptionId),
    /// ACK of this `ack` id.
    Ack(String),
    /// NACK of this `ack` id.
    Nack(String),
    /// BEGIN of this transaction.
    Begin(String),
    /// COMMIT of this transaction.
    Commit(String),
    /// ABORT of this transaction.
    Abort(String),
    /// DISCONNECT.
    Disconnect,
}

/// A MESSAGE frame, with the headers every MESSAGE has taken out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The subscription it was delivered to.
    pub subscription: SubscriptionId,
    /// The destination it was sent to.
    pub destination: String,
    /// The broker's `message-id`.
    pub message_id: String,
    /// The id to ACK or NACK it by; present when the subscription is not `auto`.
    pub ack: Option<String>,
    /// All headers, in wire order (including the ones above).
    pub headers: Vec<(String, String)>,
    /// The body, byte for byte.
    pub body: Vec<u8>,
}

impl Message {
    /// The first header with this name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// What the session reports to its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// CONNECTED arrived.
    Connected(ConnectionInfo),
    /// A MESSAGE arrived.
    Message(Message),
    /// A RECEIPT arrived for this request.
    Receipt {
        /// The receipt's id.
        id: ReceiptId,
        /// What it confirms.
        request: Request,
    },
    /// An ERROR frame arrived. RabbitMQ closes the connection after most; when it
    /// does, [`Event::Closed`] follows with the same error as its reason.
    Error(ServerError),
    /// These requests asked for a receipt and the session closed before it came:
    /// the broker may or may not have acted on them. Oldest first.
    ReceiptsLost(Vec<LostReceipt>),
    /// The session is over.
    Closed(CloseReason),
    /// Something on our side went wrong that is not the broker's doing; the
    /// session goes on.
    LocalError(LocalError),
}

/// A request whose receipt never came ([`Event::ReceiptsLost`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostReceipt {
    /// The receipt it asked for.
    pub id: ReceiptId,
    /// What it was.
    pub request: Request,
}

/// Something that went wrong on our side without ending the session ([`Event::LocalError`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalError {
    /// A call the session could not take (such as a second [`crate::client::Session::connect`]).
    #[error("{0}")]
    Client(#[from] ClientError),
    /// A RECEIPT for an id we never sent (or gave up on).
    #[error("a RECEIPT for unknown id {0}")]
    UnknownReceipt(ReceiptId),
    /// A queued frame could not be encoded, so it was not sent. Frames are
    /// checked before they are queued; this is reported rather than a panic.
    #[error("{0}")]
    Unencodable(#[from] EncodeError),
}

/// What the session wants written to the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    /// A frame to encode and send.
    Frame(Frame),
    /// A heart-beat: a single end-of-line.
    HeartBeat,
}

/// A request the session cannot take in its current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// Only a connected session sends frames.
    #[error("not connected ({0})")]
    NotConnected(#[source] NotConnected),
    /// [`crate::client::Session::connect`] was already called.
    #[error("connect was already called on this session")]
    AlreadyStarted,
    /// No subscription with this id.
    #[error("no subscription with id {0}")]
    UnknownSubscription(SubscriptionId),
    /// The caller passed a header the session sets itself.
    #[error("the header {} is set by Burrow and cannot be given", crate::sans_io::text::Quoted(.0))]
    ReservedHeader(String),
    /// A request made with a receipt came back without one: a bug in Burrow,
    /// reported rather than a panic.
    #[error("a request sent with a receipt has no receipt id")]
    MissingReceipt,
}

/// Where a session was when it could not take a request ([`ClientError::NotConnected`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotConnected {
    /// [`crate::client::Session::connect`] was not called.
    #[error("connect was not called")]
    NotStarted,
    /// CONNECT was sent; CONNECTED has not come yet.
    #[error("still connecting")]
    Connecting,
    /// DISCONNECT was sent.
    #[error("disconnecting")]
    Disconnecting,
    /// The session is over, for this reason.
    #[error("closed: {0}")]
    Closed(#[source] CloseReason),
}

/// Whole milliseconds (`Duration::as_millis`, saturating at `u64::MAX`) as a u64:
/// formatting a u128 would add its Display and division to every wasm build.
pub(crate) fn whole_millis(duration: Duration) -> u64 {
    duration.as_secs().saturating_mul(1000).saturating_add(u64::from(duration.subsec_millis()))
}

/// A duration in seconds for messages, with tenths when not whole ("10 s", "2.5 s"),
/// without float formatting (which would add its tables to every wasm build).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seconds(pub(crate) Duration);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenths = whole_millis(self.0) / 100;
        match tenths % 10 {
            0 => write!(f, "{} s", tenths / 10),
            part => write!(f, "{}.{part} s", tenths / 10),
        }
    }
}
