//! The publish path: a publish is checked once, waits in line for room if it
//! must, enters the bounded outbox, and goes out as far as the window of
//! unconfirmed publishes allows.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crate::rabbit::{CheckedPublish, Feature, OutboxId, PendingPublish, RabbitError, Unsent};

use super::{Core, Life, PublishError, ReliableEvent};

impl Core {
    /// pika's `basic_publish`, always with a publisher confirm: checks the message
    /// (once: the outbox keeps it checked), puts it in the outbox and sends it as
    /// soon as the window allows. Its outcome comes as [`ReliableEvent::Confirmed`]
    /// or [`ReliableEvent::PublishFailed`].
    ///
    /// # Errors
    ///
    /// [`PublishError::Invalid`] (nothing sent), [`PublishError::Full`] while the
    /// outbox is full or publishers wait for room (this one does not overtake
    /// them), or [`PublishError::StoppedUnsent`].
    pub fn basic_publish(&mut self, now: Duration, publish: PendingPublish) -> Result<OutboxId, PublishError> {
        let checked = self.check(publish)?;
        let id = if self.waiting.is_empty() {
            self.outbox.push(checked).map_err(|full| PublishError::Full(full.error))?
        } else {
            // Checked against an empty message: what stops it is the line, not its size.
            let error = self.outbox.check_room(0).err().unwrap_or(crate::rabbit::OutboxError::Full {
                capacity: self.outbox.limits().messages,
            });
            return Err(PublishError::Full(error));
        };
        self.flush(now);
        self.sync_timers();
        Ok(id)
    }

    /// [`Core::basic_publish`] that waits for room instead of failing with
    /// [`PublishError::Full`]: the message takes its place in line behind the
    /// publishers already waiting, and enters the outbox in that order as confirms
    /// make room ([`ReliableEvent::Admitted`] then says so). Its outcome comes as
    /// for [`Core::basic_publish`], under the id returned here.
    ///
    /// # Errors
    ///
    /// [`PublishError::Invalid`] (nothing sent) or [`PublishError::StoppedUnsent`].
    pub fn basic_publish_or_wait(&mut self, now: Duration, publish: PendingPublish) -> Result<OutboxId, PublishError> {
        let checked = self.check(publish)?;
        let id = if self.waiting.is_empty() {
            match self.outbox.push(checked) {
                Ok(id) => id,
                Err(full) => {
                    let id = self.outbox.reserve_id();
                    self.waiting.push_back((id, *full.publish));
                    id
                }
            }
        } else {
            let id = self.outbox.reserve_id();
            self.waiting.push_back((id, checked));
            id
        };
        self.flush(now);
        self.sync_timers();
        Ok(id)
    }

    /// Whether publish `id` waits for room (see [`Core::basic_publish_or_wait`]).
    pub fn is_waiting(&self, id: OutboxId) -> bool {
        self.waiting.iter().any(|(waiting, _)| *waiting == id)
    }

    /// A publisher waiting for room gave up: its message leaves the line and is
    /// never sent (no event follows). Returns `false` if it is not waiting (it is
    /// in the outbox already, or over).
    pub fn withdraw(&mut self, id: OutboxId) -> bool {
        let before = self.waiting.len();
        self.waiting.retain(|(waiting, _)| *waiting != id);
        let withdrawn = self.waiting.len() != before;
        if withdrawn {
            // The next in line may fit where this one did not.
            self.admit_waiting();
        }
        withdrawn
    }

    /// Takes publish `id` out of the outbox for good (refused, unsendable, or its
    /// call over) and out of the blame's watch; the publish, if it was there.
    pub(super) fn forget_publish(&mut self, id: OutboxId) -> Option<CheckedPublish> {
        self.probation.remove(&id);
        self.lone_deaths.remove(&id);
        self.outbox.remove(id)
    }

    fn check(&self, publish: PendingPublish) -> Result<CheckedPublish, PublishError> {
        if matches!(self.life, Life::Stopping | Life::Stopped) {
            return Err(PublishError::StoppedUnsent);
        }
        if publish.properties.stream_filter_value.is_some() {
            // Against the broker connected now; a publish made before, at its send.
            Feature::StreamFilter.check(self.server()).map_err(|e| PublishError::Invalid(e.into()))?;
        }
        publish.check(self.settings.max_frame).map_err(PublishError::Invalid)
    }

    /// Moves publishers waiting in line into the outbox while it has room, in order.
    pub(super) fn admit_waiting(&mut self) {
        while let Some((id, publish)) = self.waiting.pop_front() {
            if let Err(full) = self.outbox.push_reserved(id, publish) {
                self.waiting.push_front((id, *full.publish));
                break;
            }
            self.emit(ReliableEvent::Admitted(id));
        }
    }

    /// Sends what the outbox holds, as far as the window allows.
    /// Suspects on trial go first, one at a time (see `blame`).
    pub(super) fn flush(&mut self, now: Duration) {
        self.next_suspect(now);
        // A renewal's old link still awaits confirms: publishing moves over after them.
        if self.life != Life::Running || self.renewal_holds_publishes() {
            return;
        }
        if self.current.as_ref().is_some_and(|c| self.trial_holds_publishes(c)) {
            return;
        }
        let Some(current) = self.current.as_mut().filter(|c| c.connected && c.planned.is_none()) else { return };
        let window = self.settings.window;
        let mut failed = Vec::new();
        loop {
            let limit = if self.probation.is_empty() { window.messages.max(1) } else { 1 };
            let in_flight = self.outbox.in_flight();
            if in_flight >= limit || (in_flight > 0 && self.outbox.in_flight_bytes() >= window.bytes) {
                break;
            }
            let Some(Unsent { id, publish, sends }) = self.outbox.next_unsent() else { break };
            let channel = current.link.channel_mut();
            let sent = match publish.properties().stream_filter_value {
                // An older broker would keep it as a plain header, filtering nothing.
                Some(_) => Feature::StreamFilter.check(channel.server()).map_err(RabbitError::from),
                None => Ok(()),
            }
            .and_then(|()| channel.publish_checked(now, publish, sends > 0).map_err(RabbitError::Client));
            match sent {
                Ok(receipt) => {
                    self.outbox.sent(id, receipt);
                    self.confirm_watch.sent(now);
                }
                // The session could not take it, or this broker lacks stream
                // filtering: it fails alone, nothing sent.
                Err(error) => {
                    // Field by field, as `forget_publish` does: the link is borrowed.
                    self.outbox.remove(id);
                    self.probation.remove(&id);
                    self.lone_deaths.remove(&id);
                    failed.push((id, PublishError::Invalid(error)));
                }
            }
        }
        for (publish, error) in failed {
            self.emit(ReliableEvent::PublishFailed { publish, error });
        }
    }

    /// Stopped: every publish still waiting for room fails, in order.
    pub(super) fn fail_waiting(&mut self) {
        for (publish, _) in std::mem::take(&mut self.waiting) {
            self.emit(ReliableEvent::PublishFailed { publish, error: PublishError::StoppedUnsent });
        }
    }
}
