//! The main connection as the panels see it: plain data (the live connection
//! itself is in [`crate::ui::LiveHandles`]).

use crate::client::{ConnectOptions, ConnectionInfo};
use crate::management::ManagementApi;
use crate::reliable::OutboxStatus;

/// The connection's status line.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionStatus {
    /// Nothing tried yet.
    Idle,
    /// WebSocket opening or CONNECT sent.
    Connecting {
        /// Where to.
        url: String,
    },
    /// CONNECTED received.
    Connected {
        /// Where to.
        url: String,
        /// What the broker said in CONNECTED.
        info: ConnectionInfo,
    },
    /// Lost; the next attempt is at `retry_at` (the page's clock, in ms).
    Reconnecting {
        /// Why it was lost, in words.
        reason: String,
        /// Which retry is next, from 1.
        attempt: u32,
        /// When it comes, on `performance.now()`'s clock, in milliseconds.
        retry_at: f64,
        /// Where it will go (with several URLs, the next node).
        next_url: String,
        /// This Connect was connected before: the connection was lost, rather
        /// than never made (QA: a wrong URL said "Connection lost").
        was_connected: bool,
    },
    /// Closed, with the reason in plain words.
    Closed {
        /// Why.
        reason: String,
    },
}

/// Where the last successful connect went, and how: the management API and
/// the consumers' own connections use the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// The Web-STOMP URL connected to (with several, the node it is on).
    pub url: String,
    /// Login, passcode, virtual host, heart-beats.
    pub options: ConnectOptions,
    /// Where RabbitMQ's management API is, as the user gave it; `None`: where
    /// `url` implies ([`crate::management::default_base_url`]).
    pub management_url: Option<String>,
}

impl ConnectionSettings {
    /// The management API for this connection (where the user said, else the same
    /// origin through a proxy, or RabbitMQ's default port), with the same credentials.
    pub fn management(&self) -> Option<ManagementApi> {
        ManagementApi::for_connection(&self.url, self.management_url.as_deref(), &self.options)
    }

    /// The virtual host.
    pub fn vhost(&self) -> &str {
        &self.options.host
    }

    /// The login, for messages such as "the user x has no management tag".
    pub fn login(&self) -> &str {
        self.options.login.as_deref().unwrap_or_default()
    }
}

/// What to change when the management API gave no answer at all: the browser's
/// words for it ("Failed to fetch") name neither the address nor where to set it.
pub const MANAGEMENT_ADDRESS_HINT: &str = "if RabbitMQ's management API is at another address (another port, such as \
     15673 beside Web-STOMP on 15675, or another host), set it in the connection form's “Management API” field \
     (a widget's managementUrl option); if it is there, it may refuse this page's origin: allow it with \
     management.cors.allow_origins in rabbitmq.conf, or serve the API from this page's origin";

/// `error` in words, with [`MANAGEMENT_ADDRESS_HINT`] when the API was unreachable.
pub fn management_failure(error: &crate::management::ManagementError) -> String {
    match error {
        crate::management::ManagementError::Unreachable { .. } => format!("{error}; {MANAGEMENT_ADDRESS_HINT}"),
        other => other.to_string(),
    }
}

/// The main connection, from the panels' side.
#[derive(Debug, Clone, PartialEq)]
pub struct MainConnection {
    /// The status line.
    pub status: ConnectionStatus,
    /// From Connect until it stops (reconnects included): the button disconnects.
    pub running: bool,
    /// Connected now (declares need it).
    pub connected: bool,
    /// The last successful connect.
    pub settings: Option<ConnectionSettings>,
    /// The Web-STOMP URLs of the last Connect (several for a cluster's nodes);
    /// consumers' own connections get them all.
    pub urls: Vec<String>,
    /// Messages in its outbox.
    pub outbox: OutboxStatus,
    /// The broker holds publishes back: since when no confirm came, in
    /// `performance.now()` milliseconds.
    pub held_back_since: Option<f64>,
    /// Which Connect it is, from 1: news of an earlier one is ignored.
    pub generation: u64,
    /// The user clicked Disconnect: the panel says what keeps running.
    pub stopped_by_user: bool,
    /// The connection's latest warnings in words, oldest first (at most
    /// [`WARNINGS_KEPT`]), each with how many times it came in a row.
    pub warnings: Vec<(String, u32)>,
    /// Connected at least once since the last Connect.
    pub was_connected: bool,
}

/// How many of the main connection's warnings the status line keeps.
pub const WARNINGS_KEPT: usize = 3;

impl MainConnection {
    /// Takes a warning in: a repeat of the newest is counted, the oldest goes
    /// beyond [`WARNINGS_KEPT`].
    pub fn warn(&mut self, words: &str) {
        match self.warnings.last_mut() {
            Some((last, times)) if last == words => *times = times.saturating_add(1),
            _ => self.warnings.push((words.to_owned(), 1)),
        }
        let excess = self.warnings.len().saturating_sub(WARNINGS_KEPT);
        self.warnings.drain(..excess);
    }
}

impl Default for MainConnection {
    fn default() -> Self {
        MainConnection {
            status: ConnectionStatus::Idle,
            running: false,
            connected: false,
            settings: None,
            urls: Vec::new(),
            outbox: OutboxStatus::default(),
            held_back_since: None,
            generation: 0,
            stopped_by_user: false,
            warnings: Vec::new(),
            was_connected: false,
        }
    }
}
