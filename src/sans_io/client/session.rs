//! The STOMP session state machine.

use std::collections::VecDeque;
use crate::sans_io::map::Map;
use crate::sans_io::text::parse_u64;
use std::time::Duration;

use crate::stomp::{Command, DecodeError, Frame};

use super::close::*;
use super::types::*;

// The requests a session makes (SEND, SUBSCRIBE, ACK, transactions, DISCONNECT).
mod requests;

/// A subscription as it was made, kept so it can be listed (and later restored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Its id.
    pub id: SubscriptionId,
    /// What it subscribes to.
    pub destination: String,
    /// Its ack mode.
    pub ack: AckMode,
    /// The extra headers it was made with (for RabbitMQ: `prefetch-count`, queue properties).
    pub headers: Vec<(String, String)>,
}

/// What [`Session::subscribe`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribed {
    /// The new subscription's id (MESSAGE frames carry it as `subscription`).
    pub id: SubscriptionId,
    /// The receipt that will confirm it, when one was asked for.
    pub receipt: Option<ReceiptId>,
}

/// A STOMP 1.2 client session, sans-IO.
///
/// Feed it what arrives ([`Session::handle_frame`], [`Session::handle_heartbeat`],
/// [`Session::handle_closed`]) and the time when it asked to be woken
/// ([`Session::handle_timeout`]); drain what it wants sent ([`Session::poll_transmit`])
/// and what it reports ([`Session::poll_event`]); ask when to wake it next
/// ([`Session::poll_timeout`]). It never reads a clock: `now` is any monotonic
/// time, the same origin throughout.
///
/// A whole exchange, with the broker played by hand:
///
/// ```
/// use std::time::Duration;
/// use burrow::client::{AckMode, CloseReason, ConnectOptions, Event, HeartBeat, Session, Transmit};
/// use burrow::stomp::{Command, Frame};
///
/// let ms = Duration::from_millis;
/// let mut options = ConnectOptions::new("/").with_credentials("burrow", "burrow");
/// options.heart_beat = HeartBeat::new(ms(0), ms(1000)); // we want to hear from the broker each second
/// let mut session = Session::new(options);
///
/// // The socket opened: CONNECT goes out.
/// session.connect(ms(0));
/// assert!(matches!(session.poll_transmit(), Some(Transmit::Frame(f)) if f.command == Command::Connect));
///
/// // The broker accepts, and promises a heart-beat every second.
/// let connected = Frame::new(Command::Connected).with_header("version", "1.2").with_header("heart-beat", "1000,0");
/// session.handle_frame(ms(10), connected);
/// let Some(Event::Connected(info)) = session.poll_event() else { panic!("connected") };
/// assert_eq!(info.heart_beat.incoming, ms(1000));
///
/// // Subscribe; a MESSAGE for it arrives and is acknowledged.
/// let subscribed = session.subscribe(ms(15), "/amq/queue/hello", AckMode::ClientIndividual, vec![], false)?;
/// let message = Frame::new(Command::Message)
///     .with_header("subscription", subscribed.id.0.clone())
///     .with_header("destination", "/amq/queue/hello")
///     .with_header("message-id", "m-1")
///     .with_header("ack", "T-1")
///     .with_body("Hello World!");
/// session.handle_frame(ms(20), message);
/// let Some(Event::Message(message)) = session.poll_event() else { panic!("a message") };
/// session.ack(ms(20), message.ack.as_deref().unwrap_or_default(), None, false)?;
///
/// // Then the broker goes silent: after twice its interval, the session says so.
/// assert_eq!(session.poll_timeout(), Some(ms(2020)));
/// session.handle_timeout(ms(2020));
/// let closed = std::iter::from_fn(|| session.poll_event()).last();
/// let Some(Event::Closed(reason @ CloseReason::HeartBeatTimeout { .. })) = closed else { panic!("silent") };
/// assert_eq!(reason.to_string(), "the broker went silent: nothing received for 2000 ms (heart-beat every 1000 ms)");
/// # Ok::<(), burrow::client::ClientError>(())
/// ```
#[derive(Debug)]
pub struct Session {
    options: ConnectOptions,
    state: State,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    subscriptions: Map<SubscriptionId, Subscription>,
    // A ring map: receipt ids sort in the order made (`ReceiptId`'s order, shorter
    // first), so with thousands of publishes in flight each goes at the back and
    // leaves from the front; in text order ("receipt-9" after "receipt-10") each
    // would land mid-way (measured natively: 21 ms instead of 1 ms for 5,000).
    pending_receipts: crate::sans_io::map::RingMap<ReceiptId, Request>,
    next_id: u64,
    connect_deadline: Option<Duration>,
    disconnect_deadline: Option<Duration>,
    send_interval: Duration,
    receive_interval: Duration,
    /// The latest time any call brought: frames queued count as sent then.
    now: Duration,
    /// When we last queued anything for the broker: STOMP 1.2 wants something
    /// sent at least every `send_interval`, counted from the last send.
    last_sent: Duration,
    last_received: Duration,
    /// The latest ERROR, so that the close which follows it carries the broker's words.
    last_error: Option<ServerError>,
}

