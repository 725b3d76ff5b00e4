#![cfg(not(target_arch = "wasm32"))]
//! Deterministic simulation of the reliability core ([`burrow::reliable::Core`])
//! against a simulated RabbitMQ 3.10.8 Web-STOMP broker.
//!
//! One `Core` talks real STOMP bytes to a broker model: what the core writes is
//! decoded with `burrow::stomp::Decoder`, and the broker answers with frames
//! encoded by `burrow::stomp::encode`, each followed by RabbitMQ's trailing LF.
//! Sockets deliver in-order chunks each way, interleaved at random across links
//! and directions, some split at random points; time is simulated. A simulated
//! driver carries the core out as the browser's does: it arms one page timer as
//! the core's `Alarm` says (the simulated browser fires it late, early, or at once
//! past 2^31 - 1 ms), ticks a worker every 250 ms (some pages have only one of
//! the two), paces writes, answers management look-ups from the broker's queues
//! (late, or not at all), and reads each consumer fast or slowly. A seeded
//! schedule publishes (some publishers waiting for room, some giving up),
//! consumes, cancels, acks, declares, and injects faults (network drops, some
//! the broker does not see, broker restarts killed or clean with ERROR
//! connection_forced, a frozen broker, slow
//! confirms, lost ERROR frames and with them the RECEIPTs not yet written,
//! cluster nodes stopped, a stop); some runs are
//! one-off connections (reconnects off). Invariants are checked after every step;
//! a violation panics with the seed and step:
//!
//! 1. a confirmed publish is in the broker (queued or unacked) or reached the user;
//!    after the run a fault-free heal phase delivers every one and empties the
//!    outbox (auto-ack consumers too: Burrow acks what the reader took);
//!    a consumer on RabbitMQ's own auto-ack (`broker_acks`, at most once) may
//!    lose only what was on its way over a lost connection or unread when it
//!    was cancelled (counted: broker_acked_lost_on_the_way, …_unread_at_cancel);
//!    every publish ends Confirmed, PublishFailed, or was refused at the call;
//! 2. at most one delivery per message is not `possibly_duplicate()`, and it is the
//!    first its consumer's reader takes (a copy after a marked one is marked too),
//!    unless the earlier copies were resends that overtook their original on its
//!    way over a connection lost unplanned (counted: resends_ahead_of_originals);
//! 3. after `stop()` only DISCONNECT (and heart-beats) is written, no socket opened
//!    after it CONNECTs, and the broker ends with no connection of the client;
//! 4. no SUBSCRIBE for a cancelled or failed consumer, no subscription left on a
//!    live connection after ConsumerCancelled, no delivery after it, and at quiet
//!    points the broker's subscriptions are exactly `core.consumers()`;
//! 5. Stopped comes once, only after `stop()` or a refused CONNECT, and last;
//! 6. the outbox stays within its limits and in-flight publishes within the window;
//! 7. an ACK/NACK only reaches the connection of its delivery, never twice (the
//!    broker's ack ids are unique across connections);
//! 8. while connected the client never stays silent longer than the agreed
//!    heart-beat interval (plus the timer's lateness);
//! 9. streams (queue `s`, an append-only log read from an offset, credit by
//!    prefetch, never requeued; NACK, auto-ack and prefetch 0 close the connection
//!    as in RabbitMQ 3.10.8): each stream consumer is handed every offset from its
//!    first one without a gap, an offset it acked never again, any other second
//!    copy marked; each resubscription asks for exactly the lowest offset it was
//!    given and did not ack (or the one after the highest it acked); a nack of a
//!    stream delivery is refused and sends nothing. On even seeds the broker says
//!    `RabbitMQ/4.0.5`, stream messages carry filter values (red, blue, none) and
//!    some stream consumers filter (red, with or without the unfiltered): such a
//!    consumer is handed exactly its values, in order, none skipped, and resumes
//!    no later than the next offset it must still be handed (the broker here
//!    delivers every value, the worst a per-chunk filter can do);
//! 10. a cluster (several URLs, one shared broker, nodes that stop and refuse
//!     connections, as `rabbitmqctl stop_app` does): a lost node sends the client
//!     to the next URL, where consumers and the outbox resume (1 and 4 cover them);
//! 11. no consumer holds more unread deliveries than its window (an auto-ack
//!     consumer's included; RabbitMQ's own auto-ack has none), however slow its reader; publishers that wait for
//!     room get in in the order they came;
//! 12. RPC over temp queues (`tests/sim/rpc.rs`): a reply reaches only its caller,
//!     each call ends once, never resolved after its timeout nor timed out early,
//!     and none is left waiting after the heal or the stop;
//! 13. exchanges (`tests/sim/exchanges.rs`: fanout `logs`, direct `direct_logs`,
//!     topic `topic_logs`, transient and durable subscriptions): a durable
//!     subscription loses no confirmed publish routed to it, each delivery was
//!     routed to its subscription by key, at most one unmarked copy per message
//!     per subscription queue, and a SubscriptionGap comes only for a transient
//!     subscription after a reconnect (and always then);
//! 14. exclusive queues the client declares and network cuts neither end hears
//!     (`tests/sim/exclusive.rs`): no consumer or declare fails because a
//!     connection that dropped holds the queue; each consumer is subscribed
//!     again once the broker lets go, by the heal's end at the latest; a
//!     confirmed publish to such a queue is delivered or went with the queue.
//!
//! Also: no Open before the announced retry time, no timer that spins, only
//! browser-legal close codes, acks refused as Stale/AlreadySettled send nothing,
//! declares and consumers the broker would refuse are refused before sending.
//!
//! Replay one seed verbosely:
//!     BURROW_SIM_SEED=1234 cargo test --test simulation simulation_runs -- --nocapture
//! More seeds: BURROW_SIM_SEEDS=100000 (and BURROW_SIM_FIRST=<n> to start elsewhere);
//! the soak test (`cargo test --test simulation -- --ignored`) runs 200,000.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use burrow::client::{jwt_expiry, CloseReason, ConnectOptions, Credentials, CredentialsError, SocketClose, WEB_STOMP_DIED};
use burrow::rabbit::{
    BasicProperties, ConsumeFrom, ExchangeSubscription, OutboxId, OutboxLimits, PendingPublish, QueueFacts, QueueOptions, QueueType, RabbitError,
    RefusalKind, StreamFilter, StreamOffset,
};

/// The broker version whose runs use stream filters (RabbitMQ 3.13+).
const NEW_SERVER: &str = "RabbitMQ/4.0.5";

