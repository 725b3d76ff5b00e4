//! Publishes the broker holds back: no confirm for a while although the
//! connection is alive (its heart-beats still arrive). RabbitMQ holds publishers
//! back under a memory or disk alarm; AMQP tells the client (`connection.blocked`),
//! STOMP has no such frame, so the core infers it from the confirms that stop.
//! Measured: RabbitMQ 3.10.8's and 4.0.5's Web-STOMP go on confirming through a
//! memory alarm (docs/rabbitmq-versions.md); a broker that does hold them back
//! gets this status instead of a lost connection.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

/// How long publishes in flight may wait for a confirm, on a live connection,
/// before the status says the broker holds them back. Well above a busy
/// broker's fsync (RabbitMQ batches them every few hundred ms).
pub const HELD_BACK_AFTER: Duration = Duration::from_secs(5);

/// Whether publishes in flight have waited for a confirm since when, and whether
/// that was said.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct ConfirmWatch {
    /// Since when the oldest wait without any confirm began.
    waiting_since: Option<Duration>,
    /// [`super::ConnectionEvent::PublishesHeldBack`] was said for this wait.
    announced: bool,
}

impl ConfirmWatch {
    /// Publishes went out: a wait begins unless one is on.
    pub(super) fn sent(&mut self, now: Duration) {
        self.waiting_since.get_or_insert(now);
    }

    /// A confirm came, with `in_flight` still waiting: a new wait begins if any.
    /// Returns how long they were held back when that had been said.
    pub(super) fn confirmed(&mut self, now: Duration, in_flight: usize) -> Option<Duration> {
        let held = self.announced.then(|| now.saturating_sub(self.waiting_since.unwrap_or(now)));
        self.announced = false;
        self.waiting_since = (in_flight > 0).then_some(now);
        held
    }

    /// The connection is over: its waits end with it (a lost connection says so itself).
    pub(super) fn reset(&mut self) {
        *self = ConfirmWatch::default();
    }

    /// When to say that publishes are held back; `None` when nothing waits or it was said.
    pub(super) fn deadline(&self) -> Option<Duration> {
        if self.announced {
            return None;
        }
        self.waiting_since.map(|since| since + HELD_BACK_AFTER)
    }

    /// The deadline passed: since when they waited, once per wait.
    pub(super) fn timeout(&mut self, now: Duration) -> Option<Duration> {
        let due = self.deadline().is_some_and(|at| at <= now);
        if !due {
            return None;
        }
        self.announced = true;
        self.waiting_since
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_is_said_once_after_its_time_and_ends_with_a_confirm() {
        let ms = Duration::from_millis;
        let mut watch = ConfirmWatch::default();
        assert_eq!(watch.deadline(), None);
        watch.sent(ms(100));
        watch.sent(ms(900));
        assert_eq!(watch.deadline(), Some(ms(100) + HELD_BACK_AFTER));
        assert_eq!(watch.timeout(ms(4_000)), None, "not yet");
        assert_eq!(watch.timeout(ms(5_100)), Some(ms(100)));
        assert_eq!(watch.timeout(ms(9_000)), None, "said once");
        assert_eq!(watch.confirmed(ms(12_100), 3), Some(ms(12_000)));
        assert_eq!(watch.deadline(), Some(ms(12_100) + HELD_BACK_AFTER), "the rest wait anew");
        assert_eq!(watch.confirmed(ms(12_200), 0), None, "never said for this wait");
        assert_eq!(watch.deadline(), None);
    }
}
