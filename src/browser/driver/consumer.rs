//! A consumer's side of the driver: the [`Consumer`] stream takes its deliveries
//! from the core's bounded buffer as it is read, and each [`Delivery`] acks itself
//! on its own connection.

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Weak;
use std::task::{Context, Poll};

use futures_util::Stream;

use super::{pump, Driver};
use crate::client::SubscriptionId;
use crate::sans_io::core::{AckError, Acker, ConsumeError, ConsumerKey, Core, Taken};
use crate::transport::now;

/// A delivery to a [`Consumer`]: the message (it dereferences to
/// [`crate::rabbit::Delivery`]) and what acknowledges it on its own connection.
///
/// ```no_run
/// use burrow::reliable::{AckError, Delivery};
///
/// fn handle(delivery: Delivery) {
///     println!("{}", delivery.body_text());
///     match delivery.ack() {
///         Ok(()) => {}
///         // Its connection was lost meanwhile: RabbitMQ redelivers it, marked.
///         Err(AckError::Stale { .. }) => {}
///         Err(other) => eprintln!("{other}"),
///     }
/// }
/// ```
#[derive(Debug)]
pub struct Delivery {
    delivery: crate::rabbit::Delivery,
    acker: Option<Acker>,
    shared: Weak<RefCell<Driver>>,
}

impl std::ops::Deref for Delivery {
    type Target = crate::rabbit::Delivery;

    fn deref(&self) -> &Self::Target {
        &self.delivery
    }
}

impl Delivery {
    /// pika's `basic_ack`, on the connection the delivery came on.
    ///
    /// # Errors
    ///
    /// [`AckError::Stale`] when that connection is gone (RabbitMQ redelivers the
    /// message, marked), [`AckError::AlreadySettled`], [`AckError::Stopped`]. An
    /// auto-ack delivery needs no ack: `Ok`.
    pub fn ack(&self) -> Result<(), AckError> {
        self.ack_handle().ack()
    }

    /// pika's `basic_nack`: `requeue` puts it back in the queue, otherwise RabbitMQ
    /// drops or dead-letters it.
    ///
    /// # Errors
    ///
    /// As [`Delivery::ack`].
    pub fn nack(&self, requeue: bool) -> Result<(), AckError> {
        self.ack_handle().nack(requeue)
    }

    /// What acknowledges it: its connection and delivery tag (`None` for auto-ack).
    pub fn acker(&self) -> Option<&Acker> {
        self.acker.as_ref()
    }

    /// A handle that acks or nacks this delivery later, without keeping its body.
    pub fn ack_handle(&self) -> AckHandle {
        AckHandle { acker: self.acker.clone(), shared: self.shared.clone() }
    }

    /// The message itself.
    pub fn message(&self) -> &crate::rabbit::Delivery {
        &self.delivery
    }
}

/// Acknowledges one delivery later (see [`Delivery::ack_handle`]); holds no body.
#[derive(Debug, Clone)]
pub struct AckHandle {
    acker: Option<Acker>,
    shared: Weak<RefCell<Driver>>,
}

impl PartialEq for AckHandle {
    fn eq(&self, other: &Self) -> bool {
        self.acker == other.acker && self.shared.ptr_eq(&other.shared)
    }
}

impl AckHandle {
    /// As [`Delivery::ack`].
    ///
    /// # Errors
    ///
    /// As [`Delivery::ack`].
    pub fn ack(&self) -> Result<(), AckError> {
        self.settle(|core, acker| core.basic_ack(now(), acker))
    }

    /// As [`Delivery::nack`].
    ///
    /// # Errors
    ///
    /// As [`Delivery::ack`].
    pub fn nack(&self, requeue: bool) -> Result<(), AckError> {
        self.settle(|core, acker| core.basic_nack(now(), acker, requeue))
    }

    /// Whether there is anything to ack (not an auto-ack delivery).
    pub fn needs_ack(&self) -> bool {
        self.acker.is_some()
    }

    fn settle(&self, call: impl FnOnce(&mut Core, &Acker) -> Result<(), AckError>) -> Result<(), AckError> {
        let Some(acker) = &self.acker else { return Ok(()) };
        let Some(shared) = self.shared.upgrade() else { return Err(AckError::Stopped) };
        let result = match shared.try_borrow_mut() {
            Ok(mut driver) => call(&mut driver.core, acker),
            Err(_) => return Err(AckError::Stopped),
        };
        pump(&shared);
        result
    }
}

