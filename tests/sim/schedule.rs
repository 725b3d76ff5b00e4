//! Faults, the seeded schedule of a random run, the fault-free heal and the
//! end after a stop.

use super::*;

impl Sim {
    // ---------------------------------------------------------------- faults

    pub(crate) fn drop_current(&mut self) {
        let latency = self.latency();
        let now = self.now;
        let Some(link) = self.core.current_link() else { return };
        let Some(sock) = self.socks.get_mut(&link) else { return };
        match sock.state {
            SockState::Opening { at, .. } => sock.state = SockState::Opening { at, fail: true },
            SockState::Open if !sock.broker_gone => {
                sock.lost_by_broker(now + latency);
                self.broker.drop_conn(link);
                self.broker.dispatch(now);
                self.flush_broker();
            }
            _ => return,
        }
        self.stats.network_drops += 1;
        vlog!(self, "network drop of {link}");
    }

    pub(crate) fn restart_broker(&mut self, down_for: Duration, graceful: bool) {
        self.stats.broker_restarts += 1;
        vlog!(self, "broker restart ({}), down for {down_for:?}", if graceful { "graceful" } else { "killed" });
        let now = self.now;
        if graceful {
            // A clean shutdown closes each session like a refusal: ERROR
            // connection_forced (which 3.10.8 may lose), then "STOMP died".
            self.stats.graceful_restarts += 1;
            let links: Vec<LinkId> = self.broker.conns.iter().filter(|(_, c)| c.connected).map(|(l, _)| *l).collect();
            for link in links {
                let detail = "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'".to_owned();
                self.broker.refuse(link, "connection_forced", detail, false);
            }
            self.flush_broker();
        }
        self.broker.restart(now, down_for);
        self.stats.ex_kept_across_restarts += self.broker.durable_subscription_messages();
        for sock in self.socks.values_mut() {
            match sock.state {
                SockState::Open if !sock.broker_gone => sock.lost_by_broker(now),
                SockState::ClientClosed => {
                    sock.to_broker.clear();
                    sock.state = SockState::Dead;
                }
                SockState::Opening { at, .. } => sock.state = SockState::Opening { at, fail: true },
                _ => {}
            }
        }
        self.flush_broker();
    }

    pub(crate) fn freeze(&mut self, for_: Duration) {
        if self.broker.frozen(self.now) {
            return;
        }
        self.stats.freezes += 1;
        vlog!(self, "broker frozen for {for_:?}");
        self.broker.frozen_until = Some(self.now + for_);
    }

    // ---------------------------------------------------------------- a random run

