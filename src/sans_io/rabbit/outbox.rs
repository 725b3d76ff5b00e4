//! A bounded outbox for publishing across reconnects, sans-IO.
//!
//! Every message stays in the [`Outbox`] from [`Outbox::push`] until the broker's
//! RECEIPT confirms it ([`Outbox::confirmed`]) or it fails for good
//! ([`Outbox::remove`]). When the connection drops, whatever was sent but not
//! confirmed goes back in line ([`Outbox::connection_lost`]) and is published again
//! on the next connection, in its original order.
//!
//! This is **at-least-once** delivery: when a connection drops after the broker took a
//! message but before its RECEIPT arrived, the message is published twice, and
//! consumers see a duplicate (the second copy marked, see
//! [`super::RESENT_HEADER`]). Consumers that must not act twice should deduplicate,
//! for example on [`BasicProperties::message_id`](super::BasicProperties::message_id).

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::sans_io::map::{Map, RingMap, RingSet};
use std::fmt;

use super::CheckedPublish;
use crate::client::ReceiptId;

/// A message's place in the [`Outbox`]; ids grow in push order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutboxId(pub u64);

impl fmt::Display for OutboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "outbox-{}", self.0)
    }
}

/// How much an [`Outbox`] holds at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxLimits {
    /// Messages waiting (unsent, or sent and unconfirmed).
    pub messages: usize,
    /// Their body bytes together.
    pub bytes: usize,
}

impl Default for OutboxLimits {
    /// 10,000 messages and 64 MiB of bodies.
    fn default() -> Self {
        OutboxLimits { messages: 10_000, bytes: 64 * 1024 * 1024 }
    }
}

/// Why the [`Outbox`] refused a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboxError {
    /// As many messages as it may hold are waiting for their confirms.
    #[error("the outbox is full: {capacity} messages are waiting to be confirmed")]
    Full {
        /// How many messages it holds at most.
        capacity: usize,
    },
    /// The message's body would take the outbox over its byte limit.
    #[error("the outbox is full: {waiting} bytes are waiting to be confirmed and {size} more would pass the limit of {limit}")]
    FullBytes {
        /// Body bytes waiting now.
        waiting: usize,
        /// This message's body.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

/// A message the [`Outbox`] had no room for, handed back with why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct NoRoom {
    /// Why.
    pub error: OutboxError,
    /// The message, untouched.
    pub publish: Box<CheckedPublish>,
}

/// The next message to send, as [`Outbox::next_unsent`] gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsent<'a> {
    /// Its place in the outbox.
    pub id: OutboxId,
    /// The message.
    pub publish: &'a CheckedPublish,
    /// How many times it was sent before: more than 0 means consumers may have it
    /// already, so it goes out marked ([`super::RESENT_HEADER`]).
    pub sends: u32,
}

#[derive(Debug, Clone)]
struct Entry {
    publish: CheckedPublish,
    /// The receipt that will confirm it, while it is on the current connection.
    receipt: Option<ReceiptId>,
    /// How many times it was published; after the first, consumers may already
    /// have it, so it goes out marked as a possible duplicate.
    sends: u32,
}

/// Messages published but not yet confirmed, within [`OutboxLimits`].
///
/// The outbox lives in memory only: closing the page loses it.
///
/// ```
/// use burrow::client::ReceiptId;
/// use burrow::rabbit::{BasicProperties, Outbox, OutboxLimits, PendingPublish, PUBLISH_MAX_FRAME};
///
/// let mut outbox = Outbox::new(OutboxLimits::default());
/// let publish = PendingPublish {
///     exchange: String::new(),
///     routing_key: "hello".into(),
///     body: b"Hello World!".to_vec(),
///     properties: BasicProperties::default(),
/// };
/// let id = outbox.push(publish.check(PUBLISH_MAX_FRAME)?)?;
/// assert_eq!(outbox.next_unsent().map(|next| (next.id, next.sends)), Some((id, 0)));
/// outbox.sent(id, ReceiptId("receipt-1".into()));
///
/// // The connection drops before the RECEIPT: the message goes back in line, and
/// // its second send is marked as a possible duplicate.
/// outbox.connection_lost();
/// assert_eq!(outbox.next_unsent().map(|next| next.sends), Some(1));
/// outbox.sent(id, ReceiptId("receipt-9".into()));
/// assert_eq!(outbox.confirmed(&ReceiptId("receipt-9".into())), Some(id));
/// assert!(outbox.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Outbox {
    limits: OutboxLimits,
    entries: RingMap<OutboxId, Entry>,
    /// Waiting to be (re)sent, oldest first.
    unsent: RingSet<OutboxId>,
    receipts: Map<ReceiptId, OutboxId>,
    bytes: usize,
    in_flight_bytes: usize,
    next_id: u64,
}

