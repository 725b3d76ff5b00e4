//! What the core reports.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crate::client::{CloseReason, ConnectionInfo, LocalError, SubscriptionId};
use crate::rabbit::{Delivery, OutboxId};

use super::{CallError, CallId, ConsumeError, ConsumerKey, DeclareError, DeclareId, LinkId, PublishError, StopReason};

/// What a connection reports about itself, from the core to every user as it
/// is: the Rust API's status stream, the JavaScript API's status objects and the
/// app's status line are views of it. Deliveries go to their consumer and
/// publish outcomes to their publisher instead ([`ReliableEvent`]).
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionEvent {
    /// A connection attempt began.
    Connecting {
        /// Its socket.
        link: LinkId,
        /// Where to.
        url: String,
    },
    /// Connected (again): consumers are being restored and the outbox resent.
    Connected {
        /// Its socket.
        link: LinkId,
        /// Where to.
        url: String,
        /// What CONNECTED said.
        info: ConnectionInfo,
    },
    /// The connection was lost; the next attempt comes at `retry_at`.
    Reconnecting {
        /// Why it was lost.
        reason: CloseReason,
        /// Which retry this is, from 1.
        attempt: u32,
        /// How long until it.
        delay: Duration,
        /// When, on the clock passed in.
        retry_at: Duration,
        /// Where it will go (the next URL when there are several).
        next_url: String,
    },
    /// A planned reconnect began: the credentials expire in `expires_in`, so a new
    /// connection with fresh credentials is made beside this one (make-before-break);
    /// [`ConnectionEvent::Renewed`] says when it took over. This one goes on meanwhile.
    /// (If the new one fails, a [`Warning::RenewalFailed`] says so and it is tried
    /// again; with little time left, this one closes after its confirms and the next
    /// connects at once: `Connecting`, `Connected`.)
    Renewing {
        /// The connection that ends.
        link: LinkId,
        /// How long until its credentials expire.
        expires_in: Duration,
    },
    /// A planned reconnect's new connection took over (make-before-break): every
    /// consumer is subscribed there, publishing moves to it once the old one's
    /// confirms are in, and the old one closes then. Deliveries went on
    /// throughout (from both connections for a while).
    Renewed {
        /// The connection that ends.
        old: LinkId,
        /// The new connection, current from now on.
        link: LinkId,
        /// Where to.
        url: String,
        /// What its CONNECTED said.
        info: ConnectionInfo,
    },
    /// The broker accepted a consumer's subscription (again, after a reconnect).
    ConsumerReady(ConsumerKey),
    /// A transient exchange subscription ([`crate::rabbit::ConsumeFrom::exchange`])
    /// was made again after a reconnect, into a new queue: what the exchange
    /// routed while the connection was down (from the `Reconnecting` that
    /// preceded this until now) went to the old queue, deleted with its
    /// connection, and is lost. A durable subscription never has this gap.
    SubscriptionGap {
        /// Which consumer.
        consumer: ConsumerKey,
        /// Its exchange.
        exchange: String,
        /// Its binding key.
        routing_key: String,
    },
    /// A consumer ended because the broker refused it; it is gone.
    ConsumerFailed {
        /// Which consumer.
        consumer: ConsumerKey,
        /// Why.
        error: ConsumeError,
    },
    /// Publishes on a live connection have waited `HELD_BACK_AFTER` (5 s) and
    /// more for any confirm: the broker holds publishers back (RabbitMQ does
    /// under a memory or disk alarm). They wait in the window and the outbox;
    /// nothing is lost, and the connection is not declared lost for it.
    PublishesHeldBack {
        /// Since when no confirm came, on the clock passed in.
        since: Duration,
        /// How many publishes await their confirm.
        in_flight: usize,
    },
    /// Confirms come again after [`ConnectionEvent::PublishesHeldBack`].
    PublishesFlowing {
        /// How long they were held back.
        held_for: Duration,
    },
    /// A call's request ([`super::Core::call`]) came into the outbox, was
    /// confirmed, failed or was taken out (timed out, withdrawn): said because
    /// nothing else is (a publish's confirm reaches its publisher; a request's is
    /// the call's), so that an outbox count on screen follows. At most one per
    /// input, with the counts after it.
    OutboxChanged {
        /// Messages in the outbox, unsent or in flight.
        messages: usize,
        /// Of them, sent on the current connection and not confirmed yet.
        in_flight: usize,
    },
    /// Something odd that changes nothing (a receipt nobody asked for).
    Warning(Warning),
    /// No more connections: the user stopped it, or the broker refused CONNECT in
    /// a way retrying cannot fix. Always the last event.
    Stopped(StopReason),
}

/// Everything the core reports: the connection's status ([`ConnectionEvent`]),
/// and the outcome of each request, for the driver to hand to whoever awaits it.
#[derive(Debug, Clone, PartialEq)]
pub enum ReliableEvent {
    /// The connection's status, for the user as it is.
    Connection(ConnectionEvent),
    /// A consumer has something to take ([`super::Core::take_delivery`]): a
    /// delivery, or its end. Said when its buffer stops being empty, so a reader
    /// that found it empty knows when to look again.
    Readable(ConsumerKey),
    /// A publish that waited for room ([`super::Core::basic_publish_or_wait`]) is
    /// in the outbox now.
    Admitted(OutboxId),
    /// The broker confirmed a message from the outbox.
    Confirmed(OutboxId),
    /// A message left the outbox unconfirmed, for this reason.
    PublishFailed {
        /// Which message.
        publish: OutboxId,
        /// Why.
        error: PublishError,
    },
    /// A cancelled consumer's UNSUBSCRIBE was confirmed (or its connection ended):
    /// the broker delivers nothing more for it.
    ConsumerCancelled(ConsumerKey),
    /// A call ([`super::Core::call`]) got its reply, or ended without one.
    CallDone {
        /// Which call.
        call: CallId,
        /// The reply (auto-acked: nothing to ack), or why none came. Boxed: a
        /// delivery is large next to the other events.
        result: Result<Box<Delivery>, CallError>,
    },
    /// A `queue_declare` was answered.
    Declared {
        /// Which call.
        request: DeclareId,
        /// The outcome.
        result: Result<(), DeclareError>,
    },
}