    pub(crate) fn random_op(&mut self) {
        if self.cfg.stop_at == Some(self.step) && !self.stop_called {
            self.stop();
            return;
        }
        if self.cfg.revoke_at == Some(self.step) {
            vlog!(self, "credentials revoked");
            self.broker.refuse_connect = true;
        }
        if self.rpc_rng.chance(4) {
            vlog!(self, "rpc call");
            return self.rpc_call();
        }
        if self.ex.rng.chance(6) {
            return self.exchange_op();
        }
        if self.exclusive_op() {
            return;
        }
        match self.rng.below(1000) {
            0..=179 => {
                let n = match self.rng.below(100) {
                    0..=84 => self.rng.range(1, 2),
                    85..=97 => self.rng.range(3, 12),
                    _ => self.rng.range(13, 300),
                };
                for _ in 0..n {
                    let (key, kind) = match self.rng.below(100) {
                        0..=3 => ("unrouted", PubKind::Unrouted),
                        4..=18 => ("s", PubKind::Stream),
                        _ => ("q", PubKind::Valid),
                    };
                    let padding = if self.rng.chance(15) { self.rng.range(1, 1500) as usize } else { 0 };
                    if kind == PubKind::Valid && padding == 0 && self.rng.chance(25) {
                        self.publish_or_wait();
                        continue;
                    }
                    if let Err(PublishError::Full(_)) = self.publish_with("", key, kind, padding) {
                        break;
                    }
                }
            }
            180..=196 => {
                let which = self.rng.below(3);
                let _ = self.publish_invalid(which);
            }
            197..=204 => self.withdraw(),
            205..=219 => {
                let _ = self.publish_with("nope", "k", PubKind::MissingExchange, 0);
            }
            220..=269 => {
                let live = self.consumers.values().filter(|c| !c.cancel_requested && !c.failed).count();
                if live < 4 {
                    match self.rng.below(100) {
                        0..=24 => {
                            let seconds = self.now.as_secs();
                            let offset = match self.rng.below(5) {
                                0 => StreamOffset::First,
                                1 => StreamOffset::Next,
                                2 => StreamOffset::Last,
                                3 => StreamOffset::Offset(self.rng.range(0, 15)),
                                _ => StreamOffset::Timestamp(seconds.saturating_sub(self.rng.range(0, 30))),
                            };
                            let prefetch = self.rng.range(1, 5) as u16;
                            if self.broker.server == NEW_SERVER && self.consumers.len() % 2 == 1 {
                                let filter = StreamFilter { match_unfiltered: self.consumers.len() % 4 == 1, ..StreamFilter::new(["red"]) };
                                let options = ConsumeOptions { stream_filter: Some(filter), ..ConsumeOptions::stream(offset, prefetch) };
                                self.consume_with("s", options);
                            } else {
                                self.consume_stream(offset, prefetch);
                            }
                        }
                        25..=29 => {
                            let auto = self.rng.chance(50);
                            self.consume_invalid_stream(auto);
                        }
                        _ => {
                            let queue = if self.rng.chance(12) { "missing" } else { "q" };
                            let auto = self.rng.chance(35);
                            let prefetch = self.rng.range(0, 5) as u16;
                            // Some with RabbitMQ's own auto-ack, drawing nothing
                            // more from the schedule's random numbers.
                            let broker_acks = auto && prefetch == 4;
                            let options = ConsumeOptions { auto_ack: auto, broker_acks, prefetch, ..ConsumeOptions::default() };
                            self.consume_with(queue, options);
                        }
                    }
                }
            }
            270..=294 => {
                let live: Vec<ConsumerKey> = self.core.consumers().collect();
                if !live.is_empty() {
                    let key = live[self.rng.below(live.len() as u64) as usize];
                    self.cancel(key);
                }
            }
            295..=379 => self.random_ack(),
            380..=419 => {
                // A slow reader takes a few.
                let readable: Vec<ConsumerKey> = self.readable.iter().copied().collect();
                if !readable.is_empty() {
                    let key = readable[self.rng.below(readable.len() as u64) as usize];
                    let most = self.rng.range(1, 8) as usize;
                    self.read(key, most);
                }
            }
            420..=434 => match self.rng.below(5) {
                0 => {
                    self.declare("q", &QueueOptions::durable(), DeclareExpect::Ok);
                }
                1 => {
                    self.declare("q", &QueueOptions::default(), DeclareExpect::Refused);
                }
                2 => {
                    self.declare("s", &QueueOptions::stream(), DeclareExpect::Ok);
                }
                3 => {
                    let which = self.rng.below(4);
                    self.declare_invalid(which);
                }
                _ => {
                    self.next_queue += 1;
                    let name = format!("tmp-{}", self.next_queue);
                    self.declare(&name, &QueueOptions::default(), DeclareExpect::Ok);
                }
            },
            435..=459 => self.drop_current(),
            460..=466 => {
                let down = ms(self.rng.range(0, 15_000));
                let graceful = self.cfg.graceful_restarts && self.rng.chance(50);
                self.restart_broker(down, graceful);
            }
            467..=474 => {
                let for_ = ms(self.rng.range(5_000, 60_000));
                self.freeze(for_);
            }
            475..=489 => {
                self.broker.slow_confirms = !self.broker.slow_confirms;
                vlog!(self, "slow confirms {}", self.broker.slow_confirms);
            }
            490..=494 => {
                let for_ = ms(self.rng.range(2_000, 40_000));
                self.stats.alarms += 1;
                vlog!(self, "resource alarm for {for_:?}");
                self.broker.alarm_until = Some(self.now + for_);
            }
            495..=739 => {
                let n = self.rng.range(1, 12);
                for _ in 0..n {
                    if !self.deliver_one_random() {
                        break;
                    }
                }
            }
            740..=749 if self.urls.len() > 1 => {
                // Mostly the node the client is on: that is the failover.
                let current = self.core.current_link().and_then(|l| self.socks.get(&l)).map(|s| s.node);
                let node = match current {
                    Some(node) if self.rng.chance(80) => node,
                    _ => self.rng.below(self.urls.len() as u64) as usize,
                };
                let for_ = ms(self.rng.range(1_000, 30_000));
                self.stop_node(node, for_);
            }
            740..=979 => {
                let by = match self.rng.below(100) {
                    0..=59 => ms(self.rng.range(1, 200)),
                    60..=89 => ms(self.rng.range(200, 5_000)),
                    _ => ms(self.rng.range(5_000, 40_000)),
                };
                self.advance(by);
            }
            980..=993 => {
                vlog!(self, "spurious timer");
                self.call(|c, now| c.handle_timeout(now));
            }
            _ => {
                // The socket refuses a send: the core must give the link up.
                if let Some(link) = self.core.current_link() {
                    if self.socks.get(&link).is_some_and(|s| s.state == SockState::Open) {
                        vlog!(self, "send failed on {link}");
                        self.stats.send_failures += 1;
                        self.call(|c, now| c.handle_send_failed(now, link, "the socket refused a send".into()));
                    }
                }
            }
        }
    }

