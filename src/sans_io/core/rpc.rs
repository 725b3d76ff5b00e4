//! Request/reply (RabbitMQ's tutorial 6) over Web-STOMP's temp queues: a call
//! publishes with `reply-to: /temp-queue/burrow.rpc` and a `correlation-id`; the
//! broker makes a private reply queue for the connection and delivers what is
//! sent to it as MESSAGE frames with `subscription:/temp-queue/burrow.rpc`, for
//! which no SUBSCRIBE was sent. The core routes those replies by correlation id
//! to their call and counts (and drops) the ones no call awaits.
//!
//! What happens to a call when its connection drops: a call whose request the
//! broker confirmed fails with [`CallError::ConnectionLost`] (its reply queue went
//! with the connection, so its reply can never arrive); a call whose request is
//! still in the outbox (not sent yet, or sent and unconfirmed) waits like any
//! publish and goes out again on the next connection, with that connection's
//! reply queue: the server may then see the request twice (the second copy
//! marked, as every resend is), and a reply to the first copy is lost with the
//! old connection. Every call ends by its `timeout` at the latest
//! ([`CallError::Timeout`]); a request still waiting for room or in the outbox
//! unsent (the connection down) is then withdrawn; one on the wire still goes,
//! and its reply, if one comes, is counted as unmatched and said as late
//! ([`Warning::LateReply`]).
//!
//! RabbitMQ confirms a request no queue takes and drops it (STOMP has no
//! mandatory flag): a call to a queue by name (the default exchange) with no reply
//! by half its timeout asks the management API whether the queue exists
//! ([`super::Action::LookUp`], one in flight per queue, shared by its calls), and
//! ends at its deadline, not earlier nor later, as [`CallError::NoQueue`] when it
//! does not. A call answered sooner costs no look-up.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::sans_io::map::{Map, RingMap};
use crate::sans_io::text::IdText;
use std::time::Duration;

use crate::client::{CloseReason, Message};
use crate::rabbit::{parse_destination, BasicProperties, Delivery, OutboxId, PendingPublish, QueueFacts, Route};

use super::{ConnectionEvent, Core, Life, LookUpId, PublishError, ReliableEvent, Warning};

/// How long calls ask nothing more after a look-up failed. A pause, not for good:
/// an API down for a moment (a broker restarting) answers again, while one that
/// refuses (401, no CORS) costs one console error a minute at most, and only for
/// calls that are slow anyway. Not "until the next connection": the management
/// API may come up after Web-STOMP, and a failure answered after the reconnect
/// would silence it for that whole connection again.
const LOOK_UP_PAUSE: Duration = Duration::from_secs(60);

/// How many timed-out calls' correlation ids are kept to recognise a late reply.
const LATE_KEPT: usize = 64;

/// The `reply-to` of every call: Web-STOMP makes one private reply queue per
/// connection for this name, and names the replies' subscription after it.
pub const REPLY_TO: &str = "/temp-queue/burrow.rpc";

/// Which [`Core::call`] an outcome ([`ReliableEvent::CallDone`]) answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

