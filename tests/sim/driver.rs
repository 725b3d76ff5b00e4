//! The simulated driver: it calls into the core, carries out what the core
//! asks (sockets, timers, look-ups, credentials) and reads each consumer.

use super::*;

impl Sim {
    pub(crate) fn new(seed: u64, cfg: Config, verbose: bool) -> Sim {
        let urls: Vec<String> = (0..cfg.urls).map(|i| format!("ws://node{i}.sim:15674/ws")).collect();
        let options = ConnectOptions::new("/").with_credentials("guest", "guest");
        let settings = ReliableOptions {
            reconnect: cfg.reconnect,
            outbox: cfg.outbox,
            window: cfg.window,
            max_frame: MAX_FRAME,
            limits: Limits::default(),
            pacing: cfg.pacing,
            ask_credentials: cfg.creds.is_some(),
            credentials_timeout: CREDS_TIMEOUT,
            ..ReliableOptions::default()
        };
        let mut core = Core::new(urls.clone(), options, settings, seed);
        if cfg.topology {
            core.exchange_declared(ExchangeSpec { exchange: "logs".into(), kind: "fanout".into(), durable: false, auto_delete: false });
            core.queue_bound(BindingSpec { queue: "q".into(), exchange: "logs".into(), routing_key: String::new() });
        }
        let mut broker = Broker::new(seed, cfg.lose_error);
        broker.close_at_expiry = cfg.creds.is_some_and(|c| c.close_at_expiry);
        Sim {
            seed,
            step: 0,
            verbose,
            rng: Rng::new(seed),
            broker,
            cfg,
            urls,
            now: Duration::ZERO,
            core,
            socks: BTreeMap::new(),
            timer: None,
            alarm: Alarm::default(),
            next_tick: None,
            fires_now: (Duration::ZERO, 0),
            stop_called: false,
            stopped: None,
            retry_at: None,
            healing: false,
            next_tag: 0,
            next_queue: 0,
            pubs: HashMap::new(),
            body_len: HashMap::new(),
            consumers: BTreeMap::new(),
            held: Vec::new(),
            settled: Vec::new(),
            to_ack: Vec::new(),
            declares: HashMap::new(),
            delivered: HashSet::new(),
            unmarked: HashMap::new(),
            taken_by: HashMap::new(),
            original_link: HashMap::new(),
            disconnected: HashSet::new(),
            stream_unmarked: HashMap::new(),
            last_url: None,
            confirmed_pending: HashSet::new(),
            sub_map: HashMap::new(),
            queued_subs: HashMap::new(),
            arrived_broker_acked: HashMap::new(),
            readable: BTreeSet::new(),
            waiting: VecDeque::new(),
            lookups: Vec::new(),
            exchange_lookups: Vec::new(),
            topology_due: Vec::new(),
            creds_due: Vec::new(),
            renewing: HashSet::new(),
            renewed: HashSet::new(),
            took_over: Vec::new(),
            last_pump: (0, 0),
            stats: Stats::default(),
            record: false,
            events: Vec::new(),
            transmits: Vec::new(),
            actions: Vec::new(),
            taken: Vec::new(),
            rpc_rng: Rng::new(seed ^ 0x5250_4300),
            calls: HashMap::new(),
            early_calls: Vec::new(),
            ex: sim_exchanges::SimExchanges::new(seed),
            excl: sim_exclusive::SimExclusive::new(seed),
        }
    }

    // ---------------------------------------------------------------- driving the core

    /// Calls into the core, then carries out everything it asks.
    pub(crate) fn call<R>(&mut self, f: impl FnOnce(&mut Core, Duration) -> R) -> R {
        let before: Vec<ConsumerKey> = self.core.consumers().collect();
        // Pacing may have held bytes that this call's drain writes: not the call's.
        let held = self.core.has_transmits();
        let result = f(&mut self.core, self.now);
        self.pump(Ctx { before, ..Ctx::default() });
        if held {
            self.last_pump.0 = 0;
        }
        self.read_fast();
        result
    }