/// A stream message's filter value in runs on [`NEW_SERVER`], by its number.
fn filter_value(tag: u64) -> Option<&'static str> {
    [Some("red"), Some("blue"), None][(tag % 3) as usize]
}
use burrow::reliable::{
    AckError, Acker, Action, ConnectionEvent, ConsumeError, ConsumeOptions, ConsumerKey, Core, CredentialsId, DeclareError, DeclareId,
    ExchangeLookUp, LinkId, PublishError, QueueLookUp, ReliableEvent, ReliableOptions, Alarm, Pacing, Phase, StopReason, Taken, Window,
    HELD_BACK_AFTER,
};
use burrow::stomp::{encode, Command, Decoded, Decoder, Frame, Limits};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The frame limit the simulated client publishes under (small, so an oversized
/// body is cheap to make).
const MAX_FRAME: usize = 4096;

// ======================================================================= PRNG

/// splitmix64: tiny, fast, and deterministic for a seed.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    /// Inclusive.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

// ============================================================ the broker model

/// A message as the broker holds it.
#[derive(Debug, Clone)]
struct Msg {
    /// The broker's own id (for persistence).
    uid: u64,
    /// The simulation's message number, from `amqp-message-id: m-<n>`.
    tag: Option<u64>,
    destination: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    redelivered: bool,
}

#[derive(Debug)]
struct Queue {
    durable: bool,
    /// `x-queue-type` as declared (`classic` when none was given).
    kind: String,
    msgs: VecDeque<Msg>,
    /// A stream's log: each message and when it was written; never shrinks.
    log: Vec<(Msg, Duration)>,
}

impl Queue {
    fn classic(durable: bool) -> Self {
        Queue { durable, kind: "classic".to_owned(), msgs: VecDeque::new(), log: Vec::new() }
    }

    fn stream() -> Self {
        Queue { durable: true, kind: "stream".to_owned(), msgs: VecDeque::new(), log: Vec::new() }
    }

    fn is_stream(&self) -> bool {
        self.kind == "stream"
    }
}

#[derive(Debug)]
struct Sub {
    queue: String,
    auto: bool,
    /// `ack:client`: an ACK or NACK settles every earlier delivery of the
    /// subscription too (AMQP's `multiple`).
    multi: bool,
    prefetch: u32,
    unacked: u32,
    /// On a stream: the next offset to deliver.
    stream_next: Option<u64>,
}

#[derive(Debug)]
struct Conn {
    connected: bool,
    session: String,
    /// RabbitMQ's heart-beat sender checks every half interval and sends when
    /// nothing went out since the previous check (rabbit_heartbeat).
    tick: Option<Duration>,
    next_tick: Duration,
    sent: u64,
    seen: u64,
    subs: BTreeMap<String, Sub>,
    /// Ack number → (subscription, queue, message).
    unacked: BTreeMap<u64, (String, String, Msg)>,
    /// Queues this connection declared (the STOMP adapter declares once per connection).
    declared: HashSet<String>,
    transactions: HashSet<String>,
    last_confirm: Duration,
    /// When the broker closes it because its token expired (RabbitMQ 4.3).
    expires_at: Option<Duration>,
}

#[derive(Debug)]
enum Out {
    Bytes(Vec<u8>),
    Close(SocketClose),
}

#[derive(Debug)]
struct Confirm {
    due: Duration,
    link: LinkId,
    receipt: String,
    uid: u64,
}

#[derive(Debug)]
struct Broker {
    rng: Rng,
    queues: BTreeMap<String, Queue>,
    conns: BTreeMap<LinkId, Conn>,
    next_uid: u64,
    next_ack: u64,
    next_session: u64,
    /// Every ack number ever handed out: its connection, and whether it is settled.
    ack_owner: HashMap<u64, (LinkId, bool)>,
    /// Copies of each simulation message the broker holds (queued or unacked).
    copies: HashMap<u64, u32>,
    /// Messages it forgot as it sent them (`ack:auto`: RabbitMQ's own auto-ack).
    forgotten: HashSet<u64>,
    /// Gives `ack:auto` deliveries an `ack` header too (Web-STOMP does not; a
    /// peer might): a scripted test's broker.
    ack_ids_on_auto: bool,
    /// Messages whose confirm (fsync) has not happened: a restart may lose them.
    unpersisted: HashSet<u64>,
    confirms: Vec<Confirm>,
    slow_confirms: bool,
    /// A resource alarm holds publishers back until then: every queued publish's
    /// confirm waits for its end, while deliveries and heart-beats go on (what
    /// AMQP's connection.blocked means; RabbitMQ's Web-STOMP did not do it in
    /// 3.10.8 or 4.0.5, so the core must cope either way).
    alarm_until: Option<Duration>,
    frozen_until: Option<Duration>,
    down_until: Option<Duration>,
    /// Cluster nodes (by URL index) stopped until then: their sockets fail to open.
    nodes_down: HashMap<usize, Duration>,
    refuse_connect: bool,
    /// Percent of refusals whose ERROR frame is lost (RabbitMQ 3.10.8 only closes).
    lose_error: u64,
    /// CONNECTED's `server` header: `RabbitMQ/4.0.5` on even seeds, whose runs
    /// publish to the stream with filter values and add filtered consumers.
    server: &'static str,
    round_robin: HashMap<String, usize>,
    out: Vec<(LinkId, Out)>,
    violations: Vec<String>,
    /// Messages whose last copy left the broker since the last look.
    emptied: Vec<u64>,
    /// SEND frames processed per simulation message.
    sends_seen: HashMap<u64, u32>,
    lost_errors: u64,
    /// Replies to calls, due to be delivered (tests/sim/rpc.rs).
    replies: Vec<sim_rpc::Reply>,
    /// Exchanges, bindings and subscription queues (tests/sim/exchanges.rs).
    ex: sim_exchanges::BrokerExchanges,
    /// RabbitMQ 4.3: a connection closes when its token expires.
    close_at_expiry: bool,
    /// CONNECTs refused because their token had expired; connections closed at expiry.
    expired_refusals: u64,
    expiry_closes: u64,
    /// Subscriptions it cancelled itself (`cancel_subscriptions`: a scripted test's).
    cancelled_subscriptions: u64,
    /// Messages deleted with their queue (an exclusive queue with its connection,
    /// a non-durable one by a restart), or dropped for want of their queue.
    lost_with_queue: HashSet<u64>,
    /// A refusal whose ERROR is lost loses the frames not yet written with it, as
    /// RabbitMQ 3.10.8 does: on in the random runs, off in the scripted ones
    /// unless a test turns it on.
    lose_unwritten: bool,
}

/// The simulated wall clock at simulated time zero (tokens' `exp` are on it).
const UNIX0: Duration = Duration::from_secs(1_800_000_000);

/// Base64url without padding, as JWTs have it.
fn base64url(bytes: &[u8]) -> String {
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
fn token(exp: u64) -> String {
    format!("eyJhbGciOiJIUzI1NiJ9.{}.c2ln", base64url(format!("{{\"sub\":\"sim\",\"exp\":{exp}}}").as_bytes()))
}

fn parse_tag(text: &[u8]) -> Option<u64> {
    let rest = text.strip_prefix(b"m-")?;
    let digits: Vec<u8> = rest.iter().copied().take_while(u8::is_ascii_digit).collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

impl Broker {
    fn new(seed: u64, lose_error: u64) -> Self {
        let mut queues = BTreeMap::new();
        queues.insert("q".to_owned(), Queue::classic(true));
        queues.insert("s".to_owned(), Queue::stream());
        Broker {
            rng: Rng::new(seed ^ 0x0B0B_0B0B),
            queues,
            conns: BTreeMap::new(),
            next_uid: 0,
            next_ack: 0,
            next_session: 0,
            server: if seed % 2 == 0 { NEW_SERVER } else { "RabbitMQ/3.10.8" },
            ack_owner: HashMap::new(),
            copies: HashMap::new(),
            forgotten: HashSet::new(),
            ack_ids_on_auto: false,
            unpersisted: HashSet::new(),
            confirms: Vec::new(),
            slow_confirms: false,
            alarm_until: None,
            frozen_until: None,
            down_until: None,
            nodes_down: HashMap::new(),
            refuse_connect: false,
            close_at_expiry: false,
            expired_refusals: 0,
            expiry_closes: 0,
            cancelled_subscriptions: 0,
            lose_unwritten: false,
            lost_with_queue: HashSet::new(),
            lose_error,
            round_robin: HashMap::new(),
            out: Vec::new(),
            violations: Vec::new(),
            emptied: Vec::new(),
            sends_seen: HashMap::new(),
            lost_errors: 0,
            replies: Vec::new(),
            ex: sim_exchanges::BrokerExchanges::new(),
        }
    }

    fn frozen(&self, now: Duration) -> bool {
        self.frozen_until.is_some_and(|t| now < t)
    }

    fn down(&self, now: Duration) -> bool {
        self.down_until.is_some_and(|t| now < t)
    }

    fn node_down(&self, node: usize, now: Duration) -> bool {
        self.nodes_down.get(&node).is_some_and(|t| now < *t)
    }

    fn is_stream(&self, queue: &str) -> bool {
        self.queues.get(queue).is_some_and(Queue::is_stream)
    }

    fn copies_of(&self, tag: u64) -> u32 {
        self.copies.get(&tag).copied().unwrap_or(0)
    }

    fn add_copy(&mut self, tag: Option<u64>) {
        if let Some(tag) = tag {
            *self.copies.entry(tag).or_insert(0) += 1;
        }
    }

    fn take_copy(&mut self, tag: Option<u64>) {
        if let Some(tag) = tag {
            let count = self.copies.entry(tag).or_insert(0);
            if *count == 0 {
                self.violations.push(format!("broker bookkeeping: no copy of m-{tag} left to remove"));
                return;
            }
            *count -= 1;
            if *count == 0 {
                self.emptied.push(tag);
            }
        }
    }

    /// Copies of simulation messages the broker holds, queued or unacked.
    fn copies_of_any(&self) -> u32 {
        self.copies.values().sum()
    }

    fn unacked_total(&self) -> usize {
        self.conns.values().map(|c| c.unacked.len()).sum()
    }

    /// Unacked deliveries of subscriptions that are gone: RabbitMQ's STOMP
    /// adapter takes no ack for them, and they return when the connection closes.
    fn orphaned(&self, link: LinkId) -> usize {
        self.conns.get(&link).map_or(0, |c| c.unacked.values().filter(|(sub, _, _)| !c.subs.contains_key(sub)).count())
    }

    /// A socket opened: a connection waiting for CONNECT.
    fn open(&mut self, link: LinkId, now: Duration) {
        self.conns.insert(
            link,
            Conn {
                connected: false,
                session: String::new(),
                tick: None,
                next_tick: now,
                sent: 0,
                seen: 0,
                subs: BTreeMap::new(),
                unacked: BTreeMap::new(),
                declared: HashSet::new(),
                transactions: HashSet::new(),
                last_confirm: now,
                expires_at: None,
            },
        );
    }

    fn send(&mut self, link: LinkId, frame: &Frame) {
        let mut bytes = Vec::new();
        encode(frame, &mut bytes).expect("the broker's frames encode");
        // RabbitMQ ends every frame with NUL and one LF, in the same WebSocket message.
        bytes.push(b'\n');
        if let Some(conn) = self.conns.get_mut(&link) {
            conn.sent += 1;
        }
        self.out.push((link, Out::Bytes(bytes)));
    }

    fn receipt(&mut self, link: LinkId, frame: &Frame) {
        if let Some(receipt) = frame.header("receipt") {
            let answer = Frame::new(Command::Receipt).with_header("receipt-id", receipt);
            self.send(link, &answer);
        }
    }

    /// RabbitMQ cancels every subscription to `queue` itself (as when the queue is
    /// deleted): an ERROR `Server cancelled subscription` naming each, and the
    /// connection goes on. Their unacked messages stay with the connection.
    fn cancel_subscriptions(&mut self, queue: &str) {
        let mut notices = Vec::new();
        for (link, conn) in &mut self.conns {
            let subs: Vec<String> = conn.subs.iter().filter(|(_, s)| s.queue == queue).map(|(id, _)| id.clone()).collect();
            for id in subs {
                conn.subs.remove(&id);
                notices.push((*link, id));
            }
        }
        for (link, id) in notices {
            self.cancelled_subscriptions += 1;
            let error = Frame::new(Command::Error)
                .with_header("message", "Server cancelled subscription")
                .with_header("subscription", id.clone())
                .with_header("content-type", "text/plain")
                .with_header("version", "1.2")
                .with_body(format!("No more messages will be delivered for \"id='{id}'\"").into_bytes());
            self.send(link, &error);
        }
    }

    /// A refusal: ERROR (unless 3.10.8 loses it), then the socket closes with "STOMP died".
    fn refuse(&mut self, link: LinkId, message: &str, detail: String, always_say: bool) {
        if always_say || !self.rng.chance(self.lose_error) {
            let error = Frame::new(Command::Error)
                .with_header("message", message)
                .with_header("content-type", "text/plain")
                .with_header("version", "1.2")
                .with_body(detail.into_bytes());
            self.send(link, &error);
        } else {
            self.lost_errors += 1;
            if self.lose_unwritten {
                // 3.10.8 loses what it had not written yet with the ERROR: the
                // RECEIPTs of the frames read just before (SUBSCRIBEs sent together
                // with the fatal one), whose consumers were fine.
                self.out.retain(|(to, out)| *to != link || !matches!(out, Out::Bytes(_)));
            }
        }
        self.close(link, SocketClose::new(1000, WEB_STOMP_DIED));
    }

    fn close(&mut self, link: LinkId, how: SocketClose) {
        self.drop_conn(link);
        self.out.push((link, Out::Close(how)));
    }

    /// The connection is gone: its unacked messages go back to the head of their
    /// queue, marked redelivered; its subscriptions vanish.
    fn drop_conn(&mut self, link: LinkId) {
        let Some(conn) = self.conns.remove(&link) else { return };
        for (n, (_, queue, mut msg)) in conn.unacked.into_iter().rev() {
            if let Some(owner) = self.ack_owner.get_mut(&n) {
                owner.1 = true;
            }
            if self.is_stream(&queue) {
                // A stream keeps everything; nothing goes back.
                continue;
            }
            msg.redelivered = true;
            match self.queues.get_mut(&queue) {
                Some(q) => q.msgs.push_front(msg),
                None => self.take_copy(msg.tag),
            }
        }
        self.confirms.retain(|c| c.link != link);
        // Its temp queue is gone with it.
        self.replies.retain(|r| r.link != link);
        // And its exclusive queues, and auto-delete ones no one reads any more.
        self.drop_unused_queues(Some(link));
    }

    /// Frames (and heart-beats) that arrived on `link`.
    fn receive(&mut self, now: Duration, link: LinkId, items: Vec<Decoded>) {
        for item in items {
            if !self.conns.contains_key(&link) {
                // Closed by an earlier frame of this chunk: RabbitMQ reads no further.
                break;
            }
            if let Decoded::Frame(frame) = item {
                self.frame(now, link, frame);
            }
        }
        self.dispatch(now);
    }

    fn frame(&mut self, now: Duration, link: LinkId, frame: Frame) {
        let connected = self.conns.get(&link).is_some_and(|c| c.connected);
        let command = frame.command;
        if !connected && !matches!(command, Command::Connect | Command::Stomp) {
            self.violations.push(format!("{command} on {link} before CONNECT"));
            return;
        }
        match command {
            Command::Connect | Command::Stomp => self.on_connect(now, link, &frame),
            Command::Send => self.on_send(now, link, frame),
            Command::Subscribe if frame.header("destination").is_some_and(|d| d.starts_with("/exchange/")) => {
                self.on_exchange_subscribe(link, &frame)
            }
            Command::Subscribe => self.on_subscribe(link, &frame),
            Command::Unsubscribe => {
                let id = frame.header("id").unwrap_or_default().to_owned();
                let removed = self.conns.get_mut(&link).and_then(|c| c.subs.remove(&id));
                if removed.is_none() {
                    self.violations.push(format!("UNSUBSCRIBE of unknown subscription {id} on {link}"));
                }
                self.drop_unused_queues(None);
                self.receipt(link, &frame);
            }
            Command::Ack => self.on_ack(link, &frame, false),
            Command::Nack => self.on_ack(link, &frame, true),
            Command::Begin => {
                let tx = frame.header("transaction").unwrap_or_default().to_owned();
                if let Some(conn) = self.conns.get_mut(&link) {
                    conn.transactions.insert(tx);
                }
                self.receipt(link, &frame);
            }
            Command::Commit | Command::Abort => {
                let tx = frame.header("transaction").unwrap_or_default().to_owned();
                let known = self.conns.get_mut(&link).is_some_and(|c| c.transactions.remove(&tx));
                if !known {
                    self.violations.push(format!("{command} of unknown transaction {tx}"));
                }
                self.receipt(link, &frame);
            }
            // RabbitMQ closes at once and never sends DISCONNECT's RECEIPT.
            Command::Disconnect => self.close(link, SocketClose::new(1000, "")),
            other => self.violations.push(format!("the client sent a server frame {other}")),
        }
    }

    fn on_connect(&mut self, now: Duration, link: LinkId, frame: &Frame) {
        if self.conns.get(&link).is_some_and(|c| c.connected) {
            self.violations.push(format!("a second CONNECT on {link}"));
            return;
        }
        if self.refuse_connect {
            self.refuse(link, "Bad CONNECT", "Access refused for user 'guest'".to_owned(), true);
            return;
        }
        // The OAuth2 backend: an expired token is refused with the same words as any.
        let expires = frame.header("passcode").and_then(jwt_expiry).map(|exp| Duration::from_secs(exp).saturating_sub(UNIX0));
        if expires.is_some_and(|at| at <= now) {
            self.expired_refusals += 1;
            self.refuse(link, "Bad CONNECT", "Access refused for user 'guest'".to_owned(), true);
            return;
        }
        let close_at = expires.filter(|_| self.close_at_expiry);
        if let Some(conn) = self.conns.get_mut(&link) {
            conn.expires_at = close_at;
        }
        // heart-beat:cx,cy → the broker sends every cy and expects every cx, in whole
        // seconds, and says so in CONNECTED (rabbit_stomp_processor).
        let (cx, cy) = frame
            .header("heart-beat")
            .and_then(|v| v.split_once(','))
            .map(|(x, y)| (x.trim().parse::<u64>().unwrap_or(0), y.trim().parse::<u64>().unwrap_or(0)))
            .unwrap_or((0, 0));
        let (send, receive) = (cy / 1000, cx / 1000);
        self.next_session += 1;
        let session = format!("session-{}", self.next_session);
        let Some(conn) = self.conns.get_mut(&link) else { return };
        conn.connected = true;
        conn.session = session.clone();
        conn.tick = (send > 0).then(|| ms(send * 1000 / 2));
        conn.next_tick = now + ms(send * 1000 / 2);
        let connected = Frame::new(Command::Connected)
            .with_header("server", self.server)
            .with_header("session", session)
            .with_header("heart-beat", format!("{},{}", send * 1000, receive * 1000))
            .with_header("version", "1.2");
        self.send(link, &connected);
    }

    fn on_send(&mut self, now: Duration, link: LinkId, frame: Frame) {
        if let Some(tag) = frame.header("amqp-message-id").and_then(|t| parse_tag(t.as_bytes())) {
            *self.sends_seen.entry(tag).or_insert(0) += 1;
        }
        let destination = frame.header("destination").unwrap_or_default().to_owned();
        if destination == "/amq/queue/rpc" {
            return self.on_call(now, link, &frame);
        }
        if let Some(name) = destination.strip_prefix("/queue/") {
            // Declares the queue (once per connection), then publishes to it.
            let durable = frame.header("durable") != Some("false");
            let kind = frame.header("x-queue-type").unwrap_or("classic").to_owned();
            let first = self.conns.get_mut(&link).is_some_and(|c| c.declared.insert(name.to_owned()));
            if first {
                if kind != "classic"
                    && (!durable || frame.header("exclusive") == Some("true") || frame.header("auto-delete") == Some("true"))
                {
                    // RabbitMQ refuses these; Burrow must have refused them first.
                    self.violations.push(format!("a {kind} queue declared non-durable, exclusive or auto-delete"));
                    let detail = format!("PRECONDITION_FAILED - invalid property for queue '{name}' in vhost '/'");
                    self.refuse(link, "precondition_failed", detail, false);
                    return;
                }
                // The first argument that differs from the queue as it exists, as
                // (name, received, current).
                let inequivalent = self.queues.get(name).and_then(|q| {
                    if q.durable != durable {
                        Some(("durable", durable.to_string(), q.durable.to_string()))
                    } else if q.kind != kind {
                        Some(("x-queue-type", kind.clone(), q.kind.clone()))
                    } else {
                        None
                    }
                });
                if let Some(detail) = self.locked_by_another(link, name) {
                    self.refuse(link, "resource_locked", detail, false);
                    return;
                }
                if let Some((argument, received, current)) = inequivalent {
                    let detail = format!(
                        "PRECONDITION_FAILED - inequivalent arg '{argument}' for queue '{name}' in vhost '/': received '{received}' but current is '{current}'"
                    );
                    self.refuse(link, "precondition_failed", detail, false);
                    return;
                }
                if !self.queues.contains_key(name) {
                    let queue = if kind == "stream" { Queue::stream() } else { Queue::classic(durable) };
                    self.queues.insert(name.to_owned(), Queue { kind, ..queue });
                    self.note_exclusive(link, name, &frame);
                }
            }
            if frame.header("transaction").is_some() {
                // Published only on COMMIT; Burrow's declare always aborts.
                self.receipt(link, &frame);
                return;
            }
            let name = name.to_owned();
            self.enqueue(now, link, &name, frame);
        } else if let Some(name) = destination.strip_prefix("/amq/queue/") {
            if self.queues.contains_key(name) {
                let name = name.to_owned();
                self.enqueue(now, link, &name, frame);
            } else {
                // The default exchange drops it, and confirms at once.
                self.lost_with_queue.extend(frame.header("amqp-message-id").and_then(|t| parse_tag(t.as_bytes())));
                self.receipt(link, &frame);
            }
        } else if let Some(rest) = destination.strip_prefix("/exchange/") {
            let exchange = rest.split('/').next().unwrap_or_default();
            if self.ex.kinds.contains_key(exchange) {
                let rest = rest.to_owned();
                self.on_exchange_send(now, link, &rest, frame);
            } else if ["amq.direct", "amq.fanout", "amq.topic"].contains(&exchange) {
                self.receipt(link, &frame);
            } else {
                let detail = format!("NOT_FOUND - no exchange '{exchange}' in vhost '/'");
                self.refuse(link, "not_found", detail, false);
            }
        } else {
            self.violations.push(format!("SEND to unexpected destination {destination:?}"));
        }
    }

    fn enqueue(&mut self, now: Duration, link: LinkId, queue: &str, frame: Frame) {
        self.next_uid += 1;
        let uid = self.next_uid;
        let tag = frame.header("amqp-message-id").and_then(|t| parse_tag(t.as_bytes()));
        let receipt = frame.header("receipt").map(str::to_owned);
        let persistent = frame.header("persistent") == Some("true");
        let destination = frame.header("destination").unwrap_or_default().to_owned();
        let headers = frame
            .headers
            .iter()
            .filter(|(n, _)| !matches!(n.as_str(), "destination" | "transaction" | "content-length"))
            .cloned()
            .collect();
        let Some(q) = self.queues.get_mut(queue) else { return };
        let durable = q.durable;
        let stream = q.is_stream();
        let msg = Msg { uid, tag, destination, headers, body: frame.body, redelivered: false };
        if stream {
            q.log.push((msg, now));
        } else {
            q.msgs.push_back(msg);
        }
        self.add_copy(tag);
        let Some(receipt) = receipt else { return };
        if let Some(end) = self.alarm_until.filter(|end| now < *end) {
            // Held until the alarm clears, in order with any slower confirm.
            let Some(conn) = self.conns.get_mut(&link) else { return };
            let due = end.max(conn.last_confirm);
            conn.last_confirm = due;
            self.confirms.push(Confirm { due, link, receipt, uid });
            return;
        }
        // A stream's confirms are immediate here (so a restart never cuts its log).
        if self.slow_confirms && durable && persistent && !stream {
            // The confirm waits for the fsync; confirms on a channel stay in order.
            self.unpersisted.insert(uid);
            let delay = ms(self.rng.range(50, 3000));
            let Some(conn) = self.conns.get_mut(&link) else { return };
            let due = (now + delay).max(conn.last_confirm);
            conn.last_confirm = due;
            self.confirms.push(Confirm { due, link, receipt, uid });
        } else {
            let answer = Frame::new(Command::Receipt).with_header("receipt-id", receipt);
            self.send(link, &answer);
        }
    }

    fn on_subscribe(&mut self, link: LinkId, frame: &Frame) {
        let id = frame.header("id").unwrap_or_default().to_owned();
        let destination = frame.header("destination").unwrap_or_default();
        let Some(queue) = destination.strip_prefix("/amq/queue/").map(str::to_owned) else {
            self.violations.push(format!("SUBSCRIBE to unexpected destination {destination:?}"));
            return;
        };
        let mode = frame.header("ack").unwrap_or("auto");
        let (auto, multi) = (mode == "auto", mode == "client");
        let prefetch = frame.header("prefetch-count").and_then(|p| p.parse().ok()).unwrap_or(0);
        if self.conns.get(&link).is_some_and(|c| c.subs.contains_key(&id)) {
            self.violations.push(format!("SUBSCRIBE with a subscription id {id} already in use on {link}"));
            return;
        }
        if !self.queues.contains_key(&queue) {
            let detail = format!("NOT_FOUND - no queue '{queue}' in vhost '/'");
            self.refuse(link, "not_found", detail, false);
            return;
        }
        if let Some(detail) = self.locked_by_another(link, &queue) {
            self.refuse(link, "resource_locked", detail, false);
            return;
        }
        let mut stream_next = None;
        if let Some(q) = self.queues.get(&queue).filter(|q| q.is_stream()) {
            if auto || prefetch == 0 {
                // RabbitMQ 3.10.8 closes the connection; Burrow must refuse it first.
                self.violations.push(format!("SUBSCRIBE to stream {queue} with auto {auto}, prefetch {prefetch}"));
                self.refuse(link, "precondition_failed", "PRECONDITION_FAILED".to_owned(), false);
                return;
            }
            let len = q.log.len() as u64;
            let asked = frame.header("x-stream-offset").unwrap_or("next");
            let start = match asked {
                "first" => Some(0),
                "last" => Some(len.saturating_sub(1)),
                "next" => Some(len),
                other => match other.split_once('=') {
                    Some(("offset", n)) => n.parse().ok(),
                    Some(("timestamp", t)) => t.parse::<u64>().ok().map(|t| {
                        q.log.iter().position(|(_, at)| at.as_secs() >= t).map_or(len, |i| i as u64)
                    }),
                    _ => None,
                },
            };
            let Some(start) = start else {
                self.violations.push(format!("SUBSCRIBE with x-stream-offset {asked:?}"));
                return;
            };
            stream_next = Some(start);
        }
        if let Some(conn) = self.conns.get_mut(&link) {
            conn.subs.insert(id, Sub { queue, auto, multi, prefetch, unacked: 0, stream_next });
        }
        self.receipt(link, frame);
    }

    fn on_ack(&mut self, link: LinkId, frame: &Frame, nack: bool) {
        let command = frame.command;
        let id = frame.header("id").unwrap_or_default().to_owned();
        let n = id.rsplit("@@").next().and_then(|s| s.parse::<u64>().ok());
        let owner = n.and_then(|n| self.conns.get(&link).and_then(|c| c.unacked.get(&n)).map(|e| e.0.clone()));
        let Some((n, sub_id)) = n.zip(owner) else {
            let why = match n.and_then(|n| self.ack_owner.get(&n)) {
                Some((owner, _)) if *owner != link => {
                    format!("{command} {id} reached {link}, but the delivery came on {owner}")
                }
                Some((_, true)) => format!("{command} {id} on {link}: already settled (a double ack)"),
                _ => format!("{command} {id} on {link}: unknown delivery tag"),
            };
            self.violations.push(why);
            let detail = format!("PRECONDITION_FAILED - unknown delivery tag {}", n.unwrap_or(0));
            self.refuse(link, "precondition_failed", detail, false);
            return;
        };
        let Some(multi) = self.conns.get(&link).and_then(|c| c.subs.get(&sub_id)).map(|sub| sub.multi) else {
            // RabbitMQ answers "Subscription not found" (an ERROR that poisons the
            // session's close reason) and the message stays unacked.
            self.violations.push(format!("{command} {id} on {link} for subscription {sub_id}, after its UNSUBSCRIBE"));
            return;
        };
        let settled: Vec<u64> = match self.conns.get(&link) {
            // RabbitMQ's Web-STOMP maps a cumulative ACK to basic.ack multiple on
            // the connection's one channel: it settles every earlier delivery of
            // every subscription on the connection, not only this one's (seen by
            // the fan-out benchmark: two auto-ack subscriptions, "unknown delivery tag").
            Some(conn) if multi => conn.unacked.range(..=n).map(|(n, _)| *n).collect(),
            _ => vec![n],
        };
        // Last first: requeued ones go back to the head in their order.
        for n in settled.into_iter().rev() {
            self.settle_one(link, n, frame, nack);
        }
        self.receipt(link, frame);
    }

    /// One delivery acked or nacked.
    fn settle_one(&mut self, link: LinkId, n: u64, frame: &Frame, nack: bool) {
        let Some(conn) = self.conns.get_mut(&link) else { return };
        let Some((sub_id, queue, mut msg)) = conn.unacked.remove(&n) else { return };
        if let Some(sub) = conn.subs.get_mut(&sub_id) {
            sub.unacked -= 1;
        }
        if let Some(owner) = self.ack_owner.get_mut(&n) {
            owner.1 = true;
        }
        if self.is_stream(&queue) {
            if nack {
                // RabbitMQ: "basic.nack and basic.reject not supported by stream
                // queues": RECEIPT, then the connection closes.
                self.violations.push(format!("NACK {n} of a stream message on {link}"));
                self.close(link, SocketClose::new(1000, WEB_STOMP_DIED));
            }
            return;
        }
        let requeue = nack && frame.header("requeue") != Some("false");
        if requeue {
            msg.redelivered = true;
            match self.queues.get_mut(&queue) {
                Some(q) => q.msgs.push_front(msg),
                None => self.take_copy(msg.tag),
            }
        } else {
            self.take_copy(msg.tag);
        }
    }

    /// Round-robin delivery to the subscriptions with room (prefetch 0 is unlimited).
    fn dispatch(&mut self, now: Duration) {
        if self.frozen(now) {
            return;
        }
        self.dispatch_streams();
        let names: Vec<String> =
            self.queues.iter().filter(|(_, q)| !q.msgs.is_empty()).map(|(n, _)| n.clone()).collect();
        for name in names {
            loop {
                if self.queues.get(&name).is_none_or(|q| q.msgs.is_empty()) {
                    break;
                }
                let eligible: Vec<(LinkId, String)> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| c.connected)
                    .flat_map(|(link, c)| {
                        c.subs
                            .iter()
                            .filter(|(_, s)| s.queue == name && (s.auto || s.prefetch == 0 || s.unacked < s.prefetch))
                            .map(move |(id, _)| (*link, id.clone()))
                    })
                    .collect();
                if eligible.is_empty() {
                    break;
                }
                let cursor = self.round_robin.entry(name.clone()).or_insert(0);
                let (link, sub) = eligible[*cursor % eligible.len()].clone();
                *cursor = cursor.wrapping_add(1);
                let Some(msg) = self.queues.get_mut(&name).and_then(|q| q.msgs.pop_front()) else { break };
                self.deliver(link, &sub, &name, msg);
            }
        }
    }

    /// Each stream subscription reads the log on its own, as far as its credit goes.
    fn dispatch_streams(&mut self) {
        let mut due = Vec::new();
        for (link, conn) in self.conns.iter().filter(|(_, c)| c.connected) {
            for (id, sub) in &conn.subs {
                let (Some(next), Some(q)) = (sub.stream_next, self.queues.get(&sub.queue)) else { continue };
                let room = u64::from(sub.prefetch.saturating_sub(sub.unacked));
                let end = (q.log.len() as u64).min(next + room);
                for offset in next..end {
                    due.push((*link, id.clone(), sub.queue.clone(), offset));
                }
            }
        }
        for (link, id, queue, offset) in due {
            let Some((msg, _)) = self.queues.get(&queue).and_then(|q| q.log.get(offset as usize)).cloned() else {
                continue;
            };
            if let Some(sub) = self.conns.get_mut(&link).and_then(|c| c.subs.get_mut(&id)) {
                sub.stream_next = Some(offset + 1);
            }
            self.deliver_at(link, &id, &queue, msg, Some(offset));
        }
    }

    fn deliver(&mut self, link: LinkId, sub_id: &str, queue: &str, msg: Msg) {
        self.deliver_at(link, sub_id, queue, msg, None);
    }

    fn deliver_at(&mut self, link: LinkId, sub_id: &str, queue: &str, msg: Msg, offset: Option<u64>) {
        self.next_ack += 1;
        let n = self.next_ack;
        let Some(conn) = self.conns.get_mut(&link) else { return };
        let Some(sub) = conn.subs.get_mut(sub_id) else { return };
        // Unique across every connection, so an ack on the wrong one is caught.
        let ack_id = format!("T_{sub_id}@@{}@@{n}", conn.session);
        let mut frame = Frame::new(Command::Message)
            .with_header("subscription", sub_id)
            .with_header("destination", msg.destination.clone())
            .with_header("message-id", ack_id.clone())
            .with_header("redelivered", if msg.redelivered { "true" } else { "false" });
        if !sub.auto || self.ack_ids_on_auto {
            frame = frame.with_header("ack", ack_id);
        }
        if let Some(offset) = offset {
            frame = frame.with_header("x-stream-offset", offset.to_string());
        }
        frame.headers.extend(msg.headers.iter().cloned());
        frame.body = msg.body.clone();
        if sub.auto && offset.is_none() {
            // ack:auto: the broker forgets the message as it sends it.
            self.take_copy(msg.tag);
            self.forgotten.extend(msg.tag);
        } else {
            sub.unacked += 1;
            conn.unacked.insert(n, (sub_id.to_owned(), queue.to_owned(), msg));
            self.ack_owner.insert(n, (link, false));
        }
        self.send(link, &frame);
    }

    /// Heart-beats and slow confirms that are due.
    fn tick(&mut self, now: Duration) {
        if self.frozen(now) {
            return;
        }
        let expired: Vec<LinkId> =
            self.conns.iter().filter(|(_, c)| c.expires_at.is_some_and(|at| at <= now)).map(|(l, _)| *l).collect();
        for link in expired {
            self.expiry_closes += 1;
            self.close(link, SocketClose::new(1000, WEB_STOMP_DIED));
        }
        let links: Vec<LinkId> = self.conns.keys().copied().collect();
        for link in links {
            let Some(conn) = self.conns.get_mut(&link) else { continue };
            let Some(period) = conn.tick else { continue };
            if !conn.connected || conn.next_tick > now {
                continue;
            }
            let idle = conn.sent == conn.seen;
            // The counter is read before the heart-beat goes, as rabbit_heartbeat does.
            conn.seen = conn.sent;
            conn.next_tick = now + period;
            if idle {
                conn.sent += 1;
                self.out.push((link, Out::Bytes(b"\n".to_vec())));
            }
        }
        self.deliver_replies(now);
        if self.confirms.iter().any(|c| c.due <= now) {
            let (due, later): (Vec<Confirm>, Vec<Confirm>) =
                std::mem::take(&mut self.confirms).into_iter().partition(|c| c.due <= now);
            self.confirms = later;
            for confirm in due {
                self.unpersisted.remove(&confirm.uid);
                if self.conns.contains_key(&confirm.link) {
                    let answer = Frame::new(Command::Receipt).with_header("receipt-id", confirm.receipt);
                    self.send(confirm.link, &answer);
                }
            }
        }
    }

    fn next_due(&self, now: Duration) -> Option<Duration> {
        if self.frozen(now) {
            return None;
        }
        let ticks = self.conns.values().filter(|c| c.connected && c.tick.is_some()).map(|c| c.next_tick);
        let expiries = self.conns.values().filter_map(|c| c.expires_at);
        ticks.chain(self.confirms.iter().map(|c| c.due)).chain(self.replies.iter().map(|r| r.due)).chain(expiries).min()
    }

    /// The broker is killed and restarted: every connection drops, unconfirmed
    /// messages may be lost, durable queues keep the rest.
    fn restart(&mut self, now: Duration, down_for: Duration) {
        self.alarm_until = None;
        let links: Vec<LinkId> = self.conns.keys().copied().collect();
        for link in links {
            self.drop_conn(link);
        }
        let mut lost = Vec::new();
        for q in self.queues.values_mut() {
            if !q.durable {
                self.lost_with_queue.extend(q.msgs.iter().filter_map(|m| m.tag));
                lost.extend(q.msgs.drain(..).map(|m| m.tag));
                continue;
            }
            let unpersisted = &self.unpersisted;
            let rng = &mut self.rng;
            q.msgs.retain(|m| {
                let gone = unpersisted.contains(&m.uid) && rng.chance(50);
                if gone {
                    lost.push(m.tag);
                }
                !gone
            });
        }
        self.queues.retain(|_, q| q.durable);
        self.prune_bindings();
        for tag in lost {
            self.take_copy(tag);
        }
        self.unpersisted.clear();
        self.confirms.clear();
        self.frozen_until = None;
        self.down_until = Some(now + down_for);
    }
}

// ============================================================ the simulation

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SockState {
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
enum Payload {
    Items(Vec<Decoded>),
    Bytes(Vec<u8>),
    Close(SocketClose),
}

#[derive(Debug)]
struct Packet {
    due: Duration,
    payload: Payload,
}

#[derive(Debug)]
struct Sock {
    state: SockState,
    to_broker: VecDeque<Packet>,
    to_client: VecDeque<Packet>,
    /// The broker's side is gone: nothing more reaches it.
    broker_gone: bool,
    created_after_stop: bool,
    /// The driver was asked to close it while it was opening, and it opened anyway.
    close_ignored: bool,
    /// Decodes what the client writes.
    tap: Decoder,
    /// Decodes what reaches the client, to tell what RabbitMQ's own auto-ack
    /// delivered from what it lost on the way.
    inbound: Decoder,
    /// Since CONNECTED: when the client last sent anything, and the agreed interval.
    hb_since: Option<Duration>,
    hb_interval: Duration,
    /// Which cluster node (URL index) it goes to.
    node: usize,
    /// The client wrote DISCONNECT on it: nothing but heart-beats may follow.
    disconnect_written: bool,
    /// Cut without a close (tests/sim/exclusive.rs): nothing reaches the client
    /// either, while the broker keeps the connection for a while.
    cut: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PubKind {
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
enum Outcome {
    Confirmed,
    Refused,
    Stopped,
}

#[derive(Debug)]
struct Pub {
    tag: u64,
    kind: PubKind,
    outcome: Option<Outcome>,
    /// Waiting in the core's line for room.
    waiting: bool,
}

#[derive(Debug)]
struct ConsumerRec {
    queue: String,
    auto: bool,
    /// The most deliveries its buffer may hold: its window.
    window: u16,
    /// Its reader takes deliveries only now and then (else at once).
    slow: bool,
    cancel_requested: bool,
    cancelled: bool,
    failed: bool,
    /// For a stream consumer: what it was handed and acked.
    stream: Option<StreamRec>,
    /// For an exchange subscription: its exchange, binding key and durable queue.
    exchange: Option<ExchangeSubscription>,
}

/// What a stream consumer was handed: always exactly the offsets `first..contig`.
#[derive(Debug)]
struct StreamRec {
    /// A filtered consumer's filter: offsets of other values are never handed.
    filter: Option<StreamFilter>,
    start: StreamOffset,
    first: Option<u64>,
    contig: u64,
    /// Offsets the user acked.
    acked: BTreeSet<u64>,
}

impl StreamRec {
    /// Where the core must resubscribe: the lowest offset handed out and not
    /// acked, else the next one; before any delivery, its own start.
    fn expected_resume(&self) -> String {
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
fn filtered_resume_ok(offset: Option<&str>, expected: Option<&str>) -> bool {
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
enum DeclareExpect {
    Ok,
    Refused,
}

#[derive(Debug)]
struct DeclareRec {
    expect: DeclareExpect,
    done: bool,
}

#[derive(Debug, Clone)]
struct Held {
    acker: Acker,
}

/// One simulation's knobs.
#[derive(Debug, Clone)]
struct Config {
    window: Window,
    outbox: OutboxLimits,
    /// Most the page timer fires late, in ms.
    jitter: u64,
    /// Most the page timer fires early, in ms (a browser's setTimeout may, against
    /// performance.now()).
    early: u64,
    /// The driver arms a page timer (as the core's Alarm says); without it only the
    /// worker's tick wakes the core.
    page_timer: bool,
    /// The driver's worker ticks (every 250 ms); without it (a CSP forbids the
    /// worker) only the page timer does.
    ticker: bool,
    /// Percent of the broker's WebSocket messages split at random points.
    split: u64,
    /// Reconnect (else a one-off connection that ends with its first close).
    reconnect: bool,
    /// Most a chunk takes on the network, in ms.
    latency: u64,
    open_delay: (u64, u64),
    lose_error: u64,
    /// Percent of broker frames written in the same chunk as the one before.
    coalesce: u64,
    /// Percent of manual deliveries the user acks at once.
    immediate_ack: u64,
    /// Percent of consumers whose reader is slow (takes deliveries now and then).
    slow_readers: u64,
    /// How the core batches writes under load.
    pacing: Pacing,
    /// Most a management API look-up takes, in ms; percent that cannot answer.
    lookup_delay: u64,
    lookup_fails: u64,
    steps: usize,
    urls: usize,
    stop_at: Option<usize>,
    revoke_at: Option<usize>,
    /// The driver reports a socket open even after it was asked to close it.
    open_despite_close: bool,
    /// Some broker restarts are clean shutdowns that close each session with
    /// ERROR connection_forced and "STOMP died", like a refusal.
    graceful_restarts: bool,
    /// Credentials from a provider before every CONNECT (else fixed ones).
    creds: Option<CredsCfg>,
}

/// A simulated credentials provider, and the tokens it gives.
#[derive(Debug, Clone, Copy)]
struct CredsCfg {
    /// How long it takes, in ms.
    delay: (u64, u64),
    /// Percent of requests it fails.
    fails: u64,
    /// Percent of requests it answers after the core's timeout.
    slow: u64,
    /// Each token's lifetime in ms (`None`: a plain password, no expiry).
    lifetime: Option<u64>,
    /// It says the expiry itself too (else only the JWT's `exp` tells).
    says_expiry: bool,
    /// The broker closes a connection when its token expires (RabbitMQ 4.3).
    close_at_expiry: bool,
}

/// How long the simulated core waits for credentials.
const CREDS_TIMEOUT: Duration = Duration::from_secs(1);

impl Config {
    fn random(rng: &mut Rng) -> Self {
        let steps = rng.range(80, 150) as usize;
        let mut cfg = Config {
            window: Window { messages: rng.pick(&[1, 3, 16, 128]), bytes: rng.pick(&[400, 5000, 4 << 20]) },
            outbox: OutboxLimits { messages: rng.pick(&[8, 60, 10_000]), bytes: rng.pick(&[3000, 64 << 20]) },
            jitter: rng.pick(&[0, 4, 40, 100]),
            early: rng.pick(&[0, 0, 2]),
            page_timer: !rng.chance(10),
            ticker: true,
            split: rng.pick(&[0, 20, 60]),
            reconnect: !rng.chance(4),
            latency: rng.pick(&[0, 2, 30, 250]),
            open_delay: rng.pick(&[(1, 5), (5, 200), (100, 2500)]),
            lose_error: rng.pick(&[0, 50, 100]),
            coalesce: rng.pick(&[0, 40]),
            immediate_ack: rng.pick(&[0, 50, 90]),
            slow_readers: rng.pick(&[0, 30, 100]),
            pacing: if rng.chance(50) { Pacing::default() } else { Pacing { burst: 2, slot: ms(3) } },
            lookup_delay: rng.pick(&[0, 200, 8_000]),
            lookup_fails: rng.pick(&[0, 20]),
            steps,
            urls: rng.pick(&[1, 1, 2, 3]),
            stop_at: rng.chance(25).then(|| rng.below(steps as u64) as usize),
            revoke_at: rng.chance(4).then(|| rng.below(steps as u64) as usize),
            open_despite_close: rng.chance(20),
            graceful_restarts: true,
            creds: None,
        };
        // A page whose worker cannot start keeps the page timer, and the other way round.
        cfg.ticker = !cfg.page_timer || !rng.chance(15);
        // Drawn last, so that the schedules without a provider stay as they were.
        cfg.creds = rng.chance(20).then(|| CredsCfg {
            delay: rng.pick(&[(0, 5), (20, 400)]),
            fails: rng.pick(&[0, 0, 25]),
            slow: rng.pick(&[0, 10]),
            lifetime: rng.pick(&[None, Some(2_500), Some(10_000), Some(30_000)]),
            says_expiry: rng.chance(50),
            close_at_expiry: rng.chance(50),
        });
        // A token that may expire before its socket opens (2.5 s tokens, opens of
        // up to 2.5 s) can never keep a connection: no client could, and each
        // renewal only redelivers what was unacked (seen: seed 7252 never healed).
        if let Some(creds) = cfg.creds.as_mut().filter(|c| c.lifetime == Some(2_500) && cfg.open_delay.1 > 1_000) {
            creds.lifetime = Some(10_000);
        }
        cfg
    }

    /// Predictable: no latency, no jitter, no lost ERROR frames.
    fn scripted() -> Self {
        Config {
            window: Window::default(),
            outbox: OutboxLimits::default(),
            jitter: 0,
            early: 0,
            page_timer: true,
            ticker: false,
            split: 0,
            reconnect: true,
            latency: 0,
            open_delay: (10, 10),
            lose_error: 0,
            coalesce: 0,
            immediate_ack: 0,
            slow_readers: 0,
            pacing: Pacing::off(),
            lookup_delay: 0,
            lookup_fails: 0,
            steps: 0,
            urls: 1,
            stop_at: None,
            revoke_at: None,
            open_despite_close: false,
            graceful_restarts: false,
            creds: None,
        }
    }
}

macro_rules! stats {
    ($($field:ident),* $(,)?) => {
        /// What the schedules reached.
        #[derive(Debug, Default, Clone)]
        struct Stats { $($field: u64),* }
        impl Stats {
            fn add(&mut self, other: &Stats) { $(self.$field += other.$field;)* }
            fn report(&self) -> String {
                let mut out = String::new();
                $(out.push_str(&format!("  {:<22} {}\n", stringify!($field), self.$field));)*
                out
            }
        }
    };
}

stats!(
    resends_ahead_of_originals,
    broker_acked_lost_on_the_way,
    broker_acked_unread_at_cancel,
    broker_acked_consumers,
    rpc_calls,
    rpc_replies,
    rpc_timeouts,
    rpc_lost,
    rpc_failed,
    seeds,
    steps,
    published,
    confirmed,
    refused_publishes,
    invalid_publishes,
    full_outbox,
    failed_on_stop,
    deliveries,
    possible_duplicates,
    connects,
    reconnects,
    heartbeat_timeouts,
    connect_timeouts,
    network_drops,
    send_failures,
    broker_restarts,
    graceful_restarts,
    freezes,
    alarms,
    held_back,
    lost_errors,
    acks,
    nacks,
    stale_acks,
    double_acks,
    consumers,
    consumer_failed,
    cancels,
    declares,
    declares_refused,
    stops,
    stops_during_countdown,
    stops_while_opening,
    connect_refusals,
    ignored_closes,
    quiet_checks,
    warnings,
    not_declared_again,
    stream_consumers,
    stream_deliveries,
    stream_repeats,
    filtered_deliveries,
    stream_resumes,
    stream_nacks_refused,
    invalid_consumes,
    invalid_declares,
    node_stops,
    failovers,
    slow_readers,
    full_buffers,
    lookups,
    cancelled_acks,
    splits,
    one_off_stops,
    waited_for_room,
    withdrawn,
    early_timers,
    credentials_asked,
    credentials_failed,
    renewals,
    renewals_switched,
    renewals_failed,
    renewal_overlap_deliveries,
    renewals_subscribed_first,
    expired_refusals,
    expiry_closes,
    ex_publishes,
    ex_subscriptions,
    ex_durable_subscriptions,
    ex_deliveries,
    ex_gaps,
    ex_kept_across_restarts,
    exclusive_queues,
    exclusive_publishes,
    exclusive_held,
    exclusive_lost,
    cuts,
);

/// What one call into the core produced.
#[derive(Debug, Default)]
struct Ctx {
    before: Vec<ConsumerKey>,
    /// (link, subscription id, destination, x-stream-offset)
    subscribes: Vec<(LinkId, String, String, Option<String>)>,
    connected: Option<LinkId>,
    transmitted: usize,
    events: usize,
}

struct Sim {
    seed: u64,
    step: usize,
    verbose: bool,
    rng: Rng,
    cfg: Config,
    urls: Vec<String>,
    now: Duration,
    core: Core,
    broker: Broker,
    socks: BTreeMap<LinkId, Sock>,
    /// The simulated driver's page timer, armed as the core's `Alarm` says: when
    /// the simulated browser fires it.
    timer: Option<Duration>,
    alarm: Alarm,
    /// When the worker ticks next.
    next_tick: Option<Duration>,
    /// Timer fires at the current instant, to catch a timer that spins.
    fires_now: (Duration, u32),
    stop_called: bool,
    stopped: Option<StopReason>,
    retry_at: Option<Duration>,
    healing: bool,
    next_tag: u64,
    next_queue: u64,
    pubs: HashMap<OutboxId, Pub>,
    body_len: HashMap<u64, usize>,
    consumers: BTreeMap<ConsumerKey, ConsumerRec>,
    held: Vec<Held>,
    settled: Vec<Acker>,
    to_ack: Vec<Acker>,
    declares: HashMap<DeclareId, DeclareRec>,
    delivered: HashSet<u64>,
    unmarked: HashMap<u64, u32>,
    /// Each message a consumer's reader took: whether every copy so far was only
    /// marked resent (invariant 2).
    taken_by: HashMap<(ConsumerKey, u64), bool>,
    /// The link each message's first (unmarked) SEND went out on.
    original_link: HashMap<u64, LinkId>,
    /// Links the client wrote DISCONNECT on: a planned end.
    disconnected: HashSet<LinkId>,
    /// Unmarked copies of each message per stream consumer (each reads all of it).
    stream_unmarked: HashMap<(ConsumerKey, u64), u32>,
    /// Where the last connection went, to count failovers.
    last_url: Option<String>,
    confirmed_pending: HashSet<u64>,
    sub_map: HashMap<(LinkId, String), ConsumerKey>,
    /// Subscriptions the core queued, by (link, id): for which consumer, and the
    /// stream offset it must ask for.
    queued_subs: HashMap<(LinkId, String), (ConsumerKey, Option<String>)>,
    /// Messages RabbitMQ's own auto-ack delivered that reached the core, with
    /// the consumer they came for.
    arrived_broker_acked: HashMap<u64, Option<ConsumerKey>>,
    /// Consumers the core said have something to take.
    readable: BTreeSet<ConsumerKey>,
    /// Publishes waiting for room, in the order they came.
    waiting: VecDeque<OutboxId>,
    /// Management API look-ups to answer: when, and the question.
    lookups: Vec<(Duration, QueueLookUp)>,
    /// Exchange look-ups waiting for their answer.
    exchange_lookups: Vec<(Duration, ExchangeLookUp)>,
    /// Credentials answers to give: when, for which request, what.
    creds_due: Vec<(Duration, CredentialsId, Result<Credentials, String>)>,
    /// Links a planned reconnect is ending.
    renewing: HashSet<LinkId>,
    /// Links that took over from a renewal's old one (make-before-break): a
    /// transient exchange subscription there has no gap.
    renewed: HashSet<LinkId>,
    /// The consumers (and their subscription ids) a renewal's new link had when
    /// it took over: the old link may DISCONNECT only once the broker has them.
    took_over: Vec<(LinkId, ConsumerKey, String)>,
    last_pump: (usize, usize),
    stats: Stats,
    /// Regression tests read these.
    record: bool,
    events: Vec<(Duration, ReliableEvent)>,
    transmits: Vec<(Duration, LinkId, Vec<Decoded>)>,
    actions: Vec<(Duration, Action)>,
    /// Deliveries the readers took.
    taken: Vec<(ConsumerKey, burrow::rabbit::Delivery)>,
    /// RPC (tests/sim/rpc.rs): its own random numbers, the calls made, and ends
    /// said before their call was known.
    rpc_rng: Rng,
    calls: HashMap<burrow::reliable::CallId, sim_rpc::CallRec>,
    early_calls: Vec<(burrow::reliable::CallId, Result<Box<burrow::rabbit::Delivery>, burrow::reliable::CallError>)>,
    /// Exchange subscriptions and publishes (tests/sim/exchanges.rs).
    ex: sim_exchanges::SimExchanges,
    /// Exclusive queues and silent cuts (tests/sim/exclusive.rs).
    excl: sim_exclusive::SimExclusive,
}

macro_rules! vlog {
    ($sim:expr, $($arg:tt)*) => {
        if $sim.verbose {
            eprintln!("[{:>10.3}] {}", $sim.now.as_secs_f64(), format_args!($($arg)*));
        }
    };
}

macro_rules! fail {
    ($sim:expr, $($arg:tt)*) => {
        panic!(
            "simulation invariant violated: SEED={} step={} t={:?}: {}\n  replay: BURROW_SIM_SEED={} cargo test --test simulation simulation_runs -- --nocapture",
            $sim.seed, $sim.step, $sim.now, format_args!($($arg)*), $sim.seed
        )
    };
}

#[path = "sim/rpc.rs"]
mod sim_rpc;
#[path = "sim/exchanges.rs"]
mod sim_exchanges;
#[path = "sim/exclusive.rs"]
mod sim_exclusive;
#[path = "sim/blame.rs"]
mod sim_blame;

fn describe_items(items: &[Decoded]) -> String {
    items
        .iter()
        .map(|i| match i {
            Decoded::HeartBeat => "EOL".to_owned(),
            Decoded::Frame(f) => {
                let extra = ["destination", "id", "receipt", "ack", "amqp-message-id", "burrow-resent", "x-stream-offset"]
                    .iter()
                    .filter_map(|h| f.header(h).map(|v| format!("{h}:{v}")))
                    .collect::<Vec<_>>()
                    .join(" ");
                format!("{} {extra}", f.command)
            }
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn describe_bytes(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for part in text.split('\0') {
        let first = part.trim_start_matches('\n').lines().next().unwrap_or("");
        if first.is_empty() {
            continue;
        }
        let keys: Vec<&str> = part
            .lines()
            .filter(|l| {
                ["receipt-id:", "subscription:", "message:", "amqp-message-id:", "redelivered:", "burrow-resent:"]
                    .iter()
                    .any(|p| l.starts_with(p))
            })
            .collect();
        out.push_str(&format!("{first} {} | ", keys.join(" ")));
    }
    if out.is_empty() {
        format!("{} EOL", bytes.len())
    } else {
        out
    }
}

impl Sim {
    fn new(seed: u64, cfg: Config, verbose: bool) -> Sim {
        let urls: Vec<String> = (0..cfg.urls).map(|i| format!("ws://node{i}.sim:15674/ws")).collect();
        let options = ConnectOptions::new("/").with_credentials("guest", "guest");
        let settings = ReliableOptions {
            reconnect: cfg.reconnect,
            outbox: cfg.outbox,
            window: cfg.window,
            max_frame: MAX_FRAME,
            limits: Limits::default(),
            pacing: cfg.pacing,
            ask_credentials: cfg.creds.is_some(),
            credentials_timeout: CREDS_TIMEOUT,
            ..ReliableOptions::default()
        };
        let core = Core::new(urls.clone(), options, settings, seed);
        let mut broker = Broker::new(seed, cfg.lose_error);
        broker.close_at_expiry = cfg.creds.is_some_and(|c| c.close_at_expiry);
        Sim {
            seed,
            step: 0,
            verbose,
            rng: Rng::new(seed),
            broker,
            cfg,
            urls,
            now: Duration::ZERO,
            core,
            socks: BTreeMap::new(),
            timer: None,
            alarm: Alarm::default(),
            next_tick: None,
            fires_now: (Duration::ZERO, 0),
            stop_called: false,
            stopped: None,
            retry_at: None,
            healing: false,
            next_tag: 0,
            next_queue: 0,
            pubs: HashMap::new(),
            body_len: HashMap::new(),
            consumers: BTreeMap::new(),
            held: Vec::new(),
            settled: Vec::new(),
            to_ack: Vec::new(),
            declares: HashMap::new(),
            delivered: HashSet::new(),
            unmarked: HashMap::new(),
            taken_by: HashMap::new(),
            original_link: HashMap::new(),
            disconnected: HashSet::new(),
            stream_unmarked: HashMap::new(),
            last_url: None,
            confirmed_pending: HashSet::new(),
            sub_map: HashMap::new(),
            queued_subs: HashMap::new(),
            arrived_broker_acked: HashMap::new(),
            readable: BTreeSet::new(),
            waiting: VecDeque::new(),
            lookups: Vec::new(),
            exchange_lookups: Vec::new(),
            creds_due: Vec::new(),
            renewing: HashSet::new(),
            renewed: HashSet::new(),
            took_over: Vec::new(),
            last_pump: (0, 0),
            stats: Stats::default(),
            record: false,
            events: Vec::new(),
            transmits: Vec::new(),
            actions: Vec::new(),
            taken: Vec::new(),
            rpc_rng: Rng::new(seed ^ 0x5250_4300),
            calls: HashMap::new(),
            early_calls: Vec::new(),
            ex: sim_exchanges::SimExchanges::new(seed),
            excl: sim_exclusive::SimExclusive::new(seed),
        }
    }

    // ---------------------------------------------------------------- driving the core

    /// Calls into the core, then carries out everything it asks.
    fn call<R>(&mut self, f: impl FnOnce(&mut Core, Duration) -> R) -> R {
        let before: Vec<ConsumerKey> = self.core.consumers().collect();
        // Pacing may have held bytes that this call's drain writes: not the call's.
        let held = self.core.has_transmits();
        let result = f(&mut self.core, self.now);
        self.pump(Ctx { before, ..Ctx::default() });
        if held {
            self.last_pump.0 = 0;
        }
        self.read_fast();
        result
    }

    /// Fast readers take what became readable at once.
    fn read_fast(&mut self) {
        loop {
            let fast = self.readable.iter().copied().find(|key| self.consumers.get(key).is_some_and(|r| !r.slow));
            let Some(key) = fast else { return };
            self.read(key, usize::MAX);
        }
    }

    /// `key`'s reader takes up to `most` deliveries (or sees its end).
    fn read(&mut self, key: ConsumerKey, most: usize) {
        let mut taken = 0;
        while taken < most {
            let before: Vec<ConsumerKey> = self.core.consumers().collect();
            let result = self.core.take_delivery(self.now, key);
            match result {
                Taken::Delivery { delivery, acker } => {
                    taken += 1;
                    self.on_delivery(key, delivery, acker);
                    // An auto-ack take may earn an ACK.
                    self.pump(Ctx { before, ..Ctx::default() });
                }
                Taken::Empty => {
                    self.readable.remove(&key);
                    return;
                }
                Taken::Ended(error) => {
                    self.readable.remove(&key);
                    self.on_end(key, error);
                    return;
                }
            }
        }
    }

    /// A consumer's reader saw its end.
    fn on_end(&mut self, key: ConsumerKey, error: Option<ConsumeError>) {
        let Some(rec) = self.consumers.get(&key) else { fail!(self, "the end of unknown {key:?}") };
        match &error {
            None if rec.cancel_requested || self.over() => {}
            Some(ConsumeError::Refused(_) | ConsumeError::CancelledByBroker(_)) if rec.failed => {}
            _ => fail!(self, "{key:?} ended with {error:?} ({rec:?})"),
        }
    }

    fn pump(&mut self, mut ctx: Ctx) {
        self.learn_subscriptions();
        loop {
            let mut progress = false;
            while let Some(action) = self.core.poll_action() {
                progress = true;
                self.exec_action(action);
            }
            let mut buf = Vec::new();
            while let Some(link) = self.core.poll_transmit(self.now, &mut buf) {
                progress = true;
                self.on_transmit(link, std::mem::take(&mut buf), &mut ctx);
            }
            while let Some(event) = self.core.poll_event() {
                progress = true;
                self.on_event(event, &mut ctx);
            }
            if !progress {
                break;
            }
        }
        self.after_pump(ctx);
    }

    /// After a drain: the driver (re)arms its page timer as the core's `Alarm`
    /// says; the simulated browser fires it late by up to `jitter`, early by up to
    /// `early`, and at once for a delay above 2^31 - 1 ms, as browsers do.
    fn refresh_timer(&mut self) {
        if self.cfg.ticker && self.next_tick.is_none() && self.core.poll_timeout().is_some() {
            self.next_tick = Some(self.now + ms(250));
        }
        if !self.cfg.page_timer {
            return;
        }
        let Some(delay) = self.alarm.arm(self.now, self.core.poll_timeout()) else { return };
        // What browsers take, said outright rather than by Burrow's MAX_DELAY.
        let longest = Duration::from_millis(2_147_483_647);
        if delay > longest {
            fail!(self, "the driver was told to arm a timer for {delay:?}, which a browser fires at once");
        }
        let browser = if delay > longest { Duration::ZERO } else { delay };
        let late = ms(self.rng.below(self.cfg.jitter + 1));
        let early = ms(self.rng.below(self.cfg.early + 1));
        self.timer = Some((self.now + browser + late).saturating_sub(early).max(self.now));
    }

    fn fire_timer(&mut self) {
        if self.timer.take().is_none() {
            return;
        }
        // A timer that fires again and again at one instant would spin the page.
        self.fires_now = if self.fires_now.0 == self.now { (self.now, self.fires_now.1 + 1) } else { (self.now, 1) };
        if self.fires_now.1 > 50 {
            fail!(self, "the driver's timer fired 50 times at {:?}: it spins", self.now);
        }
        vlog!(self, "timer (next deadline {:?})", self.core.poll_timeout());
        if self.core.poll_timeout().is_some_and(|at| at > self.now) {
            self.stats.early_timers += 1;
        }
        self.alarm.fired();
        self.call(|c, now| c.handle_timeout(now));
        if self.core.poll_timeout().is_some_and(|next| next < self.now) {
            fail!(self, "handle_timeout({:?}) left a deadline in the past: a driver would spin", self.now);
        }
    }

    /// The worker ticks: the core is woken when a deadline passed.
    fn tick(&mut self) {
        self.next_tick = self.core.poll_timeout().map(|_| self.now + ms(250));
        if self.core.poll_timeout().is_some_and(|at| at <= self.now) {
            vlog!(self, "tick");
            self.call(|c, now| c.handle_timeout(now));
        }
    }

    fn exec_action(&mut self, action: Action) {
        vlog!(self, "action {action:?}");
        if self.record {
            self.actions.push((self.now, action.clone()));
        }
        match action {
            Action::Open { link, url } => {
                if self.stop_called || self.stopped.is_some() {
                    fail!(self, "Open {link} after stop()");
                }
                if !self.urls.contains(&url) {
                    fail!(self, "Open to unknown URL {url}");
                }
                if self.socks.contains_key(&link) {
                    fail!(self, "Open of {link} twice");
                }
                let node = self.urls.iter().position(|u| *u == url).unwrap_or(0);
                let down = self.broker.down(self.now) || self.broker.node_down(node, self.now);
                let delay = if down {
                    ms(self.rng.range(0, 20))
                } else {
                    ms(self.rng.range(self.cfg.open_delay.0, self.cfg.open_delay.1))
                };
                self.socks.insert(
                    link,
                    Sock {
                        state: SockState::Opening { at: self.now + delay, fail: down },
                        to_broker: VecDeque::new(),
                        to_client: VecDeque::new(),
                        broker_gone: false,
                        created_after_stop: self.stop_called,
                        close_ignored: false,
                        tap: Decoder::new(Limits::default()),
                        inbound: Decoder::new(Limits::default()),
                        hb_since: None,
                        hb_interval: Duration::ZERO,
                        node,
                        disconnect_written: false,
                        cut: false,
                    },
                );
            }
            Action::Credentials { id, url } => {
                if self.stop_called || self.stopped.is_some() {
                    fail!(self, "credentials asked for after stop()");
                }
                if !self.urls.contains(&url) {
                    fail!(self, "credentials for unknown URL {url}");
                }
                self.ask_credentials(id);
            }
            Action::LookUp(question) => {
                if !self.urls.contains(&question.url) || question.queue.is_empty() || question.vhost != "/" {
                    fail!(self, "a look-up of {question:?}");
                }
                self.stats.lookups += 1;
                let due = self.now + ms(self.rng.below(self.cfg.lookup_delay + 1));
                self.lookups.push((due, question));
            }
            Action::ExchangeLookUp(question) => {
                if !self.urls.contains(&question.url) || question.exchange.is_empty() || question.vhost != "/" {
                    fail!(self, "a look-up of {question:?}");
                }
                self.stats.lookups += 1;
                let due = self.now + ms(self.rng.below(self.cfg.lookup_delay + 1));
                self.exchange_lookups.push((due, question));
            }
            Action::Close { link, code, reason } => {
                if !(code == 1000 || (3000..=4999).contains(&code)) {
                    fail!(self, "Close {link} with code {code}, which a browser refuses");
                }
                let latency = self.latency();
                let now = self.now;
                let open_despite_close = self.cfg.open_despite_close;
                let Some(sock) = self.socks.get_mut(&link) else {
                    fail!(self, "Close of unknown {link} ({reason})");
                };
                sock.hb_since = None;
                match sock.state {
                    SockState::Opening { fail, .. } if open_despite_close && !fail && !sock.close_ignored => {
                        // The socket was already opening: it opens anyway, and the
                        // driver reports it.
                        sock.close_ignored = true;
                        self.stats.ignored_closes += 1;
                    }
                    SockState::Opening { .. } => sock.state = SockState::Dead,
                    SockState::Open => {
                        sock.to_client.clear();
                        if sock.broker_gone {
                            sock.state = SockState::Dead;
                        } else {
                            sock.state = SockState::ClientClosed;
                            let due = sock.to_broker.back().map_or(now, |p| p.due).max(now + latency);
                            sock.to_broker
                                .push_back(Packet { due, payload: Payload::Close(SocketClose::new(code, reason)) });
                        }
                    }
                    SockState::ClientClosed | SockState::Dead => {}
                }
            }
        }
    }

    fn latency(&mut self) -> Duration {
        ms(self.rng.below(self.cfg.latency + 1))
    }

    fn on_transmit(&mut self, link: LinkId, bytes: Vec<u8>, ctx: &mut Ctx) {
        ctx.transmitted += 1;
        let now = self.now;
        let latency = self.latency();
        let tolerance = self.wake_tolerance();
        let stop_called = self.stop_called;
        let Some(sock) = self.socks.get_mut(&link) else {
            fail!(self, "wrote to unknown {link}");
        };
        if sock.state != SockState::Open {
            let state = sock.state;
            fail!(self, "wrote {} bytes to {link}, which is {state:?}", bytes.len());
        }
        sock.tap.push(&bytes);
        let mut items = Vec::new();
        loop {
            match sock.tap.next_item() {
                Ok(Some(item)) => items.push(item),
                Ok(None) => break,
                Err(error) => fail!(self, "the client wrote bytes that do not decode: {error}"),
            }
        }
        let created_after_stop = sock.created_after_stop;
        let mut retiring_disconnect = false;
        // Pacing may hold frames queued before stop() until after it; never after
        // the DISCONNECT.
        let paced = self.cfg.pacing != Pacing::off();
        for item in &items {
            let Decoded::Frame(frame) = item else { continue };
            if matches!(frame.command, Command::Connect | Command::Stomp) && (stop_called || created_after_stop) {
                fail!(self, "CONNECT on {link} after stop()");
            }
            if stop_called && frame.command != Command::Disconnect && (!paced || sock.disconnect_written) {
                fail!(self, "{} sent on {link} after stop()", frame.command);
            }
            if frame.command == Command::Send && frame.header(burrow::rabbit::RESENT_HEADER).is_none() {
                if let Some(tag) = parse_tag(&frame.body) {
                    self.original_link.entry(tag).or_insert(link);
                }
            }
            if frame.command == Command::Disconnect {
                self.disconnected.insert(link);
                sock.disconnect_written = true;
                retiring_disconnect |= self.core.retiring_link() == Some(link) && !stop_called;
            }
            if frame.command == Command::Subscribe {
                let id = frame.header("id").unwrap_or_default().to_owned();
                let destination = frame.header("destination").unwrap_or_default().to_owned();
                let offset = frame.header("x-stream-offset").map(str::to_owned);
                ctx.subscribes.push((link, id, destination, offset));
            }
        }
        // Invariant 8: no gap longer than the agreed interval between sends.
        if let Some(last) = sock.hb_since {
            let gap = now.saturating_sub(last);
            if gap > sock.hb_interval + tolerance {
                let interval = sock.hb_interval;
                fail!(self, "the client was silent on {link} for {gap:?} (heart-beat every {interval:?})");
            }
            sock.hb_since = Some(now);
        }
        if retiring_disconnect {
            self.check_subscribed_first(link);
        }
        vlog!(self, "{link} > {}", describe_items(&items));
        if self.record {
            self.transmits.push((now, link, items.clone()));
        }
        let Some(sock) = self.socks.get_mut(&link) else { return };
        if sock.broker_gone {
            return;
        }
        let due = sock.to_broker.back().map_or(now, |p| p.due).max(now + latency);
        sock.to_broker.push_back(Packet { due, payload: Payload::Items(items) });
    }

    fn on_event(&mut self, event: ReliableEvent, ctx: &mut Ctx) {
        ctx.events += 1;
        vlog!(self, "event {}", short_event(&event));
        if self.stopped.is_some() {
            fail!(self, "an event after Stopped: {event:?}");
        }
        if self.record {
            self.events.push((self.now, event.clone()));
        }
        match event {
            ReliableEvent::Connection(ConnectionEvent::Connecting { url, .. }) => {
                if !self.urls.contains(&url) {
                    fail!(self, "Connecting to unknown URL {url}");
                }
                if let Some(retry_at) = self.retry_at.take() {
                    if self.now < retry_at {
                        fail!(self, "reconnected at {:?}, before the announced {retry_at:?}", self.now);
                    }
                }
            }
            ReliableEvent::Connection(ConnectionEvent::Connected { link, info, url }) => {
                self.stats.connects += 1;
                if self.last_url.as_ref().is_some_and(|last| *last != url) {
                    self.stats.failovers += 1;
                }
                self.last_url = Some(url);
                if info.version != "1.2" {
                    fail!(self, "connected with version {}", info.version);
                }
                let now = self.now;
                let Some(sock) = self.socks.get_mut(&link) else { fail!(self, "Connected on unknown {link}") };
                if sock.state != SockState::Open {
                    let state = sock.state;
                    fail!(self, "Connected on {link}, which is {state:?}");
                }
                if !info.heart_beat.outgoing.is_zero() {
                    sock.hb_since = Some(now);
                    sock.hb_interval = info.heart_beat.outgoing;
                }
                ctx.connected = Some(link);
            }
            ReliableEvent::Connection(ConnectionEvent::Reconnecting { reason, retry_at, .. }) => {
                match reason {
                    CloseReason::Credentials(_) => self.stats.credentials_failed += 1,
                    CloseReason::TokenExpired(_) if self.cfg.creds.is_none() => {
                        fail!(self, "an expired token retried without a provider")
                    }
                    CloseReason::HeartBeatTimeout { .. } => self.stats.heartbeat_timeouts += 1,
                    CloseReason::ConnectTimeout(_) => self.stats.connect_timeouts += 1,
                    _ => {}
                }
                if retry_at < self.now {
                    fail!(self, "a retry announced in the past ({retry_at:?})");
                }
                self.retry_at = Some(retry_at);
            }
            ReliableEvent::Readable(key) => {
                if !self.consumers.contains_key(&key) {
                    fail!(self, "Readable({key:?}) of no consumer");
                }
                self.readable.insert(key);
            }
            ReliableEvent::Admitted(id) => {
                let Some(publish) = self.pubs.get_mut(&id) else { fail!(self, "Admitted({id}) of no publish") };
                if !publish.waiting || publish.outcome.is_some() {
                    fail!(self, "Admitted({id}) of a publish that did not wait ({publish:?})");
                }
                publish.waiting = false;
                if self.waiting.pop_front() != Some(id) {
                    fail!(self, "Admitted({id}) out of the order the publishers came in");
                }
            }
            ReliableEvent::Confirmed(id) => {
                self.stats.confirmed += 1;
                let Some(publish) = self.pubs.get_mut(&id) else { fail!(self, "Confirmed({id}) of no publish") };
                if let Some(outcome) = &publish.outcome {
                    fail!(self, "{id} confirmed after {outcome:?}");
                }
                if publish.waiting {
                    fail!(self, "{id} confirmed while it still waited for room");
                }
                publish.outcome = Some(Outcome::Confirmed);
                let (tag, kind) = (publish.tag, publish.kind);
                match kind {
                    PubKind::MissingExchange => fail!(self, "m-{tag}, published to a missing exchange, was confirmed"),
                    PubKind::Unrouted | PubKind::Exchange => {}
                    PubKind::Exclusive => self.check_exclusive_confirmed(tag, false),
                    PubKind::Stream => {
                        if self.broker.copies_of(tag) == 0 {
                            fail!(self, "m-{tag} was confirmed but the stream does not have it");
                        }
                    }
                    PubKind::Valid => {
                        // Invariant 1: a confirmed message is in the broker, or was delivered.
                        if !self.delivered.contains(&tag) {
                            if self.broker.copies_of(tag) == 0 && !self.broker.forgotten.contains(&tag) {
                                fail!(self, "m-{tag} was confirmed but the broker does not have it");
                            }
                            self.confirmed_pending.insert(tag);
                        }
                    }
                }
            }
            ReliableEvent::PublishFailed { publish, error } => {
                let Some(p) = self.pubs.get_mut(&publish) else {
                    fail!(self, "PublishFailed({publish}) of no publish")
                };
                if let Some(outcome) = &p.outcome {
                    fail!(self, "{publish} failed after {outcome:?}");
                }
                let (tag, kind) = (p.tag, p.kind);
                match (&error, kind) {
                    (PublishError::Refused(_), PubKind::MissingExchange) => {
                        p.outcome = Some(Outcome::Refused);
                        self.stats.refused_publishes += 1;
                    }
                    (PublishError::Stopped | PublishError::StoppedUnsent, _)
                        if self.stop_called
                            || self.broker.refuse_connect
                            || !self.cfg.reconnect
                            || (self.broker.expired_refusals > 0 && self.cfg.creds.is_none()) =>
                    {
                        if p.waiting {
                            p.waiting = false;
                            self.waiting.retain(|w| *w != publish);
                        }
                        p.outcome = Some(Outcome::Stopped);
                        self.stats.failed_on_stop += 1;
                    }
                    _ => fail!(self, "m-{tag} ({kind:?}) failed: {error}"),
                }
            }
            ReliableEvent::Connection(ConnectionEvent::Renewed { old, link, info, .. }) => {
                // Make-before-break: the new link is current, the old one retires.
                self.stats.renewals_switched += 1;
                if self.core.current_link() != Some(link) || self.core.retiring_link() != Some(old) {
                    fail!(self, "Renewed {old} -> {link}, but current {:?}, retiring {:?}", self.core.current_link(), self.core.retiring_link());
                }
                // Its consumers were all subscribed there before it took over (a
                // transient exchange subscription moves after the old link, with a gap).
                let transient = |key: &ConsumerKey| {
                    self.consumers.get(key).is_some_and(|r| r.exchange.as_ref().is_some_and(|e| e.durable_queue.is_none()))
                };
                // A consumer of an exclusive queue waits for the old link to let it
                // go; so does a stream consumer from `next` or `last` that had been
                // handed nothing when the new link connected (invariant 9 checks
                // where it resumes).
                let exclusive = |key: &ConsumerKey| {
                    self.consumers.get(key).is_some_and(|r| {
                        let relative =
                            r.stream.as_ref().is_some_and(|st| matches!(st.start, StreamOffset::Next | StreamOffset::Last));
                        self.excl.is_exclusive(&r.queue) || relative
                    })
                };
                let missing: Vec<ConsumerKey> = self
                    .core
                    .consumers()
                    .filter(|k| self.core.consumer_tag(*k).is_none() && !transient(k) && !exclusive(k))
                    .collect();
                if !missing.is_empty() {
                    fail!(self, "Renewed to {link} with consumers {missing:?} not subscribed there");
                }
                // Make-before-break: the broker has each of them there already.
                self.took_over.clear();
                for key in self.core.consumers().collect::<Vec<_>>() {
                    let Some(sub) = self.core.consumer_tag(key).map(|t| t.0.clone()) else { continue };
                    let on_broker = self.broker.conns.get(&link).is_some_and(|c| c.subs.contains_key(&sub));
                    if !on_broker && self.broker.conns.contains_key(&link) {
                        fail!(self, "Renewed to {link} before the broker had {key:?}'s subscription {sub} there");
                    }
                    self.took_over.push((link, key, sub));
                }
                self.renewed.insert(link);
                let now = self.now;
                let Some(sock) = self.socks.get_mut(&link) else { fail!(self, "Renewed to unknown {link}") };
                if !info.heart_beat.outgoing.is_zero() {
                    sock.hb_since = Some(now);
                    sock.hb_interval = info.heart_beat.outgoing;
                }
            }
            ReliableEvent::Connection(ConnectionEvent::Renewing { link, .. }) => {
                self.renewing.insert(link);
                if self.cfg.creds.is_none_or(|c| c.lifetime.is_none()) {
                    fail!(self, "a planned reconnect without credentials that expire");
                }
                self.stats.renewals += 1;
            }
            ReliableEvent::Connection(ConnectionEvent::ConsumerReady(key)) => {
                let Some(rec) = self.consumers.get(&key) else { fail!(self, "ConsumerReady({key:?}) of no consumer") };
                if rec.cancel_requested || rec.failed {
                    fail!(self, "ConsumerReady({key:?}) after it ended ({rec:?})");
                }
                self.on_exchange_ready(key);
            }
            ReliableEvent::Connection(ConnectionEvent::ConsumerFailed { consumer, error }) => {
                let Some(rec) = self.consumers.get_mut(&consumer) else { fail!(self, "ConsumerFailed of no consumer") };
                if rec.failed || rec.cancelled {
                    fail!(self, "ConsumerFailed({consumer:?}) after it ended");
                }
                rec.failed = true;
                let queue = rec.queue.clone();
                match (&error, queue.as_str()) {
                    (ConsumeError::Refused(_), "missing") => self.stats.consumer_failed += 1,
                    (ConsumeError::Refused(_), queue) if self.excl.may_fail(queue) => self.stats.consumer_failed += 1,
                    (ConsumeError::CancelledByBroker(_), _) if self.broker.cancelled_subscriptions > 0 => {}
                    // A one-off connection has no second connection to tell a
                    // refusal from a close whose words were lost (a restart's
                    // ERROR that 3.10.8 dropped): its pending subscription is blamed.
                    (ConsumeError::Refused(refusal), _)
                        if !self.cfg.reconnect && refusal.detail.contains("without saying why") =>
                    {
                        self.stats.consumer_failed += 1
                    }
                    _ => fail!(self, "{consumer:?} on {queue} failed: {error}"),
                }
            }
            ReliableEvent::ConsumerCancelled(key) => {
                let Some(rec) = self.consumers.get_mut(&key) else { fail!(self, "ConsumerCancelled of no consumer") };
                if !rec.cancel_requested || rec.cancelled || rec.failed {
                    fail!(self, "ConsumerCancelled({key:?}) unasked or twice ({rec:?})");
                }
                rec.cancelled = true;
                // Invariant 4: no subscription of it left on a connection the client uses.
                for ((link, sub), k) in &self.sub_map {
                    if *k != key {
                        continue;
                    }
                    let live = self.socks.get(link).is_some_and(|s| s.state == SockState::Open && !s.broker_gone);
                    let subscribed = self.broker.conns.get(link).is_some_and(|c| c.subs.contains_key(sub));
                    if live && subscribed {
                        fail!(self, "ConsumerCancelled({key:?}) but the broker still has {sub} on {link}");
                    }
                }
            }
            ReliableEvent::CallDone { call, result } => self.on_call_done(call, result),
            ReliableEvent::Declared { request, result } => {
                let Some(rec) = self.declares.get_mut(&request) else { fail!(self, "Declared of no declare") };
                if rec.done {
                    fail!(self, "Declared({request:?}) twice");
                }
                rec.done = true;
                let over = self.over();
                let Some(rec) = self.declares.get_mut(&request) else { fail!(self, "Declared of no declare") };
                match (rec.expect, &result) {
                    (_, Err(DeclareError::Closed(_))) => {}
                    // A side connection's declare, when stop() ended it.
                    (_, Err(DeclareError::Stopped)) if over => {}
                    (DeclareExpect::Ok, Ok(())) => self.excl.declare_confirmed(request),
                    (DeclareExpect::Refused, Err(DeclareError::Refused(_))) => self.stats.declares_refused += 1,
                    (expect, result) => fail!(self, "declare {request:?} (expected {expect:?}) answered {result:?}"),
                }
            }
            ReliableEvent::Connection(ConnectionEvent::PublishesHeldBack { since, in_flight }) => {
                self.stats.held_back += 1;
                vlog!(self, "publishes held back since {since:?} ({in_flight} in flight)");
                if in_flight == 0 || self.now < since + HELD_BACK_AFTER {
                    fail!(self, "held back said with {in_flight} in flight, since {since:?}");
                }
            }
            ReliableEvent::Connection(ConnectionEvent::PublishesFlowing { held_for }) => {
                vlog!(self, "publishes flowing after {held_for:?}");
            }
            ReliableEvent::Connection(ConnectionEvent::OutboxChanged { messages, in_flight }) => {
                // Said last in a drain: the counts are the outbox's as the driver reads it.
                let outbox = self.core.outbox();
                if (messages, in_flight) != (outbox.len(), outbox.in_flight()) {
                    fail!(self, "OutboxChanged said {messages} ({in_flight} in flight), the outbox has {} ({})", outbox.len(), outbox.in_flight());
                }
            }
            ReliableEvent::Connection(ConnectionEvent::SubscriptionGap { consumer, exchange, routing_key }) => {
                self.on_gap(consumer, &exchange, &routing_key);
            }
            ReliableEvent::Connection(ConnectionEvent::Warning(words @ burrow::reliable::Warning::RenewalFailed(_))) => {
                self.stats.renewals_failed += 1;
                vlog!(self, "warning: {words}");
            }
            ReliableEvent::Connection(ConnectionEvent::Warning(words @ burrow::reliable::Warning::NotDeclaredAgain { .. })) => {
                // A queue declared again after a reconnect, refused or cut without words.
                self.stats.not_declared_again += 1;
                vlog!(self, "warning: {words}");
            }
            ReliableEvent::Connection(ConnectionEvent::Warning(words @ burrow::reliable::Warning::ExclusiveQueueHeld { .. })) => {
                self.stats.exclusive_held += 1;
                vlog!(self, "warning: {words}");
            }
            ReliableEvent::Connection(ConnectionEvent::Warning(words)) => {
                self.stats.warnings += 1;
                vlog!(self, "warning: {words}");
            }
            ReliableEvent::Connection(ConnectionEvent::Stopped(reason)) => {
                match &reason {
                    StopReason::Requested if self.stop_called => self.stats.stops += 1,
                    StopReason::Refused(CloseReason::ConnectRefused(_)) if self.broker.refuse_connect => {
                        self.stats.connect_refusals += 1;
                    }
                    // Fixed credentials whose token expired: nothing else to send.
                    StopReason::Refused(CloseReason::TokenExpired(_))
                        if self.broker.expired_refusals > 0 && self.cfg.creds.is_none() =>
                    {
                        self.stats.connect_refusals += 1;
                    }
                    // A one-off connection ends with its first close.
                    StopReason::Closed(_) | StopReason::Refused(_) if !self.cfg.reconnect => self.stats.one_off_stops += 1,
                    other => fail!(self, "Stopped({other:?}) without stop() or a refused CONNECT"),
                }
                self.stopped = Some(reason);
            }
        }
    }

    /// Invariant 2's order: an unmarked copy is the first `consumer`'s reader
    /// takes, unless the earlier copies were resends that overtook their original
    /// on its way over a connection lost unplanned (sent before the loss was
    /// known, no client can order those two).
    fn check_unmarked_first(&mut self, consumer: ConsumerKey, tag: u64) {
        let overtaken = self.original_link.get(&tag).is_some_and(|link| !self.disconnected.contains(link));
        match self.taken_by.get(&(consumer, tag)) {
            Some(true) if overtaken => self.stats.resends_ahead_of_originals += 1,
            Some(_) => fail!(self, "m-{tag} came unmarked to {consumer:?} after an earlier copy"),
            None => {}
        }
    }

    /// A copy of `tag` reached `consumer`'s reader (see `check_unmarked_first`).
    fn note_taken(&mut self, consumer: ConsumerKey, tag: u64, delivery: &burrow::rabbit::Delivery) {
        let resent_only = delivery.resent && !delivery.redelivered;
        *self.taken_by.entry((consumer, tag)).or_insert(true) &= resent_only;
    }

    /// A delivery the reader took: every check a delivery gets.
    fn on_delivery(&mut self, consumer: ConsumerKey, delivery: burrow::rabbit::Delivery, acker: Option<Acker>) {
        self.stats.deliveries += 1;
        let Some(tag) = parse_tag(&delivery.body) else { fail!(self, "a delivery of a body we never sent") };
        if self.body_len.get(&tag) != Some(&delivery.body.len()) {
            fail!(self, "m-{tag} arrived with a body of {} bytes", delivery.body.len());
        }
        let Some(rec) = self.consumers.get(&consumer) else {
            fail!(self, "a delivery for unknown {consumer:?}")
        };
        if rec.cancel_requested || rec.failed {
            fail!(self, "m-{tag} delivered to {consumer:?} after it ended ({rec:?})");
        }
        let from_exchange = rec.exchange.is_some();
        if !from_exchange && rec.queue != "q" && rec.queue != "s" && !self.excl.is_exclusive(&rec.queue) {
            fail!(self, "m-{tag} delivered to a consumer of {}", rec.queue);
        }
        if acker.is_some() == rec.auto {
            fail!(self, "m-{tag}: acker {acker:?} for a consumer with auto_ack {}", rec.auto);
        }
        if let Some(acker) = &acker {
            // A renewal's old and new links deliver beside the current one.
            let live = [self.core.current_link(), self.core.successor_link(), self.core.retiring_link()];
            if !live.contains(&Some(acker.link())) || acker.consumer() != consumer {
                fail!(self, "m-{tag}: acker {acker:?} is not of a live link");
            }
            if live[0] != Some(acker.link()) {
                self.stats.renewal_overlap_deliveries += 1;
            }
        }
        if from_exchange {
            self.on_exchange_delivery(consumer, tag, &delivery);
        } else if rec.queue == "s" {
            self.on_stream_delivery(consumer, tag, &delivery, acker.as_ref());
        } else {
            if delivery.stream_offset.is_some() || delivery.delivery_count.is_some() {
                fail!(self, "m-{tag} from a classic queue with a stream offset or delivery count");
            }
            // Invariant 2: one unmarked delivery per message at most, and it is
            // the first: a reader that has seen a marked copy must be told again.
            if delivery.possibly_duplicate() {
                self.stats.possible_duplicates += 1;
            } else {
                self.check_unmarked_first(consumer, tag);
                let count = self.unmarked.entry(tag).or_insert(0);
                *count += 1;
                if *count > 1 {
                    fail!(self, "m-{tag} was delivered twice without being marked as a possible duplicate");
                }
            }
            self.delivered.insert(tag);
            self.note_taken(consumer, tag, &delivery);
            self.confirmed_pending.remove(&tag);
        }
        if let Some(acker) = acker {
            if self.healing || self.rng.chance(self.cfg.immediate_ack) {
                self.to_ack.push(acker);
            } else {
                self.held.push(Held { acker });
            }
        }
        if self.record {
            self.taken.push((consumer, delivery));
        }
    }

    /// Notes each live consumer's subscription on the current link as the core
    /// queued it, with the stream offset it must resume at (invariant 9).
    fn learn_subscriptions(&mut self) {
        self.learn_subscriptions_on(self.core.current_link(), Core::consumer_tag);
        // A renewal's new link subscribes every consumer before it takes over
        // (or at once, if the old link dies first).
        if let Some(link) = self.core.successor_link() {
            self.renewed.insert(link);
        }
        self.learn_subscriptions_on(self.core.successor_link(), Core::successor_tag);
    }

    fn learn_subscriptions_on(
        &mut self,
        link: Option<LinkId>,
        tag_of: fn(&Core, ConsumerKey) -> Option<&burrow::client::SubscriptionId>,
    ) {
        let Some(link) = link else { return };
        let consumers: Vec<ConsumerKey> = self.core.consumers().collect();
        for key in consumers {
            let Some(tag) = tag_of(&self.core, key).map(|t| t.0.clone()) else { continue };
            if self.queued_subs.contains_key(&(link, tag.clone())) {
                continue;
            }
            let expected = self.consumers.get(&key).and_then(|r| r.stream.as_ref()).map(|st| match &st.filter {
                Some(filter) => self.filtered_resume(st, filter),
                None => st.expected_resume(),
            });
            self.queued_subs.insert((link, tag), (key, expected));
        }
    }

    fn after_pump(&mut self, mut ctx: Ctx) {
        self.last_pump = (ctx.transmitted, ctx.events);
        self.refresh_timer();
        // Which consumer each SUBSCRIBE is for: the live consumer whose tag it was
        // when the core queued it (pacing may write it later).
        for (link, id, destination, offset) in std::mem::take(&mut ctx.subscribes) {
            let Some((key, expected)) = self.queued_subs.get(&(link, id.clone())).cloned() else {
                fail!(self, "zombie: SUBSCRIBE {id} on {link} that no live consumer made");
            };
            let Some(rec) = self.consumers.get(&key) else { fail!(self, "SUBSCRIBE for unknown {key:?}") };
            let wanted = match &rec.exchange {
                Some(sub) => ConsumeFrom::Exchange(sub.clone()).destination().unwrap_or_default(),
                None => format!("/amq/queue/{}", rec.queue),
            };
            if destination != wanted {
                fail!(self, "SUBSCRIBE for {key:?} to {destination}, not its queue {}", rec.queue);
            }
            // Invariant 9: a stream consumer resumes exactly after what it acked.
            if offset != expected && !filtered_resume_ok(offset.as_deref(), expected.as_deref()) {
                fail!(self, "SUBSCRIBE for {key:?} with x-stream-offset {offset:?}, expected {expected:?}");
            }
            if rec.stream.as_ref().is_some_and(|st| st.first.is_some()) {
                self.stats.stream_resumes += 1;
            }
            self.sub_map.insert((link, id), key);
        }
        if let Some(link) = ctx.connected {
            // A consumer on trial subscribes alone, after the others; one of an
            // exclusive queue a connection that dropped may hold, once it lets go.
            let waiting = self.waiting_for_exclusive(link);
            let restored = self.core.consumers().all(|key| {
                self.core.consumer_tag(key).is_some() || self.core.on_trial(key) || waiting.contains(&key)
            });
            if self.core.current_link() == Some(link) && self.core.is_connected() && !restored {
                fail!(self, "connected on {link} without restoring consumers {:?}", ctx.before);
            }
        }
        if self.stopped.is_some() {
            // Invariant 3/5: once Stopped, the core closed every socket it had.
            for (link, sock) in &self.socks {
                if matches!(sock.state, SockState::Open | SockState::Opening { .. }) && !sock.close_ignored {
                    fail!(self, "Stopped, but {link} is still {:?}", sock.state);
                }
            }
            if !self.core.outbox().is_empty() {
                fail!(self, "Stopped with {} messages left in the outbox", self.core.outbox().len());
            }
        }
        self.check_outbox();
        if !self.broker.violations.is_empty() {
            fail!(self, "the broker saw: {}", self.broker.violations.join("; "));
        }
    }

    /// How late the driver may wake the core: the page timer's lateness (and one
    /// millisecond of pacing), or the worker's tick without a page timer.
    fn wake_tolerance(&self) -> Duration {
        let wake = if self.cfg.page_timer { ms(self.cfg.jitter) } else { ms(250) };
        wake + self.cfg.pacing.slot + ms(1)
    }

    /// stop() was called, or the core stopped (its Stopped event may wait for a
    /// look-up that explains the refusal that ended it).
    fn over(&self) -> bool {
        self.stop_called || self.stopped.is_some() || self.core.phase() == Phase::Stopped
    }

    /// Invariant 11: what waits for a reader stays within the consumer's window
    /// (auto-ack consumers included), however slow the reader.
    fn check_buffers(&mut self) {
        for (key, rec) in &self.consumers {
            let buffered = self.core.buffered(*key);
            // Two links deliver during a renewal: two windows at most then.
            let links = if self.core.successor_link().is_some() || self.core.retiring_link().is_some() { 2 } else { 1 };
            let bound = usize::from(rec.window) * links;
            if bound > 0 && buffered > bound {
                fail!(self, "{key:?} holds {buffered} unread deliveries, over its window of {bound}");
            }
            if bound > 0 && buffered == bound {
                self.stats.full_buffers += 1;
            }
        }
    }

    /// Invariant 6.
    fn check_outbox(&self) {
        let outbox = self.core.outbox();
        let limits = outbox.limits();
        if outbox.len() > limits.messages || (outbox.len() > 1 && outbox.bytes() > limits.bytes) {
            fail!(self, "outbox over its limits: {} messages, {} bytes ({limits:?})", outbox.len(), outbox.bytes());
        }
        let window = self.cfg.window;
        if outbox.in_flight() > window.messages.max(1) {
            fail!(self, "{} publishes in flight, over the window of {}", outbox.in_flight(), window.messages);
        }
        if outbox.in_flight() > 1 && outbox.in_flight_bytes() > window.bytes + MAX_FRAME {
            fail!(self, "{} bytes in flight, over the window of {}", outbox.in_flight_bytes(), window.bytes);
        }
    }

    // ---------------------------------------------------------------- the network

    fn flush_broker(&mut self) {
        let outputs = std::mem::take(&mut self.broker.out);
        for (link, out) in outputs {
            let latency = self.latency();
            let coalesce = self.rng.chance(self.cfg.coalesce);
            let now = self.now;
            let Some(sock) = self.socks.get_mut(&link) else { continue };
            match out {
                Out::Bytes(bytes) => {
                    if sock.state != SockState::Open || sock.cut {
                        continue;
                    }
                    if coalesce {
                        if let Some(Packet { payload: Payload::Bytes(last), .. }) = sock.to_client.back_mut() {
                            last.extend_from_slice(&bytes);
                            continue;
                        }
                    }
                    let due = sock.to_client.back().map_or(now, |p| p.due).max(now + latency);
                    sock.to_client.push_back(Packet { due, payload: Payload::Bytes(bytes) });
                }
                Out::Close(how) => {
                    sock.broker_gone = true;
                    sock.to_broker.clear();
                    match sock.state {
                        SockState::Open if sock.cut => {}
                        SockState::Open => {
                            let due = sock.to_client.back().map_or(now, |p| p.due).max(now + latency);
                            sock.to_client.push_back(Packet { due, payload: Payload::Close(how) });
                        }
                        SockState::ClientClosed => sock.state = SockState::Dead,
                        _ => {}
                    }
                }
            }
        }
        // Invariant 1, as messages leave the broker.
        for tag in std::mem::take(&mut self.broker.emptied) {
            // RabbitMQ's own auto-ack forgets a message as it sends it: the end
            // of the run checks those (see `heal`).
            if self.confirmed_pending.contains(&tag) && self.broker.copies_of(tag) == 0 && !self.broker.forgotten.contains(&tag) {
                fail!(self, "confirmed m-{tag} left the broker without reaching the user");
            }
        }
    }

    fn can_reach_broker(&self, sock: &Sock) -> bool {
        !self.broker.frozen(self.now)
            && !sock.broker_gone
            && matches!(sock.state, SockState::Open | SockState::ClientClosed)
            && !sock.to_broker.is_empty()
    }

    fn deliver_to_client(&mut self, link: LinkId) {
        let Some(sock) = self.socks.get_mut(&link) else { return };
        if sock.state != SockState::Open {
            return;
        }
        let Some(packet) = sock.to_client.pop_front() else { return };
        let split = self.rng.chance(self.cfg.split);
        match packet.payload {
            // A message split at a random point: the rest comes as the next one.
            Payload::Bytes(mut bytes) if split && bytes.len() > 1 => {
                let at = 1 + self.rng.below(bytes.len() as u64 - 1) as usize;
                let rest = bytes.split_off(at);
                sock.to_client.push_front(Packet { due: packet.due, payload: Payload::Bytes(rest) });
                vlog!(self, "{link} < {} bytes of a split message", bytes.len());
                self.stats.splits += 1;
                self.note_arrivals(link, &bytes);
                self.call(|c, now| c.handle_bytes(now, link, &bytes));
            }
            Payload::Bytes(bytes) => {
                vlog!(self, "{link} < {}", describe_bytes(&bytes));
                self.note_arrivals(link, &bytes);
                self.call(|c, now| c.handle_bytes(now, link, &bytes));
            }
            Payload::Close(how) => {
                sock.state = SockState::Dead;
                sock.hb_since = None;
                sock.to_broker.clear();
                vlog!(self, "{link} closed ({} {:?})", how.code, how.reason);
                self.call(|c, now| c.handle_closed(now, link, how));
            }
            Payload::Items(_) => unreachable!("items only go to the broker"),
        }
    }

    /// Notes the messages of RabbitMQ's own auto-ack (no `ack` header) that reach
    /// the core on `link`, and the consumer each came for.
    fn note_arrivals(&mut self, link: LinkId, bytes: &[u8]) {
        let Some(sock) = self.socks.get_mut(&link) else { return };
        sock.inbound.push(bytes);
        while let Ok(Some(item)) = sock.inbound.next_item() {
            let Decoded::Frame(frame) = item else { continue };
            if frame.command != Command::Message || frame.header("ack").is_some() {
                continue;
            }
            let Some(tag) = parse_tag(&frame.body) else { continue };
            let sub = frame.header("subscription").unwrap_or_default().to_owned();
            let consumer = self.queued_subs.get(&(link, sub)).map(|(key, _)| *key);
            self.arrived_broker_acked.insert(tag, consumer);
        }
    }

    fn deliver_to_broker(&mut self, link: LinkId) {
        let now = self.now;
        let Some(sock) = self.socks.get_mut(&link) else { return };
        let Some(packet) = sock.to_broker.pop_front() else { return };
        match packet.payload {
            Payload::Items(items) => self.broker.receive(now, link, items),
            Payload::Close(_) => {
                sock.state = SockState::Dead;
                self.broker.drop_conn(link);
                self.broker.dispatch(now);
            }
            Payload::Bytes(_) => unreachable!("bytes only go to the client"),
        }
        self.flush_broker();
    }

    fn complete_open(&mut self, link: LinkId) {
        let now = self.now;
        let down = self.broker.down(now);
        let Some(sock) = self.socks.get_mut(&link) else { return };
        let SockState::Opening { fail, .. } = sock.state else { return };
        if fail || down || self.broker.node_down(sock.node, now) {
            sock.state = SockState::Dead;
            vlog!(self, "{link} failed to open");
            self.call(|c, now| c.handle_closed(now, link, SocketClose::new(1006, "")));
        } else {
            sock.state = SockState::Open;
            self.broker.open(link, now);
            vlog!(self, "{link} opened");
            self.call(|c, now| c.handle_opened(now, link));
        }
    }

    /// When the next thing happens by itself.
    fn next_due(&self) -> Option<Duration> {
        let frozen = self.broker.frozen(self.now);
        let mut best: Option<Duration> = None;
        let mut consider = |t: Duration| best = Some(best.map_or(t, |b: Duration| b.min(t)));
        if let Some(at) = self.timer {
            consider(at);
        }
        if let Some(at) = self.next_tick {
            consider(at);
        }
        for (due, _) in &self.lookups {
            consider(*due);
        }
        for (due, _) in &self.exchange_lookups {
            consider(*due);
        }
        for (due, _, _) in &self.creds_due {
            consider(*due);
        }
        if let Some(t) = self.broker.frozen_until {
            consider(t);
        }
        for sock in self.socks.values() {
            match sock.state {
                SockState::Opening { at, fail } => match self.broker.frozen_until {
                    Some(thaw) if frozen && !fail => consider(at.max(thaw)),
                    _ => consider(at),
                },
                SockState::Open => {
                    if let Some(p) = sock.to_client.front() {
                        consider(p.due);
                    }
                }
                _ => {}
            }
            if self.can_reach_broker(sock) {
                if let Some(p) = sock.to_broker.front() {
                    consider(p.due);
                }
            }
        }
        if let Some(t) = self.broker.next_due(self.now) {
            consider(t);
        }
        if let Some(t) = self.excl.next_notice() {
            // A frozen broker checks nothing: it drops them once thawed.
            consider(self.broker.frozen_until.filter(|_| frozen).map_or(t, |thaw| t.max(thaw)));
        }
        best
    }

    fn process_due(&mut self) {
        let now = self.now;
        if self.broker.frozen_until.is_some_and(|t| t <= now) {
            self.broker.frozen_until = None;
            vlog!(self, "broker thawed");
            self.broker.dispatch(now);
            self.flush_broker();
        }
        let frozen = self.broker.frozen(now);
        let opening: Vec<LinkId> = self
            .socks
            .iter()
            .filter(|(_, s)| matches!(s.state, SockState::Opening { at, fail } if at <= now && (fail || !frozen)))
            .map(|(l, _)| *l)
            .collect();
        for link in opening {
            self.complete_open(link);
        }
        let mut links: Vec<LinkId> = self.socks.keys().copied().collect();
        let len = links.len();
        let rotate = self.rng.below(len as u64 + 1) as usize;
        links.rotate_left(rotate.min(len));
        for link in links {
            let client_first = self.rng.chance(50);
            for pass in 0..2 {
                if (pass == 0) == client_first {
                    while self.socks.get(&link).is_some_and(|s| {
                        s.state == SockState::Open && s.to_client.front().is_some_and(|p| p.due <= now)
                    }) {
                        self.deliver_to_client(link);
                    }
                } else {
                    while self
                        .socks
                        .get(&link)
                        .is_some_and(|s| self.can_reach_broker(s) && s.to_broker.front().is_some_and(|p| p.due <= now))
                    {
                        self.deliver_to_broker(link);
                    }
                }
            }
        }
        self.notice_cuts();
        self.broker.tick(now);
        self.broker.dispatch(now);
        self.flush_broker();
        self.answer_lookups();
        self.answer_credentials();
        if self.timer.is_some_and(|at| at <= now) {
            self.fire_timer();
        }
        if self.next_tick.is_some_and(|at| at <= now) {
            self.tick();
        }
    }

    /// The provider is asked: it answers (or fails) after its delay, some answers
    /// too late.
    fn ask_credentials(&mut self, id: CredentialsId) {
        self.stats.credentials_asked += 1;
        let Some(cfg) = self.cfg.creds else { fail!(self, "credentials asked for without a provider") };
        // Healing is without faults: the provider answers in time, and does not fail.
        let (slow, fails) = if self.healing { (0, 0) } else { (cfg.slow, cfg.fails) };
        let due = if self.rng.chance(slow) {
            self.now + CREDS_TIMEOUT + ms(self.rng.range(1, 2_000))
        } else {
            self.now + ms(self.rng.range(cfg.delay.0, cfg.delay.1))
        };
        let answer = if self.rng.chance(fails) {
            Err("the identity provider is unreachable".to_owned())
        } else {
            Ok(match cfg.lifetime {
                Some(lifetime) => {
                    let exp = (UNIX0 + due + ms(lifetime)).as_secs();
                    let expires_in = cfg.says_expiry.then(|| ms(lifetime));
                    Credentials { login: "sim".into(), passcode: token(exp), expires_in }
                }
                None => Credentials::new("guest", "guest"),
            })
        };
        self.creds_due.push((due, id, answer));
    }

    fn answer_credentials(&mut self) {
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.creds_due).into_iter().partition(|(at, ..)| *at <= now);
        self.creds_due = later;
        for (_, id, answer) in due {
            vlog!(self, "credentials {id:?}: {}", if answer.is_ok() { "given" } else { "failed" });
            self.call(|c, now| {
                c.handle_unix_time(now, UNIX0 + now);
                c.handle_credentials(now, id, answer)
            });
        }
    }

    /// The management API answers the look-ups that are due, from the broker's queues.
    fn answer_lookups(&mut self) {
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.lookups).into_iter().partition(|(at, _)| *at <= now);
        self.lookups = later;
        for (_, question) in due {
            let facts = if self.rng.chance(self.cfg.lookup_fails) {
                Err("the management API is unreachable".to_owned())
            } else if question.queue == "rpc" {
                // Served by the broker itself (tests/sim/rpc.rs), as a declared queue would be.
                Ok(Some(QueueFacts { durable: true, exclusive: false, auto_delete: false, arguments: Vec::new() }))
            } else {
                Ok(self.broker.queues.get(&question.queue).map(|queue| QueueFacts {
                    durable: queue.durable,
                    exclusive: self.broker.ex.exclusive.contains_key(&question.queue),
                    auto_delete: false,
                    arguments: if queue.kind == "classic" {
                        Vec::new()
                    } else {
                        vec![("x-queue-type".to_owned(), queue.kind.clone())]
                    },
                }))
            };
            vlog!(self, "look-up of {} answered {facts:?}", question.queue);
            self.call(|c, now| c.handle_queue_facts(now, question.id, facts));
        }
        let (due, later): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.exchange_lookups).into_iter().partition(|(at, _)| *at <= now);
        self.exchange_lookups = later;
        for (_, question) in due {
            let exists = if self.rng.chance(self.cfg.lookup_fails) {
                Err("the management API is unreachable".to_owned())
            } else {
                Ok(self.broker.ex.kinds.contains_key(&question.exchange))
            };
            vlog!(self, "look-up of exchange {} answered {exists:?}", question.exchange);
            self.call(|c, now| c.handle_exchange_facts(now, question.id, exists));
        }
    }

    /// Lets simulated time pass, with everything that happens meanwhile.
    fn run_until(&mut self, target: Duration) {
        let mut rounds = 0u32;
        while let Some(t) = self.next_due() {
            if t > target {
                break;
            }
            if t > self.now {
                self.now = t;
            }
            self.process_due();
            self.check_live();
            rounds += 1;
            if rounds > 200_000 {
                fail!(self, "simulated time does not advance");
            }
        }
        self.now = self.now.max(target);
        self.check_live();
    }

    fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        self.run_until(target);
    }

    /// Delivers one packet somewhere, ahead of its time; `false` when none can go.
    fn deliver_one_random(&mut self) -> bool {
        let choices: Vec<(LinkId, bool)> = self
            .socks
            .iter()
            .flat_map(|(link, s)| {
                let to_client = s.state == SockState::Open && !s.to_client.is_empty();
                let to_broker = self.can_reach_broker(s);
                [(to_client, (*link, true)), (to_broker, (*link, false))]
            })
            .filter(|(ok, _)| *ok)
            .map(|(_, c)| c)
            .collect();
        if choices.is_empty() {
            return false;
        }
        let (link, to_client) = choices[self.rng.below(choices.len() as u64) as usize];
        if to_client {
            self.deliver_to_client(link);
        } else {
            self.deliver_to_broker(link);
        }
        true
    }

    /// Delivers everything that can go now.
    fn deliver_all(&mut self) {
        let mut n = 0;
        while self.deliver_one_random() {
            n += 1;
            if n > 1_000_000 {
                fail!(self, "the network never drains");
            }
        }
        self.drain_acks();
    }

    fn network_idle(&self) -> bool {
        self.socks.values().all(|s| s.to_client.is_empty() && s.to_broker.is_empty())
    }

    // ---------------------------------------------------------------- checks

    /// Make-before-break: when a renewal's old link DISCONNECTs, the broker holds
    /// the subscription of every consumer that moved on the new link (deliveries
    /// never pause for want of one).
    fn check_subscribed_first(&mut self, old: LinkId) {
        for (link, key, sub) in self.took_over.clone() {
            let live = self.consumers.get(&key).is_some_and(|r| !r.cancel_requested && !r.failed);
            let Some(conn) = self.broker.conns.get(&link) else { continue };
            if live && !conn.subs.contains_key(&sub) {
                fail!(self, "{old} DISCONNECTs, but {key:?} is not subscribed on {link}");
            }
        }
        self.stats.renewals_subscribed_first += 1;
    }

    /// Invariant 8, while time passes: the client's silence never exceeds the interval.
    fn check_live(&self) {
        let tolerance = self.wake_tolerance();
        for (link, sock) in &self.socks {
            if let (SockState::Open, Some(last)) = (sock.state, sock.hb_since) {
                let gap = self.now.saturating_sub(last);
                if gap > sock.hb_interval + tolerance {
                    fail!(
                        self,
                        "the client has been silent on {link} for {gap:?} (heart-beat every {:?})",
                        sock.hb_interval
                    );
                }
            }
        }
    }

    fn check_step(&mut self) {
        self.check_live();
        self.check_outbox();
        self.check_buffers();
        // Invariant 4 at quiet points: the broker's subscriptions on the current
        // connection are exactly the core's consumers.
        let (Some(link), true) = (self.core.current_link(), self.core.is_connected()) else { return };
        // A renewal's old link still holds the transient exchange subscriptions.
        if self.core.retiring_link().is_some() {
            return;
        }
        let Some(sock) = self.socks.get(&link) else { return };
        if sock.state != SockState::Open
            || sock.broker_gone
            || self.core.has_transmits()
            || !sock.to_broker.is_empty()
            || !sock.to_client.is_empty()
            || self.broker.frozen(self.now)
        {
            return;
        }
        let Some(conn) = self.broker.conns.get(&link) else { return };
        let mut broker_keys = BTreeSet::new();
        for sub in conn.subs.keys() {
            match self.sub_map.get(&(link, sub.clone())) {
                Some(key) => {
                    broker_keys.insert(*key);
                }
                None => fail!(self, "the broker has a subscription {sub} on {link} that no consumer made"),
            }
        }
        // A consumer may wait for its exclusive queue; on trial, it waits for the
        // publishes in flight too (one at a time: a lock released after they
        // went out, seed 597).
        let waiting = self.waiting_for_exclusive(link);
        let in_flight = self.core.outbox().in_flight() > 0;
        let core_keys: BTreeSet<ConsumerKey> = self
            .core
            .consumers()
            .filter(|k| broker_keys.contains(k) || !(waiting.contains(k) || (in_flight && self.core.on_trial(*k))))
            .collect();
        if broker_keys != core_keys {
            fail!(
                self,
                "at a quiet point the broker subscribes {broker_keys:?} but the core's consumers are {core_keys:?} (on trial {:?}, in flight {})",
                core_keys.iter().filter(|k| self.core.on_trial(**k)).collect::<Vec<_>>(),
                self.core.outbox().in_flight()
            );
        }
        self.stats.quiet_checks += 1;
    }

    // ---------------------------------------------------------------- the user's calls

    fn start(&mut self) {
        self.call(|c, now| {
            c.handle_unix_time(now, UNIX0 + now);
            c.start(now)
        });
    }

    /// A publisher that waits for room: the core's line, first come first in.
    fn publish_or_wait(&mut self) {
        self.next_tag += 1;
        let tag = self.next_tag;
        let body = format!("m-{tag}").into_bytes();
        self.body_len.insert(tag, body.len());
        let properties = BasicProperties { message_id: Some(format!("m-{tag}")), ..BasicProperties::persistent() };
        let publish = PendingPublish { exchange: String::new(), routing_key: "q".to_owned(), body, properties };
        let full = self.core.outbox().check_room(publish.body.len()).is_err() || self.core.waiting() > 0;
        match self.call(|c, now| c.basic_publish_or_wait(now, publish)) {
            Ok(id) => {
                self.stats.published += 1;
                let waiting = self.core.is_waiting(id);
                if waiting && !full {
                    fail!(self, "{id} waits for room although the outbox had some and nobody waited");
                }
                if waiting {
                    self.stats.waited_for_room += 1;
                    self.waiting.push_back(id);
                }
                self.pubs.insert(id, Pub { tag, kind: PubKind::Valid, outcome: None, waiting });
            }
            Err(PublishError::Stopped | PublishError::StoppedUnsent) if self.over() => {}
            Err(error) => fail!(self, "a publisher that waits was refused: {error}"),
        }
        // Calls wait in the same line (tests/sim/rpc.rs); the simulation tracks publishes.
        if self.core.waiting() != self.waiting.len() + self.core.calls_waiting() {
            fail!(self, "the core has {} publishers waiting, the simulation {:?}", self.core.waiting(), self.waiting);
        }
    }

    /// A waiting publisher gives up (its future was dropped).
    fn withdraw(&mut self) {
        if self.waiting.is_empty() {
            return;
        }
        let i = self.rng.below(self.waiting.len() as u64) as usize;
        let Some(id) = self.waiting.remove(i) else { return };
        if !self.call(|c, _| c.withdraw(id)) {
            fail!(self, "withdraw({id}) of a waiting publish said it was not waiting");
        }
        self.stats.withdrawn += 1;
        // Never sent, no outcome: it is as if it never was.
        self.pubs.remove(&id);
    }

    fn publish_with(
        &mut self,
        exchange: &str,
        routing_key: &str,
        kind: PubKind,
        padding: usize,
    ) -> Result<OutboxId, PublishError> {
        self.next_tag += 1;
        let tag = self.next_tag;
        let mut body = format!("m-{tag}").into_bytes();
        body.resize(body.len() + padding, b'.');
        self.body_len.insert(tag, body.len());
        let publish = PendingPublish {
            exchange: exchange.to_owned(),
            routing_key: routing_key.to_owned(),
            body,
            properties: BasicProperties {
                message_id: Some(format!("m-{tag}")),
                stream_filter_value: (kind == PubKind::Stream && self.broker.server == NEW_SERVER)
                    .then(|| filter_value(tag))
                    .flatten()
                    .map(str::to_owned),
                ..BasicProperties::persistent()
            },
        };
        let before = (self.core.outbox().len(), self.core.outbox().bytes());
        let result = self.call(|c, now| c.basic_publish(now, publish));
        match &result {
            Ok(id) => {
                self.stats.published += 1;
                self.pubs.insert(*id, Pub { tag, kind, outcome: None, waiting: false });
            }
            Err(PublishError::Full(_)) => {
                self.stats.full_outbox += 1;
                self.expect_nothing_changed(before, "a publish to a full outbox");
            }
            Err(PublishError::Stopped | PublishError::StoppedUnsent) if self.over() => {}
            Err(error) => fail!(self, "a valid publish was refused: {error}"),
        }
        result
    }

    fn expect_nothing_changed(&self, before: (usize, usize), what: &str) {
        let after = (self.core.outbox().len(), self.core.outbox().bytes());
        if before != after || self.last_pump != (0, 0) {
            fail!(self, "{what} changed something: outbox {before:?} → {after:?}, pump {:?}", self.last_pump);
        }
    }

    fn publish(&mut self) -> Result<OutboxId, PublishError> {
        self.publish_with("", "q", PubKind::Valid, 0)
    }

    /// The three kinds of publish Burrow must refuse at once.
    fn publish_invalid(&mut self, which: u64) -> Result<OutboxId, PublishError> {
        self.next_tag += 1;
        let tag = self.next_tag;
        let mut publish = PendingPublish {
            exchange: String::new(),
            routing_key: "q".to_owned(),
            body: format!("m-{tag}").into_bytes(),
            properties: BasicProperties { message_id: Some(format!("m-{tag}")), ..BasicProperties::persistent() },
        };
        match which {
            0 => publish.routing_key = "k".repeat(300),
            1 => publish.properties.headers.push(("destination".to_owned(), "/amq/queue/elsewhere".to_owned())),
            _ => publish.body.resize(MAX_FRAME + 1, b'.'),
        }
        let before = (self.core.outbox().len(), self.core.outbox().bytes());
        let result = self.call(|c, now| c.basic_publish(now, publish));
        match &result {
            Err(PublishError::Invalid(error)) => {
                self.stats.invalid_publishes += 1;
                if error.to_string().is_empty() {
                    fail!(self, "an invalid publish was refused without words");
                }
            }
            Err(PublishError::Full(_)) => self.stats.full_outbox += 1,
            Err(PublishError::Stopped | PublishError::StoppedUnsent) if self.over() => {}
            other => fail!(self, "an invalid publish ({which}) was not refused at once: {other:?}"),
        }
        self.expect_nothing_changed(before, "an invalid publish");
        result
    }

    fn consume(&mut self, queue: &str, auto_ack: bool, prefetch: u16) -> Option<ConsumerKey> {
        self.consume_with(queue, ConsumeOptions { auto_ack, prefetch, stream_offset: None, ..ConsumeOptions::default() })
    }

    fn consume_stream(&mut self, offset: StreamOffset, prefetch: u16) -> Option<ConsumerKey> {
        self.consume_with("s", ConsumeOptions::stream(offset, prefetch))
    }

    fn consume_with(&mut self, queue: &str, options: ConsumeOptions) -> Option<ConsumerKey> {
        self.consume_from(ConsumeFrom::queue(queue), options)
    }

    fn consume_from(&mut self, source: ConsumeFrom, options: ConsumeOptions) -> Option<ConsumerKey> {
        let (queue, exchange) = match &source {
            ConsumeFrom::Queue(name) => (name.clone(), None),
            ConsumeFrom::Exchange(sub) => (source.to_string(), Some(sub.clone())),
        };
        let queue = queue.as_str();
        let before: Vec<ConsumerKey> = self.core.consumers().collect();
        let auto_ack = options.auto_ack || options.broker_acks;
        self.stats.broker_acked_consumers += u64::from(options.broker_acks);
        let stream = (queue == "s").then(|| StreamRec {
            filter: options.stream_filter.clone(),
            start: options.stream_offset.unwrap_or(StreamOffset::Next),
            first: None,
            contig: 0,
            acked: BTreeSet::new(),
        });
        let window = options.window();
        let slow = !self.healing && self.rng.chance(self.cfg.slow_readers);
        let result = self.core.basic_consume(self.now, source.clone(), options);
        let consumed = result.as_ref().ok().copied();
        if let Some(key) = consumed {
            self.stats.consumers += 1;
            self.stats.stream_consumers += u64::from(stream.is_some());
            self.stats.slow_readers += u64::from(slow);
            self.consumers.insert(
                key,
                ConsumerRec {
                    queue: queue.to_owned(),
                    auto: auto_ack,
                    window,
                    slow,
                    cancel_requested: false,
                    cancelled: false,
                    failed: false,
                    stream,
                    exchange,
                },
            );
        }
        self.pump(Ctx { before, ..Ctx::default() });
        self.read_fast();
        match result {
            Ok(key) => Some(key),
            Err(ConsumeError::Stopped) if self.over() => None,
            Err(error) => fail!(self, "basic_consume({queue}) refused: {error}"),
        }
    }

    /// A stream consumer RabbitMQ would close the connection on: refused at once.
    fn consume_invalid_stream(&mut self, auto_ack: bool) {
        let options = ConsumeOptions { auto_ack, prefetch: if auto_ack { 5 } else { 0 }, stream_offset: Some(StreamOffset::First), ..ConsumeOptions::default() };
        let before = self.core.consumers().count();
        let result = self.call(|c, now| c.basic_consume(now, "s", options));
        match result {
            Err(ConsumeError::Invalid(RabbitError::StreamConsume(_))) => self.stats.invalid_consumes += 1,
            Err(ConsumeError::Stopped) if self.over() => {}
            other => fail!(self, "a stream consumer with auto_ack {auto_ack} was not refused at once: {other:?}"),
        }
        if self.last_pump != (0, 0) || self.core.consumers().count() != before {
            fail!(self, "a refused stream consumer changed something: pump {:?}", self.last_pump);
        }
    }

    /// Invariant 9, on each delivery to a stream consumer.
    fn on_stream_delivery(
        &mut self,
        consumer: ConsumerKey,
        tag: u64,
        delivery: &burrow::rabbit::Delivery,
        acker: Option<&Acker>,
    ) {
        self.stats.stream_deliveries += 1;
        let Some(offset) = delivery.stream_offset else { fail!(self, "m-{tag} from the stream without an offset") };
        let logged = self.broker.queues.get("s").and_then(|q| q.log.get(offset as usize)).and_then(|(m, _)| m.tag);
        if logged != Some(tag) {
            fail!(self, "offset {offset} delivered m-{tag}, but the stream has {logged:?} there");
        }
        if acker.and_then(Acker::stream_offset) != Some(offset) {
            fail!(self, "the acker of offset {offset} does not carry it: {acker:?}");
        }
        let Some(rec) = self.consumers.get(&consumer).and_then(|r| r.stream.as_ref()) else {
            fail!(self, "a stream delivery to a consumer without a stream record")
        };
        let (filter, contig, start) = (rec.filter.clone(), rec.contig, rec.start);
        // A filtered consumer is handed only its values, in order, none skipped.
        let next_for = |sim: &Self, from: u64| filter.as_ref().map_or(from, |f| sim.next_admitted(f, from).unwrap_or(from));
        if let Some(filter) = &filter {
            if !filter.admits(self.stream_value(offset).as_deref()) {
                fail!(self, "offset {offset} ({:?}) reached {consumer:?}, whose filter is {filter:?}", self.stream_value(offset));
            }
            self.stats.filtered_deliveries += 1;
        }
        let next_expected = next_for(self, contig);
        let start_expected = match start {
            StreamOffset::First => Some(next_for(self, 0)),
            StreamOffset::Offset(n) => Some(next_for(self, n)),
            _ => None,
        };
        let Some(st) = self.consumers.get_mut(&consumer).and_then(|r| r.stream.as_mut()) else {
            fail!(self, "a stream delivery to a consumer without a stream record")
        };
        if st.acked.contains(&offset) {
            fail!(self, "offset {offset} was acked by {consumer:?} and handed out again");
        }
        let seen = st.first.is_some_and(|first| (first..st.contig).contains(&offset));
        if seen {
            if !delivery.redelivered {
                fail!(self, "a second copy of offset {offset} to {consumer:?} is not marked");
            }
            self.stats.stream_repeats += 1;
        } else {
            if delivery.redelivered {
                fail!(self, "the first copy of offset {offset} to {consumer:?} is marked redelivered");
            }
            match st.first {
                None => {
                    if start_expected.is_some_and(|e| e != offset) {
                        let start = st.start;
                        fail!(self, "{consumer:?} from {start} began at offset {offset}");
                    }
                    st.first = Some(offset);
                    st.contig = offset + 1;
                }
                Some(_) if offset == next_expected => st.contig = offset + 1,
                Some(first) => {
                    let contig = st.contig;
                    fail!(self, "{consumer:?} was handed offset {offset} but never {contig} (it began at {first})");
                }
            }
        }
        if !delivery.possibly_duplicate() {
            let count = self.stream_unmarked.entry((consumer, tag)).or_insert(0);
            *count += 1;
            if *count > 1 {
                fail!(self, "m-{tag} reached {consumer:?} twice unmarked");
            }
        }
    }

    /// The filter value of the stream message at `offset`.
    fn stream_value(&self, offset: u64) -> Option<String> {
        let (msg, _) = self.broker.queues.get("s")?.log.get(offset as usize)?;
        msg.headers.iter().find(|(name, _)| name == "x-stream-filter-value").map(|(_, value)| value.clone())
    }

    /// The first offset at or after `from` that `filter` admits, in the stream so far.
    fn next_admitted(&self, filter: &StreamFilter, from: u64) -> Option<u64> {
        let len = self.broker.queues.get("s").map_or(0, |q| q.log.len() as u64);
        (from..len).find(|&offset| filter.admits(self.stream_value(offset).as_deref()))
    }

    /// Where a filtered consumer may resubscribe: after what it acked, and past
    /// what its filter kept back (acked by the core as it came), but never past
    /// an offset it must still be handed. `filtered:<highest>:<own start>`.
    fn filtered_resume(&self, st: &StreamRec, filter: &StreamFilter) -> String {
        let (lowest, literal) = match st.first {
            None => {
                let from = match st.start {
                    StreamOffset::First => Some(0),
                    StreamOffset::Offset(n) => Some(n),
                    _ => None,
                };
                (from, st.start.header_value())
            }
            Some(first) => {
                let admitted = |o: &u64| filter.admits(self.stream_value(*o).as_deref());
                let resume = (first..st.contig).filter(admitted).find(|o| !st.acked.contains(o)).unwrap_or(st.contig);
                (Some(resume), format!("offset={resume}"))
            }
        };
        let highest = lowest.and_then(|from| self.next_admitted(filter, from)).unwrap_or(u64::MAX);
        format!("filtered:{highest}:{literal}")
    }

    /// Whether every live stream consumer has been handed all of the stream it should.
    fn streams_caught_up(&self) -> bool {
        let len = self.broker.queues.get("s").map_or(0, |q| q.log.len() as u64);
        self.consumers.values().filter(|r| !r.cancel_requested && !r.failed).all(|r| match &r.stream {
            None => true,
            Some(StreamRec { filter: Some(filter), first, start, contig, .. }) => match (first, start) {
                (Some(_), _) => self.next_admitted(filter, *contig).is_none(),
                (None, StreamOffset::First) => self.next_admitted(filter, 0).is_none(),
                (None, StreamOffset::Offset(n)) => self.next_admitted(filter, *n).is_none(),
                (None, _) => true,
            },
            Some(st) => match (st.first, st.start) {
                (Some(_), _) => st.contig == len,
                (None, StreamOffset::First) => len == 0,
                (None, StreamOffset::Offset(n)) => n >= len,
                (None, _) => true,
            },
        })
    }

    fn cancel(&mut self, key: ConsumerKey) {
        let live = self.core.consumers().any(|k| k == key);
        // Marked first: the core may say ConsumerCancelled at once.
        if let Some(rec) = self.consumers.get_mut(&key).filter(|_| live) {
            rec.cancel_requested = true;
        }
        let known = self.call(|c, now| c.basic_cancel(now, key));
        if known != live {
            fail!(self, "basic_cancel({key:?}) said {known} for a consumer that is live: {live}");
        }
        if known {
            self.stats.cancels += 1;
        }
    }

    /// Acks (or nacks) one delivery and checks the answer.
    fn settle_ack(&mut self, acker: Acker, nack: Option<bool>, settled_before: bool) {
        let renewal = [self.core.successor_link(), self.core.retiring_link()].contains(&Some(acker.link()));
        let current = (self.core.current_link() == Some(acker.link()) && self.core.is_connected()) || renewal;
        let stopping = self.over();
        let ended = self.consumers.get(&acker.consumer()).is_none_or(|r| r.cancel_requested || r.failed);
        let result = self.call(|c, now| match nack {
            Some(requeue) => c.basic_nack(now, &acker, requeue),
            None => c.basic_ack(now, &acker),
        });
        let sent = self.last_pump.0;
        if nack.is_some() && acker.stream_offset().is_some() {
            // Invariant 9: never a NACK on a stream (RabbitMQ closes the connection).
            if result != Err(AckError::StreamNack) || sent != 0 {
                fail!(self, "a nack of stream offset {:?} returned {result:?}, sent {sent}", acker.stream_offset());
            }
            self.stats.stream_nacks_refused += 1;
            if !settled_before {
                self.held.push(Held { acker });
            }
            return;
        }
        if let (Ok(()), Some(offset)) = (&result, acker.stream_offset()) {
            if let Some(st) = self.consumers.get_mut(&acker.consumer()).and_then(|r| r.stream.as_mut()) {
                st.acked.insert(offset);
            }
        }
        match (&result, stopping, current, settled_before) {
            (Err(AckError::Stopped), true, _, _) => {}
            (Ok(()), false, true, false) => {
                if nack.is_some() {
                    self.stats.nacks += 1;
                } else {
                    self.stats.acks += 1;
                }
                if self.settled.len() > 64 {
                    self.settled.remove(0);
                }
                self.settled.push(acker);
                return;
            }
            (Err(AckError::AlreadySettled), false, true, true) => self.stats.double_acks += 1,
            // RabbitMQ takes no ack once the subscription is gone.
            (Err(AckError::Cancelled), false, true, false) if ended => self.stats.cancelled_acks += 1,
            (Err(AckError::Stale { link }), false, false, _) if *link == acker.link() => self.stats.stale_acks += 1,
            // A planned reconnect's DISCONNECT went: the link is as good as gone.
            (Err(AckError::Stale { link }), false, true, _) if self.renewing.contains(link) => self.stats.stale_acks += 1,
            (result, ..) => fail!(
                self,
                "ack of {} (stopping {stopping}, current {current}, settled before {settled_before}) returned {result:?}",
                acker.delivery_tag()
            ),
        }
        if sent != 0 {
            fail!(self, "a refused ack ({result:?}) still sent something");
        }
    }

    fn drain_acks(&mut self) {
        while !self.to_ack.is_empty() {
            let acker = self.to_ack.remove(0);
            self.settle_ack(acker, None, false);
        }
    }

    /// Every reader takes what it can.
    fn read_all(&mut self) {
        while let Some(key) = self.readable.iter().next().copied() {
            self.read(key, usize::MAX);
        }
    }

    fn ack_all_held(&mut self) {
        for held in std::mem::take(&mut self.held) {
            self.settle_ack(held.acker, None, false);
        }
        self.drain_acks();
    }

    fn declare(&mut self, queue: &str, options: &QueueOptions, expect: DeclareExpect) -> Option<DeclareId> {
        let connected = self.core.is_connected();
        let result = self.call(|c, now| c.queue_declare(now, queue, options));
        match result {
            Ok(id) => {
                self.stats.declares += 1;
                self.declares.insert(id, DeclareRec { expect, done: false });
                Some(id)
            }
            Err(DeclareError::NotConnected) if !connected => None,
            Err(DeclareError::Stopped) if self.over() => None,
            Err(error) => fail!(self, "queue_declare({queue}) refused at once: {error}"),
        }
    }

    /// A declare of a quorum queue or stream RabbitMQ would refuse: refused at once.
    fn declare_invalid(&mut self, which: u64) {
        let options = match which % 4 {
            0 => QueueOptions { exclusive: true, ..QueueOptions::quorum() },
            1 => QueueOptions { durable: false, ..QueueOptions::stream() },
            2 => QueueOptions { auto_delete: true, ..QueueOptions::quorum() },
            _ => QueueOptions { arguments: vec![("x-message-ttl".into(), "5000".into())], ..QueueOptions::stream() },
        };
        let connected = self.core.is_connected();
        let result = self.call(|c, now| c.queue_declare(now, "typed", &options));
        match result {
            Err(DeclareError::Invalid(RabbitError::QueueTypeConflict { queue_type, .. })) => {
                if queue_type == QueueType::Classic {
                    fail!(self, "a classic queue refused for its type");
                }
                self.stats.invalid_declares += 1;
            }
            Err(DeclareError::NotConnected) if !connected => {}
            Err(DeclareError::Stopped) if self.over() => {}
            other => fail!(self, "a declare RabbitMQ would refuse ({options:?}) was not refused at once: {other:?}"),
        }
        if self.last_pump != (0, 0) {
            fail!(self, "a refused declare sent something: {:?}", self.last_pump);
        }
    }

    /// A node shut down cleanly: each of its sessions gets ERROR connection_forced
    /// (which 3.10.8 may lose) and "STOMP died", then it is down for `for_`.
    fn stop_node_gracefully(&mut self, node: usize, for_: Duration) {
        let links: Vec<LinkId> = self
            .socks
            .iter()
            .filter(|(link, s)| s.node == node && self.broker.conns.get(link).is_some_and(|c| c.connected))
            .map(|(link, _)| *link)
            .collect();
        for link in links {
            let detail = "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'".to_owned();
            self.broker.refuse(link, "connection_forced", detail, false);
        }
        self.flush_broker();
        self.stop_node(node, for_);
    }

    /// `rabbitmqctl stop_app` on one node of the cluster: its sockets close without a
    /// close frame, and new ones fail to open until it is back.
    fn stop_node(&mut self, node: usize, for_: Duration) {
        self.stats.node_stops += 1;
        let now = self.now;
        vlog!(self, "node {node} stopped for {for_:?}");
        self.broker.nodes_down.insert(node, now + for_);
        let links: Vec<LinkId> = self.socks.iter().filter(|(_, s)| s.node == node).map(|(l, _)| *l).collect();
        for link in links {
            let Some(sock) = self.socks.get_mut(&link) else { continue };
            match sock.state {
                SockState::Open if !sock.broker_gone => {
                    sock.to_broker.clear();
                    sock.to_client.clear();
                    sock.broker_gone = true;
                    sock.to_client.push_back(Packet { due: now, payload: Payload::Close(SocketClose::new(1006, "")) });
                    self.broker.drop_conn(link);
                }
                SockState::ClientClosed => {
                    sock.to_broker.clear();
                    sock.state = SockState::Dead;
                    self.broker.drop_conn(link);
                }
                SockState::Opening { at, .. } => sock.state = SockState::Opening { at, fail: true },
                _ => {}
            }
        }
        self.broker.dispatch(now);
        self.flush_broker();
    }

    fn stop(&mut self) {
        let connected = self.core.is_connected();
        if self.core.countdown(self.now).is_some() {
            self.stats.stops_during_countdown += 1;
        } else if !connected && self.core.current_link().is_some() {
            self.stats.stops_while_opening += 1;
        }
        self.stop_called = true;
        vlog!(self, "stop()");
        self.call(|c, now| c.stop(now));
        if !connected && self.stopped.is_none() {
            fail!(self, "stop() while not connected did not emit Stopped at once");
        }
    }

    // ---------------------------------------------------------------- faults

    fn drop_current(&mut self) {
        let latency = self.latency();
        let now = self.now;
        let Some(link) = self.core.current_link() else { return };
        let Some(sock) = self.socks.get_mut(&link) else { return };
        match sock.state {
            SockState::Opening { at, .. } => sock.state = SockState::Opening { at, fail: true },
            SockState::Open if !sock.broker_gone => {
                sock.to_broker.clear();
                sock.to_client.clear();
                sock.broker_gone = true;
                sock.to_client
                    .push_back(Packet { due: now + latency, payload: Payload::Close(SocketClose::new(1006, "")) });
                self.broker.drop_conn(link);
                self.broker.dispatch(now);
                self.flush_broker();
            }
            _ => return,
        }
        self.stats.network_drops += 1;
        vlog!(self, "network drop of {link}");
    }

    fn restart_broker(&mut self, down_for: Duration, graceful: bool) {
        self.stats.broker_restarts += 1;
        vlog!(self, "broker restart ({}), down for {down_for:?}", if graceful { "graceful" } else { "killed" });
        let now = self.now;
        if graceful {
            // A clean shutdown closes each session like a refusal: ERROR
            // connection_forced (which 3.10.8 may lose), then "STOMP died".
            self.stats.graceful_restarts += 1;
            let links: Vec<LinkId> = self.broker.conns.iter().filter(|(_, c)| c.connected).map(|(l, _)| *l).collect();
            for link in links {
                let detail = "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'".to_owned();
                self.broker.refuse(link, "connection_forced", detail, false);
            }
            self.flush_broker();
        }
        self.broker.restart(now, down_for);
        self.stats.ex_kept_across_restarts += self.broker.durable_subscription_messages();
        for sock in self.socks.values_mut() {
            match sock.state {
                SockState::Open if !sock.broker_gone => {
                    sock.to_broker.clear();
                    sock.to_client.clear();
                    sock.broker_gone = true;
                    sock.to_client.push_back(Packet { due: now, payload: Payload::Close(SocketClose::new(1006, "")) });
                }
                SockState::ClientClosed => {
                    sock.to_broker.clear();
                    sock.state = SockState::Dead;
                }
                SockState::Opening { at, .. } => sock.state = SockState::Opening { at, fail: true },
                _ => {}
            }
        }
        self.flush_broker();
    }

    fn freeze(&mut self, for_: Duration) {
        if self.broker.frozen(self.now) {
            return;
        }
        self.stats.freezes += 1;
        vlog!(self, "broker frozen for {for_:?}");
        self.broker.frozen_until = Some(self.now + for_);
    }

    // ---------------------------------------------------------------- a random run

    fn random_op(&mut self) {
        if self.cfg.stop_at == Some(self.step) && !self.stop_called {
            self.stop();
            return;
        }
        if self.cfg.revoke_at == Some(self.step) {
            vlog!(self, "credentials revoked");
            self.broker.refuse_connect = true;
        }
        if self.rpc_rng.chance(4) {
            vlog!(self, "rpc call");
            return self.rpc_call();
        }
        if self.ex.rng.chance(6) {
            return self.exchange_op();
        }
        if self.exclusive_op() {
            return;
        }
        match self.rng.below(1000) {
            0..=179 => {
                let n = match self.rng.below(100) {
                    0..=84 => self.rng.range(1, 2),
                    85..=97 => self.rng.range(3, 12),
                    _ => self.rng.range(13, 300),
                };
                for _ in 0..n {
                    let (key, kind) = match self.rng.below(100) {
                        0..=3 => ("unrouted", PubKind::Unrouted),
                        4..=18 => ("s", PubKind::Stream),
                        _ => ("q", PubKind::Valid),
                    };
                    let padding = if self.rng.chance(15) { self.rng.range(1, 1500) as usize } else { 0 };
                    if kind == PubKind::Valid && padding == 0 && self.rng.chance(25) {
                        self.publish_or_wait();
                        continue;
                    }
                    if let Err(PublishError::Full(_)) = self.publish_with("", key, kind, padding) {
                        break;
                    }
                }
            }
            180..=196 => {
                let which = self.rng.below(3);
                let _ = self.publish_invalid(which);
            }
            197..=204 => self.withdraw(),
            205..=219 => {
                let _ = self.publish_with("nope", "k", PubKind::MissingExchange, 0);
            }
            220..=269 => {
                let live = self.consumers.values().filter(|c| !c.cancel_requested && !c.failed).count();
                if live < 4 {
                    match self.rng.below(100) {
                        0..=24 => {
                            let seconds = self.now.as_secs();
                            let offset = match self.rng.below(5) {
                                0 => StreamOffset::First,
                                1 => StreamOffset::Next,
                                2 => StreamOffset::Last,
                                3 => StreamOffset::Offset(self.rng.range(0, 15)),
                                _ => StreamOffset::Timestamp(seconds.saturating_sub(self.rng.range(0, 30))),
                            };
                            let prefetch = self.rng.range(1, 5) as u16;
                            if self.broker.server == NEW_SERVER && self.consumers.len() % 2 == 1 {
                                let filter = StreamFilter { match_unfiltered: self.consumers.len() % 4 == 1, ..StreamFilter::new(["red"]) };
                                let options = ConsumeOptions { stream_filter: Some(filter), ..ConsumeOptions::stream(offset, prefetch) };
                                self.consume_with("s", options);
                            } else {
                                self.consume_stream(offset, prefetch);
                            }
                        }
                        25..=29 => {
                            let auto = self.rng.chance(50);
                            self.consume_invalid_stream(auto);
                        }
                        _ => {
                            let queue = if self.rng.chance(12) { "missing" } else { "q" };
                            let auto = self.rng.chance(35);
                            let prefetch = self.rng.range(0, 5) as u16;
                            // Some with RabbitMQ's own auto-ack, drawing nothing
                            // more from the schedule's random numbers.
                            let broker_acks = auto && prefetch == 4;
                            let options = ConsumeOptions { auto_ack: auto, broker_acks, prefetch, ..ConsumeOptions::default() };
                            self.consume_with(queue, options);
                        }
                    }
                }
            }
            270..=294 => {
                let live: Vec<ConsumerKey> = self.core.consumers().collect();
                if !live.is_empty() {
                    let key = live[self.rng.below(live.len() as u64) as usize];
                    self.cancel(key);
                }
            }
            295..=379 => self.random_ack(),
            380..=419 => {
                // A slow reader takes a few.
                let readable: Vec<ConsumerKey> = self.readable.iter().copied().collect();
                if !readable.is_empty() {
                    let key = readable[self.rng.below(readable.len() as u64) as usize];
                    let most = self.rng.range(1, 8) as usize;
                    self.read(key, most);
                }
            }
            420..=434 => match self.rng.below(5) {
                0 => {
                    self.declare("q", &QueueOptions::durable(), DeclareExpect::Ok);
                }
                1 => {
                    self.declare("q", &QueueOptions::default(), DeclareExpect::Refused);
                }
                2 => {
                    self.declare("s", &QueueOptions::stream(), DeclareExpect::Ok);
                }
                3 => {
                    let which = self.rng.below(4);
                    self.declare_invalid(which);
                }
                _ => {
                    self.next_queue += 1;
                    let name = format!("tmp-{}", self.next_queue);
                    self.declare(&name, &QueueOptions::default(), DeclareExpect::Ok);
                }
            },
            435..=459 => self.drop_current(),
            460..=466 => {
                let down = ms(self.rng.range(0, 15_000));
                let graceful = self.cfg.graceful_restarts && self.rng.chance(50);
                self.restart_broker(down, graceful);
            }
            467..=474 => {
                let for_ = ms(self.rng.range(5_000, 60_000));
                self.freeze(for_);
            }
            475..=489 => {
                self.broker.slow_confirms = !self.broker.slow_confirms;
                vlog!(self, "slow confirms {}", self.broker.slow_confirms);
            }
            490..=494 => {
                let for_ = ms(self.rng.range(2_000, 40_000));
                self.stats.alarms += 1;
                vlog!(self, "resource alarm for {for_:?}");
                self.broker.alarm_until = Some(self.now + for_);
            }
            495..=739 => {
                let n = self.rng.range(1, 12);
                for _ in 0..n {
                    if !self.deliver_one_random() {
                        break;
                    }
                }
            }
            740..=749 if self.urls.len() > 1 => {
                // Mostly the node the client is on: that is the failover.
                let current = self.core.current_link().and_then(|l| self.socks.get(&l)).map(|s| s.node);
                let node = match current {
                    Some(node) if self.rng.chance(80) => node,
                    _ => self.rng.below(self.urls.len() as u64) as usize,
                };
                let for_ = ms(self.rng.range(1_000, 30_000));
                self.stop_node(node, for_);
            }
            740..=979 => {
                let by = match self.rng.below(100) {
                    0..=59 => ms(self.rng.range(1, 200)),
                    60..=89 => ms(self.rng.range(200, 5_000)),
                    _ => ms(self.rng.range(5_000, 40_000)),
                };
                self.advance(by);
            }
            980..=993 => {
                vlog!(self, "spurious timer");
                self.call(|c, now| c.handle_timeout(now));
            }
            _ => {
                // The socket refuses a send: the core must give the link up.
                if let Some(link) = self.core.current_link() {
                    if self.socks.get(&link).is_some_and(|s| s.state == SockState::Open) {
                        vlog!(self, "send failed on {link}");
                        self.stats.send_failures += 1;
                        self.call(|c, now| c.handle_send_failed(now, link, "the socket refused a send".into()));
                    }
                }
            }
        }
    }

    fn random_ack(&mut self) {
        match self.rng.below(10) {
            0..=5 if !self.held.is_empty() => {
                let i = self.rng.below(self.held.len() as u64) as usize;
                let held = self.held.swap_remove(i);
                let nack = self.rng.chance(25).then(|| self.rng.chance(70));
                self.settle_ack(held.acker, nack, false);
            }
            6..=7 => {
                let current = self.core.current_link();
                let stale: Vec<usize> =
                    (0..self.held.len()).filter(|i| Some(self.held[*i].acker.link()) != current).collect();
                if let Some(&i) = stale.first() {
                    let held = self.held.swap_remove(i);
                    self.settle_ack(held.acker, None, false);
                }
            }
            8..=9 if !self.settled.is_empty() => {
                let i = self.rng.below(self.settled.len() as u64) as usize;
                let acker = self.settled[i].clone();
                let nack = self.rng.chance(30).then_some(true);
                self.settle_ack(acker, nack, true);
            }
            _ => {}
        }
    }

    fn run_random(&mut self) {
        self.start();
        for step in 0..self.cfg.steps {
            self.step = step;
            self.random_op();
            self.drain_acks();
            self.check_step();
        }
        self.step = self.cfg.steps;
        self.finish();
        self.stats.steps += self.cfg.steps as u64;
        self.stats.lost_errors += self.broker.lost_errors;
        self.stats.expired_refusals += self.broker.expired_refusals;
        self.stats.expiry_closes += self.broker.expiry_closes;
        self.stats.reconnects += self.stats.connects.saturating_sub(1);
        self.stats.seeds += 1;
    }

    /// The end of a run: without faults everything must heal; after a stop, nothing
    /// of this client may remain at the broker.
    fn finish(&mut self) {
        vlog!(self, "--- finish");
        self.broker.frozen_until = None;
        self.broker.down_until = None;
        self.broker.nodes_down.clear();
        self.broker.slow_confirms = false;
        self.broker.dispatch(self.now);
        self.flush_broker();
        if !self.stop_called && self.stopped.is_none() {
            self.heal();
        }
        if self.stop_called || self.stopped.is_some() {
            self.end_stopped();
        }
    }

    fn heal(&mut self) {
        self.healing = true;
        let prefetch = self.rng.range(0, 5) as u16;
        self.consume("q", false, prefetch);
        self.heal_durable_subscriptions();
        self.ack_all_held();
        let mut healed = false;
        for _ in 0..1200 {
            self.advance(ms(500));
            self.deliver_all();
            self.read_all();
            self.ack_all_held();
            self.check_step();
            if self.stopped.is_some() {
                return;
            }
            // Deliveries a cancelled consumer never got stay with the connection;
            // a drop gives them back (as closing it would).
            let orphaned = self.core.current_link().map_or(0, |link| self.broker.orphaned(link));
            if orphaned > 0 && self.network_idle() && self.held.is_empty() {
                vlog!(self, "{orphaned} deliveries of cancelled consumers stay with the connection: drop it");
                self.drop_current();
                continue;
            }
            let queue_empty = self.broker.queues.get("q").is_none_or(|q| q.msgs.is_empty())
                && self.subscription_queues_empty();
            if self.core.is_connected()
                && self.core.outbox().is_empty()
                && self.pubs.values().all(|p| p.outcome.is_some())
                && queue_empty
                && self.broker.unacked_total() == 0
                && self.network_idle()
                && self.held.is_empty()
                && self.streams_caught_up()
                && self.calls.values().all(|c| c.done)
                && self.exclusive_consumers_back()
                && self.exclusive_queues_read()
                && !self.current_cut()
            {
                healed = true;
                break;
            }
        }
        if !healed {
            let pending: Vec<String> = self
                .pubs
                .iter()
                .filter(|(_, p)| p.outcome.is_none())
                .take(5)
                .map(|(id, p)| format!("{id}=m-{} {:?}", p.tag, p.kind))
                .collect();
            fail!(
                self,
                "not healed after 600 s without faults: connected {}, outbox {} ({} in flight), pending {pending:?}, queue {}, unacked {}, consumers {:?}",
                self.core.is_connected(),
                self.core.outbox().len(),
                self.core.outbox().in_flight(),
                self.broker.queues.get("q").map_or(0, |q| q.msgs.len()),
                self.broker.unacked_total(),
                self.core.consumers().collect::<Vec<_>>()
            );
        }
        self.check_calls_over();
        self.check_durable_subscriptions();
        // Invariant 1 at the end: every confirmed message reached the user (auto-ack
        // ones too: Burrow's auto-ack acks what the reader took, at-least-once).
        let mut ids: Vec<&OutboxId> = self.pubs.keys().collect();
        ids.sort();
        let mut undelivered = Vec::new();
        let mut exclusive_confirmed = Vec::new();
        for id in ids {
            let p = &self.pubs[id];
            match (p.kind, &p.outcome) {
                (PubKind::Valid, Some(Outcome::Confirmed)) => {
                    if !self.delivered.contains(&p.tag) {
                        undelivered.push(p.tag);
                    }
                }
                (PubKind::Stream, Some(Outcome::Confirmed)) => {
                    if self.broker.copies_of(p.tag) == 0 {
                        fail!(self, "confirmed m-{} is not in the stream", p.tag);
                    }
                }
                (PubKind::Exclusive, Some(Outcome::Confirmed)) => exclusive_confirmed.push(p.tag),
                (PubKind::Unrouted | PubKind::Exchange, Some(Outcome::Confirmed))
                | (PubKind::MissingExchange, Some(Outcome::Refused)) => {}
                (kind, outcome) => fail!(self, "{id} m-{} ({kind:?}) ended {outcome:?}", p.tag),
            }
        }
        for tag in undelivered {
            self.excuse_broker_acked(tag);
        }
        for tag in exclusive_confirmed {
            self.check_exclusive_confirmed(tag, true);
        }
    }

    /// A confirmed message never delivered: a failure, unless RabbitMQ's own
    /// auto-ack sent it (asked for outright: at most once) and it was lost on
    /// its way over a connection, or it waited unread when its consumer ended.
    fn excuse_broker_acked(&mut self, tag: u64) {
        if !self.broker.forgotten.contains(&tag) {
            fail!(self, "confirmed m-{tag} was never delivered");
        }
        match self.arrived_broker_acked.get(&tag) {
            None => self.stats.broker_acked_lost_on_the_way += 1,
            Some(Some(key)) if self.consumers.get(key).is_some_and(|rec| rec.cancel_requested || rec.failed) => {
                self.stats.broker_acked_unread_at_cancel += 1;
            }
            Some(consumer) => {
                fail!(self, "m-{tag}, sent with RabbitMQ's own auto-ack, reached the core for {consumer:?} and never its reader")
            }
        }
    }

    fn end_stopped(&mut self) {
        for _ in 0..120 {
            self.advance(ms(500));
            self.deliver_all();
            if self.stopped.is_some() && self.network_idle() && self.broker.conns.is_empty() {
                break;
            }
        }
        if self.stopped.is_none() {
            fail!(self, "stop() never ended in Stopped");
        }
        if !self.broker.conns.is_empty() {
            let links: Vec<&LinkId> = self.broker.conns.keys().collect();
            fail!(self, "after stop the broker still has connections {links:?}");
        }
        if let Some((id, p)) = self.pubs.iter().find(|(_, p)| p.outcome.is_none()) {
            fail!(self, "after stop {id} (m-{}) has no outcome", p.tag);
        }
        // Every consumer cancelled before the end heard ConsumerCancelled before
        // Stopped (its UNSUBSCRIBE confirmed, or its connection gone).
        for (key, rec) in &self.consumers {
            if rec.cancel_requested && !rec.cancelled {
                fail!(self, "{key:?} cancelled but never ConsumerCancelled");
            }
        }
        self.check_calls_over();
        if self.core.waiting() != 0 || !self.waiting.is_empty() {
            fail!(self, "after stop {} publishers still wait for room", self.core.waiting());
        }
    }
}

fn short_event(event: &ReliableEvent) -> String {
    let text = format!("{event:?}");
    if text.len() > 300 {
        format!("{}…", &text[..300])
    } else {
        text
    }
}

// ============================================================ the runs

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn run_seed(seed: u64, verbose: bool) -> Stats {
    let mut rng = Rng::new(seed ^ 0xC0FF_EE00);
    let cfg = Config::random(&mut rng);
    if verbose {
        eprintln!("SEED={seed} config {cfg:#?}");
    }
    let mut sim = Sim::new(seed, cfg, verbose);
    // RabbitMQ 3.10.8 loses what it had not written yet whenever it loses the
    // ERROR (a raw WebSocket capture): always, where an ERROR is lost.
    sim.broker.lose_unwritten = true;
    sim.run_random();
    sim.stats
}

fn run_seeds(first: u64, count: u64) {
    if let Some(seed) = env_u64("BURROW_SIM_SEED") {
        let stats = run_seed(seed, true);
        eprintln!("SEED={seed} passed\n{}", stats.report());
        return;
    }
    let first = env_u64("BURROW_SIM_FIRST").unwrap_or(first);
    let count = env_u64("BURROW_SIM_SEEDS").unwrap_or(count);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8) as u64;
    let total = Mutex::new(Stats::default());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let total = &total;
            scope.spawn(move || {
                let mut mine = Stats::default();
                let mut seed = first + t;
                while seed < first + count {
                    mine.add(&run_seed(seed, false));
                    seed += threads;
                }
                total.lock().unwrap_or_else(|e| e.into_inner()).add(&mine);
            });
        }
    });
    let total = total.into_inner().unwrap_or_else(|e| e.into_inner());
    let summary = format!(
        "\nsimulation: {} seeds ({first}..{}), {} steps, in {:.1} s on {threads} threads\n{}",
        total.seeds,
        first + count,
        total.steps,
        started.elapsed().as_secs_f64(),
        total.report()
    );
    // Straight to stderr: the test harness captures eprintln!, and this summary
    // is meant to be seen in every run.
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), summary.as_bytes());
    assert_eq!(total.seeds, count);
    // The schedules must reach the interesting cases, or the run proves little.
    if count >= 1000 {
        for (what, n) in [
            ("reconnects", total.reconnects),
            ("refused publishes", total.refused_publishes),
            ("stale acks", total.stale_acks),
            ("double acks", total.double_acks),
            ("stops", total.stops),
            ("heart-beat timeouts", total.heartbeat_timeouts),
            ("broker restarts", total.broker_restarts),
            ("failed consumers", total.consumer_failed),
            ("connect refusals", total.connect_refusals),
            ("lost ERROR frames", total.lost_errors),
            ("quiet checks", total.quiet_checks),
            ("possible duplicates", total.possible_duplicates),
            ("stream deliveries", total.stream_deliveries),
            ("stream repeats", total.stream_repeats),
            ("filtered stream deliveries", total.filtered_deliveries),
            ("stream resumes", total.stream_resumes),
            ("refused stream nacks", total.stream_nacks_refused),
            ("refused stream consumers", total.invalid_consumes),
            ("refused typed declares", total.invalid_declares),
            ("queues not declared again", total.not_declared_again),
            ("node stops", total.node_stops),
            ("failovers", total.failovers),
            ("graceful restarts", total.graceful_restarts),
            ("split messages", total.splits),
            ("early timers", total.early_timers),
            ("publishers that waited for room", total.waited_for_room),
            ("publishers that gave up waiting", total.withdrawn),
            ("one-off connections ended", total.one_off_stops),
            ("management look-ups", total.lookups),
            ("slow readers", total.slow_readers),
            ("full consumer buffers", total.full_buffers),
            ("acks refused after a cancel", total.cancelled_acks),
            ("durable exchange subscriptions", total.ex_durable_subscriptions),
            ("deliveries from exchanges", total.ex_deliveries),
            ("subscription gaps", total.ex_gaps),
            ("durable subscription messages kept across a restart", total.ex_kept_across_restarts),
        ] {
            assert!(n > 0, "no schedule reached {what}");
        }
    }
}

#[test]
fn simulation_runs() {
    run_seeds(0, 10_000);
}

/// Seeds beyond the default range that once found a defect: 1000912 (a CONNECT
/// after stop from a side connection still opening), 11123 (a side connection's
/// declare cut by `connection_forced` was called refused), 38726 (a side
/// connection's CONNECT whose token expired on the way was called refused),
/// 46126 (the same with credentials revoked), 74353 (a renewal's successor that
/// never opened taken over when the old link died: its deadline already past),
/// 23438 and 126333 (a valid message alone in flight blamed after two clean
/// restarts whose words were lost, the node down in between), 75752 (a publisher
/// waiting for room behind a full outbox never admitted when the confirms came
/// on a renewal's retiring link), 47985 (a message in flight failed by an
/// exchange look-up's answer left "publishes held back" said with none in flight),
/// 88295 (a transient exchange subscription on trial subscribed on a renewal's
/// new link while the old one still had it). With exclusive queues
/// (tests/sim/exclusive.rs): 13324 (a one-off connection's renewal did not hold
/// them: the consumer subscribed before the declare again and failed
/// NOT_FOUND), 18295 (a declare again answered on a renewal's retiring link,
/// which owned the queue then: never looked up again, its consumer never back),
/// 74139 (an earlier declare again, explained late, held the queue the current
/// connection owned, for good), 83363 (a queue gone with the connection that
/// ended blamed as NOT_FOUND for another request's close), 1038660 (one declared
/// while a renewal's successor got ready was consumed there, NOT_FOUND), 1177333
/// (the heal counted a cut connection as healthy). And 102923, 1179899 (a
/// consumer blamed alone for two restarts whose words were lost failed when the
/// management API could not answer in time: now it goes on once, as facts that
/// clear it would make it), 33854 and 1027703 (a stream consumer from `next` or
/// `last` handed nothing yet skipped what a renewal's old link still delivered),
/// 24279 (a consumer going on after a look-up's timeout missed a renewal's
/// switch).
#[test]
fn seeds_that_found_defects() {
    let this_stop = [13_324, 18_295, 74_139, 83_363, 1_038_660, 1_177_333, 102_923, 1_179_899, 33_854, 1_027_703, 24_279];
    for seed in [1_000_912, 11_123, 38_726, 46_126, 74_353, 23_438, 126_333, 75_752, 47_985, 88_295].into_iter().chain(this_stop) {
        run_seed(seed, false);
    }
}

#[test]
#[ignore = "soak: 200,000 seeds, minutes"]
fn simulation_soak() {
    run_seeds(1_000_000, 200_000);
}

// ============================================================ named regressions
//
// Small deterministic scenarios against the same simulated broker; every
// invariant above is checked during them too. BURROW_SIM_VERBOSE=1 prints them.

/// Where the scripted tests' records stood: events and deliveries taken.
#[derive(Debug, Clone, Copy)]
struct Mark {
    events: usize,
    taken: usize,
}

impl Sim {
    fn scripted() -> Sim {
        Sim::scripted_cluster(1)
    }

    /// Scripted, with `nodes` URLs (the nodes of a cluster sharing the broker).
    fn scripted_cluster(nodes: usize) -> Sim {
        let verbose = std::env::var("BURROW_SIM_VERBOSE").is_ok();
        let mut sim = Sim::new(7, Config { urls: nodes, ..Config::scripted() }, verbose);
        sim.record = true;
        sim
    }

    /// Delivers everything, and whatever that causes, at the current time.
    fn settle(&mut self) {
        for _ in 0..1000 {
            self.deliver_all();
            self.advance(Duration::ZERO);
            if self.network_idle() {
                return;
            }
        }
        fail!(self, "the network does not settle");
    }

    /// Runs for `d`, delivering as it goes.
    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            let step = (end - self.now).min(ms(100));
            self.advance(step);
            self.settle();
        }
    }

    fn connect(&mut self) {
        self.start();
        self.run_for(ms(50));
        assert!(self.core.is_connected(), "connected");
    }

    fn mark(&self) -> Mark {
        Mark { events: self.events.len(), taken: self.taken.len() }
    }

    fn events_since(&self, mark: Mark) -> Vec<ReliableEvent> {
        self.events[mark.events..].iter().map(|(_, e)| e.clone()).collect()
    }

    fn outcome(&self, id: OutboxId) -> Option<Outcome> {
        self.pubs.get(&id).and_then(|p| p.outcome.clone())
    }

    fn frames_on(&self, link: LinkId) -> Vec<Frame> {
        self.transmits
            .iter()
            .filter(|(_, l, _)| *l == link)
            .flat_map(|(_, _, items)| items.iter())
            .filter_map(|i| match i {
                Decoded::Frame(f) => Some(f.clone()),
                Decoded::HeartBeat => None,
            })
            .collect()
    }

    fn broker_subs(&self, link: LinkId) -> Vec<String> {
        self.broker.conns.get(&link).map(|c| c.subs.keys().cloned().collect()).unwrap_or_default()
    }

    fn take_held(&mut self) -> Vec<Acker> {
        std::mem::take(&mut self.held).into_iter().map(|h| h.acker).collect()
    }

    /// Acks the held deliveries at these stream offsets (and keeps the others held).
    fn ack_offsets(&mut self, offsets: &[u64]) {
        // Ackers of a lost connection are stale: dropped, as a user would.
        let current = self.core.current_link();
        let (chosen, kept): (Vec<Held>, Vec<Held>) = std::mem::take(&mut self.held)
            .into_iter()
            .filter(|h| Some(h.acker.link()) == current)
            .partition(|h| h.acker.stream_offset().is_some_and(|o| offsets.contains(&o)));
        self.held = kept;
        assert_eq!(chosen.len(), offsets.len(), "held offsets {offsets:?}");
        for held in chosen {
            self.settle_ack(held.acker, None, false);
        }
        self.settle();
    }

    /// (offset, marked as a possible duplicate) of each delivery to `consumer`
    /// after event `mark`.
    fn stream_deliveries_since(&self, mark: Mark, consumer: ConsumerKey) -> Vec<(u64, bool)> {
        self.taken_since(mark, consumer)
            .into_iter()
            .map(|delivery| (delivery.stream_offset.expect("an offset"), delivery.possibly_duplicate()))
            .collect()
    }

    /// The deliveries `consumer`'s reader took after event `mark`.
    fn taken_since(&self, mark: Mark, consumer: ConsumerKey) -> Vec<burrow::rabbit::Delivery> {
        self.taken[mark.taken..].iter().filter(|(c, _)| *c == consumer).map(|(_, d)| d.clone()).collect()
    }

    /// The `x-stream-offset` of each SUBSCRIBE on `link`.
    fn subscribed_offsets(&self, link: LinkId) -> Vec<Option<String>> {
        self.frames_on(link)
            .iter()
            .filter(|f| f.command == Command::Subscribe)
            .map(|f| f.header("x-stream-offset").map(str::to_owned))
            .collect()
    }

    fn publish_to_stream(&mut self, count: usize) {
        for _ in 0..count {
            self.publish_with("", "s", PubKind::Stream, 0).expect("publish to the stream");
        }
        self.settle();
    }

    fn reconnect_after_a_drop(&mut self) -> LinkId {
        let old = self.core.current_link().expect("link");
        self.drop_current();
        self.run_for(secs(3));
        let new = self.core.current_link().expect("link");
        assert!(self.core.is_connected() && new != old, "reconnected");
        new
    }

    fn opened_urls_since(&self, mark: usize) -> Vec<String> {
        self.actions[mark..]
            .iter()
            .filter_map(|(_, a)| match a {
                Action::Open { url, .. } => Some(url.clone()),
                _ => None,
            })
            .collect()
    }
}

