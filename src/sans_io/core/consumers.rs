//! Consumers: subscribing (again after every reconnect), cancelling (giving back
//! what the reader did not take), and their end.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::time::Duration;

use crate::client::{AckMode, ServerError, SubscriptionId};
use crate::rabbit::{check_stream_consume, ConsumeFrom, ConsumeOk, QueueType, RabbitError, StreamConsumeProblem, StreamOffset};

use super::{
    AutoAcks, ConnectionEvent, ConsumeError, ConsumeOptions, ConsumerKey, ConsumerSpec, Core, Current, Life, Pending,
    ReliableEvent, StreamPosition,
};

impl Core {
    /// pika's `basic_consume`: a consumer that subscribes now if connected and
    /// again after every reconnect, until [`Core::basic_cancel`] or [`Core::stop`].
    /// Its deliveries wait for [`Core::take_delivery`], at most its window of them.
    ///
    /// `source` is a queue (`"hello"`) or an exchange subscription
    /// ([`ConsumeFrom::exchange`], [`ConsumeFrom::durable`]). A transient
    /// exchange subscription's queue is made anew after each reconnect: what was
    /// published in between is lost, and [`ConnectionEvent::SubscriptionGap`]
    /// says so when the new one is ready.
    ///
    /// # Errors
    ///
    /// [`ConsumeError::Invalid`] for a name the broker cannot take, or a consumer
    /// RabbitMQ would refuse by closing the connection: a stream consumer (with an
    /// offset, or of a queue this connection declared a stream) with auto-ack or
    /// prefetch 0, an offset or filter on a queue it declared classic or quorum;
    /// [`ConsumeError::Stopped`] once stopped.
    pub fn basic_consume(
        &mut self,
        now: Duration,
        source: impl Into<ConsumeFrom>,
        options: ConsumeOptions,
    ) -> Result<ConsumerKey, ConsumeError> {
        if matches!(self.life, Life::Stopping | Life::Stopped) {
            return Err(ConsumeError::Stopped);
        }
        let mut options = options;
        // RabbitMQ's own auto-ack is auto-ack: nothing for the reader to ack.
        options.auto_ack |= options.broker_acks;
        let source = source.into();
        source.check().map_err(ConsumeError::Invalid)?;
        let arguments = options.arguments(None);
        // What this connection declared the queue as, when it did: a stream asks
        // what a stream consumer needs even without an offset, another type takes none.
        let declared = match &source {
            ConsumeFrom::Queue(queue) => self.declared_type(queue),
            ConsumeFrom::Exchange(_) => None,
        };
        let stream = match declared {
            Some(QueueType::Stream) => true,
            Some(other) if arguments.is_stream() => {
                return Err(ConsumeError::Invalid(RabbitError::StreamConsume(StreamConsumeProblem::NotAStream(other))));
            }
            _ => arguments.is_stream(),
        };
        if stream {
            check_stream_consume(options.auto_ack, options.prefetch).map_err(ConsumeError::Invalid)?;
            if arguments.priority.is_some() {
                return Err(ConsumeError::Invalid(RabbitError::StreamConsume(StreamConsumeProblem::Priority)));
            }
        }
        // Checked again at each subscription, against the broker of that link;
        // here against the one connected now (none yet: it decides later).
        arguments.check(self.server()).map_err(ConsumeError::Invalid)?;
        self.next_consumer += 1;
        let key = ConsumerKey(self.next_consumer);
        let spec = ConsumerSpec {
            source,
            was_ready: false,
            options,
            sub: None,
            ready: false,
            stream: StreamPosition::default(),
            buffer: VecDeque::new(),
            auto: AutoAcks::default(),
        };
        self.consumers.insert(key, spec);
        if self.is_connected() {
            self.subscribe(now, key);
        }
        self.subscribe_on_successor(now, key);
        self.sync_timers();
        Ok(key)
    }