/// RabbitMQ and the spec both ask for a grace margin on the receive side; twice the
/// interval tolerates one late heart-beat without declaring the broker gone.
const SILENCE_FACTOR: u32 = 2;

/// Headers the session sets itself on the frames it builds.
const RESERVED: [&str; 6] = ["destination", "id", "ack", "receipt", "subscription", "content-length"];

impl Session {
    /// A session that will connect with these options.
    pub fn new(options: ConnectOptions) -> Self {
        Session {
            options,
            state: State::Idle,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            subscriptions: Map::new(),
            pending_receipts: Default::default(),
            next_id: 0,
            connect_deadline: None,
            disconnect_deadline: None,
            send_interval: Duration::ZERO,
            receive_interval: Duration::ZERO,
            now: Duration::ZERO,
            last_sent: Duration::ZERO,
            last_received: Duration::ZERO,
            last_error: None,
        }
    }

    /// Where the session is.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// What CONNECTED said, once connected.
    pub fn info(&self) -> Option<&ConnectionInfo> {
        match &self.state {
            State::Connected(info) => Some(info),
            _ => None,
        }
    }

    /// The live subscriptions, by id.
    pub fn subscriptions(&self) -> impl Iterator<Item = &Subscription> {
        self.subscriptions.values()
    }

    /// Requests still waiting for their receipt.
    pub fn pending_receipts(&self) -> usize {
        self.pending_receipts.len()
    }

    /// Queues CONNECT; call once the connection is open. Invalid options close the
    /// session at once with [`CloseReason::InvalidOptions`].
    pub fn connect(&mut self, now: Duration) {
        self.advance(now);
        if !matches!(self.state, State::Idle) {
            self.events.push_back(Event::LocalError(ClientError::AlreadyStarted.into()));
            return;
        }
        if let Err(problem) = self.check_options() {
            self.close(CloseReason::InvalidOptions(problem));
            return;
        }
        let mut frame = Frame::new(Command::Connect)
            .with_header("accept-version", "1.2")
            .with_header("host", self.options.host.clone())
            .with_header("heart-beat", self.options.heart_beat.to_string());
        if let Some(login) = &self.options.login {
            frame = frame.with_header("login", login.clone());
        }
        if let Some(passcode) = &self.options.passcode {
            frame = frame.with_header("passcode", passcode.clone());
        }
        self.transmits.push_back(Transmit::Frame(frame));
        self.last_sent = now;
        self.state = State::Connecting;
        self.last_received = now;
        self.connect_deadline = Some(now + self.options.connect_timeout);
    }

    /// CONNECT headers are not escaped (for 1.0 brokers), so they cannot hold line breaks.
    fn check_options(&self) -> Result<(), OptionsError> {
        let fields = [
            ("host", Some(&self.options.host)),
            ("login", self.options.login.as_ref()),
            ("passcode", self.options.passcode.as_ref()),
        ];
        for (name, value) in fields {
            if value.is_some_and(|v| v.contains(['\r', '\n', '\0'])) {
                return Err(OptionsError::ControlCharacter(name));
            }
        }
        Ok(())
    }

    /// Takes the time every call brings, so the heart-beat schedule counts from
    /// when a frame really went. Time never goes back: an earlier `now` is ignored.
    fn advance(&mut self, now: Duration) {
        self.now = self.now.max(now);
    }

