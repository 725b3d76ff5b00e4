//! A consumer card's behaviour: its own connection (as each tutorial worker is
//! its own process), its consumer, its deliveries drawn in batches, acks, crash,
//! stop and replay.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use futures_util::StreamExt;
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::reliable::{AckError, AckHandle, ConnectionEvent, Consumer, ReliableConnection, ReliableOptions};

use super::super::actions::explain_close;
use super::super::consumer::card_state::{
    Arrivals, CardAction, CardEntry, CardState, CardStatus, QueueLife, SettleChoice, Settlement, Shown, DELIVERY_LOG_LIMIT,
};
use super::super::state::{ConnectionSettings, ConsumerSource, ConsumerSpec};

/// How often a card draws what arrived, at most (ms): a flood of deliveries
/// becomes a few renders a second, never one per message.
const DRAW_EVERY_MS: u32 = 100;
/// How many deliveries the reading loop takes before it lets the page breathe.
const READ_SLICE: u32 = 200;

/// What a card's hook keeps besides its drawn state: the live parts.
#[derive(Default)]
struct CardLive {
    connection: Option<ReliableConnection>,
    /// Ack handles of the deliveries on screen, by number.
    acks: BTreeMap<u64, AckHandle>,
    /// The last number given to a delivery.
    numbered: u64,
    /// Arrived, not drawn yet (the newest [`DELIVERY_LOG_LIMIT`]).
    inbox: VecDeque<Shown>,
    /// Counts of what arrived since the last draw.
    arrived: Arrivals,
    /// A draw is scheduled.
    drawing: bool,
    /// What the broker's CONNECTED said in `server` (`RabbitMQ/4.0.5`): a
    /// requeue's mark depends on it.
    server: Option<String>,
}

type Shared = Rc<RefCell<CardLive>>;

/// What a consumer card gets from [`use_reliable_consumer`].
pub struct ConsumerHandle {
    /// What to draw.
    pub state: UseReducerHandle<CardState>,
    /// Acks or nacks delivery number n.
    pub settle: Callback<(u64, SettleChoice)>,
}

/// Runs consumer `spec` on its own connection (over every node of `urls`,
/// starting with the main connection's) while the card lives: started again
/// for each replay, crashed or stopped when the spec says so.
#[hook]
pub fn use_reliable_consumer(spec: &ConsumerSpec, settings: Option<ConnectionSettings>, urls: Vec<String>) -> ConsumerHandle {
    let life = QueueLife::of(spec);
    let state = use_reducer(move || CardState::reading(life));
    let live: Shared = use_mut_ref(CardLive::default);
    {
        let (state, live, spec) = (state.clone(), live.clone(), spec.clone());
        use_effect_with((spec.number, spec.replays, spec.stopped), move |_| {
            if spec.stopped {
                stop(&live, &state, CardStatus::Stopped);
            } else {
                start(&live, &state, &spec, settings, urls);
            }
            move || {
                // Dropping it stops it at once, reconnect attempts included;
                // unacked messages return to the queue.
                live.borrow_mut().connection.take();
            }
        });
    }
    {
        let (state, live) = (state.clone(), live.clone());
        use_effect_with(spec.crash_requested, move |crash| {
            if *crash {
                // The tutorial's crash: the connection drops, nothing is acked.
                if let Some(connection) = live.borrow_mut().connection.take() {
                    connection.crash();
                }
                stop(&live, &state, CardStatus::Crashed);
            }
        });
    }
    let settle = {
        let (state, live) = (state.clone(), live.clone());
        Callback::from(move |(number, choice): (u64, SettleChoice)| {
            let (handle, server) = {
                let mut card = live.borrow_mut();
                (card.acks.remove(&number), card.server.clone())
            };
            let Some(handle) = handle else { return };
            let result = match choice {
                SettleChoice::Ack => handle.ack(),
                SettleChoice::Requeue => handle.nack(true),
                SettleChoice::Reject => handle.nack(false),
            };
            let how = match (result, choice) {
                (Ok(()), SettleChoice::Ack) => Settlement::Acked,
                (Ok(()), SettleChoice::Requeue) => Settlement::requeued(delivery_count(&state, number), server.as_deref()),
                (Ok(()), SettleChoice::Reject) => Settlement::Rejected,
                // Its connection is gone: the broker redelivers it, marked.
                (Err(AckError::Stale { .. }), _) => Settlement::Stale,
                (Err(error), _) => Settlement::Refused(error.to_string()),
            };
            state.dispatch(CardAction::Settled(number, how));
        })
    };
    ConsumerHandle { state, settle }
}

