//! `queue_declare` on the current connection, or over a side connection when
//! this one declared the queue already (see `side`); and the queues it declared,
//! declared again on every later connection (a broker restart deletes a
//! non-durable queue, and a consumer's `/amq/queue/` SUBSCRIBE does not make it).

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crate::client::{CloseReason, Fault};
use crate::rabbit::{QueueOptions, QueueType, RabbitError, RefusalKind};

use super::{ConnectionEvent, Core, DeclareError, DeclareId, Life, Pending, ReliableEvent, StopReason, Warning};

impl Core {
    /// pika's `queue_declare`, on the current connection; the outcome comes as
    /// [`super::ReliableEvent::Declared`], a refusal in RabbitMQ's words (rebuilt
    /// from the management API when Web-STOMP closed without them).
    ///
    /// RabbitMQ's STOMP adapter declares a queue once per connection, so a second
    /// declare of a queue this connection declared goes over a short-lived side
    /// connection to the same node: the broker answers it there (with other
    /// options usually `PRECONDITION_FAILED`; with the same ones it declares the
    /// queue again if it was deleted since) and this connection stays as it is.
    ///
    /// # Errors
    ///
    /// [`DeclareError::NotConnected`], [`DeclareError::Invalid`] (nothing sent),
    /// [`DeclareError::Stopped`].
    pub fn queue_declare(
        &mut self,
        now: Duration,
        queue: &str,
        options: &QueueOptions,
    ) -> Result<DeclareId, DeclareError> {
        if matches!(self.life, Life::Stopping | Life::Stopped) {
            return Err(DeclareError::Stopped);
        }
        if !self.current.as_ref().is_some_and(|c| c.takes_requests()) {
            return Err(DeclareError::NotConnected);
        }
        let id = self.next_declare_id();
        self.send_declare(now, id, queue, options).map_err(DeclareError::Invalid)?;
        self.sync_timers();
        Ok(id)
    }

    /// [`Core::queue_declare`], or, while the connection does not take requests
    /// (before the first connect, while reconnecting, after a planned reconnect's
    /// DISCONNECT), held and sent first once one does: before the consumers'
    /// SUBSCRIBEs and the outbox, so that what was asked after the declare finds
    /// the queue, as on an AMQP channel. A declare RabbitMQ would refuse is then
    /// answered [`DeclareError::Invalid`] as a [`super::ReliableEvent::Declared`].
    ///
    /// # Errors
    ///
    /// [`DeclareError::Invalid`] (nothing sent), [`DeclareError::Stopped`].
    pub fn queue_declare_or_hold(
        &mut self,
        now: Duration,
        queue: &str,
        options: &QueueOptions,
    ) -> Result<DeclareId, DeclareError> {
        let stopping = matches!(self.life, Life::Stopping | Life::Stopped);
        if stopping || self.current.as_ref().is_some_and(|c| c.takes_requests()) {
            return self.queue_declare(now, queue, options);
        }
        let id = self.next_declare_id();
        self.held_declares.push((id, queue.to_owned(), options.clone()));
        Ok(id)
    }

    /// Sends the declares held while the connection was not up, in order.
    pub(super) fn send_held_declares(&mut self, now: Duration) {
        for (id, queue, options) in std::mem::take(&mut self.held_declares) {
            if let Err(refused) = self.send_declare(now, id, &queue, &options) {
                self.emit(ReliableEvent::Declared { request: id, result: Err(DeclareError::Invalid(refused)) });
            }
        }
    }

    fn next_declare_id(&mut self) -> DeclareId {
        self.next_declare += 1;
        DeclareId(self.next_declare)
    }

