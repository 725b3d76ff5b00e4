//! Connections: opening one, CONNECTED, the end of one (what was pending on it,
//! then reconnect with backoff, to the next URL when the node is lost, or stop),
//! and stopping for good.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::sans_io::map::Map;
use crate::sans_io::map::Set;
use std::time::Duration;

use crate::client::{is_retryable, CloseReason, ConnectionInfo, Fault, OptionsError, ReceiptId, Request};
use crate::rabbit::{ConsumeFrom, HeartBeats, Link};

use super::blame::sent_order;
use super::declare::cut_short;
use super::{
    Action, ConnectionEvent, ConsumerKey, Core, Current, DeclareError, LinkId, Life, Pending, PublishError, ReliableEvent,
    StopReason, Timer,
};

impl Core {
    /// Heart-beats on the current connection.
    pub fn heartbeats(&self) -> HeartBeats {
        self.current.as_ref().map(|c| c.link.heartbeats()).unwrap_or_default()
    }

    /// The current connection's socket, while there is one: the one that takes
    /// publishes and requests and whose status the events say. During a renewal
    /// the new one becomes current at [`ConnectionEvent::Renewed`]
    /// ([`Core::successor_link`] before, [`Core::retiring_link`] after).
    pub fn current_link(&self) -> Option<LinkId> {
        self.current.as_ref().map(|c| c.id)
    }

    /// What CONNECTED said on the current connection.
    pub fn info(&self) -> Option<&ConnectionInfo> {
        self.current.as_ref().and_then(|c| c.link.session().info())
    }

    /// Starts connecting (once; later calls do nothing).
    pub fn start(&mut self, now: Duration) {
        if self.life != Life::Idle {
            return;
        }
        if self.urls.is_empty() {
            self.life = Life::Stopping;
            self.finish_stop(StopReason::Refused(CloseReason::InvalidOptions(OptionsError::NoUrl)));
            return;
        }
        self.life = Life::Running;
        self.reconnector.start();
        self.open_link(now);
        self.sync_timers();
    }

    /// Stops: DISCONNECT if connected, close any socket, schedule nothing more.
    /// Deliveries that arrive before the broker closes are still reported; then
    /// every unconfirmed publish fails with [`PublishError::Stopped`] (one never
    /// sent with [`PublishError::StoppedUnsent`]) and [`ConnectionEvent::Stopped`]
    /// comes, last.
    pub fn stop(&mut self, now: Duration) {
        if let Some(reason) = self.stop_after_lookups.take() {
            // Stopped already, waiting for look-ups: the user does not wait for them.
            self.settle_lookups(false);
            self.status(ConnectionEvent::Stopped(reason));
        }
        match self.life {
            Life::Stopping | Life::Stopped => return,
            Life::Idle | Life::Running => {}
        }
        self.reconnector.give_up();
        self.life = Life::Stopping;
        // The side connection goes at once: its socket may still be opening, and
        // nothing may CONNECT after stop (seed 1000912: a second declare's side
        // socket opened while the main one awaited DISCONNECT's receipt); so do a
        // renewal's new and old connections.
        self.stop_side();
        self.stop_renewal();
        match self.current.as_mut() {
            Some(current) if current.connected => {
                let session = current.link.channel_mut().session_mut();
                if session.disconnect(now).is_err() {
                    self.end_link(now, CloseReason::Disconnected);
                }
            }
            Some(_) => self.end_link(now, CloseReason::Disconnected),
            None => self.finish_stop(StopReason::Requested),
        }
        self.sync_timers();
    }

    /// A connection attempt: credentials first when a provider gives them.
    pub(super) fn open_link(&mut self, now: Duration) {
        let url = self.urls.get(self.next_url % self.urls.len().max(1)).cloned().unwrap_or_default();
        if self.settings.ask_credentials {
            self.request_credentials(now, url);
        } else {
            self.open_socket(now, url);
        }
    }

    /// The socket of a connection attempt, with the credentials in the options.
    pub(super) fn open_socket(&mut self, now: Duration, url: String) {
        let current = self.new_current(url.clone());
        let id = current.id;
        self.current = Some(current);
        self.timers.set(Timer::SocketOpen, now.saturating_add(self.options.connect_timeout));
        self.actions.push_back(Action::Open { link: id, url: url.clone() });
        self.status(ConnectionEvent::Connecting { link: id, url });
    }

