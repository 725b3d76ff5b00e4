//! The exchanges and bindings a connection made through the management API,
//! declared again after every reconnect (what RabbitMQ's Java and .NET clients
//! call automatic topology recovery): a broker restart deletes a non-durable
//! exchange, and an exchange subscription to it, or a publish, would then end
//! the connection `NOT_FOUND`. STOMP cannot declare an exchange, so the driver
//! does it over HTTP ([`Action::RecoverTopology`]); the new connection counts
//! as connected (its declares, SUBSCRIBEs and publishes go) only once the
//! exchanges are there, or after [`TOPOLOGY_TIMEOUT`]. Bindings go after that,
//! once the queues this connection declares again are there.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crate::client::ConnectionInfo;
use crate::rabbit::ConsumeFrom;

use super::{Action, ConnectionEvent, Core, LinkId, Warning};

/// How long a new connection waits for the exchanges to be declared again
/// before it goes on without them (the management API is slow or gone).
pub const TOPOLOGY_TIMEOUT: Duration = Duration::from_secs(5);

/// An exchange declared through the management API, as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeSpec {
    /// Its name.
    pub exchange: String,
    /// `direct`, `fanout`, `topic` or `headers`.
    pub kind: String,
    /// Whether it survives a broker restart.
    pub durable: bool,
    /// Whether RabbitMQ deletes it when its last binding goes.
    pub auto_delete: bool,
}

/// A queue bound to an exchange through the management API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingSpec {
    /// The queue.
    pub queue: String,
    /// The exchange.
    pub exchange: String,
    /// The binding key.
    pub routing_key: String,
}

/// What the driver declares again through the management API for the
/// connection to `url`, then answers with [`Core::handle_topology_recovered`]
/// (the exchanges) and [`Core::handle_topology_failed`] (each that failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyRecovery {
    /// The new connection, waiting for the exchanges.
    pub link: LinkId,
    /// Its Web-STOMP URL (where the management API is, by RabbitMQ's defaults,
    /// unless the options name it).
    pub url: String,
    /// The virtual host.
    pub vhost: String,
    /// Declared first; then [`Core::handle_topology_recovered`].
    pub exchanges: Vec<ExchangeSpec>,
    /// Bound after that answer (their queues may be declared again by the
    /// connection first: a binding whose queue is not there yet may be tried again).
    pub bindings: Vec<BindingSpec>,
}

/// The record, and the connection waiting for it.
#[derive(Debug, Default)]
pub(super) struct Topology {
    exchanges: Vec<ExchangeSpec>,
    bindings: Vec<BindingSpec>,
    /// A new connection's CONNECTED, held until its exchanges are declared again
    /// or the deadline.
    waiting: Option<Waiting>,
}

#[derive(Debug)]
struct Waiting {
    link: LinkId,
    info: ConnectionInfo,
    since: Duration,
    deadline: Duration,
}

impl Topology {
    pub(super) fn deadline(&self) -> Option<Duration> {
        self.waiting.as_ref().map(|waiting| waiting.deadline)
    }
}

impl Core {
    /// The user declared `spec` through the management API: it is declared again
    /// after every reconnect (as last declared).
    pub fn exchange_declared(&mut self, spec: ExchangeSpec) {
        self.topology.exchanges.retain(|e| e.exchange != spec.exchange);
        self.topology.exchanges.push(spec);
    }

    /// The user deleted `exchange`: neither it nor its bindings come back.
    pub fn exchange_deleted(&mut self, exchange: &str) {
        self.topology.exchanges.retain(|e| e.exchange != exchange);
        self.topology.bindings.retain(|b| b.exchange != exchange);
    }

    /// The user bound a queue: bound again after every reconnect.
    pub fn queue_bound(&mut self, binding: BindingSpec) {
        if !self.topology.bindings.contains(&binding) {
            self.topology.bindings.push(binding);
        }
    }

    /// The user unbound it: it does not come back.
    pub fn queue_unbound(&mut self, binding: &BindingSpec) {
        self.topology.bindings.retain(|b| b != binding);
    }