    /// Declare `id` on the current connection, or over a side connection when
    /// this one declared the queue already; a refusal before sending is returned.
    fn send_declare(&mut self, now: Duration, id: DeclareId, queue: &str, options: &QueueOptions) -> Result<(), RabbitError> {
        let Some(current) = self.current.as_mut() else {
            // No connection to send it on (the callers make sure there is): the next one.
            self.held_declares.push((id, queue.to_owned(), options.clone()));
            return Ok(());
        };
        let declared = current.link.channel_mut().queue_declare(now, queue, options);
        let url = current.url.clone();
        match declared {
            Ok(receipt) => {
                current.requests.insert(receipt, Pending::Declare(id));
                self.declares.insert(id, (queue.to_owned(), options.clone()));
            }
            Err(RabbitError::AlreadyDeclared { .. }) => self.side_declare(now, url, id, queue, options),
            Err(other) => return Err(other),
        }
        Ok(())
    }

    /// The queues this connection declared (each as last declared): declared again
    /// at the start of every later connection, before the consumers' SUBSCRIBEs.
    pub fn declared_queues(&self) -> impl Iterator<Item = (&str, &QueueOptions)> {
        self.declared_queues.iter().map(|(queue, options)| (queue.as_str(), options))
    }

    /// The user deleted `queue` (pika's `queue_delete` goes through the management
    /// API, not this connection): it is no longer declared again at the next
    /// connection, where it would come back, nor bound again. A declare of it
    /// still to go again is answered with the close that cut it short.
    pub fn forget_queue(&mut self, queue: &str) {
        self.unremember(queue);
        self.forget_bindings(queue);
        self.answer_owed(queue, None);
    }

    /// The type this connection declared `queue` as, its latest declare first
    /// (one held for the connection or awaiting its answer too); `None` when it
    /// did not declare it or said no type.
    pub(super) fn declared_type(&self, queue: &str) -> Option<QueueType> {
        let held = self.held_declares.iter().rev().find(|(_, name, _)| name == queue).map(|(_, _, options)| options);
        let sent = self.declares.values().rev().find(|(name, _)| name == queue).map(|(_, options)| options);
        let done = self.declared_queues.iter().find(|(name, _)| name == queue).map(|(_, options)| options);
        held.or(sent).or(done).and_then(QueueOptions::declared_type)
    }

    /// `queue` is no longer declared again at the next connection.
    pub(super) fn unremember(&mut self, queue: &str) {
        self.declared_queues.retain(|(name, _)| name != queue);
        self.redeclares_cleared.retain(|name| name != queue);
        self.unlock(queue);
    }

    /// Whether `queue` is declared again at later connections.
    fn remembered(&self, queue: &str) -> bool {
        self.declared_queues.iter().any(|(name, _)| name == queue)
    }

    /// A close without words cut the declare again of `queue`: it waits, with its
    /// consumers, for the facts (see [`Core::redeclare_explained`]); cut so once
    /// already since its facts cleared it, or a one-off connection, it is given
    /// up (no reconnect loop over it).
    pub(super) fn hold_redeclare(&mut self, queue: &str) {
        if self.hold_until_explained(queue) {
            return;
        }
        if self.settings.reconnect && !self.redeclares_cleared.iter().any(|name| name == queue) {
            self.hold_for_explanation(queue);
        } else {
            self.unremember(queue);
        }
    }

    /// The facts on the declare again `request`, cut by a close without words,
    /// came (`now`; `None`: stopping) and say `result`. Refused, or given up at
    /// the close, it is said as a warning (see [`Core::redeclare_event`]).
    /// Cleared (the queue is missing, or there as declared) or not told (no
    /// management API), the close was something else's (another request refused
    /// beside it, a node going): its queue goes again, now when connected, then
    /// its consumers. QA: forgotten at the first such close, a non-durable queue
    /// was not declared after the next restart, and publishes to it were
    /// confirmed and lost.
    pub(super) fn redeclare_explained(&mut self, now: Option<Duration>, request: DeclareId, result: Result<(), DeclareError>) {
        let refused = matches!(result, Err(DeclareError::Refused(_)));
        let queue = self.redeclared(request).filter(|queue| !self.exclusive_ours(queue)).cloned();
        let (Some(queue), Some(now)) = (queue, now) else {
            return self.answer_explained(now, request, result);
        };
        if refused || !self.remembered(&queue) {
            self.answer_explained(Some(now), request, result);
            // Its consumers waited for it: they subscribe now (seed 1861).
            return self.subscribe_waiting(now, &queue);
        }
        self.redeclaring.retain(|(id, _)| *id != request);
        self.superseded.retain(|id| *id != request);
        // Not held any more: the user's own declare of it succeeded meanwhile.
        if !self.unlock(&queue) {
            return;
        }
        self.redeclares_cleared.push(queue.clone());
        if self.is_connected() {
            self.redeclare_locked(now, &queue);
            self.subscribe_waiting(now, &queue);
        }
    }