    /// A new connection to `url` with the credentials in the options, its socket
    /// not yet asked for.
    pub(super) fn new_current(&mut self, url: String) -> Current {
        let token_exp = self.options.passcode.as_deref().and_then(crate::client::jwt_expiry);
        self.next_link += 1;
        Current {
            id: LinkId(self.next_link),
            url,
            link: Link::new(self.options.clone(), self.settings.limits),
            connected: false,
            subs: Map::new(),
            unsubscribed: Set::new(),
            requests: Map::new(),
            unacked: Default::default(),
            cancelling: Vec::new(),
            opened: false,
            planned: None,
            token_exp,
        }
    }

    pub(super) fn on_connected(&mut self, now: Duration, info: ConnectionInfo) {
        let Some(current) = self.current.as_mut() else { return };
        current.connected = true;
        let (link, url) = (current.id, current.url.clone());
        self.reconnector.on_connected();
        self.plan_renewal(now);
        self.status(ConnectionEvent::Connected { link, url, info });
        // The queues declared on earlier connections (a broker restart deletes a
        // non-durable one), then those declared while the connection was down:
        // first, so that the consumers and publishes made after them find them.
        self.plan_locked(now);
        self.send_redeclares(now, false);
        self.send_held_declares(now);
        let keys: Vec<ConsumerKey> = self.consumers.keys().copied().collect();
        self.subscribe_all(now, keys);
    }

    pub(super) fn on_receipt(&mut self, now: Duration, id: ReceiptId, request: Request) {
        let Some(current) = self.current.as_mut() else { return };
        if let Some(request) = current.requests.remove(&id) {
            match request {
                Pending::Subscribe(key) => {
                    self.suspects.remove(&key);
                    self.cleared.remove(&key);
                    if let Some(spec) = self.consumers.get_mut(&key) {
                        spec.ready = true;
                        let gap = match &spec.source {
                            ConsumeFrom::Exchange(sub) if spec.was_ready && sub.durable_queue.is_none() => {
                                Some((sub.exchange.clone(), sub.routing_key.clone()))
                            }
                            _ => None,
                        };
                        spec.was_ready = true;
                        if let Some((exchange, routing_key)) = gap {
                            self.status(ConnectionEvent::SubscriptionGap { consumer: key, exchange, routing_key });
                        }
                        self.status(ConnectionEvent::ConsumerReady(key));
                    }
                }
                Pending::Unsubscribe(key) => {
                    if !self.defer_cancelled(key) {
                        self.emit(ReliableEvent::ConsumerCancelled(key));
                    }
                }
                Pending::Declare(request) => {
                    let again = self.redeclared(request).cloned();
                    let declared = self.declares.remove(&request);
                    self.declare_succeeded(now, request, declared);
                    if let Some(queue) = again {
                        self.lock_released(now, &queue);
                    }
                }
            }
            return;
        }
        if let Request::Send { .. } = request {
            self.publish_confirmed(now, &id);
        }
    }

    /// The RECEIPT of a SEND: its publish is confirmed.
    pub(super) fn publish_confirmed(&mut self, now: Duration, id: &ReceiptId) {
        if let Some(publish) = self.outbox.confirmed(id) {
            self.probation.remove(&publish);
            self.lone_deaths.remove(&publish);
            self.emit(ReliableEvent::Confirmed(publish));
            if let Some(held_for) = self.confirm_watch.confirmed(now, self.outbox.in_flight()) {
                self.status(ConnectionEvent::PublishesFlowing { held_for });
            }
        }
    }

