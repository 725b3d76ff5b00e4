//! The user's stream consumers: refused at once when RabbitMQ would close the
//! connection on them, and each delivery checked against the stream's log (its
//! offset, its filter, what was acked before a reconnect).

use super::*;

impl Sim {
    /// A stream consumer RabbitMQ would close the connection on: refused at once.
    pub(crate) fn consume_invalid_stream(&mut self, auto_ack: bool) {
        let options = ConsumeOptions { auto_ack, prefetch: if auto_ack { 5 } else { 0 }, stream_offset: Some(StreamOffset::First), ..ConsumeOptions::default() };
        let before = self.core.consumers().count();
        let result = self.call(|c, now| c.basic_consume(now, "s", options));
        match result {
            Err(ConsumeError::Invalid(RabbitError::StreamConsume(_))) => self.stats.invalid_consumes += 1,
            Err(ConsumeError::Stopped) if self.over() => {}
            other => fail!(self, "a stream consumer with auto_ack {auto_ack} was not refused at once: {other:?}"),
        }
        if self.last_pump != (0, 0) || self.core.consumers().count() != before {
            fail!(self, "a refused stream consumer changed something: pump {:?}", self.last_pump);
        }
    }

    /// Invariant 9, on each delivery to a stream consumer.
    pub(crate) fn on_stream_delivery(
        &mut self,
        consumer: ConsumerKey,
        tag: u64,
        delivery: &burrow::rabbit::Delivery,
        acker: Option<&Acker>,
    ) {
        self.stats.stream_deliveries += 1;
        let Some(offset) = delivery.stream_offset else { fail!(self, "m-{tag} from the stream without an offset") };
        let logged = self.broker.queues.get("s").and_then(|q| q.log.get(offset as usize)).and_then(|(m, _)| m.tag);
        if logged != Some(tag) {
            fail!(self, "offset {offset} delivered m-{tag}, but the stream has {logged:?} there");
        }
        if acker.and_then(Acker::stream_offset) != Some(offset) {
            fail!(self, "the acker of offset {offset} does not carry it: {acker:?}");
        }
        let Some(rec) = self.consumers.get(&consumer).and_then(|r| r.stream.as_ref()) else {
            fail!(self, "a stream delivery to a consumer without a stream record")
        };
        let (filter, contig, start) = (rec.filter.clone(), rec.contig, rec.start);
        // A filtered consumer is handed only its values, in order, none skipped.
        let next_for = |sim: &Self, from: u64| filter.as_ref().map_or(from, |f| sim.next_admitted(f, from).unwrap_or(from));
        if let Some(filter) = &filter {
            if !filter.admits(self.stream_value(offset).as_deref()) {
                fail!(self, "offset {offset} ({:?}) reached {consumer:?}, whose filter is {filter:?}", self.stream_value(offset));
            }
            self.stats.filtered_deliveries += 1;
        }
        let next_expected = next_for(self, contig);
        let start_expected = match start {
            StreamOffset::First => Some(next_for(self, 0)),
            StreamOffset::Offset(n) => Some(next_for(self, n)),
            _ => None,
        };
        let Some(st) = self.consumers.get_mut(&consumer).and_then(|r| r.stream.as_mut()) else {
            fail!(self, "a stream delivery to a consumer without a stream record")
        };
        if st.acked.contains(&offset) {
            fail!(self, "offset {offset} was acked by {consumer:?} and handed out again");
        }
        let seen = st.first.is_some_and(|first| (first..st.contig).contains(&offset));
        if seen {
            if !delivery.redelivered {
                fail!(self, "a second copy of offset {offset} to {consumer:?} is not marked");
            }
            self.stats.stream_repeats += 1;
        } else {
            if delivery.redelivered {
                fail!(self, "the first copy of offset {offset} to {consumer:?} is marked redelivered");
            }
            match st.first {
                None => {
                    if start_expected.is_some_and(|e| e != offset) {
                        let start = st.start;
                        fail!(self, "{consumer:?} from {start} began at offset {offset}");
                    }
                    st.first = Some(offset);
                    st.contig = offset + 1;
                }
                Some(_) if offset == next_expected => st.contig = offset + 1,
                Some(first) => {
                    let contig = st.contig;
                    fail!(self, "{consumer:?} was handed offset {offset} but never {contig} (it began at {first})");
                }
            }
        }
        if !delivery.possibly_duplicate() {
            let count = self.stream_unmarked.entry((consumer, tag)).or_insert(0);
            *count += 1;
            if *count > 1 {
                fail!(self, "m-{tag} reached {consumer:?} twice unmarked");
            }
        }
    }

    /// The filter value of the stream message at `offset`.
    pub(crate) fn stream_value(&self, offset: u64) -> Option<String> {
        let (msg, _) = self.broker.queues.get("s")?.log.get(offset as usize)?;
        msg.headers.iter().find(|(name, _)| name == "x-stream-filter-value").map(|(_, value)| value.clone())
    }

    /// The first offset at or after `from` that `filter` admits, in the stream so far.
    pub(crate) fn next_admitted(&self, filter: &StreamFilter, from: u64) -> Option<u64> {
        let len = self.broker.queues.get("s").map_or(0, |q| q.log.len() as u64);
        (from..len).find(|&offset| filter.admits(self.stream_value(offset).as_deref()))
    }

    /// Where a filtered consumer may resubscribe: after what it acked, and past
    /// what its filter kept back (acked by the core as it came), but never past
    /// an offset it must still be handed. `filtered:<highest>:<own start>`.
    pub(crate) fn filtered_resume(&self, st: &StreamRec, filter: &StreamFilter) -> String {
        let (lowest, literal) = match st.first {
            None => {
                let from = match st.start {
                    StreamOffset::First => Some(0),
                    StreamOffset::Offset(n) => Some(n),
                    _ => None,
                };
                (from, st.start.header_value())
            }
            Some(first) => {
                let admitted = |o: &u64| filter.admits(self.stream_value(*o).as_deref());
                let resume = (first..st.contig).filter(admitted).find(|o| !st.acked.contains(o)).unwrap_or(st.contig);
                (Some(resume), format!("offset={resume}"))
            }
        };
        let highest = lowest.and_then(|from| self.next_admitted(filter, from)).unwrap_or(u64::MAX);
        format!("filtered:{highest}:{literal}")
    }

    /// Whether every live stream consumer has been handed all of the stream it should.
    pub(crate) fn streams_caught_up(&self) -> bool {
        let len = self.broker.queues.get("s").map_or(0, |q| q.log.len() as u64);
        self.consumers.values().filter(|r| !r.cancel_requested && !r.failed).all(|r| match &r.stream {
            None => true,
            Some(StreamRec { filter: Some(filter), first, start, contig, .. }) => match (first, start) {
                (Some(_), _) => self.next_admitted(filter, *contig).is_none(),
                (None, StreamOffset::First) => self.next_admitted(filter, 0).is_none(),
                (None, StreamOffset::Offset(n)) => self.next_admitted(filter, *n).is_none(),
                (None, _) => true,
            },
            Some(st) => match (st.first, st.start) {
                (Some(_), _) => st.contig == len,
                (None, StreamOffset::First) => len == 0,
                (None, StreamOffset::Offset(n)) => n >= len,
                (None, _) => true,
            },
        })
    }
}
