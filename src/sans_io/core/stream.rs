//! Where a stream consumer is, so that a resubscription continues after what it
//! acked: nothing skipped, and only what it did not ack handed out again.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::sans_io::map::RingSet;

/// Most acked offsets a stream consumer remembers above its lowest unacked one;
/// beyond it, the oldest are forgotten and would only come again marked.
const ACKED_OFFSETS_KEPT: usize = 65_536;

/// Where a stream consumer is, so that a resubscription continues after what it
/// acked: nothing skipped, and only what it did not ack handed out again.
#[derive(Debug, Clone, Default)]
pub(super) struct StreamPosition {
    /// Offsets handed out and not acked, on any connection: a lost connection's
    /// stay until they come again and are acked.
    pending: RingSet<u64>,
    /// Acked offsets above the lowest pending one: they come again after a
    /// resubscription, and are then acked here instead of handed out twice.
    // Ring sets: a message held long while the rest are acked leaves up to
    // ACKED_OFFSETS_KEPT here, and each ack then takes the first.
    acked: RingSet<u64>,
    /// The highest offset acked.
    max_acked: Option<u64>,
    /// The highest offset handed out: a delivery at or below it is a repeat.
    high: Option<u64>,
    /// The highest offset that arrived on the current subscription (deliveries
    /// come in offset order, so an acked offset at or below it is not coming again
    /// on it).
    link_high: Option<u64>,
    /// Deliveries a stream filter kept from the reader (each counted once).
    filtered_out: u64,
    /// Offsets that arrived for the reader and were not handed out yet. A
    /// filter acks what it keeps back as it arrives, ahead of these: they stay
    /// a floor for where to resume until handed (else a lost connection would
    /// skip them).
    waiting: RingSet<u64>,
}

impl StreamPosition {
    /// Where to resubscribe: the lowest offset not acked, else after the highest
    /// acked; `None` before any delivery (then the consumer's own option counts).
    pub(super) fn resume(&self) -> Option<u64> {
        let base = self.pending.first().copied().or_else(|| self.max_acked.map(|m| m.saturating_add(1)));
        // Only below an ack (a filter's): otherwise what waits is above every ack,
        // and a consumer given nothing yet still starts from its own offset.
        let waiting = self.waiting.first().copied().filter(|w| self.max_acked.is_some_and(|m| *w < m));
        match (base, waiting) {
            (Some(base), Some(waiting)) => Some(base.min(waiting)),
            (base, waiting) => base.or(waiting),
        }
    }

    /// A delivery at `offset` waits for the reader (tracked for a filtered
    /// consumer only: without a filter nothing is acked ahead of it).
    pub(super) fn waits(&mut self, offset: u64) {
        self.waiting.insert(offset);
    }

    /// A new subscription (after a reconnect) starts reading again.
    pub(super) fn resubscribed(&mut self) {
        self.link_high = None;
        if self.resume().is_none() {
            // It starts from its own offset again (given nothing yet): what
            // waited unread is no floor (a consumer from `next` would otherwise
            // be sent back to it later, out of order; simulation seed 5490).
            self.waiting.clear();
        }
    }

    /// A delivery at `offset` arrived: `false` when it was acked already (it must
    /// not reach the user again).
    pub(super) fn arrived(&mut self, offset: u64) -> bool {
        self.link_high = Some(self.link_high.map_or(offset, |high| high.max(offset)));
        !self.already_acked(offset)
    }

    /// Whether `offset` was acked. Offsets are handed out in order without a gap,
    /// so one handed out below the lowest not acked was, even when the acked set
    /// forgot it (a renewal's old and new subscriptions both deliver, each at its
    /// own pace).
    pub(super) fn already_acked(&self, offset: u64) -> bool {
        let acked_below = self.high.is_some_and(|high| offset <= high) && self.resume().is_some_and(|r| offset < r);
        self.acked.contains(&offset) || acked_below
    }

    /// The reader took the delivery at `offset`: whether it is a repeat of one it
    /// was given before. (Counted when taken, not when it arrived: one dropped
    /// unread with its connection was never given.)
    pub(super) fn handed(&mut self, offset: u64) -> bool {
        self.waiting.remove(&offset);
        let repeat = self.high.is_some_and(|high| offset <= high);
        self.high = Some(self.high.map_or(offset, |high| high.max(offset)));
        self.pending.insert(offset);
        repeat
    }

    /// The user acked `offset`.
    pub(super) fn acked(&mut self, offset: u64) {
        self.pending.remove(&offset);
        self.waiting.remove(&offset);
        self.acked.insert(offset);
        self.max_acked = Some(self.max_acked.map_or(offset, |m| m.max(offset)));
        // An acked offset below the next resume point that the current
        // subscription has passed never comes again.
        if let (Some(floor), Some(passed)) = (self.resume(), self.link_high) {
            let below = floor.min(passed.saturating_add(1));
            self.acked = self.acked.split_off(&below);
        }
        while self.acked.len() > ACKED_OFFSETS_KEPT {
            self.acked.pop_first();
        }
    }

    /// The delivery at `offset` (arrived, not acked before) is not for the reader
    /// (a stream filter's): acked here, and counted.
    pub(super) fn filtered(&mut self, offset: u64) {
        self.filtered_out = self.filtered_out.saturating_add(1);
        self.acked(offset);
    }

    /// How many deliveries a stream filter kept from the reader.
    pub(super) fn filtered_out(&self) -> u64 {
        self.filtered_out
    }
}