/// The old driver opened a socket after stop() and that socket CONNECTed and
/// subscribed: a consumer nobody could cancel.
#[test]
fn a_socket_that_opens_after_stop_is_closed_at_once_and_never_sends_connect() {
    let mut sim = Sim::scripted();
    sim.cfg.open_delay = (50, 50);
    // The socket is already opening when the driver is told to close it, and it
    // opens anyway: the driver reports it.
    sim.cfg.open_despite_close = true;
    sim.start();
    let link = sim.core.current_link().expect("opening");
    sim.consume("q", false, 1);
    let mark = sim.mark();
    sim.stop();
    assert!(matches!(sim.events_since(mark).last(), Some(ReliableEvent::Connection(ConnectionEvent::Stopped(StopReason::Requested)))));
    sim.run_for(secs(2));
    // It opened after the stop, and the core closed it at once.
    let closes = sim.actions.iter().filter(|(_, a)| matches!(a, Action::Close { link: l, .. } if *l == link)).count();
    assert_eq!(closes, 2, "closed at stop, and again when it opened: {:?}", sim.actions);
    assert!(sim.frames_on(link).is_empty(), "nothing sent on it, CONNECT least of all");
    assert!(sim.broker.conns.is_empty(), "the broker has no connection, hence no consumer");
    assert_eq!(sim.stats.ignored_closes, 1);
    assert!(sim.actions.iter().all(|(_, a)| !matches!(a, Action::Open { link: l, .. } if *l != link)));
}

