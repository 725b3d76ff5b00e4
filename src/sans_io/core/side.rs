//! The side connection of a second declare. RabbitMQ's STOMP adapter declares a
//! queue at most once per connection and skips a second declare silently (with
//! other options, or of a queue deleted since), so a declare of a queue the
//! current connection already declared goes over a short-lived connection of
//! its own to the same URL, with
//! the same credentials: CONNECT, the declare, DISCONNECT. It carries nothing
//! else; one runs at a time (the others wait in line), and stopping ends it.
//! With a credentials provider, its CONNECT asks the provider first, as every
//! CONNECT does ([`Action::Credentials`]).

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::time::Duration;

use crate::client::{CloseReason, Credentials, CredentialsError, Event, Fault, ReceiptId};
use crate::rabbit::{Link, QueueOptions, Refusal};

use super::{Action, Core, CredentialsId, DeclareError, DeclareId, Life, LinkId, ReliableEvent};

/// A declare that goes over a side connection.
#[derive(Debug, Clone)]
pub(super) struct SideDeclare {
    request: DeclareId,
    url: String,
    queue: String,
    options: QueueOptions,
    /// Side connections a network drop cut short so far (see `side_again`).
    cut: u8,
}

/// Side connections a declare may lose to the network while the main one stays
/// up before it is answered closed, after waits of 1, 2, 4, 8 and 8 s: long enough
/// for the main connection to notice a broker gone or frozen, when the declare
/// waits for the next connection instead.
const MAX_SIDE_CUTS: u8 = 5;

/// The side connection of a second declare, and the declares waiting for it.
#[derive(Debug, Default)]
pub(super) struct Sides {
    /// The one under way.
    link: Option<SideLink>,
    waiting: VecDeque<SideDeclare>,
    /// No side connection before then: the last one's declare was cut short.
    again_at: Option<Duration>,
}

impl Sides {
    pub(super) fn has_transmits(&self) -> bool {
        self.link.as_ref().is_some_and(|side| side.link.has_transmits())
    }

    /// When it needs [`Core::handle_timeout`] next: the side connection's
    /// deadline, or the end of the wait before the next one.
    pub(super) fn poll_timeout(&self) -> Option<Duration> {
        let again = self.again_at.filter(|_| !self.waiting.is_empty());
        self.link.as_ref().map_or(again, SideLink::poll_timeout)
    }
}

/// The side connection under way.
#[derive(Debug)]
pub(super) struct SideLink {
    id: LinkId,
    link: Link,
    /// The `exp` of the JWT its CONNECT carries, to tell an expired token.
    token_exp: Option<u64>,
    /// Waiting for the provider's answer to this request: no socket yet, and
    /// `open_deadline` is when the provider is late.
    credentials: Option<CredentialsId>,
    declare: SideDeclare,
    opened: bool,
    /// When to give up on the socket ever opening.
    open_deadline: Duration,
    /// The declare's receipt, once sent.
    receipt: Option<ReceiptId>,
    /// The declare has its outcome; what follows is the goodbye.
    answered: bool,
}

impl SideLink {
    /// When it needs [`Core::handle_timeout`] next.
    fn poll_timeout(&self) -> Option<Duration> {
        if self.opened {
            self.link.poll_timeout()
        } else {
            Some(self.open_deadline)
        }
    }
}

impl Core {
    /// Declares over a side connection (after those already waiting for one).
    pub(super) fn side_declare(
        &mut self,
        now: Duration,
        url: String,
        request: DeclareId,
        queue: &str,
        options: &QueueOptions,
    ) {
        let declare = SideDeclare { request, url, queue: queue.to_owned(), options: options.clone(), cut: 0 };
        self.side.waiting.push_back(declare);
        self.open_side(now);
    }

    fn open_side(&mut self, now: Duration) {
        let waits = self.side.again_at.is_some_and(|at| now < at);
        if self.side.link.is_some() || self.life != Life::Running || waits {
            return;
        }
        self.side.again_at = None;
        let Some(declare) = self.side.waiting.pop_front() else { return };
        self.next_link += 1;
        let id = LinkId(self.next_link);
        let url = declare.url.clone();
        let credentials = self.settings.ask_credentials.then(|| {
            self.next_credentials += 1;
            CredentialsId(self.next_credentials)
        });
        let wait = if credentials.is_some() { self.settings.credentials_timeout } else { self.options.connect_timeout };
        self.side.link = Some(SideLink {
            id,
            link: Link::new(self.options.clone(), self.settings.limits),
            token_exp: self.options.passcode.as_deref().and_then(crate::client::jwt_expiry),
            credentials,
            declare,
            opened: false,
            open_deadline: now.saturating_add(wait),
            receipt: None,
            answered: false,
        });
        match credentials {
            Some(id) => self.actions.push_back(Action::Credentials { id, url }),
            None => self.actions.push_back(Action::Open { link: id, url }),
        }
    }

