//! Credentials per connection, and planned reconnects before they expire.
//!
//! With [`super::ReliableOptions::ask_credentials`] on, every connection attempt
//! (the first, each reconnect, each node of a cluster, a renewal's new link, a
//! side connection's: see `side`) begins with
//! [`super::Action::Credentials`]: the driver calls the user's provider and
//! answers with [`Core::handle_credentials`]. A provider that fails, or does not
//! answer within [`super::ReliableOptions::credentials_timeout`], fails the
//! attempt ([`CloseReason::Credentials`]), which is retried with the backoff like
//! any other; the outbox waits meanwhile.
//!
//! When the credentials expire (the provider says so, or the passcode is a JWT
//! with an `exp`), the core reconnects before they do: a planned reconnect
//! ([`super::ConnectionEvent::Renewing`]), a quarter of their lifetime before the
//! expiry (at most [`RENEW_MARGIN`]). It is make-before-break (see `renew`): a
//! new connection with fresh credentials opens beside the current one, every
//! consumer subscribes there, it takes over
//! ([`super::ConnectionEvent::Renewed`]), publishing moves to it once the old
//! one's confirms are in, and the old one DISCONNECTs then. Deliveries never
//! pause for it. Only when the new connection failed with little time left does
//! it fall back to break-before-make (here: publishing pauses, DISCONNECT after
//! the confirms, then the next connection at once, and for the time of one
//! reconnect nothing is delivered).
//!
//! A CONNECT refused while the JWT sent had expired is said in those words
//! ([`CloseReason::TokenExpired`]): RabbitMQ says only "Access refused".

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crate::client::{jwt_expiry, CloseReason, Credentials, CredentialsError, TokenExpired};

use super::{Action, Core, Life};

/// Which credentials request an answer ([`Core::handle_credentials`]) is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CredentialsId(pub u64);

/// The longest a planned reconnect comes before the expiry: a quarter of the
/// credentials' lifetime, at most this.
pub const RENEW_MARGIN: Duration = Duration::from_secs(60);

/// A credentials request awaiting its answer.
#[derive(Debug, Clone)]
pub(super) struct Fetching {
    id: CredentialsId,
    url: String,
    deadline: Duration,
    /// For a renewal's new connection, while the current one goes on.
    successor: bool,
}

/// A planned reconnect under way on the current link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Renewal {
    /// Publishing paused: waiting for the confirms in flight, until then at most.
    Draining {
        /// When DISCONNECT goes whatever is still in flight (it goes again, marked).
        until: Duration,
    },
    /// A renewal's retiring link whose confirms are in: publishing moved to the
    /// new link, and this one stays open for the replies to calls whose request it
    /// carried (its reply queue goes with it), until then at most.
    AwaitingReplies {
        /// When DISCONNECT goes whatever reply is still awaited (those calls fail).
        until: Duration,
    },
    /// DISCONNECT sent: its receipt (or the close) ends the link.
    Disconnecting,
}

/// How far the broker's clock may be ahead of the page's when a close is put
/// down to an expired token.
pub const EXPIRY_SLACK: Duration = Duration::from_secs(1);

/// The longest a planned reconnect waits for the confirms in flight.
const DRAIN_MAX: Duration = Duration::from_secs(5);

/// When the credentials in use were obtained and when they expire (core clock).
#[derive(Debug, Clone, Copy)]
pub(super) struct Expiry {
    obtained: Duration,
    expires_at: Duration,
}

impl Core {
    /// The wall clock: `unix` (time since 1970) is `now` on the core's clock. The
    /// core reads a JWT's `exp` with it; a driver says it at start and with every
    /// credentials answer.
    pub fn handle_unix_time(&mut self, now: Duration, unix: Duration) {
        self.unix_minus_now = Some(unix.saturating_sub(now));
    }

    /// The connect options the next CONNECT uses: the latest credentials from the
    /// provider, for the management API's look-ups too.
    pub fn connect_options(&self) -> &crate::client::ConnectOptions {
        &self.options
    }

    /// The current link ended while a renewal's credentials were being fetched:
    /// they are for the next attempt now (`true` if there was such a request).
    pub(super) fn fetching_for_successor_becomes_next_attempt(&mut self) -> bool {
        match self.fetching.as_mut().filter(|f| f.successor) {
            Some(fetching) => {
                fetching.successor = false;
                true
            }
            None => false,
        }
    }

    /// The URL a credentials request is for, while one is awaited.
    pub(super) fn fetching_url(&self) -> Option<&str> {
        self.fetching.as_ref().map(|f| f.url.as_str())
    }

