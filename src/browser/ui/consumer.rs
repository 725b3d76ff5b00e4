//! Consumers: each has its own connection, as each worker in the tutorial is its
//! own process, so crashing one affects no other.

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::StreamExt;
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::rabbit::StreamOffset;
use crate::reliable::{
    AckError, AckHandle, ConnectionEvent, ConsumeOptions, Consumer, Delivery, ReliableConnection, ReliableOptions,
};

use super::actions::explain_close;
use super::log::BoundedLog;
use super::state::{Action, ConsumerSpec, Workbench};

/// How many deliveries a consumer card keeps on screen; older ones are only counted.
pub const DELIVERY_LOG_LIMIT: usize = 50;

/// Reads a stream offset picker: `choice` is "" (none), first, last, next, offset
/// or time; `value` the offset (a whole number) or the time (as typed, read by
/// the browser's `Date.parse`, local time).
fn read_offset(choice: &str, value: &str) -> Result<Option<StreamOffset>, String> {
    let value = value.trim();
    match choice {
        "" => Ok(None),
        "offset" => value
            .parse::<u64>()
            .map(|n| Some(StreamOffset::Offset(n)))
            .map_err(|_| format!("“{value}” is not an offset: a whole number, 0 or more")),
        "time" => {
            let millis = js_sys::Date::parse(value);
            if millis.is_finite() && millis >= 0.0 {
                Ok(Some(StreamOffset::Timestamp((millis / 1000.0).floor() as u64)))
            } else {
                Err(format!("“{value}” is not a date and time, such as 2026-11-27 09:30"))
            }
        }
        other => other.parse::<StreamOffset>().map(Some).map_err(|e| e.to_string()),
    }
}

/// The choices of a stream offset picker (value, label).
const OFFSET_CHOICES: [(&str, &str); 5] = [
    ("first", "first (the oldest kept)"),
    ("last", "last (the last chunk)"),
    ("next", "next (only new ones)"),
    ("offset", "offset…"),
    ("time", "time…"),
];

/// The form to add consumers, and one card per consumer.
#[function_component(ConsumersPanel)]
pub fn consumers_panel() -> Html {
    let workbench = use_context::<Workbench>();
    let queue = use_node_ref();
    let ack = use_node_ref();
    let prefetch = use_node_ref();
    let offset = use_node_ref();
    let offset_value = use_node_ref();
    let problem = use_state(|| None::<String>);
    let Some(workbench) = workbench else { return html! {} };

    let on_add = {
        let workbench = workbench.clone();
        let problem = problem.clone();
        let refs = (queue.clone(), ack.clone(), prefetch.clone(), offset.clone(), offset_value.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let (queue, ack, prefetch, offset, offset_value) = &refs;
            let queue = queue.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            let auto_ack = ack.cast::<HtmlSelectElement>().is_some_and(|s| s.value() == "auto");
            let prefetch = prefetch
                .cast::<HtmlInputElement>()
                .and_then(|i| i.value().parse::<u16>().ok())
                .unwrap_or(0);
            let choice = offset.cast::<HtmlSelectElement>().map(|s| s.value()).unwrap_or_default();
            let value = offset_value.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            match read_offset(&choice, &value) {
                Ok(stream_offset) => {
                    problem.set(None);
                    workbench.dispatch(Action::AddConsumer { queue, auto_ack, prefetch, stream_offset });
                }
                Err(words) => problem.set(Some(words)),
            }
        })
    };
    let can_add = workbench.settings.is_some();
    html! {
        <section class="card" aria-label="Consumers">
            <h2>{ "Consumers" }</h2>
            <form class="grid" onsubmit={on_add}>
                <label>{ "From queue" }
                    <input ref={queue} name="consume-queue" value={workbench.queue.clone()} required=true />
                </label>
                <label>{ "Acknowledgement" }
                    <select ref={ack} name="ack">
                        <option value="manual" selected=true>{ "manual (basic_ack)" }</option>
                        <option value="auto">{ "auto (auto_ack=True)" }</option>
                    </select>
                </label>
                <label>{ "Prefetch (0 = unlimited)" }
                    <input ref={prefetch} name="prefetch" type="number" min="0" max="65535" value="1" />
                </label>
                <label title="A stream is read from an offset, with manual ack and a prefetch above 0">
                    { "Stream: read from" }
                    <select ref={offset} name="offset">
                        <option value="" selected=true>{ "— (not a stream)" }</option>
                        { for OFFSET_CHOICES.iter().map(|(value, label)| html! { <option value={*value}>{ *label }</option> }) }
                    </select>
                </label>
                <label>{ "Offset or time" }
                    <input ref={offset_value} name="offset-value" placeholder="500, or 2026-11-27 09:30" />
                </label>
                <button type="submit" disabled={!can_add}>{ "Add consumer" }</button>
            </form>
            if let Some(words) = (*problem).clone() {
                <p class="outcome bad" role="alert">{ words }</p>
            }
            <div class="consumers">
                { for workbench.consumers.iter().map(|spec| html! {
                    <ConsumerCard key={spec.number} spec={spec.clone()} />
                }) }
            </div>
        </section>
    }
}

