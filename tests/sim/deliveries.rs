//! The simulated broker's subscriptions: SUBSCRIBE, ACK and NACK, and
//! delivering (round-robin within prefetch; a stream from its offsets).

use super::*;

impl Broker {
    pub(crate) fn on_subscribe(&mut self, link: LinkId, frame: &Frame) {
        let id = frame.header("id").unwrap_or_default().to_owned();
        let destination = frame.header("destination").unwrap_or_default();
        let Some(queue) = destination.strip_prefix("/amq/queue/").map(str::to_owned) else {
            self.violations.push(format!("SUBSCRIBE to unexpected destination {destination:?}"));
            return;
        };
        let mode = frame.header("ack").unwrap_or("auto");
        let (auto, multi) = (mode == "auto", mode == "client");
        let prefetch = frame.header("prefetch-count").and_then(|p| p.parse().ok()).unwrap_or(0);
        if self.conns.get(&link).is_some_and(|c| c.subs.contains_key(&id)) {
            self.violations.push(format!("SUBSCRIBE with a subscription id {id} already in use on {link}"));
            return;
        }
        if !self.queues.contains_key(&queue) {
            let detail = format!("NOT_FOUND - no queue '{queue}' in vhost '/'");
            self.refuse(link, "not_found", detail, false);
            return;
        }
        if let Some(detail) = self.locked_by_another(link, &queue) {
            self.refuse(link, "resource_locked", detail, false);
            return;
        }
        let mut stream_next = None;
        if let Some(q) = self.queues.get(&queue).filter(|q| q.is_stream()) {
            if auto || prefetch == 0 {
                // RabbitMQ 3.10.8 closes the connection; Burrow must refuse it first.
                self.violations.push(format!("SUBSCRIBE to stream {queue} with auto {auto}, prefetch {prefetch}"));
                self.refuse(link, "precondition_failed", "PRECONDITION_FAILED".to_owned(), false);
                return;
            }
            let len = q.log.len() as u64;
            let asked = frame.header("x-stream-offset").unwrap_or("next");
            let start = match asked {
                "first" => Some(0),
                "last" => Some(len.saturating_sub(1)),
                "next" => Some(len),
                other => match other.split_once('=') {
                    Some(("offset", n)) => n.parse().ok(),
                    Some(("timestamp", t)) => t.parse::<u64>().ok().map(|t| {
                        q.log.iter().position(|(_, at)| at.as_secs() >= t).map_or(len, |i| i as u64)
                    }),
                    _ => None,
                },
            };
            let Some(start) = start else {
                self.violations.push(format!("SUBSCRIBE with x-stream-offset {asked:?}"));
                return;
            };
            stream_next = Some(start);
        }
        if let Some(conn) = self.conns.get_mut(&link) {
            conn.subs.insert(id, Sub { queue, auto, multi, prefetch, unacked: 0, stream_next });
        }
        self.receipt(link, frame);
    }

    pub(crate) fn on_ack(&mut self, link: LinkId, frame: &Frame, nack: bool) {
        let command = frame.command;
        let id = frame.header("id").unwrap_or_default().to_owned();
        let n = id.rsplit("@@").next().and_then(|s| s.parse::<u64>().ok());
        let owner = n.and_then(|n| self.conns.get(&link).and_then(|c| c.unacked.get(&n)).map(|e| e.0.clone()));
        let Some((n, sub_id)) = n.zip(owner) else {
            let why = match n.and_then(|n| self.ack_owner.get(&n)) {
                Some((owner, _)) if *owner != link => {
                    format!("{command} {id} reached {link}, but the delivery came on {owner}")
                }
                Some((_, true)) => format!("{command} {id} on {link}: already settled (a double ack)"),
                _ => format!("{command} {id} on {link}: unknown delivery tag"),
            };
            self.violations.push(why);
            let detail = format!("PRECONDITION_FAILED - unknown delivery tag {}", n.unwrap_or(0));
            self.refuse(link, "precondition_failed", detail, false);
            return;
        };
        let Some(multi) = self.conns.get(&link).and_then(|c| c.subs.get(&sub_id)).map(|sub| sub.multi) else {
            // RabbitMQ answers "Subscription not found" (an ERROR that poisons the
            // session's close reason) and the message stays unacked.
            self.violations.push(format!("{command} {id} on {link} for subscription {sub_id}, after its UNSUBSCRIBE"));
            return;
        };
        let settled: Vec<u64> = match self.conns.get(&link) {
            // RabbitMQ's Web-STOMP maps a cumulative ACK to basic.ack multiple on
            // the connection's one channel: it settles every earlier delivery of
            // every subscription on the connection, not only this one's (seen by
            // the fan-out benchmark: two auto-ack subscriptions, "unknown delivery tag").
            Some(conn) if multi => conn.unacked.range(..=n).map(|(n, _)| *n).collect(),
            _ => vec![n],
        };
        // Last first: requeued ones go back to the head in their order.
        for n in settled.into_iter().rev() {
            self.settle_one(link, n, frame, nack);
        }
        self.receipt(link, frame);
    }

