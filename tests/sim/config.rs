//! One simulation's knobs, drawn from its seed.

use super::*;

/// One simulation's knobs.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) window: Window,
    pub(crate) outbox: OutboxLimits,
    /// Most the page timer fires late, in ms.
    pub(crate) jitter: u64,
    /// Most the page timer fires early, in ms (a browser's setTimeout may, against
    /// performance.now()).
    pub(crate) early: u64,
    /// The driver arms a page timer (as the core's Alarm says); without it only the
    /// worker's tick wakes the core.
    pub(crate) page_timer: bool,
    /// The driver's worker ticks (every 250 ms); without it (a CSP forbids the
    /// worker) only the page timer does.
    pub(crate) ticker: bool,
    /// Percent of the broker's WebSocket messages split at random points.
    pub(crate) split: u64,
    /// Reconnect (else a one-off connection that ends with its first close).
    pub(crate) reconnect: bool,
    /// Most a chunk takes on the network, in ms.
    pub(crate) latency: u64,
    pub(crate) open_delay: (u64, u64),
    pub(crate) lose_error: u64,
    /// Percent of broker frames written in the same chunk as the one before.
    pub(crate) coalesce: u64,
    /// Percent of manual deliveries the user acks at once.
    pub(crate) immediate_ack: u64,
    /// Percent of consumers whose reader is slow (takes deliveries now and then).
    pub(crate) slow_readers: u64,
    /// How the core batches writes under load.
    pub(crate) pacing: Pacing,
    /// Most a management API look-up takes, in ms; percent that cannot answer.
    pub(crate) lookup_delay: u64,
    pub(crate) lookup_fails: u64,
    pub(crate) steps: usize,
    pub(crate) urls: usize,
    pub(crate) stop_at: Option<usize>,
    pub(crate) revoke_at: Option<usize>,
    /// The driver reports a socket open even after it was asked to close it.
    pub(crate) open_despite_close: bool,
    /// Some broker restarts are clean shutdowns that close each session with
    /// ERROR connection_forced and "STOMP died", like a refusal.
    pub(crate) graceful_restarts: bool,
    /// Credentials from a provider before every CONNECT (else fixed ones).
    pub(crate) creds: Option<CredsCfg>,
    /// The user declared exchange `logs` and bound `q` to it through the
    /// management API: every later connection waits for the driver to declare
    /// them again (answered after up to `lookup_delay`, or never: the timeout).
    pub(crate) topology: bool,
}

/// A simulated credentials provider, and the tokens it gives.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CredsCfg {
    /// How long it takes, in ms.
    pub(crate) delay: (u64, u64),
    /// Percent of requests it fails.
    pub(crate) fails: u64,
    /// Percent of requests it answers after the core's timeout.
    pub(crate) slow: u64,
    /// Each token's lifetime in ms (`None`: a plain password, no expiry).
    pub(crate) lifetime: Option<u64>,
    /// It says the expiry itself too (else only the JWT's `exp` tells).
    pub(crate) says_expiry: bool,
    /// The broker closes a connection when its token expires (RabbitMQ 4.3).
    pub(crate) close_at_expiry: bool,
}

/// How long the simulated core waits for credentials.
pub(crate) const CREDS_TIMEOUT: Duration = Duration::from_secs(1);

impl Config {
    pub(crate) fn random(rng: &mut Rng) -> Self {
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
            topology: false,
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
        // Last too: the schedules without it stay as they were.
        cfg.topology = rng.chance(25);
        cfg
    }

    /// Predictable: no latency, no jitter, no lost ERROR frames.
    pub(crate) fn scripted() -> Self {
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
            topology: false,
        }
    }
}
