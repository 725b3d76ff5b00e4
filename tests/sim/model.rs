//! The broker model's state: its messages, queues, subscriptions and
//! connections; the PRNG; tokens.

use super::*;

// ======================================================================= PRNG

/// splitmix64: tiny, fast, and deterministic for a seed.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    /// Inclusive.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

// ============================================================ the broker model

/// A message as the broker holds it.
#[derive(Debug, Clone)]
pub(crate) struct Msg {
    /// The broker's own id (for persistence).
    pub(crate) uid: u64,
    /// The simulation's message number, from `amqp-message-id: m-<n>`.
    pub(crate) tag: Option<u64>,
    pub(crate) destination: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) redelivered: bool,
}

#[derive(Debug)]
pub(crate) struct Queue {
    pub(crate) durable: bool,
    /// `x-queue-type` as declared (`classic` when none was given).
    pub(crate) kind: String,
    pub(crate) msgs: VecDeque<Msg>,
    /// A stream's log: each message and when it was written; never shrinks.
    pub(crate) log: Vec<(Msg, Duration)>,
}

impl Queue {
    pub(crate) fn classic(durable: bool) -> Self {
        Queue { durable, kind: "classic".to_owned(), msgs: VecDeque::new(), log: Vec::new() }
    }

    pub(crate) fn stream() -> Self {
        Queue { durable: true, kind: "stream".to_owned(), msgs: VecDeque::new(), log: Vec::new() }
    }

    pub(crate) fn is_stream(&self) -> bool {
        self.kind == "stream"
    }
}

#[derive(Debug)]
pub(crate) struct Sub {
    pub(crate) queue: String,
    pub(crate) auto: bool,
    /// `ack:client`: an ACK or NACK settles every earlier delivery of the
    /// subscription too (AMQP's `multiple`).
    pub(crate) multi: bool,
    pub(crate) prefetch: u32,
    pub(crate) unacked: u32,
    /// On a stream: the next offset to deliver.
    pub(crate) stream_next: Option<u64>,
}

#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) connected: bool,
    pub(crate) session: String,
    /// RabbitMQ's heart-beat sender checks every half interval and sends when
    /// nothing went out since the previous check (rabbit_heartbeat).
    pub(crate) tick: Option<Duration>,
    pub(crate) next_tick: Duration,
    pub(crate) sent: u64,
    pub(crate) seen: u64,
    pub(crate) subs: BTreeMap<String, Sub>,
    /// Ack number → (subscription, queue, message).
    pub(crate) unacked: BTreeMap<u64, (String, String, Msg)>,
    /// Queues this connection declared (the STOMP adapter declares once per connection).
    pub(crate) declared: HashSet<String>,
    pub(crate) transactions: HashSet<String>,
    pub(crate) last_confirm: Duration,
    /// When the broker closes it because its token expired (RabbitMQ 4.3).
    pub(crate) expires_at: Option<Duration>,
}

#[derive(Debug)]
pub(crate) enum Out {
    Bytes(Vec<u8>),
    Close(SocketClose),
}

#[derive(Debug)]
pub(crate) struct Confirm {
    pub(crate) due: Duration,
    pub(crate) link: LinkId,
    pub(crate) receipt: String,
    pub(crate) uid: u64,
}