/// Why a call ended without its reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The request could not be published: refused before sending, refused by the
    /// broker (a missing exchange), the outbox is full, or the connection stopped
    /// before it was sent ([`PublishError::StoppedUnsent`]).
    #[error("the request was not published: {0}")]
    Publish(#[source] PublishError),
    /// No reply came within the call's timeout.
    #[error("no reply within {} ms", crate::sans_io::client::whole_millis(*.0))]
    Timeout(Duration),
    /// No reply came within the call's timeout (`after`), and the management API
    /// said its request's queue does not exist: RabbitMQ confirmed the request and
    /// dropped it (STOMP has no mandatory flag). Asked once a call to a queue by
    /// name has waited half its timeout; else it is a [`CallError::Timeout`].
    #[error("no reply within {} ms: there is no queue '{queue}' in vhost '{vhost}', so RabbitMQ dropped the request (it confirms a message no queue takes); start the server that declares it, or declare it", crate::sans_io::client::whole_millis(*after))]
    NoQueue {
        /// The queue the request was sent to.
        queue: String,
        /// Its virtual host.
        vhost: String,
        /// The call's timeout.
        after: Duration,
    },
    /// No reply came within the call's timeout (`after`), and the management API,
    /// asked at half of it, counted no consumer on its request's queue: no
    /// server took the request, which waits there for one (its server stopped,
    /// or not started yet). The count is the API's statistics, a few seconds old.
    // "Likely": the count can miss a server that started a few seconds ago (QA:
    // one that did take the request was said not to).
    #[error("no reply within {} ms: queue '{queue}' had no consumer in the management API's figures at half that time (a few seconds old), so likely no server took the request (it waits in the queue for one); start the server that consumes it", crate::sans_io::client::whole_millis(*after))]
    NoConsumer {
        /// The queue the request was sent to.
        queue: String,
        /// The call's timeout.
        after: Duration,
    },
    /// The broker had the request, then the connection dropped: its reply queue
    /// went with the connection, so the reply can never arrive. The request may or
    /// may not have been served.
    #[error("the connection dropped after RabbitMQ took the request ({0}); its reply queue went with it, so no reply can arrive (the request may or may not have been served)")]
    ConnectionLost(#[source] CloseReason),
    /// The connection was stopped before the reply came.
    #[error("the connection was stopped before the reply came")]
    Stopped,
    /// A call sets `reply_to` itself (to its connection's reply queue).
    #[error("a call sets reply_to itself (to {REPLY_TO}); leave it out (it was {})", crate::sans_io::text::Quoted(.0))]
    ReplyToGiven(String),
    /// Another call in flight has this correlation id: its reply could not be told apart.
    #[error("another call in flight has correlation id {}; replies could not be told apart", crate::sans_io::text::Quoted(.0))]
    CorrelationInUse(String),
}

/// Why a reply could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// The request has no `reply_to`: there is nowhere to reply to.
    #[error("the message has no reply_to: there is nowhere to send a reply (its sender did not ask for one)")]
    NoReplyTo,
    /// The reply could not be published.
    #[error("{0}")]
    Publish(#[source] PublishError),
}

/// A call awaiting its reply.
#[derive(Debug, Clone)]
struct PendingCall {
    correlation_id: IdText,
    publish: OutboxId,
    deadline: Duration,
    timeout: Duration,
    /// The broker confirmed the request: a lost connection now loses the reply.
    confirmed: bool,
    /// Its request went on the link a renewal retires: its reply comes to that
    /// link's reply queue, so that link waits for it (see [`Core::calls_to_retiring`]).
    on_retiring: bool,
    /// The queue its request went to by name (the default exchange), to ask the
    /// management API about at half-time; `None` for a named exchange's.
    queue: Option<String>,
    probe: Probe,
}

/// What a call knows of its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// Half its timeout has not passed yet.
    Later,
    /// Awaits the answer to this look-up (its own, or another call's to the queue).
    Asked(LookUpId),
    /// Answered without saying it is missing, or nothing could be asked.
    Passed,
    /// The management API said its queue does not exist.
    Missing,
    /// The management API counted no consumer on its queue.
    Idle,
}

impl PendingCall {
    /// When the call timer is due for it: at half its timeout to ask about its
    /// queue, if it still has to, else at its deadline.
    fn due_at(&self) -> Duration {
        if self.queue.is_some() && self.probe == Probe::Later {
            return self.deadline.saturating_sub(self.timeout / 2);
        }
        self.deadline
    }
}

/// The calls of a core.
#[derive(Debug, Default)]
pub(super) struct Calls {
    pending: Map<CallId, PendingCall>,
    // By `IdText`: generated ids grow as text ("…-9" < "…-10" is false in plain
    // text order), which would land mid-way, O(n) each with many calls in flight.
    by_correlation: RingMap<IdText, CallId>,
    /// Requests whose publish outcome has not come yet (also of calls already
    /// over): their Confirmed or PublishFailed is the call's, not a publisher's.
    by_publish: Map<OutboxId, CallId>,
    next: u64,
    /// Makes generated correlation ids unlike another page's.
    prefix: Option<String>,
    unmatched: u64,
    /// The correlation ids (and timeouts) of the latest calls that timed out with
    /// their request sent, oldest first, at most [`LATE_KEPT`]: a reply to one is
    /// said as late, not as a stray.
    timed_out: Vec<(IdText, Duration)>,
    /// A queue look-up failed (a 401 for a user without the management tag, a
    /// page the API sends no CORS headers, an API down for a moment): none is
    /// asked again before this time, as each failure is an error in the browser's
    /// console (see [`LOOK_UP_PAUSE`]).
    asks_paused_until: Duration,
    /// A request moved in or out of the outbox since [`ConnectionEvent::OutboxChanged`]
    /// last said so (its confirm is swallowed: nothing else tells the page).
    outbox_moved: bool,
}

