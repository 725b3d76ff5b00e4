//! An exclusive queue this connection declared, still held by the connection
//! that dropped. A network drop RabbitMQ has not noticed leaves the old
//! connection, and the exclusive queues it owns, alive at the broker until its
//! heart-beat check gives up on it (twice or three times our heart-beat
//! interval). Meanwhile declaring the queue again is refused `RESOURCE_LOCKED`,
//! and the refusal ends the connection (3.10.8 and 4.0.5 alike). So the core
//! keeps the queue and its consumers, and everything else goes on meanwhile: it
//! reads the queue from the management API every 2 s until it is gone (or no
//! longer exclusive), then declares it again and subscribes its consumers. With
//! no management API to ask, it declares the queue again after 2, 4, 8, then
//! every 16 s, each refusal costing a reconnect. When RabbitMQ lets the old
//! connection go it deletes the queue with what was in it: what comes after
//! starts from an empty queue ([`Warning::ExclusiveQueueHeld`] says so once).
//! After [`MAX_LOCKED_REFUSALS`] refusals, or two minutes of look-ups, it is
//! refused as any declare again is ([`Warning::NotDeclaredAgain`]).
//!
//! A token renewal's old link holds them too: their consumers move only once it
//! is gone (see `renew::waits_for_old`), and the queues are held, looked up at
//! once, from then (`hold_exclusive_queues`).

use std::time::Duration;

use super::{Core, DeclareId, LookUpId, Warning};
use crate::rabbit::{ConsumeFrom, QueueFacts, Refusal, RefusalKind};
use crate::reliable::ConsumerKey;

/// Refusals of an exclusive queue's declare again before it counts as refused:
/// waits of 2 + 4 + 8 + 16 × 5 s, beyond the 20-30 s RabbitMQ takes to drop a
/// connection silent at the default 10 s heart-beat.
pub(super) const MAX_LOCKED_REFUSALS: u32 = 8;

/// How often the management API is asked whether the old connection let go.
const LOOK_UP_EVERY: Duration = Duration::from_secs(2);

/// Look-ups that find it still held before it is declared again regardless
/// (two minutes).
const MAX_HELD_LOOK_UPS: u32 = 60;

/// A queue held by a connection that ended.
#[derive(Debug, Clone, Default)]
pub(super) struct Locked {
    queue: String,
    /// How often declaring it again was refused so far.
    refusals: u32,
    /// When to look it up, or declare it again, on the current connection;
    /// `None` while that is under way or until the next connection.
    retry_at: Option<Duration>,
    /// The management API's look-up under way.
    look_up: Option<LookUpId>,
    /// Found held while connected (a look-up's answer that came after the
    /// next CONNECTED): its wait starts at the next wake-up, as `plan_locked`
    /// starts it at CONNECTED (simulation seed 92: it was never looked up again).
    plan: bool,
    /// Look-ups that found it still held.
    held_look_ups: u32,
    /// The management API could not say (none known, or it failed): declaring
    /// again is the only way to find out.
    no_api: bool,
    /// [`Warning::ExclusiveQueueHeld`] was said.
    said: bool,
    /// The facts that explained its declare again's close said it is not there:
    /// nothing holds it, so that close is not said to be the old connection's.
    gone: bool,
    /// Held only until the facts explain the close that cut the user's declare
    /// of it (see `declare::owe_until_explained`): no wait of its own.
    explaining: bool,
}

impl Locked {
    /// The wait before declaring it again, once connected.
    fn delay(&self) -> Duration {
        Duration::from_secs(1 << self.refusals.clamp(1, 4))
    }
}

impl Core {
    /// Whether a `RESOURCE_LOCKED` refusal of `queue` (or a close without words
    /// on its declare again) means it is still ours,
    /// held by the connection that dropped: an exclusive queue this connection
    /// declared, refused fewer than [`MAX_LOCKED_REFUSALS`] times. Then it is
    /// kept, and declared again later.
    pub(super) fn held_by_old_link(&mut self, queue: &str) -> bool {
        if !self.hold_until_explained(queue) {
            return false;
        }
        let Some(entry) = self.locked_entry(queue) else { return false };
        entry.refusals += 1;
        entry.retry_at = None;
        entry.plan = true;
        if entry.refusals > MAX_LOCKED_REFUSALS {
            self.unlock(queue);
            return false;
        }
        // Still waited for (the close may have been its refusal), but only said
        // held when nothing says it is gone (simulation seed 83 said so of a queue
        // the facts had just found missing).
        if !std::mem::take(&mut entry.gone) {
            self.say_held(queue);
        }
        true
    }

