//! Explaining a refusal Web-STOMP closed on without words: RabbitMQ 3.10.8 often
//! closes ("STOMP died") before the ERROR frame that says why reaches the page.
//! The core asks the driver to read the queue from the management API
//! ([`super::Action::LookUp`], plain data), takes the facts back
//! ([`Core::handle_queue_facts`]) and rebuilds the broker's words from them
//! (`rabbit::diagnose_*`); without facts, the refusal stays as it was.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crate::client::CloseReason;
use crate::rabbit::{
    diagnose_consume, diagnose_declare, named_queue_type, ConsumeFrom, QueueFacts, QueueOptions, QueueType, RabbitError,
    Refusal, RefusalKind, StreamConsumeProblem,
};

use super::{
    Action, ConsumeError, ConsumeOptions, ConsumerKey, ConsumerSpec, Core, DeclareError, DeclareId, ExchangeLookUp, Life, LookUpId,
    QueueLookUp, ReliableEvent,
};

/// How long a look-up may take before the refusal comes out unexplained.
pub const LOOK_UP_TIMEOUT: Duration = Duration::from_secs(5);

/// Most exchanges asked about at once: each is an HTTP request.
const MAX_EXCHANGE_LOOK_UPS: usize = 4;

/// A refusal waiting for the facts that explain it.
#[derive(Debug, Clone)]
pub(super) struct Explain {
    queue: String,
    what: Refused,
    /// When to stop waiting for the answer.
    deadline: Duration,
}

#[derive(Debug, Clone)]
enum Refused {
    /// A subscription; `reader` while its reader is there to see the end. `spec`:
    /// the consumer as it was, to restore if the facts clear it.
    Consume { consumer: ConsumerKey, reader: bool, fallback: ConsumeError, spec: Option<Box<ConsumerSpec>> },
    /// A declare, cut by the connection closing for `closed`.
    Declare { request: DeclareId, options: QueueOptions, closed: CloseReason, fallback: DeclareError },
}

impl Explain {
    /// The consumer whose reader waits for this, if any.
    pub(super) fn reader(&self) -> Option<ConsumerKey> {
        match &self.what {
            Refused::Consume { consumer, reader: true, .. } => Some(*consumer),
            _ => None,
        }
    }

    /// The consumer's reader is gone.
    pub(super) fn forget_reader(&mut self, gone: ConsumerKey) {
        if let Refused::Consume { consumer, reader, spec, .. } = &mut self.what {
            if *consumer == gone {
                *reader = false;
                *spec = None;
            }
        }
    }

    /// The consumer was cancelled meanwhile: it is never restored.
    pub(super) fn forget_consumer(&mut self, gone: ConsumerKey) {
        if let Refused::Consume { consumer, spec, .. } = &mut self.what {
            if *consumer == gone {
                *spec = None;
            }
        }
    }
}

impl Core {
    /// A subscription of `consumer` (`spec`) to `queue`, refused without words
    /// on the connection to `url`: ask for the facts; `fallback` stands until they come.
    pub(super) fn explain_consume(
        &mut self,
        now: Duration,
        url: String,
        queue: String,
        consumer: ConsumerKey,
        fallback: ConsumeError,
        spec: ConsumerSpec,
    ) {
        let what = Refused::Consume { consumer, reader: true, fallback, spec: Some(Box::new(spec)) };
        self.look_up(url, Explain { queue, what, deadline: now.saturating_add(LOOK_UP_TIMEOUT) });
    }

    /// The same for a declare, whose connection closed for `closed`.
    pub(super) fn explain_declare(
        &mut self,
        now: Duration,
        url: String,
        request: DeclareId,
        closed: &CloseReason,
        fallback: DeclareError,
    ) {
        // A declare again the close cut without words waits for the facts.
        if let Some(queue) = self.redeclared(request).cloned() {
            self.hold_redeclare(&queue);
        }
        let Some((queue, options)) = self.declares.remove(&request) else {
            self.emit(ReliableEvent::Declared { request, result: Err(fallback) });
            return;
        };
        let what = Refused::Declare { request, options, closed: closed.clone(), fallback };
        self.look_up(url, Explain { queue, what, deadline: now.saturating_add(LOOK_UP_TIMEOUT) });
    }