    /// pika's `basic_cancel`: the consumer is gone at once (it is never restored).
    /// What its reader did not take goes back to the broker before the
    /// UNSUBSCRIBE, and the reader sees the end ([`Core::take_delivery`]); a
    /// delivery still on its way stays unacked until the connection ends (RabbitMQ
    /// takes no ack once the subscription is gone). [`ReliableEvent::ConsumerCancelled`]
    /// comes when the broker confirmed it. Returns `false` for an unknown consumer.
    pub fn basic_cancel(&mut self, now: Duration, consumer: ConsumerKey) -> bool {
        self.cleared.remove(&consumer);
        let Some(mut spec) = self.consumers.remove(&consumer) else {
            // Blamed and being looked up: it is not to come back.
            for explain in self.lookups.values_mut() {
                explain.forget_consumer(consumer);
            }
            return false;
        };
        self.suspects.remove(&consumer);
        self.cancel_during_renewal(now, consumer);
        self.give_back(now, &mut spec);
        let on_link = match (spec.sub, self.current.as_mut()) {
            (Some(sub), Some(current)) if current.connected => {
                current.subs.remove(&sub);
                current.unsubscribed.insert(sub.clone());
                match current.link.channel_mut().basic_cancel(now, &sub) {
                    Ok(Some(receipt)) => {
                        current.requests.insert(receipt, Pending::Unsubscribe(consumer));
                    }
                    // Not sent (DISCONNECT went already): the subscription lasts
                    // until the connection ends.
                    _ => current.cancelling.push(consumer),
                }
                true
            }
            _ => false,
        };
        self.end_consumer(consumer, None);
        if !on_link && !self.defer_cancelled(consumer) {
            self.emit(ReliableEvent::ConsumerCancelled(consumer));
        }
        self.sync_timers();
        true
    }

    /// RabbitMQ cancelled subscription `sub` of the current connection itself
    /// (its queue was deleted) and the connection goes on: the consumer ends in
    /// the broker's words, as pika's `on_cancel` hears it. What its reader did not
    /// take is dropped, and its acks are refused: RabbitMQ takes no ack for a
    /// subscription that is gone, and the queue's messages went with it.
    pub(super) fn cancelled_by_broker(&mut self, now: Duration, sub: &SubscriptionId, error: ServerError) {
        let Some(current) = self.current.as_mut() else { return };
        let Some(key) = current.subs.remove(sub) else { return };
        current.unsubscribed.insert(sub.clone());
        current.link.channel_mut().forget_consumer(sub);
        self.suspects.remove(&key);
        if self.consumers.remove(&key).is_some() {
            self.cancel_during_renewal(now, key);
            self.consumer_failed(key, ConsumeError::CancelledByBroker(error), true);
        }
        self.sync_timers();
    }

    /// Nobody reads `consumer` any more (its stream was dropped): it is cancelled
    /// as [`Core::basic_cancel`] says, and forgotten.
    pub fn drop_consumer(&mut self, now: Duration, consumer: ConsumerKey) {
        self.basic_cancel(now, consumer);
        self.ended.remove(&consumer);
        for explain in self.lookups.values_mut() {
            explain.forget_reader(consumer);
        }
    }

    /// How many deliveries of a filtered stream consumer
    /// ([`ConsumeOptions::stream_filter`]) Burrow kept from its reader because
    /// their `x-stream-filter-value` was not asked for (RabbitMQ's filter is per
    /// chunk); each was acked for the stream's credit. 0 for an unknown consumer.
    pub fn filtered_out(&self, consumer: ConsumerKey) -> u64 {
        self.consumers.get(&consumer).map_or(0, |spec| spec.stream.filtered_out())
    }

    /// The `server` header of the broker connected now (`RabbitMQ/4.0.5`).
    pub fn server(&self) -> Option<&str> {
        self.current.as_ref().filter(|c| c.connected).and_then(|c| c.link.channel().server())
    }

    /// A consumer's subscription id on the current connection, while subscribed.
    pub fn consumer_tag(&self, consumer: ConsumerKey) -> Option<&SubscriptionId> {
        self.consumers.get(&consumer)?.sub.as_ref()
    }

    /// The queue a consumer reads on the current connection, by name: its queue,
    /// a durable subscription's queue, or the queue Burrow named for a transient
    /// exchange subscription (a new one after each reconnect). `None` before it
    /// subscribed, or when RabbitMQ named the queue (a broker without session
    /// ids) and so the name is not known.
    pub fn consumer_queue(&self, consumer: ConsumerKey) -> Option<&str> {
        let sub = self.consumers.get(&consumer)?.sub.as_ref()?;
        let current = self.current.as_ref()?;
        let subscribed = current.link.channel().consumer(sub)?;
        subscribed.queue_named.then_some(subscribed.queue.as_str())
    }