    /// Fast readers take what became readable at once.
    pub(crate) fn read_fast(&mut self) {
        loop {
            let fast = self.readable.iter().copied().find(|key| self.consumers.get(key).is_some_and(|r| !r.slow));
            let Some(key) = fast else { return };
            self.read(key, usize::MAX);
        }
    }

    /// `key`'s reader takes up to `most` deliveries (or sees its end).
    pub(crate) fn read(&mut self, key: ConsumerKey, most: usize) {
        let mut taken = 0;
        while taken < most {
            let before: Vec<ConsumerKey> = self.core.consumers().collect();
            let result = self.core.take_delivery(self.now, key);
            match result {
                Taken::Delivery { delivery, acker } => {
                    taken += 1;
                    self.on_delivery(key, delivery, acker);
                    // An auto-ack take may earn an ACK.
                    self.pump(Ctx { before, ..Ctx::default() });
                }
                Taken::Empty => {
                    self.readable.remove(&key);
                    return;
                }
                Taken::Ended(error) => {
                    self.readable.remove(&key);
                    self.on_end(key, error);
                    return;
                }
            }
        }
    }

    /// A consumer's reader saw its end.
    pub(crate) fn on_end(&mut self, key: ConsumerKey, error: Option<ConsumeError>) {
        let Some(rec) = self.consumers.get(&key) else { fail!(self, "the end of unknown {key:?}") };
        match &error {
            None if rec.cancel_requested || self.over() => {}
            Some(ConsumeError::Refused(_) | ConsumeError::CancelledByBroker(_)) if rec.failed => {}
            _ => fail!(self, "{key:?} ended with {error:?} ({rec:?})"),
        }
    }

    pub(crate) fn pump(&mut self, mut ctx: Ctx) {
        self.learn_subscriptions();
        loop {
            let mut progress = false;
            while let Some(action) = self.core.poll_action() {
                progress = true;
                self.exec_action(action);
            }
            let mut buf = Vec::new();
            while let Some(link) = self.core.poll_transmit(self.now, &mut buf) {
                progress = true;
                self.on_transmit(link, std::mem::take(&mut buf), &mut ctx);
            }
            while let Some(event) = self.core.poll_event() {
                progress = true;
                self.on_event(event, &mut ctx);
            }
            if !progress {
                break;
            }
        }
        self.after_pump(ctx);
    }

    /// After a drain: the driver (re)arms its page timer as the core's `Alarm`
    /// says; the simulated browser fires it late by up to `jitter`, early by up to
    /// `early`, and at once for a delay above 2^31 - 1 ms, as browsers do.
    pub(crate) fn refresh_timer(&mut self) {
        if self.cfg.ticker && self.next_tick.is_none() && self.core.poll_timeout().is_some() {
            self.next_tick = Some(self.now + ms(250));
        }
        if !self.cfg.page_timer {
            return;
        }
        let Some(delay) = self.alarm.arm(self.now, self.core.poll_timeout()) else { return };
        // What browsers take, said outright rather than by Burrow's MAX_DELAY.
        let longest = Duration::from_millis(2_147_483_647);
        if delay > longest {
            fail!(self, "the driver was told to arm a timer for {delay:?}, which a browser fires at once");
        }
        let browser = if delay > longest { Duration::ZERO } else { delay };
        let late = ms(self.rng.below(self.cfg.jitter + 1));
        let early = ms(self.rng.below(self.cfg.early + 1));
        self.timer = Some((self.now + browser + late).saturating_sub(early).max(self.now));
    }

    pub(crate) fn fire_timer(&mut self) {
        if self.timer.take().is_none() {
            return;
        }
        // A timer that fires again and again at one instant would spin the page.
        self.fires_now = if self.fires_now.0 == self.now { (self.now, self.fires_now.1 + 1) } else { (self.now, 1) };
        if self.fires_now.1 > 50 {
            fail!(self, "the driver's timer fired 50 times at {:?}: it spins", self.now);
        }
        vlog!(self, "timer (next deadline {:?})", self.core.poll_timeout());
        if self.core.poll_timeout().is_some_and(|at| at > self.now) {
            self.stats.early_timers += 1;
        }
        self.alarm.fired();
        self.call(|c, now| c.handle_timeout(now));
        if self.core.poll_timeout().is_some_and(|next| next < self.now) {
            fail!(self, "handle_timeout({:?}) left a deadline in the past: a driver would spin", self.now);
        }
    }

