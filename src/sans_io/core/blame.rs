//! Which request the broker refused when it ended a session: the one its ERROR
//! names, every message for an exchange it says is missing, the oldest declare or
//! subscription it never answered, or (with no words at all) what was unanswered,
//! sent again one at a time until one ends a connection alone.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crate::client::{CloseReason, ReceiptId};
use crate::rabbit::{CheckedPublish, ConsumeFrom, ExchangeSubscription, OutboxId, Refusal, RefusalKind};
use crate::sans_io::text::split_once;

use super::{ConsumeError, ConsumerKey, Core, Current, DeclareError, Life, Pending, PublishError, ReliableEvent};

impl Core {
    /// The broker ended a connected session on purpose: find the request it refused
    /// and fail that one alone, so the rest can go on after the reconnect. Returns
    /// whether it found one (else the node may be what went, not a request).
    pub(super) fn blame(&mut self, now: Duration, current: &mut Current, reason: &CloseReason) -> bool {
        let error = reason.server_error();
        let refusal = match error {
            Some(error) => Refusal::from_server_error(error),
            None => unexplained(reason),
        };
        // 0. A node shutting down or an administrator closed it: nothing was refused.
        if refusal.is_connection_forced() {
            return false;
        }
        // 1. The ERROR names the request by its receipt.
        if let Some(receipt) = error.and_then(|e| e.receipt_id.as_ref()) {
            if let Some(request) = current.requests.remove(receipt) {
                self.fail_request(now, request, refusal, &current.url, reason);
                return true;
            }
            if let Some(publish) = self.outbox.by_receipt(receipt) {
                self.fail_publish(publish, refusal);
                return true;
            }
        }
        // 1b. The ERROR names a queue: the declare or subscription of that queue
        //     still unanswered. A declare is answered by its fence publish's
        //     confirm, later than a SUBSCRIBE sent after it is refused: the oldest
        //     unanswered is then innocent (RabbitMQ 4.0.5 after a restart: a queue
        //     declared again was refused in the words for another consumer's queue).
        if let Some(queue) = error.and_then(|_| named_queue(&refusal.detail)) {
            if let Some((receipt, request)) = oldest_unanswered(current, |request| self.queue_of(request) == Some(queue)) {
                current.requests.remove(&receipt);
                self.fail_request(now, request, refusal, &current.url, reason);
                return true;
            }
        }
        // 2. The ERROR names an exchange that does not exist: every message for it
        //    fails. First: a subscription sent after such a message is still
        //    awaiting its receipt, and is not what the broker refused.
        if refusal.kind == RefusalKind::NotFound {
            if let Some(exchange) = named_exchange(&refusal.detail) {
                if self.fail_publishes_to(&exchange, &refusal) {
                    return true;
                }
            }
        }
        // 3. Without the broker's words, and with a next connection to come:
        //    what was unanswered goes again one at a time (4, `blame_alone`).
        //    RabbitMQ 3.10.8 loses the RECEIPTs of the valid subscriptions read
        //    just before a fatal frame along with its ERROR, so the oldest request
        //    unanswered may be innocent (seeds 7 and 84: valid SUBSCRIBEs, then a
        //    SEND to a missing exchange, in one write, and no management API to
        //    clear them).
        //    Otherwise the broker handles frames in order and answers a declare or
        //    a subscription at once, so the oldest one still unanswered is what it
        //    refused, and the ones after it were never read. A publish is answered
        //    after its confirm, so an older one still unconfirmed could be the
        //    culprit instead, unless the ERROR names a queue. (A one-off
        //    connection without words has no next one to tell more: the same guess.)
        if error.is_none() && self.settings.reconnect {
            return self.blame_alone(now, current, refusal, reason);
        }
        let oldest = oldest_unanswered(current, |r| matches!(r, Pending::Declare(_) | Pending::Subscribe(_)));
        if let Some((receipt, request)) = &oldest {
            let names_queue = error.is_some() && crate::sans_io::text::contains(&refusal.detail, "queue '");
            let older_publish =
                self.outbox.in_flight_receipts().any(|(sent, _)| sent_order(sent) < sent_order(receipt));
            if names_queue || !older_publish {
                current.requests.remove(receipt);
                self.fail_request(now, *request, refusal, &current.url, reason);
                return true;
            }
        }
        self.blame_in_flight(refusal, oldest.is_none(), reason)
    }

