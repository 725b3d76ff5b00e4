//! `queue_declare` on the current connection.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crate::rabbit::{QueueOptions, RabbitError};

use super::{Core, DeclareError, DeclareId, Life, Pending};

impl Core {
    /// pika's `queue_declare` on the current connection; the outcome comes as
    /// [`ReliableEvent::Declared`].
    ///
    /// # Errors
    ///
    /// [`DeclareError::NotConnected`], [`DeclareError::Invalid`],
    /// [`DeclareError::AlreadyDeclared`], [`DeclareError::Stopped`].
    pub fn queue_declare(
        &mut self,
        now: Duration,
        queue: &str,
        options: &QueueOptions,
    ) -> Result<DeclareId, DeclareError> {
        if matches!(self.life, Life::Stopping | Life::Stopped) {
            return Err(DeclareError::Stopped);
        }
        let Some(current) = self.current.as_mut().filter(|c| c.connected) else {
            return Err(DeclareError::NotConnected);
        };
        let receipt = match current.link.channel_mut().queue_declare(now, queue, options) {
            Ok(receipt) => receipt,
            Err(RabbitError::AlreadyDeclared { queue }) => return Err(DeclareError::AlreadyDeclared(queue)),
            Err(other) => return Err(DeclareError::Invalid(other)),
        };
        self.next_declare += 1;
        let id = DeclareId(self.next_declare);
        current.requests.insert(receipt, Pending::Declare(id));
        Ok(id)
    }
}