/// The earlier deliveries of delivery `number`, as its queue counted them.
fn delivery_count(state: &CardState, number: u64) -> Option<u64> {
    state.entries.newest(DELIVERY_LOG_LIMIT).into_iter().find_map(|entry| match entry {
        CardEntry::Delivery(shown) if shown.number == number => shown.delivery_count,
        _ => None,
    })
}

/// Ends the card's consumer (crash or stop): what it held goes back to the queue.
fn stop(live: &Shared, state: &UseReducerHandle<CardState>, status: CardStatus) {
    draw(live, state, state.generation);
    let mut card = live.borrow_mut();
    card.connection.take();
    card.acks.clear();
    state.dispatch(CardAction::Returned(status));
}

/// Starts the card's connection and consumer for `spec`.
fn start(live: &Shared, state: &UseReducerHandle<CardState>, spec: &ConsumerSpec, settings: Option<ConnectionSettings>, urls: Vec<String>) {
    let generation = spec.replays;
    let replay = spec.stream_offset.filter(|_| generation > 0);
    let started = settings.ok_or_else(|| "connect first".to_owned()).and_then(|settings| {
        let mut nodes = urls;
        match nodes.iter().position(|u| *u == settings.url) {
            Some(at) => nodes.rotate_left(at),
            None => nodes = vec![settings.url.clone()],
        }
        let reliable = ReliableOptions { management_url: settings.management_url, ..ReliableOptions::default() };
        let mut reliable = ReliableConnection::start_with_urls(nodes, settings.options, reliable)
            .map_err(|e| e.to_string())?;
        let events = reliable.take_events();
        // A non-durable exchange (the guide's `logs`) is declared again after a
        // broker restart, which deletes it: the card's subscription goes on.
        if let ConsumerSource::Exchange { exchange, .. } = &spec.source {
            reliable.keep_exchange(exchange);
        }
        let consumer = reliable.basic_consume(spec.source.consume_from(), spec.consume_options()).map_err(|e| e.to_string())?;
        Ok((reliable, events, consumer))
    });
    match started {
        Ok((reliable, events, consumer)) => {
            live.borrow_mut().connection = Some(reliable);
            let status = match replay {
                Some(offset) => CardStatus::Starting(format!("replaying from {offset}…")),
                None => CardStatus::Starting("connecting…".to_owned()),
            };
            state.dispatch(CardAction::Started { generation, status, replay });
            let follower = Follower { live: live.clone(), state: state.clone(), generation, fib_server: spec.fib_server };
            spawn_local(follower.run(events, consumer));
        }
        Err(words) => state.dispatch(CardAction::Started { generation, status: CardStatus::Ended(words), replay }),
    }
}

/// Follows one of the card's consumers until it or its connection ends.
struct Follower {
    live: Shared,
    state: UseReducerHandle<CardState>,
    generation: u32,
    /// It replies fib(n) to each request (the RPC lesson's server).
    fib_server: bool,
}

impl Follower {
    async fn run(self, mut events: futures_channel::mpsc::UnboundedReceiver<ConnectionEvent>, mut consumer: Consumer) {
        let mut node = String::new();
        let mut read = 0u32;
        loop {
            futures_util::select! {
                event = events.next() => match event {
                    Some(ConnectionEvent::Connected { url, info, .. }) => {
                        node = url;
                        self.live.borrow_mut().server = info.server;
                    }
                    Some(ConnectionEvent::ConsumerReady(_)) => {
                        self.status(CardStatus::Consuming { node: node.clone(), queue: consumer.queue() })
                    }
                    Some(ConnectionEvent::Reconnecting { reason, attempt, delay, .. }) => {
                        self.forget_acks();
                        let seconds = delay.as_secs_f64().ceil() as u64;
                        self.status(CardStatus::Reconnecting { reason: explain_close(&reason), attempt, seconds });
                    }
                    Some(ConnectionEvent::SubscriptionGap { exchange, routing_key, .. }) => {
                        let words = format!(
                            "Subscribed again after a reconnect, into a new queue: what exchange “{exchange}” routed with key “{routing_key}” \
                             while the connection was down went to the old queue, deleted with that connection, and is lost. \
                             A durable subscription (with a queue name) loses nothing."
                        );
                        self.state.dispatch(CardAction::Note(self.generation, words));
                    }
                    // The card's own connection: its warnings (a heart-beat worker a
                    // page's policy refused, a delivery for no subscription) are the
                    // card's to show, as the main connection's are the page's.
                    Some(ConnectionEvent::Warning(warning)) => {
                        self.state.dispatch(CardAction::Note(self.generation, format!("Warning: {warning}")));
                    }
                    Some(ConnectionEvent::Stopped(reason)) => {
                        self.status(CardStatus::Ended(format!("closed: {reason}")));
                        break;
                    }
                    Some(_) => {}
                    None => break,
                },
                delivery = consumer.next() => match delivery {
                    Some(Ok(delivery)) => {
                        self.arrived(&delivery);
                        // Counted in the core as they come; drawn with the next delivery.
                        self.live.borrow_mut().arrived.filtered_out = Some(consumer.filtered_out());
                        if self.fib_server {
                            self.serve(&delivery);
                        }
                        read += 1;
                        if read % READ_SLICE == 0 {
                            TimeoutFuture::new(0).await;
                        }
                    }
                    Some(Err(error)) => self.status(CardStatus::Ended(error.to_string())),
                    None => {}
                },
            }
        }
        draw(&self.live, &self.state, self.generation);
    }

