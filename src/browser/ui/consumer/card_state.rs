//! A consumer card's state: plain data (its connection and ack handles live in
//! its hook, [`crate::ui::hooks::use_reliable_consumer`]).

use std::rc::Rc;

use yew::prelude::*;

use crate::rabbit::{BrokerVersion, StreamOffset};
use crate::reliable::Delivery;

use super::super::log::BoundedLog;
use super::super::properties::property_rows;
use super::super::state::{CardPhase, ConsumerProgress, ConsumerSource, ConsumerSpec};

/// How many deliveries a consumer card keeps on screen; the rest are counted.
pub const DELIVERY_LOG_LIMIT: usize = 50;

/// How much of a body a card shows; the rest is only counted, so a card never
/// holds whole large bodies.
const PREVIEW_CHARS: usize = 2_000;

/// How a delivery was settled, as its card shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// basic_ack.
    Acked,
    /// basic_nack, requeue: back in the queue. `Some(returns)` on a quorum queue
    /// of RabbitMQ 4.x, which counts them: this was its how-manieth return, and
    /// past [`DEFAULT_DELIVERY_LIMIT`] the queue drops it (or dead-letters it)
    /// unless it sets another `delivery-limit`.
    Requeued(Option<u64>),
    /// basic_nack without requeue: dropped or dead-lettered.
    Rejected,
    /// Its connection was gone when acked: RabbitMQ redelivers it, marked.
    Stale,
    /// Never acked, and the card closed its connection (a crash, a stop) while
    /// RabbitMQ stayed up: RabbitMQ put it back in the queue.
    ReturnedToQueue,
    /// Never acked, and its connection was lost or its consumer ended: back in
    /// the queue, unless what the card cannot see took it (the caveat).
    ReturnedUnless(Unless),
    /// Never acked, on a transient subscription: its queue, and the message with
    /// it, went with the connection.
    LostWithQueue,
    /// The ack was refused, in words.
    Refused(String),
    /// Never acked, read from a stream whose card then replayed: a stream keeps
    /// every message, so nothing went back, and the replay reads it again.
    Replayed,
}

impl Settlement {
    /// In words, for its badge.
    pub fn words(&self) -> String {
        match self {
            Settlement::Acked => "acked".to_owned(),
            Settlement::Requeued(None) => "requeued".to_owned(),
            Settlement::Requeued(Some(returns)) => requeued_on_4x(*returns),
            Settlement::Rejected => "rejected".to_owned(),
            Settlement::Stale => "stale: will be redelivered".to_owned(),
            Settlement::ReturnedToQueue => "returned to the queue".to_owned(),
            Settlement::ReturnedUnless(unless) => format!("returned to the queue unless {}", unless.words()),
            Settlement::LostWithQueue => "lost: its transient queue went with the connection".to_owned(),
            Settlement::Refused(words) => words.clone(),
            Settlement::Replayed => "left for the replay: a stream keeps every message".to_owned(),
        }
    }

    /// The mark of a nack with requeue of a delivery RabbitMQ had delivered
    /// `delivery_count` times before (a quorum queue's `x-delivery-count`), on the
    /// broker whose CONNECTED said `server` (`RabbitMQ/4.0.5`).
    pub fn requeued(delivery_count: Option<u64>, server: Option<&str>) -> Self {
        let limited = server.and_then(BrokerVersion::from_server).is_some_and(|v| v.major >= 4);
        Settlement::Requeued(delivery_count.filter(|_| limited).map(|count| count.saturating_add(1)))
    }

    /// Its badge's class: a hedge is a warning, a loss bad.
    pub fn tone(&self) -> &'static str {
        match self {
            Settlement::ReturnedUnless(_) => "warn",
            Settlement::Requeued(Some(returns)) if *returns + NEAR_THE_LIMIT > DEFAULT_DELIVERY_LIMIT => "warn",
            Settlement::LostWithQueue => "bad",
            _ => "good",
        }
    }
}

