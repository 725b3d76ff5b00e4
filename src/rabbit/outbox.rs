//! A bounded outbox for publishing across reconnects, sans-IO.
//!
//! Every message stays in the [`Outbox`] from [`Outbox::push`] until the broker's
//! RECEIPT confirms it ([`Outbox::confirmed`]). When the connection drops, whatever
//! was sent but not confirmed goes back in line ([`Outbox::connection_lost`]) and is
//! published again on the next connection, in its original order.
//!
//! This is **at-least-once** delivery: when a connection drops after the broker took a
//! message but before its RECEIPT arrived, the message is published twice, and
//! consumers see a duplicate. Consumers that must not act twice should deduplicate,
//! for example on [`BasicProperties::message_id`].

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use super::{BasicProperties, Channel, RabbitError};
use crate::client::{ClientError, ReceiptId};

/// A message waiting to be published and confirmed: the arguments of
/// [`Channel::basic_publish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPublish {
    /// The exchange (`""` for the default exchange).
    pub exchange: String,
    /// The routing key (for the default exchange: the queue's name).
    pub routing_key: String,
    /// The body, byte for byte.
    pub body: Vec<u8>,
    /// Its properties.
    pub properties: BasicProperties,
}

/// A message's place in the [`Outbox`]; ids grow in push order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutboxId(pub u64);

impl fmt::Display for OutboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "outbox-{}", self.0)
    }
}

/// Why the [`Outbox`] refused a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboxError {
    /// As many messages as it may hold are waiting for their confirms.
    #[error("the outbox is full: {capacity} messages are waiting to be confirmed")]
    Full {
        /// How many messages it holds at most.
        capacity: usize,
    },
    /// No message with this id is waiting (it was confirmed or removed).
    #[error("no message {0} is waiting in the outbox")]
    Unknown(OutboxId),
}

#[derive(Debug, Clone)]
struct Entry {
    publish: PendingPublish,
    /// The receipt that will confirm it, while it is on the current connection.
    receipt: Option<ReceiptId>,
    /// How many times it was published; after the first, consumers may already
    /// have it, so it goes out marked as a possible duplicate.
    sends: u32,
}

/// Messages published but not yet confirmed, at most `capacity` of them.
///
/// The guarantee is at-least-once: a message whose RECEIPT was lost with its
/// connection is published again, so consumers may see it twice. The outbox lives in
/// memory only: closing the page loses it.
#[derive(Debug, Clone)]
pub struct Outbox {
    capacity: usize,
    // Ordered by id, which is push order: resending keeps the original order.
    entries: BTreeMap<OutboxId, Entry>,
    receipts: HashMap<ReceiptId, OutboxId>,
    bytes: usize,
    next_id: u64,
}

impl Outbox {
    /// An empty outbox holding at most `capacity` messages.
    pub fn new(capacity: usize) -> Self {
        Outbox { capacity, entries: BTreeMap::new(), receipts: HashMap::new(), bytes: 0, next_id: 0 }
    }

    /// Adds a message to publish. It waits in [`Outbox::to_resend`] until
    /// [`Outbox::sent`] is called for it.
    ///
    /// # Errors
    ///
    /// [`OutboxError::Full`] when `capacity` messages are already waiting; the caller
    /// should slow down until confirms arrive.
    pub fn push(&mut self, publish: PendingPublish) -> Result<OutboxId, OutboxError> {
        if self.entries.len() >= self.capacity {
            return Err(OutboxError::Full { capacity: self.capacity });
        }
        self.next_id += 1;
        let id = OutboxId(self.next_id);
        self.bytes = self.bytes.saturating_add(publish.body.len());
        self.entries.insert(id, Entry { publish, receipt: None, sends: 0 });
        Ok(id)
    }

    /// The message `id` was published on the current connection and `receipt` will
    /// confirm it. Calling it again for the same message (resent) replaces the receipt.
    ///
    /// # Errors
    ///
    /// [`OutboxError::Unknown`] if no message `id` is waiting.
    pub fn sent(&mut self, id: OutboxId, receipt: ReceiptId) -> Result<(), OutboxError> {
        let entry = self.entries.get_mut(&id).ok_or(OutboxError::Unknown(id))?;
        if let Some(old) = entry.receipt.replace(receipt.clone()) {
            self.receipts.remove(&old);
        }
        self.receipts.insert(receipt, id);
        Ok(())
    }