/// Where a reply to `reply_to` goes: Web-STOMP shows an AMQP reply queue as
/// `/reply-queue/<name>` (its default exchange route), another STOMP destination
/// as it is, and a bare name is a queue on the default exchange.
///
/// ```
/// use burrow::rabbit::Route;
/// use burrow::reliable::reply_route;
///
/// assert_eq!(reply_route("/reply-queue/amq.gen-Xy_1"), Route::new("", "amq.gen-Xy_1"));
/// assert_eq!(reply_route("amq.gen-Xy_1"), Route::new("", "amq.gen-Xy_1"));
/// assert_eq!(reply_route("/exchange/replies/client.7"), Route::new("replies", "client.7"));
/// ```
pub fn reply_route(reply_to: &str) -> Route {
    match reply_to.strip_prefix("/reply-queue/") {
        Some(name) => Route::new("", name),
        None if reply_to.starts_with('/') => parse_destination(reply_to),
        None => Route::new("", reply_to),
    }
}

impl Core {
    /// pika's RPC client (tutorial 6): publishes `request` with `reply_to` set to
    /// [`REPLY_TO`] and a correlation id (the one in its properties, or a new
    /// one), and reports the reply, or why none came within `timeout`, as
    /// [`ReliableEvent::CallDone`]. The request waits for room in the outbox like
    /// [`Core::basic_publish_or_wait`]; see the module's documentation for a call
    /// in flight when the connection drops.
    ///
    /// # Errors
    ///
    /// [`CallError::ReplyToGiven`], [`CallError::CorrelationInUse`], or
    /// [`CallError::Publish`] when the request is refused at once.
    pub fn call(&mut self, now: Duration, mut request: PendingPublish, timeout: Duration) -> Result<CallId, CallError> {
        if let Some(given) = request.properties.reply_to.take() {
            return Err(CallError::ReplyToGiven(given));
        }
        let prefix = match &self.calls.prefix {
            Some(prefix) => prefix.clone(),
            None => {
                let prefix = format!("burrow-{:012x}", (self.random_unit() * (1u64 << 48) as f64) as u64);
                self.calls.prefix = Some(prefix.clone());
                prefix
            }
        };
        let call = CallId(self.calls.next);
        let correlation_id = match request.properties.correlation_id.clone().map(IdText) {
            Some(given) if self.calls.by_correlation.contains_key(&given) => {
                return Err(CallError::CorrelationInUse(given.0));
            }
            Some(given) => given,
            None => IdText(format!("{prefix}-{}", call.0)),
        };
        request.properties.correlation_id = Some(correlation_id.0.clone());
        request.properties.reply_to = Some(REPLY_TO.to_owned());
        let queue = request.exchange.is_empty().then(|| request.routing_key.clone());
        let publish = self.basic_publish_or_wait(now, request).map_err(CallError::Publish)?;
        self.calls.next = self.calls.next.wrapping_add(1);
        self.calls.by_correlation.insert(correlation_id.clone(), call);
        self.calls.by_publish.insert(publish, call);
        let deadline = now.saturating_add(timeout);
        let pending =
            PendingCall { correlation_id, publish, deadline, timeout, confirmed: false, on_retiring: false, queue, probe: Probe::Later };
        self.calls.pending.insert(call, pending);
        self.calls.outbox_moved = true;
        // The request may have gone, or failed, before it was known as a call's:
        // what was said of it already is the call's too.
        // Taken whole (not drained): a deque's `drain` costs 1 KB of wasm here alone.
        for event in std::mem::take(&mut self.events) {
            if let Some(event) = self.call_publish_event(event) {
                self.events.push_back(event);
            }
        }
        self.sync_timers();
        Ok(call)
    }

    /// The caller gave up on `call` (its future was dropped): a reply that still
    /// comes is counted as unmatched; a request still waiting for room is withdrawn.
    pub fn forget_call(&mut self, call: CallId) {
        if let Some(pending) = self.take_call(call) {
            if self.withdraw(pending.publish) {
                self.calls.by_publish.remove(&pending.publish);
                self.calls.outbox_moved = true;
            }
        }
        self.sync_timers();
    }

