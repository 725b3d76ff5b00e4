//! The simulated broker: RabbitMQ 3.10.8's Web-STOMP as the core meets it
//! (frames in, frames out, queues, acks, confirms, refusals, restarts).

use super::*;

impl Broker {
    pub(crate) fn new(seed: u64, lose_error: u64) -> Self {
        let mut queues = BTreeMap::new();
        queues.insert("q".to_owned(), Queue::classic(true));
        queues.insert("s".to_owned(), Queue::stream());
        Broker {
            rng: Rng::new(seed ^ 0x0B0B_0B0B),
            queues,
            conns: BTreeMap::new(),
            next_uid: 0,
            next_ack: 0,
            next_session: 0,
            server: if seed % 2 == 0 { NEW_SERVER } else { "RabbitMQ/3.10.8" },
            ack_owner: HashMap::new(),
            copies: HashMap::new(),
            forgotten: HashSet::new(),
            ack_ids_on_auto: false,
            unpersisted: HashSet::new(),
            confirms: Vec::new(),
            slow_confirms: false,
            alarm_until: None,
            frozen_until: None,
            down_until: None,
            nodes_down: HashMap::new(),
            refuse_connect: false,
            close_at_expiry: false,
            expired_refusals: 0,
            expiry_closes: 0,
            cancelled_subscriptions: 0,
            lose_unwritten: false,
            lost_with_queue: HashSet::new(),
            lose_error,
            round_robin: HashMap::new(),
            out: Vec::new(),
            violations: Vec::new(),
            emptied: Vec::new(),
            sends_seen: HashMap::new(),
            lost_errors: 0,
            replies: Vec::new(),
            ex: sim_exchanges::BrokerExchanges::new(),
        }
    }

    pub(crate) fn frozen(&self, now: Duration) -> bool {
        self.frozen_until.is_some_and(|t| now < t)
    }

    pub(crate) fn down(&self, now: Duration) -> bool {
        self.down_until.is_some_and(|t| now < t)
    }

    pub(crate) fn node_down(&self, node: usize, now: Duration) -> bool {
        self.nodes_down.get(&node).is_some_and(|t| now < *t)
    }

    pub(crate) fn is_stream(&self, queue: &str) -> bool {
        self.queues.get(queue).is_some_and(Queue::is_stream)
    }

    pub(crate) fn copies_of(&self, tag: u64) -> u32 {
        self.copies.get(&tag).copied().unwrap_or(0)
    }

    pub(crate) fn add_copy(&mut self, tag: Option<u64>) {
        if let Some(tag) = tag {
            *self.copies.entry(tag).or_insert(0) += 1;
        }
    }

    pub(crate) fn take_copy(&mut self, tag: Option<u64>) {
        if let Some(tag) = tag {
            let count = self.copies.entry(tag).or_insert(0);
            if *count == 0 {
                self.violations.push(format!("broker bookkeeping: no copy of m-{tag} left to remove"));
                return;
            }
            *count -= 1;
            if *count == 0 {
                self.emptied.push(tag);
            }
        }
    }

    /// Copies of simulation messages the broker holds, queued or unacked.
    pub(crate) fn copies_of_any(&self) -> u32 {
        self.copies.values().sum()
    }

    pub(crate) fn unacked_total(&self) -> usize {
        self.conns.values().map(|c| c.unacked.len()).sum()
    }

    /// Unacked deliveries of subscriptions that are gone: RabbitMQ's STOMP
    /// adapter takes no ack for them, and they return when the connection closes.
    pub(crate) fn orphaned(&self, link: LinkId) -> usize {
        self.conns.get(&link).map_or(0, |c| c.unacked.values().filter(|(sub, _, _)| !c.subs.contains_key(sub)).count())
    }

    /// A socket opened: a connection waiting for CONNECT.
    pub(crate) fn open(&mut self, link: LinkId, now: Duration) {
        self.conns.insert(
            link,
            Conn {
                connected: false,
                session: String::new(),
                tick: None,
                next_tick: now,
                sent: 0,
                seen: 0,
                subs: BTreeMap::new(),
                unacked: BTreeMap::new(),
                declared: HashSet::new(),
                transactions: HashSet::new(),
                last_confirm: now,
                expires_at: None,
            },
        );
    }

