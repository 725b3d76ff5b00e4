//! The core's plain data: ids, the socket actions it asks for, its options, and
//! what acknowledges a delivery.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt;
use std::time::Duration;

use crate::client::Backoff;
use crate::rabbit::{ConsumeArguments, Delivery, OutboxLimits, StreamFilter, StreamOffset, PUBLISH_MAX_FRAME};
use crate::stomp::Limits;

use super::{ConsumeError, Pacing};

/// One socket the core asked for; a new one for every connection attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub u64);

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "link-{}", self.0)
    }
}

/// Which consumer (stable across reconnects, unlike the STOMP subscription id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConsumerKey(pub u64);

/// Which `queue_declare` call an outcome answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeclareId(pub u64);

/// Which management look-up an answer ([`super::Core::handle_queue_facts`]) is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LookUpId(pub u64);

/// A question for RabbitMQ's management API: how does `queue` exist in `vhost`?
/// The core asks it when Web-STOMP closed on a declare or a subscription without
/// saying why, and rebuilds the broker's words from the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueLookUp {
    /// The id to answer with.
    pub id: LookUpId,
    /// The Web-STOMP URL of the connection that was refused (where the management
    /// API is, by RabbitMQ's defaults, unless the options name it).
    pub url: String,
    /// The virtual host.
    pub vhost: String,
    /// The queue.
    pub queue: String,
}

/// A question for RabbitMQ's management API: does `exchange` exist in `vhost`?
/// The core asks it when Web-STOMP closed without saying why while publishes to
/// that exchange were in flight: a missing exchange then fails them at once, where
/// finding the message by elimination takes two more connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeLookUp {
    /// The id to answer with.
    pub id: LookUpId,
    /// The Web-STOMP URL of the connection that closed (where the management API
    /// is, by RabbitMQ's defaults, unless the options name it).
    pub url: String,
    /// The virtual host.
    pub vhost: String,
    /// The exchange.
    pub exchange: String,
}

/// What the driver must do: open or close sockets, or read the management API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a WebSocket to `url` and report it as `link`.
    Open {
        /// The id to report its events with.
        link: LinkId,
        /// Where to.
        url: String,
    },
    /// Close this socket (and forget it): it is over, or it should never have opened.
    Close {
        /// Which.
        link: LinkId,
        /// The close code (1000, or 4000–4999 for our own reasons; browsers refuse others).
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// Read the queue from RabbitMQ's management API and answer with
    /// [`super::Core::handle_queue_facts`] (also when it cannot be read).
    LookUp(QueueLookUp),
    /// Ask the management API whether an exchange exists and answer with
    /// [`super::Core::handle_exchange_facts`] (also when it cannot be read).
    ExchangeLookUp(ExchangeLookUp),
    /// Declare again, through the management API, the exchanges and bindings
    /// this connection made, after a reconnect (see
    /// [`super::Core::handle_topology_recovered`]).
    RecoverTopology(super::TopologyRecovery),
    /// Call the credentials provider and answer with
    /// [`super::Core::handle_credentials`] (also when it fails), before the socket
    /// of a connection attempt to `url` opens.
    Credentials {
        /// The id to answer with.
        id: super::CredentialsId,
        /// Where the credentials are for (a cluster's node).
        url: String,
    },
}

/// How many publishes may await their confirm at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Most messages in flight. RabbitMQ 3.10's Web-STOMP crashes a connection
    /// (`{unexpected_message,resume}`) when hundreds of SENDs outrun its credit flow
    /// (400, refilled by 200) while heart-beats are on; 128 stays well under.
    pub messages: usize,
    /// Most body bytes in flight (one message is always allowed, however large).
    pub bytes: usize,
}

impl Default for Window {
    /// 128 messages, 4 MiB.
    fn default() -> Self {
        Window { messages: 128, bytes: 4 * 1024 * 1024 }
    }
}

