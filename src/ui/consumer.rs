//! Consumers: each has its own connection, as each worker in the tutorial is its
//! own process, so crashing one affects no other.

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::StreamExt;
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::reliable::{
    AckError, AckHandle, ConnectionEvent, ConsumeOptions, Consumer, Delivery, ReliableConnection, ReliableOptions,
};

use super::actions::explain_close;
use super::log::BoundedLog;
use super::state::{Action, ConsumerSpec, Workbench};

/// How many deliveries a consumer card keeps on screen; older ones are only counted.
pub const DELIVERY_LOG_LIMIT: usize = 50;

/// The form to add consumers, and one card per consumer.
#[function_component(ConsumersPanel)]
pub fn consumers_panel() -> Html {
    let workbench = use_context::<Workbench>();
    let queue = use_node_ref();
    let ack = use_node_ref();
    let prefetch = use_node_ref();
    let Some(workbench) = workbench else { return html! {} };

    let on_add = {
        let workbench = workbench.clone();
        let refs = (queue.clone(), ack.clone(), prefetch.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let (queue, ack, prefetch) = &refs;
            let queue = queue.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            let auto_ack = ack.cast::<HtmlSelectElement>().is_some_and(|s| s.value() == "auto");
            let prefetch = prefetch
                .cast::<HtmlInputElement>()
                .and_then(|i| i.value().parse::<u16>().ok())
                .unwrap_or(0);
            workbench.dispatch(Action::AddConsumer { queue, auto_ack, prefetch });
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
                <button type="submit" disabled={!can_add}>{ "Add consumer" }</button>
            </form>
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
}

enum CardAction {
    Status(String, bool),
    /// The user crashed it; the close that follows is that crash, not news.
    Crashed,
    Delivered(Box<Shown>),
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
        }
    }
}

impl Reducible for CardState {
    type Action = CardAction;

    fn reduce(self: Rc<Self>, action: CardAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            CardAction::Status(_, _) if next.crashed => {}
            CardAction::Status(status, live) => {
                next.status = status;
                next.live = live;
            }
            CardAction::Crashed => {
                next.crashed = true;
                next.live = false;
                next.status = "crashed: connection dropped without acking".to_owned();
            }
            CardAction::Delivered(shown) => {
                next.received += 1;
                next.redelivered += u64::from(shown.redelivered);
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
    let mode = if spec.auto_ack { "auto-ack" } else { "manual ack" };
    let mut delivered = 0u64;
    loop {
        futures_util::select! {
            event = events.next() => match event {
                Some(ConnectionEvent::ConsumerReady(_)) => {
                    let status = format!("consuming “{}” ({mode}, prefetch {})", spec.queue, spec.prefetch);
                    state.dispatch(CardAction::Status(status, true));
                }
                Some(ConnectionEvent::Reconnecting { reason, attempt, delay, .. }) => {
                    let status = format!(
                        "connection lost ({}); reconnecting in {:.0} s (attempt {attempt})",
                        explain_close(&reason),
                        delay.as_secs_f64().ceil()
                    );
                    state.dispatch(CardAction::Status(status, false));
                }
                Some(ConnectionEvent::Stopped(reason)) => {
                    state.dispatch(CardAction::Status(format!("closed: {reason}"), false));
                    break;
                }
                Some(_) => {}
                None => break,
            },
            delivery = consumer.next() => match delivery {
                Some(Ok(delivery)) => {
                    delivered += 1;
                    state.dispatch(CardAction::Delivered(Box::new(Shown::new(delivered, &delivery))));
                }
                Some(Err(error)) => {
                    state.dispatch(CardAction::Status(error.to_string(), false));
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

    {
        let (state, connection, spec) = (state.clone(), connection.clone(), spec.clone());
        use_effect_with(spec.number, move |_| {
            let started = settings.ok_or_else(|| "connect first".to_owned()).and_then(|(url, options)| {
                // Its own connection, reconnecting by itself and resuming the
                // subscription with the same ack mode and prefetch.
                let mut reliable = ReliableConnection::start(&url, options, ReliableOptions::default())
                    .map_err(|e| e.to_string())?;
                let events = reliable.take_events();
                let consume = ConsumeOptions { auto_ack: spec.auto_ack, prefetch: spec.prefetch, stream_offset: None };
                let consumer = reliable.basic_consume(&spec.queue, consume).map_err(|e| e.to_string())?;
                Ok((reliable, events, consumer))
            });
            match started {
                Ok((reliable, events, consumer)) => {
                    *connection.borrow_mut() = Some(reliable);
                    state.dispatch(CardAction::Status("connecting…".to_owned(), false));
                    spawn_local(follow(state, spec, events, consumer));
                }
                Err(words) => state.dispatch(CardAction::Status(words, false)),
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
                            if let Some(how) = &shown.settled { <span class="badge good">{ how.clone() }</span> }
                            if shown.settled.is_none() && shown.ack.needs_ack() && state.live {
                                <span class="actions">
                                    <button type="button" class="small" onclick={settle(&shown, "acked")}>{ "Ack" }</button>
                                    <button type="button" class="small secondary" onclick={settle(&shown, "requeued")}>{ "Nack (requeue)" }</button>
                                    <button type="button" class="small secondary" onclick={settle(&shown, "rejected")}>{ "Nack (drop)" }</button>
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
