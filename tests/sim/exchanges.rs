//! The simulation's exchanges (tutorials 3 to 5): a fanout `logs`, a direct
//! `direct_logs` and a topic `topic_logs`, their bindings, and the queues
//! Web-STOMP makes for exchange subscriptions.
//!
//! `SUBSCRIBE /exchange/<x>/<key>` makes a non-durable, auto-delete, exclusive
//! queue `stomp-subscription-<n>` bound with the key: it vanishes with its
//! subscription or its connection, with what it held (a transient subscription's
//! loss is allowed). With `x-queue-name:<q>` it makes (or reuses) the queue `q`,
//! durable only with `durable:true`, auto-delete unless `auto-delete:false`
//! (RabbitMQ 3.10.8), exclusive and not durable unless `exclusive:false`
//! (RabbitMQ 4.0.5); a queue that exists with other properties is refused
//! (`inequivalent arg`). A durable queue keeps its messages across connections and
//! restarts like `q`. `SEND /exchange/<x>/<key>` puts one copy in each bound queue
//! whose binding key matches (`burrow::rabbit::binding_matches`), and is confirmed
//! once the copy in a durable queue is (at once when it reaches none).
//!
//! Invariant 13: every confirmed publish routed to a durable subscription's queue
//! is delivered from that queue at least once by the heal's end; each delivery to
//! an exchange subscription is of a message published to its exchange with a key
//! its binding key matches; at most one unmarked copy per message per
//! subscription queue, the first its reader takes (as in invariant 2); a
//! `SubscriptionGap` comes only for a transient subscription that was ready on
//! an earlier connection, right before its `ConsumerReady` on the new one, and
//! such a subscription never becomes ready again without one. (Nothing reaches
//! a cancelled subscription: invariant 4.)

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use burrow::rabbit::{binding_matches, ConsumeFrom, Delivery, ExchangeKind, OutboxId};
use burrow::reliable::{ConnectionEvent, ConsumeOptions, ConsumerKey, LinkId, PublishError, ReliableEvent};
use burrow::stomp::Frame;

use super::{Broker, PubKind, Queue, Rng, Sim, Sub};

/// The exchanges the broker has, and their kinds.
const EXCHANGES: [(&str, ExchangeKind); 3] =
    [("logs", ExchangeKind::Fanout), ("direct_logs", ExchangeKind::Direct), ("topic_logs", ExchangeKind::Topic)];

/// Routing keys the schedule publishes with, per exchange.
const KEYS: [(&str, &[&str]); 3] = [
    ("logs", &["", "x"]),
    ("direct_logs", &["error", "info", "warning"]),
    ("topic_logs", &["kern.critical", "kern.info", "app.critical", "kern", "kern.disk.full", "user.info"]),
];

/// Transient subscriptions the schedule makes: (exchange, binding key).
const TRANSIENT: [(&str, &str); 7] = [
    ("logs", ""),
    ("direct_logs", "error"),
    ("direct_logs", "info"),
    ("topic_logs", "*.critical"),
    ("topic_logs", "kern.#"),
    ("topic_logs", "#"),
    ("topic_logs", "kern.*"),
];

/// Durable subscriptions the schedule makes: (exchange, binding key, queue).
const DURABLE: [(&str, &str, &str); 3] =
    [("logs", "", "logs-keep"), ("topic_logs", "kern.*", "kern-keep"), ("direct_logs", "error", "errors-keep")];

/// The broker's side: exchanges, bindings, and which queues go when.
#[derive(Debug)]
pub(crate) struct BrokerExchanges {
    pub(crate) kinds: BTreeMap<String, ExchangeKind>,
    /// (exchange, binding key, queue).
    bindings: BTreeSet<(String, String, String)>,
    /// Queues deleted when no subscription reads them any more.
    auto_delete: HashSet<String>,
    /// Queues deleted with their connection.
    pub(crate) exclusive: HashMap<String, LinkId>,
    next_queue: u64,
    /// Per message: the durable subscriptions' queues its SENDs were routed to.
    routed: HashMap<u64, BTreeSet<String>>,
}

impl BrokerExchanges {
    pub(crate) fn new() -> Self {
        BrokerExchanges {
            kinds: EXCHANGES.iter().map(|(name, kind)| ((*name).to_owned(), kind.clone())).collect(),
            bindings: BTreeSet::new(),
            auto_delete: HashSet::new(),
            exclusive: HashMap::new(),
            next_queue: 0,
            routed: HashMap::new(),
        }
    }
}

