//! Exclusive queues the client declares, and network cuts the broker does not see.
//!
//! A quarter of the runs (drawn from this module's own random numbers, so that
//! the others keep their schedules) declare exclusive queues `x-<n>`, consume
//! from each with client acks, publish to them, and cut the current connection
//! silently: from then nothing passes either way and neither end hears a close.
//! The core finds out by its heart-beats; the broker keeps the connection, and
//! the exclusive queues it owns, until its own check drops it 5-40 s later
//! (RabbitMQ drops a silent connection after two or three heart-beat intervals;
//! a frozen broker checks nothing).
//!
//! The broker refuses declaring such a queue from another connection, and
//! subscribing to it there, with `RESOURCE_LOCKED` (3.10.8 may lose the words),
//! and deletes it with its connection, with what it held.
//!
//! Invariant 14: neither an exclusive queue's consumer nor its declare fails
//! because a connection that dropped holds the queue, nor because its declare
//! was cut short (a consumer may fail only when its queue's declare was answered
//! with an error: a declare a network drop cuts short goes again before it, one
//! Web-STOMP closed on without words waits for the management API's facts, with
//! its consumers, then goes again unless they refuse it); at quiet points a consumer
//! whose queue the current connection does not own may be unsubscribed (every
//! other one is subscribed: invariant 4); by the heal's end each is subscribed
//! again on the current connection. A confirmed publish to such a queue is
//! delivered, or was lost with the queue (deleted with its connection or by a
//! restart, or gone when the publish arrived: the default exchange drops it and
//! confirms).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use burrow::reliable::{ConsumeOptions, ConsumerKey, DeclareId, LinkId};
use burrow::rabbit::QueueOptions;
use burrow::stomp::Frame;

use super::{ms, Broker, ConsumerRec, DeclareExpect, PubKind, Rng, Sim, SockState};

/// The simulation's side: whether this run uses them, the queues, the cuts.
#[derive(Debug)]
pub(crate) struct SimExclusive {
    /// Its own random numbers, so the rest of a seed's schedule keeps its shape.
    rng: Rng,
    /// This run declares exclusive queues and cuts connections.
    on: bool,
    next: u64,
    /// The exclusive queues declared.
    queues: BTreeSet<String>,
    /// Each message published to one: to which.
    published: HashMap<u64, String>,
    /// The declares made, by request.
    declares: HashMap<DeclareId, String>,
    /// Queues whose declare was answered with an error (the user is told): a
    /// consumer of one may fail. One cut short by a drop goes again before its
    /// consumers, one cut by a close without words waits for the facts with them.
    failed: BTreeSet<String>,
    /// Cut links, and when the broker drops each.
    notices: Vec<(Duration, LinkId)>,
}

impl SimExclusive {
    pub(crate) fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed ^ 0x4558_434C);
        let on = rng.chance(25);
        SimExclusive { rng, on, next: 0, queues: BTreeSet::new(), published: HashMap::new(), declares: HashMap::new(), failed: BTreeSet::new(), notices: Vec::new() }
    }

    /// Whether `queue` is one of the exclusive queues the client declared.
    pub(crate) fn is_exclusive(&self, queue: &str) -> bool {
        self.queues.contains(queue)
    }

    /// A declare answered with an error.
    pub(crate) fn declare_failed(&mut self, request: DeclareId) {
        if let Some(queue) = self.declares.get(&request) {
            self.failed.insert(queue.clone());
        }
    }

    /// Whether a consumer of `queue` may fail: one of ours whose declare was
    /// answered with an error (before the failure).
    pub(crate) fn may_fail(&self, queue: &str) -> bool {
        self.is_exclusive(queue) && self.failed.contains(queue)
    }

    /// When the broker next drops a cut connection.
    pub(crate) fn next_notice(&self) -> Option<Duration> {
        self.notices.iter().map(|(at, _)| *at).min()
    }
}

impl Broker {
    /// `RESOURCE_LOCKED`'s words when `queue` is exclusive to a connection other
    /// than `link`.
    pub(crate) fn locked_by_another(&self, link: LinkId, queue: &str) -> Option<String> {
        let owner = self.ex.exclusive.get(queue)?;
        (*owner != link).then(|| {
            format!(
                "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '{queue}' in vhost '/'. It could be \
                 originally declared on another connection or the exclusive property value does not match that of the \
                 original declaration."
            )
        })
    }

    /// A queue the declare on `link` made: exclusive to it if the declare says so.
    pub(crate) fn note_exclusive(&mut self, link: LinkId, queue: &str, frame: &Frame) {
        if frame.header("exclusive") == Some("true") {
            self.ex.exclusive.insert(queue.to_owned(), link);
        }
    }
}

impl Sim {
    /// The schedule's exclusive step: declare a queue and consume from it, publish
    /// to one, or cut the connection without a word.
    pub(crate) fn exclusive_op(&mut self) -> bool {
        if !self.excl.on || !self.excl.rng.chance(8) {
            return false;
        }
        match self.excl.rng.below(100) {
            0..=29 => {
                if self.live_exclusive_consumers().count() >= 2 {
                    return true;
                }
                self.excl.next += 1;
                let queue = format!("x-{}", self.excl.next);
                let options = QueueOptions { exclusive: true, ..QueueOptions::default() };
                vlog!(self, "declare exclusive {queue}");
                let Some(request) = self.declare(&queue, &options, DeclareExpect::Ok) else { return true };
                self.excl.declares.insert(request, queue.clone());
                self.excl.queues.insert(queue.clone());
                self.stats.exclusive_queues += 1;
                let prefetch = self.excl.rng.range(1, 5) as u16;
                self.consume_with(&queue, ConsumeOptions { prefetch, ..ConsumeOptions::default() });
            }
            30..=69 => {
                let queues: Vec<String> = self.excl.queues.iter().cloned().collect();
                if queues.is_empty() {
                    return true;
                }
                let queue = queues[self.excl.rng.below(queues.len() as u64) as usize].clone();
                for _ in 0..self.excl.rng.range(1, 3) {
                    self.stats.exclusive_publishes += 1;
                    self.excl.published.insert(self.next_tag + 1, queue.clone());
                    if self.publish_with("", &queue, PubKind::Exclusive, 0).is_err() {
                        break;
                    }
                }
            }
            _ => self.cut_current(),
        }
        true
    }

