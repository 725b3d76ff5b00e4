//! What the core reports, checked as it comes: the invariants on each event
//! and delivery.

use super::*;

impl Sim {
    pub(crate) fn on_event(&mut self, event: ReliableEvent, ctx: &mut Ctx) {
        ctx.events += 1;
        vlog!(self, "event {}", short_event(&event));
        if self.stopped.is_some() {
            fail!(self, "an event after Stopped: {event:?}");
        }
        if self.record {
            self.events.push((self.now, event.clone()));
        }
        match event {
            ReliableEvent::Connection(ConnectionEvent::Connecting { url, .. }) => {
                if !self.urls.contains(&url) {
                    fail!(self, "Connecting to unknown URL {url}");
                }
                if let Some(retry_at) = self.retry_at.take() {
                    if self.now < retry_at {
                        fail!(self, "reconnected at {:?}, before the announced {retry_at:?}", self.now);
                    }
                }
            }
            ReliableEvent::Connection(ConnectionEvent::Connected { link, info, url }) => {
                self.stats.connects += 1;
                if self.last_url.as_ref().is_some_and(|last| *last != url) {
                    self.stats.failovers += 1;
                }
                self.last_url = Some(url);
                if info.version != "1.2" {
                    fail!(self, "connected with version {}", info.version);
                }
                let now = self.now;
                let Some(sock) = self.socks.get_mut(&link) else { fail!(self, "Connected on unknown {link}") };
                if sock.state != SockState::Open {
                    let state = sock.state;
                    fail!(self, "Connected on {link}, which is {state:?}");
                }
                if !info.heart_beat.outgoing.is_zero() {
                    sock.hb_since = Some(now);
                    sock.hb_interval = info.heart_beat.outgoing;
                }
                ctx.connected = Some(link);
            }
            ReliableEvent::Connection(ConnectionEvent::Reconnecting { reason, retry_at, .. }) => {
                match reason {
                    CloseReason::Credentials(_) => self.stats.credentials_failed += 1,
                    CloseReason::TokenExpired(_) if self.cfg.creds.is_none() => {
                        fail!(self, "an expired token retried without a provider")
                    }
                    CloseReason::HeartBeatTimeout { .. } => self.stats.heartbeat_timeouts += 1,
                    CloseReason::ConnectTimeout(_) => self.stats.connect_timeouts += 1,
                    _ => {}
                }
                if retry_at < self.now {
                    fail!(self, "a retry announced in the past ({retry_at:?})");
                }
                self.retry_at = Some(retry_at);
            }
            ReliableEvent::Readable(key) => {
                if !self.consumers.contains_key(&key) {
                    fail!(self, "Readable({key:?}) of no consumer");
                }
                self.readable.insert(key);
            }
            ReliableEvent::Admitted(id) => {
                let Some(publish) = self.pubs.get_mut(&id) else { fail!(self, "Admitted({id}) of no publish") };
                if !publish.waiting || publish.outcome.is_some() {
                    fail!(self, "Admitted({id}) of a publish that did not wait ({publish:?})");
                }
                publish.waiting = false;
                if self.waiting.pop_front() != Some(id) {
                    fail!(self, "Admitted({id}) out of the order the publishers came in");
                }
            }
            ReliableEvent::Confirmed(id) => {
                self.stats.confirmed += 1;
                let Some(publish) = self.pubs.get_mut(&id) else { fail!(self, "Confirmed({id}) of no publish") };
                if let Some(outcome) = &publish.outcome {
                    fail!(self, "{id} confirmed after {outcome:?}");
                }
                if publish.waiting {
                    fail!(self, "{id} confirmed while it still waited for room");
                }
                publish.outcome = Some(Outcome::Confirmed);
                let (tag, kind) = (publish.tag, publish.kind);
                match kind {
                    PubKind::MissingExchange => fail!(self, "m-{tag}, published to a missing exchange, was confirmed"),
                    PubKind::Unrouted | PubKind::Exchange => {}
                    PubKind::Exclusive => self.check_exclusive_confirmed(tag, false),
                    PubKind::Stream => {
                        if self.broker.copies_of(tag) == 0 {
                            fail!(self, "m-{tag} was confirmed but the stream does not have it");
                        }
                    }
                    PubKind::Valid => {
                        // Invariant 1: a confirmed message is in the broker, or was delivered.
                        if !self.delivered.contains(&tag) {
                            if self.broker.copies_of(tag) == 0 && !self.broker.forgotten.contains(&tag) {
                                fail!(self, "m-{tag} was confirmed but the broker does not have it");
                            }
                            self.confirmed_pending.insert(tag);
                        }
                    }
                }
            }
            ReliableEvent::PublishFailed { publish, error } => {
                let Some(p) = self.pubs.get_mut(&publish) else {
                    fail!(self, "PublishFailed({publish}) of no publish")
                };
                if let Some(outcome) = &p.outcome {
                    fail!(self, "{publish} failed after {outcome:?}");
                }
                let (tag, kind) = (p.tag, p.kind);
                match (&error, kind) {
                    (PublishError::Refused(_), PubKind::MissingExchange) => {
                        p.outcome = Some(Outcome::Refused);
                        self.stats.refused_publishes += 1;
                    }
                    (PublishError::Stopped | PublishError::StoppedUnsent, _)
                        if self.stop_called
                            || self.broker.refuse_connect
                            || !self.cfg.reconnect
                            || (self.broker.expired_refusals > 0 && self.cfg.creds.is_none()) =>
                    {
                        if p.waiting {
                            p.waiting = false;
                            self.waiting.retain(|w| *w != publish);
                        }
                        p.outcome = Some(Outcome::Stopped);
                        self.stats.failed_on_stop += 1;
                    }
                    _ => fail!(self, "m-{tag} ({kind:?}) failed: {error}"),
                }
            }
            ReliableEvent::Connection(ConnectionEvent::Renewed { old, link, info, .. }) => {
                // Make-before-break: the new link is current, the old one retires.
                self.stats.renewals_switched += 1;
                if self.core.current_link() != Some(link) || self.core.retiring_link() != Some(old) {
                    fail!(self, "Renewed {old} -> {link}, but current {:?}, retiring {:?}", self.core.current_link(), self.core.retiring_link());
                }
                // Its consumers were all subscribed there before it took over (a
                // transient exchange subscription moves after the old link, with a gap).
                let transient = |key: &ConsumerKey| {
                    self.consumers.get(key).is_some_and(|r| r.exchange.as_ref().is_some_and(|e| e.durable_queue.is_none()))
                };
                // A consumer of an exclusive queue waits for the old link to let it
                // go; so does a stream consumer from `next` or `last` that had been
                // handed nothing when the new link connected (invariant 9 checks
                // where it resumes).
                let exclusive = |key: &ConsumerKey| {
                    self.consumers.get(key).is_some_and(|r| {
                        let relative =
                            r.stream.as_ref().is_some_and(|st| matches!(st.start, StreamOffset::Next | StreamOffset::Last));
                        self.excl.is_exclusive(&r.queue) || relative
                    })
                };
                let missing: Vec<ConsumerKey> = self
                    .core
                    .consumers()
                    .filter(|k| self.core.consumer_tag(*k).is_none() && !transient(k) && !exclusive(k))
                    .collect();
                if !missing.is_empty() {
                    fail!(self, "Renewed to {link} with consumers {missing:?} not subscribed there");
                }
                // Make-before-break: the broker has each of them there already.
                self.took_over.clear();
                for key in self.core.consumers().collect::<Vec<_>>() {
                    let Some(sub) = self.core.consumer_tag(key).map(|t| t.0.clone()) else { continue };
                    let on_broker = self.broker.conns.get(&link).is_some_and(|c| c.subs.contains_key(&sub));
                    if !on_broker && self.broker.conns.contains_key(&link) {
                        fail!(self, "Renewed to {link} before the broker had {key:?}'s subscription {sub} there");
                    }
                    self.took_over.push((link, key, sub));
                }
                self.renewed.insert(link);
                let now = self.now;
                let Some(sock) = self.socks.get_mut(&link) else { fail!(self, "Renewed to unknown {link}") };
                if !info.heart_beat.outgoing.is_zero() {
                    sock.hb_since = Some(now);
                    sock.hb_interval = info.heart_beat.outgoing;
                }
            }
            ReliableEvent::Connection(ConnectionEvent::Renewing { link, .. }) => {
                self.renewing.insert(link);
                if self.cfg.creds.is_none_or(|c| c.lifetime.is_none()) {
                    fail!(self, "a planned reconnect without credentials that expire");
                }
                self.stats.renewals += 1;
            }
            ReliableEvent::Connection(ConnectionEvent::ConsumerReady(key)) => {
                let Some(rec) = self.consumers.get(&key) else { fail!(self, "ConsumerReady({key:?}) of no consumer") };
                if rec.cancel_requested || rec.failed {
                    fail!(self, "ConsumerReady({key:?}) after it ended ({rec:?})");
                }
                self.on_exchange_ready(key);
            }
            ReliableEvent::Connection(ConnectionEvent::ConsumerFailed { consumer, error }) => {
                let Some(rec) = self.consumers.get_mut(&consumer) else { fail!(self, "ConsumerFailed of no consumer") };
                if rec.failed || rec.cancelled {
                    fail!(self, "ConsumerFailed({consumer:?}) after it ended");
                }
                rec.failed = true;
                let queue = rec.queue.clone();
                match (&error, queue.as_str()) {
                    (ConsumeError::Refused(_), "missing") => self.stats.consumer_failed += 1,
                    (ConsumeError::Refused(_), queue) if self.excl.may_fail(queue) => self.stats.consumer_failed += 1,
                    (ConsumeError::CancelledByBroker(_), _) if self.broker.cancelled_subscriptions > 0 => {}
                    // A one-off connection has no second connection to tell a
                    // refusal from a close whose words were lost (a restart's
                    // ERROR that 3.10.8 dropped): its pending subscription is blamed.
                    (ConsumeError::Refused(refusal), _)
                        if !self.cfg.reconnect && refusal.detail.contains("without saying why") =>
                    {
                        self.stats.consumer_failed += 1
                    }
                    _ => fail!(self, "{consumer:?} on {queue} failed: {error}"),
                }
            }
            ReliableEvent::ConsumerCancelled(key) => {
                let Some(rec) = self.consumers.get_mut(&key) else { fail!(self, "ConsumerCancelled of no consumer") };
                if !rec.cancel_requested || rec.cancelled || rec.failed {
                    fail!(self, "ConsumerCancelled({key:?}) unasked or twice ({rec:?})");
                }
                rec.cancelled = true;
                // Invariant 4: no subscription of it left on a connection the client uses.
                for ((link, sub), k) in &self.sub_map {
                    if *k != key {
                        continue;
                    }
                    let live = self.socks.get(link).is_some_and(|s| s.state == SockState::Open && !s.broker_gone);
                    let subscribed = self.broker.conns.get(link).is_some_and(|c| c.subs.contains_key(sub));
                    if live && subscribed {
                        fail!(self, "ConsumerCancelled({key:?}) but the broker still has {sub} on {link}");
                    }
                }
            }
            ReliableEvent::CallDone { call, result } => self.on_call_done(call, result),
            ReliableEvent::Declared { request, result } => {
                let Some(rec) = self.declares.get_mut(&request) else { fail!(self, "Declared of no declare") };
                if rec.done {
                    fail!(self, "Declared({request:?}) twice");
                }
                rec.done = true;
                let over = self.over();
                let Some(rec) = self.declares.get_mut(&request) else { fail!(self, "Declared of no declare") };
                match (rec.expect, &result) {
                    (_, Err(DeclareError::Closed(_))) => {
                        self.stats.declares_closed += 1;
                        self.excl.declare_failed(request);
                    }
                    // A side connection's declare, when stop() ended it.
                    (_, Err(DeclareError::Stopped)) if over => self.excl.declare_failed(request),
                    (DeclareExpect::Ok, Ok(())) => {}
                    (DeclareExpect::Refused, Err(DeclareError::Refused(_))) => {
                        self.stats.declares_refused += 1;
                        self.excl.declare_failed(request);
                    }
                    (expect, result) => fail!(self, "declare {request:?} (expected {expect:?}) answered {result:?}"),
                }
            }
            ReliableEvent::Connection(ConnectionEvent::PublishesHeldBack { since, in_flight }) => {
                self.stats.held_back += 1;
                vlog!(self, "publishes held back since {since:?} ({in_flight} in flight)");
                if in_flight == 0 || self.now < since + HELD_BACK_AFTER {
                    fail!(self, "held back said with {in_flight} in flight, since {since:?}");
                }
            }
            ReliableEvent::Connection(ConnectionEvent::PublishesFlowing { held_for }) => {
                vlog!(self, "publishes flowing after {held_for:?}");
            }
            ReliableEvent::Connection(ConnectionEvent::OutboxChanged { messages, in_flight }) => {
                // Said last in a drain: the counts are the outbox's as the driver reads it.
                let outbox = self.core.outbox();
                if (messages, in_flight) != (outbox.len(), outbox.in_flight()) {
                    fail!(self, "OutboxChanged said {messages} ({in_flight} in flight), the outbox has {} ({})", outbox.len(), outbox.in_flight());
                }
            }
            ReliableEvent::Connection(ConnectionEvent::SubscriptionGap { consumer, exchange, routing_key }) => {
                self.on_gap(consumer, &exchange, &routing_key);
            }
            ReliableEvent::Connection(ConnectionEvent::Warning(words @ burrow::reliable::Warning::RenewalFailed(_))) => {
                self.stats.renewals_failed += 1;
                vlog!(self, "warning: {words}");
            }
            ReliableEvent::Connection(ConnectionEvent::Warning(words @ burrow::reliable::Warning::NotDeclaredAgain { .. })) => {
                // A queue declared again after a reconnect, refused or cut without words.
                self.stats.not_declared_again += 1;
                vlog!(self, "warning: {words}");
            }
            ReliableEvent::Connection(ConnectionEvent::Warning(words @ burrow::reliable::Warning::ExclusiveQueueHeld { .. })) => {
                self.stats.exclusive_held += 1;
                vlog!(self, "warning: {words}");
            }
            ReliableEvent::Connection(ConnectionEvent::Warning(words)) => {
                self.stats.warnings += 1;
                vlog!(self, "warning: {words}");
            }
            ReliableEvent::Connection(ConnectionEvent::Stopped(reason)) => {
                match &reason {
                    StopReason::Requested if self.stop_called => self.stats.stops += 1,
                    StopReason::Refused(CloseReason::ConnectRefused(_)) if self.broker.refuse_connect => {
                        self.stats.connect_refusals += 1;
                    }
                    // Fixed credentials whose token expired: nothing else to send.
                    StopReason::Refused(CloseReason::TokenExpired(_))
                        if self.broker.expired_refusals > 0 && self.cfg.creds.is_none() =>
                    {
                        self.stats.connect_refusals += 1;
                    }
                    // A one-off connection ends with its first close.
                    StopReason::Closed(_) | StopReason::Refused(_) if !self.cfg.reconnect => self.stats.one_off_stops += 1,
                    other => fail!(self, "Stopped({other:?}) without stop() or a refused CONNECT"),
                }
                self.stopped = Some(reason);
            }
        }
    }