/// `<exchange>/<key>` (or `<exchange>` alone: the empty key), `%2F` read as `/`.
fn split_destination(rest: &str) -> (String, String) {
    let (exchange, key) = rest.split_once('/').unwrap_or((rest, ""));
    (exchange.replace("%2F", "/"), key.replace("%2F", "/"))
}

impl Broker {
    /// `SUBSCRIBE /exchange/…`: makes (or reuses) the queue, binds it, subscribes.
    pub(crate) fn on_exchange_subscribe(&mut self, link: LinkId, frame: &Frame) {
        let id = frame.header("id").unwrap_or_default().to_owned();
        let destination = frame.header("destination").unwrap_or_default();
        let (exchange, key) = split_destination(destination.trim_start_matches("/exchange/"));
        if !self.ex.kinds.contains_key(&exchange) {
            let detail = format!("NOT_FOUND - no exchange '{exchange}' in vhost '/'");
            self.refuse(link, "not_found", detail, false);
            return;
        }
        if self.conns.get(&link).is_some_and(|c| c.subs.contains_key(&id)) {
            self.violations.push(format!("SUBSCRIBE with a subscription id {id} already in use on {link}"));
            return;
        }
        let (name, durable, auto_delete, exclusive) = match frame.header("x-queue-name") {
            Some(name) => {
                let exclusive = frame.header("exclusive") != Some("false");
                let durable = frame.header("durable") == Some("true") && !exclusive;
                (name.to_owned(), durable, frame.header("auto-delete") != Some("false"), exclusive)
            }
            None => {
                self.ex.next_queue += 1;
                (format!("stomp-subscription-{}", self.ex.next_queue), false, true, true)
            }
        };
        if let Some(q) = self.queues.get(&name) {
            let had_auto_delete = self.ex.auto_delete.contains(&name);
            if q.durable != durable || had_auto_delete != auto_delete || q.is_stream() {
                let detail = format!(
                    "PRECONDITION_FAILED - inequivalent arg 'durable' or 'auto_delete' for queue '{name}' in vhost '/'"
                );
                self.refuse(link, "precondition_failed", detail, false);
                return;
            }
        } else {
            self.queues.insert(name.clone(), Queue::classic(durable));
            if auto_delete {
                self.ex.auto_delete.insert(name.clone());
            }
            if exclusive {
                self.ex.exclusive.insert(name.clone(), link);
            }
        }
        self.ex.bindings.insert((exchange, key, name.clone()));
        let mode = frame.header("ack").unwrap_or("auto");
        let (auto, multi) = (mode == "auto", mode == "client");
        let prefetch = frame.header("prefetch-count").and_then(|p| p.parse().ok()).unwrap_or(0);
        if let Some(conn) = self.conns.get_mut(&link) {
            conn.subs.insert(id, Sub { queue: name, auto, multi, prefetch, unacked: 0, stream_next: None });
        }
        self.receipt(link, frame);
    }

    /// `SEND /exchange/<x>/<key>` to one of the simulated exchanges: a copy in
    /// each matching bound queue, confirmed with the durable copy.
    pub(crate) fn on_exchange_send(&mut self, now: Duration, link: LinkId, rest: &str, frame: Frame) {
        let (exchange, key) = split_destination(rest);
        let Some(kind) = self.ex.kinds.get(&exchange) else { return };
        let queues: BTreeSet<String> = self
            .ex
            .bindings
            .iter()
            .filter(|(x, binding, _)| *x == exchange && binding_matches(kind, binding, &key) == Some(true))
            .map(|(_, _, queue)| queue.clone())
            .collect();
        let tag = frame.header("amqp-message-id").and_then(|t| super::parse_tag(t.as_bytes()));
        // Durable ones last: the confirm (the last copy's receipt) waits for their fsync.
        let mut ordered: Vec<String> = queues.iter().filter(|q| !self.is_durable(q)).cloned().collect();
        ordered.extend(queues.iter().filter(|q| self.is_durable(q)).cloned());
        if let Some(tag) = tag {
            // By the names the durable subscriptions ask for, not by what the
            // queue turned out to be: a subscription whose queue is not durable loses.
            let named = ordered.iter().filter(|q| DURABLE.iter().any(|(_, _, d)| d == q)).cloned();
            self.ex.routed.entry(tag).or_default().extend(named);
        }
        let Some(last) = ordered.pop() else {
            // Routed nowhere: dropped, and confirmed at once.
            self.receipt(link, &frame);
            return;
        };
        for queue in ordered {
            let mut copy = frame.clone();
            copy.headers.retain(|(name, _)| name != "receipt");
            self.enqueue(now, link, &queue, copy);
        }
        self.enqueue(now, link, &last, frame);
    }

