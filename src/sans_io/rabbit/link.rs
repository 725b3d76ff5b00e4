//! One connection's protocol, sans-IO: the bytes a socket received go in, the bytes
//! to write come out, with a [`Channel`] (and its [`crate::client::Session`]) between.
//!
//! Both drivers use it: the browser transport for a single connection, and the
//! reliability core for each connection it opens. Neither decodes nor encodes itself.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::time::Duration;

use super::Channel;
use crate::client::{ConnectOptions, Event, Session, SocketClose, Transmit};
use crate::stomp::{encode, Decoded, Decoder, Limits};

/// Heart-beats exchanged on a link so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeartBeats {
    /// Heart-beats we sent.
    pub sent: u64,
    /// Heart-beats the broker sent (not counting the end-of-line it pads each frame with).
    pub received: u64,
}

/// A STOMP connection's protocol state: decoder, channel, and what to write next.
///
/// A driver hands it the socket's events and writes out what it returns:
///
/// ```
/// use std::time::Duration;
/// use burrow::client::{ConnectOptions, Event};
/// use burrow::rabbit::{BasicProperties, Link};
/// use burrow::stomp::Limits;
///
/// let mut link = Link::new(ConnectOptions::new("/"), Limits::default());
/// let mut out = Vec::new();
/// link.handle_open(Duration::ZERO); // the socket opened
/// link.write_transmits(&mut out);
/// assert!(out.starts_with(b"CONNECT\n"));
///
/// // RabbitMQ's answer, as one WebSocket message (it pads each frame with an LF).
/// link.handle_bytes(Duration::from_millis(3), b"CONNECTED\nversion:1.2\nserver:RabbitMQ/3.10.8\n\n\0\n");
/// let Some(Event::Connected(info)) = link.poll_event() else { panic!("connected") };
/// assert_eq!(info.server.as_deref(), Some("RabbitMQ/3.10.8"));
/// assert_eq!(link.heartbeats().received, 0, "the padding is not a heart-beat");
///
/// link.channel_mut().basic_publish("", "hello", b"hi".to_vec(), &BasicProperties::default(), false)?;
/// out.clear();
/// link.write_transmits(&mut out); // one buffer, for one socket send
/// assert!(out.starts_with(b"SEND\ndestination:/amq/queue/hello\n"));
/// # Ok::<(), burrow::rabbit::RabbitError>(())
/// ```
#[derive(Debug)]
pub struct Link {
    channel: Channel,
    decoder: Decoder,
    heartbeats: HeartBeats,
    /// Events of the link itself (an unencodable frame), reported before the session's.
    local_events: VecDeque<Event>,
}

impl Link {
    /// A link that will CONNECT with `options` once its socket opens, decoding
    /// within `limits`.
    pub fn new(options: ConnectOptions, limits: Limits) -> Self {
        Link {
            channel: Channel::new(Session::new(options)),
            decoder: Decoder::new(limits),
            heartbeats: HeartBeats::default(),
            local_events: VecDeque::new(),
        }
    }

    /// The RabbitMQ channel, for calls such as `basic_publish`.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// The RabbitMQ channel, mutably.
    pub fn channel_mut(&mut self) -> &mut Channel {
        &mut self.channel
    }

    /// The session underneath.
    pub fn session(&self) -> &Session {
        self.channel.session()
    }

    /// Heart-beats so far.
    pub fn heartbeats(&self) -> HeartBeats {
        self.heartbeats
    }

    /// Bytes of an unfinished frame received so far.
    pub fn unread(&self) -> usize {
        self.decoder.buffered()
    }

    /// The socket opened: send CONNECT.
    pub fn handle_open(&mut self, now: Duration) {
        self.channel.session_mut().connect(now);
    }

    /// One chunk the socket received (one WebSocket message).
    ///
    /// RabbitMQ ends every frame with NUL and one LF in the same message; that LF
    /// is padding, not a heart-beat, so the first end-of-line right after a frame
    /// in the same chunk is not counted. It would not matter for liveness (the frame
    /// itself showed the broker alive) but it made the heart-beat count meaningless.
    pub fn handle_bytes(&mut self, now: Duration, bytes: &[u8]) {
        self.decoder.push(bytes);
        let mut after_frame = false;
        loop {
            match self.decoder.next_item() {
                Ok(Some(Decoded::Frame(frame))) => {
                    after_frame = true;
                    self.channel.session_mut().handle_frame(now, frame);
                }
                Ok(Some(Decoded::HeartBeat)) if after_frame => after_frame = false,
                Ok(Some(Decoded::HeartBeat)) => {
                    self.heartbeats.received += 1;
                    self.channel.session_mut().handle_heartbeat(now);
                }
                Ok(None) => break,
                Err(error) => {
                    self.channel.session_mut().handle_protocol_error(now, error);
                    break;
                }
            }
        }
    }

    /// The socket closed.
    pub fn handle_closed(&mut self, now: Duration, mut closed: SocketClose) {
        closed.unread = closed.unread.max(self.decoder.buffered());
        self.channel.session_mut().handle_closed(now, closed);
    }

    /// The socket failed in a way that is not a close (it refused a send).
    pub fn handle_transport_error(&mut self, now: Duration, problem: String) {
        self.channel.session_mut().handle_transport_error(now, problem);
    }

    /// The time came that [`Link::poll_timeout`] asked for (or later).
    pub fn handle_timeout(&mut self, now: Duration) {
        self.channel.session_mut().handle_timeout(now);
    }

    /// When the link next needs [`Link::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.channel.session().poll_timeout()
    }

    /// Whether anything waits to be written.
    pub fn has_transmits(&self) -> bool {
        self.channel.session().has_transmits()
    }

    /// Appends every frame and heart-beat queued for the broker to `out`, encoded,
    /// so a driver can write them in one socket send. Returns how many bytes it added.
    pub fn write_transmits(&mut self, out: &mut Vec<u8>) -> usize {
        let start = out.len();
        while let Some(transmit) = self.channel.session_mut().poll_transmit() {
            match transmit {
                Transmit::HeartBeat => {
                    self.heartbeats.sent += 1;
                    out.push(b'\n');
                }
                Transmit::Frame(frame) => {
                    let before = out.len();
                    if let Err(error) = encode(&frame, out) {
                        // Frames are checked before they are queued; one that still
                        // cannot be encoded is our bug, reported rather than a panic.
                        out.truncate(before);
                        self.local_events.push_back(Event::LocalError(error.into()));
                    }
                }
            }
        }
        out.len() - start
    }

    /// The next event: the link's own, then the session's.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.local_events.pop_front().or_else(|| self.channel.session_mut().poll_event())
    }
}