    /// 4. No words, and a next connection to come: RabbitMQ 3.10.8 loses the
    ///    ERROR and, with it, the RECEIPTs it had not written yet (those of the
    ///    valid SUBSCRIBEs read just before a fatal frame), so the oldest request
    ///    unanswered is not always the one refused. What was unanswered goes
    ///    again one at a time instead (subscriptions as `suspects`, publishes on
    ///    `probation`; see `trial_waits`), and what then ends a connection
    ///    alone is blamed: a declare or a queue's subscription the first time it
    ///    does (the facts judge it), an exchange subscription only once it was a
    ///    suspect already (once could be an admin's close), a publish the second
    ///    time (see `blame_in_flight`).
    fn blame_alone(&mut self, now: Duration, current: &mut Current, refusal: Refusal, reason: &CloseReason) -> bool {
        let pending: Vec<(ReceiptId, Pending)> = current
            .requests
            .iter()
            .filter(|(_, r)| matches!(r, Pending::Declare(_) | Pending::Subscribe(_)))
            .map(|(receipt, request)| (receipt.clone(), *request))
            .collect();
        let alone = self.outbox.in_flight() == 0;
        match pending.as_slice() {
            [] => self.blame_in_flight(refusal, true, reason),
            [(receipt, request)] if alone && self.blamed_alone(request) => {
                current.requests.remove(receipt);
                self.fail_request(now, *request, refusal, &current.url, reason);
                true
            }
            _ => {
                // A declare is not sent again: its facts explain it (`settle_link`).
                for (_, request) in &pending {
                    if let Pending::Subscribe(key) = request {
                        if self.consumers.contains_key(key) {
                            self.suspects.insert(*key);
                        }
                    }
                }
                self.probation.extend(self.outbox.in_flight_ids());
                false
            }
        }
    }

    /// The queue a declare or a subscription is about (an exchange
    /// subscription's own durable queue).
    fn queue_of(&self, request: &Pending) -> Option<&str> {
        match request {
            Pending::Declare(id) => self.declares.get(id).map(|(queue, _)| queue.as_str()),
            Pending::Subscribe(key) => match &self.consumers.get(key)?.source {
                ConsumeFrom::Queue(queue) => Some(queue),
                ConsumeFrom::Exchange(sub) => sub.durable_queue.as_deref(),
            },
            Pending::Unsubscribe(_) => None,
        }
    }

    /// Whether `request`, the only one unanswered when a connection ended
    /// without words, is what the broker refused: a declare; a subscription to a
    /// queue the facts did not clear yet, since they judge it now (one they
    /// clear, or cannot tell, goes on once, as a suspect would: `explain_consume`;
    /// a missing queue's consumer cost two reconnects, QA); any subscription
    /// once it was a suspect already (once could be an admin's close).
    fn blamed_alone(&self, request: &Pending) -> bool {
        match request {
            Pending::Subscribe(key) => {
                let queue = self.consumers.get(key).is_some_and(|spec| matches!(spec.source, ConsumeFrom::Queue(_)));
                self.suspects.contains(key) || (queue && !self.cleared.contains(key))
            }
            Pending::Declare(_) => true,
            Pending::Unsubscribe(_) => false,
        }
    }

    /// 5. The messages in flight go one at a time until one ends two
    ///    connections alone, which is then the one refused (once could be a node
    ///    shutting down whose words were lost). `alone`: no declare or subscription
    ///    was pending either.
    fn blame_in_flight(&mut self, refusal: Refusal, alone: bool, reason: &CloseReason) -> bool {
        let in_flight: Vec<OutboxId> = self.outbox.in_flight_ids().collect();
        match in_flight.as_slice() {
            [only] if self.probation.contains(only) && alone => {
                let only = *only;
                if self.lone_deaths.insert(only) {
                    return false;
                }
                // Without the broker's words, say at least where it went.
                let refusal = match self.outbox.get(only) {
                    Some(publish) if reason.server_error().is_none() => {
                        publish_unexplained(publish, reason)
                    }
                    _ => refusal,
                };
                self.fail_publish(only, refusal);
                true
            }
            [] => false,
            many => {
                self.probation.extend(many.iter().copied());
                false
            }
        }
    }

    /// One at a time, while suspects or messages on probation are on trial (see
    /// `blame_alone`): whether consumer `key` must wait to subscribe on
    /// `current`: it is a suspect and something else awaits its answer there.
    pub(super) fn trial_waits(&self, current: &Current, key: ConsumerKey) -> bool {
        self.suspects.contains(&key) && (awaits_answer(current) || self.outbox.in_flight() > 0)
    }

