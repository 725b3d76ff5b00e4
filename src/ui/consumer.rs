//! Consumers: each has its own connection, as each worker in the tutorial is its
//! own process, so crashing one affects no other.

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::StreamExt;
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::rabbit::Delivery;
use crate::reliable::{ReliableConnection, ReliableEvent, ReliableOptions};

use super::actions::explain;
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

#[derive(Clone, PartialEq)]
struct Shown {
    delivery: Delivery,
    /// The connection it came on: acks go only there.
    generation: u64,
    settled: Option<&'static str>,
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
    Delivered(Delivery, u64),
    Settled(String, &'static str),
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
            CardAction::Delivered(delivery, generation) => {
                next.received += 1;
                next.redelivered += u64::from(delivery.redelivered);
                next.deliveries.push(Shown { delivery, generation, settled: None });
            }
            CardAction::Settled(tag, how) => {
                next.deliveries.update(
                    |s| s.delivery.delivery_tag.as_deref() == Some(tag.as_str()),
                    |s| s.settled = Some(how),
                );
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

/// One consumer: its own connection, its deliveries, ack / nack / crash.
#[function_component(ConsumerCard)]
pub fn consumer_card(props: &ConsumerCardProps) -> Html {
    let workbench = use_context::<Workbench>();
    let state = use_reducer(CardState::default);
    let connection: Rc<RefCell<Option<Rc<ReliableConnection>>>> = use_mut_ref(|| None);
    let spec = props.spec.clone();
    let settings = workbench.as_ref().and_then(|w| w.settings.clone());

    {
        let (state, connection, spec) = (state.clone(), connection.clone(), spec.clone());
        use_effect_with(spec.number, move |_| {
            if let Some((url, options)) = settings {
                // Its own connection, reconnecting by itself and resuming the
                // subscription with the same ack mode and prefetch.
                let mut reliable = ReliableConnection::start(&url, options, ReliableOptions::default());
                let mut events = reliable.take_events();
                reliable.consume(&spec.queue, spec.auto_ack, spec.prefetch);
                *connection.borrow_mut() = Some(Rc::new(reliable));
                state.dispatch(CardAction::Status("connecting…".to_owned(), false));
                spawn_local(async move {
                    let mode = if spec.auto_ack { "auto-ack" } else { "manual ack" };
                    while let Some(event) = events.next().await {
                        match event {
                            ReliableEvent::Connected { .. } => {
                                let status = format!("consuming “{}” ({mode}, prefetch {})", spec.queue, spec.prefetch);
                                state.dispatch(CardAction::Status(status, true));
                            }
                            ReliableEvent::Delivery { generation, delivery, .. } => {
                                state.dispatch(CardAction::Delivered(delivery, generation));
                            }
                            ReliableEvent::Reconnecting { reason, attempt, delay } => {
                                let status = format!(
                                    "connection lost ({reason}); reconnecting in {:.0} s (attempt {attempt})",
                                    delay.as_secs_f64().ceil()
                                );
                                state.dispatch(CardAction::Status(status, false));
                            }
                            ReliableEvent::ConsumeFailed { error, .. } => {
                                state.dispatch(CardAction::Status(error, false));
                            }
                            ReliableEvent::Stopped(reason) => {
                                state.dispatch(CardAction::Status(format!("closed: {reason}"), false));
                                break;
                            }
                            ReliableEvent::Confirmed(_) => {}
                        }
                    }
                });
            } else {
                state.dispatch(CardAction::Status("connect first".to_owned(), false));
            }
            move || {
                // Dropping it disconnects; unacked messages return to the queue.
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
        let (connection, state) = (connection.clone(), state.clone());
        move |tag: String, generation: u64, how: &'static str| {
            let (connection, state) = (connection.clone(), state.clone());
            Callback::from(move |_: MouseEvent| {
                let Some(connection) = connection.borrow().clone() else { return };
                let result = match how {
                    "acked" => connection.ack(generation, &tag),
                    "rejected" => connection.nack(generation, &tag, false),
                    _ => connection.nack(generation, &tag, true),
                };
                match result {
                    Ok(true) => state.dispatch(CardAction::Settled(tag.clone(), how)),
                    // Its connection is gone: the broker redelivers it, marked.
                    Ok(false) => state.dispatch(CardAction::Settled(tag.clone(), "stale: will be redelivered")),
                    Err(error) => state.dispatch(CardAction::Status(explain(&error), false)),
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
                    let delivery = &shown.delivery;
                    let tag = delivery.delivery_tag.clone();
                    let generation = shown.generation;
                    html! {
                        <li class="delivery" data-testid="delivery">
                            // Text nodes only: a body is never parsed as HTML.
                            <span class="body">{ delivery.body_text() }</span>
                            if delivery.redelivered { <span class="badge warn" data-testid="redelivered">{ "redelivered" }</span> }
                            if delivery.resent { <span class="badge warn" title="published again after a lost confirm">{ "resent: possible duplicate" }</span> }
                            if delivery.properties.persistent { <span class="badge">{ "persistent" }</span> }
                            if let Some(how) = shown.settled { <span class="badge good">{ how }</span> }
                            if let (Some(tag), None, true) = (tag, shown.settled, state.live) {
                                <span class="actions">
                                    <button type="button" class="small" onclick={settle(tag.clone(), generation, "acked")}>{ "Ack" }</button>
                                    <button type="button" class="small secondary" onclick={settle(tag.clone(), generation, "requeued")}>{ "Nack (requeue)" }</button>
                                    <button type="button" class="small secondary" onclick={settle(tag, generation, "rejected")}>{ "Nack (drop)" }</button>
                                </span>
                            }
                            <details>
                                <summary>{ "headers" }</summary>
                                <dl class="headers">
                                    { for delivery.properties.headers.iter().map(|(k, v)| html! {
                                        <><dt>{ k.clone() }</dt><dd>{ v.clone() }</dd></>
                                    }) }
                                    <dt>{ "routing key" }</dt><dd>{ delivery.routing_key.clone() }</dd>
                                </dl>
                            </details>
                        </li>
                    }
                }) }
            </ol>
        </article>
    }
}