    /// The start of a connection attempt to `url`: ask for credentials.
    pub(super) fn request_credentials(&mut self, now: Duration, url: String) {
        self.request_credentials_for(now, url, false);
    }

    /// A credentials request, for a renewal's new connection (`successor`) or the
    /// next attempt.
    pub(super) fn request_credentials_for(&mut self, now: Duration, url: String, successor: bool) {
        self.next_credentials += 1;
        let id = CredentialsId(self.next_credentials);
        let deadline = now.saturating_add(self.settings.credentials_timeout);
        self.fetching = Some(Fetching { id, url: url.clone(), deadline, successor });
        self.actions.push_back(Action::Credentials { id, url });
    }

    /// The answer to [`Action::Credentials`] `id`: credentials, or why the provider
    /// failed in its words. A late answer (timed out, superseded, stopped) is
    /// ignored.
    pub fn handle_credentials(&mut self, now: Duration, id: CredentialsId, answer: Result<Credentials, String>) {
        if self.life == Life::Running && self.side_credentials(now, id, &answer) {
            self.sync_timers();
            return;
        }
        if self.life != Life::Running || self.fetching.as_ref().is_none_or(|f| f.id != id) {
            return;
        }
        let Some(Fetching { url, successor, .. }) = self.fetching.take() else { return };
        match answer {
            Ok(credentials) => {
                let by_provider = credentials.expires_in.map(|d| now.saturating_add(d));
                let by_token = jwt_expiry(&credentials.passcode).and_then(|exp| self.core_time(exp));
                let expires_at = by_provider.into_iter().chain(by_token).min();
                let expiry = expires_at.map(|expires_at| Expiry { obtained: now, expires_at });
                self.options.login = Some(credentials.login);
                self.options.passcode = Some(credentials.passcode);
                if successor {
                    self.open_successor(now, url, expiry);
                } else {
                    self.expiry = expiry;
                    self.open_socket(now, url);
                }
            }
            Err(words) if successor => self.successor_failed(now, CloseReason::Credentials(CredentialsError::Failed(words))),
            Err(words) => self.credentials_failed(now, CredentialsError::Failed(words)),
        }
        self.sync_timers();
    }

    /// [`super::Timer::Credentials`]: the provider took too long.
    pub(super) fn credentials_timeout(&mut self, now: Duration) {
        let Some(fetching) = self.fetching.take() else { return };
        let error = CredentialsError::TimedOut(self.settings.credentials_timeout);
        if fetching.successor {
            self.successor_failed(now, CloseReason::Credentials(error));
        } else {
            self.credentials_failed(now, error);
        }
    }

    pub(super) fn credentials_deadline(&self) -> Option<Duration> {
        self.fetching.as_ref().map(|f| f.deadline)
    }

    fn credentials_failed(&mut self, now: Duration, error: CredentialsError) {
        self.after_link(now, CloseReason::Credentials(error), false);
    }

    /// `exp` (seconds since 1970) on the core's clock, once the wall clock is known.
    fn core_time(&self, exp: u64) -> Option<Duration> {
        self.unix_minus_now.map(|offset| Duration::from_secs(exp).saturating_sub(offset))
    }

    /// When to reconnect before the credentials expire, decided at CONNECTED: a
    /// quarter of their lifetime before (at most [`RENEW_MARGIN`]), or halfway to
    /// the expiry when that is already past; never with fixed credentials (new
    /// ones would be the same).
    pub(super) fn plan_renewal(&mut self, now: Duration) {
        self.renewal.at = self.renewal_time(now);
    }

    /// When the credentials in use are to be renewed, seen from `now` (`None`:
    /// no provider, no expiry, or expired).
    pub(super) fn renewal_time(&self, now: Duration) -> Option<Duration> {
        if !self.settings.ask_credentials {
            return None;
        }
        let Expiry { obtained, expires_at } = self.expiry?;
        let margin = (expires_at.saturating_sub(obtained) / 4).min(RENEW_MARGIN);
        let planned = expires_at.saturating_sub(margin);
        if planned > now {
            Some(planned)
        } else if expires_at > now {
            Some(now + (expires_at - now) / 2)
        } else {
            None
        }
    }

    /// Whether the credentials in use have expired by `now`, give or take
    /// [`EXPIRY_SLACK`] for the broker's clock.
    pub(super) fn credentials_expired(&self, now: Duration) -> bool {
        self.expiry.is_some_and(|e| now.saturating_add(EXPIRY_SLACK) >= e.expires_at)
    }