    /// The consumer is over (cancelled: `None`; refused: why): its reader sees
    /// that once it took what was left.
    pub(super) fn end_consumer(&mut self, consumer: ConsumerKey, error: Option<ConsumeError>) {
        self.ended.insert(consumer, error);
        self.emit(ReliableEvent::Readable(consumer));
    }

    /// The broker refused the consumer, for good.
    pub(super) fn consumer_failed(&mut self, consumer: ConsumerKey, error: ConsumeError, reader: bool) {
        if reader {
            self.end_consumer(consumer, Some(error.clone()));
        }
        self.status(ConnectionEvent::ConsumerFailed { consumer, error });
    }

    /// Subscribes each of `keys`, the suspects last: a suspect goes only once
    /// nothing else awaits its answer (see `blame`), so one of them may go now.
    pub(super) fn subscribe_all(&mut self, now: Duration, mut keys: Vec<ConsumerKey>) {
        if !self.suspects.is_empty() {
            // A stable partition, not `sort_by_key`: the standard stable sort
            // costs about 4 KB of wasm for this one call.
            let (mut first, last): (Vec<_>, Vec<_>) = keys.into_iter().partition(|key| !self.suspects.contains(key));
            first.extend(last);
            keys = first;
        }
        for key in keys {
            self.subscribe(now, key);
        }
    }

    /// SUBSCRIBE for consumer `key` on the current link, if it takes requests
    /// (a suspect waits its turn, see `blame`).
    pub(super) fn subscribe(&mut self, now: Duration, key: ConsumerKey) {
        let Some(mut current) = self.current.take() else { return };
        if current.takes_requests() && !self.trial_waits(&current, key) && !self.waits_for_lock(key) {
            let sub = self.subscribe_on(now, &mut current, key);
            if let (Some(sub), Some(spec)) = (sub, self.consumers.get_mut(&key)) {
                spec.sub = Some(sub);
                spec.ready = false;
            }
        }
        self.current = Some(current);
    }

    /// SUBSCRIBE for consumer `key` on `current` (the current link, or a
    /// renewal's new one): its subscription id there, or `None` when it is
    /// unknown or the broker could not take it (then it failed).
    pub(super) fn subscribe_on(&mut self, now: Duration, current: &mut Current, key: ConsumerKey) -> Option<SubscriptionId> {
        let spec = self.consumers.get_mut(&key)?;
        let channel = current.link.channel_mut();
        // A stream consumer that was given something continues after what it acked.
        spec.stream.resubscribed();
        let mut arguments = spec.options.arguments(spec.stream.resume().map(StreamOffset::Offset));
        if spec.options.auto_ack {
            // Refused when the consumer was made (a stream needs manual acks).
            arguments.stream_offset = None;
        }
        let window = spec.options.window();
        // Auto-ack too: Burrow acks each delivery as the reader takes it, with a
        // window, unless RabbitMQ's own auto-ack was asked for; never
        // `ack:client`, whose cumulative ACK would settle other subscriptions'
        // deliveries (see `deliveries`). The channel refuses what this link's
        // broker lacks (its `server` header), before sending.
        let ack = if spec.options.broker_acks { AckMode::Auto } else { AckMode::ClientIndividual };
        let subscribed = match (&spec.source, arguments.stream_offset) {
            // Only a stream has offsets; RabbitMQ's subscription queue is classic.
            (ConsumeFrom::Exchange(_), Some(offset)) => Err(RabbitError::InvalidStreamOffset(offset.header_value())),
            (source, _) => channel.basic_consume_arguments(now, source, ack, window, &arguments),
        };
        match subscribed {
            Ok(ConsumeOk { consumer_tag: sub, receipt }) => {
                current.subs.insert(sub.clone(), key);
                current.requests.insert(receipt, Pending::Subscribe(key));
                Some(sub)
            }
            Err(error) => {
                self.consumers.remove(&key);
                self.suspects.remove(&key);
                self.consumer_failed(key, ConsumeError::Invalid(error), true);
                None
            }
        }
    }
}