    /// Invariant 2's order: an unmarked copy is the first `consumer`'s reader
    /// takes, unless the earlier copies were resends that overtook their original
    /// on its way over a connection lost unplanned (sent before the loss was
    /// known, no client can order those two).
    pub(crate) fn check_unmarked_first(&mut self, consumer: ConsumerKey, tag: u64) {
        let overtaken = self.original_link.get(&tag).is_some_and(|link| !self.disconnected.contains(link));
        match self.taken_by.get(&(consumer, tag)) {
            Some(true) if overtaken => self.stats.resends_ahead_of_originals += 1,
            Some(_) => fail!(self, "m-{tag} came unmarked to {consumer:?} after an earlier copy"),
            None => {}
        }
    }

    /// A copy of `tag` reached `consumer`'s reader (see `check_unmarked_first`).
    pub(crate) fn note_taken(&mut self, consumer: ConsumerKey, tag: u64, delivery: &burrow::rabbit::Delivery) {
        let resent_only = delivery.resent && !delivery.redelivered;
        *self.taken_by.entry((consumer, tag)).or_insert(true) &= resent_only;
    }

    /// A delivery the reader took: every check a delivery gets.
    pub(crate) fn on_delivery(&mut self, consumer: ConsumerKey, delivery: burrow::rabbit::Delivery, acker: Option<Acker>) {
        self.stats.deliveries += 1;
        let Some(tag) = parse_tag(&delivery.body) else { fail!(self, "a delivery of a body we never sent") };
        if self.body_len.get(&tag) != Some(&delivery.body.len()) {
            fail!(self, "m-{tag} arrived with a body of {} bytes", delivery.body.len());
        }
        let Some(rec) = self.consumers.get(&consumer) else {
            fail!(self, "a delivery for unknown {consumer:?}")
        };
        if rec.cancel_requested || rec.failed {
            fail!(self, "m-{tag} delivered to {consumer:?} after it ended ({rec:?})");
        }
        let from_exchange = rec.exchange.is_some();
        if !from_exchange && rec.queue != "q" && rec.queue != "s" && !self.excl.is_exclusive(&rec.queue) {
            fail!(self, "m-{tag} delivered to a consumer of {}", rec.queue);
        }
        if acker.is_some() == rec.auto {
            fail!(self, "m-{tag}: acker {acker:?} for a consumer with auto_ack {}", rec.auto);
        }
        if let Some(acker) = &acker {
            // A renewal's old and new links deliver beside the current one.
            let live = [self.core.current_link(), self.core.successor_link(), self.core.retiring_link()];
            if !live.contains(&Some(acker.link())) || acker.consumer() != consumer {
                fail!(self, "m-{tag}: acker {acker:?} is not of a live link");
            }
            if live[0] != Some(acker.link()) {
                self.stats.renewal_overlap_deliveries += 1;
            }
        }
        if from_exchange {
            self.on_exchange_delivery(consumer, tag, &delivery);
        } else if rec.queue == "s" {
            self.on_stream_delivery(consumer, tag, &delivery, acker.as_ref());
        } else {
            if delivery.stream_offset.is_some() || delivery.delivery_count.is_some() {
                fail!(self, "m-{tag} from a classic queue with a stream offset or delivery count");
            }
            // Invariant 2: one unmarked delivery per message at most, and it is
            // the first: a reader that has seen a marked copy must be told again.
            if delivery.possibly_duplicate() {
                self.stats.possible_duplicates += 1;
            } else {
                self.check_unmarked_first(consumer, tag);
                let count = self.unmarked.entry(tag).or_insert(0);
                *count += 1;
                if *count > 1 {
                    fail!(self, "m-{tag} was delivered twice without being marked as a possible duplicate");
                }
            }
            self.delivered.insert(tag);
            self.note_taken(consumer, tag, &delivery);
            self.confirmed_pending.remove(&tag);
        }
        if let Some(acker) = acker {
            if self.healing || self.rng.chance(self.cfg.immediate_ack) {
                self.to_ack.push(acker);
            } else {
                self.held.push(Held { acker });
            }
        }
        if self.record {
            self.taken.push((consumer, delivery));
        }
    }