    /// Says once that the connection that ended still holds `queue`.
    fn say_held(&mut self, queue: &str) {
        let Some(entry) = self.locked_entry(queue).filter(|entry| !entry.said) else { return };
        entry.said = true;
        self.status(super::ConnectionEvent::Warning(Warning::ExclusiveQueueHeld { queue: queue.to_owned() }));
    }

    /// The facts that explain the close on declare again `request` say its queue
    /// is not there (RabbitMQ let the old connection go, and the queue with it).
    pub(super) fn redeclared_queue_gone(&mut self, request: DeclareId) {
        let Some(queue) = self.redeclared(request).cloned() else { return };
        if let Some(entry) = self.locked_entry(&queue) {
            entry.gone = true;
        }
    }

    /// Whether `queue` is an exclusive one this connection declared, which a
    /// connection that dropped may hold: if so it waits (declared again only after
    /// a wait) until the refusal of its declare again is explained.
    pub(super) fn hold_until_explained(&mut self, queue: &str) -> bool {
        self.settings.reconnect && self.hold(queue)
    }

    /// Holds `queue` if it is an exclusive one this connection declared; whether it is.
    fn hold(&mut self, queue: &str) -> bool {
        let ours = self.exclusive_ours(queue);
        if ours && !self.is_locked(queue) {
            self.locked.push(Locked { queue: queue.to_owned(), ..Locked::default() });
        }
        ours
    }

    /// Whether `queue` is an exclusive queue this connection declared.
    pub(super) fn exclusive_ours(&self, queue: &str) -> bool {
        self.declared_queues.iter().any(|(name, options)| name == queue && options.exclusive)
    }

    /// The exclusive queues this connection declared or is declaring: the link
    /// that declared them owns them, a renewal's old one included (simulation
    /// seed 1038660: one declared while the successor got ready was consumed
    /// there, NOT_FOUND).
    pub(super) fn our_exclusive_queues(&self) -> Vec<String> {
        let declared = self.declared_queues.iter().map(|(queue, options)| (queue, options));
        let declaring = self.declares.values().map(|(queue, options)| (queue, options));
        declared.chain(declaring).filter(|(_, options)| options.exclusive).map(|(queue, _)| queue.clone()).collect()
    }

    /// A renewal's old link is gone, and its exclusive `queues` with it: each is
    /// looked up at once, declared again once RabbitMQ has deleted it, and its
    /// consumers subscribe then.
    pub(super) fn hold_exclusive_queues(&mut self, now: Duration, queues: Vec<String>) {
        for queue in queues {
            let held_already = self.is_locked(&queue);
            // A renewal moves a one-off connection too: held whether or not it reconnects.
            if !self.hold(&queue) {
                continue;
            }
            if held_already {
                // It keeps its wait: looked up or declared again at once at every
                // renewal, it was refused eight times in 20 s and failed its
                // consumer (simulation seed 9004). With nothing under way (its
                // declare again answered on the old link, which owned it then),
                // the wait starts now (seed 18295: it was never asked again).
                if let Some(entry) = self.locked_entry(&queue).filter(|e| e.retry_at.is_none() && e.look_up.is_none()) {
                    entry.plan = true;
                }
                continue;
            }
            if let Some(entry) = self.locked_entry(&queue) {
                entry.retry_at = Some(now);
            }
            // What is published to it until then goes nowhere: said, as a gap is.
            self.say_held(&queue);
        }
    }

    fn locked_entry(&mut self, queue: &str) -> Option<&mut Locked> {
        self.locked.iter_mut().find(|entry| entry.queue == queue)
    }

    /// Forgets that `queue` is held; whether it was.
    pub(super) fn unlock(&mut self, queue: &str) -> bool {
        let at = self.locked.iter().position(|entry| entry.queue == queue);
        at.map(|at| self.locked.swap_remove(at)).is_some()
    }

    /// Whether a consumer of `queue` refused as `refusal` waits for the queue (the
    /// connection that dropped holds it) instead of failing.
    pub(super) fn consumer_held(&mut self, queue: &str, refusal: &Refusal) -> bool {
        refusal.kind == RefusalKind::ResourceLocked && (self.is_locked(queue) || self.held_by_old_link(queue))
    }

    /// Whether `queue` waits for the connection that dropped to let it go.
    pub(super) fn is_locked(&self, queue: &str) -> bool {
        self.locked.iter().any(|entry| entry.queue == queue)
    }

    /// Whether consumer `key` waits for its queue to be declared again.
    pub(super) fn waits_for_lock(&self, key: ConsumerKey) -> bool {
        self.consumers.get(&key).is_some_and(|spec| matches!(&spec.source, ConsumeFrom::Queue(q) if self.is_locked(q)))
    }

