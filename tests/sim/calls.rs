//! The checks after every step, and the user's calls (publish, consume, ack,
//! declare), each checked as it returns.

use super::*;

impl Sim {
    // ---------------------------------------------------------------- checks

    /// Make-before-break: when a renewal's old link DISCONNECTs, the broker holds
    /// the subscription of every consumer that moved on the new link (deliveries
    /// never pause for want of one).
    pub(crate) fn check_subscribed_first(&mut self, old: LinkId) {
        for (link, key, sub) in self.took_over.clone() {
            let live = self.consumers.get(&key).is_some_and(|r| !r.cancel_requested && !r.failed);
            let Some(conn) = self.broker.conns.get(&link) else { continue };
            if live && !conn.subs.contains_key(&sub) {
                fail!(self, "{old} DISCONNECTs, but {key:?} is not subscribed on {link}");
            }
        }
        self.stats.renewals_subscribed_first += 1;
    }

    /// Invariant 8, while time passes: the client's silence never exceeds the interval.
    pub(crate) fn check_live(&self) {
        let tolerance = self.wake_tolerance();
        for (link, sock) in &self.socks {
            if let (SockState::Open, Some(last)) = (sock.state, sock.hb_since) {
                let gap = self.now.saturating_sub(last);
                if gap > sock.hb_interval + tolerance {
                    fail!(
                        self,
                        "the client has been silent on {link} for {gap:?} (heart-beat every {:?})",
                        sock.hb_interval
                    );
                }
            }
        }
    }

    pub(crate) fn check_step(&mut self) {
        self.check_live();
        self.check_outbox();
        self.check_buffers();
        // Invariant 4 at quiet points: the broker's subscriptions on the current
        // connection are exactly the core's consumers.
        let (Some(link), true) = (self.core.current_link(), self.core.is_connected()) else { return };
        // A renewal's old link still holds the transient exchange subscriptions.
        if self.core.retiring_link().is_some() {
            return;
        }
        let Some(sock) = self.socks.get(&link) else { return };
        if sock.state != SockState::Open
            || sock.broker_gone
            || self.core.has_transmits()
            || !sock.to_broker.is_empty()
            || !sock.to_client.is_empty()
            || self.broker.frozen(self.now)
        {
            return;
        }
        let Some(conn) = self.broker.conns.get(&link) else { return };
        let mut broker_keys = BTreeSet::new();
        for sub in conn.subs.keys() {
            match self.sub_map.get(&(link, sub.clone())) {
                Some(key) => {
                    broker_keys.insert(*key);
                }
                None => fail!(self, "the broker has a subscription {sub} on {link} that no consumer made"),
            }
        }
        // A consumer may wait for its exclusive queue, or for its queue's
        // declare being explained; on trial, it waits for the publishes in
        // flight too (one at a time: a lock released after they went out, seed 597).
        let mut waiting = self.waiting_for_exclusive(link);
        waiting.extend(self.waiting_for_declare());
        let in_flight = self.core.outbox().in_flight() > 0;
        let core_keys: BTreeSet<ConsumerKey> = self
            .core
            .consumers()
            .filter(|k| broker_keys.contains(k) || !(waiting.contains(k) || (in_flight && self.core.on_trial(*k))))
            .collect();
        if broker_keys != core_keys {
            fail!(
                self,
                "at a quiet point the broker subscribes {broker_keys:?} but the core's consumers are {core_keys:?} (on trial {:?}, in flight {})",
                core_keys.iter().filter(|k| self.core.on_trial(**k)).collect::<Vec<_>>(),
                self.core.outbox().in_flight()
            );
        }
        self.stats.quiet_checks += 1;
    }

    // ---------------------------------------------------------------- the user's calls

    pub(crate) fn start(&mut self) {
        self.call(|c, now| {
            c.handle_unix_time(now, UNIX0 + now);
            c.start(now)
        });
    }