    /// A frame arrived.
    pub fn handle_frame(&mut self, now: Duration, frame: Frame) {
        self.advance(now);
        self.last_received = now;
        match frame.command {
            Command::Connected => self.on_connected(now, &frame),
            Command::Message => self.on_message(frame),
            Command::Receipt => self.on_receipt(&frame),
            Command::Error => self.on_error(&frame),
            other => {
                self.close(CloseReason::Protocol(ProtocolError::ClientFrame(other)));
            }
        }
    }

    /// A heart-beat arrived.
    pub fn handle_heartbeat(&mut self, now: Duration) {
        self.advance(now);
        self.last_received = now;
    }

    /// The incoming bytes could not be decoded; the stream cannot be trusted further.
    pub fn handle_protocol_error(&mut self, now: Duration, error: DecodeError) {
        self.advance(now);
        self.close(CloseReason::Protocol(error.into()));
    }

    /// The connection underneath closed, as `closed` says. An ERROR just before it
    /// is the real reason.
    pub fn handle_closed(&mut self, now: Duration, closed: SocketClose) {
        self.advance(now);
        let reason = match self.last_error.take() {
            Some(error) => CloseReason::ServerError(error),
            // RabbitMQ (3.10 at least) closes on DISCONNECT without the RECEIPT the
            // spec asks for; a close while disconnecting is the clean end we asked for.
            None if matches!(self.state, State::Disconnecting) => {
                self.pending_receipts.retain(|_, request| *request != Request::Disconnect);
                CloseReason::Disconnected
            }
            None => CloseReason::Socket(closed),
        };
        self.close(reason);
    }

    /// The connection failed underneath for a reason that is not a close event (for
    /// example, the socket refused to send).
    pub fn handle_transport_error(&mut self, now: Duration, problem: String) {
        self.advance(now);
        self.close(CloseReason::Transport(problem));
    }

    /// The time came that [`Session::poll_timeout`] asked for (or later).
    pub fn handle_timeout(&mut self, now: Duration) {
        self.advance(now);
        if self.connect_deadline.is_some_and(|d| now >= d) {
            self.close(CloseReason::ConnectTimeout(self.options.connect_timeout));
            return;
        }
        if self.disconnect_deadline.is_some_and(|d| now >= d) {
            self.close(CloseReason::DisconnectTimeout(self.options.disconnect_timeout));
            return;
        }
        if let Some(deadline) = self.receive_deadline() {
            if now >= deadline {
                self.close(CloseReason::HeartBeatTimeout {
                    silent_for: now.saturating_sub(self.last_received),
                    interval: self.receive_interval,
                });
                return;
            }
        }
        if self.next_heartbeat().is_some_and(|due| now >= due) {
            self.transmits.push_back(Transmit::HeartBeat);
            self.last_sent = now;
        }
    }