impl Outbox {
    /// An empty outbox holding at most `limits`.
    pub fn new(limits: OutboxLimits) -> Self {
        Outbox {
            limits,
            entries: RingMap::default(),
            unsent: RingSet::default(),
            receipts: Map::new(),
            bytes: 0,
            in_flight_bytes: 0,
            next_id: 0,
        }
    }

    /// Whether a message with a body of `size` bytes would fit now.
    ///
    /// # Errors
    ///
    /// [`OutboxError::Full`] or [`OutboxError::FullBytes`]. A message larger than
    /// the whole byte limit is still taken into an empty outbox, so no message is
    /// refused forever by the outbox alone (the frame limit is checked elsewhere).
    pub fn check_room(&self, size: usize) -> Result<(), OutboxError> {
        if self.entries.len() >= self.limits.messages {
            return Err(OutboxError::Full { capacity: self.limits.messages });
        }
        if !self.entries.is_empty() && self.bytes.saturating_add(size) > self.limits.bytes {
            return Err(OutboxError::FullBytes { waiting: self.bytes, size, limit: self.limits.bytes });
        }
        Ok(())
    }

    /// Adds a message to publish; it waits for [`Outbox::next_unsent`]. Room is
    /// checked here, once.
    ///
    /// # Errors
    ///
    /// [`NoRoom`] with the message, as [`Outbox::check_room`] says: the caller
    /// should slow down until confirms arrive.
    pub fn push(&mut self, publish: CheckedPublish) -> Result<OutboxId, NoRoom> {
        let id = OutboxId(self.next_id.saturating_add(1));
        self.push_reserved(id, publish)?;
        self.next_id = self.next_id.max(id.0);
        Ok(id)
    }

    /// An id for a message that waits for room before it is pushed
    /// ([`Outbox::push_reserved`]), so its outcome can be awaited from the start.
    /// Ids keep growing in the order they are handed out.
    pub fn reserve_id(&mut self) -> OutboxId {
        self.next_id = self.next_id.saturating_add(1);
        OutboxId(self.next_id)
    }

    /// As [`Outbox::push`], under an id from [`Outbox::reserve_id`]. Pushed in the
    /// order reserved, messages are sent in that order.
    ///
    /// # Errors
    ///
    /// As [`Outbox::push`].
    pub fn push_reserved(&mut self, id: OutboxId, publish: CheckedPublish) -> Result<(), NoRoom> {
        let size = publish.body().len();
        if let Err(error) = self.check_room(size) {
            return Err(NoRoom { error, publish: Box::new(publish) });
        }
        self.bytes = self.bytes.saturating_add(size);
        self.entries.insert(id, Entry { publish, receipt: None, sends: 0 });
        self.unsent.insert(id);
        Ok(())
    }