    /// The worker ticks: the core is woken when a deadline passed.
    pub(crate) fn tick(&mut self) {
        self.next_tick = self.core.poll_timeout().map(|_| self.now + ms(250));
        if self.core.poll_timeout().is_some_and(|at| at <= self.now) {
            vlog!(self, "tick");
            self.call(|c, now| c.handle_timeout(now));
        }
    }

    pub(crate) fn exec_action(&mut self, action: Action) {
        vlog!(self, "action {action:?}");
        if self.record {
            self.actions.push((self.now, action.clone()));
        }
        match action {
            Action::Open { link, url } => {
                if self.stop_called || self.stopped.is_some() {
                    fail!(self, "Open {link} after stop()");
                }
                if !self.urls.contains(&url) {
                    fail!(self, "Open to unknown URL {url}");
                }
                if self.socks.contains_key(&link) {
                    fail!(self, "Open of {link} twice");
                }
                let node = self.urls.iter().position(|u| *u == url).unwrap_or(0);
                let down = self.broker.down(self.now) || self.broker.node_down(node, self.now);
                let delay = if down {
                    ms(self.rng.range(0, 20))
                } else {
                    ms(self.rng.range(self.cfg.open_delay.0, self.cfg.open_delay.1))
                };
                self.socks.insert(
                    link,
                    Sock {
                        state: SockState::Opening { at: self.now + delay, fail: down },
                        to_broker: VecDeque::new(),
                        to_client: VecDeque::new(),
                        broker_gone: false,
                        created_after_stop: self.stop_called,
                        close_ignored: false,
                        tap: Decoder::new(Limits::default()),
                        inbound: Decoder::new(Limits::default()),
                        hb_since: None,
                        hb_interval: Duration::ZERO,
                        node,
                        disconnect_written: false,
                        cut: false,
                    },
                );
            }
            Action::Credentials { id, url } => {
                if self.stop_called || self.stopped.is_some() {
                    fail!(self, "credentials asked for after stop()");
                }
                if !self.urls.contains(&url) {
                    fail!(self, "credentials for unknown URL {url}");
                }
                self.ask_credentials(id);
            }
            Action::LookUp(question) => {
                if !self.urls.contains(&question.url) || question.queue.is_empty() || question.vhost != "/" {
                    fail!(self, "a look-up of {question:?}");
                }
                self.stats.lookups += 1;
                let due = self.now + ms(self.rng.below(self.cfg.lookup_delay + 1));
                self.lookups.push((due, question));
            }
            Action::ExchangeLookUp(question) => {
                if !self.urls.contains(&question.url) || question.exchange.is_empty() || question.vhost != "/" {
                    fail!(self, "a look-up of {question:?}");
                }
                self.stats.lookups += 1;
                let due = self.now + ms(self.rng.below(self.cfg.lookup_delay + 1));
                self.exchange_lookups.push((due, question));
            }
            // The simulated broker's exchanges exist throughout: declaring them
            // again only takes time, or never answers (the core's timeout).
            Action::RecoverTopology(recovery) => {
                if !self.cfg.topology || !self.urls.contains(&recovery.url) || recovery.vhost != "/" || recovery.exchanges.len() != 1 {
                    fail!(self, "a topology recovery of {recovery:?}");
                }
                self.stats.topology_recoveries += 1;
                if !self.rng.chance(self.cfg.lookup_fails) {
                    let due = self.now + ms(self.rng.below(self.cfg.lookup_delay + 1));
                    self.topology_due.push((due, recovery.link));
                }
            }
            Action::Close { link, code, reason } => {
                if !(code == 1000 || (3000..=4999).contains(&code)) {
                    fail!(self, "Close {link} with code {code}, which a browser refuses");
                }
                let latency = self.latency();
                let now = self.now;
                let open_despite_close = self.cfg.open_despite_close;
                let Some(sock) = self.socks.get_mut(&link) else {
                    fail!(self, "Close of unknown {link} ({reason})");
                };
                sock.hb_since = None;
                match sock.state {
                    SockState::Opening { fail, .. } if open_despite_close && !fail && !sock.close_ignored => {
                        // The socket was already opening: it opens anyway, and the
                        // driver reports it.
                        sock.close_ignored = true;
                        self.stats.ignored_closes += 1;
                    }
                    SockState::Opening { .. } => sock.state = SockState::Dead,
                    SockState::Open => {
                        sock.to_client.clear();
                        if sock.broker_gone {
                            sock.state = SockState::Dead;
                        } else {
                            sock.state = SockState::ClientClosed;
                            let due = sock.to_broker.back().map_or(now, |p| p.due).max(now + latency);
                            sock.to_broker
                                .push_back(Packet { due, payload: Payload::Close(SocketClose::new(code, reason)) });
                        }
                    }
                    SockState::ClientClosed | SockState::Dead => {}
                }
            }
        }
    }