    /// Messages the durable subscriptions' queues hold (the statistics count
    /// those a restart kept).
    pub(crate) fn durable_subscription_messages(&self) -> u64 {
        DURABLE.iter().filter_map(|(_, _, q)| self.queues.get(*q)).map(|q| q.msgs.len() as u64).sum()
    }

    fn is_durable(&self, queue: &str) -> bool {
        self.queues.get(queue).is_some_and(|q| q.durable)
    }

    /// Deletes the auto-delete queues no subscription reads any more, and the
    /// exclusive ones of `closed` (a connection that ended): what they held is lost.
    pub(crate) fn drop_unused_queues(&mut self, closed: Option<LinkId>) {
        let read: HashSet<&String> = self.conns.values().flat_map(|c| c.subs.values().map(|s| &s.queue)).collect();
        let mut gone: Vec<String> = self.ex.auto_delete.iter().filter(|q| !read.contains(q)).cloned().collect();
        gone.extend(self.ex.exclusive.iter().filter(|(_, owner)| Some(**owner) == closed).map(|(q, _)| q.clone()));
        for name in gone {
            if let Some(queue) = self.queues.remove(&name) {
                self.lost_with_queue.extend(queue.msgs.iter().filter_map(|m| m.tag));
                for msg in queue.msgs {
                    self.take_copy(msg.tag);
                }
            }
        }
        self.prune_bindings();
    }

    /// Forgets bindings and properties of queues that are gone.
    pub(crate) fn prune_bindings(&mut self) {
        let queues = &self.queues;
        self.ex.bindings.retain(|(_, _, q)| queues.contains_key(q));
        self.ex.auto_delete.retain(|q| queues.contains_key(q));
        self.ex.exclusive.retain(|q, _| queues.contains_key(q));
    }
}

/// The simulation's side: what was published where, and what each subscription got.
#[derive(Debug)]
pub(crate) struct SimExchanges {
    /// Its own random numbers, so the rest of a seed's schedule keeps its shape.
    pub(crate) rng: Rng,
    /// Per message published to an exchange: (exchange, routing key).
    published: HashMap<u64, (String, String)>,
    /// Unmarked deliveries per (subscription queue, message): a durable
    /// subscription's queue by name, a transient subscription's by its consumer.
    unmarked: HashMap<(String, u64), u32>,
    /// (durable queue, message) delivered from it.
    delivered: HashSet<(String, u64)>,
    /// The link each exchange subscription was last ready on.
    ready_on: HashMap<ConsumerKey, LinkId>,
    /// A gap said, waiting for its subscription's ConsumerReady.
    gap: Option<ConsumerKey>,
    /// The durable subscriptions (indices into DURABLE) this run made.
    durable_used: BTreeSet<usize>,
}

impl SimExchanges {
    pub(crate) fn new(seed: u64) -> Self {
        SimExchanges {
            rng: Rng::new(seed ^ 0x4558_4348),
            published: HashMap::new(),
            unmarked: HashMap::new(),
            delivered: HashSet::new(),
            ready_on: HashMap::new(),
            gap: None,
            durable_used: BTreeSet::new(),
        }
    }
}