    /// The RECEIPT `receipt` arrived: the broker has the message. Removes and returns
    /// it; `None` if the receipt confirms no message here (some other request's).
    pub fn confirmed(&mut self, receipt: &ReceiptId) -> Option<PendingPublish> {
        self.remove_by_receipt(receipt)
    }

    /// As [`Outbox::confirmed`], returning the message's id.
    pub fn confirmed_id(&mut self, receipt: &ReceiptId) -> Option<OutboxId> {
        let id = *self.receipts.get(receipt)?;
        self.remove_by_receipt(receipt).map(|_| id)
    }

    /// The broker refused the message sent with `receipt` (an ERROR carrying that
    /// `receipt-id`): removes and returns it, so a message the broker will always
    /// refuse is not resent forever.
    pub fn rejected(&mut self, receipt: &ReceiptId) -> Option<PendingPublish> {
        self.remove_by_receipt(receipt)
    }

    /// Takes message `id` out, sent or not (the user cancelled it, or the channel
    /// refuses it); `None` if it is not waiting. A RECEIPT for it that still arrives
    /// is then ignored by [`Outbox::confirmed`].
    pub fn remove(&mut self, id: OutboxId) -> Option<PendingPublish> {
        let entry = self.entries.remove(&id)?;
        if let Some(receipt) = &entry.receipt {
            self.receipts.remove(receipt);
        }
        self.bytes = self.bytes.saturating_sub(entry.publish.body.len());
        Some(entry.publish)
    }

    fn remove_by_receipt(&mut self, receipt: &ReceiptId) -> Option<PendingPublish> {
        let id = self.receipts.remove(receipt)?;
        let entry = self.entries.remove(&id)?;
        self.bytes = self.bytes.saturating_sub(entry.publish.body.len());
        Some(entry.publish)
    }

    /// The connection closed: receipts of the old connection will never come, so
    /// every message sent but not confirmed is to be published again, in its
    /// original order among the others waiting.
    pub fn connection_lost(&mut self) {
        self.receipts.clear();
        for entry in self.entries.values_mut() {
            entry.receipt = None;
        }
    }

    /// The messages to publish on the current connection, oldest first: those never
    /// sent and those whose connection was lost before their confirm. They stay in the
    /// outbox; call [`Outbox::sent`] for each one published.
    pub fn to_resend(&self) -> impl Iterator<Item = (OutboxId, &PendingPublish)> + '_ {
        self.entries.iter().filter(|(_, entry)| entry.receipt.is_none()).map(|(id, entry)| (*id, &entry.publish))
    }

    /// Publishes everything in [`Outbox::to_resend`] on `channel` with publisher
    /// confirms, oldest first, and records each receipt. Returns how many were sent.
    ///
    /// # Errors
    ///
    /// The first [`RabbitError`] from [`Channel::basic_publish`]; that message and
    /// the ones after it stay waiting. A message the channel always refuses (such as
    /// one with a reserved header) would block the rest: take it out with
    /// [`Outbox::remove`].
    pub fn flush(&mut self, channel: &mut Channel) -> Result<usize, RabbitError> {
        let waiting: Vec<OutboxId> = self.to_resend().map(|(id, _)| id).collect();
        let mut count = 0;
        for id in waiting {
            // Cloned because the outbox keeps the message until its confirm.
            let Some((p, sends)) = self.entries.get(&id).map(|entry| (entry.publish.clone(), entry.sends)) else {
                continue;
            };
            let receipt = channel
                .publish_marked(&p.exchange, &p.routing_key, p.body, &p.properties, true, sends > 0)?
                .ok_or_else(|| RabbitError::Client(ClientError::NotConnected("no receipt".to_owned())))?;
            if let Some(entry) = self.entries.get_mut(&id) {
                entry.receipt = Some(receipt.clone());
                entry.sends = entry.sends.saturating_add(1);
            }
            self.receipts.insert(receipt, id);
            count += 1;
        }
        Ok(count)
    }

    /// Messages waiting (unsent, or sent and unconfirmed).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many messages it holds at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Total body bytes of the messages waiting.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Messages sent on the current connection and waiting for their confirm.
    pub fn in_flight(&self) -> usize {
        self.receipts.len()
    }
}
