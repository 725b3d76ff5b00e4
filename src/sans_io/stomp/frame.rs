//! The STOMP 1.2 frame: a command, ordered headers and a binary body.

use std::fmt;

/// Every command of STOMP 1.2, client and server side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// Client: open a session (the 1.0 spelling, kept for older brokers).
    Connect,
    /// Client: open a session (the 1.2 spelling).
    Stomp,
    /// Server: the session is open.
    Connected,
    /// Client: send a message to a destination.
    Send,
    /// Client: subscribe to a destination.
    Subscribe,
    /// Client: end a subscription.
    Unsubscribe,
    /// Client: acknowledge a message.
    Ack,
    /// Client: refuse a message.
    Nack,
    /// Client: start a transaction.
    Begin,
    /// Client: commit a transaction.
    Commit,
    /// Client: roll back a transaction.
    Abort,
    /// Client: close the session gracefully.
    Disconnect,
    /// Server: a message delivered to a subscription.
    Message,
    /// Server: confirmation that a client frame with a `receipt` header was processed.
    Receipt,
    /// Server: something went wrong; the server closes the connection after it.
    Error,
}

impl Command {
    /// All commands, in the order of the spec.
    pub const ALL: [Command; 15] = [
        Command::Connect,
        Command::Stomp,
        Command::Connected,
        Command::Send,
        Command::Subscribe,
        Command::Unsubscribe,
        Command::Ack,
        Command::Nack,
        Command::Begin,
        Command::Commit,
        Command::Abort,
        Command::Disconnect,
        Command::Message,
        Command::Receipt,
        Command::Error,
    ];

    /// The command as it is written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Connect => "CONNECT",
            Command::Stomp => "STOMP",
            Command::Connected => "CONNECTED",
            Command::Send => "SEND",
            Command::Subscribe => "SUBSCRIBE",
            Command::Unsubscribe => "UNSUBSCRIBE",
            Command::Ack => "ACK",
            Command::Nack => "NACK",
            Command::Begin => "BEGIN",
            Command::Commit => "COMMIT",
            Command::Abort => "ABORT",
            Command::Disconnect => "DISCONNECT",
            Command::Message => "MESSAGE",
            Command::Receipt => "RECEIPT",
            Command::Error => "ERROR",
        }
    }

    /// Parses a wire command; `None` for anything the spec does not define.
    pub fn from_bytes(bytes: &[u8]) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.as_str().as_bytes() == bytes)
    }

    /// CONNECT and CONNECTED headers are never escaped (STOMP 1.2, "Value Encoding"),
    /// so that 1.0 peers can read them.
    pub fn escapes_headers(self) -> bool {
        !matches!(self, Command::Connect | Command::Stomp | Command::Connected)
    }

    /// Only SEND, MESSAGE and ERROR may carry a body.
    pub fn allows_body(self) -> bool {
        matches!(self, Command::Send | Command::Message | Command::Error)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One STOMP frame. Headers keep their order and may repeat; per the spec the first
/// occurrence of a repeated header is the one that counts.
///
/// ```
/// use burrow::stomp::{Command, Frame};
///
/// let frame = Frame::new(Command::Send)
///     .with_header("destination", "/amq/queue/hello")
///     .with_header("priority", "1")
///     .with_header("priority", "9")
///     .with_body("水续传");
/// assert_eq!(frame.header("priority"), Some("1"), "the first one counts");
/// assert_eq!(frame.body_text(), Some("水续传"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The frame's command.
    pub command: Command,
    /// Headers in wire order, already unescaped.
    pub headers: Vec<(String, String)>,
    /// The body, binary-safe (it may contain NUL bytes when `content-length` is set).
    pub body: Vec<u8>,
}

impl Frame {
    /// A frame with no headers and an empty body.
    pub fn new(command: Command) -> Self {
        Frame { command, headers: Vec::new(), body: Vec::new() }
    }

    /// Appends a header (builder style).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body (builder style).
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The value of the first header with this name, as the spec says repeated headers resolve.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text, if it is valid UTF-8.
    pub fn body_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }
}