    pub(crate) fn send(&mut self, link: LinkId, frame: &Frame) {
        let mut bytes = Vec::new();
        encode(frame, &mut bytes).expect("the broker's frames encode");
        // RabbitMQ ends every frame with NUL and one LF, in the same WebSocket message.
        bytes.push(b'\n');
        if let Some(conn) = self.conns.get_mut(&link) {
            conn.sent += 1;
        }
        self.out.push((link, Out::Bytes(bytes)));
    }

    pub(crate) fn receipt(&mut self, link: LinkId, frame: &Frame) {
        if let Some(receipt) = frame.header("receipt") {
            let answer = Frame::new(Command::Receipt).with_header("receipt-id", receipt);
            self.send(link, &answer);
        }
    }

    /// RabbitMQ cancels every subscription to `queue` itself (as when the queue is
    /// deleted): an ERROR `Server cancelled subscription` naming each, and the
    /// connection goes on. Their unacked messages stay with the connection.
    pub(crate) fn cancel_subscriptions(&mut self, queue: &str) {
        let mut notices = Vec::new();
        for (link, conn) in &mut self.conns {
            let subs: Vec<String> = conn.subs.iter().filter(|(_, s)| s.queue == queue).map(|(id, _)| id.clone()).collect();
            for id in subs {
                conn.subs.remove(&id);
                notices.push((*link, id));
            }
        }
        for (link, id) in notices {
            self.cancelled_subscriptions += 1;
            let error = Frame::new(Command::Error)
                .with_header("message", "Server cancelled subscription")
                .with_header("subscription", id.clone())
                .with_header("content-type", "text/plain")
                .with_header("version", "1.2")
                .with_body(format!("No more messages will be delivered for \"id='{id}'\"").into_bytes());
            self.send(link, &error);
        }
    }

    /// A refusal: ERROR (unless 3.10.8 loses it), then the socket closes with "STOMP died".
    pub(crate) fn refuse(&mut self, link: LinkId, message: &str, detail: String, always_say: bool) {
        if always_say || !self.rng.chance(self.lose_error) {
            let error = Frame::new(Command::Error)
                .with_header("message", message)
                .with_header("content-type", "text/plain")
                .with_header("version", "1.2")
                .with_body(detail.into_bytes());
            self.send(link, &error);
        } else {
            self.lost_errors += 1;
            if self.lose_unwritten {
                // 3.10.8 loses what it had not written yet with the ERROR: the
                // RECEIPTs of the frames read just before (SUBSCRIBEs sent together
                // with the fatal one), whose consumers were fine.
                self.out.retain(|(to, out)| *to != link || !matches!(out, Out::Bytes(_)));
            }
        }
        self.close(link, SocketClose::new(1000, WEB_STOMP_DIED));
    }

    pub(crate) fn close(&mut self, link: LinkId, how: SocketClose) {
        self.drop_conn(link);
        self.out.push((link, Out::Close(how)));
    }

    /// The connection is gone: its unacked messages go back to the head of their
    /// queue, marked redelivered; its subscriptions vanish.
    pub(crate) fn drop_conn(&mut self, link: LinkId) {
        let Some(conn) = self.conns.remove(&link) else { return };
        for (n, (_, queue, mut msg)) in conn.unacked.into_iter().rev() {
            if let Some(owner) = self.ack_owner.get_mut(&n) {
                owner.1 = true;
            }
            if self.is_stream(&queue) {
                // A stream keeps everything; nothing goes back.
                continue;
            }
            msg.redelivered = true;
            match self.queues.get_mut(&queue) {
                Some(q) => q.msgs.push_front(msg),
                None => self.take_copy(msg.tag),
            }
        }
        self.confirms.retain(|c| c.link != link);
        // Its temp queue is gone with it.
        self.replies.retain(|r| r.link != link);
        // And its exclusive queues, and auto-delete ones no one reads any more.
        self.drop_unused_queues(Some(link));
    }

    /// Frames (and heart-beats) that arrived on `link`.
    pub(crate) fn receive(&mut self, now: Duration, link: LinkId, items: Vec<Decoded>) {
        for item in items {
            if !self.conns.contains_key(&link) {
                // Closed by an earlier frame of this chunk: RabbitMQ reads no further.
                break;
            }
            if let Decoded::Frame(frame) = item {
                self.frame(now, link, frame);
            }
        }
        self.dispatch(now);
    }