    /// pika's RPC server's reply: publishes `body` to `request`'s `reply_to` (see
    /// [`reply_route`]) with its correlation id, waiting for room like
    /// [`Core::basic_publish_or_wait`]; its confirm comes as any publish's.
    ///
    /// # Errors
    ///
    /// [`ReplyError::NoReplyTo`] for a message nobody awaits a reply to, or
    /// [`ReplyError::Publish`].
    pub fn reply(
        &mut self,
        now: Duration,
        request: &Delivery,
        body: Vec<u8>,
        properties: BasicProperties,
    ) -> Result<OutboxId, ReplyError> {
        let asked = &request.properties;
        self.reply_to(now, asked.reply_to.as_deref(), asked.correlation_id.as_deref(), body, properties)
    }

    /// [`Core::reply`] from a request's `reply_to` and `correlation_id` alone (as
    /// the JavaScript API has them).
    ///
    /// # Errors
    ///
    /// As [`Core::reply`].
    pub fn reply_to(
        &mut self,
        now: Duration,
        reply_to: Option<&str>,
        correlation_id: Option<&str>,
        body: Vec<u8>,
        mut properties: BasicProperties,
    ) -> Result<OutboxId, ReplyError> {
        let Some(reply_to) = reply_to else { return Err(ReplyError::NoReplyTo) };
        let Route { exchange, routing_key } = reply_route(reply_to);
        if properties.correlation_id.is_none() {
            properties.correlation_id = correlation_id.map(str::to_owned);
        }
        let reply = PendingPublish { exchange, routing_key, body, properties };
        self.basic_publish_or_wait(now, reply).map_err(ReplyError::Publish)
    }

    /// Replies that matched no call in flight (a late reply to a call that timed
    /// out, a reply with a wrong correlation id): each was dropped and said as a
    /// [`Warning::LateReply`] or [`Warning::UnmatchedReply`].
    pub fn unmatched_replies(&self) -> u64 {
        self.calls.unmatched
    }

    /// Calls awaiting their reply.
    pub fn calls_in_flight(&self) -> usize {
        self.calls.pending.len()
    }

    /// Calls whose request still waits for room in the outbox (counted in
    /// [`Core::waiting`] too).
    pub fn calls_waiting(&self) -> usize {
        self.calls.pending.values().filter(|pending| self.is_waiting(pending.publish)).count()
    }

    /// A MESSAGE for a temp queue's subscription: a reply, auto-acked by the
    /// broker (Web-STOMP sends it without an `ack` header).
    pub(super) fn on_reply(&mut self, message: Message) {
        let correlation_id = message.header("correlation-id").map(|id| IdText(id.to_owned()));
        let call = correlation_id.as_ref().and_then(|id| self.calls.by_correlation.get(id).copied());
        match call.and_then(|call| self.take_call(call).map(|_| call)) {
            Some(call) => {
                let reply = Box::new(Delivery::from_owned_message(message));
                self.emit(ReliableEvent::CallDone { call, result: Ok(reply) });
            }
            None => {
                self.calls.unmatched = self.calls.unmatched.saturating_add(1);
                let timed_out = &mut self.calls.timed_out;
                let late = correlation_id.as_ref().and_then(|id| timed_out.iter().position(|(late, _)| late == id));
                let warning = match late.map(|at| timed_out.remove(at)) {
                    Some((id, timeout)) => Warning::LateReply { correlation_id: id.0, timeout },
                    None => Warning::UnmatchedReply { correlation_id: correlation_id.map(|id| id.0) },
                };
                self.status(ConnectionEvent::Warning(warning));
            }
        }
        self.sync_timers();
    }

