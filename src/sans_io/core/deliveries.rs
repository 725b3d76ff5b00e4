//! Deliveries: each consumer's buffer of what its reader has not taken (bounded
//! by the consumer's window, which the broker keeps to), the acks an auto-ack
//! consumer's takes earn, and giving back what nobody will read.
//!
//! Why a window for auto-ack too: RabbitMQ's own auto-ack sends without limit, so
//! a reader slower than the queue would grow the page's memory without bound.
//! Burrow's auto-ack subscribes with `ack:client-individual` and a window
//! instead, and acks what the reader took, each half window or
//! [`super::AUTO_ACK_DELAY`] after a take (the ACKs of a batch in one write),
//! and at most a window unread. Not `ack:client`'s cumulative ACK: Web-STOMP
//! maps it to basic.ack multiple on the connection's one channel, which settles
//! every other subscription's earlier deliveries too (two auto-ack
//! subscriptions on one connection: "unknown delivery tag", connection closed).
//! Deliveries of a lost connection, or of one whose planned DISCONNECT went,
//! are dropped from the buffer: the broker gives them out again, marked. Not
//! those of RabbitMQ's own auto-ack (`ConsumeOptions::broker_acks`, asked for
//! outright): it gives nothing again, so they wait for the reader, unbounded.
//!
//! A reader takes the unmarked copy of a message first, if it takes two: while
//! a renewal's two links deliver, a possible duplicate waits until the other
//! link can no longer hand out an unmarked copy (see `held_back`).

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crate::client::Message;
use crate::rabbit::Delivery;
use crate::sans_io::text::IdText;

use super::{
    Acker, ConnectionEvent, ConsumerKey, ConsumerSpec, Core, Current, LinkId, ReliableEvent, Taken, Timer, Warning,
    AUTO_ACK_DELAY,
};

/// A delivery waiting for its reader.
#[derive(Debug, Clone)]
pub(super) struct Buffered {
    delivery: Delivery,
    /// The broker's ack id (an auto-ack consumer's too: Burrow acks for it).
    tag: Option<String>,
    link: LinkId,
}

/// What an auto-ack consumer took on the current link and did not ack yet.
#[derive(Debug, Clone, Default)]
pub(super) struct AutoAcks {
    /// The ack ids of the deliveries taken since the last acks, with their link
    /// (during a renewal two links deliver).
    taken: Vec<(LinkId, String)>,
}

impl Core {
    /// The next delivery for `consumer`'s reader, or [`Taken::Empty`] (then
    /// [`ReliableEvent::Readable`] says when to look again), or the consumer's end.
    /// An auto-ack consumer's take earns its ack.
    pub fn take_delivery(&mut self, now: Duration, consumer: ConsumerKey) -> Taken {
        if !self.consumers.contains_key(&consumer) {
            if self.lookups.values().any(|explain| explain.reader() == Some(consumer)) {
                // Refused, and the broker's words are being looked up.
                return Taken::Empty;
            }
            return Taken::Ended(self.ended.remove(&consumer).flatten());
        }
        let Some(Buffered { mut delivery, tag, link }) = self.next_unacked(now, consumer) else { return Taken::Empty };
        let Some(spec) = self.consumers.get_mut(&consumer) else { return Taken::Empty };
        if let Some(offset) = delivery.stream_offset {
            // RabbitMQ never marks a stream message redelivered; a second copy of an
            // offset is one all the same.
            delivery.redelivered |= spec.stream.handed(offset);
        }
        let mut half_window = false;
        let acker = match (spec.options.auto_ack, tag) {
            (true, Some(tag)) => {
                spec.auto.taken.push((link, tag));
                half_window = spec.auto.taken.len() >= usize::from(spec.options.window() / 2).max(1);
                if !half_window && self.timers.get(Timer::AutoAck).is_none() {
                    self.timers.set(Timer::AutoAck, now.saturating_add(AUTO_ACK_DELAY));
                }
                None
            }
            (true, None) => None,
            (false, tag) => tag.map(IdText).map(|tag| {
                if let Some(current) = self.link_mut(link) {
                    current.unacked.insert(tag.clone());
                }
                Acker { link, consumer, tag, offset: delivery.stream_offset }
            }),
        };
        if half_window {
            self.ack_taken(now, consumer);
        }
        self.sync_timers();
        Taken::Delivery { delivery, acker }
    }

    /// The next buffered delivery of `consumer` that was not acked already: during
    /// a renewal two subscriptions of a stream consumer deliver, and the other copy
    /// of an offset may have been acked after this one arrived. Such a copy is
    /// acked again (the broker's credit) and kept from the reader.
    fn next_unacked(&mut self, now: Duration, consumer: ConsumerKey) -> Option<Buffered> {
        loop {
            let index = self.next_takeable(consumer)?;
            let spec = self.consumers.get_mut(&consumer)?;
            let buffered = spec.buffer.remove(index)?;
            if !buffered.delivery.stream_offset.is_some_and(|offset| spec.stream.already_acked(offset)) {
                return Some(buffered);
            }
            if let (Some(current), Some(tag)) = (self.link_mut(buffered.link).filter(|c| c.connected), &buffered.tag) {
                let _ = current.link.channel_mut().basic_ack(now, tag);
            }
        }
    }