/// A consumer: a [`Stream`] of its deliveries (and, last, the error that ended it,
/// if the broker refused it). Dropping it cancels it.
///
/// It survives reconnects: after an outage it subscribes again with its ack mode
/// and prefetch, and the stream goes on.
///
/// ```no_run
/// use burrow::reliable::{ConsumeOptions, ReliableConnection};
/// use futures_util::StreamExt;
///
/// # async fn work(connection: &ReliableConnection) -> Result<(), Box<dyn std::error::Error>> {
/// // pika: basic_qos(prefetch_count=1); basic_consume("task_queue", callback, auto_ack=False)
/// let mut tasks = connection.basic_consume("task_queue", ConsumeOptions { auto_ack: false, prefetch: 1, ..Default::default() })?;
/// while let Some(task) = tasks.next().await {
///     let task = task?; // NOT_FOUND and the like end the stream with the refusal
///     if task.possibly_duplicate() {
///         // redelivered, or resent after a lost confirm: at-least-once
///     }
///     task.ack()?;
/// }
/// # Ok(()) }
/// ```
pub struct Consumer {
    key: ConsumerKey,
    shared: Weak<RefCell<Driver>>,
    /// The stream ended (it said `None`).
    done: bool,
}

impl Consumer {
    pub(super) fn new(key: ConsumerKey, shared: Weak<RefCell<Driver>>) -> Self {
        Consumer { key, shared, done: false }
    }

    /// Which consumer it is.
    pub fn key(&self) -> ConsumerKey {
        self.key
    }

    /// Its subscription's id (pika's consumer tag) on the current connection,
    /// while it is subscribed; deliveries carry it.
    pub fn consumer_tag(&self) -> Option<SubscriptionId> {
        let shared = self.shared.upgrade()?;
        let driver = shared.try_borrow().ok()?;
        driver.core.consumer_tag(self.key).cloned()
    }

    /// The queue it reads on the current connection, by name (for a transient
    /// exchange subscription, the queue Burrow named for it: a new one after each
    /// reconnect); `None` before it subscribed or when the name is not known.
    pub fn queue(&self) -> Option<String> {
        let shared = self.shared.upgrade()?;
        let driver = shared.try_borrow().ok()?;
        driver.core.consumer_queue(self.key).map(str::to_owned)
    }

    /// How many deliveries its stream filter
    /// ([`ConsumeOptions::stream_filter`](crate::sans_io::core::ConsumeOptions::stream_filter))
    /// kept from it: RabbitMQ filters per chunk, so messages of other values come
    /// with a chunk that holds wanted ones; Burrow acks them (the stream's credit)
    /// and counts them here.
    pub fn filtered_out(&self) -> u64 {
        let Some(shared) = self.shared.upgrade() else { return 0 };
        let Ok(driver) = shared.try_borrow() else { return 0 };
        driver.core.filtered_out(self.key)
    }

    /// pika's `basic_cancel`: no more subscriptions. What was not read yet goes
    /// back to the broker, and the stream ends.
    pub fn cancel(&mut self) {
        let Some(shared) = self.shared.upgrade() else { return };
        if let Ok(mut driver) = shared.try_borrow_mut() {
            driver.core.basic_cancel(now(), self.key);
        }
        pump(&shared);
    }
}

impl Stream for Consumer {
    type Item = Result<Delivery, ConsumeError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let Some(shared) = self.shared.upgrade() else {
            self.done = true;
            return Poll::Ready(None);
        };
        let taken = match shared.try_borrow_mut() {
            Ok(mut driver) => {
                let taken = driver.core.take_delivery(now(), self.key);
                if taken == Taken::Empty {
                    driver.readers.insert(self.key, cx.waker().clone());
                }
                taken
            }
            // Only while the driver itself runs, which never polls a consumer: look again.
            Err(_) => {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        };
        match taken {
            Taken::Delivery { delivery, acker } => {
                // An auto-ack consumer's take may have earned an ACK.
                pump(&shared);
                Poll::Ready(Some(Ok(Delivery { delivery, acker, shared: self.shared.clone() })))
            }
            Taken::Empty => Poll::Pending,
            Taken::Ended(Some(error)) => Poll::Ready(Some(Err(error))),
            Taken::Ended(None) => {
                self.done = true;
                Poll::Ready(None)
            }
        }
    }
}

impl futures_util::stream::FusedStream for Consumer {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        // Nobody reads it any more: the core cancels it and gives back the rest.
        let Some(shared) = self.shared.upgrade() else { return };
        if let Ok(mut driver) = shared.try_borrow_mut() {
            driver.core.drop_consumer(now(), self.key);
            driver.readers.remove(&self.key);
        }
        pump(&shared);
    }
}

impl super::ReliableConnection {
    /// The queue `consumer` reads on the current connection, by name: as
    /// [`Consumer::queue`], for callers that keep only the consumer's key.
    pub fn consumer_queue(&self, consumer: ConsumerKey) -> Option<String> {
        let driver = self.shared.try_borrow().ok()?;
        driver.core.consumer_queue(consumer).map(str::to_owned)
    }
}