impl Sim {
    /// The schedule's exchange step: publish, subscribe (transient or durable), cancel.
    pub(crate) fn exchange_op(&mut self) {
        match self.ex.rng.below(100) {
            0..=54 => {
                let n = self.ex.rng.range(1, 4);
                for _ in 0..n {
                    let (exchange, keys) = KEYS[self.ex.rng.below(KEYS.len() as u64) as usize];
                    let key = keys[self.ex.rng.below(keys.len() as u64) as usize];
                    if let Err(PublishError::Full(_)) = self.publish_to_exchange(exchange, key) {
                        break;
                    }
                }
            }
            55..=94 => {
                let live = self.consumers.values().filter(|c| c.exchange.is_some() && !c.cancel_requested && !c.failed);
                if live.count() >= 4 {
                    return;
                }
                let source = if self.ex.rng.chance(40) {
                    let i = self.ex.rng.below(DURABLE.len() as u64) as usize;
                    self.ex.durable_used.insert(i);
                    self.stats.ex_durable_subscriptions += 1;
                    let (exchange, key, queue) = DURABLE[i];
                    ConsumeFrom::durable(exchange, key, queue)
                } else {
                    let (exchange, key) = TRANSIENT[self.ex.rng.below(TRANSIENT.len() as u64) as usize];
                    ConsumeFrom::exchange(exchange, key)
                };
                self.stats.ex_subscriptions += 1;
                let auto_ack = self.ex.rng.chance(30);
                let prefetch = self.ex.rng.range(0, 5) as u16;
                vlog!(self, "subscribe to {source}");
                self.consume_from(source, ConsumeOptions { auto_ack, prefetch, stream_offset: None, ..ConsumeOptions::default() });
            }
            _ => {
                let live: Vec<ConsumerKey> = self
                    .core
                    .consumers()
                    .filter(|k| self.consumers.get(k).is_some_and(|c| c.exchange.is_some()))
                    .collect();
                if !live.is_empty() {
                    let key = live[self.ex.rng.below(live.len() as u64) as usize];
                    self.cancel(key);
                }
            }
        }
    }

    /// A publish to `exchange` with `key`, noted before it goes.
    pub(crate) fn publish_to_exchange(&mut self, exchange: &str, key: &str) -> Result<OutboxId, PublishError> {
        self.stats.ex_publishes += 1;
        self.ex.published.insert(self.next_tag + 1, (exchange.to_owned(), key.to_owned()));
        self.publish_with(exchange, key, PubKind::Exchange, 0)
    }

    /// Invariant 13 for one delivery to an exchange subscription.
    pub(crate) fn on_exchange_delivery(&mut self, consumer: ConsumerKey, tag: u64, delivery: &Delivery) {
        let Some(sub) = self.consumers.get(&consumer).and_then(|c| c.exchange.clone()) else { return };
        self.stats.ex_deliveries += 1;
        let Some((exchange, key)) = self.ex.published.get(&tag).cloned() else {
            fail!(self, "m-{tag}, not published to an exchange, reached {consumer:?} on {}", sub.exchange)
        };
        let kind = self.broker.ex.kinds.get(&sub.exchange).cloned().unwrap_or(ExchangeKind::Headers);
        if exchange != sub.exchange || binding_matches(&kind, &sub.routing_key, &key) != Some(true) {
            fail!(
                self,
                "m-{tag} (published to {exchange:?} with key {key:?}) reached {consumer:?}, bound to {:?} with {:?}",
                sub.exchange,
                sub.routing_key
            );
        }
        let queue = sub.durable_queue.clone().unwrap_or_else(|| format!("{consumer:?}"));
        if delivery.possibly_duplicate() {
            self.stats.possible_duplicates += 1;
        } else {
            self.check_unmarked_first(consumer, tag);
            let count = self.ex.unmarked.entry((queue.clone(), tag)).or_insert(0);
            *count += 1;
            if *count > 1 {
                fail!(self, "m-{tag} was delivered twice from {queue} without being marked as a possible duplicate");
            }
        }
        self.note_taken(consumer, tag, delivery);
        if sub.durable_queue.is_some() {
            self.ex.delivered.insert((queue, tag));
        }
    }

    /// Invariant 13: a gap only for a transient subscription ready on an earlier link.
    pub(crate) fn on_gap(&mut self, consumer: ConsumerKey, exchange: &str, routing_key: &str) {
        self.stats.ex_gaps += 1;
        let Some(sub) = self.consumers.get(&consumer).and_then(|c| c.exchange.clone()) else {
            fail!(self, "a subscription gap for {consumer:?}, which reads a queue")
        };
        if sub.durable_queue.is_some() || sub.exchange != exchange || sub.routing_key != routing_key {
            fail!(self, "a subscription gap ({exchange:?}, {routing_key:?}) for {consumer:?}, which is {sub:?}");
        }
        let link = self.core.current_link();
        match self.ex.ready_on.get(&consumer) {
            Some(earlier) if Some(*earlier) != link => {}
            other => fail!(self, "a subscription gap for {consumer:?} on {link:?} without a reconnect (ready on {other:?})"),
        }
        if let Some(before) = self.ex.gap.replace(consumer) {
            fail!(self, "a subscription gap for {before:?} not followed by its ConsumerReady");
        }
    }