    /// Where in `consumer`'s buffer the next delivery its reader may have is.
    fn next_takeable(&self, consumer: ConsumerKey) -> Option<usize> {
        let spec = self.consumers.get(&consumer)?;
        spec.buffer.iter().position(|buffered| !self.held_back(consumer, buffered))
    }

    /// A possible duplicate waits while another of the consumer's links can still
    /// hand out the copy it may repeat: during a renewal two sockets deliver, in
    /// no order between them, so a copy redelivered (or resent) on one may come
    /// before the unmarked one on the other (simulation seed 3953), and the
    /// unmarked copy must be the first the reader takes. Stream repeats are told
    /// by their offsets instead (see `stream`).
    fn held_back(&self, consumer: ConsumerKey, buffered: &Buffered) -> bool {
        if buffered.delivery.stream_offset.is_some() || !buffered.delivery.possibly_duplicate() {
            return false;
        }
        // Only RabbitMQ's own auto-ack keeps deliveries of a link that is over;
        // held back for good, they would never reach the reader.
        let own_link_delivers = self.links().any(|link| link.id == buffered.link);
        own_link_delivers && self.links().any(|other| {
            other.id != buffered.link
                && other.takes_requests()
                && other.subs.values().any(|key| *key == consumer)
        })
    }

    /// How many deliveries wait for `consumer`'s reader.
    pub fn buffered(&self, consumer: ConsumerKey) -> usize {
        self.consumers.get(&consumer).map_or(0, |spec| spec.buffer.len())
    }

    pub(super) fn on_message(&mut self, now: Duration, message: Message) {
        let Some(mut current) = self.current.take() else { return };
        self.on_message_on(now, &mut current, message);
        self.current = Some(current);
    }

    /// A MESSAGE on `current`, which is the current link or a renewal's new or
    /// old one (see `renew`).
    pub(super) fn on_message_on(&mut self, now: Duration, current: &mut Current, message: Message) {
        // A reply to a call: no SUBSCRIBE made its subscription (see `rpc`).
        if super::rpc::is_reply(&message) {
            return self.on_reply(message);
        }
        let link = current.id;
        let consumer = current.subs.get(&message.subscription).copied();
        let broker_acked = || consumer.and_then(|key| self.consumers.get(&key)).is_some_and(|spec| spec.options.broker_acks);
        if current.disconnect_sent() && !broker_acked() {
            // Its copy on the next link may have come already, marked: handed out
            // after it, this one would be a repeat without the mark (simulation
            // seed 3356; the OAuth2 test in CI). RabbitMQ's own auto-ack gives
            // nothing again: that one is kept.
            return;
        }
        let Some(consumer) = consumer else {
            // Sent before our UNSUBSCRIBE reached the broker: it stays unacked
            // until the connection ends (RabbitMQ takes no ack for it now).
            if !current.unsubscribed.contains(&message.subscription) {
                self.status(ConnectionEvent::Warning(Warning::UnknownSubscription(message.subscription)));
            }
            return;
        };
        // With a possible duplicate held back (see `held_back`), the reader may
        // wait although the buffer is not empty. Held back only while another
        // link delivers: `current` is out of `self` meanwhile, so any link left
        // there is another.
        let overlap = self.links().next().is_some();
        let Some(spec) = self.consumers.get_mut(&consumer) else { return };
        let mut delivery = Delivery::from_owned_message(message);
        // RabbitMQ's own auto-ack sends no ack id; one that came all the same is
        // not acked (a peer that sends it anyway was acked 20,000 times a run).
        let tag = delivery.delivery_tag.clone().filter(|_| !spec.options.broker_acks);
        if let (Some(offset), Some(tag)) = (delivery.stream_offset, tag.as_ref()) {
            if !spec.stream.arrived(offset) {
                // Acked before the resubscription: ack it again for the credit,
                // and keep it from the reader.
                let _ = current.link.channel_mut().basic_ack(now, tag);
                return;
            }
            let value = delivery.properties.stream_filter_value.as_deref();
            if spec.options.stream_filter.as_ref().is_some_and(|filter| !filter.admits(value)) {
                // RabbitMQ filters per chunk: this message of another value came
                // with the chunk. The ack is the stream's credit; without it the
                // consumer would stall once a window of them arrived.
                let _ = current.link.channel_mut().basic_ack(now, tag);
                spec.stream.filtered(offset);
                return;
            }
        }
        if spec.options.auto_ack {
            // Burrow acks it; the reader has nothing to ack.
            delivery.delivery_tag = None;
        }
        if let (Some(offset), Some(_)) = (delivery.stream_offset, &spec.options.stream_filter) {
            // A filter acks ahead of what waits here (see `StreamPosition::waits`).
            spec.stream.waits(offset);
        }
        let wake = spec.buffer.is_empty() || (overlap && spec.buffer.iter().any(|b| b.delivery.possibly_duplicate()));
        spec.buffer.push_back(Buffered { delivery, tag, link });
        if wake {
            self.emit(ReliableEvent::Readable(consumer));
        }
    }