    /// The user's declare `request` of `declared` succeeded: the queue is declared
    /// again on later connections (see [`Core::send_redeclares`]).
    pub(super) fn declare_succeeded(&mut self, now: Duration, request: DeclareId, declared: Option<(String, QueueOptions)>) {
        // A declare again may answer after the user forgot its queue.
        if let Some((queue, options)) = declared.filter(|_| self.redeclared(request).is_none()) {
            // The user declared it again meanwhile: it is there as an earlier
            // declare still to go again asked, or that one is not sent again
            // (simulation seed 783: a refusal answered "declared").
            let same = self.declared_queues.iter().any(|(name, o)| *name == queue && *o == options);
            self.answer_owed(&queue, same.then_some(Ok(())));
            self.declared_queues.retain(|(name, _)| *name != queue);
            // It is there now: consumers that waited for it (held, or waiting for
            // the facts on an earlier declare: seed 25051) subscribe.
            self.lock_released(now, &queue);
            self.declared_queues.push((queue, options));
        }
        self.emit(ReliableEvent::Declared { request, result: Ok(()) });
    }

    /// Whether the user's declare `request`, cut short, goes again on the next
    /// connection: the core reconnects, and it is not a declare again (those go
    /// again anyway).
    pub(super) fn goes_again(&self, request: DeclareId) -> bool {
        self.settings.reconnect && self.life == Life::Running && self.redeclared(request).is_none()
    }

    /// The user's declare `request` was cut by a close without words, which may
    /// have been its refusal (RabbitMQ 3.10.8 loses the words): it is owed as a
    /// drop's is, but its queue is held (not declared again, its consumers not
    /// subscribed: simulation seed 7973, NOT_FOUND) until the facts say (see
    /// [`Core::answer_explained`]).
    pub(super) fn owe_until_explained(&mut self, request: DeclareId, reason: &CloseReason) {
        let Some(declared) = self.declares.get(&request).cloned().filter(|_| self.goes_again(request)) else { return };
        let queue = declared.0.clone();
        if self.owe(request, declared, reason) {
            self.explaining.push(request);
            self.hold_for_explanation(&queue);
        }
    }

    /// The facts on the declare `request` came (`now`; `None`: stopping) and
    /// answer it `result`. One owed until explained: refused, the user hears it;
    /// otherwise it goes again, on this connection now, and its consumers
    /// subscribe after it. Answered meanwhile (a stop, a delete), nothing.
    pub(super) fn answer_explained(&mut self, now: Option<Duration>, request: DeclareId, result: Result<(), DeclareError>) {
        let Some(at) = self.explaining.iter().position(|id| *id == request) else {
            self.emit(ReliableEvent::Declared { request, result });
            return;
        };
        self.explaining.swap_remove(at);
        let Some(at) = self.owed.iter().position(|(id, ..)| *id == request) else { return };
        let queue = self.owed.get(at).map(|(_, queue, ..)| queue.clone()).unwrap_or_default();
        self.unlock(&queue);
        if matches!(result, Err(DeclareError::Refused(_))) {
            self.owed.remove(at);
            if !self.owes(&queue) {
                self.declared_queues.retain(|(name, _)| *name != queue);
            }
            self.emit(ReliableEvent::Declared { request, result });
        }
        let Some(now) = now.filter(|_| self.current.as_ref().is_some_and(|c| c.takes_requests())) else { return };
        if self.owes(&queue) {
            self.send_redeclares(now, true);
        }
        self.subscribe_waiting(now, &queue);
    }

