//! Acks and nacks, on the delivery's own connection only, once, and never a NACK
//! on a stream.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use super::{AckError, Acker, Core, Current, Life, Renewal};

impl Core {
    /// pika's `basic_ack`, on the delivery's own connection only.
    ///
    /// # Errors
    ///
    /// [`AckError::Stale`] when that connection is gone (the broker redelivers the
    /// message), [`AckError::AlreadySettled`], [`AckError::Cancelled`] once its
    /// consumer was cancelled, [`AckError::Stopped`]. Nothing is sent then.
    pub fn basic_ack(&mut self, now: Duration, acker: &Acker) -> Result<(), AckError> {
        let current = self.settle(acker)?;
        current.link.channel_mut().basic_ack(now, &acker.tag.0)?;
        if let (Some(offset), Some(spec)) = (acker.offset, self.consumers.get_mut(&acker.consumer)) {
            spec.stream.acked(offset);
        }
        self.sync_timers();
        Ok(())
    }

    /// pika's `basic_nack`: `requeue` puts the message back in the queue, otherwise
    /// the broker drops (or dead-letters) it. Same rules as [`Core::basic_ack`].
    ///
    /// # Errors
    ///
    /// As [`Core::basic_ack`], and [`AckError::StreamNack`] for a delivery from a
    /// stream (nothing sent).
    pub fn basic_nack(&mut self, now: Duration, acker: &Acker, requeue: bool) -> Result<(), AckError> {
        if acker.offset.is_some() {
            return Err(AckError::StreamNack);
        }
        let current = self.settle(acker)?;
        current.link.channel_mut().basic_nack(now, &acker.tag.0, requeue)?;
        self.sync_timers();
        Ok(())
    }

    /// Checks an ack may go, and takes its tag off the unacked set.
    fn settle(&mut self, acker: &Acker) -> Result<&mut Current, AckError> {
        if matches!(self.life, Life::Stopping | Life::Stopped) {
            return Err(AckError::Stopped);
        }
        let live = self.consumers.contains_key(&acker.consumer);
        // The current link, or a renewal's new or old one while it lives.
        match self.link_mut(acker.link) {
            // A planned reconnect's DISCONNECT went: the link is as good as gone.
            Some(current) if current.connected && current.planned != Some(Renewal::Disconnecting) => {
                if !current.unacked.contains(&acker.tag) {
                    Err(AckError::AlreadySettled)
                } else if !live {
                    // Its UNSUBSCRIBE went: RabbitMQ would answer an ack with an ERROR.
                    Err(AckError::Cancelled)
                } else {
                    current.unacked.remove(&acker.tag);
                    Ok(current)
                }
            }
            _ => Err(AckError::Stale { link: acker.link }),
        }
    }
}
