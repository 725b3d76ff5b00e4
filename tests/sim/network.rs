//! The simulated network and time: sockets that deliver in order with latency,
//! split and coalesced messages, what is due next.

use super::*;

impl Sim {
    // ---------------------------------------------------------------- the network

    pub(crate) fn flush_broker(&mut self) {
        let outputs = std::mem::take(&mut self.broker.out);
        for (link, out) in outputs {
            let latency = self.latency();
            let coalesce = self.rng.chance(self.cfg.coalesce);
            let now = self.now;
            let Some(sock) = self.socks.get_mut(&link) else { continue };
            match out {
                Out::Bytes(bytes) => {
                    if sock.state != SockState::Open || sock.cut {
                        continue;
                    }
                    if coalesce {
                        if let Some(Packet { payload: Payload::Bytes(last), .. }) = sock.to_client.back_mut() {
                            last.extend_from_slice(&bytes);
                            continue;
                        }
                    }
                    let due = sock.to_client.back().map_or(now, |p| p.due).max(now + latency);
                    sock.to_client.push_back(Packet { due, payload: Payload::Bytes(bytes) });
                }
                Out::Close(how) => {
                    sock.broker_gone = true;
                    sock.to_broker.clear();
                    match sock.state {
                        SockState::Open if sock.cut => {}
                        SockState::Open => {
                            let due = sock.to_client.back().map_or(now, |p| p.due).max(now + latency);
                            sock.to_client.push_back(Packet { due, payload: Payload::Close(how) });
                        }
                        SockState::ClientClosed => sock.state = SockState::Dead,
                        _ => {}
                    }
                }
            }
        }
        // Invariant 1, as messages leave the broker.
        for tag in std::mem::take(&mut self.broker.emptied) {
            // RabbitMQ's own auto-ack forgets a message as it sends it: the end
            // of the run checks those (see `heal`).
            if self.confirmed_pending.contains(&tag) && self.broker.copies_of(tag) == 0 && !self.broker.forgotten.contains(&tag) {
                fail!(self, "confirmed m-{tag} left the broker without reaching the user");
            }
        }
    }

    pub(crate) fn can_reach_broker(&self, sock: &Sock) -> bool {
        !self.broker.frozen(self.now)
            && !sock.broker_gone
            && matches!(sock.state, SockState::Open | SockState::ClientClosed)
            && !sock.to_broker.is_empty()
    }

    pub(crate) fn deliver_to_client(&mut self, link: LinkId) {
        let Some(sock) = self.socks.get_mut(&link) else { return };
        if sock.state != SockState::Open {
            return;
        }
        let Some(packet) = sock.to_client.pop_front() else { return };
        let split = self.rng.chance(self.cfg.split);
        match packet.payload {
            // A message split at a random point: the rest comes as the next one.
            Payload::Bytes(mut bytes) if split && bytes.len() > 1 => {
                let at = 1 + self.rng.below(bytes.len() as u64 - 1) as usize;
                let rest = bytes.split_off(at);
                sock.to_client.push_front(Packet { due: packet.due, payload: Payload::Bytes(rest) });
                vlog!(self, "{link} < {} bytes of a split message", bytes.len());
                self.stats.splits += 1;
                self.note_arrivals(link, &bytes);
                self.call(|c, now| c.handle_bytes(now, link, &bytes));
            }
            Payload::Bytes(bytes) => {
                vlog!(self, "{link} < {}", describe_bytes(&bytes));
                self.note_arrivals(link, &bytes);
                self.call(|c, now| c.handle_bytes(now, link, &bytes));
            }
            Payload::Close(how) => {
                sock.state = SockState::Dead;
                sock.hb_since = None;
                sock.to_broker.clear();
                vlog!(self, "{link} closed ({} {:?})", how.code, how.reason);
                self.call(|c, now| c.handle_closed(now, link, how));
            }
            Payload::Items(_) => unreachable!("items only go to the broker"),
        }
    }

    /// Notes the messages of RabbitMQ's own auto-ack (no `ack` header) that reach
    /// the core on `link`, and the consumer each came for.
    pub(crate) fn note_arrivals(&mut self, link: LinkId, bytes: &[u8]) {
        let Some(sock) = self.socks.get_mut(&link) else { return };
        sock.inbound.push(bytes);
        while let Ok(Some(item)) = sock.inbound.next_item() {
            let Decoded::Frame(frame) = item else { continue };
            if frame.command != Command::Message || frame.header("ack").is_some() {
                continue;
            }
            let Some(tag) = parse_tag(&frame.body) else { continue };
            let sub = frame.header("subscription").unwrap_or_default().to_owned();
            let consumer = self.queued_subs.get(&(link, sub)).map(|(key, _)| *key);
            self.arrived_broker_acked.insert(tag, consumer);
        }
    }