    pub(crate) fn random_ack(&mut self) {
        match self.rng.below(10) {
            0..=5 if !self.held.is_empty() => {
                let i = self.rng.below(self.held.len() as u64) as usize;
                let held = self.held.swap_remove(i);
                let nack = self.rng.chance(25).then(|| self.rng.chance(70));
                self.settle_ack(held.acker, nack, false);
            }
            6..=7 => {
                let current = self.core.current_link();
                let stale: Vec<usize> =
                    (0..self.held.len()).filter(|i| Some(self.held[*i].acker.link()) != current).collect();
                if let Some(&i) = stale.first() {
                    let held = self.held.swap_remove(i);
                    self.settle_ack(held.acker, None, false);
                }
            }
            8..=9 if !self.settled.is_empty() => {
                let i = self.rng.below(self.settled.len() as u64) as usize;
                let acker = self.settled[i].clone();
                let nack = self.rng.chance(30).then_some(true);
                self.settle_ack(acker, nack, true);
            }
            _ => {}
        }
    }

    pub(crate) fn run_random(&mut self) {
        self.start();
        for step in 0..self.cfg.steps {
            self.step = step;
            self.random_op();
            self.drain_acks();
            self.check_step();
        }
        self.step = self.cfg.steps;
        self.finish();
        self.stats.steps += self.cfg.steps as u64;
        self.stats.lost_errors += self.broker.lost_errors;
        self.stats.expired_refusals += self.broker.expired_refusals;
        self.stats.expiry_closes += self.broker.expiry_closes;
        self.stats.reconnects += self.stats.connects.saturating_sub(1);
        self.stats.seeds += 1;
    }

    /// The end of a run: without faults everything must heal; after a stop, nothing
    /// of this client may remain at the broker.
    pub(crate) fn finish(&mut self) {
        vlog!(self, "--- finish");
        self.broker.frozen_until = None;
        self.broker.down_until = None;
        self.broker.nodes_down.clear();
        self.broker.slow_confirms = false;
        self.broker.dispatch(self.now);
        self.flush_broker();
        if !self.stop_called && self.stopped.is_none() {
            self.heal();
        }
        if self.stop_called || self.stopped.is_some() {
            self.end_stopped();
        }
    }