/// How much of a body a card shows; the rest is only counted, so a card never
/// holds whole large bodies.
const PREVIEW_CHARS: usize = 2_000;

/// A delivery as a card shows it: decoded once, bounded, no body kept.
#[derive(Clone, PartialEq)]
struct Shown {
    /// Numbers deliveries within the card, for list keys.
    number: u64,
    preview: String,
    /// Body bytes in all (the preview may show fewer).
    size: usize,
    redelivered: bool,
    resent: bool,
    persistent: bool,
    /// Its stream offset (a stream's deliveries only).
    offset: Option<u64>,
    /// A quorum queue's count of earlier deliveries.
    delivery_count: Option<u64>,
    routing_key: String,
    headers: Vec<(String, String)>,
    /// Acks on the connection it came on only.
    ack: AckHandle,
    settled: Option<String>,
}

impl Shown {
    fn new(number: u64, delivery: &Delivery) -> Self {
        let text = String::from_utf8_lossy(&delivery.body);
        let preview = match text.char_indices().nth(PREVIEW_CHARS) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text.into_owned(),
        };
        Shown {
            number,
            preview,
            size: delivery.body.len(),
            redelivered: delivery.redelivered,
            resent: delivery.resent,
            persistent: delivery.properties.persistent,
            offset: delivery.stream_offset,
            delivery_count: delivery.delivery_count,
            routing_key: delivery.routing_key.clone(),
            headers: delivery.properties.headers.clone(),
            ack: delivery.ack_handle(),
            settled: None,
        }
    }
}

#[derive(Clone, PartialEq)]
struct CardState {
    status: String,
    live: bool,
    deliveries: BoundedLog<Shown>,
    received: u64,
    redelivered: u64,
    crashed: bool,
    /// Which of the card's consumers is current (a replay makes a new one); news
    /// from an earlier one is ignored.
    generation: u32,
    /// It read from a stream: it can replay.
    stream: bool,
}

enum CardAction {
    /// Consumer `generation` started (the first, or a replay), with a status.
    Started(u32, String),
    Status(u32, String, bool),
    /// The user crashed it; the close that follows is that crash, not news.
    Crashed,
    Delivered(u32, Box<Shown>),
    Settled(u64, String),
}

impl Default for CardState {
    fn default() -> Self {
        CardState {
            status: String::new(),
            live: false,
            deliveries: BoundedLog::new(DELIVERY_LOG_LIMIT),
            received: 0,
            redelivered: 0,
            crashed: false,
            generation: 0,
            stream: false,
        }
    }
}

impl Reducible for CardState {
    type Action = CardAction;

