//! When a driver (re)arms its one timer for the core's next deadline, sans-IO
//! (like [`super::Pacer`]): the browser driver follows it, and the simulator
//! models a driver that does.
//!
//! Every frame sent or received moves the heart-beat deadlines later, and a
//! browser timer per message (a `setTimeout` and a `clearTimeout`) costs more
//! than the message. So a timer armed for an earlier time than the next deadline
//! is kept: it fires, the core finds nothing due, and it is armed again for the
//! deadline then. Two more rules keep it honest:
//! - the delay is rounded up to a whole millisecond, so the timer never fires
//!   before the deadline it was armed for (truncating fired it up to 1 ms early,
//!   and a driver that thought itself armed then slept until the next tick);
//! - the delay is at most [`MAX_DELAY`] (2^31 - 1 ms): browsers fire any longer
//!   delay at once, which would spin.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

/// The longest delay a browser timer takes: `setTimeout` fires anything longer
/// (2^31 ms and up, about 24.8 days) at once.
pub const MAX_DELAY: Duration = Duration::from_millis(i32::MAX as u64);

/// Decides when the driver's timer is (re)armed; time is passed in.
///
/// ```
/// use std::time::Duration;
/// use burrow::reliable::Alarm;
///
/// let ms = Duration::from_millis;
/// let mut alarm = Alarm::default();
/// // Armed for the first deadline, rounded up to whole milliseconds.
/// assert_eq!(alarm.arm(ms(0), Some(Duration::from_micros(10_500))), Some(ms(11)));
/// // A later deadline keeps the timer: it fires first, and is armed again then.
/// assert_eq!(alarm.arm(ms(3), Some(ms(40))), None);
/// // An earlier one re-arms it.
/// assert_eq!(alarm.arm(ms(4), Some(ms(6))), Some(ms(2)));
/// alarm.fired();
/// assert_eq!(alarm.arm(ms(6), Some(ms(40))), Some(ms(34)));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Alarm {
    /// When the armed timer fires, if one is armed.
    armed: Option<Duration>,
}

impl Alarm {
    /// After draining the core at `now`, with its next `deadline`: the delay to
    /// (re)arm the timer with (replacing any armed one), or `None` to leave it as
    /// it is.
    pub fn arm(&mut self, now: Duration, deadline: Option<Duration>) -> Option<Duration> {
        let deadline = deadline?;
        if self.armed.is_some_and(|fires| fires <= deadline) {
            return None;
        }
        let delay = round_up_to_ms(deadline.saturating_sub(now)).min(MAX_DELAY);
        self.armed = Some(now.saturating_add(delay));
        Some(delay)
    }

    /// The timer fired (or was dropped): nothing is armed now.
    pub fn fired(&mut self) {
        self.armed = None;
    }

    /// When the armed timer fires, if one is armed.
    pub fn armed(&self) -> Option<Duration> {
        self.armed
    }
}

fn round_up_to_ms(delay: Duration) -> Duration {
    // In u64 (whole seconds' nanoseconds are whole milliseconds): u128 division
    // would add its code to every wasm build.
    let ms = delay.as_secs().saturating_mul(1000).saturating_add(u64::from(delay.subsec_nanos().div_ceil(1_000_000)));
    Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_deadline_beyond_what_browsers_take_is_armed_in_steps_that_never_spin() {
        let mut alarm = Alarm::default();
        let far = Duration::from_secs(40 * 24 * 3600);
        // Defect 5: clamped to u32::MAX ms, browsers fired it at once, again and again.
        let longest = Duration::from_millis(2_147_483_647);
        assert_eq!(alarm.arm(Duration::ZERO, Some(far)), Some(longest));
        // It fires with the deadline still ahead: armed again, just as far.
        alarm.fired();
        assert_eq!(alarm.arm(MAX_DELAY, Some(far)), Some(far - MAX_DELAY));
    }

    #[test]
    fn the_timer_never_fires_before_its_deadline() {
        let mut alarm = Alarm::default();
        let now = Duration::from_micros(500);
        let deadline = Duration::from_micros(10_700);
        let delay = alarm.arm(now, Some(deadline));
        assert_eq!(delay, Some(Duration::from_millis(11)), "10.2 ms rounded up");
        assert!(delay.is_some_and(|delay| now + delay >= deadline));
    }

    #[test]
    fn no_deadline_leaves_the_timer_alone() {
        let mut alarm = Alarm::default();
        assert_eq!(alarm.arm(MS, None), None);
        assert_eq!(alarm.arm(MS, Some(5 * MS)), Some(4 * MS));
        assert_eq!(alarm.arm(2 * MS, None), None);
        assert_eq!(alarm.armed(), Some(5 * MS));
    }
}