#[test]
fn a_consumer_cancelled_while_reconnecting_is_never_subscribed_again() {
    let mut sim = Sim::scripted();
    sim.connect();
    let kept = sim.consume("q", true, 0).expect("consumer");
    let key = sim.consume("q", false, 1).expect("consumer");
    sim.settle();
    let first = sim.core.current_link().expect("link");
    assert_eq!(sim.broker_subs(first).len(), 2);
    sim.drop_current();
    sim.settle();
    assert!(sim.core.countdown(sim.now).is_some(), "waiting to reconnect");
    let mark = sim.mark();
    sim.cancel(key);
    // Its reader sees the end (Readable) and the consumer is cancelled at once.
    assert_eq!(sim.events_since(mark), vec![ReliableEvent::Readable(key), ReliableEvent::ConsumerCancelled(key)]);
    sim.run_for(secs(5));
    let second = sim.core.current_link().expect("link");
    assert!(second != first && sim.core.is_connected(), "reconnected");
    let subscribes: Vec<Frame> =
        sim.frames_on(second).into_iter().filter(|f| f.command == Command::Subscribe).collect();
    assert_eq!(subscribes.len(), 1, "only the consumer that was kept: {subscribes:?}");
    let subs = sim.broker_subs(second);
    assert_eq!(subs.len(), 1);
    assert_eq!(sim.sub_map.get(&(second, subs[0].clone())), Some(&kept));
    assert_eq!(sim.core.consumers().collect::<Vec<_>>(), vec![kept]);
}

