//! When to reconnect after a session closed, sans-IO.
//!
//! [`Backoff`] computes the delays, [`Reconnector`] keeps track of whether a retry is
//! scheduled and when, so the UI can show a countdown. Neither reads a clock nor draws
//! random numbers: `now` (any monotonic time, the same origin throughout, as for
//! [`crate::client::Session`]) and a uniform random number in `[0, 1)` are passed in.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use super::close::{CloseReason, ServerError};

/// How a delay is spread around its exponential ceiling, so that many browsers
/// dropped by the same broker restart do not all come back at the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Jitter {
    /// Uniform in `[0, ceiling)`: spreads the most, but may retry almost at once.
    Full,
    /// Uniform in `[ceiling / 2, ceiling)`: always waits at least half the ceiling,
    /// so a visible countdown never flashes by and a down broker is not hammered.
    Equal,
}

/// Exponential backoff with a cap and jitter.
///
/// The `n`-th delay (counting from 0) has the ceiling `min(cap, initial × factorⁿ)`
/// and is drawn below it as [`Jitter`] says. [`Backoff::default`] is 500 ms,
/// factor 2, cap 30 s, [`Jitter::Equal`].
///
/// ```
/// use std::time::Duration;
/// use burrow::client::{Backoff, Jitter};
///
/// let mut backoff = Backoff::new(Duration::from_millis(500), 2, Duration::from_secs(2), Jitter::Equal);
/// // The random number is passed in: equal jitter waits between half the ceiling and all of it.
/// assert_eq!(backoff.next_delay(0.0), Duration::from_millis(250));
/// assert_eq!(backoff.next_delay(0.5), Duration::from_millis(750));
/// assert_eq!(backoff.ceiling(), Duration::from_secs(2));
/// assert_eq!(backoff.next_delay(0.0), Duration::from_secs(1)); // capped from here on
/// backoff.reset(); // connected again
/// assert_eq!(backoff.ceiling(), Duration::from_millis(500));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    factor: u32,
    cap: Duration,
    jitter: Jitter,
    attempts: u32,
}

impl Default for Backoff {
    /// 500 ms, doubling, capped at 30 s, equal jitter.
    fn default() -> Self {
        Backoff::new(Duration::from_millis(500), 2, Duration::from_secs(30), Jitter::Equal)
    }
}

impl Backoff {
    /// A backoff starting at `initial`, multiplied by `factor` per attempt, never above
    /// `cap`. A `factor` of 0 is taken as 1 (constant delay), and an `initial` above
    /// `cap` is lowered to it.
    pub fn new(initial: Duration, factor: u32, cap: Duration, jitter: Jitter) -> Self {
        Backoff { initial: initial.min(cap), factor: factor.max(1), cap, jitter, attempts: 0 }
    }

    /// The next delay, counting it as an attempt.
    ///
    /// `random_unit` should be uniform in `[0, 1)`; anything else (negative, 1 or more,
    /// NaN) is clamped into that range, NaN to 0, so a bad random source cannot make
    /// the delay exceed its ceiling.
    pub fn next_delay(&mut self, random_unit: f64) -> Duration {
        let ceiling = self.ceiling();
        self.attempts = self.attempts.saturating_add(1);
        let unit = clamp_unit(random_unit);
        let (floor, spread) = match self.jitter {
            Jitter::Full => (Duration::ZERO, ceiling),
            Jitter::Equal => (ceiling / 2, ceiling.saturating_sub(ceiling / 2)),
        };
        // unit < 1 and spread is finite, so this cannot fail; the fallback keeps it total.
        let jittered = Duration::try_from_secs_f64(spread.as_secs_f64() * unit).unwrap_or(Duration::ZERO);
        // Rounding to whole nanoseconds can reach `spread`; keep the range half-open.
        let jittered = if jittered >= spread { spread.saturating_sub(Duration::from_nanos(1)) } else { jittered };
        floor.saturating_add(jittered).min(ceiling)
    }

    /// The ceiling of the next delay: `min(cap, initial × factor^attempts)`.
    pub fn ceiling(&self) -> Duration {
        self.factor
            .checked_pow(self.attempts)
            .and_then(|growth| self.initial.checked_mul(growth))
            .map_or(self.cap, |delay| delay.min(self.cap))
    }

    /// Starts over from `initial` (after a connection succeeded).
    pub fn reset(&mut self) {
        self.attempts = 0;
    }

    /// Delays handed out since the last [`Backoff::reset`].
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

/// Maps any `f64` into `[0, 1)`.
fn clamp_unit(value: f64) -> f64 {
    // The largest f64 below 1.
    const BELOW_ONE: f64 = 1.0 - f64::EPSILON / 2.0;
    if value.is_nan() || value <= 0.0 {
        0.0
    } else if value >= 1.0 {
        BELOW_ONE
    } else {
        value
    }
}

/// Where a [`Reconnector`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconnectState {
    /// Nothing happened yet, or a connection attempt the user started is under way.
    Idle,
    /// Connected; a retryable close will schedule a retry.
    Connected,
    /// A retry is scheduled.
    Waiting {
        /// When to reconnect (same origin as the `now` passed in).
        retry_at: Duration,
        /// Which retry this is, from 1.
        attempt: u32,
    },
    /// The retry time came; the driver is connecting.
    Reconnecting,
    /// No more retries: the user disconnected on purpose, or the close was not one
    /// a retry can fix. [`Reconnector::start`] leaves this state.
    Stopped,
}