    /// The current link is over, for `reason`: settle what was pending on it, then
    /// stop or schedule the next attempt.
    pub(super) fn end_link(&mut self, now: Duration, reason: CloseReason) {
        let Some(mut current) = self.current.take() else { return };
        self.topology_link_ended();
        self.drop_retiring(Some(&reason));
        self.confirm_watch.reset();
        let reason = self.explain_expired(now, current.token_exp, reason);
        let close = reason.socket_code();
        self.actions.push_back(Action::Close { link: current.id, code: close.code, reason: close.reason.to_owned() });
        // A refusal the broker named leaves the node as it was; anything else
        // after CONNECTED may be the node going.
        // A close once the credentials expired is the broker ending an expired
        // session (RabbitMQ 4.3 at expiry, 3.10 at the next frame), not a refusal.
        let blamed = reason.fault() == Fault::Broker && !self.credentials_expired(now);
        // A session that ended without RabbitMQ's words, by Web-STOMP's "STOMP
        // died" (blamed) or without a close frame (1006, which 3.10.8 also does
        // after a publish to a missing exchange, seen in CI): the exchanges in use
        // are looked up while the next connection is made, so a missing one costs
        // one reconnect. Answers that say they exist change nothing.
        if current.connected && matches!(reason, CloseReason::Socket(_)) && (blamed || reason.fault() == Fault::Network) {
            self.look_up_exchanges(&current.url);
        }
        let refused = current.connected && blamed && self.blame(now, &mut current, &reason);
        if !current.connected {
            // A node that takes no connection after a message ended one alone was
            // going away, its words lost (a clean shutdown's connection_forced),
            // rather than refusing it: its lone deaths start over.
            self.lone_deaths.clear();
        }
        self.settle_link(now, &mut current, &reason);
        self.calls_link_lost(&reason);
        self.outbox.connection_lost();
        let life = self.life;
        match life {
            Life::Stopping => self.finish_stop(StopReason::Requested),
            // A renewal's new connection was under way: it takes over.
            Life::Running if self.promote_successor(now) => {}
            // A planned reconnect: the next link at once, at the same node.
            Life::Running if current.planned.is_some() => self.open_link(now),
            Life::Running => self.after_link(now, reason, !refused),
            Life::Idle | Life::Stopped => {}
        }
    }

    /// Whatever is still pending on a link that ended will never be answered there.
    fn settle_link(&mut self, now: Duration, current: &mut Current, reason: &CloseReason) {
        let mut requests: Vec<(ReceiptId, Pending)> = current.requests.drain().collect();
        crate::sans_io::sort::heap_sort_by(&mut requests, |a, b| sent_order(&a.0) < sent_order(&b.0));
        for (_, request) in requests {
            match request {
                // Web-STOMP closed without the broker's words: look the queue up.
                Pending::Declare(request) if !cut_short(reason) => {
                    self.owe_until_explained(request, reason);
                    self.explain_declare(now, current.url.clone(), request, reason, DeclareError::Closed(reason.clone()));
                }
                Pending::Declare(request) => {
                    let declared = self.declares.remove(&request);
                    // Nothing here can be its refusal (see the arm above): it goes again.
                    let goes_again = self.goes_again(request);
                    if !declared.is_some_and(|declared| goes_again && self.owe(request, declared, reason)) {
                        let error = DeclareError::Closed(reason.clone());
                        self.emit(ReliableEvent::Declared { request, result: Err(error) });
                    }
                }
                Pending::Unsubscribe(key) => self.emit(ReliableEvent::ConsumerCancelled(key)),
                Pending::Subscribe(_) => {}
            }
        }
        for key in current.cancelling.drain(..) {
            self.emit(ReliableEvent::ConsumerCancelled(key));
        }
        for spec in self.consumers.values_mut() {
            spec.sub = None;
            spec.ready = false;
        }
        self.drop_buffers(current.id);
    }

    /// A link of a running core ended: stop (a refusal at CONNECT, or reconnects
    /// off), or schedule the next attempt: at the next URL (a cluster's next node)
    /// unless the broker closed it to refuse a request it named (`lost` false).
    pub(super) fn after_link(&mut self, now: Duration, reason: CloseReason, lost: bool) {
        // An expired token refused: only a provider can give another.
        let fixed_token = matches!(reason, CloseReason::TokenExpired(_)) && !self.settings.ask_credentials;
        if !is_retryable(&reason) || fixed_token {
            self.life = Life::Stopping;
            self.finish_stop(StopReason::Refused(reason));
            return;
        }
        if !self.settings.reconnect {
            self.life = Life::Stopping;
            self.finish_stop(StopReason::Closed(reason));
            return;
        }
        // A cluster: the next node, with the same backoff.
        if lost {
            self.next_url = (self.next_url + 1) % self.urls.len().max(1);
        }
        let random = self.random_unit();
        match self.reconnector.on_closed(now, true, random) {
            Some(retry_at) => {
                let attempt = self.reconnector.attempts();
                let next_url = self.urls.get(self.next_url).cloned().unwrap_or_default();
                let delay = retry_at.saturating_sub(now);
                self.status(ConnectionEvent::Reconnecting { reason, attempt, delay, retry_at, next_url });
            }
            None => {
                self.life = Life::Stopping;
                self.finish_stop(StopReason::Requested);
            }
        }
    }