#[test]
fn stop_during_the_reconnect_countdown_emits_stopped_at_once_and_last() {
    let mut sim = Sim::scripted();
    sim.connect();
    let confirmed = sim.publish().expect("publish");
    sim.settle();
    assert_eq!(sim.outcome(confirmed), Some(Outcome::Confirmed));
    sim.drop_current();
    sim.settle();
    assert!(sim.core.countdown(sim.now).is_some(), "waiting to reconnect");
    let waiting = sim.publish().expect("publish");
    let opens = sim.actions.iter().filter(|(_, a)| matches!(a, Action::Open { .. })).count();
    let mark = sim.mark();
    assert_eq!(sim.core.stop_reason(), None, "not stopped yet");
    sim.stop();
    // Known to whoever settles the failures (the JS API's StoppedError says it).
    assert_eq!(sim.core.stop_reason(), Some(&StopReason::Requested));
    let events = sim.events_since(mark);
    assert_eq!(
        events,
        vec![
            // Made in the countdown, never sent: said so (QA), not "may or may not have arrived".
            ReliableEvent::PublishFailed { publish: waiting, error: PublishError::StoppedUnsent },
            ReliableEvent::Connection(ConnectionEvent::Stopped(StopReason::Requested)),
        ]
    );
    assert_eq!(sim.core.countdown(sim.now), None);
    sim.run_for(secs(60));
    assert_eq!(sim.events.len(), mark.events + 2, "nothing after Stopped");
    let opens_after = sim.actions.iter().filter(|(_, a)| matches!(a, Action::Open { .. })).count();
    assert_eq!(opens_after, opens, "no reconnect after stop");
    assert_eq!(sim.core.poll_timeout(), None);
}