    /// Acks what an auto-ack consumer took, one ACK each (written together).
    fn ack_taken(&mut self, now: Duration, consumer: ConsumerKey) {
        let Some(spec) = self.consumers.get_mut(&consumer) else { return };
        let taken = std::mem::take(&mut spec.auto.taken);
        for (link, tag) in taken {
            if let Some(current) = self.link_mut(link).filter(|c| c.connected) {
                let _ = current.link.channel_mut().basic_ack(now, &tag);
            }
        }
    }

    /// [`Timer::AutoAck`]: every auto-ack consumer's takes get their ack.
    pub(super) fn flush_auto_acks(&mut self, now: Duration) {
        self.timers.stop(Timer::AutoAck);
        let keys: Vec<ConsumerKey> =
            self.consumers.iter().filter(|(_, spec)| !spec.auto.taken.is_empty()).map(|(key, _)| *key).collect();
        for key in keys {
            self.ack_taken(now, key);
        }
    }

    /// Gives back what a consumer's reader did not take, on the current link: a
    /// NACK (requeue) each, after acking what an auto-ack consumer took; an ACK
    /// for a stream's (a stream takes no NACK; the ack is only credit there).
    pub(super) fn give_back(&mut self, now: Duration, spec: &mut ConsumerSpec) {
        let buffer = std::mem::take(&mut spec.buffer);
        let taken = std::mem::take(&mut spec.auto.taken);
        for (link, tag) in taken {
            if let Some(current) = self.link_mut(link).filter(|c| c.connected) {
                let _ = current.link.channel_mut().basic_ack(now, &tag);
            }
        }
        for Buffered { delivery, tag, link } in buffer {
            let Some(current) = self.link_mut(link).filter(|c| c.connected) else { continue };
            let Some(tag) = tag else { continue };
            let channel = current.link.channel_mut();
            let _ = if delivery.stream_offset.is_some() {
                channel.basic_ack(now, &tag)
            } else {
                channel.basic_nack(now, &tag, true)
            };
        }
    }

    /// Puts back a consumer the facts cleared and subscribes it again when
    /// connected; its reader, waiting meanwhile, goes on reading.
    pub(super) fn restore_consumer(&mut self, now: Duration, consumer: ConsumerKey, mut spec: ConsumerSpec) {
        spec.sub = None;
        spec.ready = false;
        // What came on the connection that died went back to the queue (as
        // `drop_buffers` does for the others), but for RabbitMQ's own auto-ack.
        let live = self.current.as_ref().filter(|c| c.connected).map(|c| c.id);
        let broker_acked = spec.options.broker_acks;
        spec.buffer.retain(|buffered| broker_acked || Some(buffered.link) == live);
        spec.auto.taken.retain(|(link, _)| Some(*link) == live);
        self.consumers.insert(consumer, spec);
        self.subscribe(now, consumer);
        // A renewal's new link takes it too, as it takes a new consumer (seed
        // 24279: one going on after a look-up's timeout missed the switch).
        self.subscribe_on_successor(now, consumer);
    }

    /// Link `link` is over: what waited for readers from it, the broker gives out
    /// again; auto-ack takes on it not acked come again too. What RabbitMQ's own
    /// auto-ack delivered stays: the broker forgot it as it sent it.
    pub(super) fn drop_buffers(&mut self, link: LinkId) {
        for spec in self.consumers.values_mut() {
            let broker_acked = spec.options.broker_acks;
            spec.buffer.retain(|buffered| broker_acked || buffered.link != link);
            spec.auto.taken.retain(|(taken_on, _)| *taken_on != link);
        }
        if self.consumers.values().all(|spec| spec.auto.taken.is_empty()) {
            self.timers.stop(Timer::AutoAck);
        }
        // One link fewer: what another held back (see `held_back`) may go now.
        let held: Vec<ConsumerKey> = self
            .consumers
            .iter()
            .filter(|(_, spec)| spec.buffer.iter().any(|b| b.delivery.possibly_duplicate()))
            .map(|(key, _)| *key)
            .collect();
        for key in held {
            self.emit(ReliableEvent::Readable(key));
        }
    }
}