    pub(crate) fn deliver_to_broker(&mut self, link: LinkId) {
        let now = self.now;
        let Some(sock) = self.socks.get_mut(&link) else { return };
        let Some(packet) = sock.to_broker.pop_front() else { return };
        match packet.payload {
            Payload::Items(items) => self.broker.receive(now, link, items),
            Payload::Close(_) => {
                sock.state = SockState::Dead;
                self.broker.drop_conn(link);
                self.broker.dispatch(now);
            }
            Payload::Bytes(_) => unreachable!("bytes only go to the client"),
        }
        self.flush_broker();
    }

    pub(crate) fn complete_open(&mut self, link: LinkId) {
        let now = self.now;
        let down = self.broker.down(now);
        let Some(sock) = self.socks.get_mut(&link) else { return };
        let SockState::Opening { fail, .. } = sock.state else { return };
        if fail || down || self.broker.node_down(sock.node, now) {
            sock.state = SockState::Dead;
            vlog!(self, "{link} failed to open");
            self.call(|c, now| c.handle_closed(now, link, SocketClose::new(1006, "")));
        } else {
            sock.state = SockState::Open;
            self.broker.open(link, now);
            vlog!(self, "{link} opened");
            self.call(|c, now| c.handle_opened(now, link));
        }
    }

    /// When the next thing happens by itself.
    pub(crate) fn next_due(&self) -> Option<Duration> {
        let frozen = self.broker.frozen(self.now);
        let mut best: Option<Duration> = None;
        let mut consider = |t: Duration| best = Some(best.map_or(t, |b: Duration| b.min(t)));
        if let Some(at) = self.timer {
            consider(at);
        }
        if let Some(at) = self.next_tick {
            consider(at);
        }
        for (due, _) in &self.lookups {
            consider(*due);
        }
        for (due, _) in &self.exchange_lookups {
            consider(*due);
        }
        for (due, _) in &self.topology_due {
            consider(*due);
        }
        for (due, _, _) in &self.creds_due {
            consider(*due);
        }
        if let Some(t) = self.broker.frozen_until {
            consider(t);
        }
        for sock in self.socks.values() {
            match sock.state {
                SockState::Opening { at, fail } => match self.broker.frozen_until {
                    Some(thaw) if frozen && !fail => consider(at.max(thaw)),
                    _ => consider(at),
                },
                SockState::Open => {
                    if let Some(p) = sock.to_client.front() {
                        consider(p.due);
                    }
                }
                _ => {}
            }
            if self.can_reach_broker(sock) {
                if let Some(p) = sock.to_broker.front() {
                    consider(p.due);
                }
            }
        }
        if let Some(t) = self.broker.next_due(self.now) {
            consider(t);
        }
        if let Some(t) = self.excl.next_notice() {
            // A frozen broker checks nothing: it drops them once thawed.
            consider(self.broker.frozen_until.filter(|_| frozen).map_or(t, |thaw| t.max(thaw)));
        }
        best
    }

    pub(crate) fn process_due(&mut self) {
        let now = self.now;
        if self.broker.frozen_until.is_some_and(|t| t <= now) {
            self.broker.frozen_until = None;
            vlog!(self, "broker thawed");
            self.broker.dispatch(now);
            self.flush_broker();
        }
        let frozen = self.broker.frozen(now);
        let opening: Vec<LinkId> = self
            .socks
            .iter()
            .filter(|(_, s)| matches!(s.state, SockState::Opening { at, fail } if at <= now && (fail || !frozen)))
            .map(|(l, _)| *l)
            .collect();
        for link in opening {
            self.complete_open(link);
        }
        let mut links: Vec<LinkId> = self.socks.keys().copied().collect();
        let len = links.len();
        let rotate = self.rng.below(len as u64 + 1) as usize;
        links.rotate_left(rotate.min(len));
        for link in links {
            let client_first = self.rng.chance(50);
            for pass in 0..2 {
                if (pass == 0) == client_first {
                    while self.socks.get(&link).is_some_and(|s| {
                        s.state == SockState::Open && s.to_client.front().is_some_and(|p| p.due <= now)
                    }) {
                        self.deliver_to_client(link);
                    }
                } else {
                    while self
                        .socks
                        .get(&link)
                        .is_some_and(|s| self.can_reach_broker(s) && s.to_broker.front().is_some_and(|p| p.due <= now))
                    {
                        self.deliver_to_broker(link);
                    }
                }
            }
        }
        self.notice_cuts();
        self.broker.tick(now);
        self.broker.dispatch(now);
        self.flush_broker();
        self.answer_lookups();
        self.answer_credentials();
        if self.timer.is_some_and(|at| at <= now) {
            self.fire_timer();
        }
        if self.next_tick.is_some_and(|at| at <= now) {
            self.tick();
        }
    }