/// A quorum queue's `delivery-limit` on RabbitMQ 4.x when it sets none (3.x has
/// no default): the message's next return after this many drops it, or
/// dead-letters it, without a word to the consumer (QA, 4.0.5: 21 deliveries,
/// then the queue was empty).
pub const DEFAULT_DELIVERY_LIMIT: u64 = 20;

/// How many returns before the limit a requeue's mark becomes a warning.
const NEAR_THE_LIMIT: u64 = 5;

/// The words of a requeue on a quorum queue of RabbitMQ 4.x, its `returns`-th.
fn requeued_on_4x(returns: u64) -> String {
    let limit = DEFAULT_DELIVERY_LIMIT;
    let rule = format!("RabbitMQ 4.x drops or dead-letters it after {limit} returns unless the queue sets delivery-limit");
    if returns > limit {
        format!("requeued, its return {returns}: {rule}")
    } else {
        format!("requeued (return {returns} of {limit}: {rule})")
    }
}

/// What may have taken an unacked message the card marks returned: the card sees
/// a lost connection, not whether the broker went down with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unless {
    /// Not persistent: a broker restart drops it, from any queue.
    NotPersistent,
    /// Persistent, on a queue the card does not know to be durable: a broker
    /// restart drops a non-durable queue with all it holds.
    QueueNotDurable,
    /// RabbitMQ ended the consumer (a deleted queue cancels its consumers, and
    /// its messages go with it).
    QueueDeleted,
}

impl Unless {
    /// In words, after "returned to the queue unless".
    pub fn words(self) -> &'static str {
        match self {
            Unless::NotPersistent => "the broker went down (not persistent)",
            Unless::QueueNotDurable => "the broker went down and the queue is not durable",
            Unless::QueueDeleted => "the queue was deleted",
        }
    }
}

/// What becomes of the queue a card reads when its connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueLife {
    /// Durable for sure (a durable subscription's queue, a stream): it and its
    /// persistent messages outlive a broker restart.
    Durable,
    /// A queue by name, whose durability the card does not know.
    #[default]
    Unknown,
    /// A transient subscription's queue (auto-delete): it goes with the
    /// connection, with what it held.
    Transient,
}

impl QueueLife {
    /// The queue `spec` reads.
    pub fn of(spec: &ConsumerSpec) -> Self {
        match &spec.source {
            ConsumerSource::Exchange { durable_queue: None, .. } => QueueLife::Transient,
            ConsumerSource::Exchange { durable_queue: Some(_), .. } => QueueLife::Durable,
            ConsumerSource::Queue(_) if spec.stream_offset.is_some() => QueueLife::Durable,
            ConsumerSource::Queue(_) => QueueLife::Unknown,
        }
    }

    /// What became of an unacked delivery (`persistent` or not) when its card
    /// came to `status`: only what is sure is said plainly.
    fn fate(self, status: &CardStatus, persistent: bool) -> Settlement {
        match (self, status) {
            (QueueLife::Transient, _) => Settlement::LostWithQueue,
            (_, CardStatus::Ended(_)) => Settlement::ReturnedUnless(Unless::QueueDeleted),
            // A lost connection may be the broker going down, which keeps only
            // persistent messages of durable queues.
            (_, CardStatus::Reconnecting { .. }) if !persistent => Settlement::ReturnedUnless(Unless::NotPersistent),
            (QueueLife::Unknown, CardStatus::Reconnecting { .. }) => Settlement::ReturnedUnless(Unless::QueueNotDurable),
            _ => Settlement::ReturnedToQueue,
        }
    }
}

/// What the user asks of an unsettled delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettleChoice {
    /// basic_ack.
    Ack,
    /// basic_nack, requeue.
    Requeue,
    /// basic_nack, no requeue.
    Reject,
}