    /// Invariant 13 at ConsumerReady: a transient subscription ready again on a
    /// new link was announced by its gap just before.
    pub(crate) fn on_exchange_ready(&mut self, key: ConsumerKey) {
        let gap = self.ex.gap.take();
        if gap.is_some_and(|k| k != key) {
            fail!(self, "a subscription gap for {gap:?} followed by ConsumerReady({key:?})");
        }
        let Some(sub) = self.consumers.get(&key).and_then(|c| c.exchange.clone()) else { return };
        let Some(link) = self.core.current_link() else { return };
        let earlier = self.ex.ready_on.insert(key, link);
        let reconnected = earlier.is_some_and(|e| e != link);
        // A renewal's new link subscribed while the old one still received: no gap.
        if sub.durable_queue.is_none() && reconnected && gap.is_none() && !self.renewed.contains(&link) {
            fail!(self, "transient {key:?} ready again on {link} after a reconnect without a SubscriptionGap");
        }
    }

    /// The heal reads every durable subscription's queue: one subscriber each.
    pub(crate) fn heal_durable_subscriptions(&mut self) {
        for i in self.ex.durable_used.clone() {
            let (exchange, key, queue) = DURABLE[i];
            let read = self.consumers.values().any(|c| {
                !c.cancel_requested && !c.failed && c.exchange.as_ref().is_some_and(|s| s.durable_queue.as_deref() == Some(queue))
            });
            if !read {
                let options = ConsumeOptions { auto_ack: false, prefetch: self.ex.rng.range(0, 5) as u16, stream_offset: None, ..ConsumeOptions::default() };
                self.consume_from(ConsumeFrom::durable(exchange, key, queue), options);
            }
        }
    }

    /// Every subscription queue someone reads is empty (the heal waits for it; a
    /// durable queue no one reads is the end's invariant 13 to explain).
    pub(crate) fn subscription_queues_empty(&self) -> bool {
        let read: HashSet<&String> =
            self.broker.conns.values().flat_map(|c| c.subs.values().map(|s| &s.queue)).collect();
        self.broker
            .ex
            .bindings
            .iter()
            .filter(|(_, _, q)| read.contains(q))
            .all(|(_, _, q)| self.broker.queues.get(q).is_none_or(|q| q.msgs.is_empty()))
    }

    /// Invariant 13 at the heal's end: a durable subscription lost nothing confirmed.
    pub(crate) fn check_durable_subscriptions(&self) {
        let mut confirmed: Vec<u64> = self
            .pubs
            .values()
            .filter(|p| p.kind == PubKind::Exchange && p.outcome == Some(super::Outcome::Confirmed))
            .map(|p| p.tag)
            .collect();
        confirmed.sort_unstable();
        for tag in confirmed {
            for queue in self.broker.ex.routed.get(&tag).into_iter().flatten() {
                if !self.ex.delivered.contains(&(queue.clone(), tag)) {
                    fail!(self, "confirmed m-{tag}, routed to the durable subscription queue {queue}, was never delivered from it");
                }
            }
        }
    }
}

impl Sim {
    /// Another publisher's message (no receipt asked): straight into the broker,
    /// as if `SEND /exchange/<exchange>/<key>` came on `link`.
    fn publish_elsewhere(&mut self, link: LinkId, exchange: &str, key: &str) -> u64 {
        self.next_tag += 1;
        let tag = self.next_tag;
        let body = format!("m-{tag}").into_bytes();
        self.body_len.insert(tag, body.len());
        self.ex.published.insert(tag, (exchange.to_owned(), key.to_owned()));
        let mut frame = Frame::new(burrow::stomp::Command::Send)
            .with_header("destination", format!("/exchange/{exchange}/{key}"))
            .with_header("amqp-message-id", format!("m-{tag}"))
            .with_header("persistent", "true");
        frame.body = body;
        let rest = format!("{exchange}/{key}");
        self.broker.on_exchange_send(self.now, link, &rest, frame);
        self.broker.dispatch(self.now);
        self.flush_broker();
        tag
    }

    /// The bodies `consumer`'s reader took since `mark`, and whether each was marked.
    fn bodies_since(&self, mark: super::Mark, consumer: ConsumerKey) -> Vec<(String, bool)> {
        self.taken_since(mark, consumer)
            .into_iter()
            .map(|d| (String::from_utf8_lossy(&d.body).into_owned(), d.possibly_duplicate()))
            .collect()
    }
}