    pub(crate) fn frame(&mut self, now: Duration, link: LinkId, frame: Frame) {
        let connected = self.conns.get(&link).is_some_and(|c| c.connected);
        let command = frame.command;
        if !connected && !matches!(command, Command::Connect | Command::Stomp) {
            self.violations.push(format!("{command} on {link} before CONNECT"));
            return;
        }
        match command {
            Command::Connect | Command::Stomp => self.on_connect(now, link, &frame),
            Command::Send => self.on_send(now, link, frame),
            Command::Subscribe if frame.header("destination").is_some_and(|d| d.starts_with("/exchange/")) => {
                self.on_exchange_subscribe(link, &frame)
            }
            Command::Subscribe => self.on_subscribe(link, &frame),
            Command::Unsubscribe => {
                let id = frame.header("id").unwrap_or_default().to_owned();
                let removed = self.conns.get_mut(&link).and_then(|c| c.subs.remove(&id));
                if removed.is_none() {
                    self.violations.push(format!("UNSUBSCRIBE of unknown subscription {id} on {link}"));
                }
                self.drop_unused_queues(None);
                self.receipt(link, &frame);
            }
            Command::Ack => self.on_ack(link, &frame, false),
            Command::Nack => self.on_ack(link, &frame, true),
            Command::Begin => {
                let tx = frame.header("transaction").unwrap_or_default().to_owned();
                if let Some(conn) = self.conns.get_mut(&link) {
                    conn.transactions.insert(tx);
                }
                self.receipt(link, &frame);
            }
            Command::Commit | Command::Abort => {
                let tx = frame.header("transaction").unwrap_or_default().to_owned();
                let known = self.conns.get_mut(&link).is_some_and(|c| c.transactions.remove(&tx));
                if !known {
                    self.violations.push(format!("{command} of unknown transaction {tx}"));
                }
                self.receipt(link, &frame);
            }
            // RabbitMQ closes at once and never sends DISCONNECT's RECEIPT.
            Command::Disconnect => self.close(link, SocketClose::new(1000, "")),
            other => self.violations.push(format!("the client sent a server frame {other}")),
        }
    }

    pub(crate) fn on_connect(&mut self, now: Duration, link: LinkId, frame: &Frame) {
        if self.conns.get(&link).is_some_and(|c| c.connected) {
            self.violations.push(format!("a second CONNECT on {link}"));
            return;
        }
        if self.refuse_connect {
            self.refuse(link, "Bad CONNECT", "Access refused for user 'guest'".to_owned(), true);
            return;
        }
        // The OAuth2 backend: an expired token is refused with the same words as any.
        let expires = frame.header("passcode").and_then(jwt_expiry).map(|exp| Duration::from_secs(exp).saturating_sub(UNIX0));
        if expires.is_some_and(|at| at <= now) {
            self.expired_refusals += 1;
            self.refuse(link, "Bad CONNECT", "Access refused for user 'guest'".to_owned(), true);
            return;
        }
        let close_at = expires.filter(|_| self.close_at_expiry);
        if let Some(conn) = self.conns.get_mut(&link) {
            conn.expires_at = close_at;
        }
        // heart-beat:cx,cy → the broker sends every cy and expects every cx, in whole
        // seconds, and says so in CONNECTED (rabbit_stomp_processor).
        let (cx, cy) = frame
            .header("heart-beat")
            .and_then(|v| v.split_once(','))
            .map(|(x, y)| (x.trim().parse::<u64>().unwrap_or(0), y.trim().parse::<u64>().unwrap_or(0)))
            .unwrap_or((0, 0));
        let (send, receive) = (cy / 1000, cx / 1000);
        self.next_session += 1;
        let session = format!("session-{}", self.next_session);
        let Some(conn) = self.conns.get_mut(&link) else { return };
        conn.connected = true;
        conn.session = session.clone();
        conn.tick = (send > 0).then(|| ms(send * 1000 / 2));
        conn.next_tick = now + ms(send * 1000 / 2);
        let connected = Frame::new(Command::Connected)
            .with_header("server", self.server)
            .with_header("session", session)
            .with_header("heart-beat", format!("{},{}", send * 1000, receive * 1000))
            .with_header("version", "1.2");
        self.send(link, &connected);
    }

