//! The publish path: a publish is checked once, enters the bounded outbox, and
//! goes out as far as the window of unconfirmed publishes allows.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crate::rabbit::{OutboxId, PendingPublish, RabbitError, Unsent};

use super::{Core, Life, PublishError, ReliableEvent};

impl Core {
    /// Whether a publish with a body of `size` bytes would be taken now; a driver
    /// waits for room (backpressure) when not.
    ///
    /// # Errors
    ///
    /// [`PublishError::Full`] while the outbox is full, [`PublishError::Stopped`]
    /// once stopped.
    pub fn check_room(&self, size: usize) -> Result<(), PublishError> {
        if matches!(self.life, Life::Stopping | Life::Stopped) {
            return Err(PublishError::Stopped);
        }
        self.outbox.check_room(size).map_err(PublishError::Full)
    }

    /// pika's `basic_publish`, always with a publisher confirm: checks the message
    /// (once: the outbox keeps it checked), puts it in the outbox and sends it as
    /// soon as the window allows. Its outcome comes as [`ReliableEvent::Confirmed`]
    /// or [`ReliableEvent::PublishFailed`].
    ///
    /// # Errors
    ///
    /// [`PublishError::Invalid`] (nothing sent), [`PublishError::Full`] or
    /// [`PublishError::Stopped`].
    pub fn basic_publish(&mut self, now: Duration, publish: PendingPublish) -> Result<OutboxId, PublishError> {
        if matches!(self.life, Life::Stopping | Life::Stopped) {
            return Err(PublishError::Stopped);
        }
        let checked = publish.check(self.settings.max_frame).map_err(PublishError::Invalid)?;
        let id = self.outbox.push(checked).map_err(|full| PublishError::Full(full.error))?;
        self.flush(now);
        self.sync_timers();
        Ok(id)
    }

    /// Sends what the outbox holds, as far as the window allows.
    pub(super) fn flush(&mut self, now: Duration) {
        let Some(current) = self.current.as_mut().filter(|c| c.connected) else { return };
        if self.life != Life::Running {
            return;
        }
        let window = self.settings.window;
        let mut failed = Vec::new();
        loop {
            let limit = if self.probation.is_empty() { window.messages.max(1) } else { 1 };
            let in_flight = self.outbox.in_flight();
            if in_flight >= limit || (in_flight > 0 && self.outbox.in_flight_bytes() >= window.bytes) {
                break;
            }
            let Some(Unsent { id, publish, sends }) = self.outbox.next_unsent() else { break };
            match current.link.channel_mut().publish_checked(now, publish, sends > 0) {
                Ok(receipt) => {
                    self.outbox.sent(id, receipt);
                }
                // The session could not take it: it fails alone.
                Err(error) => {
                    self.outbox.remove(id);
                    self.probation.remove(&id);
                    failed.push((id, PublishError::Invalid(RabbitError::Client(error))));
                }
            }
        }
        for (publish, error) in failed {
            self.emit(ReliableEvent::PublishFailed { publish, error });
        }
    }
}