/// How a [`Core`](crate::reliable::Core) behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReliableOptions {
    /// Delays between reconnect attempts.
    pub backoff: Backoff,
    /// What the outbox holds at most.
    pub outbox: OutboxLimits,
    /// Publishes awaiting their confirm at once.
    pub window: Window,
    /// Largest SEND frame; larger publishes are refused before they enter the outbox.
    /// The default is what RabbitMQ takes by default ([`PUBLISH_MAX_FRAME`], 16 MiB).
    pub max_frame: usize,
    /// What the decoder accepts from the broker.
    pub limits: Limits,
    /// How socket writes are batched under load: [`super::Core::poll_transmit`]
    /// holds what exceeds the burst until [`super::Timer::Pacing`].
    pub pacing: Pacing,
    /// Reconnect after a lost connection (with [`ReliableOptions::backoff`]). Off:
    /// a plain one-off connection, whose end is
    /// [`super::StopReason::Closed`] with why.
    pub reconnect: bool,
    /// The browser driver also wakes the core with the page's own timer. The
    /// worker's tick always runs; off shows it suffices (a background tab's timers
    /// are throttled to once a minute).
    pub page_timer: bool,
    /// Where the browser driver reads RabbitMQ's management API (such as
    /// `http://127.0.0.1:15672/api`; an address without a path, such as
    /// `http://127.0.0.1:15672`, gets `/api`) to explain refusals Web-STOMP closed
    /// without words and to declare exchanges; `None`: where RabbitMQ's defaults
    /// put it for the connection's URL.
    pub management_url: Option<String>,
    /// Ask the driver for credentials ([`Action::Credentials`]) before every
    /// CONNECT instead of using the connect options' fixed ones, and reconnect
    /// before they expire. The browser driver sets it when started with a provider.
    pub ask_credentials: bool,
    /// How long a credentials provider may take before the attempt fails
    /// ([`crate::client::CredentialsError::TimedOut`]) and is retried with the backoff.
    pub credentials_timeout: Duration,
}

impl Default for ReliableOptions {
    fn default() -> Self {
        ReliableOptions {
            backoff: Backoff::default(),
            outbox: OutboxLimits::default(),
            window: Window::default(),
            max_frame: PUBLISH_MAX_FRAME,
            limits: Limits::default(),
            pacing: Pacing::default(),
            reconnect: true,
            page_timer: true,
            management_url: None,
            ask_credentials: false,
            credentials_timeout: Duration::from_secs(10),
        }
    }
}

/// The least window of an auto-ack consumer (see [`ConsumeOptions::auto_ack`]).
pub const AUTO_ACK_WINDOW: u16 = 256;

/// How long a delivery an auto-ack consumer took may wait for its (cumulative)
/// ack when fewer than half a window were taken.
pub const AUTO_ACK_DELAY: Duration = Duration::from_millis(50);

/// How to consume: pika's `basic_consume` arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumeOptions {
    /// Nothing to ack (pika's `auto_ack=True`). RabbitMQ's own auto-ack would send
    /// without limit into a slow reader, so Burrow acks for you instead: it
    /// subscribes with client acks and a window of `max(prefetch, 256)`
    /// ([`AUTO_ACK_WINDOW`]) deliveries, and acks what you took (one ACK each), each
    /// half window or [`AUTO_ACK_DELAY`] after a take. At most the window waits
    /// unread (two while a token renewal's two connections both deliver); a delivery not yet acked when its connection is lost comes again,
    /// marked redelivered (at least once, where RabbitMQ's is at most once).
    pub auto_ack: bool,
    /// RabbitMQ's own auto-ack instead (STOMP's `ack:auto`, stompjs's default;
    /// implies [`ConsumeOptions::auto_ack`]): the broker counts a message done as
    /// it sends it, so it settles no ACKs and delivers faster, but without a
    /// window and at most once. What arrived waits for the reader across
    /// reconnects, however much; what is on its way when a connection is lost, or
    /// unread when the consumer is cancelled or the connection stopped, is gone.
    /// Refused for a stream (it needs manual acks).
    pub broker_acks: bool,
    /// At most this many unacknowledged deliveries at once; 0 is unlimited.
    pub prefetch: u16,
    /// For a stream: where to start reading (pika:
    /// `arguments={'x-stream-offset': ...}`). Needs manual ack and a prefetch above
    /// 0. After a reconnect the consumer continues from what it had not acked,
    /// whatever this says.
    pub stream_offset: Option<StreamOffset>,
    /// For a stream (RabbitMQ 3.13+): only messages published with these
    /// `x-stream-filter-value`s (pika: `arguments={'x-stream-filter': [...]}`).
    /// The broker filters per chunk, so Burrow filters each message again and acks
    /// what it kept from the reader (the ack is a stream's credit); the consumer's
    /// count of them: [`super::Core::filtered_out`]. Needs manual ack and a prefetch
    /// above 0; without [`ConsumeOptions::stream_offset`] it starts at `next`.
    /// Refused on an older broker ([`crate::rabbit::RabbitError::Unsupported`]).
    pub stream_filter: Option<StreamFilter>,
    /// The consumer's priority (`x-priority`, RabbitMQ 4.0+; `None`: 0). Refused
    /// on an older broker, which would ignore it ([`crate::rabbit::RabbitError::Unsupported`]).
    pub priority: Option<i8>,
}