    /// Notes each live consumer's subscription on the current link as the core
    /// queued it, with the stream offset it must resume at (invariant 9).
    pub(crate) fn learn_subscriptions(&mut self) {
        self.learn_subscriptions_on(self.core.current_link(), Core::consumer_tag);
        // A renewal's new link subscribes every consumer before it takes over
        // (or at once, if the old link dies first).
        if let Some(link) = self.core.successor_link() {
            self.renewed.insert(link);
        }
        self.learn_subscriptions_on(self.core.successor_link(), Core::successor_tag);
    }

    pub(crate) fn learn_subscriptions_on(
        &mut self,
        link: Option<LinkId>,
        tag_of: fn(&Core, ConsumerKey) -> Option<&burrow::client::SubscriptionId>,
    ) {
        let Some(link) = link else { return };
        let consumers: Vec<ConsumerKey> = self.core.consumers().collect();
        for key in consumers {
            let Some(tag) = tag_of(&self.core, key).map(|t| t.0.clone()) else { continue };
            if self.queued_subs.contains_key(&(link, tag.clone())) {
                continue;
            }
            let expected = self.consumers.get(&key).and_then(|r| r.stream.as_ref()).map(|st| match &st.filter {
                Some(filter) => self.filtered_resume(st, filter),
                None => st.expected_resume(),
            });
            self.queued_subs.insert((link, tag), (key, expected));
        }
    }

