//! `queue_declare` on the current connection, or over a side connection when
//! this one declared the queue already (see `side`).

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crate::rabbit::{QueueOptions, RabbitError};

use super::{Core, DeclareError, DeclareId, Life, Pending, ReliableEvent};

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
        if !self.current.as_ref().is_some_and(|c| c.takes_requests()) {
            return Err(DeclareError::NotConnected);
        }
        let id = self.next_declare_id();
        self.send_declare(now, id, queue, options).map_err(DeclareError::Invalid)?;
        self.sync_timers();
        Ok(id)
    }

    /// [`Core::queue_declare`], or, while the connection does not take requests
    /// (before the first connect, while reconnecting, after a planned reconnect's
    /// DISCONNECT), held and sent first once one does: before the consumers'
    /// SUBSCRIBEs and the outbox, so that what was asked after the declare finds
    /// the queue, as on an AMQP channel. A declare RabbitMQ would refuse is then
    /// answered [`DeclareError::Invalid`] as a [`super::ReliableEvent::Declared`].
    ///
    /// # Errors
    ///
    /// [`DeclareError::Invalid`] (nothing sent), [`DeclareError::Stopped`].
    pub fn queue_declare_or_hold(
        &mut self,
        now: Duration,
        queue: &str,
        options: &QueueOptions,
    ) -> Result<DeclareId, DeclareError> {
        let stopping = matches!(self.life, Life::Stopping | Life::Stopped);
        if stopping || self.current.as_ref().is_some_and(|c| c.takes_requests()) {
            return self.queue_declare(now, queue, options);
        }
        let id = self.next_declare_id();
        self.held_declares.push((id, queue.to_owned(), options.clone()));
        Ok(id)
    }

    /// Sends the declares held while the connection was not up, in order.
    pub(super) fn send_held_declares(&mut self, now: Duration) {
        for (id, queue, options) in std::mem::take(&mut self.held_declares) {
            if let Err(refused) = self.send_declare(now, id, &queue, &options) {
                self.emit(ReliableEvent::Declared { request: id, result: Err(DeclareError::Invalid(refused)) });
            }
        }
    }

    fn next_declare_id(&mut self) -> DeclareId {
        self.next_declare += 1;
        DeclareId(self.next_declare)
    }

    /// Declare `id` on the current connection, or over a side connection when
    /// this one declared the queue already; a refusal before sending is returned.
    fn send_declare(&mut self, now: Duration, id: DeclareId, queue: &str, options: &QueueOptions) -> Result<(), RabbitError> {
        let Some(current) = self.current.as_mut() else {
            // No connection to send it on (the callers make sure there is): the next one.
            self.held_declares.push((id, queue.to_owned(), options.clone()));
            return Ok(());
        };
        let declared = current.link.channel_mut().queue_declare(now, queue, options);
        let url = current.url.clone();
        match declared {
            Ok(receipt) => {
                current.requests.insert(receipt, Pending::Declare(id));
                self.declares.insert(id, (queue.to_owned(), options.clone()));
            }
            Err(RabbitError::AlreadyDeclared { .. }) => self.side_declare(now, url, id, queue, options),
            Err(other) => return Err(other),
        }
        Ok(())
    }
}
