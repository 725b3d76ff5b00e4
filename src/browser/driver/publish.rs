//! A publisher's side of the driver: [`PublishConfirm`] awaits one message's
//! confirm, and where each outcome goes ([`ConfirmSink`]). The line of
//! publishers waiting for room is the core's; the driver keeps only their wakers.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Weak;
use std::task::{Context, Poll};

use futures_channel::oneshot;

use super::{pump, Driver};
use crate::rabbit::OutboxId;
use crate::sans_io::core::PublishError;

/// The broker's confirm of one publish: resolves to `Ok(())` once RabbitMQ has
/// the message, or to why it never will.
///
/// Awaiting it is optional: the message stays in the outbox (and is resent after a
/// reconnect) until confirmed either way. Many can be in flight at once:
///
/// ```no_run
/// use burrow::rabbit::BasicProperties;
/// use burrow::reliable::{PublishError, ReliableConnection};
///
/// # async fn publish(connection: &ReliableConnection) -> Result<(), PublishError> {
/// let mut confirms = Vec::new();
/// for n in 0..1000 {
///     // Waits only while the outbox is full.
///     let body = format!("task {n}").into_bytes();
///     confirms.push(connection.basic_publish("", "task_queue", body, &BasicProperties::persistent()).await?);
/// }
/// for confirm in confirms {
///     confirm.await?; // Refused (a missing exchange), or Stopped before RabbitMQ confirmed it
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct PublishConfirm {
    pub(super) id: OutboxId,
    pub(super) rx: oneshot::Receiver<Result<(), PublishError>>,
}

impl PublishConfirm {
    /// The message's place in the outbox.
    pub fn id(&self) -> OutboxId {
        self.id
    }
}

impl Future for PublishConfirm {
    type Output = Result<(), PublishError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx).poll(cx).map(|result| result.unwrap_or(Err(PublishError::Stopped)))
    }
}

/// Where a publish's outcome goes.
pub(super) enum ConfirmSink {
    /// A [`PublishConfirm`] awaits it.
    Future(oneshot::Sender<Result<(), PublishError>>),
    /// Called with it, once.
    Callback(Box<dyn FnOnce(Result<(), PublishError>)>),
}

impl ConfirmSink {
    pub(super) fn settle(self, outcome: Result<(), PublishError>) {
        match self {
            ConfirmSink::Future(tx) => {
                let _ = tx.send(outcome);
            }
            ConfirmSink::Callback(then) => then(outcome),
        }
    }
}

/// A publish waiting in the core's line for room; dropped before it got in (its
/// future was dropped), it leaves the line.
pub(super) struct Waiting {
    pub(super) id: OutboxId,
    pub(super) shared: Weak<RefCell<Driver>>,
    pub(super) admitted: bool,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if self.admitted {
            return;
        }
        let Some(shared) = self.shared.upgrade() else { return };
        if let Ok(mut driver) = shared.try_borrow_mut() {
            driver.core.withdraw(self.id);
            driver.confirms.remove(&self.id);
            driver.admissions.remove(&self.id);
        }
        pump(&shared);
    }
}
