//! When to write to the socket, sans-IO: batching under load.
//!
//! A browser pays more per WebSocket message than per byte: writing one small
//! frame costs about as much as writing a hundred in one message. Under load a
//! receipt comes back for each publish and an ack goes out for each delivery, each
//! in its own turn of the event loop, so writing at the end of every turn sends one
//! message per frame. [`Pacer`] allows a few writes per slot (a millisecond by
//! default) at once, so a lone publish or ack still goes immediately; past that,
//! what is queued waits for the slot to end and goes in one write.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

/// How writes are batched: at most `burst` socket writes per `slot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// Writes allowed at once within a slot.
    pub burst: u32,
    /// The slot's length; a held write waits at most this long.
    pub slot: Duration,
}

impl Default for Pacing {
    /// Four writes per millisecond.
    fn default() -> Self {
        Pacing { burst: 4, slot: Duration::from_millis(1) }
    }
}

impl Pacing {
    /// Every write at once, unbatched.
    pub fn off() -> Self {
        Pacing { burst: u32::MAX, slot: Duration::ZERO }
    }
}

/// Decides whether a write may go now; time is passed in.
///
/// ```
/// use std::time::Duration;
/// use burrow::reliable::{Pacer, Pacing};
///
/// let ms = Duration::from_millis;
/// let mut pacer = Pacer::new(Pacing { burst: 2, slot: ms(1) });
/// assert!(pacer.may_write(ms(10)));
/// pacer.wrote();
/// assert!(pacer.may_write(ms(10)));
/// pacer.wrote();
/// // A third write in the same slot waits for it to end, then goes with what else came.
/// assert!(!pacer.may_write(ms(10)));
/// assert_eq!(pacer.release_at(), ms(11));
/// assert!(pacer.may_write(ms(11)));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Pacer {
    pacing: Pacing,
    slot_start: Duration,
    writes: u32,
}

impl Pacer {
    /// A pacer allowing `pacing`.
    pub fn new(pacing: Pacing) -> Self {
        Pacer { pacing, slot_start: Duration::ZERO, writes: 0 }
    }

    /// Whether a write may go at `now` (a new slot starts when the last one is over).
    pub fn may_write(&mut self, now: Duration) -> bool {
        if now >= self.slot_start.saturating_add(self.pacing.slot) {
            self.slot_start = now;
            self.writes = 0;
        }
        self.writes < self.pacing.burst
    }

    /// A write went.
    pub fn wrote(&mut self) {
        self.writes = self.writes.saturating_add(1);
    }

    /// When a write held now may go.
    pub fn release_at(&self) -> Duration {
        self.slot_start.saturating_add(self.pacing.slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_lone_write_goes_at_once_and_a_burst_is_held_to_the_end_of_its_slot() {
        let mut pacer = Pacer::new(Pacing::default());
        for _ in 0..4 {
            assert!(pacer.may_write(100 * MS));
            pacer.wrote();
        }
        assert!(!pacer.may_write(100 * MS));
        assert!(!pacer.may_write(100 * MS + MS / 2), "still the same slot");
        assert_eq!(pacer.release_at(), 101 * MS);
        assert!(pacer.may_write(101 * MS), "the held bytes go when the slot ends");
        // Long after, a write goes at once again.
        pacer.wrote();
        assert!(pacer.may_write(500 * MS));
    }

    #[test]
    fn off_never_holds() {
        let mut pacer = Pacer::new(Pacing::off());
        for _ in 0..10_000 {
            assert!(pacer.may_write(7 * MS));
            pacer.wrote();
        }
    }

    #[test]
    fn writes_per_slot_never_exceed_the_burst() {
        let mut pacer = Pacer::new(Pacing { burst: 3, slot: MS });
        let mut per_slot = std::collections::HashMap::<u128, u32>::new();
        // Try to write every 100 µs for a second.
        for tick in 0..10_000u64 {
            let now = Duration::from_micros(tick * 100);
            if pacer.may_write(now) {
                pacer.wrote();
                *per_slot.entry(pacer.release_at().as_micros()).or_default() += 1;
            }
        }
        assert!(per_slot.values().all(|&n| n <= 3), "{per_slot:?}");
        assert!(per_slot.len() >= 900, "slots keep coming: {}", per_slot.len());
    }
}