/// A delivery as a card shows it: decoded once, bounded, no body kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// Numbers deliveries within the card, for list keys and acks.
    pub number: u64,
    /// The start of the body, as text.
    pub preview: String,
    /// Body bytes in all (the preview may show fewer).
    pub size: usize,
    /// Marked redelivered by RabbitMQ.
    pub redelivered: bool,
    /// Published again by an outbox after a lost confirm.
    pub resent: bool,
    /// delivery_mode=2.
    pub persistent: bool,
    /// Its stream offset (a stream's deliveries only).
    pub offset: Option<u64>,
    /// A quorum queue's count of earlier deliveries.
    pub delivery_count: Option<u64>,
    /// "3/10" from the producer's copy header.
    pub copy: Option<String>,
    /// Exchange, routing key, every property and header, as rows.
    pub details: Vec<(String, String)>,
    /// Needs an ack (manual mode).
    pub needs_ack: bool,
    /// How it was settled, once it was.
    pub settled: Option<Settlement>,
}

impl Shown {
    /// Reads what the card shows of `delivery`.
    pub fn new(number: u64, delivery: &Delivery) -> Self {
        let text = String::from_utf8_lossy(&delivery.body);
        let preview = match text.char_indices().nth(PREVIEW_CHARS) {
            Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or_default()),
            None => text.into_owned(),
        };
        let properties = &delivery.properties;
        let copy = properties.headers.iter().find(|(k, _)| k == super::super::publish::COPY_HEADER).map(|(_, v)| v.clone());
        let mut details = vec![
            ("exchange".to_owned(), if delivery.exchange.is_empty() { "(default)".to_owned() } else { delivery.exchange.clone() }),
            ("routing key".to_owned(), delivery.routing_key.clone()),
        ];
        details.extend(property_rows(properties));
        Shown {
            number,
            preview,
            size: delivery.body.len(),
            redelivered: delivery.redelivered,
            resent: delivery.resent,
            persistent: properties.persistent,
            offset: delivery.stream_offset,
            delivery_count: delivery.delivery_count,
            copy,
            details,
            needs_ack: delivery.ack_handle().needs_ack(),
            settled: None,
        }
    }

    /// Still waiting for the user's ack or nack.
    pub fn unsettled(&self) -> bool {
        self.needs_ack && self.settled.is_none()
    }
}

/// One line of a card's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardEntry {
    /// A delivery.
    Delivery(Shown),
    /// Where a replay began: what follows (above, newest first) is read again.
    Replay {
        /// Its key in the list.
        number: u64,
        /// Where it reads from.
        from: StreamOffset,
    },
}

impl CardEntry {
    /// Its key in the list.
    pub fn number(&self) -> u64 {
        match self {
            CardEntry::Delivery(shown) => shown.number,
            CardEntry::Replay { number, .. } => *number,
        }
    }
}

/// Where the card's consumer stands, with what the card says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardStatus {
    /// Not started yet, or connecting.
    Starting(String),
    /// Subscribed.
    Consuming {
        /// The node it is on.
        node: String,
        /// The queue it reads, by name, when known (a transient subscription's
        /// queue is new after each reconnect).
        queue: Option<String>,
    },
    /// Its connection was lost; it comes back by itself.
    Reconnecting {
        /// Why, in words.
        reason: String,
        /// Which retry.
        attempt: u32,
        /// In how many seconds.
        seconds: u64,
    },
    /// The user crashed it.
    Crashed,
    /// "Stop all consumers".
    Stopped,
    /// Ended: refused, or closed for good (why, in words).
    Ended(String),
}

impl CardStatus {
    /// Where it stands, in short.
    pub fn phase(&self) -> CardPhase {
        match self {
            CardStatus::Starting(_) => CardPhase::Starting,
            CardStatus::Consuming { .. } => CardPhase::Consuming,
            CardStatus::Reconnecting { .. } => CardPhase::Reconnecting,
            CardStatus::Crashed => CardPhase::Crashed,
            CardStatus::Stopped | CardStatus::Ended(_) => CardPhase::Ended,
        }
    }
}