#[derive(Debug)]
pub(crate) struct Broker {
    pub(crate) rng: Rng,
    pub(crate) queues: BTreeMap<String, Queue>,
    pub(crate) conns: BTreeMap<LinkId, Conn>,
    pub(crate) next_uid: u64,
    pub(crate) next_ack: u64,
    pub(crate) next_session: u64,
    /// Every ack number ever handed out: its connection, and whether it is settled.
    pub(crate) ack_owner: HashMap<u64, (LinkId, bool)>,
    /// Copies of each simulation message the broker holds (queued or unacked).
    pub(crate) copies: HashMap<u64, u32>,
    /// Messages it forgot as it sent them (`ack:auto`: RabbitMQ's own auto-ack).
    pub(crate) forgotten: HashSet<u64>,
    /// Gives `ack:auto` deliveries an `ack` header too (Web-STOMP does not; a
    /// peer might): a scripted test's broker.
    pub(crate) ack_ids_on_auto: bool,
    /// Messages whose confirm (fsync) has not happened: a restart may lose them.
    pub(crate) unpersisted: HashSet<u64>,
    pub(crate) confirms: Vec<Confirm>,
    pub(crate) slow_confirms: bool,
    /// A resource alarm holds publishers back until then: every queued publish's
    /// confirm waits for its end, while deliveries and heart-beats go on (what
    /// AMQP's connection.blocked means; RabbitMQ's Web-STOMP did not do it in
    /// 3.10.8 or 4.0.5, so the core must cope either way).
    pub(crate) alarm_until: Option<Duration>,
    pub(crate) frozen_until: Option<Duration>,
    pub(crate) down_until: Option<Duration>,
    /// Cluster nodes (by URL index) stopped until then: their sockets fail to open.
    pub(crate) nodes_down: HashMap<usize, Duration>,
    pub(crate) refuse_connect: bool,
    /// Percent of refusals whose ERROR frame is lost (RabbitMQ 3.10.8 only closes).
    pub(crate) lose_error: u64,
    /// CONNECTED's `server` header: `RabbitMQ/4.0.5` on even seeds, whose runs
    /// publish to the stream with filter values and add filtered consumers.
    pub(crate) server: &'static str,
    pub(crate) round_robin: HashMap<String, usize>,
    pub(crate) out: Vec<(LinkId, Out)>,
    pub(crate) violations: Vec<String>,
    /// Messages whose last copy left the broker since the last look.
    pub(crate) emptied: Vec<u64>,
    /// SEND frames processed per simulation message.
    pub(crate) sends_seen: HashMap<u64, u32>,
    pub(crate) lost_errors: u64,
    /// Replies to calls, due to be delivered (tests/sim/rpc.rs).
    pub(crate) replies: Vec<sim_rpc::Reply>,
    /// Exchanges, bindings and subscription queues (tests/sim/exchanges.rs).
    pub(crate) ex: sim_exchanges::BrokerExchanges,
    /// RabbitMQ 4.3: a connection closes when its token expires.
    pub(crate) close_at_expiry: bool,
    /// CONNECTs refused because their token had expired; connections closed at expiry.
    pub(crate) expired_refusals: u64,
    pub(crate) expiry_closes: u64,
    /// Subscriptions it cancelled itself (`cancel_subscriptions`: a scripted test's).
    pub(crate) cancelled_subscriptions: u64,
    /// Messages deleted with their queue (an exclusive queue with its connection,
    /// a non-durable one by a restart), or dropped for want of their queue.
    pub(crate) lost_with_queue: HashSet<u64>,
    /// A refusal whose ERROR is lost loses the frames not yet written with it, as
    /// RabbitMQ 3.10.8 does: on in the random runs, off in the scripted ones
    /// unless a test turns it on.
    pub(crate) lose_unwritten: bool,
}

/// The simulated wall clock at simulated time zero (tokens' `exp` are on it).
pub(crate) const UNIX0: Duration = Duration::from_secs(1_800_000_000);

/// Base64url without padding, as JWTs have it.
pub(crate) fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// An (unsigned) JWT that expires at `exp` seconds since 1970.
pub(crate) fn token(exp: u64) -> String {
    format!("eyJhbGciOiJIUzI1NiJ9.{}.c2ln", base64url(format!("{{\"sub\":\"sim\",\"exp\":{exp}}}").as_bytes()))
}

pub(crate) fn parse_tag(text: &[u8]) -> Option<u64> {
    let rest = text.strip_prefix(b"m-")?;
    let digits: Vec<u8> = rest.iter().copied().take_while(u8::is_ascii_digit).collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}
