//! `queue_declare` on the current connection, or over a side connection when
//! this one declared the queue already (see `side`).

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crate::rabbit::{QueueOptions, RabbitError};

use super::{Core, DeclareError, DeclareId, Life, Pending};

impl Core {
    /// pika's `queue_declare`, on the current connection; the outcome comes as
    /// [`super::ReliableEvent::Declared`], a refusal in RabbitMQ's words (rebuilt
    /// from the management API when Web-STOMP closed without them).
    ///
    /// RabbitMQ's STOMP adapter declares a queue once per connection, so a second
    /// declare of a queue this connection declared goes over a short-lived side
    /// connection to the same node: the broker answers it there (with other
    /// options usually `PRECONDITION_FAILED`; with the same ones it declares the
    /// queue again if it was deleted since) and this connection stays as it is.
    ///
    /// # Errors
    ///
    /// [`DeclareError::NotConnected`], [`DeclareError::Invalid`] (nothing sent),
    /// [`DeclareError::Stopped`].
    pub fn queue_declare(
        &mut self,
        now: Duration,
        queue: &str,
        options: &QueueOptions,
    ) -> Result<DeclareId, DeclareError> {
        if matches!(self.life, Life::Stopping | Life::Stopped) {
            return Err(DeclareError::Stopped);
        }
        let Some(current) = self.current.as_mut().filter(|c| c.takes_requests()) else {
            return Err(DeclareError::NotConnected);
        };
        let declared = current.link.channel_mut().queue_declare(now, queue, options);
        let url = current.url.clone();
        self.next_declare += 1;
        let id = DeclareId(self.next_declare);
        match declared {
            Ok(receipt) => {
                current.requests.insert(receipt, Pending::Declare(id));
                self.declares.insert(id, (queue.to_owned(), options.clone()));
            }
            Err(RabbitError::AlreadyDeclared { .. }) => self.side_declare(now, url, id, queue, options),
            Err(other) => return Err(DeclareError::Invalid(other)),
        }
        self.sync_timers();
        Ok(id)
    }
}