/// Deliveries that arrived since the card last drew: drawn together.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Arrivals {
    /// The newest of them (at most [`DELIVERY_LOG_LIMIT`]), oldest first.
    pub shown: Vec<Shown>,
    /// How many arrived in all.
    pub received: u64,
    /// How many of them were marked redelivered.
    pub redelivered: u64,
    /// The lowest stream offset among them.
    pub first_offset: Option<u64>,
    /// Deliveries that needed an ack and were never shown (more arrived at once
    /// than a card keeps).
    pub hidden_unacked: u64,
    /// The stream filter's count of what it kept back, as of the last delivery.
    pub filtered_out: Option<u64>,
}

/// Everything a card shows.
#[derive(Debug, Clone, PartialEq)]
pub struct CardState {
    /// Where its consumer stands.
    pub status: CardStatus,
    /// The newest deliveries (and replay dividers).
    pub entries: BoundedLog<CardEntry>,
    /// Deliveries received in all.
    pub received: u64,
    /// Of them, marked redelivered.
    pub redelivered: u64,
    /// The lowest stream offset it was given ("Replay from" starts there).
    pub first_offset: Option<u64>,
    /// Deliveries waiting for an ack that are not on screen (more came than a
    /// card keeps): they go back to the queue when the consumer ends.
    pub hidden_unacked: u64,
    /// Messages its stream filter kept back on the client (other values that
    /// came in a chunk RabbitMQ delivered), as of the last delivery.
    pub filtered_out: u64,
    /// Which of the card's consumers is current (a replay makes a new one); news
    /// from an earlier one is ignored.
    pub generation: u32,
    /// What the card says beside its status, in words: a transient exchange
    /// subscription's last gap (what was published while its connection was
    /// down is lost), or a reply it could not send.
    pub note: Option<String>,
    /// What becomes of its queue when its connection ends (what its unacked
    /// deliveries' marks may claim).
    pub queue_life: QueueLife,
}

impl Default for CardState {
    fn default() -> Self {
        CardState {
            status: CardStatus::Starting("connecting…".to_owned()),
            entries: BoundedLog::new(DELIVERY_LOG_LIMIT),
            received: 0,
            redelivered: 0,
            first_offset: None,
            hidden_unacked: 0,
            filtered_out: 0,
            generation: 0,
            note: None,
            queue_life: QueueLife::default(),
        }
    }
}

impl CardState {
    /// A new card reading a queue that lives as `queue_life` says.
    pub fn reading(queue_life: QueueLife) -> Self {
        CardState { queue_life, ..CardState::default() }
    }

    /// Deliveries shown and still waiting for an ack.
    pub fn unacked_shown(&self) -> u64 {
        self.entries.count(|e| matches!(e, CardEntry::Delivery(s) if s.unsettled())) as u64
    }

    /// What it reports to the workbench.
    pub fn progress(&self) -> ConsumerProgress {
        let ended = match &self.status {
            CardStatus::Stopped => Some("stopped by “Stop all consumers”".to_owned()),
            CardStatus::Ended(words) => Some(words.clone()),
            _ => None,
        };
        ConsumerProgress {
            phase: self.status.phase(),
            ended,
            received: self.received,
            redelivered: self.redelivered,
            unacked: self.unacked_shown() + self.hidden_unacked,
        }
    }

    /// Whether it read from a stream (it can replay).
    pub fn stream(&self) -> bool {
        self.first_offset.is_some()
    }
}

/// What can happen to a card.
#[derive(Debug, Clone, PartialEq)]
pub enum CardAction {
    /// Consumer `generation` started (the first, or a replay from `replay`).
    Started {
        /// Which.
        generation: u32,
        /// Its status.
        status: CardStatus,
        /// For a replay: where it reads from (a divider goes in the list).
        replay: Option<StreamOffset>,
    },
    /// Consumer `generation`'s status changed.
    Status(u32, CardStatus),
    /// It ended without a chance to ack (crash, lost connection, stop): what it
    /// held went back to the queue.
    Returned(CardStatus),
    /// Deliveries arrived for consumer `generation`.
    Arrived(u32, Arrivals),
    /// A delivery was settled.
    Settled(u64, Settlement),
    /// Something to say beside the status: a transient subscription's gap after a
    /// reconnect, a reply that could not be sent (in words).
    Note(u32, String),
}