    /// The oldest message waiting to be sent on the current connection, with how
    /// many times it was sent before (more than 0: mark it as possibly a duplicate).
    pub fn next_unsent(&self) -> Option<Unsent<'_>> {
        let id = *self.unsent.first()?;
        self.entries.get(&id).map(|entry| Unsent { id, publish: &entry.publish, sends: entry.sends })
    }

    /// Message `id` was published on the current connection and `receipt` will
    /// confirm it. Returns `false` if no message `id` is waiting.
    pub fn sent(&mut self, id: OutboxId, receipt: ReceiptId) -> bool {
        let Some(entry) = self.entries.get_mut(&id) else { return false };
        if let Some(old) = entry.receipt.replace(receipt.clone()) {
            self.receipts.remove(&old);
        } else {
            self.in_flight_bytes = self.in_flight_bytes.saturating_add(entry.publish.body().len());
        }
        entry.sends = entry.sends.saturating_add(1);
        self.unsent.remove(&id);
        self.receipts.insert(receipt, id);
        true
    }

    /// The RECEIPT `receipt` arrived: the broker has the message. Removes it and
    /// returns its id; `None` if the receipt confirms no message here.
    pub fn confirmed(&mut self, receipt: &ReceiptId) -> Option<OutboxId> {
        let id = *self.receipts.get(receipt)?;
        self.remove(id).map(|_| id)
    }

    /// The message sent with `receipt`, if it is waiting for it.
    pub fn by_receipt(&self, receipt: &ReceiptId) -> Option<OutboxId> {
        self.receipts.get(receipt).copied()
    }

    /// Takes message `id` out, sent or not (it failed for good, or the user gave
    /// up on it); `None` if it is not waiting. A RECEIPT for it that still arrives
    /// is then ignored by [`Outbox::confirmed`].
    pub fn remove(&mut self, id: OutboxId) -> Option<CheckedPublish> {
        let entry = self.entries.remove(&id)?;
        let size = entry.publish.body().len();
        if let Some(receipt) = &entry.receipt {
            self.receipts.remove(receipt);
            self.in_flight_bytes = self.in_flight_bytes.saturating_sub(size);
        }
        self.unsent.remove(&id);
        self.bytes = self.bytes.saturating_sub(size);
        Some(entry.publish)
    }

    /// Whether message `id` waits to be sent (never written, or written on a
    /// connection that is gone), not on the wire now.
    pub fn is_unsent(&self, id: OutboxId) -> bool {
        self.unsent.contains(&id)
    }

    /// The connection closed: receipts of the old connection will never come, so
    /// every message sent but not confirmed is to be published again, in its
    /// original order among the others waiting.
    pub fn connection_lost(&mut self) {
        for id in self.receipts.values() {
            self.unsent.insert(*id);
        }
        self.receipts.clear();
        self.in_flight_bytes = 0;
        for entry in self.entries.values_mut() {
            entry.receipt = None;
        }
    }

    /// Removes every message, oldest first (the connection stopped for good), each
    /// with whether it was ever sent: one never sent is not at the broker, one
    /// sent and unconfirmed may or may not be.
    pub fn drain(&mut self) -> Vec<(OutboxId, CheckedPublish, bool)> {
        self.receipts.clear();
        self.unsent.clear();
        self.bytes = 0;
        self.in_flight_bytes = 0;
        std::mem::take(&mut self.entries).into_iter().map(|(id, entry)| (id, entry.publish, entry.sends > 0)).collect()
    }

    /// Message `id`, if it is waiting.
    pub fn get(&self, id: OutboxId) -> Option<&CheckedPublish> {
        self.entries.get(&id).map(|entry| &entry.publish)
    }

    /// Every message waiting, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (OutboxId, &CheckedPublish)> + '_ {
        self.entries.iter().map(|(id, entry)| (*id, &entry.publish))
    }

    /// The ids of messages sent on the current connection and not yet confirmed.
    pub fn in_flight_ids(&self) -> impl Iterator<Item = OutboxId> + '_ {
        self.receipts.values().copied()
    }

    /// The receipts awaited for the messages in flight, with their ids.
    pub fn in_flight_receipts(&self) -> impl Iterator<Item = (&ReceiptId, OutboxId)> + '_ {
        self.receipts.iter().map(|(receipt, id)| (receipt, *id))
    }

    /// Messages waiting (unsent, or sent and unconfirmed).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Its limits.
    pub fn limits(&self) -> OutboxLimits {
        self.limits
    }

    /// Total body bytes of the messages waiting.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Messages sent on the current connection and waiting for their confirm.
    pub fn in_flight(&self) -> usize {
        self.receipts.len()
    }

    /// Body bytes of the messages in flight.
    pub fn in_flight_bytes(&self) -> usize {
        self.in_flight_bytes
    }

    /// Messages not yet sent on the current connection.
    pub fn unsent(&self) -> usize {
        self.unsent.len()
    }
}