    pub(crate) fn on_send(&mut self, now: Duration, link: LinkId, frame: Frame) {
        if let Some(tag) = frame.header("amqp-message-id").and_then(|t| parse_tag(t.as_bytes())) {
            *self.sends_seen.entry(tag).or_insert(0) += 1;
        }
        let destination = frame.header("destination").unwrap_or_default().to_owned();
        if destination == "/amq/queue/rpc" {
            return self.on_call(now, link, &frame);
        }
        if let Some(name) = destination.strip_prefix("/queue/") {
            // Declares the queue (once per connection), then publishes to it.
            let durable = frame.header("durable") != Some("false");
            let kind = frame.header("x-queue-type").unwrap_or("classic").to_owned();
            let first = self.conns.get_mut(&link).is_some_and(|c| c.declared.insert(name.to_owned()));
            if first {
                if kind != "classic"
                    && (!durable || frame.header("exclusive") == Some("true") || frame.header("auto-delete") == Some("true"))
                {
                    // RabbitMQ refuses these; Burrow must have refused them first.
                    self.violations.push(format!("a {kind} queue declared non-durable, exclusive or auto-delete"));
                    let detail = format!("PRECONDITION_FAILED - invalid property for queue '{name}' in vhost '/'");
                    self.refuse(link, "precondition_failed", detail, false);
                    return;
                }
                // The first argument that differs from the queue as it exists, as
                // (name, received, current).
                let inequivalent = self.queues.get(name).and_then(|q| {
                    if q.durable != durable {
                        Some(("durable", durable.to_string(), q.durable.to_string()))
                    } else if q.kind != kind {
                        Some(("x-queue-type", kind.clone(), q.kind.clone()))
                    } else {
                        None
                    }
                });
                if let Some(detail) = self.locked_by_another(link, name) {
                    self.refuse(link, "resource_locked", detail, false);
                    return;
                }
                if let Some((argument, received, current)) = inequivalent {
                    let detail = format!(
                        "PRECONDITION_FAILED - inequivalent arg '{argument}' for queue '{name}' in vhost '/': received '{received}' but current is '{current}'"
                    );
                    self.refuse(link, "precondition_failed", detail, false);
                    return;
                }
                if !self.queues.contains_key(name) {
                    let queue = if kind == "stream" { Queue::stream() } else { Queue::classic(durable) };
                    self.queues.insert(name.to_owned(), Queue { kind, ..queue });
                    self.note_exclusive(link, name, &frame);
                }
            }
            if frame.header("transaction").is_some() {
                // Published only on COMMIT; Burrow's declare always aborts.
                self.receipt(link, &frame);
                return;
            }
            let name = name.to_owned();
            self.enqueue(now, link, &name, frame);
        } else if let Some(name) = destination.strip_prefix("/amq/queue/") {
            if self.queues.contains_key(name) {
                let name = name.to_owned();
                self.enqueue(now, link, &name, frame);
            } else {
                // The default exchange drops it, and confirms at once.
                self.lost_with_queue.extend(frame.header("amqp-message-id").and_then(|t| parse_tag(t.as_bytes())));
                self.receipt(link, &frame);
            }
        } else if let Some(rest) = destination.strip_prefix("/exchange/") {
            let exchange = rest.split('/').next().unwrap_or_default();
            if self.ex.kinds.contains_key(exchange) {
                let rest = rest.to_owned();
                self.on_exchange_send(now, link, &rest, frame);
            } else if ["amq.direct", "amq.fanout", "amq.topic"].contains(&exchange) {
                self.receipt(link, &frame);
            } else {
                let detail = format!("NOT_FOUND - no exchange '{exchange}' in vhost '/'");
                self.refuse(link, "not_found", detail, false);
            }
        } else {
            self.violations.push(format!("SEND to unexpected destination {destination:?}"));
        }
    }

