//! Consumers: subscribing (again after every reconnect), deliveries to their
//! consumer, and acks on the delivery's own connection only.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crate::client::Message;
use crate::rabbit::{check_stream_consume, ConsumeOk, Delivery, RabbitError, StreamOffset, STREAM_OFFSET_HEADER};

use super::{
    AckError, Acker, ConnectionEvent, ConsumeError, ConsumeOptions, ConsumerKey, ConsumerSpec, Core, Current, Life, Pending,
    ReliableEvent, StreamPosition, Warning,
};

impl Core {
    /// pika's `basic_consume`: a consumer that subscribes now if connected and
    /// again after every reconnect, until [`Core::basic_cancel`] or [`Core::stop`].
    ///
    /// # Errors
    ///
    /// [`ConsumeError::Invalid`] for a name the broker cannot take,
    /// [`ConsumeError::Stopped`] once stopped.
    pub fn basic_consume(
        &mut self,
        now: Duration,
        queue: &str,
        options: ConsumeOptions,
    ) -> Result<ConsumerKey, ConsumeError> {
        if matches!(self.life, Life::Stopping | Life::Stopped) {
            return Err(ConsumeError::Stopped);
        }
        if queue.is_empty() {
            return Err(ConsumeError::Invalid(RabbitError::EmptyQueueName));
        }
        if queue.len() > 255 {
            return Err(ConsumeError::Invalid(RabbitError::NameTooLong(queue.to_owned())));
        }
        if options.stream_offset.is_some() {
            check_stream_consume(options.auto_ack, options.prefetch).map_err(ConsumeError::Invalid)?;
        }
        self.next_consumer += 1;
        let key = ConsumerKey(self.next_consumer);
        let spec = ConsumerSpec {
            queue: queue.to_owned(),
            options,
            sub: None,
            ready: false,
            stream: StreamPosition::default(),
        };
        self.consumers.insert(key, spec);
        if self.is_connected() {
            self.subscribe(now, key);
        }
        Ok(key)
    }

    /// pika's `basic_cancel`: the consumer is gone at once (it is never restored);
    /// deliveries already on their way still arrive until
    /// [`ReliableEvent::ConsumerCancelled`]. Returns `false` for an unknown consumer.
    pub fn basic_cancel(&mut self, now: Duration, consumer: ConsumerKey) -> bool {
        let Some(spec) = self.consumers.remove(&consumer) else { return false };
        self.suspects.remove(&consumer);
        if spec.stream.high.is_some() {
            self.retired.insert(consumer, spec.stream.clone());
        }
        let on_link = match (spec.sub, self.current.as_mut()) {
            (Some(sub), Some(current)) if current.connected => {
                match current.link.channel_mut().basic_cancel(now, &sub) {
                    Ok(Some(receipt)) => {
                        current.requests.insert(receipt, Pending::Unsubscribe(consumer));
                        true
                    }
                    // Not sent (DISCONNECT went already): the subscription lasts, and
                    // may still deliver, until the connection ends.
                    _ => {
                        current.cancelling.push(consumer);
                        true
                    }
                }
            }
            _ => false,
        };
        if !on_link {
            self.emit(ReliableEvent::ConsumerCancelled(consumer));
        }
        true
    }

    /// pika's `basic_ack`, on the delivery's own connection only.
    ///
    /// # Errors
    ///
    /// [`AckError::Stale`] when that connection is gone (the broker redelivers the
    /// message), [`AckError::AlreadySettled`], [`AckError::Stopped`].
    pub fn basic_ack(&mut self, now: Duration, acker: &Acker) -> Result<(), AckError> {
        let current = self.settle(acker)?;
        current.link.channel_mut().basic_ack(now, &acker.tag)?;
        if let (Some(offset), Some(stream)) = (acker.offset, self.stream_mut(acker.consumer)) {
            stream.acked(offset);
        }
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
        current.link.channel_mut().basic_nack(now, &acker.tag, requeue)?;
        Ok(())
    }

