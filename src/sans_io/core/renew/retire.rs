//! The retiring link of a renewal (see the parent module): once the successor is the
//! current link, the old one takes no more publishes, waits for the confirms of
//! what it sent and the replies to the calls it carried, then DISCONNECTs; what
//! it left unconfirmed goes again on the new link, marked, once it closed.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crate::client::{CloseReason, Event, ReceiptId, Request};

use super::super::credentials::Renewal;
use super::super::{Action, ConnectionEvent, ConsumerKey, Core, Current, DeclareError, Pending, ReliableEvent};

impl Core {
    /// The retiring link's confirms are all in (or its wait is over): publishing
    /// moves to the current link (once the old one closed if some are unconfirmed
    /// still), and DISCONNECT goes once the replies to the calls whose request it
    /// carried came (or the same wait is over).
    pub(in crate::sans_io::core) fn continue_retiring(&mut self, now: Duration) {
        let (until, awaiting) = match self.renewal.retiring.as_ref().and_then(|r| r.planned) {
            Some(Renewal::Draining { until }) => (until, false),
            Some(Renewal::AwaitingReplies { until }) => (until, true),
            _ => return,
        };
        if !awaiting && self.outbox.in_flight() > 0 && until > now {
            return;
        }
        if self.calls_on_retiring() && until > now {
            if !awaiting {
                if let Some(old) = self.renewal.retiring.as_mut() {
                    old.planned = Some(Renewal::AwaitingReplies { until });
                }
                self.flush(now);
            }
            return;
        }
        let Some(old) = self.renewal.retiring.as_ref().map(|r| r.id) else { return };
        // What it delivered and nobody took is dropped: it comes again on the
        // current link, marked, and only that copy is handed out.
        let failed = !self.send_planned_disconnect(now, old);
        // Unconfirmed after the wait: they go again on the new link, marked, but
        // only once the old one closed. Sent at once, a copy could reach the queue
        // ahead of its unmarked original still on its way over the old socket, and
        // the reader would take the marked copy first (simulation seeds 3625, 8472).
        // Awaiting replies, publishing had moved: what is in flight is the new link's.
        self.renewal.retiring_in_flight = !awaiting && self.outbox.in_flight() > 0;
        // Replies to calls on the old link still awaited are lost with it.
        self.calls_retiring_lost(&CloseReason::Disconnected);
        if failed {
            self.retiring_ended(now, CloseReason::Disconnected);
        }
        self.flush(now);
    }

    /// Handles what the retiring link reported: confirms, deliveries, its close.
    pub(super) fn process_retiring(&mut self, now: Duration) {
        let Some(mut old) = self.renewal.retiring.take() else { return };
        let mut closed = None;
        while let Some(event) = old.link.poll_event() {
            match event {
                Event::Message(message) => self.on_message_on(now, &mut old, message),
                Event::Receipt { id, request } => self.retiring_receipt(now, &mut old, &id, &request),
                Event::Connected(_) | Event::Error(_) | Event::ReceiptsLost(_) => {}
                Event::LocalError(error) => self.status(ConnectionEvent::Warning(error.into())),
                Event::Closed(reason) => {
                    closed = Some(reason);
                    break;
                }
            }
        }
        self.renewal.retiring = Some(old);
        match closed {
            Some(reason) => self.retiring_ended(now, reason),
            None => self.continue_retiring(now),
        }
    }

    fn retiring_receipt(&mut self, now: Duration, old: &mut Current, id: &ReceiptId, request: &Request) {
        match old.requests.remove(id) {
            Some(Pending::Unsubscribe(key)) => self.emit(ReliableEvent::ConsumerCancelled(key)),
            Some(Pending::Declare(request)) => {
                let declared = self.declares.remove(&request);
                self.declare_succeeded(now, request, declared);
            }
            Some(Pending::Subscribe(_)) => {}
            // Its confirms count until what it had in flight goes again on the new
            // link (whose receipt ids may be the same): while draining, and after
            // its DISCONNECT until it closes.
            None if matches!(request, Request::Send { .. }) && self.old_confirms_count(old) => {
                self.publish_confirmed(now, id);
                // The room it frees is for publishers waiting in line (simulation
                // seed 75752: one waited for good behind a full outbox).
                self.admit_waiting();
                if self.outbox.in_flight() == 0 && matches!(old.planned, Some(Renewal::Disconnecting)) {
                    // All confirmed: nothing goes again, publishing moves over now.
                    self.renewal.retiring_in_flight = false;
                    self.flush(now);
                }
            }
            None => {}
        }
    }