fn options() -> ConsumeOptions {
    ConsumeOptions { auto_ack: false, prefetch: 0, stream_offset: None, ..ConsumeOptions::default() }
}

fn unmarked(tags: &[u64]) -> Vec<(String, bool)> {
    tags.iter().map(|t| (format!("m-{t}"), false)).collect()
}

#[test]
fn across_a_reconnect_a_durable_subscription_keeps_what_a_transient_one_loses_and_says_so() {
    let mut sim = Sim::scripted();
    sim.connect();
    let (exchange, key, queue) = DURABLE[1];
    let durable = sim.consume_from(ConsumeFrom::durable(exchange, key, queue), options()).expect("durable");
    let transient = sim.consume_from(ConsumeFrom::exchange(exchange, key), options()).expect("transient");
    let other = sim.consume_from(ConsumeFrom::exchange("topic_logs", "*.critical"), options()).expect("other");
    sim.settle();
    let old = sim.core.current_link().expect("link");
    let mark = sim.mark();
    sim.drop_current();
    // Published by someone else while this client is away.
    let away = sim.publish_elsewhere(old, "topic_logs", "kern.disk");
    let new = sim.reconnect_after_a_drop();
    sim.settle();
    let gaps: Vec<ConsumerKey> = sim
        .events_since(mark)
        .into_iter()
        .filter_map(|e| match e {
            ReliableEvent::Connection(ConnectionEvent::SubscriptionGap { consumer, .. }) => Some(consumer),
            _ => None,
        })
        .collect();
    assert_eq!(gaps, vec![transient, other], "a gap for each transient subscription, none for the durable one");
    assert_eq!(sim.bodies_since(mark, durable), unmarked(&[away]), "the durable queue kept it");
    assert!(sim.bodies_since(mark, transient).is_empty(), "lost to the transient subscription");
    // The durable resubscription names its queue again, with every header it needs.
    let durable_subscribe = sim
        .frames_on(new)
        .into_iter()
        .find(|f| f.command == burrow::stomp::Command::Subscribe && f.header("x-queue-name") == Some(queue))
        .expect("the durable subscription's SUBSCRIBE on the new connection");
    for (name, value) in [("durable", "true"), ("auto-delete", "false"), ("exclusive", "false")] {
        assert_eq!(durable_subscribe.header(name), Some(value), "{name}");
    }
    // After the reconnect each gets what its binding key matches, once.
    let mark = sim.mark();
    let tags: Vec<u64> = ["kern.critical", "kern.info", "app.critical", "kern.disk.full"]
        .into_iter()
        .map(|k| {
            sim.publish_to_exchange("topic_logs", k).expect("published");
            sim.next_tag
        })
        .collect();
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.bodies_since(mark, durable), unmarked(&[tags[0], tags[1]]));
    assert_eq!(sim.bodies_since(mark, transient), unmarked(&[tags[0], tags[1]]));
    assert_eq!(sim.bodies_since(mark, other), unmarked(&[tags[0], tags[2]]));
}

#[test]
fn a_durable_subscription_queue_keeps_what_came_while_no_one_read_it_across_a_broker_restart() {
    let mut sim = Sim::scripted();
    sim.connect();
    let (exchange, key, queue) = DURABLE[0];
    let first = sim.consume_from(ConsumeFrom::durable(exchange, key, queue), options()).expect("durable");
    let fanout = sim.consume_from(ConsumeFrom::exchange(exchange, key), options()).expect("transient");
    sim.settle();
    sim.cancel(first);
    sim.cancel(fanout);
    sim.settle();
    assert!(sim.broker.queues.contains_key(queue), "an UNSUBSCRIBE keeps the durable queue");
    let ids: Vec<OutboxId> = (0..3)
        .map(|_| sim.publish_to_exchange(exchange, "any").expect("published"))
        .collect();
    sim.settle();
    assert!(ids.iter().all(|id| sim.outcome(*id) == Some(super::Outcome::Confirmed)));
    let tags: Vec<u64> = ids.iter().map(|id| sim.pubs[id].tag).collect();
    sim.restart_broker(Duration::from_secs(2), false);
    sim.run_for(Duration::from_secs(5));
    assert!(sim.core.is_connected(), "reconnected");
    let mark = sim.mark();
    let again = sim.consume_from(ConsumeFrom::durable(exchange, key, queue), options()).expect("durable again");
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.bodies_since(mark, again), unmarked(&tags), "all three, once each, in order");
}