    /// A consumer's stream position, also while it is being cancelled.
    fn stream_mut(&mut self, consumer: ConsumerKey) -> Option<&mut StreamPosition> {
        match self.consumers.get_mut(&consumer) {
            Some(spec) => Some(&mut spec.stream),
            None => self.retired.get_mut(&consumer),
        }
    }

    /// Checks an ack may go, and takes its tag off the unacked set.
    fn settle(&mut self, acker: &Acker) -> Result<&mut Current, AckError> {
        if matches!(self.life, Life::Stopping | Life::Stopped) {
            return Err(AckError::Stopped);
        }
        match self.current.as_mut() {
            Some(current) if current.id == acker.link && current.connected => {
                if current.unacked.remove(&acker.tag) {
                    Ok(current)
                } else {
                    Err(AckError::AlreadySettled)
                }
            }
            _ => Err(AckError::Stale { link: acker.link }),
        }
    }

    pub(super) fn subscribe(&mut self, now: Duration, key: ConsumerKey) {
        let Some(spec) = self.consumers.get_mut(&key) else { return };
        let Some(current) = self.current.as_mut().filter(|c| c.connected) else { return };
        let channel = current.link.channel_mut();
        // A stream consumer that was given something continues after what it acked.
        spec.stream.resubscribed();
        let offset = spec.stream.resume().map(StreamOffset::Offset).or(spec.options.stream_offset);
        let (auto_ack, prefetch) = (spec.options.auto_ack, spec.options.prefetch);
        let subscribed = match offset {
            Some(offset) if !auto_ack => channel.basic_consume_stream(now, &spec.queue, prefetch, &offset),
            _ => channel.basic_consume(now, &spec.queue, auto_ack, Some(prefetch)),
        };
        match subscribed {
            Ok(ConsumeOk { consumer_tag: sub, receipt }) => {
                current.subs.insert(sub.clone(), key);
                current.requests.insert(receipt, Pending::Subscribe(key));
                spec.sub = Some(sub);
                spec.ready = false;
            }
            Err(error) => {
                self.consumers.remove(&key);
                self.status(ConnectionEvent::ConsumerFailed { consumer: key, error: ConsumeError::Invalid(error) });
            }
        }
    }

    pub(super) fn on_message(&mut self, now: Duration, message: Message) {
        let Some(current) = self.current.as_mut() else { return };
        let consumer = current.subs.get(&message.subscription).copied();
        match (consumer, message.ack.clone()) {
            (Some(consumer), ack) => {
                let mut delivery = Delivery::from_owned_message(message);
                let stream = match self.consumers.get_mut(&consumer) {
                    Some(spec) => Some(&mut spec.stream),
                    None => self.retired.get_mut(&consumer),
                };
                if let (Some(offset), Some(tag), Some(stream)) = (delivery.stream_offset, ack.as_ref(), stream) {
                    match stream.arrived(offset) {
                        // Acked before the resubscription: ack it again for the
                        // credit, and keep it from the user.
                        None => {
                            let _ = current.link.channel_mut().basic_ack(now, tag);
                            return;
                        }
                        // RabbitMQ never marks a stream message redelivered; a
                        // second copy of an offset is one all the same.
                        Some(repeat) => delivery.redelivered |= repeat,
                    }
                }
                let acker = ack.map(|tag| {
                    current.unacked.insert(tag.clone());
                    Acker { link: current.id, consumer, tag, offset: delivery.stream_offset }
                });
                self.emit(ReliableEvent::Delivery { consumer, delivery, acker });
            }
            // A subscription nobody holds (its UNSUBSCRIBE is confirmed): give the
            // message back rather than leave it unacked until the connection ends
            // (a stream's is acked: RabbitMQ closes the connection on a NACK there).
            (None, Some(tag)) => {
                if message.header(STREAM_OFFSET_HEADER).is_some() {
                    let _ = current.link.channel_mut().basic_ack(now, &tag);
                } else {
                    let _ = current.link.channel_mut().basic_nack(now, &tag, true);
                }
            }
            (None, None) => self.status(ConnectionEvent::Warning(Warning::UnknownSubscription(message.subscription))),
        }
    }
}