    /// When the session next needs [`Session::handle_timeout`], if ever.
    pub fn poll_timeout(&self) -> Option<Duration> {
        [self.connect_deadline, self.disconnect_deadline, self.receive_deadline(), self.next_heartbeat()]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next thing to write to the connection.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Whether anything waits to be written.
    pub fn has_transmits(&self) -> bool {
        !self.transmits.is_empty()
    }

    /// The next event for the user.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When a heart-beat is due: one interval after the last thing we sent.
    fn next_heartbeat(&self) -> Option<Duration> {
        let connected = matches!(self.state, State::Connected(_) | State::Disconnecting);
        (connected && !self.send_interval.is_zero()).then(|| self.last_sent + self.send_interval)
    }

    fn receive_deadline(&self) -> Option<Duration> {
        let connected = matches!(self.state, State::Connected(_) | State::Disconnecting);
        (connected && !self.receive_interval.is_zero())
            .then(|| self.last_received + self.receive_interval * SILENCE_FACTOR)
    }

    fn on_connected(&mut self, now: Duration, frame: &Frame) {
        if !matches!(self.state, State::Connecting) {
            self.close(CloseReason::Protocol(ProtocolError::ConnectedTwice));
            return;
        }
        // The broker's header is its own offer: it sends every `outgoing` (sx)
        // and wants ours every `incoming` (sy).
        let theirs = match frame.header("heart-beat").map(parse_heart_beat) {
            None => HeartBeat::OFF,
            Some(Ok(offer)) => offer,
            Some(Err(bad)) => {
                self.close(CloseReason::Protocol(ProtocolError::BadHeartBeat(bad)));
                return;
            }
        };
        let ours = self.options.heart_beat;
        // STOMP 1.2: each side's interval is the larger of what one can do and the
        // other wants, or off if either says zero.
        let negotiate = |ours: Duration, theirs: Duration| {
            if ours.is_zero() || theirs.is_zero() { Duration::ZERO } else { ours.max(theirs) }
        };
        self.send_interval = negotiate(ours.outgoing, theirs.incoming);
        self.receive_interval = negotiate(theirs.outgoing, ours.incoming);
        // CONNECT was our last send; count from now, the broker's own clock starts here.
        self.last_sent = self.last_sent.max(now);
        self.connect_deadline = None;
        let info = ConnectionInfo {
            version: frame.header("version").unwrap_or("1.0").to_owned(),
            server: frame.header("server").map(str::to_owned),
            session: frame.header("session").map(str::to_owned),
            heart_beat: HeartBeat::new(self.send_interval, self.receive_interval),
        };
        self.state = State::Connected(info.clone());
        self.events.push_back(Event::Connected(info));
    }

    fn on_message(&mut self, frame: Frame) {
        let subscription = frame.header("subscription").map(|s| SubscriptionId(s.to_owned()));
        let (Some(subscription), Some(destination)) = (subscription, frame.header("destination")) else {
            self.close(CloseReason::Protocol(ProtocolError::MessageWithoutDestination));
            return;
        };
        let message = Message {
            subscription,
            destination: destination.to_owned(),
            message_id: frame.header("message-id").unwrap_or_default().to_owned(),
            ack: frame.header("ack").map(str::to_owned),
            headers: frame.headers,
            body: frame.body,
        };
        self.events.push_back(Event::Message(message));
    }

    fn on_receipt(&mut self, frame: &Frame) {
        let Some(id) = frame.header("receipt-id").map(|r| ReceiptId(r.to_owned())) else {
            self.close(CloseReason::Protocol(ProtocolError::ReceiptWithoutId));
            return;
        };
        // RabbitMQ 4.0.5 sends a failed request's RECEIPT after the ERROR that ends
        // the connection: it confirms nothing; the close reports the request lost.
        if self.last_error.as_ref().is_some_and(ServerError::ends_connection) {
            return;
        }
        let Some(request) = self.pending_receipts.remove(&id) else {
            // Not ours (or already given up on): report, but keep the session.
            self.events.push_back(Event::LocalError(LocalError::UnknownReceipt(id)));
            return;
        };
        let disconnect = request == Request::Disconnect;
        self.events.push_back(Event::Receipt { id, request });
        if disconnect {
            self.close(CloseReason::Disconnected);
        }
    }

    fn on_error(&mut self, frame: &Frame) {
        let error = ServerError::from_frame(frame);
        self.events.push_back(Event::Error(error.clone()));
        if matches!(self.state, State::Connecting) {
            // Refused at CONNECT (wrong credentials, unknown vhost): nothing follows.
            self.close(CloseReason::ConnectRefused(error));
        } else if let Some(sub) = error.cancelled_subscription() {
            // Only that subscription ended; the session goes on.
            self.subscriptions.remove(&sub);
        } else {
            // RabbitMQ closes the socket after a fatal ERROR; the close then carries it.
            self.last_error = Some(error);
        }
    }

    fn close(&mut self, reason: CloseReason) {
        if matches!(self.state, State::Closed(_)) {
            return;
        }
        if !self.pending_receipts.is_empty() {
            let mut lost: Vec<_> =
                self.pending_receipts.drain().map(|(id, request)| LostReceipt { id, request }).collect();
            crate::sans_io::sort::heap_sort_by(&mut lost, |a, b| a.id < b.id);
            self.events.push_back(Event::ReceiptsLost(lost));
        }
        self.state = State::Closed(reason.clone());
        self.connect_deadline = None;
        self.disconnect_deadline = None;
        self.events.push_back(Event::Closed(reason));
    }

}

/// Parses `heart-beat:sx,sy` (milliseconds); the bad value as it came on failure.
fn parse_heart_beat(value: &str) -> Result<HeartBeat, String> {
    let mut parts = value.split(',');
    let mut next = || -> Result<Duration, String> {
        let part = parts.next().ok_or_else(|| value.to_owned())?;
        parse_u64(part.trim()).map(Duration::from_millis).ok_or_else(|| value.to_owned())
    };
    let offer = HeartBeat::new(next()?, next()?);
    if parts.next().is_some() {
        return Err(value.to_owned());
    }
    Ok(offer)
}