    fn reduce(self: Rc<Self>, action: CardAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            CardAction::Started(generation, status) => {
                next.generation = generation;
                next.crashed = false;
                next.live = false;
                next.status = status;
            }
            CardAction::Status(generation, _, _) | CardAction::Delivered(generation, _)
                if generation != next.generation => {}
            CardAction::Status(_, _, _) if next.crashed => {}
            CardAction::Status(_, status, live) => {
                next.status = status;
                next.live = live;
            }
            CardAction::Crashed => {
                next.crashed = true;
                next.live = false;
                next.status = "crashed: connection dropped without acking".to_owned();
            }
            CardAction::Delivered(_, mut shown) => {
                next.received += 1;
                // Numbered across the card's consumers, so list keys stay unique.
                shown.number = next.received;
                next.redelivered += u64::from(shown.redelivered);
                next.stream |= shown.offset.is_some();
                next.deliveries.push(*shown);
            }
            CardAction::Settled(number, how) => {
                next.deliveries.update(|s| s.number == number, |s| s.settled = Some(how));
            }
        }
        Rc::new(next)
    }
}

/// Props of [`ConsumerCard`].
#[derive(Properties, PartialEq)]
pub struct ConsumerCardProps {
    /// Which consumer.
    pub spec: ConsumerSpec,
}

/// Follows the card's connection and its consumer until either ends.
async fn follow(
    state: UseReducerHandle<CardState>,
    spec: ConsumerSpec,
    mut events: futures_channel::mpsc::UnboundedReceiver<ConnectionEvent>,
    mut consumer: Consumer,
) {
    let generation = spec.replays;
    let mode = if spec.auto_ack { "auto-ack" } else { "manual ack" };
    let from = spec.stream_offset.map(|o| format!(", from {o}")).unwrap_or_default();
    let mut node = String::new();
    loop {
        futures_util::select! {
            event = events.next() => match event {
                Some(ConnectionEvent::Connected { url, .. }) => node = url,
                Some(ConnectionEvent::ConsumerReady(_)) => {
                    let status = format!("consuming “{}” ({mode}, prefetch {}{from}) on {node}", spec.queue, spec.prefetch);
                    state.dispatch(CardAction::Status(generation, status, true));
                }
                Some(ConnectionEvent::Reconnecting { reason, attempt, delay, .. }) => {
                    let status = format!(
                        "connection lost ({}); reconnecting in {:.0} s (attempt {attempt})",
                        explain_close(&reason),
                        delay.as_secs_f64().ceil()
                    );
                    state.dispatch(CardAction::Status(generation, status, false));
                }
                Some(ConnectionEvent::Stopped(reason)) => {
                    state.dispatch(CardAction::Status(generation, format!("closed: {reason}"), false));
                    break;
                }
                Some(_) => {}
                None => break,
            },
            delivery = consumer.next() => match delivery {
                Some(Ok(delivery)) => {
                    state.dispatch(CardAction::Delivered(generation, Box::new(Shown::new(0, &delivery))));
                }
                Some(Err(error)) => {
                    state.dispatch(CardAction::Status(generation, error.to_string(), false));
                }
                None => {}
            },
        }
    }
}