    pub(crate) fn enqueue(&mut self, now: Duration, link: LinkId, queue: &str, frame: Frame) {
        self.next_uid += 1;
        let uid = self.next_uid;
        let tag = frame.header("amqp-message-id").and_then(|t| parse_tag(t.as_bytes()));
        let receipt = frame.header("receipt").map(str::to_owned);
        let persistent = frame.header("persistent") == Some("true");
        let destination = frame.header("destination").unwrap_or_default().to_owned();
        let headers = frame
            .headers
            .iter()
            .filter(|(n, _)| !matches!(n.as_str(), "destination" | "transaction" | "content-length"))
            .cloned()
            .collect();
        let Some(q) = self.queues.get_mut(queue) else { return };
        let durable = q.durable;
        let stream = q.is_stream();
        let msg = Msg { uid, tag, destination, headers, body: frame.body, redelivered: false };
        if stream {
            q.log.push((msg, now));
        } else {
            q.msgs.push_back(msg);
        }
        self.add_copy(tag);
        let Some(receipt) = receipt else { return };
        if let Some(end) = self.alarm_until.filter(|end| now < *end) {
            // Held until the alarm clears, in order with any slower confirm.
            let Some(conn) = self.conns.get_mut(&link) else { return };
            let due = end.max(conn.last_confirm);
            conn.last_confirm = due;
            self.confirms.push(Confirm { due, link, receipt, uid });
            return;
        }
        // A stream's confirms are immediate here (so a restart never cuts its log).
        if self.slow_confirms && durable && persistent && !stream {
            // The confirm waits for the fsync; confirms on a channel stay in order.
            self.unpersisted.insert(uid);
            let delay = ms(self.rng.range(50, 3000));
            let Some(conn) = self.conns.get_mut(&link) else { return };
            let due = (now + delay).max(conn.last_confirm);
            conn.last_confirm = due;
            self.confirms.push(Confirm { due, link, receipt, uid });
        } else {
            let answer = Frame::new(Command::Receipt).with_header("receipt-id", receipt);
            self.send(link, &answer);
        }
    }

    /// Heart-beats and slow confirms that are due.
    pub(crate) fn tick(&mut self, now: Duration) {
        if self.frozen(now) {
            return;
        }
        let expired: Vec<LinkId> =
            self.conns.iter().filter(|(_, c)| c.expires_at.is_some_and(|at| at <= now)).map(|(l, _)| *l).collect();
        for link in expired {
            self.expiry_closes += 1;
            self.close(link, SocketClose::new(1000, WEB_STOMP_DIED));
        }
        let links: Vec<LinkId> = self.conns.keys().copied().collect();
        for link in links {
            let Some(conn) = self.conns.get_mut(&link) else { continue };
            let Some(period) = conn.tick else { continue };
            if !conn.connected || conn.next_tick > now {
                continue;
            }
            let idle = conn.sent == conn.seen;
            // The counter is read before the heart-beat goes, as rabbit_heartbeat does.
            conn.seen = conn.sent;
            conn.next_tick = now + period;
            if idle {
                conn.sent += 1;
                self.out.push((link, Out::Bytes(b"\n".to_vec())));
            }
        }
        self.deliver_replies(now);
        if self.confirms.iter().any(|c| c.due <= now) {
            let (due, later): (Vec<Confirm>, Vec<Confirm>) =
                std::mem::take(&mut self.confirms).into_iter().partition(|c| c.due <= now);
            self.confirms = later;
            for confirm in due {
                self.unpersisted.remove(&confirm.uid);
                if self.conns.contains_key(&confirm.link) {
                    let answer = Frame::new(Command::Receipt).with_header("receipt-id", confirm.receipt);
                    self.send(confirm.link, &answer);
                }
            }
        }
    }

    pub(crate) fn next_due(&self, now: Duration) -> Option<Duration> {
        if self.frozen(now) {
            return None;
        }
        let ticks = self.conns.values().filter(|c| c.connected && c.tick.is_some()).map(|c| c.next_tick);
        let expiries = self.conns.values().filter_map(|c| c.expires_at);
        ticks.chain(self.confirms.iter().map(|c| c.due)).chain(self.replies.iter().map(|r| r.due)).chain(expiries).min()
    }

    /// The broker is killed and restarted: every connection drops, unconfirmed
    /// messages may be lost, durable queues keep the rest.
    pub(crate) fn restart(&mut self, now: Duration, down_for: Duration) {
        self.alarm_until = None;
        let links: Vec<LinkId> = self.conns.keys().copied().collect();
        for link in links {
            self.drop_conn(link);
        }
        let mut lost = Vec::new();
        for q in self.queues.values_mut() {
            if !q.durable {
                self.lost_with_queue.extend(q.msgs.iter().filter_map(|m| m.tag));
                lost.extend(q.msgs.drain(..).map(|m| m.tag));
                continue;
            }
            let unpersisted = &self.unpersisted;
            let rng = &mut self.rng;
            q.msgs.retain(|m| {
                let gone = unpersisted.contains(&m.uid) && rng.chance(50);
                if gone {
                    lost.push(m.tag);
                }
                !gone
            });
        }
        self.queues.retain(|_, q| q.durable);
        self.prune_bindings();
        for tag in lost {
            self.take_copy(tag);
        }
        self.unpersisted.clear();
        self.confirms.clear();
        self.frozen_until = None;
        self.down_until = Some(now + down_for);
    }
}