    pub(crate) fn latency(&mut self) -> Duration {
        ms(self.rng.below(self.cfg.latency + 1))
    }

    pub(crate) fn on_transmit(&mut self, link: LinkId, bytes: Vec<u8>, ctx: &mut Ctx) {
        ctx.transmitted += 1;
        let now = self.now;
        let latency = self.latency();
        let tolerance = self.wake_tolerance();
        let stop_called = self.stop_called;
        let Some(sock) = self.socks.get_mut(&link) else {
            fail!(self, "wrote to unknown {link}");
        };
        if sock.state != SockState::Open {
            let state = sock.state;
            fail!(self, "wrote {} bytes to {link}, which is {state:?}", bytes.len());
        }
        sock.tap.push(&bytes);
        let mut items = Vec::new();
        loop {
            match sock.tap.next_item() {
                Ok(Some(item)) => items.push(item),
                Ok(None) => break,
                Err(error) => fail!(self, "the client wrote bytes that do not decode: {error}"),
            }
        }
        let created_after_stop = sock.created_after_stop;
        let mut retiring_disconnect = false;
        // Pacing may hold frames queued before stop() until after it; never after
        // the DISCONNECT.
        let paced = self.cfg.pacing != Pacing::off();
        for item in &items {
            let Decoded::Frame(frame) = item else { continue };
            if matches!(frame.command, Command::Connect | Command::Stomp) && (stop_called || created_after_stop) {
                fail!(self, "CONNECT on {link} after stop()");
            }
            if stop_called && frame.command != Command::Disconnect && (!paced || sock.disconnect_written) {
                fail!(self, "{} sent on {link} after stop()", frame.command);
            }
            if frame.command == Command::Send && frame.header(burrow::rabbit::RESENT_HEADER).is_none() {
                if let Some(tag) = parse_tag(&frame.body) {
                    self.original_link.entry(tag).or_insert(link);
                }
            }
            if frame.command == Command::Disconnect {
                self.disconnected.insert(link);
                sock.disconnect_written = true;
                retiring_disconnect |= self.core.retiring_link() == Some(link) && !stop_called;
            }
            if frame.command == Command::Subscribe {
                let id = frame.header("id").unwrap_or_default().to_owned();
                let destination = frame.header("destination").unwrap_or_default().to_owned();
                let offset = frame.header("x-stream-offset").map(str::to_owned);
                ctx.subscribes.push((link, id, destination, offset));
            }
        }
        // Invariant 8: no gap longer than the agreed interval between sends.
        if let Some(last) = sock.hb_since {
            let gap = now.saturating_sub(last);
            if gap > sock.hb_interval + tolerance {
                let interval = sock.hb_interval;
                fail!(self, "the client was silent on {link} for {gap:?} (heart-beat every {interval:?})");
            }
            sock.hb_since = Some(now);
        }
        if retiring_disconnect {
            self.check_subscribed_first(link);
        }
        vlog!(self, "{link} > {}", describe_items(&items));
        if self.record {
            self.transmits.push((now, link, items.clone()));
        }
        let Some(sock) = self.socks.get_mut(&link) else { return };
        if sock.broker_gone {
            return;
        }
        let due = sock.to_broker.back().map_or(now, |p| p.due).max(now + latency);
        sock.to_broker.push_back(Packet { due, payload: Payload::Items(items) });
    }

}