    /// An event about a call's request is the call's: a confirm marks it, a
    /// failure ends it; neither reaches the publishers' side (the outbox's
    /// counts are said instead, see [`Core::outbox_event`]). Others pass.
    pub(super) fn call_publish_event(&mut self, event: ReliableEvent) -> Option<ReliableEvent> {
        match event {
            ReliableEvent::Admitted(id) if self.calls.by_publish.contains_key(&id) => {
                self.calls.outbox_moved = true;
                None
            }
            ReliableEvent::Confirmed(id) => match self.calls.by_publish.remove(&id) {
                Some(call) => {
                    self.calls.outbox_moved = true;
                    if let Some(pending) = self.calls.pending.get_mut(&call) {
                        pending.confirmed = true;
                    }
                    None
                }
                None => Some(ReliableEvent::Confirmed(id)),
            },
            ReliableEvent::PublishFailed { publish, error } => match self.calls.by_publish.remove(&publish) {
                Some(call) => {
                    self.calls.outbox_moved = true;
                    self.take_call(call)?;
                    let error = match error {
                        PublishError::Stopped => CallError::Stopped,
                        // Its request never went: said so, as a publish's (QA).
                        other => CallError::Publish(other),
                    };
                    Some(ReliableEvent::CallDone { call, result: Err(error) })
                }
                None => Some(ReliableEvent::PublishFailed { publish, error }),
            },
            other => Some(other),
        }
    }

    /// The connection dropped: calls whose request the broker had lose their reply
    /// (but those awaiting it on a renewal's retiring link, which is still open).
    pub(super) fn calls_link_lost(&mut self, reason: &CloseReason) {
        self.calls_lost(reason, false);
    }

    /// A renewal's switch: the calls whose request went on the old link (confirmed,
    /// or on the wire awaiting its confirm there) await their reply on it as it
    /// retires. QA: the old link's DISCONNECT took the reply queue, and every call
    /// in flight at a token renewal failed with ConnectionLostError.
    pub(super) fn calls_to_retiring(&mut self) {
        let outbox = &self.outbox;
        for pending in self.calls.pending.values_mut() {
            let on_the_wire = outbox.get(pending.publish).is_some() && !outbox.is_unsent(pending.publish);
            pending.on_retiring = pending.confirmed || on_the_wire;
        }
    }

    /// Whether a call still awaits its reply on a renewal's retiring link.
    pub(super) fn calls_on_retiring(&self) -> bool {
        self.calls.pending.values().any(|pending| pending.on_retiring)
    }

    /// A renewal's retiring link goes: the calls whose request it confirmed lose
    /// their reply; those whose request it had not confirmed go again on the
    /// current link (their request is resent), awaiting the reply there.
    pub(super) fn calls_retiring_lost(&mut self, reason: &CloseReason) {
        self.calls_lost(reason, true);
        for pending in self.calls.pending.values_mut() {
            pending.on_retiring = false;
        }
    }

    /// Ends the confirmed calls awaiting their reply on the retiring link
    /// (`retiring`) or on the current one: the link that would bring it is gone.
    fn calls_lost(&mut self, reason: &CloseReason, retiring: bool) {
        let lost: Vec<CallId> = self
            .calls
            .pending
            .iter()
            .filter(|(_, pending)| pending.confirmed && pending.on_retiring == retiring)
            .map(|(call, _)| *call)
            .collect();
        for call in lost {
            self.take_call(call);
            let error = if self.life == Life::Running {
                CallError::ConnectionLost(reason.clone())
            } else {
                CallError::Stopped
            };
            self.emit(ReliableEvent::CallDone { call, result: Err(error) });
        }
    }

    /// Stopped: every call still waiting ends, before Stopped.
    pub(super) fn calls_stopped(&mut self) {
        let calls: Vec<CallId> = self.calls.pending.keys().copied().collect();
        for call in calls {
            self.take_call(call);
            self.emit(ReliableEvent::CallDone { call, result: Err(CallError::Stopped) });
        }
        self.calls.by_publish.clear();
    }

    /// The call timer: the calls whose time is up end; those at half their
    /// timeout ask about their queue.
    pub(super) fn call_timeouts(&mut self, now: Duration) {
        let due: Vec<CallId> =
            self.calls.pending.iter().filter(|(_, pending)| pending.due_at() <= now).map(|(call, _)| *call).collect();
        for call in due {
            // `get_mut`, not `get`: one instance of the map's code less.
            let Some(pending) = self.calls.pending.get_mut(&call) else { continue };
            if pending.deadline > now {
                self.ask_about_queue(now, call);
                continue;
            }
            let Some(pending) = self.take_call(call) else { continue };
            if self.withdraw(pending.publish) || self.drop_unsent(pending.publish) {
                self.calls.by_publish.remove(&pending.publish);
                self.calls.outbox_moved = true;
            } else {
                let timed_out = &mut self.calls.timed_out;
                if timed_out.len() >= LATE_KEPT {
                    timed_out.remove(0);
                }
                timed_out.push((pending.correlation_id, pending.timeout));
            }
            // Missing, and RabbitMQ took the request: it dropped it.
            let after = pending.timeout;
            let error = match (pending.queue, pending.probe) {
                // Missing, and RabbitMQ took the request: it dropped it.
                (Some(queue), Probe::Missing) if pending.confirmed => {
                    CallError::NoQueue { queue, vhost: self.options.host.clone(), after }
                }
                (Some(queue), Probe::Idle) if pending.confirmed => CallError::NoConsumer { queue, after },
                _ => CallError::Timeout(after),
            };
            self.emit(ReliableEvent::CallDone { call, result: Err(error) });
        }
        // A retiring link that waited only for those replies goes now.
        self.continue_retiring(now);
    }