impl Reducible for CardState {
    type Action = CardAction;

    fn reduce(self: Rc<Self>, action: CardAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            CardAction::Started { generation, status, replay } => {
                next.generation = generation;
                next.status = status;
                if let Some(from) = replay {
                    // What the replaced consumer showed cannot be acked any more
                    // (QA: its Ack said "the connection was stopped; RabbitMQ will
                    // redeliver", which a stream does not).
                    mark_unsettled(&mut next.entries, |_| Settlement::Replayed);
                    let number = next.entries.total() + 1;
                    next.entries.push(CardEntry::Replay { number: u64::MAX - number, from });
                }
            }
            CardAction::Status(generation, _) | CardAction::Arrived(generation, _) | CardAction::Note(generation, _)
                if generation != next.generation => {}
            CardAction::Note(_, words) => next.note = Some(words),
            // A crash, a stop or the consumer's end (a refusal, in words) is final
            // until a replay starts the card again: its connection may still say it
            // reconnects, and that would hide why nothing comes.
            CardAction::Status(_, _)
                if matches!(next.status, CardStatus::Crashed | CardStatus::Stopped | CardStatus::Ended(_)) => {}
            CardAction::Status(_, status) => {
                if matches!(status, CardStatus::Reconnecting { .. } | CardStatus::Ended(_)) {
                    return_unacked(&mut next.entries, &status, next.queue_life);
                    next.hidden_unacked = 0;
                }
                next.status = status;
            }
            CardAction::Returned(status) => {
                return_unacked(&mut next.entries, &status, next.queue_life);
                next.hidden_unacked = 0;
                next.status = status;
            }
            CardAction::Arrived(_, arrivals) => {
                next.received += arrivals.received;
                next.redelivered += arrivals.redelivered;
                next.first_offset = match (next.first_offset, arrivals.first_offset) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                next.hidden_unacked += arrivals.hidden_unacked;
                if let Some(filtered_out) = arrivals.filtered_out {
                    next.filtered_out = filtered_out;
                }
                for shown in arrivals.shown {
                    if let Some(CardEntry::Delivery(old)) = next.entries.push(CardEntry::Delivery(shown)) {
                        next.hidden_unacked += u64::from(old.unsettled());
                    }
                }
                // Deliveries still buffered when it crashed or stopped went back too.
                if matches!(next.status, CardStatus::Crashed | CardStatus::Stopped | CardStatus::Ended(_)) {
                    return_unacked(&mut next.entries, &next.status, next.queue_life);
                    next.hidden_unacked = 0;
                }
            }
            CardAction::Settled(number, how) => {
                next.entries.update(
                    |e| e.number() == number,
                    |e| {
                        if let CardEntry::Delivery(shown) = e {
                            shown.settled = Some(how);
                        }
                    },
                );
            }
        }
        Rc::new(next)
    }
}

/// Marks every delivery still waiting for an ack with what became of it when
/// the card came to `status` (see [`QueueLife::fate`]).
fn return_unacked(entries: &mut BoundedLog<CardEntry>, status: &CardStatus, life: QueueLife) {
    mark_unsettled(entries, |shown| life.fate(status, shown.persistent));
}

/// Marks every delivery still waiting for an ack with `mark` of it.
fn mark_unsettled(entries: &mut BoundedLog<CardEntry>, mark: impl Fn(&Shown) -> Settlement) {
    entries.update_all(|e| {
        if let CardEntry::Delivery(shown) = e {
            if shown.unsettled() {
                shown.settled = Some(mark(shown));
            }
        }
    });
}
