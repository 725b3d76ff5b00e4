//! What the core shows the driver and the user without changing anything: its
//! phase, URLs, countdown, outbox and consumers.

use std::time::Duration;

use crate::rabbit::Outbox;

use super::{ConsumerKey, Core, Current, Life, Phase};

impl Core {
    /// The Web-STOMP URLs it connects to, in the order it tries them.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// Why it stopped, from the moment it does: set before it fails what was
    /// still waiting (publishes, calls, declares), so their errors can say why;
    /// the same reason as [`ConnectionEvent::Stopped`](super::ConnectionEvent::Stopped).
    pub fn stop_reason(&self) -> Option<&super::StopReason> {
        self.stopped_because.as_ref()
    }

    /// Where it is.
    pub fn phase(&self) -> Phase {
        match (self.life, &self.current) {
            (Life::Idle, _) => Phase::Idle,
            (Life::Stopping, _) => Phase::Stopping,
            (Life::Stopped, _) => Phase::Stopped,
            (Life::Running, Some(current)) if current.connected => Phase::Connected { url: current.url.clone() },
            (Life::Running, Some(current)) => Phase::Connecting { url: current.url.clone() },
            (Life::Running, None) if self.fetching_url().is_some() => {
                Phase::Connecting { url: self.fetching_url().unwrap_or_default().to_owned() }
            }
            (Life::Running, None) => match self.reconnector.poll_timeout() {
                Some(retry_at) => Phase::Waiting { retry_at },
                None => Phase::Stopped,
            },
        }
    }

    /// Whether it is connected now.
    pub fn is_connected(&self) -> bool {
        self.life == Life::Running && self.current.as_ref().is_some_and(Current::takes_requests)
    }

    /// Time left until the next reconnect attempt, when one is scheduled.
    pub fn countdown(&self, now: Duration) -> Option<Duration> {
        self.reconnector.countdown(now)
    }

    /// The outbox, to read its size.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Publishes waiting for room in the outbox.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// The consumers that exist (not cancelled, not failed).
    pub fn consumers(&self) -> impl Iterator<Item = ConsumerKey> + '_ {
        self.consumers.keys().copied()
    }

    /// Whether `consumer` is on trial: its subscription was unanswered when the
    /// broker ended a connection without saying why, so it subscribes again
    /// alone, once nothing else awaits an answer, until the broker answers it
    /// (or it ends a connection alone: then it is the one refused).
    pub fn on_trial(&self, consumer: ConsumerKey) -> bool {
        self.suspects.contains(&consumer)
    }
}