/// Something odd that changed nothing ([`ConnectionEvent::Warning`]): worth a log
/// line, not an action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Warning {
    /// The session reported a problem on our side (a receipt nobody asked for).
    #[error("{0}")]
    Local(#[from] LocalError),
    /// A delivery came for a subscription this connection never made; it was
    /// dropped unacked (RabbitMQ takes no ack for it).
    #[error("a delivery for unknown subscription {0} was dropped")]
    UnknownSubscription(SubscriptionId),
    /// A reply (a MESSAGE on the temp queue of calls) matched no call in flight: a
    /// reply with a wrong or no correlation id, or a late one to a call older than
    /// the latest 64 that timed out (a late reply to those is [`Warning::LateReply`]).
    /// It was dropped (the broker had auto-acked it) and counted
    /// ([`super::Core::unmatched_replies`]).
    #[error("a reply {} matched no call in flight and was dropped", ReplyId(.correlation_id.as_deref()))]
    UnmatchedReply {
        /// Its correlation id, if it had one.
        correlation_id: Option<String>,
    },
    /// A reply came for a call that had timed out (its server was slow, or took
    /// the request from the queue late): dropped, as the tutorial's client does,
    /// and counted with the unmatched ones ([`super::Core::unmatched_replies`]).
    #[error("a reply with correlation id {} came after its call timed out ({} ms) and was dropped", crate::sans_io::text::Quoted(.correlation_id), crate::sans_io::client::whole_millis(*.timeout))]
    LateReply {
        /// Its correlation id.
        correlation_id: String,
        /// The call's timeout.
        timeout: Duration,
    },
    /// A planned reconnect's new connection failed (its credentials, its socket,
    /// its CONNECT): the current connection goes on, and the renewal is tried
    /// again while there is time.
    #[error("a new connection before the credentials expire failed ({0}); the current one goes on")]
    RenewalFailed(String),
    /// The heart-beat worker could not start (a Content-Security-Policy without
    /// `blob:` in `worker-src`, for one): heart-beats now depend on the page's
    /// timers, which browsers throttle in a background tab (Chrome to once a
    /// minute), so a hidden page may lose its connection.
    #[error("the heart-beat worker could not start ({0}); in a background tab heart-beats depend on the page's timers, which browsers throttle")]
    TickerUnavailable(String),
    /// The page has no monotonic clock (`performance`): time follows the wall
    /// clock, kept from going back, so a clock change can make timers early or late.
    #[error("the page has no monotonic clock (performance.now); Burrow keeps time by the wall clock, never letting it go back")]
    NoMonotonicClock,
    /// A queue this connection declared, declared again on a later connection
    /// (a broker restart deletes a non-durable queue), was refused (in words, or
    /// by the management API's facts after a close without words), or closed on
    /// without words twice running: it is not declared again, and a consumer of
    /// it fails if the queue is gone.
    #[error("queue '{queue}' could not be declared again after the reconnect ({reason}); it is not declared again")]
    NotDeclaredAgain {
        /// The queue.
        queue: String,
        /// Why, in RabbitMQ's words when it gave them.
        reason: String,
    },
    /// An exchange or binding this connection made through the management API,
    /// declared again after a reconnect (a broker restart deletes a non-durable
    /// one), failed: what depends on it (an exchange subscription, a publish to
    /// it) fails as it would without it.
    #[error("{what} could not be declared again after the reconnect ({reason})")]
    NotRecovered {
        /// What: "exchange 'logs'", "the binding of queue 'q' to exchange 'logs'".
        what: String,
        /// Why, in the management API's words.
        reason: String,
    },
    /// An exclusive queue this connection declared is still held by the
    /// connection that ended: one that dropped, which RabbitMQ has not noticed
    /// yet (until its heart-beat check does, declaring the queue again is refused
    /// `RESOURCE_LOCKED`), or a token renewal's old one. It is declared again, and
    /// its consumers subscribe, once RabbitMQ lets the old connection go, which
    /// deletes the queue with what was in it, unacked deliveries included, and
    /// drops what is published to it meanwhile.
    #[error("exclusive queue '{queue}' is still held by the connection that ended; it is declared again once RabbitMQ lets that go, which deletes the queue and the messages in it")]
    ExclusiveQueueHeld {
        /// The queue.
        queue: String,
    },
}

/// A reply's correlation id in a warning: `with correlation id "x"`, or that it
/// had none (not Rust's `Some("x")`/`None`, which a JavaScript user would read).
struct ReplyId<'a>(Option<&'a str>);

impl std::fmt::Display for ReplyId<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(id) => write!(f, "with correlation id {}", crate::sans_io::text::Quoted(id)),
            None => f.write_str("without a correlation id"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Warning;

    #[test]
    fn an_unmatched_reply_is_told_without_rust_option_words() {
        let with = Warning::UnmatchedReply { correlation_id: Some("调用-7".into()) };
        assert_eq!(with.to_string(), "a reply with correlation id \"调用-7\" matched no call in flight and was dropped");
        let without = Warning::UnmatchedReply { correlation_id: None };
        assert_eq!(without.to_string(), "a reply without a correlation id matched no call in flight and was dropped");
    }
}