    pub(crate) fn after_pump(&mut self, mut ctx: Ctx) {
        self.last_pump = (ctx.transmitted, ctx.events);
        self.refresh_timer();
        // Which consumer each SUBSCRIBE is for: the live consumer whose tag it was
        // when the core queued it (pacing may write it later).
        for (link, id, destination, offset) in std::mem::take(&mut ctx.subscribes) {
            let Some((key, expected)) = self.queued_subs.get(&(link, id.clone())).cloned() else {
                fail!(self, "zombie: SUBSCRIBE {id} on {link} that no live consumer made");
            };
            let Some(rec) = self.consumers.get(&key) else { fail!(self, "SUBSCRIBE for unknown {key:?}") };
            let wanted = match &rec.exchange {
                Some(sub) => ConsumeFrom::Exchange(sub.clone()).destination().unwrap_or_default(),
                None => format!("/amq/queue/{}", rec.queue),
            };
            if destination != wanted {
                fail!(self, "SUBSCRIBE for {key:?} to {destination}, not its queue {}", rec.queue);
            }
            // Invariant 9: a stream consumer resumes exactly after what it acked.
            if offset != expected && !filtered_resume_ok(offset.as_deref(), expected.as_deref()) {
                fail!(self, "SUBSCRIBE for {key:?} with x-stream-offset {offset:?}, expected {expected:?}");
            }
            if rec.stream.as_ref().is_some_and(|st| st.first.is_some()) {
                self.stats.stream_resumes += 1;
            }
            self.sub_map.insert((link, id), key);
        }
        if let Some(link) = ctx.connected {
            // A consumer on trial subscribes alone, after the others; one of an
            // exclusive queue a connection that dropped may hold, once it lets go;
            // one whose queue's declare is unanswered, once it is explained.
            let mut waiting = self.waiting_for_exclusive(link);
            waiting.extend(self.waiting_for_declare());
            let restored = self.core.consumers().all(|key| {
                self.core.consumer_tag(key).is_some() || self.core.on_trial(key) || waiting.contains(&key)
            });
            if self.core.current_link() == Some(link) && self.core.is_connected() && !restored {
                fail!(self, "connected on {link} without restoring consumers {:?}", ctx.before);
            }
        }
        if self.stopped.is_some() {
            // Invariant 3/5: once Stopped, the core closed every socket it had.
            for (link, sock) in &self.socks {
                if matches!(sock.state, SockState::Open | SockState::Opening { .. }) && !sock.close_ignored {
                    fail!(self, "Stopped, but {link} is still {:?}", sock.state);
                }
            }
            if !self.core.outbox().is_empty() {
                fail!(self, "Stopped with {} messages left in the outbox", self.core.outbox().len());
            }
        }
        self.check_outbox();
        if !self.broker.violations.is_empty() {
            fail!(self, "the broker saw: {}", self.broker.violations.join("; "));
        }
    }