    fn look_up(&mut self, url: String, explain: Explain) {
        let id = self.ask_queue(url, explain.queue.clone());
        self.lookups.insert(id, explain);
    }

    /// Asks the driver to read `queue` from the management API for `url`.
    pub(super) fn ask_queue(&mut self, url: String, queue: String) -> LookUpId {
        self.next_lookup += 1;
        let id = LookUpId(self.next_lookup);
        let vhost = self.options.host.clone();
        self.actions.push_back(Action::LookUp(QueueLookUp { id, url, vhost, queue }));
        id
    }

    /// The answer to [`super::Action::LookUp`] `id`: the queue as the management
    /// API has it (`Ok(None)`: it does not exist), or why the API could not say.
    /// The refusal it explains comes out now, in RabbitMQ's words when the facts
    /// allow; calls that asked (see `rpc`) keep it for their deadline.
    pub fn handle_queue_facts(&mut self, now: Duration, id: LookUpId, facts: Result<Option<QueueFacts>, String>) {
        if self.locked_facts(now, id, &facts) {
            // Its next look-up is a timer.
            return self.sync_timers();
        }
        let Some(Explain { queue, what, .. }) = self.lookups.remove(&id) else {
            return self.call_queue_facts(now, id, facts.as_ref().ok().map(Option::as_ref));
        };
        let vhost = self.options.host.clone();
        match (what, facts) {
            (Refused::Consume { consumer, reader, fallback, spec }, Ok(existing)) => {
                // An exclusive queue of ours went with the connection that ended,
                // which owned it: its absence explains nothing (simulation seed
                // 83363: a publish refused beside its SUBSCRIBE failed it NOT_FOUND).
                let gone_with_link = existing.is_none() && self.exclusive_ours(&queue);
                let existing = if gone_with_link { Some(QueueFacts::default()) } else { existing };
                let refusal = diagnose_consume(&queue, &vhost, existing.as_ref());
                let misfit = spec.as_deref().zip(existing.as_ref()).and_then(|(spec, facts)| stream_misfit(&spec.options, facts));
                if let Some(problem) = misfit {
                    // What RabbitMQ closes the connection on, whoever declared the
                    // queue (QA: three reconnects, then words that did not say why).
                    self.consumer_failed(consumer, ConsumeError::Invalid(RabbitError::StreamConsume(problem)), reader);
                    return self.after_look_up(now);
                }
                match (refusal.kind, spec) {
                    // Nothing in the facts refuses it, and a one-off connection died
                    // once: it ends with its connection (Stopped says why).
                    (RefusalKind::Unexplained, _) if !self.settings.reconnect => {
                        if reader {
                            self.end_consumer(consumer, None);
                        }
                    }
                    // Its queue is there as subscribed: RabbitMQ 3.10.8 may have
                    // dropped its receipt beside the subscription it did refuse.
                    // It goes on, once; blamed again it fails.
                    (RefusalKind::Unexplained, Some(spec))
                        if reader && matches!(self.life, Life::Running) && self.cleared.insert(consumer) =>
                    {
                        self.restore_consumer(now, consumer, *spec);
                    }
                    // The connection that dropped holds its queue (see `locked`).
                    (RefusalKind::ResourceLocked, Some(spec)) if reader && self.consumer_held(&queue, &refusal) => {
                        self.restore_consumer(now, consumer, *spec);
                    }
                    // Twice (see blame): refused, though nobody says why.
                    (RefusalKind::Unexplained, _) => self.consumer_failed(consumer, fallback, reader),
                    _ => self.consumer_failed(consumer, ConsumeError::Refused(refusal), reader),
                }
            }
            (what @ Refused::Consume { .. }, Err(_)) => self.unexplained(Some(now), what),
            (Refused::Declare { request, options, closed, .. }, Ok(existing)) => {
                if existing.is_none() {
                    self.redeclared_queue_gone(request);
                }
                let refusal = diagnose_declare(&queue, &vhost, &options, existing.as_ref());
                // Nothing in the facts refuses it: the close only cut it short (a
                // node going, another request refused beside it, or, for a user who
                // may configure but not write, the declare's receipt: docs/tokens.md).
                let error = if refusal.kind == RefusalKind::Unexplained {
                    DeclareError::Closed(closed)
                } else {
                    DeclareError::Refused(refusal)
                };
                self.redeclare_explained(Some(now), request, Err(error));
            }
            (Refused::Declare { request, fallback, .. }, Err(_)) => {
                self.redeclare_explained(Some(now), request, Err(fallback));
            }
        }
        self.after_look_up(now);
    }