    /// A publisher that waits for room: the core's line, first come first in.
    pub(crate) fn publish_or_wait(&mut self) {
        self.next_tag += 1;
        let tag = self.next_tag;
        let body = format!("m-{tag}").into_bytes();
        self.body_len.insert(tag, body.len());
        let properties = BasicProperties { message_id: Some(format!("m-{tag}")), ..BasicProperties::persistent() };
        let publish = PendingPublish { exchange: String::new(), routing_key: "q".to_owned(), body, properties };
        let full = self.core.outbox().check_room(publish.body.len()).is_err() || self.core.waiting() > 0;
        match self.call(|c, now| c.basic_publish_or_wait(now, publish)) {
            Ok(id) => {
                self.stats.published += 1;
                let waiting = self.core.is_waiting(id);
                if waiting && !full {
                    fail!(self, "{id} waits for room although the outbox had some and nobody waited");
                }
                if waiting {
                    self.stats.waited_for_room += 1;
                    self.waiting.push_back(id);
                }
                self.pubs.insert(id, Pub { tag, kind: PubKind::Valid, outcome: None, waiting });
            }
            Err(PublishError::Stopped | PublishError::StoppedUnsent) if self.over() => {}
            Err(error) => fail!(self, "a publisher that waits was refused: {error}"),
        }
        // Calls wait in the same line (tests/sim/rpc.rs); the simulation tracks publishes.
        if self.core.waiting() != self.waiting.len() + self.core.calls_waiting() {
            fail!(self, "the core has {} publishers waiting, the simulation {:?}", self.core.waiting(), self.waiting);
        }
    }

    /// A waiting publisher gives up (its future was dropped).
    pub(crate) fn withdraw(&mut self) {
        if self.waiting.is_empty() {
            return;
        }
        let i = self.rng.below(self.waiting.len() as u64) as usize;
        let Some(id) = self.waiting.remove(i) else { return };
        if !self.call(|c, _| c.withdraw(id)) {
            fail!(self, "withdraw({id}) of a waiting publish said it was not waiting");
        }
        self.stats.withdrawn += 1;
        // Never sent, no outcome: it is as if it never was.
        self.pubs.remove(&id);
    }

    pub(crate) fn publish_with(
        &mut self,
        exchange: &str,
        routing_key: &str,
        kind: PubKind,
        padding: usize,
    ) -> Result<OutboxId, PublishError> {
        self.next_tag += 1;
        let tag = self.next_tag;
        let mut body = format!("m-{tag}").into_bytes();
        body.resize(body.len() + padding, b'.');
        self.body_len.insert(tag, body.len());
        let publish = PendingPublish {
            exchange: exchange.to_owned(),
            routing_key: routing_key.to_owned(),
            body,
            properties: BasicProperties {
                message_id: Some(format!("m-{tag}")),
                stream_filter_value: (kind == PubKind::Stream && self.broker.server == NEW_SERVER)
                    .then(|| filter_value(tag))
                    .flatten()
                    .map(str::to_owned),
                ..BasicProperties::persistent()
            },
        };
        let before = (self.core.outbox().len(), self.core.outbox().bytes());
        let result = self.call(|c, now| c.basic_publish(now, publish));
        match &result {
            Ok(id) => {
                self.stats.published += 1;
                self.pubs.insert(*id, Pub { tag, kind, outcome: None, waiting: false });
            }
            Err(PublishError::Full(_)) => {
                self.stats.full_outbox += 1;
                self.expect_nothing_changed(before, "a publish to a full outbox");
            }
            Err(PublishError::Stopped | PublishError::StoppedUnsent) if self.over() => {}
            Err(error) => fail!(self, "a valid publish was refused: {error}"),
        }
        result
    }

    pub(crate) fn expect_nothing_changed(&self, before: (usize, usize), what: &str) {
        let after = (self.core.outbox().len(), self.core.outbox().bytes());
        if before != after || self.last_pump != (0, 0) {
            fail!(self, "{what} changed something: outbox {before:?} → {after:?}, pump {:?}", self.last_pump);
        }
    }

    pub(crate) fn publish(&mut self) -> Result<OutboxId, PublishError> {
        self.publish_with("", "q", PubKind::Valid, 0)
    }