    /// The provider's answer to the side connection's request `id`, if it is
    /// that (`false` otherwise): fresh credentials open its socket; a failure
    /// ends its declare as closed, in the provider's words.
    pub(super) fn side_credentials(&mut self, now: Duration, id: CredentialsId, answer: &Result<Credentials, String>) -> bool {
        let Some(side) = self.side.link.as_mut().filter(|s| s.credentials == Some(id)) else { return false };
        match answer {
            Ok(credentials) => {
                let mut options = self.options.clone();
                options.login = Some(credentials.login.clone());
                options.passcode = Some(credentials.passcode.clone());
                side.token_exp = crate::client::jwt_expiry(&credentials.passcode);
                side.link = Link::new(options, self.settings.limits);
                side.credentials = None;
                side.open_deadline = now.saturating_add(self.options.connect_timeout);
                self.actions.push_back(Action::Open { link: side.id, url: side.declare.url.clone() });
            }
            Err(words) => self.side_closed(now, CloseReason::Credentials(CredentialsError::Failed(words.clone()))),
        }
        true
    }

    /// The socket `link` opened; `false` if it is not the side connection's.
    pub(super) fn side_opened(&mut self, now: Duration, link: LinkId) -> bool {
        let Some(side) = self.side.link.as_mut().filter(|s| s.id == link && !s.opened) else { return false };
        side.opened = true;
        side.link.handle_open(now);
        self.process_side(now);
        true
    }

    /// Hands what the socket `link` did to the side connection, if it is its.
    pub(super) fn side_input(&mut self, now: Duration, link: LinkId, input: impl FnOnce(&mut Link)) {
        if let Some(side) = self.side.link.as_mut().filter(|s| s.id == link) {
            input(&mut side.link);
            self.process_side(now);
        }
    }

    /// The side connection's bytes to write, if any.
    pub(super) fn side_transmit(&mut self, out: &mut Vec<u8>) -> Option<LinkId> {
        let side = self.side.link.as_mut()?;
        (side.link.write_transmits(out) > 0).then_some(side.id)
    }

    /// [`super::Timer::SideLink`]: the side connection's deadlines, or the end
    /// of the wait before the next one.
    pub(super) fn side_timeout(&mut self, now: Duration) {
        let Some(side) = self.side.link.as_mut() else {
            self.open_side(now);
            return;
        };
        if side.opened {
            side.link.handle_timeout(now);
            self.process_side(now);
        } else if now >= side.open_deadline && side.credentials.is_some() {
            let waited = self.settings.credentials_timeout;
            self.side_closed(now, CloseReason::Credentials(CredentialsError::TimedOut(waited)));
        } else if now >= side.open_deadline {
            let waited = self.options.connect_timeout;
            self.side_closed(now, CloseReason::ConnectTimeout(waited));
        }
    }

    fn process_side(&mut self, now: Duration) {
        while let Some(event) = self.side.link.as_mut().and_then(|side| side.link.poll_event()) {
            match event {
                Event::Connected(_) => self.side_send_declare(now),
                Event::Receipt { id, .. } => {
                    let Some(side) = self.side.link.as_mut().filter(|s| s.receipt.as_ref() == Some(&id)) else { continue };
                    side.answered = true;
                    let request = side.declare.request;
                    let declared = Some((side.declare.queue.clone(), side.declare.options.clone()));
                    // Done: say goodbye; the close that follows ends it.
                    if side.link.channel_mut().session_mut().disconnect(now).is_err() {
                        self.side_closed(now, CloseReason::Disconnected);
                    }
                    self.declare_succeeded(now, request, declared);
                }
                Event::Closed(reason) => {
                    self.side_closed(now, reason);
                    break;
                }
                Event::Message(_) | Event::Error(_) | Event::ReceiptsLost(_) | Event::LocalError(_) => {}
            }
        }
    }