    /// How late the driver may wake the core: the page timer's lateness (and one
    /// millisecond of pacing), or the worker's tick without a page timer.
    pub(crate) fn wake_tolerance(&self) -> Duration {
        let wake = if self.cfg.page_timer { ms(self.cfg.jitter) } else { ms(250) };
        wake + self.cfg.pacing.slot + ms(1)
    }

    /// stop() was called, or the core stopped (its Stopped event may wait for a
    /// look-up that explains the refusal that ended it).
    pub(crate) fn over(&self) -> bool {
        self.stop_called || self.stopped.is_some() || self.core.phase() == Phase::Stopped
    }

    /// Invariant 11: what waits for a reader stays within the consumer's window
    /// (auto-ack consumers included), however slow the reader.
    pub(crate) fn check_buffers(&mut self) {
        for (key, rec) in &self.consumers {
            let buffered = self.core.buffered(*key);
            // Two links deliver during a renewal: two windows at most then.
            let links = if self.core.successor_link().is_some() || self.core.retiring_link().is_some() { 2 } else { 1 };
            let bound = usize::from(rec.window) * links;
            if bound > 0 && buffered > bound {
                fail!(self, "{key:?} holds {buffered} unread deliveries, over its window of {bound}");
            }
            if bound > 0 && buffered == bound {
                self.stats.full_buffers += 1;
            }
        }
    }

    /// Invariant 6.
    pub(crate) fn check_outbox(&self) {
        let outbox = self.core.outbox();
        let limits = outbox.limits();
        if outbox.len() > limits.messages || (outbox.len() > 1 && outbox.bytes() > limits.bytes) {
            fail!(self, "outbox over its limits: {} messages, {} bytes ({limits:?})", outbox.len(), outbox.bytes());
        }
        let window = self.cfg.window;
        if outbox.in_flight() > window.messages.max(1) {
            fail!(self, "{} publishes in flight, over the window of {}", outbox.in_flight(), window.messages);
        }
        if outbox.in_flight() > 1 && outbox.in_flight_bytes() > window.bytes + MAX_FRAME {
            fail!(self, "{} bytes in flight, over the window of {}", outbox.in_flight_bytes(), window.bytes);
        }
    }

}