    /// Web-STOMP closed without saying why: asks whether the exchanges of the
    /// publishes in flight and of the exchange subscriptions exist (RabbitMQ
    /// 3.10.8 loses the `NOT_FOUND - no exchange` ERROR; a subscription to a
    /// missing exchange took three reconnects and ended in no words, QA).
    /// RabbitMQ's own `amq.` exchanges always do.
    pub(super) fn look_up_exchanges(&mut self, url: &str) {
        let mut exchanges: Vec<String> = Vec::new();
        let published = self.outbox.in_flight_ids().filter_map(|id| self.outbox.get(id)).map(|publish| publish.exchange());
        let subscribed = self.consumers.values().filter_map(|spec| match &spec.source {
            ConsumeFrom::Exchange(sub) => Some(sub.exchange.as_str()),
            ConsumeFrom::Queue(_) => None,
        });
        for exchange in published.chain(subscribed) {
            if !exchange.is_empty() && !exchange.starts_with("amq.") && !exchanges.iter().any(|e| e == exchange) {
                exchanges.push(exchange.to_owned());
            }
        }
        for exchange in exchanges {
            if self.exchange_lookups.len() >= MAX_EXCHANGE_LOOK_UPS {
                break;
            }
            if self.exchange_lookups.values().any(|asked| *asked == exchange) {
                continue;
            }
            self.next_lookup += 1;
            let id = LookUpId(self.next_lookup);
            self.exchange_lookups.insert(id, exchange.clone());
            let vhost = self.options.host.clone();
            self.actions.push_back(Action::ExchangeLookUp(ExchangeLookUp { id, url: url.to_owned(), vhost, exchange }));
        }
    }

    /// The answer to [`super::Action::ExchangeLookUp`] `id`: whether the exchange
    /// exists, or why the management API could not say. A missing exchange fails
    /// every publish and every subscription to it, in RabbitMQ's words, while no
    /// connection is up (as blame does when one ends); an answer that comes once the next connection
    /// is up changes nothing: what it resent is found by elimination, as without
    /// the management API (failing a message in flight there would leave the
    /// confirm watch counting it: "held back" said with nothing in flight,
    /// simulation seed 47985).
    pub fn handle_exchange_facts(&mut self, _now: Duration, id: LookUpId, exists: Result<bool, String>) {
        let Some(exchange) = self.exchange_lookups.remove(&id) else { return };
        let connected = self.current.as_ref().is_some_and(|current| current.connected);
        if exists != Ok(false) || !matches!(self.life, Life::Running) || connected {
            return;
        }
        let vhost = &self.options.host;
        let refusal = Refusal {
            kind: RefusalKind::NotFound,
            message: "not_found".to_owned(),
            detail: format!("NOT_FOUND - no exchange '{exchange}' in vhost '{vhost}'"),
        };
        if self.fail_publishes_to(&exchange, &refusal) {
            // The room they leave is for publishers waiting in line.
            self.admit_waiting();
        }
        self.fail_subscriptions_to(&exchange, &refusal);
    }