    pub(super) fn finish_stop(&mut self, reason: StopReason) {
        if self.life == Life::Stopped {
            return;
        }
        self.life = Life::Stopped;
        // Before the failures below, so that each can tell why.
        self.stopped_because = Some(reason.clone());
        self.reconnector.give_up();
        self.fetching = None;
        if let Some(current) = self.current.take() {
            self.actions.push_back(Action::Close { link: current.id, code: 1000, reason: "stopped".into() });
        }
        self.stop_side();
        self.stop_renewal();
        self.topology_link_ended();
        for (publish, _, ever_sent) in self.outbox.drain() {
            // QA: one made while the connection was down said "it may or may not have arrived".
            let error = if ever_sent { PublishError::Stopped } else { PublishError::StoppedUnsent };
            self.emit(ReliableEvent::PublishFailed { publish, error });
        }
        self.fail_waiting();
        self.calls_stopped();
        self.declares.clear();
        for (request, _, _) in std::mem::take(&mut self.held_declares) {
            self.emit(ReliableEvent::Declared { request, result: Err(DeclareError::Stopped) });
        }
        self.answer_owed_stopped(&reason);
        self.probation.clear();
        self.lone_deaths.clear();
        self.consumers.clear();
        // A consumer the broker refused keeps its reason for its reader (a
        // one-off connection stops on the same close that refused it).
        self.ended.retain(|_, error| error.is_some());
        self.suspects.clear();
        self.cleared.clear();
        self.timers = Default::default();
        if reason == StopReason::Requested || self.lookups.is_empty() {
            self.settle_lookups(reason == StopReason::Requested);
            self.status(ConnectionEvent::Stopped(reason));
        } else {
            // A refusal that ended a one-off connection is still being explained:
            // its answer comes first, then Stopped.
            self.stop_after_lookups = Some(reason);
        }
    }
}

/// What makes a text unusable as a Web-STOMP URL, found before any WebSocket
/// is tried: a browser refuses these every time, so retrying cannot help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlProblem {
    /// It does not start with `ws://` or `wss://`.
    NotWebSocket,
    /// It has a `#fragment`, which a WebSocket URL may not have
    /// (`new WebSocket` throws a SyntaxError).
    Fragment,
}

/// Why `url` cannot be a Web-STOMP URL, or `None` when it may be one.
///
/// ```
/// use burrow::reliable::{url_problem, UrlProblem};
///
/// assert_eq!(url_problem("ws://127.0.0.1:15674/ws"), None);
/// assert_eq!(url_problem("http://127.0.0.1:15674/ws"), Some(UrlProblem::NotWebSocket));
/// assert_eq!(url_problem("ws://127.0.0.1:15674/ws#frag"), Some(UrlProblem::Fragment));
/// ```
pub fn url_problem(url: &str) -> Option<UrlProblem> {
    if !(url.starts_with("ws://") || url.starts_with("wss://")) {
        Some(UrlProblem::NotWebSocket)
    } else if url.contains('#') {
        Some(UrlProblem::Fragment)
    } else {
        None
    }
}

/// Web-STOMP URLs as a person types them: one per line, or separated by commas
/// or spaces (the nodes of a cluster); blanks are skipped.
///
/// ```
/// use burrow::reliable::parse_urls;
///
/// let typed = "ws://127.0.0.1:15691/ws\nws://127.0.0.1:15692/ws, ws://127.0.0.1:15693/ws\n";
/// assert_eq!(parse_urls(typed), ["ws://127.0.0.1:15691/ws", "ws://127.0.0.1:15692/ws", "ws://127.0.0.1:15693/ws"]);
/// assert!(parse_urls(" ,\n ").is_empty());
/// ```
pub fn parse_urls(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace()).filter(|u| !u.is_empty()).map(str::to_owned).collect()
}