    /// The three kinds of publish Burrow must refuse at once.
    pub(crate) fn publish_invalid(&mut self, which: u64) -> Result<OutboxId, PublishError> {
        self.next_tag += 1;
        let tag = self.next_tag;
        let mut publish = PendingPublish {
            exchange: String::new(),
            routing_key: "q".to_owned(),
            body: format!("m-{tag}").into_bytes(),
            properties: BasicProperties { message_id: Some(format!("m-{tag}")), ..BasicProperties::persistent() },
        };
        match which {
            0 => publish.routing_key = "k".repeat(300),
            1 => publish.properties.headers.push(("destination".to_owned(), "/amq/queue/elsewhere".to_owned())),
            _ => publish.body.resize(MAX_FRAME + 1, b'.'),
        }
        let before = (self.core.outbox().len(), self.core.outbox().bytes());
        let result = self.call(|c, now| c.basic_publish(now, publish));
        match &result {
            Err(PublishError::Invalid(error)) => {
                self.stats.invalid_publishes += 1;
                if error.to_string().is_empty() {
                    fail!(self, "an invalid publish was refused without words");
                }
            }
            Err(PublishError::Full(_)) => self.stats.full_outbox += 1,
            Err(PublishError::Stopped | PublishError::StoppedUnsent) if self.over() => {}
            other => fail!(self, "an invalid publish ({which}) was not refused at once: {other:?}"),
        }
        self.expect_nothing_changed(before, "an invalid publish");
        result
    }

    pub(crate) fn consume(&mut self, queue: &str, auto_ack: bool, prefetch: u16) -> Option<ConsumerKey> {
        self.consume_with(queue, ConsumeOptions { auto_ack, prefetch, stream_offset: None, ..ConsumeOptions::default() })
    }

    pub(crate) fn consume_stream(&mut self, offset: StreamOffset, prefetch: u16) -> Option<ConsumerKey> {
        self.consume_with("s", ConsumeOptions::stream(offset, prefetch))
    }

    pub(crate) fn consume_with(&mut self, queue: &str, options: ConsumeOptions) -> Option<ConsumerKey> {
        self.consume_from(ConsumeFrom::queue(queue), options)
    }

    pub(crate) fn consume_from(&mut self, source: ConsumeFrom, options: ConsumeOptions) -> Option<ConsumerKey> {
        let (queue, exchange) = match &source {
            ConsumeFrom::Queue(name) => (name.clone(), None),
            ConsumeFrom::Exchange(sub) => (source.to_string(), Some(sub.clone())),
        };
        let queue = queue.as_str();
        let before: Vec<ConsumerKey> = self.core.consumers().collect();
        let auto_ack = options.auto_ack || options.broker_acks;
        self.stats.broker_acked_consumers += u64::from(options.broker_acks);
        let stream = (queue == "s").then(|| StreamRec {
            filter: options.stream_filter.clone(),
            start: options.stream_offset.unwrap_or(StreamOffset::Next),
            first: None,
            contig: 0,
            acked: BTreeSet::new(),
        });
        let window = options.window();
        let slow = !self.healing && self.rng.chance(self.cfg.slow_readers);
        let result = self.core.basic_consume(self.now, source.clone(), options);
        let consumed = result.as_ref().ok().copied();
        if let Some(key) = consumed {
            self.stats.consumers += 1;
            self.stats.stream_consumers += u64::from(stream.is_some());
            self.stats.slow_readers += u64::from(slow);
            self.consumers.insert(
                key,
                ConsumerRec {
                    queue: queue.to_owned(),
                    auto: auto_ack,
                    window,
                    slow,
                    cancel_requested: false,
                    cancelled: false,
                    failed: false,
                    stream,
                    exchange,
                },
            );
        }
        self.pump(Ctx { before, ..Ctx::default() });
        self.read_fast();
        match result {
            Ok(key) => Some(key),
            Err(ConsumeError::Stopped) if self.over() => None,
            Err(error) => fail!(self, "basic_consume({queue}) refused: {error}"),
        }
    }