    /// One delivery acked or nacked.
    pub(crate) fn settle_one(&mut self, link: LinkId, n: u64, frame: &Frame, nack: bool) {
        let Some(conn) = self.conns.get_mut(&link) else { return };
        let Some((sub_id, queue, mut msg)) = conn.unacked.remove(&n) else { return };
        if let Some(sub) = conn.subs.get_mut(&sub_id) {
            sub.unacked -= 1;
        }
        if let Some(owner) = self.ack_owner.get_mut(&n) {
            owner.1 = true;
        }
        if self.is_stream(&queue) {
            if nack {
                // RabbitMQ: "basic.nack and basic.reject not supported by stream
                // queues": RECEIPT, then the connection closes.
                self.violations.push(format!("NACK {n} of a stream message on {link}"));
                self.close(link, SocketClose::new(1000, WEB_STOMP_DIED));
            }
            return;
        }
        let requeue = nack && frame.header("requeue") != Some("false");
        if requeue {
            msg.redelivered = true;
            match self.queues.get_mut(&queue) {
                Some(q) => q.msgs.push_front(msg),
                None => self.take_copy(msg.tag),
            }
        } else {
            self.take_copy(msg.tag);
        }
    }

    /// Round-robin delivery to the subscriptions with room (prefetch 0 is unlimited).
    pub(crate) fn dispatch(&mut self, now: Duration) {
        if self.frozen(now) {
            return;
        }
        self.dispatch_streams();
        let names: Vec<String> =
            self.queues.iter().filter(|(_, q)| !q.msgs.is_empty()).map(|(n, _)| n.clone()).collect();
        for name in names {
            loop {
                if self.queues.get(&name).is_none_or(|q| q.msgs.is_empty()) {
                    break;
                }
                let eligible: Vec<(LinkId, String)> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| c.connected)
                    .flat_map(|(link, c)| {
                        c.subs
                            .iter()
                            .filter(|(_, s)| s.queue == name && (s.auto || s.prefetch == 0 || s.unacked < s.prefetch))
                            .map(move |(id, _)| (*link, id.clone()))
                    })
                    .collect();
                if eligible.is_empty() {
                    break;
                }
                let cursor = self.round_robin.entry(name.clone()).or_insert(0);
                let (link, sub) = eligible[*cursor % eligible.len()].clone();
                *cursor = cursor.wrapping_add(1);
                let Some(msg) = self.queues.get_mut(&name).and_then(|q| q.msgs.pop_front()) else { break };
                self.deliver(link, &sub, &name, msg);
            }
        }
    }

    /// Each stream subscription reads the log on its own, as far as its credit goes.
    pub(crate) fn dispatch_streams(&mut self) {
        let mut due = Vec::new();
        for (link, conn) in self.conns.iter().filter(|(_, c)| c.connected) {
            for (id, sub) in &conn.subs {
                let (Some(next), Some(q)) = (sub.stream_next, self.queues.get(&sub.queue)) else { continue };
                let room = u64::from(sub.prefetch.saturating_sub(sub.unacked));
                let end = (q.log.len() as u64).min(next + room);
                for offset in next..end {
                    due.push((*link, id.clone(), sub.queue.clone(), offset));
                }
            }
        }
        for (link, id, queue, offset) in due {
            let Some((msg, _)) = self.queues.get(&queue).and_then(|q| q.log.get(offset as usize)).cloned() else {
                continue;
            };
            if let Some(sub) = self.conns.get_mut(&link).and_then(|c| c.subs.get_mut(&id)) {
                sub.stream_next = Some(offset + 1);
            }
            self.deliver_at(link, &id, &queue, msg, Some(offset));
        }
    }

    pub(crate) fn deliver(&mut self, link: LinkId, sub_id: &str, queue: &str, msg: Msg) {
        self.deliver_at(link, sub_id, queue, msg, None);
    }

    pub(crate) fn deliver_at(&mut self, link: LinkId, sub_id: &str, queue: &str, msg: Msg, offset: Option<u64>) {
        self.next_ack += 1;
        let n = self.next_ack;
        let Some(conn) = self.conns.get_mut(&link) else { return };
        let Some(sub) = conn.subs.get_mut(sub_id) else { return };
        // Unique across every connection, so an ack on the wrong one is caught.
        let ack_id = format!("T_{sub_id}@@{}@@{n}", conn.session);
        let mut frame = Frame::new(Command::Message)
            .with_header("subscription", sub_id)
            .with_header("destination", msg.destination.clone())
            .with_header("message-id", ack_id.clone())
            .with_header("redelivered", if msg.redelivered { "true" } else { "false" });
        if !sub.auto || self.ack_ids_on_auto {
            frame = frame.with_header("ack", ack_id);
        }
        if let Some(offset) = offset {
            frame = frame.with_header("x-stream-offset", offset.to_string());
        }
        frame.headers.extend(msg.headers.iter().cloned());
        frame.body = msg.body.clone();
        if sub.auto && offset.is_none() {
            // ack:auto: the broker forgets the message as it sends it.
            self.take_copy(msg.tag);
            self.forgotten.extend(msg.tag);
        } else {
            sub.unacked += 1;
            conn.unacked.insert(n, (sub_id.to_owned(), queue.to_owned(), msg));
            self.ack_owner.insert(n, (link, false));
        }
        self.send(link, &frame);
    }
}
