//! The consumers the user added, and what each card reports back (for the
//! tutorial's progress): plain data.

use std::collections::BTreeMap;

use crate::rabbit::{StreamFilter, StreamOffset};

/// Where a consumer's messages come from.
///
/// One kind today; a consumer bound to an exchange with a binding key (the
/// tutorial's publish/subscribe, routing and topics) is another variant here,
/// started by the same card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerSource {
    /// An existing queue, by name.
    Queue(String),
    /// An exchange with a binding key (RabbitMQ's tutorials 3 to 5): through a
    /// queue Web-STOMP makes and deletes with the subscription (transient: what
    /// is published while the card reconnects is lost), or into the named
    /// durable queue `durable_queue`, which outlives the connection.
    Exchange {
        /// The exchange.
        exchange: String,
        /// The binding key (a topic pattern for a topic exchange; a fanout ignores it).
        routing_key: String,
        /// `Some(name)`: a durable subscription into that queue.
        durable_queue: Option<String>,
    },
}

impl ConsumerSource {
    /// What the library subscribes to.
    pub fn consume_from(&self) -> crate::rabbit::ConsumeFrom {
        use crate::rabbit::ConsumeFrom;
        match self {
            ConsumerSource::Queue(queue) => ConsumeFrom::queue(queue.clone()),
            ConsumerSource::Exchange { exchange, routing_key, durable_queue: Some(queue) } => {
                ConsumeFrom::durable(exchange.clone(), routing_key.clone(), queue.clone())
            }
            ConsumerSource::Exchange { exchange, routing_key, durable_queue: None } => {
                ConsumeFrom::exchange(exchange.clone(), routing_key.clone())
            }
        }
    }

    /// What it reads, in words, as its card says it.
    pub fn words(&self) -> String {
        match self {
            ConsumerSource::Queue(queue) => format!("queue “{queue}”"),
            ConsumerSource::Exchange { exchange, routing_key, durable_queue } => {
                let key = if routing_key.is_empty() { "no binding key".to_owned() } else { format!("binding key “{routing_key}”") };
                match durable_queue {
                    // Said before Remove is clicked (QA): the queue outlives the card.
                    Some(queue) => format!(
                        "durable queue “{queue}”, bound to exchange “{exchange}” with {key}; it stays bound and keeps \
                         collecting messages after this card is removed, until you delete it under Queues"
                    ),
                    None => format!(
                        "a queue of its own (stomp-subscription-…, named in the status once subscribed), bound to exchange “{exchange}” with {key}; \
                         transient: deleted with the connection, a new one after each reconnect"
                    ),
                }
            }
        }
    }
}

/// A consumer the user (or a tutorial lesson) added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerSpec {
    /// Its number on screen, from 1: its card is "Consumer n".
    pub number: u32,
    /// What it consumes.
    pub source: ConsumerSource,
    /// Auto-ack or manual ack.
    pub auto_ack: bool,
    /// Prefetch; 0 is unlimited.
    pub prefetch: u16,
    /// For a stream: where it reads from (`None`: not a stream).
    pub stream_offset: Option<StreamOffset>,
    /// For a stream: which filter values (RabbitMQ 3.13+; Burrow filters again
    /// on the client, and the card counts what it kept back).
    pub stream_filter: Option<StreamFilter>,
    /// Its priority (x-priority, RabbitMQ 4.0+).
    pub priority: Option<i8>,
    /// How many times the user asked it to read the stream again ("Replay from");
    /// each makes a new consumer from [`ConsumerSpec::stream_offset`].
    pub replays: u32,
    /// Asked to crash (drop its connection without acking).
    pub crash_requested: bool,
    /// Stopped ("Stop all consumers"): its connection is closed, its card stays.
    pub stopped: bool,
    /// The tutorial lesson that added it, and its role there ("first", "second").
    pub lesson: Option<(usize, &'static str)>,
    /// It serves RabbitMQ's tutorial 6: each request's body is a number n, and
    /// it replies fib(n) to the request's reply-to.
    pub fib_server: bool,
}

impl ConsumerSpec {
    /// Its name, as its card and the tutorial say it.
    pub fn name(&self) -> String {
        format!("Consumer {}", self.number)
    }

    /// How it subscribes (Burrow's own auto-ack, never RabbitMQ's: a card reads
    /// at its own pace, and RabbitMQ's would send without bound).
    pub fn consume_options(&self) -> crate::reliable::ConsumeOptions {
        crate::reliable::ConsumeOptions {
            auto_ack: self.auto_ack,
            broker_acks: false,
            prefetch: self.prefetch,
            stream_offset: self.stream_offset,
            stream_filter: self.stream_filter.clone(),
            priority: self.priority,
        }
    }

    /// The queue it reads, when named before it subscribes (not a transient
    /// exchange subscription's, named per connection when it subscribes).
    pub fn queue(&self) -> Option<&str> {
        match &self.source {
            ConsumerSource::Queue(queue) => Some(queue),
            ConsumerSource::Exchange { durable_queue, .. } => durable_queue.as_deref(),
        }
    }
}

/// Where a card stands, in short (the card itself has the words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CardPhase {
    /// Connecting, or not started.
    #[default]
    Starting,
    /// Subscribed: deliveries come.
    Consuming,
    /// Its connection is lost and comes back by itself.
    Reconnecting,
    /// The user crashed it.
    Crashed,
    /// Stopped or closed for good.
    Ended,
}

impl CardPhase {
    /// Whether its connection is up and subscribed.
    pub fn live(self) -> bool {
        self == CardPhase::Consuming
    }

    /// Whether it still holds (or is getting) a connection.
    pub fn running(self) -> bool {
        matches!(self, CardPhase::Starting | CardPhase::Consuming | CardPhase::Reconnecting)
    }
}

/// What a card reports to the workbench (the tutorial shows it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsumerProgress {
    /// Where it stands.
    pub phase: CardPhase,
    /// Why it ended, in the card's words (a refusal such as NOT_FOUND, "stopped"):
    /// "ended" alone would hide it.
    pub ended: Option<String>,
    /// Deliveries received.
    pub received: u64,
    /// Of them, marked redelivered.
    pub redelivered: u64,
    /// Delivered and not yet acked or nacked.
    pub unacked: u64,
}

/// Every consumer, and their cards' reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Consumers {
    /// In the order added.
    pub specs: Vec<ConsumerSpec>,
    /// The last number given.
    pub last_number: u32,
    /// Each card's latest report, by number.
    pub progress: BTreeMap<u32, ConsumerProgress>,
}

impl Consumers {
    /// The consumer numbered `number`.
    pub fn get(&self, number: u32) -> Option<&ConsumerSpec> {
        self.specs.iter().find(|c| c.number == number)
    }

    /// Its card's latest report.
    pub fn progress_of(&self, number: u32) -> ConsumerProgress {
        self.progress.get(&number).cloned().unwrap_or_default()
    }

    /// Consumers whose connection still runs (they outlive a Disconnect).
    pub fn running(&self) -> usize {
        self.specs.iter().filter(|c| !c.stopped && self.progress_of(c.number).phase.running()).count()
    }
}