    /// The bindings of a deleted queue do not come back.
    pub(super) fn forget_bindings(&mut self, queue: &str) {
        self.topology.bindings.retain(|b| b.queue != queue);
    }

    /// The current link's CONNECTED: with exchanges or bindings to declare again,
    /// the driver is asked to and the connection waits for the exchanges;
    /// otherwise it is connected now.
    pub(super) fn connected_or_recover(&mut self, now: Duration, info: ConnectionInfo) {
        let Some((link, url)) = self.current.as_ref().map(|current| (current.id, current.url.clone())) else { return };
        // An auto-delete exchange goes with its last binding: one nothing here
        // subscribes to or binds, which RabbitMQ may have deleted, is not made
        // again, to stay for ever (QA).
        let bindings = self.topology.bindings.clone();
        let in_use = |exchange: &str| {
            bindings.iter().any(|b| b.exchange == exchange)
                || self.consumers.values().any(|spec| matches!(&spec.source, ConsumeFrom::Exchange(sub) if sub.exchange == exchange))
        };
        let exchanges: Vec<ExchangeSpec> =
            self.topology.exchanges.iter().filter(|e| !e.auto_delete || in_use(&e.exchange)).cloned().collect();
        if exchanges.is_empty() && bindings.is_empty() {
            return self.on_connected(now, info);
        }
        // Not past the credentials' renewal, which waits for the connection
        // (simulation seed 6830: 2.5 s tokens expired while it waited, for ever).
        let timeout = now.saturating_add(TOPOLOGY_TIMEOUT);
        let deadline = self.renewal_time(now).map_or(timeout, |renew| renew.min(timeout));
        self.topology.waiting = Some(Waiting { link, info, since: now, deadline });
        self.actions.push_back(Action::RecoverTopology(TopologyRecovery {
            link,
            url,
            vhost: self.options.host.clone(),
            exchanges,
            bindings,
        }));
    }

    /// The driver declared again the exchanges of [`Action::RecoverTopology`]
    /// for `link` (each that failed said with [`Core::handle_topology_failed`]):
    /// the connection is connected now, its declares, SUBSCRIBEs and publishes go.
    pub fn handle_topology_recovered(&mut self, now: Duration, link: LinkId) {
        if self.topology.waiting.as_ref().is_some_and(|waiting| waiting.link == link) {
            self.topology_done(now);
        }
        self.sync_timers();
    }

    /// Declaring `what` again (an exchange or a binding) for `link` failed for
    /// `reason`: said as a warning while `link` is the current connection (a
    /// late answer for one gone says nothing); what depends on it fails as it
    /// would have.
    pub fn handle_topology_failed(&mut self, link: LinkId, what: String, reason: String) {
        let current = self.current.as_ref().is_some_and(|c| c.id == link);
        if current && self.life == super::Life::Running {
            self.status(ConnectionEvent::Warning(Warning::NotRecovered { what, reason }));
        }
    }

    /// [`super::Timer::Topology`]: the management API did not answer in time
    /// (or the credentials are to be renewed first); the connection goes on
    /// without it.
    pub(super) fn topology_timeout(&mut self, now: Duration) {
        let Some((link, since)) = self.topology.waiting.as_ref().filter(|w| w.deadline <= now).map(|w| (w.link, w.since)) else {
            return;
        };
        let what = "the exchanges".to_owned();
        let waited = crate::sans_io::client::whole_millis(now.saturating_sub(since));
        self.handle_topology_failed(link, what, format!("the management API did not answer within {waited} ms"));
        self.topology_done(now);
    }

    fn topology_done(&mut self, now: Duration) {
        let Some(Waiting { link, info, .. }) = self.topology.waiting.take() else { return };
        if self.current.as_ref().is_some_and(|c| c.id == link) && self.life == super::Life::Running {
            self.on_connected(now, info);
        }
    }

    /// The link waiting for its exchanges ended (or the core stops): it waits no more.
    pub(super) fn topology_link_ended(&mut self) {
        self.topology.waiting = None;
    }
}