/// One consumer: its own connection, its deliveries, ack / nack / crash.
#[function_component(ConsumerCard)]
pub fn consumer_card(props: &ConsumerCardProps) -> Html {
    let workbench = use_context::<Workbench>();
    let state = use_reducer(CardState::default);
    let connection: Rc<RefCell<Option<ReliableConnection>>> = use_mut_ref(|| None);
    let spec = props.spec.clone();
    let settings = workbench.as_ref().and_then(|w| w.settings.clone());
    let urls = workbench.as_ref().map(|w| w.urls.clone()).unwrap_or_default();

    {
        let (state, connection, spec) = (state.clone(), connection.clone(), spec.clone());
        // A replay makes a new connection and consumer; dropping the old one stops it.
        use_effect_with((spec.number, spec.replays), move |_| {
            let generation = spec.replays;
            let started = settings.ok_or_else(|| "connect first".to_owned()).and_then(|(url, options)| {
                // Its own connection, reconnecting by itself (over every node of a
                // cluster, starting with the main connection's) and resuming the
                // subscription with the same ack mode, prefetch and stream position.
                let mut nodes = urls.clone();
                if let Some(at) = nodes.iter().position(|u| *u == url) {
                    nodes.rotate_left(at);
                } else {
                    nodes = vec![url];
                }
                let mut reliable = ReliableConnection::start_with_urls(nodes, options, ReliableOptions::default())
                    .map_err(|e| e.to_string())?;
                let events = reliable.take_events();
                let consume =
                    ConsumeOptions { auto_ack: spec.auto_ack, prefetch: spec.prefetch, stream_offset: spec.stream_offset };
                let consumer = reliable.basic_consume(&spec.queue, consume).map_err(|e| e.to_string())?;
                Ok((reliable, events, consumer))
            });
            match started {
                Ok((reliable, events, consumer)) => {
                    *connection.borrow_mut() = Some(reliable);
                    let status = match spec.stream_offset {
                        Some(offset) if generation > 0 => format!("replaying from {offset}…"),
                        _ => "connecting…".to_owned(),
                    };
                    state.dispatch(CardAction::Started(generation, status));
                    spawn_local(follow(state, spec, events, consumer));
                }
                Err(words) => state.dispatch(CardAction::Started(generation, words)),
            }
            move || {
                // Dropping it stops it at once, reconnect attempts included;
                // unacked messages return to the queue.
                connection.borrow_mut().take();
            }
        });
    }
    {
        let connection = connection.clone();
        let state = state.clone();
        use_effect_with(spec.crash_requested, move |crash| {
            if *crash {
                // The tutorial's crash: the connection drops, nothing is acked.
                if let Some(connection) = connection.borrow().as_ref() {
                    connection.crash();
                }
                state.dispatch(CardAction::Crashed);
            }
        });
    }

    let settle = {
        let state = state.clone();
        move |shown: &Shown, how: &'static str| {
            let (state, ack, number) = (state.clone(), shown.ack.clone(), shown.number);
            Callback::from(move |_: MouseEvent| {
                let result = match how {
                    "acked" => ack.ack(),
                    "rejected" => ack.nack(false),
                    _ => ack.nack(true),
                };
                match result {
                    Ok(()) => state.dispatch(CardAction::Settled(number, how.to_owned())),
                    // Its connection is gone: the broker redelivers it, marked.
                    Err(AckError::Stale { .. }) => {
                        state.dispatch(CardAction::Settled(number, "stale: will be redelivered".to_owned()))
                    }
                    Err(error) => state.dispatch(CardAction::Settled(number, error.to_string())),
                }
            })
        }
    };
    let on_crash = workbench.clone().map(|w| {
        let number = spec.number;
        Callback::from(move |_: MouseEvent| w.dispatch(Action::CrashConsumer(number)))
    });
    let on_remove = workbench.clone().map(|w| {
        let number = spec.number;
        Callback::from(move |_: MouseEvent| w.dispatch(Action::RemoveConsumer(number)))
    });
    // A stream can be read again: a new consumer from the chosen offset.
    let replay_choice = use_node_ref();
    let replay_value = use_node_ref();
    let replay_problem = use_state(|| None::<String>);
    let on_replay = workbench.clone().map(|w| {
        let (number, choice, value, problem) =
            (spec.number, replay_choice.clone(), replay_value.clone(), replay_problem.clone());
        Callback::from(move |_: MouseEvent| {
            let choice = choice.cast::<HtmlSelectElement>().map(|s| s.value()).unwrap_or_default();
            let value = value.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            match read_offset(&choice, &value) {
                Ok(Some(offset)) => {
                    problem.set(None);
                    w.dispatch(Action::ReplayConsumer { number, offset });
                }
                Ok(None) => {}
                Err(words) => problem.set(Some(words)),
            }
        })
    });
    let can_replay = state.stream || spec.stream_offset.is_some();

    let title = format!("Consumer {}", spec.number);
    html! {
        <article class="consumer" aria-label={title.clone()} data-testid={format!("consumer-{}", spec.number)}>
            <header>
                <h3>{ title }</h3>
                <span class={classes!("badge", if state.live { "good" } else { "bad" })} data-testid="consumer-status">
                    { state.status.clone() }
                </span>
            </header>
            <p class="muted" data-testid="consumer-counts">
                { format!("received {}, redelivered {}", state.received, state.redelivered) }
            </p>
            <div class="actions">
                <button type="button" class="danger" onclick={on_crash} disabled={!state.live}
                    aria-label={format!("Crash consumer {}", spec.number)}>{ "Crash" }</button>
                <button type="button" class="secondary" onclick={on_remove}
                    aria-label={format!("Remove consumer {}", spec.number)}>{ "Remove" }</button>
            </div>
            if can_replay {
                <div class="actions replay" aria-label={format!("Replay consumer {}", spec.number)}>
                    <label>{ "Replay from" }
                        <select ref={replay_choice} name="replay-from">
                            { for OFFSET_CHOICES.iter().map(|(value, label)| html! { <option value={*value}>{ *label }</option> }) }
                        </select>
                    </label>
                    <input ref={replay_value} name="replay-value" placeholder="500, or 2026-11-27 09:30" />
                    <button type="button" class="secondary" onclick={on_replay}
                        aria-label={format!("Replay consumer {}", spec.number)}>{ "Replay" }</button>
                </div>
                if let Some(words) = (*replay_problem).clone() {
                    <p class="outcome bad" role="alert">{ words }</p>
                }
            }
            <ol class="log" aria-label={format!("Deliveries to consumer {}", spec.number)}>
                { for state.deliveries.newest(DELIVERY_LOG_LIMIT).into_iter().map(|shown| {
                    let size = if shown.size > shown.preview.len() {
                        Some(format!("{} bytes", shown.size))
                    } else {
                        None
                    };
                    html! {
                        <li class="delivery" data-testid="delivery" key={shown.number}>
                            // Text nodes only: a body is never parsed as HTML.
                            <span class="body">{ shown.preview.clone() }</span>
                            if let Some(size) = size { <span class="badge">{ size }</span> }
                            if shown.redelivered { <span class="badge warn" data-testid="redelivered">{ "redelivered" }</span> }
                            if shown.resent { <span class="badge warn" title="published again after a lost confirm">{ "resent: possible duplicate" }</span> }
                            if shown.persistent { <span class="badge">{ "persistent" }</span> }
                            if let Some(offset) = shown.offset {
                                <span class="badge" data-testid="offset" title="its offset in the stream">{ format!("offset {offset}") }</span>
                            }
                            if let Some(count) = shown.delivery_count {
                                <span class="badge warn" data-testid="delivery-count" title="x-delivery-count: earlier deliveries of this message">
                                    { format!("delivered {count}× before") }
                                </span>
                            }
                            if let Some(how) = &shown.settled { <span class="badge good">{ how.clone() }</span> }
                            if shown.settled.is_none() && shown.ack.needs_ack() && state.live {
                                <span class="actions">
                                    <button type="button" class="small" onclick={settle(&shown, "acked")}>{ "Ack" }</button>
                                    // A stream message cannot be nacked (RabbitMQ closes the connection).
                                    if shown.offset.is_none() {
                                        <button type="button" class="small secondary" onclick={settle(&shown, "requeued")}>{ "Nack (requeue)" }</button>
                                        <button type="button" class="small secondary" onclick={settle(&shown, "rejected")}>{ "Nack (drop)" }</button>
                                    }
                                </span>
                            }
                            <details>
                                <summary>{ "headers" }</summary>
                                <dl class="headers">
                                    { for shown.headers.iter().map(|(k, v)| html! {
                                        <><dt>{ k.clone() }</dt><dd>{ v.clone() }</dd></>
                                    }) }
                                    <dt>{ "routing key" }</dt><dd>{ shown.routing_key.clone() }</dd>
                                </dl>
                            </details>
                        </li>
                    }
                }) }
            </ol>
        </article>
    }
}