    /// The fallback when a renewal's new connection failed with too little time
    /// left to try again: break-before-make, as before make-before-break. The
    /// current link stops publishing, DISCONNECTs after its confirms, and the next
    /// one connects at once.
    pub(super) fn break_before_make(&mut self, now: Duration) {
        let expires_in = self.expiry.map(|e| e.expires_at.saturating_sub(now)).unwrap_or_default();
        let until = now.saturating_add((expires_in / 2).min(DRAIN_MAX));
        let Some(current) = self.current.as_mut().filter(|c| c.connected && c.planned.is_none()) else { return };
        current.planned = Some(Renewal::Draining { until });
        self.flush_auto_acks(now);
        self.continue_renewal(now);
    }

    /// How long a renewal's old link waits for its confirms: half the time its
    /// credentials have left, at most [`DRAIN_MAX`].
    pub(super) fn drain_until(&self, now: Duration) -> Duration {
        let expires_in = self.expiry.map(|e| e.expires_at.saturating_sub(now)).unwrap_or_default();
        now.saturating_add((expires_in / 2).min(DRAIN_MAX))
    }

    /// When the credentials in use expire, if they do.
    pub(super) fn expires_at(&self) -> Option<Duration> {
        self.expiry.map(|e| e.expires_at)
    }

    /// The credentials of a renewal's new link become the ones in use.
    pub(super) fn use_expiry(&mut self, expiry: Option<Expiry>) {
        self.expiry = expiry;
    }

    /// A draining link whose confirms are all in goes: DISCONNECT (its receipt
    /// ends the link, and the next begins at once, see `end_link`).
    pub(super) fn continue_renewal(&mut self, now: Duration) {
        self.continue_retiring(now);
        let draining = self.current.as_ref().is_some_and(|c| matches!(c.planned, Some(Renewal::Draining { .. })));
        if draining && self.outbox.in_flight() == 0 {
            self.disconnect_planned(now);
        }
    }

    fn disconnect_planned(&mut self, now: Duration) {
        let Some(link) = self.current.as_ref().map(|c| c.id) else { return };
        if !self.send_planned_disconnect(now, link) {
            self.end_link(now, CloseReason::Disconnected);
        }
    }

    /// A planned reconnect's DISCONNECT on `link` (the current one, or a
    /// renewal's old one): an auto-ack consumer's takes are acked first, while
    /// the link still takes acks; what waits unread from it is dropped, since it
    /// can no longer be acked there (the broker gives it again, marked). `false`
    /// if the DISCONNECT could not be sent.
    pub(super) fn send_planned_disconnect(&mut self, now: Duration, link: super::LinkId) -> bool {
        self.flush_auto_acks(now);
        let Some(current) = self.link_mut(link) else { return false };
        current.planned = Some(Renewal::Disconnecting);
        let sent = current.link.channel_mut().session_mut().disconnect(now).is_ok();
        self.drop_buffers(link);
        sent
    }

    /// The break-before-make fallback's deadline: the end of its wait for confirms.
    pub(super) fn drain_deadline(&self) -> Option<Duration> {
        let current = self.current.as_ref().filter(|c| c.connected && self.life == Life::Running)?;
        match current.planned {
            Some(Renewal::Draining { until }) => Some(until),
            None | Some(Renewal::Disconnecting | Renewal::AwaitingReplies { .. }) => None,
        }
    }

    /// [`super::Timer::Renew`] for the fallback: its wait for confirms is over.
    pub(super) fn drain_timeout(&mut self, now: Duration) {
        let draining = self.current.as_ref().and_then(|c| c.planned);
        if let Some(Renewal::Draining { until }) = draining {
            if until <= now {
                self.disconnect_planned(now);
            }
        }
    }

    /// A CONNECT refusal, said as a token that had expired when the JWT sent
    /// (`token_exp`) had: RabbitMQ's words alone do not say it.
    pub(super) fn explain_expired(&self, now: Duration, token_exp: Option<u64>, reason: CloseReason) -> CloseReason {
        let (CloseReason::ConnectRefused(refused), Some(exp), Some(offset)) = (&reason, token_exp, self.unix_minus_now)
        else {
            return reason;
        };
        let unix_now = now.saturating_add(offset);
        let expired_at = Duration::from_secs(exp);
        if expired_at > unix_now {
            return reason;
        }
        let expired_for = unix_now.saturating_sub(expired_at);
        CloseReason::TokenExpired(Box::new(TokenExpired { expired_at: exp, expired_for, refused: refused.clone() }))
    }
}