    pub(crate) fn cancel(&mut self, key: ConsumerKey) {
        let live = self.core.consumers().any(|k| k == key);
        // Marked first: the core may say ConsumerCancelled at once.
        if let Some(rec) = self.consumers.get_mut(&key).filter(|_| live) {
            rec.cancel_requested = true;
        }
        let known = self.call(|c, now| c.basic_cancel(now, key));
        if known != live {
            fail!(self, "basic_cancel({key:?}) said {known} for a consumer that is live: {live}");
        }
        if known {
            self.stats.cancels += 1;
        }
    }

    /// Acks (or nacks) one delivery and checks the answer.
    pub(crate) fn settle_ack(&mut self, acker: Acker, nack: Option<bool>, settled_before: bool) {
        let renewal = [self.core.successor_link(), self.core.retiring_link()].contains(&Some(acker.link()));
        let current = (self.core.current_link() == Some(acker.link()) && self.core.is_connected()) || renewal;
        let stopping = self.over();
        let ended = self.consumers.get(&acker.consumer()).is_none_or(|r| r.cancel_requested || r.failed);
        let result = self.call(|c, now| match nack {
            Some(requeue) => c.basic_nack(now, &acker, requeue),
            None => c.basic_ack(now, &acker),
        });
        let sent = self.last_pump.0;
        if nack.is_some() && acker.stream_offset().is_some() {
            // Invariant 9: never a NACK on a stream (RabbitMQ closes the connection).
            if result != Err(AckError::StreamNack) || sent != 0 {
                fail!(self, "a nack of stream offset {:?} returned {result:?}, sent {sent}", acker.stream_offset());
            }
            self.stats.stream_nacks_refused += 1;
            if !settled_before {
                self.held.push(Held { acker });
            }
            return;
        }
        if let (Ok(()), Some(offset)) = (&result, acker.stream_offset()) {
            if let Some(st) = self.consumers.get_mut(&acker.consumer()).and_then(|r| r.stream.as_mut()) {
                st.acked.insert(offset);
            }
        }
        match (&result, stopping, current, settled_before) {
            (Err(AckError::Stopped), true, _, _) => {}
            (Ok(()), false, true, false) => {
                if nack.is_some() {
                    self.stats.nacks += 1;
                } else {
                    self.stats.acks += 1;
                }
                if self.settled.len() > 64 {
                    self.settled.remove(0);
                }
                self.settled.push(acker);
                return;
            }
            (Err(AckError::AlreadySettled), false, true, true) => self.stats.double_acks += 1,
            // RabbitMQ takes no ack once the subscription is gone.
            (Err(AckError::Cancelled), false, true, false) if ended => self.stats.cancelled_acks += 1,
            (Err(AckError::Stale { link }), false, false, _) if *link == acker.link() => self.stats.stale_acks += 1,
            // A planned reconnect's DISCONNECT went: the link is as good as gone.
            (Err(AckError::Stale { link }), false, true, _) if self.renewing.contains(link) => self.stats.stale_acks += 1,
            (result, ..) => fail!(
                self,
                "ack of {} (stopping {stopping}, current {current}, settled before {settled_before}) returned {result:?}",
                acker.delivery_tag()
            ),
        }
        if sent != 0 {
            fail!(self, "a refused ack ({result:?}) still sent something");
        }
    }

    pub(crate) fn drain_acks(&mut self) {
        while !self.to_ack.is_empty() {
            let acker = self.to_ack.remove(0);
            self.settle_ack(acker, None, false);
        }
    }

    /// Every reader takes what it can.
    pub(crate) fn read_all(&mut self) {
        while let Some(key) = self.readable.iter().next().copied() {
            self.read(key, usize::MAX);
        }
    }

    pub(crate) fn ack_all_held(&mut self) {
        for held in std::mem::take(&mut self.held) {
            self.settle_ack(held.acker, None, false);
        }
        self.drain_acks();
    }