    /// The user's declare `request` of `queue` was cut short by `reason`: it is
    /// declared again at the next connection, before the consumers' SUBSCRIBEs,
    /// as the queues declared before are (an exclusive one the connection that
    /// dropped may hold waits as theirs do, see `locked`), and that declare's
    /// outcome is the user's answer. The user hears no "closed" for a
    /// connection the core replaces, as a publish in the outbox does not.
    /// Whether it is owed: not when the queue was declared with other options
    /// before (going again would replace what the connection declares again; the
    /// caller answers it with the close).
    pub(super) fn owe(&mut self, request: DeclareId, (queue, options): (String, QueueOptions), reason: &CloseReason) -> bool {
        // Nor when a declare of it still owed asked for other options: the
        // declare again answers all owed at once (simulation seed 2001697: a
        // non-durable one answered "declared" by a durable one's success).
        let other = |(name, o): (&String, &QueueOptions)| *name == queue && *o != options;
        if self.declared_queues.iter().map(|(n, o)| (n, o)).any(other) || self.owed.iter().map(|(_, n, _, o)| (n, o)).any(other) {
            return false;
        }
        // The core's declares again of it still unanswered are older: their late
        // answer must not forget the queue, or answer the user (simulation seed
        // 1200680: one cut by the same close, explained later, did both).
        let earlier = self.redeclaring.iter().filter(|(_, q)| *q == queue).map(|(id, _)| *id);
        self.superseded.extend(earlier);
        self.declared_queues.retain(|(name, _)| *name != queue);
        self.declared_queues.push((queue.clone(), options.clone()));
        self.owed.push((request, queue, reason.clone(), options));
        true
    }

    fn owes(&self, queue: &str) -> bool {
        self.owed.iter().any(|(_, name, ..)| name == queue)
    }

    /// A declare of `queue` was answered `outcome`: so are the user's declares of
    /// it that went again. A refusal answers the first (two are the same declare
    /// twice; not cloned, for size), the others, and all when `None` (it will not
    /// go again), hear the close that cut them short.
    fn answer_owed(&mut self, queue: &str, mut outcome: Option<Result<(), DeclareError>>) {
        let ok = matches!(outcome, Some(Ok(())));
        while let Some(at) = self.owed.iter().position(|(_, name, ..)| name == queue) {
            let (request, _, reason, _) = self.owed.remove(at);
            let result = if ok { Ok(()) } else { outcome.take().unwrap_or(Err(DeclareError::Closed(reason))) };
            self.emit(ReliableEvent::Declared { request, result });
        }
    }

    /// The core stopped: the declares still to go again never will.
    pub(super) fn answer_owed_stopped(&mut self, reason: &StopReason) {
        while !self.owed.is_empty() {
            let (request, _, closed, _) = self.owed.remove(0);
            let error = if *reason == StopReason::Requested { DeclareError::Stopped } else { DeclareError::Closed(closed) };
            self.emit(ReliableEvent::Declared { request, result: Err(error) });
        }
    }

    /// The queue of `request`, if it is a declare again.
    pub(super) fn redeclared(&self, request: DeclareId) -> Option<&String> {
        self.redeclaring.iter().find(|(id, _)| *id == request).map(|(_, queue)| queue)
    }

    /// At CONNECTED (not the first, which has none; not a renewal's new link, made
    /// while the old one still holds the queues, where an exclusive one would be
    /// refused): each queue this connection declared is declared again, as the
    /// core's own, before the held declares and the SUBSCRIBEs. A queue the user
    /// declares again among the held ones is theirs to declare. One the
    /// connection that dropped still holds goes after its wait (see `locked`).
    /// `only_owed`: a renewal's successor, connected already, took over from a
    /// link that dropped, and only the user's declares the drop cut short go.
    pub(super) fn send_redeclares(&mut self, now: Duration, only_owed: bool) {
        let held = |queue: &String| self.held_declares.iter().any(|(_, name, _)| name == queue);
        let again: Vec<(String, QueueOptions)> = self
            .declared_queues
            .iter()
            .filter(|(queue, _)| (!only_owed || self.owes(queue)) && !held(queue) && !self.is_locked(queue))
            .map(|(queue, options)| (queue.clone(), options.clone()))
            .collect();
        for (queue, options) in again {
            self.redeclare(now, queue, options);
        }
    }