/// Decides when to reconnect, sans-IO.
///
/// The driver reports closes ([`Reconnector::on_closed`]) and successes
/// ([`Reconnector::on_connected`]), wakes at [`Reconnector::poll_timeout`] and calls
/// [`Reconnector::handle_timeout`], which says when to open a new session. A user's
/// "Disconnect" is [`Reconnector::give_up`]; their "Connect" is [`Reconnector::start`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconnector {
    backoff: Backoff,
    state: ReconnectState,
}

impl Default for Reconnector {
    /// With [`Backoff::default`].
    fn default() -> Self {
        Reconnector::new(Backoff::default())
    }
}

impl Reconnector {
    /// A reconnector using `backoff`, in [`ReconnectState::Idle`].
    pub fn new(backoff: Backoff) -> Self {
        Reconnector { backoff, state: ReconnectState::Idle }
    }

    /// Where it is.
    pub fn state(&self) -> ReconnectState {
        self.state
    }

    /// Retries scheduled since the last successful connection.
    pub fn attempts(&self) -> u32 {
        self.backoff.attempts()
    }

    /// The user asked to connect: retries are allowed again, starting from the
    /// initial delay.
    pub fn start(&mut self) {
        self.backoff.reset();
        self.state = ReconnectState::Idle;
    }

    /// The session reached CONNECTED: the next outage starts from the initial delay.
    pub fn on_connected(&mut self) {
        self.backoff.reset();
        self.state = ReconnectState::Connected;
    }

    /// The session closed at `now`. Returns when to retry (an absolute time on the
    /// same clock as `now`), or `None` when no retry will happen: the close is not
    /// retryable (see [`is_retryable`]) or the user gave up. While a retry is already
    /// scheduled, a second report of the same close keeps it rather than backing off twice.
    pub fn on_closed(&mut self, now: Duration, reason_is_retryable: bool, random_unit: f64) -> Option<Duration> {
        match self.state {
            ReconnectState::Stopped => return None,
            ReconnectState::Waiting { retry_at, .. } => return Some(retry_at),
            _ => {}
        }
        if !reason_is_retryable {
            self.state = ReconnectState::Stopped;
            return None;
        }
        let delay = self.backoff.next_delay(random_unit);
        let retry_at = now.saturating_add(delay);
        self.state = ReconnectState::Waiting { retry_at, attempt: self.backoff.attempts() };
        Some(retry_at)
    }

    /// The user disconnected on purpose: cancel any scheduled retry and schedule no more
    /// until [`Reconnector::start`].
    pub fn give_up(&mut self) {
        self.state = ReconnectState::Stopped;
    }

    /// Time left until the scheduled retry (zero once due), for a visible countdown;
    /// `None` when no retry is scheduled.
    pub fn countdown(&self, now: Duration) -> Option<Duration> {
        match self.state {
            ReconnectState::Waiting { retry_at, .. } => Some(retry_at.saturating_sub(now)),
            _ => None,
        }
    }

    /// When the driver should call [`Reconnector::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Duration> {
        match self.state {
            ReconnectState::Waiting { retry_at, .. } => Some(retry_at),
            _ => None,
        }
    }

    /// Returns `true` exactly once per scheduled retry, when `now` reached it: the
    /// driver should then open a new session. Early or spurious wake-ups return `false`.
    pub fn handle_timeout(&mut self, now: Duration) -> bool {
        match self.state {
            ReconnectState::Waiting { retry_at, .. } if now >= retry_at => {
                self.state = ReconnectState::Reconnecting;
                true
            }
            _ => false,
        }
    }
}

/// Whether reconnecting can help after a session closed for `reason`.
///
/// Only a refusal at CONNECT that a new connection would get again is final:
/// [`CloseReason::ConnectRefused`] for credentials, the virtual host or a
/// permission; and the user's own [`CloseReason::Disconnected`] and
/// [`CloseReason::InvalidOptions`]. Everything after CONNECTED is retryable, a
/// broker's ERROR included: a refused publish, declare or subscription fails alone
/// (the reliability core takes it out), and the rest of the session comes back.
pub fn is_retryable(reason: &CloseReason) -> bool {
    match reason {
        CloseReason::Disconnected | CloseReason::InvalidOptions(_) => false,
        CloseReason::ConnectRefused(error) => !is_permanent_refusal(error),
        CloseReason::ServerError(_)
        | CloseReason::Socket(_)
        | CloseReason::Transport(_)
        | CloseReason::DisconnectTimeout(_)
        | CloseReason::HeartBeatTimeout { .. }
        | CloseReason::ConnectTimeout(_)
        | CloseReason::Protocol(_)
        // Fresh credentials may come next time (the core stops itself when they
        // are fixed and cannot).
        | CloseReason::Credentials(_)
        | CloseReason::TokenExpired(_) => true,
    }
}

/// The CONNECT refusals retrying cannot fix. Matched on the broker's words here, not
/// with `crate::rabbit::Refusal`, because the client layer does not depend on the rabbit one.
fn is_permanent_refusal(error: &ServerError) -> bool {
    let text = format!("{} {}", error.message.as_deref().unwrap_or_default(), error.body).to_ascii_lowercase();
    ["bad connect", "access refused", "access_refused", "not_allowed", "virtual host"]
        .iter()
        .any(|word| crate::sans_io::text::contains(&text, word))
}