    fn status(&self, status: CardStatus) {
        // What arrived before the news is drawn before it.
        draw(&self.live, &self.state, self.generation);
        self.state.dispatch(CardAction::Status(self.generation, status));
    }

    /// Replies fib(n) to a request (RabbitMQ's rpc_server.py). A reply that
    /// cannot be sent (no reply-to) is shown on the card in words.
    fn serve(&self, request: &crate::reliable::Delivery) {
        let answer = super::super::rpc::fib_reply(&request.body);
        let properties = crate::rabbit::BasicProperties {
            content_type: Some("text/plain; charset=utf-8".to_owned()),
            ..crate::rabbit::BasicProperties::default()
        };
        let card = self.live.borrow();
        let Some(connection) = card.connection.as_ref() else { return };
        // The reply's confirm is not awaited: the caller sees the reply itself.
        if let Err(error) = connection.reply(request, answer.into_bytes(), &properties) {
            self.state.dispatch(CardAction::Note(self.generation, format!("Could not reply: {error}.")));
        }
    }

    /// The connection is gone: its deliveries cannot be acked any more.
    fn forget_acks(&self) {
        self.live.borrow_mut().acks.clear();
    }

    /// Takes a delivery into the inbox, and schedules a draw.
    fn arrived(&self, delivery: &crate::reliable::Delivery) {
        let mut card = self.live.borrow_mut();
        card.numbered += 1;
        let number = card.numbered;
        let shown = Shown::new(number, delivery);
        if shown.needs_ack {
            card.acks.insert(number, delivery.ack_handle());
        }
        let arrived = &mut card.arrived;
        arrived.received += 1;
        arrived.redelivered += u64::from(shown.redelivered);
        arrived.first_offset = match (arrived.first_offset, shown.offset) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        card.inbox.push_back(shown);
        if card.inbox.len() > DELIVERY_LOG_LIMIT {
            if let Some(dropped) = card.inbox.pop_front() {
                // Never shown: its ack handle goes (the message stays unacked
                // until the consumer ends), and the card counts it.
                if card.acks.remove(&dropped.number).is_some() {
                    card.arrived.hidden_unacked += 1;
                }
            }
        }
        if !std::mem::replace(&mut card.drawing, true) {
            let (live, state, generation) = (self.live.clone(), self.state.clone(), self.generation);
            spawn_local(async move {
                TimeoutFuture::new(DRAW_EVERY_MS).await;
                draw(&live, &state, generation);
            });
        }
    }
}

/// Draws what arrived since the last draw, in one render.
fn draw(live: &Shared, state: &UseReducerHandle<CardState>, generation: u32) {
    let arrivals = {
        let mut card = live.borrow_mut();
        card.drawing = false;
        if card.inbox.is_empty() && card.arrived.received == 0 {
            return;
        }
        let mut arrivals = std::mem::take(&mut card.arrived);
        arrivals.shown = card.inbox.drain(..).collect();
        // Ack handles only for what the card can still show.
        let oldest_kept = card.numbered.saturating_sub(2 * DELIVERY_LOG_LIMIT as u64);
        card.acks.retain(|number, _| *number > oldest_kept);
        arrivals
    };
    state.dispatch(CardAction::Arrived(generation, arrivals));
}