#[test]
fn invalid_publishes_are_refused_in_words_and_the_next_is_confirmed() {
    let mut sim = Sim::scripted();
    sim.connect();
    for (which, words) in [(0, "longer than 255 bytes"), (1, "reserved"), (2, "over the limit")] {
        let error = sim.publish_invalid(which).expect_err("refused");
        let PublishError::Invalid(error) = error else { panic!("{which}: not Invalid: {error:?}") };
        assert!(error.to_string().contains(words), "{which}: {error}");
        assert!(sim.core.outbox().is_empty(), "{which}: nothing entered the outbox");
        let next = sim.publish().expect("a valid publish right after");
        sim.settle();
        assert_eq!(sim.outcome(next), Some(Outcome::Confirmed), "{which}: the next one is confirmed");
    }
    assert!(sim.core.outbox().is_empty());
}

fn missing_exchange_fails_alone(lose_error: u64, management: bool) {
    let mut sim = Sim::scripted();
    sim.broker.lose_error = lose_error;
    sim.cfg.lookup_fails = if management { 0 } else { 100 };
    sim.connect();
    let before = sim.publish().expect("publish");
    let doomed = sim.publish_with("nope", "k", PubKind::MissingExchange, 0).expect("publish");
    let after = sim.publish().expect("publish");
    sim.run_for(secs(20));
    let doomed_tag = sim.pubs[&doomed].tag;
    assert_eq!(sim.outcome(before), Some(Outcome::Confirmed));
    assert_eq!(sim.outcome(after), Some(Outcome::Confirmed));
    assert_eq!(sim.outcome(doomed), Some(Outcome::Refused));
    let refusal = sim
        .events
        .iter()
        .find_map(|(_, e)| match e {
            ReliableEvent::PublishFailed { publish, error: PublishError::Refused(r) } if *publish == doomed => {
                Some(r.clone())
            }
            _ => None,
        })
        .expect("refused");
    // With the ERROR frame it fails on the spot; without it, the management API
    // says the exchange is missing while the next connection is made (regression:
    // it took three connections, each a gap for transient subscriptions).
    // Without either, it goes alone on the next connections and fails when it
    // ended two of them alone (one could have been a node shutting down). Never more.
    let (sends, says) = match (lose_error, management) {
        (0, _) => (1, "no exchange 'nope'"),
        (_, true) => (1, "NOT_FOUND - no exchange 'nope' in vhost '/'"),
        (_, false) => (3, "without saying why"),
    };
    assert!(refusal.to_string().contains(says), "{refusal}");
    assert_eq!(sim.broker.sends_seen.get(&doomed_tag), Some(&sends), "sent {sends} time(s), not resent forever");
    let last = sim.publish().expect("publish");
    sim.run_for(secs(5));
    assert_eq!(sim.outcome(last), Some(Outcome::Confirmed));
    assert!(sim.core.outbox().is_empty());
    assert!(sim.stopped.is_none());
}