    /// Fails every consumer subscribed to `exchange` (none is subscribed on a
    /// link now: this runs while no connection is up).
    fn fail_subscriptions_to(&mut self, exchange: &str, refusal: &Refusal) {
        let doomed: Vec<ConsumerKey> = self
            .consumers
            .iter()
            .filter(|(_, spec)| matches!(&spec.source, ConsumeFrom::Exchange(sub) if sub.exchange == exchange))
            .map(|(key, _)| *key)
            .collect();
        for key in doomed {
            self.consumers.remove(&key);
            self.suspects.remove(&key);
            self.cleared.remove(&key);
            self.consumer_failed(key, ConsumeError::Refused(refusal.clone()), true);
        }
    }

    /// [`super::Timer::LookUp`]: look-ups past their deadline stop counting.
    pub(super) fn look_up_timeout(&mut self, now: Duration) {
        let late: Vec<LookUpId> =
            self.lookups.iter().filter(|(_, explain)| explain.deadline <= now).map(|(id, _)| *id).collect();
        for id in late {
            if let Some(explain) = self.lookups.remove(&id) {
                self.unexplained(Some(now), explain.what);
            }
        }
        self.after_look_up(now);
    }

    /// The earliest look-up deadline.
    pub(super) fn look_up_deadline(&self) -> Option<Duration> {
        self.lookups.values().map(|explain| explain.deadline).min()
    }

    /// Every refusal still waiting for its facts comes out as it is (stopping),
    /// but for a stop the user asked (`requested`): a consumer whose close is not
    /// explained yet ends with the stop as the others do, not "refused"
    /// (simulation seed 1224914: blamed alone for a graceful restart's close
    /// whose words were lost, then stopped: it failed as refused).
    pub(super) fn settle_lookups(&mut self, requested: bool) {
        // Their answers change nothing once stopping.
        self.exchange_lookups = crate::sans_io::map::Map::new();
        for (_, explain) in std::mem::take(&mut self.lookups) {
            if !(requested && matches!(explain.what, Refused::Consume { .. })) {
                self.unexplained(None, explain.what);
            }
        }
    }

    /// A refusal without words whose facts did not come (the management API
    /// failed or was too slow; `now`), or will not (stopping: `None`). A
    /// consumer goes on once, as facts that clear it would make it: blamed
    /// alone for two restarts whose ERROR 3.10.8 lost, it failed for want of an
    /// answer (simulation seeds 102923, 1179899); blamed again it fails.
    fn unexplained(&mut self, now: Option<Duration>, what: Refused) {
        match (what, now) {
            (Refused::Consume { consumer, reader, spec: Some(spec), .. }, Some(now))
                if reader && self.settings.reconnect && matches!(self.life, Life::Running) && self.cleared.insert(consumer) =>
            {
                self.restore_consumer(now, consumer, *spec);
            }
            (Refused::Consume { consumer, reader, fallback, .. }, _) => self.consumer_failed(consumer, fallback, reader),
            (Refused::Declare { request, fallback, .. }, now) => self.redeclare_explained(now, request, Err(fallback)),
        }
    }

    /// A stop that waited for the last look-up (see `link`) comes now.
    fn after_look_up(&mut self, _now: Duration) {
        if self.lookups.is_empty() {
            if let Some(reason) = self.stop_after_lookups.take() {
                self.status(super::ConnectionEvent::Stopped(reason));
            }
        }
    }
}

/// What in a consumer's `options` RabbitMQ refuses on the queue the `facts`
/// describe: its own auto-ack or a prefetch of 0 on a stream, an offset or a
/// filter on another type (a stream is always declared with `x-queue-type`).
/// Burrow's auto-ack acks each delivery, as a stream needs.
fn stream_misfit(options: &ConsumeOptions, facts: &QueueFacts) -> Option<StreamConsumeProblem> {
    let queue_type = named_queue_type(&facts.arguments).unwrap_or(QueueType::Classic);
    match queue_type {
        QueueType::Stream if options.broker_acks => Some(StreamConsumeProblem::AutoAck),
        QueueType::Stream if !options.auto_ack && options.prefetch == 0 => Some(StreamConsumeProblem::NoPrefetch),
        QueueType::Stream => None,
        other => options.arguments(None).is_stream().then_some(StreamConsumeProblem::NotAStream(other)),
    }
}