    /// A network cut neither end hears: the current socket stays open, nothing
    /// passes, and the broker drops the connection only 5-40 s later. Only on a
    /// connection with heart-beats, which are how the client finds out.
    fn cut_current(&mut self) {
        let Some(link) = self.core.current_link() else { return };
        let notice = self.now + ms(self.excl.rng.range(5_000, 40_000));
        let Some(sock) = self.socks.get_mut(&link) else { return };
        if sock.state != SockState::Open || sock.broker_gone || sock.hb_since.is_none() {
            return;
        }
        sock.to_broker.clear();
        sock.to_client.clear();
        sock.broker_gone = true;
        sock.cut = true;
        self.excl.notices.push((notice, link));
        self.stats.cuts += 1;
        vlog!(self, "network cut of {link}; the broker notices at {notice:?}");
    }

    /// The broker drops the cut connections whose time came (not while frozen).
    pub(crate) fn notice_cuts(&mut self) {
        let now = self.now;
        if self.broker.frozen(now) {
            return;
        }
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.excl.notices).into_iter().partition(|(at, _)| *at <= now);
        self.excl.notices = later;
        for (_, link) in due {
            vlog!(self, "the broker drops the silent {link}");
            self.broker.drop_conn(link);
            self.broker.dispatch(now);
            self.flush_broker();
        }
    }

    /// Consumers of exclusive queues the current connection does not own: a
    /// connection that dropped holds the queue, or it is gone and not yet
    /// declared again. They may be unsubscribed at a quiet point.
    pub(crate) fn waiting_for_exclusive(&self, link: LinkId) -> BTreeSet<ConsumerKey> {
        self.consumers
            .iter()
            .filter(|(_, rec)| self.excl.is_exclusive(&rec.queue) && self.broker.ex.exclusive.get(&rec.queue) != Some(&link))
            .map(|(key, _)| *key)
            .collect()
    }

    /// Consumers whose queue's declare is unanswered, or is being looked up (the
    /// core's declare again): cut by a close without words, it waits for the
    /// facts, and they with it.
    pub(crate) fn waiting_for_declare(&self) -> BTreeSet<ConsumerKey> {
        let unanswered = |queue: &str| self.declares.values().any(|d| !d.done && d.queue == queue);
        let looked_up = |queue: &str| self.lookups.iter().any(|(_, question)| question.queue == queue);
        let waits = |queue: &str| unanswered(queue) || looked_up(queue);
        self.consumers.iter().filter(|(_, rec)| waits(&rec.queue)).map(|(key, _)| *key).collect()
    }

    /// The consumers of exclusive queues not cancelled or failed.
    fn live_exclusive_consumers(&self) -> impl Iterator<Item = &ConsumerRec> {
        self.consumers.values().filter(|rec| self.excl.is_exclusive(&rec.queue) && !rec.cancel_requested && !rec.failed)
    }

    /// Whether the current connection is cut (the core has not noticed yet):
    /// nothing on it is healed (seed 1177333, cut at the last step).
    pub(crate) fn current_cut(&self) -> bool {
        self.core.current_link().and_then(|link| self.socks.get(&link)).is_some_and(|sock| sock.cut)
    }

    /// Whether every live consumer of an exclusive queue is subscribed on the
    /// current connection (the heal waits for it).
    pub(crate) fn exclusive_consumers_back(&self) -> bool {
        let Some(conn) = self.core.current_link().and_then(|link| self.broker.conns.get(&link)) else { return false };
        self.live_exclusive_consumers().all(|rec| conn.subs.values().any(|sub| sub.queue == rec.queue))
    }

    /// Invariant 14 for a confirmed publish to an exclusive queue, as it is
    /// confirmed (`at_end` false) and after the heal.
    pub(crate) fn check_exclusive_confirmed(&mut self, tag: u64, at_end: bool) {
        if self.delivered.contains(&tag) {
            return;
        }
        if self.broker.lost_with_queue.contains(&tag) {
            if at_end {
                self.stats.exclusive_lost += 1;
            }
            return;
        }
        let queue = self.excl.published.get(&tag).cloned().unwrap_or_default();
        let read = self.consumers.values().any(|rec| rec.queue == queue && !rec.cancel_requested && !rec.failed);
        match (self.broker.copies_of(tag) > 0, at_end) {
            (true, false) => {}
            // Kept for a reader that is no more.
            (true, true) if !read => {}
            _ => fail!(self, "confirmed m-{tag}, published to {queue}, was neither delivered nor lost with its queue"),
        }
    }

    /// Whether the exclusive queues with a reader are empty (the heal waits for it).
    pub(crate) fn exclusive_queues_read(&self) -> bool {
        self.live_exclusive_consumers().all(|rec| self.broker.queues.get(&rec.queue).is_none_or(|q| q.msgs.is_empty()))
    }
}