#[test]
fn a_publish_to_a_missing_exchange_fails_alone_with_the_error_frame() {
    missing_exchange_fails_alone(0, true);
}

#[test]
fn a_publish_to_a_missing_exchange_fails_after_one_connection_when_the_management_api_says_so() {
    missing_exchange_fails_alone(100, true);
}

#[test]
fn a_publish_to_a_missing_exchange_fails_alone_when_only_stomp_died_arrives() {
    missing_exchange_fails_alone(100, false);
}

#[test]
fn a_broker_error_after_connected_keeps_reconnecting_but_a_refused_connect_stops() {
    for lose_error in [0, 100] {
        let mut sim = Sim::scripted();
        sim.broker.lose_error = lose_error;
        sim.connect();
        let good = sim.consume("q", false, 1).expect("consumer");
        let bad = sim.consume("missing", false, 1).expect("consumer");
        sim.run_for(secs(5));
        let failed = sim.events.iter().find_map(|(_, e)| match e {
            ReliableEvent::Connection(ConnectionEvent::ConsumerFailed { consumer, error: ConsumeError::Refused(r) }) if *consumer == bad => {
                Some(r.clone())
            }
            _ => None,
        });
        let failed = failed.expect("the consumer of the missing queue failed");
        if lose_error == 0 {
            assert!(failed.detail.contains("no queue 'missing'"), "{failed}");
        }
        assert!(sim.stopped.is_none() && sim.core.is_connected(), "reconnected");
        assert_eq!(sim.core.consumers().collect::<Vec<_>>(), vec![good]);
        let link = sim.core.current_link().expect("link");
        assert_eq!(sim.broker_subs(link).len(), 1, "the other consumer resumed");
        let ready = sim.events.iter().filter(|(_, e)| *e == ReliableEvent::Connection(ConnectionEvent::ConsumerReady(good))).count();
        // Without the broker's words a subscription is blamed only when a second
        // connection dies on it too (the first death could have been a forced close).
        let connections = if lose_error == 0 { 2 } else { 3 };
        assert_eq!(ready, connections, "ready on every connection");

        // A refusal at CONNECT is final.
        sim.broker.refuse_connect = true;
        sim.drop_current();
        sim.run_for(secs(5));
        match sim.events.last().map(|(_, e)| e) {
            Some(ReliableEvent::Connection(ConnectionEvent::Stopped(StopReason::Refused(CloseReason::ConnectRefused(error))))) => {
                assert_eq!(error.message.as_deref(), Some("Bad CONNECT"));
            }
            other => panic!("expected Stopped(Refused), got {other:?}"),
        }
        let opens = sim.actions.iter().filter(|(_, a)| matches!(a, Action::Open { .. })).count();
        sim.run_for(secs(60));
        assert_eq!(sim.actions.iter().filter(|(_, a)| matches!(a, Action::Open { .. })).count(), opens);
    }
}

#[test]
fn a_burst_of_ten_thousand_publishes_keeps_the_window_and_is_all_confirmed() {
    let mut sim = Sim::scripted();
    sim.connect();
    let mut max_in_flight = 0;
    let ids: Vec<OutboxId> = (0..10_000)
        .map(|_| {
            let id = sim.publish().expect("the outbox takes 10,000");
            max_in_flight = max_in_flight.max(sim.core.outbox().in_flight());
            id
        })
        .collect();
    // 128 by default, as README and ARCHITECTURE say: RabbitMQ's Web-STOMP kills a
    // connection with heart-beats on under a burst of unconfirmed SENDs
    // ({unexpected_message,resume}, unfixed through 4.3.5); 128 measured safe.
    assert_eq!(max_in_flight, 128, "the window is used, never exceeded");
    for _ in 0..600 {
        sim.deliver_all();
        max_in_flight = max_in_flight.max(sim.core.outbox().in_flight());
        if sim.core.outbox().is_empty() {
            break;
        }
        sim.advance(ms(100));
    }
    assert!(max_in_flight <= Window::default().messages);
    assert!(sim.core.outbox().is_empty(), "{} left", sim.core.outbox().len());
    assert!(ids.iter().all(|id| sim.outcome(*id) == Some(Outcome::Confirmed)));
    assert_eq!(sim.broker.queues["q"].msgs.len(), 10_000);
}

/// Defect 4: with ack:auto RabbitMQ sends as fast as the socket takes, and a
/// reader slower than that grew the buffer without limit (and lost what it held
/// with the connection). Burrow's auto-ack holds at most its window and the broker
/// keeps the rest; what the reader took is acked, what it did not comes again.
#[test]
fn an_auto_ack_flood_into_a_slow_reader_stays_within_the_window() {
    let mut sim = Sim::scripted();
    sim.connect();
    let key = sim.consume("q", true, 0).expect("consumer");
    sim.consumers.get_mut(&key).expect("record").slow = true;
    let window = usize::from(sim.consumers[&key].window);
    for _ in 0..(window * 4) {
        sim.publish().expect("publish");
    }
    sim.run_for(secs(1));
    assert_eq!(sim.core.buffered(key), window, "the window is full, not more");
    assert_eq!(sim.broker.queues["q"].msgs.len(), window * 3, "the broker keeps the rest");
    // The reader takes a few; a lost connection gives back only what it did not take.
    sim.read(key, 10);
    sim.run_for(ms(200));
    let link = sim.reconnect_after_a_drop();
    assert_eq!(sim.broker_subs(link).len(), 1, "subscribed again");
    for _ in 0..100 {
        sim.read(key, usize::MAX);
        sim.run_for(ms(100));
        if sim.broker.copies_of_any() == 0 {
            break;
        }
    }
    assert_eq!(sim.broker.copies_of_any(), 0, "everything was taken and acked");
    assert_eq!(sim.delivered.len(), window * 4, "every message reached the reader");
    assert!(sim.broker.violations.is_empty());
}

/// RabbitMQ's own auto-ack, asked for outright: no window, and what arrived
/// waits for a slow reader across a lost connection (the broker forgot it as it
/// sent it, so dropping it there would lose it), marked copies too: they are
/// not held back behind the next connection's subscription for good.
#[test]
fn what_rabbitmqs_own_auto_ack_delivered_waits_for_a_slow_reader_across_lost_connections() {
    let mut sim = Sim::scripted();
    sim.connect();
    // Three messages taken and never acked by a consumer that is then cancelled:
    // they stay with the connection and come back marked when it is lost.
    let manual = sim.consume("q", false, 5).expect("manual consumer");
    for _ in 0..3 {
        sim.publish().expect("publish");
    }
    sim.run_for(ms(500));
    assert_eq!(sim.held.len(), 3, "taken, not acked");
    sim.held.clear();
    sim.cancel(manual);
    sim.run_for(ms(500));
    let options = ConsumeOptions { broker_acks: true, ..ConsumeOptions::default() };
    let key = sim.consume_with("q", options).expect("consumer");
    sim.consumers.get_mut(&key).expect("record").slow = true;
    for _ in 0..297 {
        sim.publish().expect("publish");
    }
    sim.run_for(secs(1));
    let link = sim.core.current_link().expect("link");
    assert!(sim.broker.conns[&link].subs.values().all(|sub| sub.auto), "subscribed with ack:auto");
    assert_eq!(sim.core.buffered(key), 297, "no window: everything queued came");
    let link = sim.reconnect_after_a_drop();
    assert_eq!(sim.broker_subs(link).len(), 1, "subscribed again");
    assert_eq!(sim.broker.copies_of_any(), 0, "the broker forgot each as it sent it");
    assert_eq!(sim.core.buffered(key), 300, "kept across the lost connection, with the three marked copies");
    sim.reconnect_after_a_drop();
    sim.read(key, usize::MAX);
    let took: Vec<bool> = sim.taken.iter().filter(|(k, _)| *k == key).map(|(_, d)| d.redelivered).collect();
    assert_eq!(took.len(), 300, "every message reached the reader");
    assert_eq!(took.iter().filter(|marked| **marked).count(), 3, "the three requeued ones, marked");
    assert!(sim.broker.violations.is_empty());
}

/// RabbitMQ's own auto-ack acks nothing, even when a delivery carries an ack id
/// (Web-STOMP sends none; the benchmark's fast peer did, and was acked 20,000
/// times a run): RabbitMQ would close the connection on an unknown delivery tag.
#[test]
fn rabbitmqs_own_auto_ack_acks_nothing_even_with_ack_ids() {
    let mut sim = Sim::scripted();
    sim.broker.ack_ids_on_auto = true;
    sim.connect();
    let options = ConsumeOptions { broker_acks: true, ..ConsumeOptions::default() };
    let key = sim.consume_with("q", options).expect("consumer");
    for _ in 0..300 {
        sim.publish().expect("publish");
    }
    sim.run_for(secs(1));
    sim.read(key, usize::MAX);
    sim.run_for(secs(1));
    assert_eq!(sim.taken.iter().filter(|(k, _)| *k == key).count(), 300);
    assert_eq!(sim.broker.violations, Vec::<String>::new(), "no ACK for an ack:auto delivery");
}

/// Regression (QA, RabbitMQ 3.10.8): a consumer of a queue that does not exist
/// failed every other consumer of its connection first. 3.10.8 closes on the
/// fatal SUBSCRIBE without its ERROR and loses the receipts of the valid ones sent
/// beside it, so the oldest one unanswered was blamed. Now what was unanswered
/// subscribes again one at a time, and what ends a connection alone is blamed.
#[test]
fn a_consumer_of_a_missing_queue_fails_alone_when_the_others_receipts_are_lost() {
    let mut sim = Sim::scripted();
    sim.broker.lose_error = 100;
    sim.broker.lose_unwritten = true;
    sim.connect();
    let good = [sim.consume("q", false, 5).expect("a consumer"), sim.consume("q", true, 5).expect("another")];
    sim.run_for(ms(500));
    let bad = sim.consume("missing", false, 5).expect("a consumer of a missing queue");
    sim.run_for(secs(180));
    let failed: Vec<ConsumerKey> = sim
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            ReliableEvent::Connection(ConnectionEvent::ConsumerFailed { consumer, .. }) => Some(*consumer),
            _ => None,
        })
        .collect();
    assert_eq!(failed, vec![bad], "only the missing queue's consumer fails");
    for key in good {
        assert!(sim.core.consumers().any(|k| k == key), "{key:?} goes on");
    }
    let mark = sim.taken.len();
    sim.publish().expect("publish");
    sim.run_for(secs(2));
    sim.read_all();
    sim.ack_all_held();
    sim.run_for(secs(1));
    assert!(sim.taken.len() > mark, "the others still get what comes");
    assert_eq!(sim.broker.violations, Vec::<String>::new());
}

/// RabbitMQ cancels a subscription itself when its queue is deleted: an ERROR
/// `Server cancelled subscription` naming it, and the connection goes on. The
/// consumer ends in those words (it used to look alive for good), its acks are
/// refused rather than sent, and the connection and the other consumers go on.
#[test]
fn a_subscription_rabbitmq_cancels_ends_its_consumer_and_only_it() {
    let mut sim = Sim::scripted();
    sim.connect();
    let link = sim.core.current_link().expect("link");
    let cancelled = sim.consume("q", false, 5).expect("consumer");
    for _ in 0..2 {
        sim.publish().expect("publish");
    }
    sim.run_for(ms(200));
    sim.read(cancelled, 1);
    let held = std::mem::take(&mut sim.held);
    assert!(!held.is_empty(), "a delivery taken, not acked");
    sim.broker.cancel_subscriptions("q");
    sim.flush_broker();
    sim.run_for(ms(200));
    let failed = sim.events.iter().any(|(_, e)| {
        matches!(e, ReliableEvent::Connection(ConnectionEvent::ConsumerFailed { consumer, error: ConsumeError::CancelledByBroker(_) })
            if *consumer == cancelled)
    });
    assert!(failed, "the consumer ends in the broker's words");
    assert!(!sim.core.consumers().any(|k| k == cancelled), "the consumer is gone");
    for held in held {
        assert_eq!(sim.core.basic_ack(sim.now, &held.acker), Err(AckError::Cancelled));
    }
    let other = sim.consume("q", false, 5).expect("a second consumer");
    sim.publish().expect("publish");
    sim.run_for(ms(200));
    sim.read(other, usize::MAX);
    sim.ack_all_held();
    sim.run_for(ms(200));
    assert!(sim.taken.iter().any(|(k, _)| *k == other), "the second consumer gets what comes next");
    assert_eq!(sim.core.current_link(), Some(link), "on the same connection");
    assert_eq!(sim.broker.violations, Vec::<String>::new(), "no ack for a cancelled subscription");
}

/// What a cancelled consumer's reader never took goes back to the queue at once
/// (NACK requeue before the UNSUBSCRIBE; RabbitMQ takes no ack after it), not
/// when the connection ends: another consumer on the same connection gets it.
#[test]
fn a_cancelled_consumers_unread_deliveries_go_back_to_the_queue_at_once() {
    for auto_ack in [false, true] {
        let mut sim = Sim::scripted();
        sim.connect();
        let link = sim.core.current_link().expect("link");
        let slow = sim.consume("q", auto_ack, 5).expect("consumer");
        sim.consumers.get_mut(&slow).expect("record").slow = true;
        for _ in 0..5 {
            sim.publish().expect("publish");
        }
        sim.run_for(ms(200));
        sim.read(slow, 2);
        sim.ack_all_held();
        assert_eq!(sim.core.buffered(slow), 3, "auto_ack {auto_ack}");
        sim.cancel(slow);
        sim.run_for(ms(200));
        assert_eq!(sim.broker.unacked_total(), 0, "auto_ack {auto_ack}: nothing left unacked");
        assert_eq!(sim.broker.queues["q"].msgs.len(), 3, "auto_ack {auto_ack}: back in the queue");
        sim.consume("q", false, 5).expect("second consumer");
        sim.run_for(ms(200));
        sim.ack_all_held();
        sim.run_for(ms(200));
        assert_eq!(sim.delivered.len(), 5, "auto_ack {auto_ack}: every message reached a reader");
        assert_eq!(sim.broker.copies_of_any(), 0, "auto_ack {auto_ack}");
        assert_eq!(sim.core.current_link(), Some(link), "on the same connection");
        assert!(sim.broker.violations.is_empty());
    }
}

#[test]
fn heart_beats_go_one_interval_after_the_last_send() {
    let mut sim = Sim::scripted();
    sim.connect();
    let link = sim.core.current_link().expect("link");
    let connected = sim
        .events
        .iter()
        .find_map(|(t, e)| matches!(e, ReliableEvent::Connection(ConnectionEvent::Connected { .. })).then_some(*t))
        .expect("connected");
    for at in [1, 5, 9] {
        sim.run_for((connected + secs(at)).saturating_sub(sim.now));
        assert_eq!(sim.now, connected + secs(at));
        sim.publish().expect("publish");
    }
    sim.run_for((connected + secs(40)).saturating_sub(sim.now));
    let sends: Vec<(Duration, bool)> = sim
        .transmits
        .iter()
        .filter(|(_, l, _)| *l == link)
        .map(|(t, _, items)| (*t, items.iter().all(|i| *i == Decoded::HeartBeat)))
        .collect();
    let beats: Vec<Duration> = sends.iter().filter(|(_, hb)| *hb).map(|(t, _)| *t - connected).collect();
    assert_eq!(beats, vec![secs(19), secs(29), secs(39)], "one interval after the last send");
    let mut last = connected;
    for (t, _) in sends.iter().filter(|(t, _)| *t >= connected) {
        assert!(*t - last <= secs(10), "a gap of {:?} before {t:?}", *t - last);
        last = *t;
    }
}

#[test]
fn rabbitmq_trailing_lf_is_not_counted_as_a_received_heart_beat() {
    let mut sim = Sim::scripted();
    sim.cfg.coalesce = 100;
    sim.connect();
    let connected = sim.now;
    for _ in 0..3 {
        sim.publish().expect("publish");
    }
    sim.settle();
    assert!(sim.stats.confirmed == 3);
    // CONNECTED and three RECEIPTs, each with its LF (some in one chunk): no heart-beat.
    assert_eq!(sim.core.heartbeats().received, 0);
    // RabbitMQ's first heart-beat: at the first check finding nothing sent since the one before.
    sim.run_for(secs(12));
    assert_eq!(sim.core.heartbeats().received, 1, "one bare EOL by {:?}", sim.now - connected);
}

#[test]
fn stale_and_double_acks_are_refused_and_send_nothing() {
    let mut sim = Sim::scripted();
    sim.connect();
    sim.consume("q", false, 2).expect("consumer");
    sim.publish().expect("publish");
    sim.publish().expect("publish");
    sim.settle();
    let held = sim.take_held();
    assert_eq!(held.len(), 2);
    let (first, second) = (held[0].clone(), held[1].clone());

    assert_eq!(sim.call(|c, now| c.basic_ack(now, &first)), Ok(()));
    assert_eq!(sim.last_pump.0, 1, "the ACK went");
    sim.settle();
    assert_eq!(sim.call(|c, now| c.basic_ack(now, &first)), Err(AckError::AlreadySettled));
    assert_eq!(sim.last_pump.0, 0, "nothing sent");
    assert_eq!(sim.call(|c, now| c.basic_nack(now, &first, true)), Err(AckError::AlreadySettled));
    assert_eq!(sim.last_pump.0, 0, "nothing sent");

    let old = sim.core.current_link().expect("link");
    sim.drop_current();
    sim.run_for(secs(3));
    assert!(sim.core.is_connected() && sim.core.current_link() != Some(old), "reconnected");
    assert_eq!(sim.call(|c, now| c.basic_ack(now, &second)), Err(AckError::Stale { link: old }));
    assert_eq!(sim.last_pump.0, 0, "nothing sent");
    sim.settle();
    // The broker redelivered it on the new connection, marked.
    let redelivered = sim.taken.last().map(|(_, delivery)| delivery.clone());
    assert!(redelivered.is_some_and(|d| d.redelivered && d.possibly_duplicate()));
    assert!(sim.broker.violations.is_empty());
}