    pub(crate) fn declare(&mut self, queue: &str, options: &QueueOptions, expect: DeclareExpect) -> Option<DeclareId> {
        let connected = self.core.is_connected();
        let result = self.call(|c, now| c.queue_declare(now, queue, options));
        match result {
            Ok(id) => {
                self.stats.declares += 1;
                self.declares.insert(id, DeclareRec { queue: queue.to_owned(), expect, done: false });
                Some(id)
            }
            Err(DeclareError::NotConnected) if !connected => None,
            Err(DeclareError::Stopped) if self.over() => None,
            Err(error) => fail!(self, "queue_declare({queue}) refused at once: {error}"),
        }
    }

    /// A declare of a quorum queue or stream RabbitMQ would refuse: refused at once.
    pub(crate) fn declare_invalid(&mut self, which: u64) {
        let options = match which % 4 {
            0 => QueueOptions { exclusive: true, ..QueueOptions::quorum() },
            1 => QueueOptions { durable: false, ..QueueOptions::stream() },
            2 => QueueOptions { auto_delete: true, ..QueueOptions::quorum() },
            _ => QueueOptions { arguments: vec![("x-message-ttl".into(), "5000".into())], ..QueueOptions::stream() },
        };
        let connected = self.core.is_connected();
        let result = self.call(|c, now| c.queue_declare(now, "typed", &options));
        match result {
            Err(DeclareError::Invalid(RabbitError::QueueTypeConflict { queue_type, .. })) => {
                if queue_type == QueueType::Classic {
                    fail!(self, "a classic queue refused for its type");
                }
                self.stats.invalid_declares += 1;
            }
            Err(DeclareError::NotConnected) if !connected => {}
            Err(DeclareError::Stopped) if self.over() => {}
            other => fail!(self, "a declare RabbitMQ would refuse ({options:?}) was not refused at once: {other:?}"),
        }
        if self.last_pump != (0, 0) {
            fail!(self, "a refused declare sent something: {:?}", self.last_pump);
        }
    }

    /// A node shut down cleanly: each of its sessions gets ERROR connection_forced
    /// (which 3.10.8 may lose) and "STOMP died", then it is down for `for_`.
    pub(crate) fn stop_node_gracefully(&mut self, node: usize, for_: Duration) {
        let links: Vec<LinkId> = self
            .socks
            .iter()
            .filter(|(link, s)| s.node == node && self.broker.conns.get(link).is_some_and(|c| c.connected))
            .map(|(link, _)| *link)
            .collect();
        for link in links {
            let detail = "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'".to_owned();
            self.broker.refuse(link, "connection_forced", detail, false);
        }
        self.flush_broker();
        self.stop_node(node, for_);
    }

    /// `rabbitmqctl stop_app` on one node of the cluster: its sockets close without a
    /// close frame, and new ones fail to open until it is back.
    pub(crate) fn stop_node(&mut self, node: usize, for_: Duration) {
        self.stats.node_stops += 1;
        let now = self.now;
        vlog!(self, "node {node} stopped for {for_:?}");
        self.broker.nodes_down.insert(node, now + for_);
        let links: Vec<LinkId> = self.socks.iter().filter(|(_, s)| s.node == node).map(|(l, _)| *l).collect();
        for link in links {
            let Some(sock) = self.socks.get_mut(&link) else { continue };
            match sock.state {
                SockState::Open if !sock.broker_gone => {
                    sock.lost_by_broker(now);
                    self.broker.drop_conn(link);
                }
                SockState::ClientClosed => {
                    sock.to_broker.clear();
                    sock.state = SockState::Dead;
                    self.broker.drop_conn(link);
                }
                SockState::Opening { at, .. } => sock.state = SockState::Opening { at, fail: true },
                _ => {}
            }
        }
        self.broker.dispatch(now);
        self.flush_broker();
    }

    pub(crate) fn stop(&mut self) {
        let connected = self.core.is_connected();
        if self.core.countdown(self.now).is_some() {
            self.stats.stops_during_countdown += 1;
        } else if !connected && self.core.current_link().is_some() {
            self.stats.stops_while_opening += 1;
        }
        self.stop_called = true;
        vlog!(self, "stop()");
        self.call(|c, now| c.stop(now));
        if !connected && self.stopped.is_none() {
            fail!(self, "stop() while not connected did not emit Stopped at once");
        }
    }

}