    /// Whether publishes must wait on `current`: a suspect's subscription is not
    /// answered yet, or a message on probation would not go alone.
    pub(super) fn trial_holds_publishes(&self, current: &Current) -> bool {
        // One waiting for its held exclusive queue holds nothing (seed 92).
        let suspect_unanswered = self
            .suspects
            .iter()
            .any(|key| self.consumers.get(key).is_some_and(|spec| !spec.ready) && !self.waits_for_lock(*key));
        suspect_unanswered || (!self.probation.is_empty() && awaits_answer(current))
    }

    /// The next suspect subscribes, alone, once nothing else awaits its answer.
    pub(super) fn next_suspect(&mut self, now: Duration) {
        if self.suspects.is_empty() || self.life != Life::Running {
            return;
        }
        let Some(current) = self.current.as_ref().filter(|c| c.takes_requests()) else { return };
        if awaits_answer(current) || self.outbox.in_flight() > 0 {
            return;
        }
        // A transient exchange subscription still moves only once a renewal's old
        // link is gone (see `renew`), suspect or not (simulation seed 88295); a
        // consumer of a held exclusive queue once it is declared again, and the
        // others do not wait for it (seed 83).
        let retiring = self.retiring_link().is_some();
        let next = self.suspects.iter().copied().find(|key| {
            self.consumers.get(key).is_some_and(|spec| spec.sub.is_none())
                && !(retiring && self.waits_for_old(*key))
                && !self.waits_for_lock(*key)
        });
        if let Some(key) = next {
            self.subscribe(now, key);
        }
    }

    /// Fails the request the broker refused; without the broker's `words`, after
    /// asking the management API for the facts that explain it (see `lookup`).
    fn fail_request(&mut self, now: Duration, request: Pending, refusal: Refusal, url: &str, reason: &CloseReason) {
        let words = reason.server_error().is_some();
        match request {
            Pending::Subscribe(consumer) => {
                self.suspects.remove(&consumer);
                // A consumer cancelled meanwhile ends as cancelled only.
                if let Some(spec) = self.consumers.remove(&consumer) {
                    if matches!(&spec.source, ConsumeFrom::Queue(queue) if self.consumer_held(queue, &refusal)) {
                        return self.restore_consumer(now, consumer, spec);
                    }
                    let error = ConsumeError::Refused(refusal);
                    match (words, &spec.source) {
                        (false, ConsumeFrom::Queue(queue)) => {
                            let queue = queue.clone();
                            self.explain_consume(now, url.to_owned(), queue, consumer, error, spec);
                        }
                        // The queue's facts cannot explain an exchange subscription
                        // (3.10.8 closes on a missing exchange without words).
                        // Nothing to look up: it goes on once, as a queue's that
                        // the facts clear would (see `cleared`).
                        (false, ConsumeFrom::Exchange(_)) if self.settings.reconnect && self.cleared.insert(consumer) => {
                            self.restore_consumer(now, consumer, spec);
                        }
                        (false, source @ ConsumeFrom::Exchange(_)) => {
                            let refusal = exchange_unexplained(source, reason);
                            self.consumer_failed(consumer, ConsumeError::Refused(refusal), true);
                        }
                        (true, _) => self.consumer_failed(consumer, error, true),
                    }
                }
            }
            Pending::Declare(request) => {
                if words {
                    self.declares.remove(&request);
                    let error = DeclareError::Refused(refusal);
                    self.emit(ReliableEvent::Declared { request, result: Err(error) });
                } else {
                    // Without words or facts, all that is known is that the close cut it.
                    let error = DeclareError::Closed(reason.clone());
                    self.explain_declare(now, url.to_owned(), request, reason, error);
                }
            }
            Pending::Unsubscribe(consumer) => self.emit(ReliableEvent::ConsumerCancelled(consumer)),
        }
    }

    /// Fails every publish to `exchange`, unsent ones too (the broker would refuse
    /// each the same way); whether there was one.
    pub(super) fn fail_publishes_to(&mut self, exchange: &str, refusal: &Refusal) -> bool {
        let doomed: Vec<OutboxId> =
            self.outbox.iter().filter(|(_, p)| p.exchange() == exchange).map(|(id, _)| id).collect();
        for id in &doomed {
            self.fail_publish(*id, refusal.clone());
        }
        !doomed.is_empty()
    }