/// A resource alarm that holds publishers back (confirms wait, deliveries and
/// heart-beats go on) is said as such after 5 s, costs no connection, and ends
/// with every publish confirmed and the status saying confirms flow again.
#[test]
fn publishes_held_back_by_an_alarm_are_said_and_wait_without_a_reconnect() {
    let mut sim = Sim::scripted();
    sim.connect();
    let link = sim.core.current_link().expect("link");
    sim.consume("q", true, 0).expect("consumer");
    sim.broker.alarm_until = Some(sim.now + secs(30));
    let mark = sim.mark();
    let ids: Vec<_> = (0..20).map(|_| sim.publish().expect("publish")).collect();
    sim.run_for(secs(4));
    let said = |sim: &Sim| {
        sim.events_since(mark)
            .into_iter()
            .filter_map(|e| match e {
                ReliableEvent::Connection(ConnectionEvent::PublishesHeldBack { in_flight, .. }) => Some(in_flight),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert!(said(&sim).is_empty(), "not within 5 s");
    sim.run_for(secs(2));
    assert_eq!(said(&sim), [20], "said once, with every publish waiting");
    // The consumer keeps getting what the broker holds, heart-beats keep the
    // connection, and the publishes wait.
    sim.run_for(secs(30));
    assert_eq!(said(&sim).len(), 1, "said once for the whole wait");
    assert_eq!(sim.core.current_link(), Some(link), "no reconnect for an alarm");
    assert!(ids.iter().all(|id| sim.outcome(*id) == Some(Outcome::Confirmed)), "every publish confirmed after the alarm");
    let flowing = sim.events_since(mark).into_iter().filter_map(|e| match e {
        ReliableEvent::Connection(ConnectionEvent::PublishesFlowing { held_for }) => Some(held_for),
        _ => None,
    });
    assert!(flowing.collect::<Vec<_>>().first().is_some_and(|held| *held >= secs(29)), "confirms flow again, said once");
    assert!(sim.broker.violations.is_empty());
}

#[test]
fn a_message_published_again_after_a_lost_confirm_is_marked() {
    let mut sim = Sim::scripted();
    sim.connect();
    sim.broker.slow_confirms = true;
    sim.consume("q", true, 0).expect("consumer");
    let id = sim.publish().expect("publish");
    sim.settle();
    let first = sim.core.current_link().expect("link");
    let sent = sim.frames_on(first).into_iter().find(|f| f.command == Command::Send).expect("SEND");
    assert!(sent.header("receipt").is_some() && sent.header("persistent") == Some("true"));
    assert_eq!(sent.header("burrow-resent"), None, "a first send is not marked");
    // The broker took it; the connection drops before the confirm.
    sim.drop_current();
    sim.broker.slow_confirms = false;
    sim.run_for(secs(3));
    assert_eq!(sim.outcome(id), Some(Outcome::Confirmed));
    let second = sim.core.current_link().expect("link");
    let again = sim.frames_on(second).into_iter().find(|f| f.command == Command::Send).expect("SEND");
    assert_eq!(again.header("burrow-resent"), Some("true"));
    let deliveries: Vec<(bool, bool)> =
        sim.taken.iter().map(|(_, delivery)| (delivery.resent, delivery.possibly_duplicate())).collect();
    // The first copy came before the drop; its (auto) ack had not gone yet, so it
    // also comes again, redelivered; the resent copy is marked as such.
    assert_eq!(deliveries.first(), Some(&(false, false)), "the first copy is not marked");
    assert!(deliveries[1..].iter().all(|(_, marked)| *marked), "every later copy is marked: {deliveries:?}");
    assert!(deliveries.contains(&(true, true)), "the resent copy came: {deliveries:?}");
}

// ---- defects the simulation found in the core (see the fixes in src/sans_io/core/)

/// Seed 0 found it: `blame` preferred any subscription awaiting its receipt over
/// the ERROR's own words, so a consumer subscribed just after a publish to a
/// missing exchange failed with "no exchange 'nope'", and the publish was resent.
/// Without the ERROR frame, the subscription sent after an unconfirmed publish is
/// not the culprit either.
#[test]
fn a_subscription_sent_after_a_refused_publish_is_not_blamed_for_it() {
    for lose_error in [0, 100] {
        let mut sim = Sim::scripted();
        sim.broker.lose_error = lose_error;
        sim.connect();
        let doomed = sim.publish_with("nope", "k", PubKind::MissingExchange, 0).expect("publish");
        let consumer = sim.consume("q", false, 1).expect("consumer");
        sim.run_for(secs(10));
        assert_eq!(sim.outcome(doomed), Some(Outcome::Refused), "lose_error {lose_error}");
        assert_eq!(sim.core.consumers().collect::<Vec<_>>(), vec![consumer], "lose_error {lose_error}");
        let link = sim.core.current_link().expect("link");
        assert_eq!(sim.broker_subs(link).len(), 1, "lose_error {lose_error}");
    }
}

/// Seed 1 found it: pending requests were ordered as strings, so `receipt-10`
/// came before `receipt-9` and an unexplained close blamed the wrong declare.
#[test]
fn an_unexplained_close_blames_the_oldest_request_by_number() {
    let mut sim = Sim::scripted();
    sim.broker.lose_error = 100;
    sim.connect();
    for _ in 0..8 {
        sim.publish().expect("publish");
    }
    sim.settle();
    // Their fences go with receipt-9 and receipt-10.
    let refused = sim.declare("q", &QueueOptions::default(), DeclareExpect::Refused).expect("declare");
    let fine = sim.declare("other", &QueueOptions::default(), DeclareExpect::Ok).expect("declare");
    let receipts: Vec<String> = sim
        .frames_on(sim.core.current_link().expect("link"))
        .iter()
        .filter_map(|f| f.header("receipt").filter(|_| f.header("destination") == Some("/amq/queue/amq.burrow.fence")))
        .map(str::to_owned)
        .collect();
    assert_eq!(receipts, ["receipt-9", "receipt-10"]);
    sim.run_for(secs(3));
    let result = |id: DeclareId| {
        sim.events.iter().find_map(|(_, e)| match e {
            ReliableEvent::Declared { request, result } if *request == id => Some(result.clone()),
            _ => None,
        })
    };
    assert!(matches!(result(refused), Some(Err(DeclareError::Refused(_)))), "{:?}", result(refused));
    assert!(matches!(result(fine), Some(Err(DeclareError::Closed(_)))), "{:?}", result(fine));
}

/// Seed 143 found it: a consumer cancelled while its SUBSCRIBE was refused got
/// ConsumerFailed and then ConsumerCancelled.
#[test]
fn a_cancelled_consumer_whose_subscription_is_refused_ends_once() {
    let mut sim = Sim::scripted();
    sim.connect();
    let key = sim.consume("missing", false, 1).expect("consumer");
    sim.cancel(key);
    sim.run_for(secs(3));
    let ends: Vec<ReliableEvent> = sim
        .events
        .iter()
        .map(|(_, e)| e.clone())
        .filter(|e| {
            matches!(e, ReliableEvent::ConsumerCancelled(k) if *k == key)
                || matches!(e, ReliableEvent::Connection(ConnectionEvent::ConsumerFailed { consumer, .. }) if *consumer == key)
        })
        .collect();
    assert_eq!(ends, vec![ReliableEvent::ConsumerCancelled(key)]);
    assert!(sim.core.is_connected());
}

/// Seed 394 found it: basic_cancel after stop() could not send UNSUBSCRIBE
/// (DISCONNECT was out) yet said ConsumerCancelled at once, while the broker kept
/// delivering to the subscription until it read the DISCONNECT.
#[test]
fn a_consumer_cancelled_while_disconnecting_is_cancelled_when_the_connection_ends() {
    let mut sim = Sim::scripted();
    sim.connect();
    let key = sim.consume("q", true, 0).expect("consumer");
    sim.settle();
    sim.publish().expect("publish");
    sim.publish().expect("publish");
    // The SENDs are on their way; DISCONNECT follows them.
    sim.stop();
    let mark = sim.mark();
    sim.cancel(key);
    let cancelled = |events: Vec<ReliableEvent>| events.iter().any(|e| matches!(e, ReliableEvent::ConsumerCancelled(_)));
    assert!(!cancelled(sim.events_since(mark)), "not cancelled yet: the subscription still delivers");
    sim.run_for(secs(2));
    let events = sim.events_since(mark);
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            ReliableEvent::ConsumerCancelled(_) => Some("cancelled"),
            ReliableEvent::Connection(ConnectionEvent::Stopped(_)) => Some("stopped"),
            ReliableEvent::Confirmed(_) => Some("confirmed"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["confirmed", "confirmed", "cancelled", "stopped"]);
    // A cancelled consumer's reader takes nothing more: what still came stays
    // unacked until the connection ends (RabbitMQ takes no ack after UNSUBSCRIBE).
    assert!(sim.taken_since(mark, key).is_empty());
}

#[test]
fn a_socket_that_never_opens_is_given_up_after_the_connect_timeout() {
    let mut sim = Sim::scripted();
    // The handshake would take ten minutes: a black-holed host.
    sim.cfg.open_delay = (600_000, 600_000);
    sim.start();
    sim.run_for(secs(11));
    let gave_up = sim.events.iter().any(|(_, e)| {
        matches!(e, ReliableEvent::Connection(ConnectionEvent::Reconnecting { reason: CloseReason::ConnectTimeout(_), .. }))
    });
    assert!(gave_up, "no reconnect after the connect timeout: {:?}", sim.events);
    let closed_first = sim.actions.iter().any(|(_, a)| matches!(a, Action::Close { link: LinkId(1), .. }));
    assert!(closed_first, "the socket that never opened is closed");
    sim.run_for(secs(2));
    let opens = sim.actions.iter().filter(|(_, a)| matches!(a, Action::Open { .. })).count();
    assert_eq!(opens, 2, "a second attempt followed");
}


// ---- streams (invariant 9)

#[test]
fn a_stream_consumer_resumes_at_the_first_offset_it_did_not_ack() {
    let mut sim = Sim::scripted();
    sim.connect();
    sim.publish_to_stream(10);
    let key = sim.consume_stream(StreamOffset::First, 4).expect("consumer");
    sim.settle();
    let mark = sim.mark();
    sim.ack_offsets(&[0, 1]);
    // The credit of two acks brings two more; 2..=5 are held, not acked.
    assert_eq!(sim.stream_deliveries_since(mark, key), vec![(4, false), (5, false)]);
    let first = sim.core.current_link().expect("link");
    assert_eq!(sim.subscribed_offsets(first), vec![Some("first".to_owned())]);
    let mark = sim.mark();
    let second = sim.reconnect_after_a_drop();
    assert_eq!(sim.subscribed_offsets(second), vec![Some("offset=2".to_owned())], "not from the start");
    // The four it had not acked come again, marked; 0 and 1 never.
    assert_eq!(sim.stream_deliveries_since(mark, key), vec![(2, true), (3, true), (4, true), (5, true)]);
    let mark = sim.mark();
    sim.ack_offsets(&[2, 3, 4, 5]);
    sim.ack_offsets(&[6, 7, 8, 9]);
    let after: Vec<(u64, bool)> = sim.stream_deliveries_since(mark, key);
    assert_eq!(after, (6..10).map(|o| (o, false)).collect::<Vec<_>>(), "then the rest, unmarked, nothing skipped");
}

#[test]
fn offsets_acked_above_one_not_acked_are_not_handed_out_again() {
    let mut sim = Sim::scripted();
    sim.connect();
    sim.publish_to_stream(9);
    let key = sim.consume_stream(StreamOffset::First, 4).expect("consumer");
    sim.settle();
    // 0..=3 delivered; all but 1 acked, then 4 (of the three their credit brought).
    sim.ack_offsets(&[0, 2, 3]);
    sim.ack_offsets(&[4]);
    let mark = sim.mark();
    let second = sim.reconnect_after_a_drop();
    assert_eq!(sim.subscribed_offsets(second), vec![Some("offset=1".to_owned())]);
    // RabbitMQ sends 1..; 2, 3 and 4 were acked: the core acks them again for the
    // credit and keeps them from the user, who sees 1 and the unacked 5, 6 and 7
    // (the acks' credit had brought them) again.
    assert_eq!(sim.stream_deliveries_since(mark, key), vec![(1, true), (5, true), (6, true), (7, true)]);
    let acks = sim.frames_on(second).iter().filter(|f| f.command == Command::Ack).count();
    assert_eq!(acks, 3, "the core acked 2, 3 and 4 on the new connection");
    sim.ack_offsets(&[1, 5, 6, 7]);
    assert_eq!(sim.stream_deliveries_since(mark, key).last(), Some(&(8, false)));
}

#[test]
fn a_stream_consumer_given_nothing_yet_resubscribes_with_its_own_offset() {
    let mut sim = Sim::scripted();
    sim.connect();
    sim.publish_to_stream(2);
    sim.consume_stream(StreamOffset::Offset(3), 2).expect("consumer");
    sim.consume_stream(StreamOffset::Next, 2).expect("consumer");
    sim.consume_stream(StreamOffset::Timestamp(0), 2).expect("consumer");
    sim.settle();
    sim.take_held();
    let second = sim.reconnect_after_a_drop();
    // The timestamp consumer got 0 and 1 (never acked): it resumes at 0.
    let offsets = sim.subscribed_offsets(second);
    assert_eq!(offsets, vec![Some("offset=3".to_owned()), Some("next".to_owned()), Some("offset=0".to_owned())]);
}

#[test]
fn a_nack_of_a_stream_delivery_is_refused_and_sends_nothing() {
    let mut sim = Sim::scripted();
    sim.connect();
    sim.publish_to_stream(1);
    sim.consume_stream(StreamOffset::First, 1).expect("consumer");
    sim.settle();
    let acker = sim.take_held().pop().expect("a delivery");
    let link = sim.core.current_link();
    for requeue in [true, false] {
        let refused = sim.call(|c, now| c.basic_nack(now, &acker, requeue));
        assert_eq!(refused, Err(AckError::StreamNack));
        assert!(refused.unwrap_err().to_string().contains("cannot be nacked"));
        assert_eq!(sim.last_pump.0, 0, "nothing sent");
    }
    // The connection goes on, and the ack works.
    assert_eq!(sim.call(|c, now| c.basic_ack(now, &acker)), Ok(()));
    sim.settle();
    assert_eq!(sim.core.current_link(), link);
    assert!(sim.broker.violations.is_empty());
}

#[test]
fn a_stream_consumer_with_auto_ack_or_prefetch_0_is_refused_before_sending() {
    let mut sim = Sim::scripted();
    sim.connect();
    for (auto_ack, words) in [(true, "manual acknowledgement"), (false, "prefetch above 0")] {
        let options = ConsumeOptions { auto_ack, prefetch: if auto_ack { 5 } else { 0 }, ..ConsumeOptions::stream(StreamOffset::First, 1) };
        let refused = sim.call(|c, now| c.basic_consume(now, "s", options));
        match refused {
            Err(error @ ConsumeError::Invalid(RabbitError::StreamConsume(_))) => {
                assert!(error.to_string().contains(words), "{error}");
            }
            other => panic!("not refused: {other:?}"),
        }
        assert_eq!(sim.last_pump, (0, 0), "nothing sent, no event");
    }
    assert_eq!(sim.core.consumers().count(), 0);
}

/// Defect 8: a durable queue declared elsewhere (by pika), then this connection's
/// first declare of it as not durable: Web-STOMP 3.10.8 closes without the
/// PRECONDITION_FAILED, and the refusal said only "ended the connection … without
/// saying why". The core looks the queue up (the management API's facts) and
/// rebuilds RabbitMQ's words; without facts the refusal stays as it was.
#[test]
fn a_first_declare_refused_without_words_is_explained_from_the_queues_facts() {
    for facts in [true, false] {
        let mut sim = Sim::scripted();
        sim.broker.lose_error = 100;
        sim.cfg.lookup_fails = if facts { 0 } else { 100 };
        sim.connect();
        let mark = sim.mark();
        // The simulated broker's "q" is durable, as pika declared it.
        let id = sim.declare("q", &QueueOptions::default(), DeclareExpect::Refused).expect("sent");
        sim.run_for(secs(1));
        let answer = sim.events_since(mark).into_iter().find_map(|e| match e {
            ReliableEvent::Declared { request, result } if request == id => Some(result),
            _ => None,
        });
        if facts {
            let Some(Err(DeclareError::Refused(refusal))) = answer else { panic!("refused, got {answer:?}") };
            assert_eq!(refusal.kind, RefusalKind::PreconditionFailed, "{refusal}");
            assert!(refusal.detail.contains("inequivalent arg 'durable'"), "{}", refusal.detail);
            assert!(refusal.detail.contains("received 'false' but current is 'true'"), "{}", refusal.detail);
        } else {
            // No facts, no words: all that is known is that the close cut it.
            assert!(matches!(answer, Some(Err(DeclareError::Closed(_)))), "{answer:?}");
        }
        assert_eq!(sim.stats.lookups, 1, "one look-up");
    }
}

/// Regression (QA, from JavaScript): RabbitMQ's amqplib tutorial declares, then
/// publishes and consumes without waiting. A declare made before the connection
/// was up went out after the consumer's SUBSCRIBE and the outbox: the publish was
/// dropped (no queue yet) and the SUBSCRIBE refused (NOT_FOUND). Held now, it
/// goes first.
#[test]
fn a_declare_made_before_connecting_goes_before_the_subscribes_and_the_outbox() {
    // The scripted broker has "q" (durable) already: the frames' order says it.
    let mut sim = Sim::scripted();
    sim.start();
    assert!(!sim.core.is_connected(), "not connected yet");
    let id = sim.call(|c, now| c.queue_declare_or_hold(now, "q", &QueueOptions { durable: true, ..QueueOptions::default() })).expect("held");
    sim.declares.insert(id, DeclareRec { expect: DeclareExpect::Ok, done: false });
    sim.consume("q", false, 1).expect("a consumer");
    sim.publish_with("", "q", PubKind::Valid, 0).expect("a publish");
    sim.run_for(ms(50));
    sim.settle();
    let link = sim.core.current_link().expect("link");
    let frames = sim.frames_on(link);
    let at = |wanted: &dyn Fn(&Frame) -> bool| frames.iter().position(wanted);
    let declare = at(&|f| f.header("destination") == Some("/queue/q")).expect("the declaring SEND");
    let subscribe = at(&|f| f.command == Command::Subscribe).expect("the SUBSCRIBE");
    let publish = at(&|f| f.command == Command::Send && f.header("destination") == Some("/amq/queue/q")).expect("the publish");
    assert!(declare < subscribe && declare < publish, "declare {declare}, subscribe {subscribe}, publish {publish}");
    assert!(sim.declares[&id].done, "the declare was answered");
    assert_eq!(sim.stats.connects, 1, "no reconnect");
}

#[test]
fn quorum_and_stream_declares_rabbitmq_would_refuse_are_refused_before_sending() {
    let mut sim = Sim::scripted();
    sim.connect();
    for which in 0..4 {
        sim.declare_invalid(which);
    }
    assert_eq!(sim.stats.invalid_declares, 4);
    let words = sim.call(|c, now| c.queue_declare(now, "typed", &QueueOptions { exclusive: true, ..QueueOptions::quorum() }));
    let words = words.expect_err("refused").to_string();
    assert!(words.contains("a quorum queue cannot be exclusive"), "{words}");
    // A quorum queue as RabbitMQ takes it goes out with its type.
    sim.declare("orders", &QueueOptions::quorum(), DeclareExpect::Ok).expect("declare");
    sim.settle();
    let link = sim.core.current_link().expect("link");
    let declare = sim
        .frames_on(link)
        .into_iter()
        .find(|f| f.header("destination") == Some("/queue/orders"))
        .expect("the declaring SEND");
    assert_eq!(declare.header("x-queue-type"), Some("quorum"));
    assert_eq!(declare.header("durable"), Some("true"));
    assert_eq!(sim.broker.queues["orders"].kind, "quorum");
}

// ---- a cluster (invariant 10)

#[test]
fn a_stopped_node_sends_the_connection_to_the_next_url_where_consumers_and_the_outbox_resume() {
    let mut sim = Sim::scripted_cluster(3);
    sim.connect();
    let key = sim.consume("q", false, 5).expect("consumer");
    for _ in 0..3 {
        sim.publish().expect("publish");
    }
    sim.settle();
    let held = sim.take_held();
    assert_eq!(held.len(), 3, "three deliveries, unacked");
    // Two more wait for their confirm when the node goes.
    sim.broker.slow_confirms = true;
    let unconfirmed = [sim.publish().expect("publish"), sim.publish().expect("publish")];
    sim.settle();
    assert_eq!(sim.core.outbox().in_flight(), 2);
    let (mark, actions) = (sim.mark(), sim.actions.len());
    sim.stop_node(0, secs(600));
    sim.broker.slow_confirms = false;
    sim.run_for(secs(5));
    let events = sim.events_since(mark);
    let announced = events.iter().find_map(|e| match e {
        ReliableEvent::Connection(ConnectionEvent::Reconnecting { next_url, attempt, .. }) => Some((next_url.clone(), *attempt)),
        _ => None,
    });
    assert_eq!(announced, Some(("ws://node1.sim:15674/ws".to_owned(), 1)));
    assert_eq!(sim.opened_urls_since(actions), vec!["ws://node1.sim:15674/ws"], "one attempt, at the next node");
    let connected = events.iter().find_map(|e| match e {
        ReliableEvent::Connection(ConnectionEvent::Connected { url, .. }) => Some(url.clone()),
        _ => None,
    });
    assert_eq!(connected.as_deref(), Some("ws://node1.sim:15674/ws"));
    // There: the consumer is back, the unconfirmed two are sent again (marked) and
    // confirmed, and the three unacked deliveries come again, marked.
    let link = sim.core.current_link().expect("link");
    assert_eq!(sim.broker_subs(link).len(), 1);
    assert!(unconfirmed.iter().all(|id| sim.outcome(*id) == Some(Outcome::Confirmed)));
    let resent = sim.frames_on(link).iter().filter(|f| f.header("burrow-resent") == Some("true")).count();
    assert_eq!(resent, 2);
    let again: Vec<bool> = sim.taken_since(mark, key).iter().map(|d| d.possibly_duplicate()).collect();
    assert_eq!(again, vec![true; 5], "three redelivered and two resent copies, all marked");
    assert!(sim.core.outbox().is_empty());

    // The next node goes too (the first is still down): on to the third.
    let actions = sim.actions.len();
    sim.stop_node(1, secs(600));
    sim.run_for(secs(5));
    assert_eq!(sim.opened_urls_since(actions), vec!["ws://node2.sim:15674/ws"]);
    assert!(sim.core.is_connected());
    assert_eq!(sim.stats.failovers, 2);
}

/// Defect 2: a node that shuts down cleanly ends its sessions with ERROR
/// connection_forced (or, when 3.10.8 loses it, "STOMP died" alone): after
/// CONNECTED that counted as the broker's refusal, and the next attempt went to
/// the same, lost, node. A lost node moves the connection on to the next URL.
#[test]
fn a_node_shut_down_cleanly_sends_the_connection_to_the_next_url() {
    for lose_error in [0, 100] {
        let mut sim = Sim::scripted_cluster(3);
        sim.broker.lose_error = lose_error;
        sim.connect();
        let (mark, actions) = (sim.mark(), sim.actions.len());
        sim.stop_node_gracefully(0, secs(600));
        sim.run_for(secs(5));
        let announced = sim.events_since(mark).into_iter().find_map(|e| match e {
            ReliableEvent::Connection(ConnectionEvent::Reconnecting { next_url, .. }) => Some(next_url),
            _ => None,
        });
        assert_eq!(announced.as_deref(), Some("ws://node1.sim:15674/ws"), "lose_error {lose_error}");
        assert_eq!(sim.opened_urls_since(actions), vec!["ws://node1.sim:15674/ws"], "lose_error {lose_error}");
        assert!(sim.core.is_connected());
    }
}

/// Defect 1: an ERROR such as connection_forced (a node shutting down, an
/// administrator closing the connection) refuses no request, yet a SUBSCRIBE or a
/// declare awaiting its receipt was failed for good as "refused". They come back
/// after the reconnect instead.
#[test]
fn a_forced_close_fails_no_subscription_or_declare_awaiting_its_receipt() {
    let mut sim = Sim::scripted();
    sim.cfg.latency = 50;
    sim.connect();
    let key = sim.consume("q", false, 1).expect("consumer");
    let declare = sim.declare("tmp-forced", &QueueOptions::default(), DeclareExpect::Ok).expect("sent");
    // The SUBSCRIBE and the declare are on their way; the node shuts down first.
    let mark = sim.mark();
    sim.stop_node_gracefully(0, ms(200));
    sim.run_for(secs(5));
    let events = sim.events_since(mark);
    assert!(
        !events.iter().any(|e| matches!(e, ReliableEvent::Connection(ConnectionEvent::ConsumerFailed { .. }))),
        "the consumer was not refused: {events:?}"
    );
    let declared = events.iter().find_map(|e| match e {
        ReliableEvent::Declared { request, result } if *request == declare => Some(result.clone()),
        _ => None,
    });
    assert!(matches!(declared, Some(Err(DeclareError::Closed(_)))), "closed, not refused: {declared:?}");
    assert!(sim.core.consumers().any(|k| k == key) && sim.core.is_connected(), "back and subscribed");
}

/// Defect 1: after an unexplained close puts the messages in flight on probation,
/// the next unexplained close (a node shutting down, its ERROR lost) blamed the one
/// message then in flight as refused. It takes that message ending two
/// connections alone to blame it.
#[test]
fn a_message_on_probation_is_not_blamed_for_one_more_unexplained_close() {
    let mut sim = Sim::scripted();
    sim.broker.lose_error = 100;
    sim.broker.slow_confirms = true;
    sim.connect();
    let first = sim.publish().expect("publish");
    let second = sim.publish().expect("publish");
    sim.settle();
    assert_eq!(sim.core.outbox().in_flight(), 2);
    // A clean shutdown whose ERROR is lost: both in flight go on probation.
    sim.restart_broker(ms(100), true);
    sim.run_for(secs(2));
    // One goes alone; the broker shuts down again while it is in flight.
    assert_eq!(sim.core.outbox().in_flight(), 1, "probation: one at a time");
    sim.restart_broker(ms(100), true);
    sim.broker.slow_confirms = false;
    sim.run_for(secs(10));
    assert_eq!(sim.outcome(first), Some(Outcome::Confirmed));
    assert_eq!(sim.outcome(second), Some(Outcome::Confirmed));
}

#[test]
fn a_node_that_refuses_connections_is_passed_over_with_the_same_backoff() {
    let mut sim = Sim::scripted_cluster(3);
    sim.broker.nodes_down.insert(1, secs(3600));
    sim.connect();
    let (mark, actions) = (sim.mark(), sim.actions.len());
    sim.stop_node(0, secs(3600));
    sim.run_for(secs(10));
    assert_eq!(
        sim.opened_urls_since(actions),
        vec!["ws://node1.sim:15674/ws", "ws://node2.sim:15674/ws"],
        "node 1 refuses, node 2 takes it"
    );
    let retries: Vec<(u32, String)> = sim
        .events_since(mark)
        .into_iter()
        .filter_map(|e| match e {
            ReliableEvent::Connection(ConnectionEvent::Reconnecting { attempt, next_url, .. }) => Some((attempt, next_url)),
            _ => None,
        })
        .collect();
    assert_eq!(
        retries,
        vec![(1, "ws://node1.sim:15674/ws".to_owned()), (2, "ws://node2.sim:15674/ws".to_owned())],
        "each failure moves on, and the backoff counts on"
    );
    assert!(sim.core.is_connected());
}

// ---------------------------------------------------------------- credentials per connection (issue 18)

impl Sim {
    /// Scripted, with a provider: answers in 10 ms, tokens of `lifetime` ms.
    fn scripted_provider(lifetime: Option<u64>, close_at_expiry: bool) -> Sim {
        let verbose = std::env::var("BURROW_SIM_VERBOSE").is_ok();
        let creds = CredsCfg { delay: (10, 10), fails: 0, slow: 0, lifetime, says_expiry: false, close_at_expiry };
        let mut sim = Sim::new(7, Config { creds: Some(creds), ..Config::scripted() }, verbose);
        sim.record = true;
        sim
    }

    fn statuses(&self) -> Vec<ConnectionEvent> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                ReliableEvent::Connection(status) => Some(status.clone()),
                _ => None,
            })
            .collect()
    }

    fn passcodes(&self) -> Vec<String> {
        let links: BTreeSet<LinkId> = self.transmits.iter().map(|(_, l, _)| *l).collect();
        links
            .into_iter()
            .flat_map(|link| self.frames_on(link))
            .filter(|f| f.command == Command::Connect)
            .filter_map(|f| f.header("passcode").map(str::to_owned))
            .collect()
    }
}

#[test]
fn credentials_are_asked_for_before_every_connect_and_a_failing_provider_is_retried_with_the_backoff() {
    let mut sim = Sim::scripted_provider(None, false);
    sim.cfg.creds = Some(CredsCfg { fails: 100, ..sim.cfg.creds.expect("a provider") });
    sim.start();
    let published = sim.publish().expect("a publish waits in the outbox");
    sim.run_for(secs(3));
    // No socket yet, the provider failing: typed in the status, retried with the backoff.
    assert!(!sim.actions.iter().any(|(_, a)| matches!(a, Action::Open { .. })), "no socket without credentials");
    let failures: Vec<Duration> = sim
        .statuses()
        .into_iter()
        .filter_map(|s| match s {
            ConnectionEvent::Reconnecting { reason: CloseReason::Credentials(error), delay, .. } => {
                assert_eq!(error.to_string(), "the credentials provider failed: the identity provider is unreachable");
                Some(delay)
            }
            _ => None,
        })
        .collect();
    assert!(failures.len() >= 2 && failures[1] > failures[0], "backing off: {failures:?}");
    assert_eq!(sim.core.outbox().len(), 1, "the publish waits");
    // The provider works again: it connects with what the provider gave, and the publish goes.
    sim.cfg.creds = Some(CredsCfg { fails: 0, ..sim.cfg.creds.expect("a provider") });
    sim.run_for(secs(10));
    assert!(sim.core.is_connected());
    assert_eq!(sim.outcome(published), Some(Outcome::Confirmed));
    assert_eq!(sim.passcodes(), ["guest"]);
}

#[test]
fn a_provider_that_does_not_answer_in_time_fails_the_attempt_and_its_late_answer_is_ignored() {
    let mut sim = Sim::scripted_provider(None, false);
    sim.cfg.creds = Some(CredsCfg { delay: (1_500, 1_500), ..sim.cfg.creds.expect("a provider") });
    sim.start();
    sim.run_for(ms(1_200));
    let timed_out = sim.statuses().into_iter().any(|s| {
        matches!(s, ConnectionEvent::Reconnecting { reason: CloseReason::Credentials(CredentialsError::TimedOut(t)), .. } if t == CREDS_TIMEOUT)
    });
    assert!(timed_out, "{:?}", sim.statuses());
    sim.run_for(ms(500));
    assert!(!sim.actions.iter().any(|(_, a)| matches!(a, Action::Open { .. })), "the late answer opened nothing");
}

#[test]
fn a_renewal_subscribes_on_the_new_connection_before_the_old_one_closes() {
    // Make-before-break, in 5 ms steps: at every step the broker has the
    // consumer's subscription on some connection, and deliveries go on.
    let mut sim = Sim::scripted_provider(Some(4_000), true);
    sim.connect();
    let consumer = sim.consume("q", false, 10).expect("consumer");
    sim.run_for(ms(50));
    let (mut uncovered, mut published) = (Duration::ZERO, Vec::new());
    for step in 0..3_000 {
        if step % 4 == 0 {
            published.push(sim.publish().expect("publish"));
        }
        sim.run_for(ms(5));
        sim.read_all();
        sim.ack_all_held();
        let subscribed = sim.broker.conns.values().any(|c| c.connected && c.subs.values().any(|s| s.queue == "q"));
        if !subscribed {
            uncovered += ms(5);
        }
    }
    sim.run_for(secs(1));
    sim.read_all();
    sim.ack_all_held();
    let statuses = sim.statuses();
    assert_eq!(uncovered, Duration::ZERO, "time without the consumer subscribed anywhere");
    let switched = statuses.iter().filter(|s| matches!(s, ConnectionEvent::Renewed { .. })).count();
    assert!((4..=6).contains(&switched), "about one in 3 s of 15 s, each make-before-break: {switched}");
    assert!(!statuses.iter().any(|s| matches!(s, ConnectionEvent::Reconnecting { .. })), "no other reconnect");
    assert!(published.iter().all(|id| sim.outcome(*id) == Some(Outcome::Confirmed)), "all confirmed");
    let received: BTreeSet<u64> = sim.taken.iter().filter(|(c, _)| *c == consumer).filter_map(|(_, d)| parse_tag(&d.body)).collect();
    assert_eq!(received.len(), published.len(), "all received");
    assert_eq!(sim.broker.expiry_closes, 0, "never closed by the broker at expiry");
}

#[test]
fn tokens_that_expire_are_renewed_by_planned_reconnects_that_lose_nothing() {
    // RabbitMQ 4.3 closes a connection whose token expired: planned reconnects come first.
    let mut sim = Sim::scripted_provider(Some(5_000), true);
    sim.connect();
    let consumer = sim.consume("q", false, 10).expect("consumer");
    let mut published = Vec::new();
    for _ in 0..60 {
        published.push(sim.publish().expect("publish"));
        sim.run_for(ms(500));
        sim.read_all();
        sim.ack_all_held();
    }
    sim.run_for(secs(2));
    sim.read_all();
    sim.ack_all_held();
    let renewals = sim.statuses().into_iter().filter(|s| matches!(s, ConnectionEvent::Renewing { .. })).count();
    assert!((6..=9).contains(&renewals), "about one in 3.75 s of 30 s: {renewals}");
    assert_eq!(sim.broker.expiry_closes, 0, "never closed by the broker at expiry");
    assert!(published.iter().all(|id| sim.outcome(*id) == Some(Outcome::Confirmed)), "all confirmed");
    let received: BTreeSet<u64> = sim.taken.iter().filter(|(c, _)| *c == consumer).filter_map(|(_, d)| parse_tag(&d.body)).collect();
    assert_eq!(received.len(), 60, "all received");
    let passcodes = sim.passcodes();
    let distinct: BTreeSet<&String> = passcodes.iter().collect();
    assert_eq!(distinct.len(), passcodes.len(), "a fresh token for every CONNECT");
}

#[test]
fn a_broker_that_closes_at_expiry_is_not_taken_for_a_refusal() {
    // Fixed credentials: a token of 3 s, no provider to renew it. RabbitMQ 4.3
    // closes at expiry, without words, while publishes await their confirm: they
    // are not what the broker refused (before, the second such close blamed them).
    let verbose = std::env::var("BURROW_SIM_VERBOSE").is_ok();
    let mut sim = Sim::new(7, Config::scripted(), verbose);
    sim.record = true;
    sim.broker.close_at_expiry = true;
    sim.broker.slow_confirms = true;
    let options = ConnectOptions::new("/").with_credentials("burrow", token((UNIX0 + secs(3)).as_secs()));
    sim.core = Core::new(sim.urls.clone(), options, ReliableOptions::default(), 7);
    sim.connect();
    let published: Vec<OutboxId> = (0..200).map(|_| sim.publish().expect("publish")).collect();
    sim.run_for(secs(10));
    assert_eq!(sim.broker.expiry_closes, 1, "the broker closed at expiry");
    assert!(matches!(sim.stopped, Some(StopReason::Refused(CloseReason::TokenExpired(_)))), "{:?}", sim.stopped);
    for id in published {
        assert!(matches!(sim.outcome(id), Some(Outcome::Confirmed | Outcome::Stopped)), "{:?}", sim.outcome(id));
    }
}

#[test]
fn an_expired_token_is_explained_in_words_and_fixed_credentials_stop_there() {
    let verbose = std::env::var("BURROW_SIM_VERBOSE").is_ok();
    let mut sim = Sim::new(7, Config::scripted(), verbose);
    sim.record = true;
    let expired = token((UNIX0 - secs(90)).as_secs());
    let options = ConnectOptions::new("/").with_credentials("burrow", expired);
    sim.core = Core::new(sim.urls.clone(), options, ReliableOptions::default(), 7);
    sim.start();
    sim.run_for(secs(1));
    let Some(StopReason::Refused(reason @ CloseReason::TokenExpired(_))) = sim.stopped.clone() else {
        panic!("stopped with {:?}", sim.stopped)
    };
    let words = StopReason::Refused(reason).to_string();
    assert!(words.starts_with("the token sent as the passcode had expired"), "{words}");
    assert!(words.contains("was 90 s before CONNECT") && words.contains("Access refused"), "{words}");
}

#[test]
fn a_provider_that_gives_an_expired_token_is_asked_again_with_the_backoff() {
    let mut sim = Sim::scripted_provider(Some(0), false);
    sim.start();
    sim.run_for(secs(2));
    let expired = sim.statuses().into_iter().filter(|s| matches!(s, ConnectionEvent::Reconnecting { reason: CloseReason::TokenExpired(_), .. })).count();
    assert!(expired >= 2, "{:?}", sim.statuses());
    assert!(sim.stopped.is_none(), "a provider may give a fresh one");
    sim.cfg.creds = Some(CredsCfg { lifetime: Some(60_000), ..sim.cfg.creds.expect("a provider") });
    sim.run_for(secs(10));
    assert!(sim.core.is_connected());
}
