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
//! Its parts (`tests/sim/`): `model.rs` the broker's state, `broker.rs` what
//! the broker does (`deliveries.rs` its subscriptions), `config.rs` a run's
//! knobs, `records.rs` the sockets and what the user asked, `driver.rs` the
//! simulated driver, `events.rs` the checks on what the core reports,
//! `network.rs` sockets and time, `calls.rs` the user's calls and the checks
//! after every step, `schedule.rs` faults, the random run and the heal;
//! `rpc.rs`, `exchanges.rs`, `exclusive.rs` and `blame.rs` their topics;
//! `scripted.rs` and `regressions*.rs` the named regressions.
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
    AckError, Acker, Action, BindingSpec, ConnectionEvent, ConsumeError, ConsumeOptions, ConsumerKey, Core, CredentialsId, DeclareError, DeclareId,
    ExchangeLookUp, ExchangeSpec, LinkId, PublishError, QueueLookUp, ReliableEvent, ReliableOptions, Alarm, Pacing, Phase, StopReason, Taken, Window,
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

// ============================================================ the simulation

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
    declares_closed,
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
    topology_recoveries,
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
    /// The exchanges and bindings declared again for a new link: when that is done.
    topology_due: Vec<(Duration, LinkId)>,
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

#[path = "sim/model.rs"]
mod sim_model;
use sim_model::*;
#[path = "sim/config.rs"]
mod sim_config;
use sim_config::*;
#[path = "sim/records.rs"]
mod sim_records;
use sim_records::*;
#[path = "sim/broker.rs"]
mod sim_broker;
#[path = "sim/deliveries.rs"]
mod sim_deliveries;
#[path = "sim/driver.rs"]
mod sim_driver;
#[path = "sim/events.rs"]
mod sim_events;
#[path = "sim/network.rs"]
mod sim_network;
#[path = "sim/calls.rs"]
mod sim_calls;
#[path = "sim/streams.rs"]
mod sim_streams;
#[path = "sim/schedule.rs"]
mod sim_schedule;
#[path = "sim/scripted.rs"]
mod sim_scripted;
#[path = "sim/regressions.rs"]
mod sim_regressions;
#[path = "sim/regressions_core.rs"]
mod sim_regressions_core;
#[path = "sim/regressions_cluster.rs"]
mod sim_regressions_cluster;
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
/// switch). And 21478 (a held queue's look-up answered during a stop declared it
/// again after the DISCONNECT), 25051 (consumers waiting for the facts on their
/// queue's declare stayed unsubscribed when the user's next declare of it
/// succeeded), 28809 (facts on a declare answered during a stop subscribed its
/// queue's consumers after the DISCONNECT), 1200680 (a declare again cut by
/// the same close as the user's declare of its queue, explained later, forgot
/// the queue and answered the user while its consumers waited), 2001697 (a
/// non-durable declare owed beside a durable one of the same queue answered
/// "declared" by the durable one's success), 1224914 (a consumer blamed alone for
/// a graceful restart's close whose words were lost, then a stop: it failed as
/// refused).
#[test]
fn seeds_that_found_defects() {
    let this_stop = [13_324, 18_295, 74_139, 83_363, 1_038_660, 1_177_333, 102_923, 1_179_899, 33_854, 1_027_703, 24_279];
    let declares = [21_478, 25_051, 28_809, 1_200_680, 2_001_697, 1_224_914];
    let earlier = [1_000_912, 11_123, 38_726, 46_126, 74_353, 23_438, 126_333, 75_752, 47_985, 88_295];
    for seed in earlier.into_iter().chain(this_stop).chain(declares) {
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