    /// Declares `queue` again, as the core's own.
    pub(super) fn redeclare(&mut self, now: Duration, queue: String, options: QueueOptions) {
        // Stopping, the DISCONNECT went: nothing goes after it (simulation seed
        // 21478: a held queue's look-up answered then made it "not declared again").
        if self.life != Life::Running {
            return;
        }
        let id = self.next_declare_id();
        self.redeclaring.push((id, queue.clone()));
        if let Err(refused) = self.send_declare(now, id, &queue, &options) {
            self.emit(ReliableEvent::Declared { request: id, result: Err(DeclareError::Invalid(refused)) });
        }
    }

    /// A declare again is the core's own: its answer reaches nobody. A refusal (in
    /// words, or by the facts after a close without words: see
    /// [`Core::redeclare_explained`]) is said once as a warning, and the queue is
    /// not declared again (no reconnect loop over it); a network drop, a timeout,
    /// a close the broker explained (a node shutting down, another request
    /// refused) or a stop only cut it short: it goes again at the next connection.
    pub(super) fn redeclare_event(&mut self, event: ReliableEvent) -> Option<ReliableEvent> {
        let ReliableEvent::Declared { request, result } = event else { return Some(event) };
        let Some(at) = self.redeclaring.iter().position(|(id, _)| *id == request) else {
            return Some(ReliableEvent::Declared { request, result });
        };
        let (_, queue) = self.redeclaring.swap_remove(at);
        if let Some(stale) = self.superseded.iter().position(|id| *id == request) {
            self.superseded.swap_remove(stale);
            return None;
        }
        let error = match result {
            Ok(()) => {
                // An earlier one still being explained would hold the queue this
                // connection now owns, and look it up for good (simulation seed 74139).
                let earlier = self.redeclaring.iter().filter(|(_, q)| *q == queue).map(|(id, _)| *id);
                self.superseded.extend(earlier);
                self.redeclares_cleared.retain(|name| *name != queue);
                self.answer_owed(&queue, Some(Ok(())));
                return None;
            }
            Err(DeclareError::Stopped) => return None,
            // Only the broker's close without words may be its refusal: a network
            // drop, a timeout or an explained close cut it short, and it goes again.
            Err(DeclareError::Closed(reason)) if cut_short(&reason) => return None,
            Err(error) => error,
        };
        // Refused as locked, or closed on without words (3.10.8 with no
        // management API to say why): the connection that dropped may hold it.
        let locked = match &error {
            DeclareError::Refused(refusal) => refusal.kind == RefusalKind::ResourceLocked,
            DeclareError::Closed(_) => true,
            _ => false,
        };
        if locked && self.held_by_old_link(&queue) {
            return None;
        }
        self.unremember(&queue);
        // A user's declare that went again hears the refusal; a queue only the
        // core declares again is warned of.
        if self.owes(&queue) {
            self.answer_owed(&queue, Some(Err(error)));
            return None;
        }
        let error = error.to_string();
        Some(ReliableEvent::Connection(ConnectionEvent::Warning(Warning::NotDeclaredAgain { queue, reason: error })))
    }
}

/// Whether `reason` only cut a declare short: a network drop, a timeout, a stop,
/// or a close the broker explained (a node shutting down, another request
/// refused). Only the broker's close without words may be its refusal.
pub(super) fn cut_short(reason: &CloseReason) -> bool {
    reason.fault() != Fault::Broker || reason.server_error().is_some() || matches!(reason, CloseReason::Disconnected)
}