    /// The provider is asked: it answers (or fails) after its delay, some answers
    /// too late.
    pub(crate) fn ask_credentials(&mut self, id: CredentialsId) {
        self.stats.credentials_asked += 1;
        let Some(cfg) = self.cfg.creds else { fail!(self, "credentials asked for without a provider") };
        // Healing is without faults: the provider answers in time, and does not fail.
        let (slow, fails) = if self.healing { (0, 0) } else { (cfg.slow, cfg.fails) };
        let due = if self.rng.chance(slow) {
            self.now + CREDS_TIMEOUT + ms(self.rng.range(1, 2_000))
        } else {
            self.now + ms(self.rng.range(cfg.delay.0, cfg.delay.1))
        };
        let answer = if self.rng.chance(fails) {
            Err("the identity provider is unreachable".to_owned())
        } else {
            Ok(match cfg.lifetime {
                Some(lifetime) => {
                    let exp = (UNIX0 + due + ms(lifetime)).as_secs();
                    let expires_in = cfg.says_expiry.then(|| ms(lifetime));
                    Credentials { login: "sim".into(), passcode: token(exp), expires_in }
                }
                None => Credentials::new("guest", "guest"),
            })
        };
        self.creds_due.push((due, id, answer));
    }

    pub(crate) fn answer_credentials(&mut self) {
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.creds_due).into_iter().partition(|(at, ..)| *at <= now);
        self.creds_due = later;
        for (_, id, answer) in due {
            vlog!(self, "credentials {id:?}: {}", if answer.is_ok() { "given" } else { "failed" });
            self.call(|c, now| {
                c.handle_unix_time(now, UNIX0 + now);
                c.handle_credentials(now, id, answer)
            });
        }
    }

    /// The management API answers the look-ups that are due, from the broker's queues.
    pub(crate) fn answer_lookups(&mut self) {
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.lookups).into_iter().partition(|(at, _)| *at <= now);
        self.lookups = later;
        for (_, question) in due {
            let facts = if self.rng.chance(self.cfg.lookup_fails) {
                Err("the management API is unreachable".to_owned())
            } else if question.queue == "rpc" {
                // Served by the broker itself (tests/sim/rpc.rs), as a declared queue would be.
                Ok(Some(QueueFacts { durable: true, exclusive: false, auto_delete: false, arguments: Vec::new(), consumers: None }))
            } else {
                Ok(self.broker.queues.get(&question.queue).map(|queue| QueueFacts {
                    durable: queue.durable,
                    exclusive: self.broker.ex.exclusive.contains_key(&question.queue),
                    auto_delete: false,
                    arguments: if queue.kind == "classic" {
                        Vec::new()
                    } else {
                        vec![("x-queue-type".to_owned(), queue.kind.clone())]
                    },
                    consumers: None,
                }))
            };
            vlog!(self, "look-up of {} answered {facts:?}", question.queue);
            self.call(|c, now| c.handle_queue_facts(now, question.id, facts));
        }
        let (due, later): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.exchange_lookups).into_iter().partition(|(at, _)| *at <= now);
        self.exchange_lookups = later;
        for (_, question) in due {
            let exists = if self.rng.chance(self.cfg.lookup_fails) {
                Err("the management API is unreachable".to_owned())
            } else {
                Ok(self.broker.ex.kinds.contains_key(&question.exchange))
            };
            vlog!(self, "look-up of exchange {} answered {exists:?}", question.exchange);
            self.call(|c, now| c.handle_exchange_facts(now, question.id, exists));
        }
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.topology_due).into_iter().partition(|(at, _)| *at <= now);
        self.topology_due = later;
        for (_, link) in due {
            vlog!(self, "exchanges declared again for {link}");
            self.call(|c, now| c.handle_topology_recovered(now, link));
        }
    }

    /// Lets simulated time pass, with everything that happens meanwhile.
    pub(crate) fn run_until(&mut self, target: Duration) {
        let mut rounds = 0u32;
        while let Some(t) = self.next_due() {
            if t > target {
                break;
            }
            if t > self.now {
                self.now = t;
            }
            self.process_due();
            self.check_live();
            rounds += 1;
            if rounds > 200_000 {
                fail!(self, "simulated time does not advance");
            }
        }
        self.now = self.now.max(target);
        self.check_live();
    }

    pub(crate) fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        self.run_until(target);
    }

    /// Delivers one packet somewhere, ahead of its time; `false` when none can go.
    pub(crate) fn deliver_one_random(&mut self) -> bool {
        let choices: Vec<(LinkId, bool)> = self
            .socks
            .iter()
            .flat_map(|(link, s)| {
                let to_client = s.state == SockState::Open && !s.to_client.is_empty();
                let to_broker = self.can_reach_broker(s);
                [(to_client, (*link, true)), (to_broker, (*link, false))]
            })
            .filter(|(ok, _)| *ok)
            .map(|(_, c)| c)
            .collect();
        if choices.is_empty() {
            return false;
        }
        let (link, to_client) = choices[self.rng.below(choices.len() as u64) as usize];
        if to_client {
            self.deliver_to_client(link);
        } else {
            self.deliver_to_broker(link);
        }
        true
    }

    /// Delivers everything that can go now.
    pub(crate) fn deliver_all(&mut self) {
        let mut n = 0;
        while self.deliver_one_random() {
            n += 1;
            if n > 1_000_000 {
                fail!(self, "the network never drains");
            }
        }
        self.drain_acks();
    }

    pub(crate) fn network_idle(&self) -> bool {
        self.socks.values().all(|s| s.to_client.is_empty() && s.to_broker.is_empty())
    }

}