impl Default for ConsumeOptions {
    /// Manual acknowledgement, prefetch 1: the tutorial's fair dispatch.
    fn default() -> Self {
        ConsumeOptions {
            auto_ack: false,
            broker_acks: false,
            prefetch: 1,
            stream_offset: None,
            stream_filter: None,
            priority: None,
        }
    }
}

impl ConsumeOptions {
    /// A stream consumer from `offset` with manual ack and `prefetch` unacked at once.
    pub fn stream(offset: StreamOffset, prefetch: u16) -> Self {
        ConsumeOptions { auto_ack: false, prefetch, stream_offset: Some(offset), ..ConsumeOptions::default() }
    }

    /// The SUBSCRIBE arguments, starting a stream at `resume` when given (where a
    /// resubscription continues), else at [`ConsumeOptions::stream_offset`], else
    /// (a filtered stream consumer) at `next`.
    pub fn arguments(&self, resume: Option<StreamOffset>) -> ConsumeArguments {
        let default_start = self.stream_filter.as_ref().map(|_| StreamOffset::Next);
        ConsumeArguments {
            stream_offset: resume.or(self.stream_offset).or(default_start),
            stream_filter: self.stream_filter.clone(),
            priority: self.priority,
        }
    }

    /// The prefetch the SUBSCRIBE asks for: an auto-ack consumer's window, none
    /// (0) for RabbitMQ's own auto-ack, which ignores it, or
    /// [`ConsumeOptions::prefetch`].
    pub fn window(&self) -> u16 {
        if self.broker_acks {
            0
        } else if self.auto_ack {
            self.prefetch.max(AUTO_ACK_WINDOW)
        } else {
            self.prefetch
        }
    }
}

/// What [`super::Core::take_delivery`] gives a consumer's reader.
// A delivery is what it is mostly asked for; boxing it would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Taken {
    /// The next delivery, with what acknowledges it (`None` for auto-ack).
    Delivery {
        /// The message.
        delivery: Delivery,
        /// Acknowledges it on its own connection.
        acker: Option<Acker>,
    },
    /// Nothing yet: [`super::ReliableEvent::Readable`] says when there is.
    Empty,
    /// The consumer is over: cancelled (`None`), or refused by the broker (why).
    Ended(Option<ConsumeError>),
}

/// Acknowledges one delivery, on the connection it came on only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Acker {
    pub(super) link: LinkId,
    pub(super) consumer: ConsumerKey,
    // `IdText`: the unacked set is sorted by it (tags grow as text).
    pub(super) tag: crate::sans_io::text::IdText,
    /// The stream offset, for a delivery from a stream.
    pub(super) offset: Option<u64>,
}

impl Acker {
    /// The connection the delivery came on.
    pub fn link(&self) -> LinkId {
        self.link
    }

    /// The consumer it went to.
    pub fn consumer(&self) -> ConsumerKey {
        self.consumer
    }

    /// The broker's delivery tag (the MESSAGE's `ack` header).
    pub fn delivery_tag(&self) -> &str {
        &self.tag.0
    }

    /// The offset of a delivery from a stream (`None` from other queues).
    pub fn stream_offset(&self) -> Option<u64> {
        self.offset
    }
}

/// Where the core is, for a status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// [`Core::start`](crate::reliable::Core::start) not called yet.
    Idle,
    /// A socket is opening, or CONNECT was sent.
    Connecting {
        /// Where to.
        url: String,
    },
    /// Connected.
    Connected {
        /// Where to.
        url: String,
    },
    /// Waiting to reconnect.
    Waiting {
        /// When, on the clock passed in.
        retry_at: Duration,
    },
    /// Stopping: DISCONNECT sent.
    Stopping,
    /// Stopped for good.
    Stopped,
}