    /// `call` is at half its timeout: it joins the look-up in flight for its
    /// queue, or asks one unless a failure paused the asks (the driver answers
    /// every look-up, at once with an error where no management API is known,
    /// which pauses them as any failure does; one no call awaits any more is
    /// forgotten with them).
    fn ask_about_queue(&mut self, now: Duration, call: CallId) {
        let Some(queue) = self.calls.pending.get_mut(&call).and_then(|pending| pending.queue.clone()) else { return };
        let in_flight = self.calls.pending.values().find_map(|other| match other.probe {
            Probe::Asked(id) if other.queue.as_ref() == Some(&queue) => Some(id),
            _ => None,
        });
        let url = self.current.as_ref().map(|current| &current.url);
        let probe = match (in_flight, url) {
            (Some(id), _) => Probe::Asked(id),
            (None, Some(url)) if self.life == Life::Running && now >= self.calls.asks_paused_until => {
                Probe::Asked(self.ask_queue(url.clone(), queue))
            }
            _ => Probe::Passed,
        };
        if let Some(pending) = self.calls.pending.get_mut(&call) {
            pending.probe = probe;
        }
    }

    /// The answer to a call's look-up `id`: its queue's facts (`Some(None)`: it
    /// does not exist), or `None` when the API could not say; the calls that
    /// await it learn it.
    pub(super) fn call_queue_facts(&mut self, now: Duration, id: LookUpId, facts: Option<Option<&QueueFacts>>) {
        let probe = match facts {
            None => {
                self.calls.asks_paused_until = now.saturating_add(LOOK_UP_PAUSE);
                Probe::Passed
            }
            Some(None) => Probe::Missing,
            Some(Some(queue)) if queue.consumers == Some(0) => Probe::Idle,
            Some(Some(_)) => Probe::Passed,
        };
        for call in self.calls.pending.values_mut() {
            if call.probe == Probe::Asked(id) {
                call.probe = probe;
            }
        }
    }

    /// A timed-out call's request that waits in the outbox, not on the wire: taken
    /// out, as nobody waits for its reply (QA: sent once the connection was back,
    /// it had the server work for nobody). Its room goes to publishers in line.
    fn drop_unsent(&mut self, id: OutboxId) -> bool {
        if !self.outbox.is_unsent(id) {
            return false;
        }
        self.forget_publish(id);
        self.admit_waiting();
        true
    }

    /// [`ConnectionEvent::OutboxChanged`] once a call's request moved, with the
    /// counts once the input is over (so one for many moves); none after Stopped.
    pub(super) fn outbox_event(&mut self) -> Option<ReliableEvent> {
        if !std::mem::take(&mut self.calls.outbox_moved) || self.stopped_emitted {
            return None;
        }
        let (messages, in_flight) = (self.outbox.len(), self.outbox.in_flight());
        Some(ReliableEvent::Connection(ConnectionEvent::OutboxChanged { messages, in_flight }))
    }

    /// The earliest call deadline, or half-time to ask about a queue, for the call timer.
    pub(super) fn call_deadline(&self) -> Option<Duration> {
        self.calls.pending.values().map(PendingCall::due_at).min()
    }

    fn take_call(&mut self, call: CallId) -> Option<PendingCall> {
        let pending = self.calls.pending.remove(&call)?;
        self.calls.by_correlation.remove(&pending.correlation_id);
        Some(pending)
    }
}

/// Whether a MESSAGE's subscription is a temp queue's (a reply to a call).
pub(super) fn is_reply(message: &Message) -> bool {
    message.subscription.0.starts_with("/temp-queue/")
}
