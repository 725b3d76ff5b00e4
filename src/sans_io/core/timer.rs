//! The core's deadlines as a table of named timers (quinn's `TimerTable`):
//! [`super::Core::poll_timeout`] is the earliest, and
//! [`super::Core::handle_timeout`] walks [`Timer::VALUES`] and handles each
//! that is due.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use super::{Core, Life};

/// One named deadline of the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// The current socket must have opened by then (a black-holed host never
    /// answers; the session's own CONNECT deadline runs only once it opened).
    SocketOpen,
    /// The current connection's session: CONNECTED, DISCONNECT's receipt, the
    /// next heart-beat to send, or the broker declared silent.
    Link,
    /// The next reconnect attempt.
    Retry,
    /// Writes held back by [`super::Pacing`] may go.
    Pacing,
    /// Deliveries auto-ack consumers took get their (cumulative) ack.
    AutoAck,
    /// The short-lived side connection of a second declare (see
    /// [`super::Core::queue_declare`]): its socket must open, or its session's own
    /// deadline.
    SideLink,
    /// A management API look-up that has not answered by then stops counting: the
    /// refusal it would explain comes out as it is.
    LookUp,
    /// Publishes in flight have waited long enough for a confirm to say the
    /// broker holds them back.
    HeldBack,
    /// The earliest call ([`super::Core::call`]) times out, or, at half its
    /// timeout, asks the management API whether its queue exists.
    Call,
    /// The credentials provider must have answered by then
    /// ([`super::Action::Credentials`]).
    Credentials,
    /// The planned reconnect before the credentials expire.
    Renew,
    /// An exclusive queue the connection that dropped held is declared again
    /// (see `locked`).
    Locked,
    /// A new connection waiting for its exchanges to be declared again goes on
    /// without them (see `topology`).
    Topology,
}

impl Timer {
    /// Every timer, in the order [`super::Core::handle_timeout`] handles them.
    pub const VALUES: [Timer; 13] = [
        Timer::SocketOpen,
        Timer::Link,
        Timer::Retry,
        Timer::Pacing,
        Timer::AutoAck,
        Timer::SideLink,
        Timer::LookUp,
        Timer::HeldBack,
        Timer::Call,
        Timer::Credentials,
        Timer::Renew,
        Timer::Locked,
        Timer::Topology,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// A deadline per [`Timer`], on the clock passed into the core.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct TimerTable {
    data: [Option<Duration>; Timer::VALUES.len()],
}

impl TimerTable {
    pub(super) fn set(&mut self, timer: Timer, at: Duration) {
        self.put(timer, Some(at));
    }

    pub(super) fn stop(&mut self, timer: Timer) {
        self.put(timer, None);
    }

    /// Sets or stops it, as `at` says.
    pub(super) fn put(&mut self, timer: Timer, at: Option<Duration>) {
        if let Some(slot) = self.data.get_mut(timer.index()) {
            *slot = at;
        }
    }

    pub(super) fn get(&self, timer: Timer) -> Option<Duration> {
        self.data.get(timer.index()).copied().flatten()
    }

    pub(super) fn is_expired(&self, timer: Timer, now: Duration) -> bool {
        self.get(timer).is_some_and(|at| at <= now)
    }

    /// The earliest deadline, and which timer it is.
    pub(super) fn next(&self) -> Option<(Timer, Duration)> {
        Timer::VALUES.iter().filter_map(|&timer| self.get(timer).map(|at| (timer, at))).min_by_key(|(_, at)| *at)
    }
}

impl Core {
    /// Copies the deadlines the links and the reconnector keep into the table.
    pub(super) fn sync_timers(&mut self) {
        let opening = self.current.as_ref().is_some_and(|c| !c.opened);
        if !opening {
            self.timers.stop(Timer::SocketOpen);
        }
        let link = self.current.as_ref().filter(|c| c.opened).and_then(|c| c.link.poll_timeout());
        self.timers.put(Timer::Link, link);
        let retry = if self.life == Life::Running { self.reconnector.poll_timeout() } else { None };
        self.timers.put(Timer::Retry, retry);
        self.timers.put(Timer::SideLink, self.side.poll_timeout());
        let look_up = self.look_up_deadline();
        self.timers.put(Timer::LookUp, look_up);
        self.timers.put(Timer::HeldBack, self.confirm_watch.deadline());
        self.timers.put(Timer::Locked, self.locked_deadline());
        // Stopping too: a call ends by its deadline while DISCONNECT awaits its receipt.
        let call = if matches!(self.life, Life::Running | Life::Stopping) { self.call_deadline() } else { None };
        self.timers.put(Timer::Call, call);
        let credentials = if self.life == Life::Running { self.credentials_deadline() } else { None };
        self.timers.put(Timer::Credentials, credentials);
        let renew = self.renew_deadline();
        self.timers.put(Timer::Renew, renew);
        self.timers.put(Timer::Topology, self.topology.deadline());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_deadline_wins_and_stopped_ones_do_not_count() {
        let ms = Duration::from_millis;
        let mut table = TimerTable::default();
        assert_eq!(table.next(), None);
        table.set(Timer::Retry, ms(500));
        table.set(Timer::Link, ms(200));
        assert_eq!(table.next(), Some((Timer::Link, ms(200))));
        assert!(table.is_expired(Timer::Link, ms(200)) && !table.is_expired(Timer::Retry, ms(200)));
        table.stop(Timer::Link);
        assert_eq!(table.next(), Some((Timer::Retry, ms(500))));
    }
}