    /// At CONNECTED: each held queue is looked up, or declared again, after its wait.
    pub(super) fn plan_locked(&mut self, now: Duration) {
        for entry in self.locked.iter_mut().filter(|entry| !entry.explaining) {
            entry.look_up = None;
            entry.plan = false;
            entry.retry_at = Some(now + entry.delay());
        }
    }

    /// When to declare a held queue again, while connected.
    pub(super) fn locked_deadline(&self) -> Option<Duration> {
        if !self.current.as_ref().is_some_and(|c| c.takes_requests()) {
            return None;
        }
        self.locked.iter().filter_map(|entry| if entry.plan { Some(Duration::ZERO) } else { entry.retry_at }).min()
    }

    /// [`super::Timer::Locked`]: each held queue whose wait is over is looked
    /// up, or declared again when there is no management API to ask.
    pub(super) fn retry_locked(&mut self, now: Duration) {
        let url = self.current.as_ref().map(|c| c.url.clone()).unwrap_or_default();
        for entry in self.locked.iter_mut().filter(|entry| entry.plan) {
            entry.plan = false;
            entry.retry_at = Some(now + entry.delay());
        }
        // One at a time: each is no longer due once taken.
        while let Some(at) = self.locked.iter().position(|entry| entry.retry_at.is_some_and(|at| at <= now)) {
            let Some(entry) = self.locked.get_mut(at) else { return };
            entry.retry_at = None;
            let (queue, no_api) = (entry.queue.clone(), entry.no_api);
            if no_api {
                self.redeclare_locked(now, &queue);
            } else {
                let id = self.ask_queue(url.clone(), queue);
                if let Some(entry) = self.locked.get_mut(at) {
                    entry.look_up = Some(id);
                }
            }
        }
    }

    /// The answer to a held queue's look-up `id` (whether it was one): still
    /// exclusive, it is asked again in 2 s; gone or no longer exclusive, or the
    /// API could not say, it is declared again.
    pub(super) fn locked_facts(&mut self, now: Duration, id: LookUpId, facts: &Result<Option<QueueFacts>, String>) -> bool {
        let Some(entry) = self.locked.iter_mut().find(|entry| entry.look_up == Some(id)) else {
            return false;
        };
        entry.look_up = None;
        let queue = entry.queue.clone();
        match facts {
            Ok(Some(facts)) if facts.exclusive && entry.held_look_ups < MAX_HELD_LOOK_UPS => {
                entry.held_look_ups += 1;
                entry.retry_at = Some(now + LOOK_UP_EVERY);
                self.say_held(&queue);
                return true;
            }
            // Held for two minutes: one more refusal ends it.
            Ok(Some(facts)) if facts.exclusive => entry.refusals = MAX_LOCKED_REFUSALS,
            Ok(_) => {}
            Err(_) => entry.no_api = true,
        }
        if self.current.as_ref().is_some_and(|c| c.takes_requests()) {
            self.redeclare_locked(now, &queue);
        }
        true
    }

    /// Declares held `queue` again, as it was declared.
    pub(super) fn redeclare_locked(&mut self, now: Duration, queue: &str) {
        if let Some(options) = self.declared_queues.iter().find(|(name, _)| name == queue).map(|(_, o)| o.clone()) {
            self.redeclare(now, queue.to_owned(), options);
        }
    }

    /// The declare again of `queue` succeeded: the old connection let it go, and
    /// its consumers subscribe now.
    pub(super) fn lock_released(&mut self, now: Duration, queue: &str) {
        if self.unlock(queue) {
            self.subscribe_waiting(now, queue);
        }
    }

    /// Holds `queue` until the facts explain the close that cut its declare.
    pub(super) fn hold_for_explanation(&mut self, queue: &str) {
        if !self.is_locked(queue) {
            self.locked.push(Locked { queue: queue.to_owned(), explaining: true, ..Locked::default() });
        }
    }

    /// The consumers of `queue` that waited for it subscribe now.
    pub(super) fn subscribe_waiting(&mut self, now: Duration, queue: &str) {
        // Stopping, the DISCONNECT went: they end with the stop (simulation seed
        // 28809: facts answered then failed one "not connected").
        if self.life != super::Life::Running {
            return;
        }
        let waiting: Vec<ConsumerKey> = self
            .consumers
            .iter()
            .filter(|(_, spec)| spec.sub.is_none() && matches!(&spec.source, ConsumeFrom::Queue(q) if q == queue))
            .map(|(key, _)| *key)
            .collect();
        self.subscribe_all(now, waiting);
    }
}