    fn fail_publish(&mut self, publish: OutboxId, refusal: Refusal) {
        if self.forget_publish(publish).is_some() {
            self.emit(ReliableEvent::PublishFailed { publish, error: PublishError::Refused(refusal) });
        }
    }
}

/// RabbitMQ 3.10.8's Web-STOMP may close ("STOMP died") before the ERROR frame
/// that says why reaches us.
pub(super) fn unexplained(reason: &CloseReason) -> Refusal {
    closed_without_words("this", reason, "that the exchange or queue exists and the user's permissions")
}

/// A publish Web-STOMP closed on twice, alone, without words: RabbitMQ 3.10.8
/// does that for a missing exchange, a user without write permission, or a
/// `user_id` that names another user than the one logged in.
fn publish_unexplained(publish: &CheckedPublish, reason: &CloseReason) -> Refusal {
    let (exchange, routing_key) = (publish.exchange(), publish.routing_key());
    let (to, exists) = if exchange.is_empty() {
        (format!("to queue '{routing_key}' (the default exchange)"), format!("that queue '{routing_key}' exists"))
    } else {
        (format!("to exchange '{exchange}' with routing key '{routing_key}'"), format!("that exchange '{exchange}' exists (exchange_declare)"))
    };
    let mut check = format!("{exists} and the user's write permission on it");
    if let Some(user_id) = &publish.properties().user_id {
        check.push_str(&format!(", and that user_id '{user_id}' is the user logged in (RabbitMQ refuses a publish whose user_id names another)"));
    }
    closed_without_words(&format!("the publish {to}"), reason, &check)
}

/// An exchange subscription Web-STOMP closed on twice without words: RabbitMQ
/// 3.10.8 does that for a missing exchange ("STOMP died", no ERROR frame), and
/// for a durable one whose queue exists declared otherwise (PRECONDITION_FAILED).
fn exchange_unexplained(source: &ConsumeFrom, reason: &CloseReason) -> Refusal {
    let what = format!("the subscription to {source}");
    let mut check = "that the exchange exists (exchange_declare) and the user's read permission on it".to_owned();
    if let ConsumeFrom::Exchange(ExchangeSubscription { durable_queue: Some(queue), .. }) = source {
        check.push_str(&format!(
            ", and that queue '{queue}', if it exists already, is declared durable, not exclusive, \
             not auto-delete, with no arguments (RabbitMQ refuses to declare it again otherwise: use another durable queue name)"
        ));
    }
    closed_without_words(&what, reason, &check)
}

/// The refusal of `what`, which the broker closed on without saying why: what
/// to `check` instead of its words.
fn closed_without_words(what: &str, reason: &CloseReason, check: &str) -> Refusal {
    Refusal {
        kind: RefusalKind::Unexplained,
        message: "refused".to_owned(),
        detail: format!("RabbitMQ ended the connection whenever {what} was sent, without saying why ({reason}); check {check}"),
    }
}

/// The order requests were sent in: the session numbers its receipts
/// `receipt-<n>`, so a shorter id is an older one (plain string order would put
/// `receipt-10` before `receipt-9`).
pub(super) fn sent_order(receipt: &ReceiptId) -> (usize, &str) {
    (receipt.0.len(), receipt.0.as_str())
}

/// The request first sent among those on `current` that `pick` chooses.
fn oldest_unanswered(current: &Current, pick: impl Fn(&Pending) -> bool) -> Option<(ReceiptId, Pending)> {
    let picked = current.requests.iter().filter(|(_, request)| pick(request));
    picked.min_by_key(|(receipt, _)| sent_order(receipt)).map(|(receipt, request)| (receipt.clone(), *request))
}

/// Whether a declare or a subscription awaits its answer on `current`.
fn awaits_answer(current: &Current) -> bool {
    current.requests.values().any(|r| matches!(r, Pending::Declare(_) | Pending::Subscribe(_)))
}

/// The queue RabbitMQ's words name: "no queue 'q' in vhost", "for queue 'q' in
/// vhost", "locked queue 'q' in vhost".
fn named_queue(detail: &str) -> Option<&str> {
    let (_, rest) = split_once(detail, "queue '")?;
    split_once(rest, "' in vhost").map(|(queue, _)| queue)
}

/// The exchange in RabbitMQ's "NOT_FOUND - no exchange 'x' in vhost '/'".
fn named_exchange(detail: &str) -> Option<String> {
    let (_, rest) = split_once(detail, "no exchange '")?;
    Some(split_once(rest, "' in vhost").map_or(rest, |(exchange, _)| exchange).to_owned())
}