    fn side_send_declare(&mut self, now: Duration) {
        let Some(side) = self.side.link.as_mut() else { return };
        let SideDeclare { queue, options, request, .. } = side.declare.clone();
        match side.link.channel_mut().queue_declare(now, &queue, &options) {
            Ok(receipt) => side.receipt = Some(receipt),
            Err(error) => {
                side.answered = true;
                let _ = side.link.channel_mut().session_mut().disconnect(now);
                self.emit(ReliableEvent::Declared { request, result: Err(DeclareError::Invalid(error)) });
            }
        }
    }

    /// The side connection is over: its declare gets its outcome if it has none,
    /// and the next waiting one starts.
    fn side_closed(&mut self, now: Duration, reason: CloseReason) {
        let Some(side) = self.side.link.take() else { return };
        // No socket was asked for while the provider had not answered.
        if side.credentials.is_none() {
            let close = reason.socket_code();
            self.actions.push_back(Action::Close { link: side.id, code: close.code, reason: close.reason.to_owned() });
        }
        // RabbitMQ says only "Access refused" when the JWT had expired on the way
        // (a slow or paused broker): say so.
        let reason = self.explain_expired(now, side.token_exp, reason);
        if !side.answered {
            let forced = reason.server_error().is_some_and(|e| Refusal::from_server_error(e).is_connection_forced());
            // The CONNECT refused (credentials revoked or expired: seeds 38726,
            // 46126) never reached the declare: the connection failed, the declare
            // was not refused.
            let not_connected = matches!(reason, CloseReason::TokenExpired(_) | CloseReason::ConnectRefused(_));
            let SideDeclare { request, ref url, .. } = side.declare;
            match (reason.server_error(), reason.fault()) {
                _ if not_connected => self.emit(ReliableEvent::Declared { request, result: Err(DeclareError::Closed(reason)) }),
                // A node shutting down or an administrator closed it, or the network
                // dropped it: nothing was refused, the declare was only cut short
                // (seed 11123), and goes again.
                (_, fault) if forced || fault == Fault::Network => self.side_again(now, side.declare, reason),
                (Some(error), _) => {
                    let error = DeclareError::Refused(Refusal::from_server_error(error));
                    self.emit(ReliableEvent::Declared { request, result: Err(error) });
                }
                // Web-STOMP closed without the broker's words: look the queue up.
                (None, Fault::Broker) => {
                    let url = url.clone();
                    let SideDeclare { queue, options, .. } = side.declare;
                    self.declares.insert(request, (queue, options));
                    self.explain_declare(now, url, request, &reason, DeclareError::Closed(reason.clone()));
                }
                (None, _) => self.emit(ReliableEvent::Declared { request, result: Err(DeclareError::Closed(reason)) }),
            }
        }
        self.open_side(now);
    }

    /// A side connection's declare the network or a forced close cut short goes
    /// again, as the main connection's does (`declare::owe`): over another side
    /// connection after a wait while the main one is up, or held for the next
    /// connection. It is answered closed with reconnects off, or when side
    /// connections alone keep dropping.
    fn side_again(&mut self, now: Duration, mut declare: SideDeclare, reason: CloseReason) {
        let up = self.current.as_ref().is_some_and(|c| c.takes_requests());
        if !self.settings.reconnect || (up && declare.cut >= MAX_SIDE_CUTS) {
            let request = declare.request;
            self.emit(ReliableEvent::Declared { request, result: Err(DeclareError::Closed(reason)) });
        } else if up {
            self.side.again_at = Some(now + Duration::from_secs(1 << declare.cut.min(3)));
            declare.cut += 1;
            self.side.waiting.push_front(declare);
        } else {
            // The next connection declares it there, as last asked (`send_redeclares`).
            self.held_declares.push((declare.request, declare.queue, declare.options));
        }
    }

    /// Stopping: the side connection closes, and its declare and those waiting
    /// fail as stopped.
    pub(super) fn stop_side(&mut self) {
        if let Some(side) = self.side.link.take() {
            if side.credentials.is_none() {
                self.actions.push_back(Action::Close { link: side.id, code: 1000, reason: "stopped".into() });
            }
            if !side.answered {
                let request = side.declare.request;
                self.emit(ReliableEvent::Declared { request, result: Err(DeclareError::Stopped) });
            }
        }
        for SideDeclare { request, .. } in std::mem::take(&mut self.side.waiting) {
            self.emit(ReliableEvent::Declared { request, result: Err(DeclareError::Stopped) });
        }
    }
}
