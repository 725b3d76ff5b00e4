//! What the simulation keeps besides the broker: the sockets, and what the
//! user asked (publishes, consumers, declares, held deliveries).

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SockState {
    /// Opening; completes (or fails with 1006) at `at`.
    Opening {
        at: Duration,
        fail: bool,
    },
    Open,
    /// The client closed it; what it sent before still reaches the broker, then the close.
    ClientClosed,
    Dead,
}

#[derive(Debug)]
pub(crate) enum Payload {
    Items(Vec<Decoded>),
    Bytes(Vec<u8>),
    Close(SocketClose),
}

#[derive(Debug)]
pub(crate) struct Packet {
    pub(crate) due: Duration,
    pub(crate) payload: Payload,
}

#[derive(Debug)]
pub(crate) struct Sock {
    pub(crate) state: SockState,
    pub(crate) to_broker: VecDeque<Packet>,
    pub(crate) to_client: VecDeque<Packet>,
    /// The broker's side is gone: nothing more reaches it.
    pub(crate) broker_gone: bool,
    pub(crate) created_after_stop: bool,
    /// The driver was asked to close it while it was opening, and it opened anyway.
    pub(crate) close_ignored: bool,
    /// Decodes what the client writes.
    pub(crate) tap: Decoder,
    /// Decodes what reaches the client, to tell what RabbitMQ's own auto-ack
    /// delivered from what it lost on the way.
    pub(crate) inbound: Decoder,
    /// Since CONNECTED: when the client last sent anything, and the agreed interval.
    pub(crate) hb_since: Option<Duration>,
    pub(crate) hb_interval: Duration,
    /// Which cluster node (URL index) it goes to.
    pub(crate) node: usize,
    /// The client wrote DISCONNECT on it: nothing but heart-beats may follow.
    pub(crate) disconnect_written: bool,
    /// Cut without a close (tests/sim/exclusive.rs): nothing reaches the client
    /// either, while the broker keeps the connection for a while.
    pub(crate) cut: bool,
}

impl Sock {
    /// The broker's side went without a close frame (a drop, a restart, a node
    /// stopped): nothing more passes, and the client hears 1006 at `due`.
    pub(crate) fn lost_by_broker(&mut self, due: Duration) {
        self.to_broker.clear();
        self.to_client.clear();
        self.broker_gone = true;
        self.to_client.push_back(Packet { due, payload: Payload::Close(SocketClose::new(1006, "")) });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PubKind {
    Valid,
    /// To the stream `s`.
    Stream,
    Unrouted,
    MissingExchange,
    /// To one of the simulated exchanges (tests/sim/exchanges.rs).
    Exchange,
    /// To an exclusive queue the client declared (tests/sim/exclusive.rs).
    Exclusive,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Confirmed,
    Refused,
    Stopped,
}

#[derive(Debug)]
pub(crate) struct Pub {
    pub(crate) tag: u64,
    pub(crate) kind: PubKind,
    pub(crate) outcome: Option<Outcome>,
    /// Waiting in the core's line for room.
    pub(crate) waiting: bool,
}

#[derive(Debug)]
pub(crate) struct ConsumerRec {
    pub(crate) queue: String,
    pub(crate) auto: bool,
    /// The most deliveries its buffer may hold: its window.
    pub(crate) window: u16,
    /// Its reader takes deliveries only now and then (else at once).
    pub(crate) slow: bool,
    pub(crate) cancel_requested: bool,
    pub(crate) cancelled: bool,
    pub(crate) failed: bool,
    /// For a stream consumer: what it was handed and acked.
    pub(crate) stream: Option<StreamRec>,
    /// For an exchange subscription: its exchange, binding key and durable queue.
    pub(crate) exchange: Option<ExchangeSubscription>,
}

/// What a stream consumer was handed: always exactly the offsets `first..contig`.
#[derive(Debug)]
pub(crate) struct StreamRec {
    /// A filtered consumer's filter: offsets of other values are never handed.
    pub(crate) filter: Option<StreamFilter>,
    pub(crate) start: StreamOffset,
    pub(crate) first: Option<u64>,
    pub(crate) contig: u64,
    /// Offsets the user acked.
    pub(crate) acked: BTreeSet<u64>,
}

impl StreamRec {
    /// Where the core must resubscribe: the lowest offset handed out and not
    /// acked, else the next one; before any delivery, its own start.
    pub(crate) fn expected_resume(&self) -> String {
        match self.first {
            None => self.start.header_value(),
            Some(first) => {
                let resume = (first..self.contig).find(|o| !self.acked.contains(o)).unwrap_or(self.contig);
                format!("offset={resume}")
            }
        }
    }
}

/// Whether a filtered consumer's SUBSCRIBE offset is one [`Sim::filtered_resume`]
/// allows: its own start, or an offset no higher than the next it must be handed.
pub(crate) fn filtered_resume_ok(offset: Option<&str>, expected: Option<&str>) -> bool {
    let Some(rest) = expected.and_then(|e| e.strip_prefix("filtered:")) else { return false };
    let Some((highest, literal)) = rest.split_once(':') else { return false };
    let highest: u64 = highest.parse().unwrap_or(u64::MAX);
    match offset {
        Some(offset) if offset == literal => true,
        Some(offset) => offset.strip_prefix("offset=").and_then(|n| n.parse::<u64>().ok()).is_some_and(|n| n <= highest),
        None => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeclareExpect {
    Ok,
    Refused,
}

#[derive(Debug)]
pub(crate) struct DeclareRec {
    pub(crate) queue: String,
    pub(crate) expect: DeclareExpect,
    pub(crate) done: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub(crate) acker: Acker,
}