    /// Whether the old link's confirms still settle publishes (it is out of
    /// `self.renewal` while its events are handled).
    pub(super) fn old_confirms_count(&self, old: &Current) -> bool {
        match old.planned {
            Some(Renewal::Draining { .. }) => true,
            Some(Renewal::AwaitingReplies { .. }) => false,
            Some(Renewal::Disconnecting) => self.renewal.retiring_in_flight,
            None => false,
        }
    }

    /// The retiring link closed: what was pending on it ends, what it delivered
    /// and was not acked comes again on the current link.
    fn retiring_ended(&mut self, now: Duration, reason: CloseReason) {
        let Some(mut old) = self.renewal.retiring.take() else { return };
        let close = reason.socket_code();
        self.actions.push_back(Action::Close { link: old.id, code: close.code, reason: close.reason.to_owned() });
        let draining = matches!(old.planned, Some(Renewal::Draining { .. }));
        if draining || std::mem::take(&mut self.renewal.retiring_in_flight) {
            // What it had in flight goes again on the new link, after the originals.
            self.outbox.connection_lost();
            self.confirm_watch.reset();
        }
        if draining || matches!(old.planned, Some(Renewal::AwaitingReplies { .. })) {
            // Closed before its DISCONNECT (the broker's expiry close).
            self.calls_retiring_lost(&reason);
        }
        self.settle_retiring(&mut old, Some(&reason));
        if self.current.as_ref().is_some_and(|c| c.takes_requests()) {
            self.send_held_declares(now);
        }
        // Its exclusive queues went with it: declared again once RabbitMQ has
        // deleted them, then their consumers move (see `locked`).
        let exclusive = std::mem::take(&mut self.renewal.retiring_exclusive);
        self.hold_exclusive_queues(now, exclusive);
        // Transient exchange subscriptions move now (see `waits_for_old`).
        let keys: Vec<ConsumerKey> = self.consumers.iter().filter(|(_, spec)| spec.sub.is_none()).map(|(key, _)| *key).collect();
        self.subscribe_all(now, keys);
        self.flush(now);
    }

    /// Ends what was pending on a retiring link; `None`: stopped.
    fn settle_retiring(&mut self, old: &mut Current, reason: Option<&CloseReason>) {
        let mut requests: Vec<(ReceiptId, Pending)> = old.requests.drain().collect();
        // Receipt ids are unique, so the unstable heapsort gives the sent order.
        let sent_order = super::super::blame::sent_order;
        crate::sans_io::sort::heap_sort_by(&mut requests, |a, b| sent_order(&a.0) < sent_order(&b.0));
        for (_, request) in requests {
            match request {
                Pending::Unsubscribe(key) => self.emit(ReliableEvent::ConsumerCancelled(key)),
                Pending::Declare(request) => match (self.declares.remove(&request), reason) {
                    // Cut short: it goes again on the current link, or held for the
                    // next one, as the main link's do (an exclusive one's queue may
                    // still be the old connection's: RabbitMQ would refuse it).
                    (Some((queue, options)), Some(_)) if self.settings.reconnect && !options.exclusive => {
                        self.held_declares.push((request, queue, options));
                    }
                    _ => {
                        let error = reason.map_or(DeclareError::Stopped, |r| DeclareError::Closed(r.clone()));
                        self.emit(ReliableEvent::Declared { request, result: Err(error) });
                    }
                },
                Pending::Subscribe(_) => {}
            }
        }
        for key in old.cancelling.drain(..) {
            self.emit(ReliableEvent::ConsumerCancelled(key));
        }
        self.drop_buffers(old.id);
    }

    /// The current link ended (`reason`) or stopped (`None`): the retiring one
    /// closes at once too (its consumers subscribe again on the next link).
    pub(in crate::sans_io::core) fn drop_retiring(&mut self, reason: Option<&CloseReason>) {
        if let Some(mut old) = self.renewal.retiring.take() {
            // The outbox's in-flight ones go again with the current link's (see `end_link`).
            self.renewal.retiring_in_flight = false;
            self.actions.push_back(Action::Close { link: old.id, code: 1000, reason: "stopped".into() });
            self.settle_retiring(&mut old, reason);
        }
    }
}