    pub(crate) fn heal(&mut self) {
        self.healing = true;
        let prefetch = self.rng.range(0, 5) as u16;
        self.consume("q", false, prefetch);
        self.heal_durable_subscriptions();
        self.ack_all_held();
        let mut healed = false;
        for _ in 0..1200 {
            self.advance(ms(500));
            self.deliver_all();
            self.read_all();
            self.ack_all_held();
            self.check_step();
            if self.stopped.is_some() {
                return;
            }
            // Deliveries a cancelled consumer never got stay with the connection;
            // a drop gives them back (as closing it would).
            let orphaned = self.core.current_link().map_or(0, |link| self.broker.orphaned(link));
            if orphaned > 0 && self.network_idle() && self.held.is_empty() {
                vlog!(self, "{orphaned} deliveries of cancelled consumers stay with the connection: drop it");
                self.drop_current();
                continue;
            }
            let queue_empty = self.broker.queues.get("q").is_none_or(|q| q.msgs.is_empty())
                && self.subscription_queues_empty();
            if self.core.is_connected()
                && self.core.outbox().is_empty()
                && self.pubs.values().all(|p| p.outcome.is_some())
                && queue_empty
                && self.broker.unacked_total() == 0
                && self.network_idle()
                && self.held.is_empty()
                && self.streams_caught_up()
                && self.calls.values().all(|c| c.done)
                && self.declares.values().all(|d| d.done)
                && self.exclusive_consumers_back()
                && self.exclusive_queues_read()
                && !self.current_cut()
            {
                healed = true;
                break;
            }
        }
        if !healed {
            let pending: Vec<String> = self
                .pubs
                .iter()
                .filter(|(_, p)| p.outcome.is_none())
                .take(5)
                .map(|(id, p)| format!("{id}=m-{} {:?}", p.tag, p.kind))
                .collect();
            fail!(
                self,
                "not healed after 600 s without faults: connected {}, outbox {} ({} in flight), pending {pending:?}, queue {}, unacked {}, consumers {:?}, declares unanswered {}",
                self.core.is_connected(),
                self.core.outbox().len(),
                self.core.outbox().in_flight(),
                self.broker.queues.get("q").map_or(0, |q| q.msgs.len()),
                self.broker.unacked_total(),
                self.core.consumers().collect::<Vec<_>>(),
                self.declares.values().filter(|d| !d.done).count()
            );
        }
        self.check_calls_over();
        self.check_durable_subscriptions();
        // Invariant 1 at the end: every confirmed message reached the user (auto-ack
        // ones too: Burrow's auto-ack acks what the reader took, at-least-once).
        let mut ids: Vec<&OutboxId> = self.pubs.keys().collect();
        ids.sort();
        let mut undelivered = Vec::new();
        let mut exclusive_confirmed = Vec::new();
        for id in ids {
            let p = &self.pubs[id];
            match (p.kind, &p.outcome) {
                (PubKind::Valid, Some(Outcome::Confirmed)) => {
                    if !self.delivered.contains(&p.tag) {
                        undelivered.push(p.tag);
                    }
                }
                (PubKind::Stream, Some(Outcome::Confirmed)) => {
                    if self.broker.copies_of(p.tag) == 0 {
                        fail!(self, "confirmed m-{} is not in the stream", p.tag);
                    }
                }
                (PubKind::Exclusive, Some(Outcome::Confirmed)) => exclusive_confirmed.push(p.tag),
                (PubKind::Unrouted | PubKind::Exchange, Some(Outcome::Confirmed))
                | (PubKind::MissingExchange, Some(Outcome::Refused)) => {}
                (kind, outcome) => fail!(self, "{id} m-{} ({kind:?}) ended {outcome:?}", p.tag),
            }
        }
        for tag in undelivered {
            self.excuse_broker_acked(tag);
        }
        for tag in exclusive_confirmed {
            self.check_exclusive_confirmed(tag, true);
        }
    }

    /// A confirmed message never delivered: a failure, unless RabbitMQ's own
    /// auto-ack sent it (asked for outright: at most once) and it was lost on
    /// its way over a connection, or it waited unread when its consumer ended.
    pub(crate) fn excuse_broker_acked(&mut self, tag: u64) {
        if !self.broker.forgotten.contains(&tag) {
            fail!(self, "confirmed m-{tag} was never delivered");
        }
        match self.arrived_broker_acked.get(&tag) {
            None => self.stats.broker_acked_lost_on_the_way += 1,
            Some(Some(key)) if self.consumers.get(key).is_some_and(|rec| rec.cancel_requested || rec.failed) => {
                self.stats.broker_acked_unread_at_cancel += 1;
            }
            Some(consumer) => {
                fail!(self, "m-{tag}, sent with RabbitMQ's own auto-ack, reached the core for {consumer:?} and never its reader")
            }
        }
    }

    pub(crate) fn end_stopped(&mut self) {
        for _ in 0..120 {
            self.advance(ms(500));
            self.deliver_all();
            if self.stopped.is_some() && self.network_idle() && self.broker.conns.is_empty() {
                break;
            }
        }
        if self.stopped.is_none() {
            fail!(self, "stop() never ended in Stopped");
        }
        if !self.broker.conns.is_empty() {
            let links: Vec<&LinkId> = self.broker.conns.keys().collect();
            fail!(self, "after stop the broker still has connections {links:?}");
        }
        if let Some((id, p)) = self.pubs.iter().find(|(_, p)| p.outcome.is_none()) {
            fail!(self, "after stop {id} (m-{}) has no outcome", p.tag);
        }
        // Every consumer cancelled before the end heard ConsumerCancelled before
        // Stopped (its UNSUBSCRIBE confirmed, or its connection gone).
        for (key, rec) in &self.consumers {
            if rec.cancel_requested && !rec.cancelled {
                fail!(self, "{key:?} cancelled but never ConsumerCancelled");
            }
        }
        self.check_calls_over();
        if self.core.waiting() != 0 || !self.waiting.is_empty() {
            fail!(self, "after stop {} publishers still wait for room", self.core.waiting());
        }
    }
}
