//! One consumer's card: its status, counts, deliveries (bounded, with a count
//! of the rest), ack / nack, crash, remove and a stream's replay.

use yew::prelude::*;

use super::super::fields::{on_change, use_draft, TextField};
use super::super::hooks::{use_progress_report, use_reliable_consumer};
use super::super::state::{Action, ConsumerSource, ConsumerSpec, Workbench};
use super::card_state::{CardEntry, CardState, CardStatus, SettleChoice, Shown, DELIVERY_LOG_LIMIT};
use super::{read_offset, OFFSET_CHOICES};

/// Props of [`ConsumerCard`].
#[derive(Properties, PartialEq)]
pub struct ConsumerCardProps {
    /// Which consumer.
    pub spec: ConsumerSpec,
}

/// The status badge's words.
pub fn status_words(status: &CardStatus, spec: &ConsumerSpec) -> String {
    match status {
        CardStatus::Starting(words) => words.clone(),
        CardStatus::Consuming { node, queue } => {
            // What RabbitMQ shows as the consumer's prefetch_count: an auto-ack
            // card's is Burrow's window (AUTO_ACK_WINDOW at least), not the form's.
            let options = spec.consume_options();
            let window = match options.window() {
                // The form's "0 = unlimited" or a smaller number was typed (QA).
                window if spec.auto_ack && window != options.prefetch => {
                    let asked = if options.prefetch == 0 { "unlimited".to_owned() } else { options.prefetch.to_string() };
                    format!("{window}: Burrow's auto-ack window, not the form's prefetch ({asked}), which is for manual ack")
                }
                window => window.to_string(),
            };
            let mode = if spec.auto_ack { "auto-ack by Burrow" } else { "manual ack" };
            let mut from = spec.stream_offset.map(|o| format!(", from {o}")).unwrap_or_default();
            if let Some(filter) = &spec.stream_filter {
                let unfiltered = if filter.match_unfiltered { " and unfiltered" } else { "" };
                from.push_str(&format!(", filter {}{unfiltered}", filter.values.join(", ")));
            }
            if let Some(priority) = spec.priority {
                from.push_str(&format!(", priority {priority}"));
            }
            let what = match &spec.source {
                ConsumerSource::Queue(queue) => format!("“{queue}”"),
                ConsumerSource::Exchange { exchange, routing_key, .. } => {
                    let through = queue.as_ref().map(|q| format!(" through queue “{q}”")).unwrap_or_default();
                    format!("exchange “{exchange}”, key “{routing_key}”{through}")
                }
            };
            format!("consuming {what} ({mode}, prefetch {window}{from}) on {node}")
        }
        CardStatus::Reconnecting { reason, attempt, seconds } => {
            format!("connection lost ({reason}); reconnecting in {seconds} s (attempt {attempt})")
        }
        CardStatus::Crashed => "crashed: connection dropped without acking".to_owned(),
        CardStatus::Stopped => "stopped (Stop all consumers)".to_owned(),
        CardStatus::Ended(words) => words.clone(),
    }
}

/// One consumer: its own connection, its deliveries, ack / nack / crash.
#[function_component(ConsumerCard)]
pub fn consumer_card(props: &ConsumerCardProps) -> Html {
    let workbench = use_context::<Workbench>();
    let spec = &props.spec;
    let settings = workbench.as_ref().and_then(|w| w.main.settings.clone());
    let urls = workbench.as_ref().map(|w| w.main.urls.clone()).unwrap_or_default();
    let consumer = use_reliable_consumer(spec, settings, urls);
    let report = workbench.clone().map(|w| {
        let number = spec.number;
        Callback::from(move |progress| w.dispatch(Action::ConsumerProgress { number, progress }))
    });
    use_progress_report(consumer.state.progress(), report.unwrap_or_default());
    let state = &*consumer.state;
    let live = state.status.phase().live();
    let on = |action: fn(u32) -> Action| {
        let (workbench, number) = (workbench.clone(), spec.number);
        Callback::from(move |_: MouseEvent| {
            if let Some(w) = &workbench {
                w.dispatch(action(number));
            }
        })
    };
    let name = spec.name();
    html! {
        <article class="consumer" aria-label={name.clone()} data-testid={format!("consumer-{}", spec.number)}>
            <header>
                <h3>{ name.clone() }</h3>
                <span class={classes!("badge", if live { "good" } else { "bad" })} data-testid="consumer-status">
                    { status_words(&state.status, spec) }
                </span>
            </header>
            <p class="muted" data-testid="consumer-source">
                { format!("Reads {}", spec.source.words()) }
                { if spec.fib_server { "; replies fib(n) to each request (the RPC server)." } else { "." } }
            </p>
            if let Some(note) = &state.note {
                <p class="outcome bad" role="status" data-testid="consumer-note">{ note.clone() }</p>
            }
            <p class="muted" data-testid="consumer-counts">{ counts(state, spec.stream_filter.is_some()) }</p>
            <div class="actions">
                // aria-disabled once crashed: a disabled button would lose the keyboard focus.
                <button type="button" class="danger" onclick={if live { on(Action::CrashConsumer) } else { Callback::noop() }}
                    aria-disabled={(!live).then_some("true")}
                    aria-label={format!("Crash {name}")}>{ "Crash" }</button>
                <button type="button" class="secondary" onclick={on(Action::RemoveConsumer)}
                    aria-label={format!("Remove {name}")}>{ "Remove" }</button>
            </div>
            if state.stream() || spec.stream_offset.is_some() {
                <Replay number={spec.number} first={state.first_offset} />
            }
            <ol class="log" aria-label={format!("Deliveries to {name}")} tabindex="0">
                { for state.entries.newest(DELIVERY_LOG_LIMIT).into_iter().map(|entry| match entry {
                    CardEntry::Delivery(shown) => {
                        let key = shown.number;
                        html! { <DeliveryItem {key} {shown} {live} settle={consumer.settle.clone()} /> }
                    }
                    CardEntry::Replay { number, from } => html! {
                        <li class="divider" key={number} data-testid="replay-divider">
                            { format!("▲ replayed from {from}; below: read before") }
                        </li>
                    },
                }) }
            </ol>
        </article>
    }
}

/// "received 10000, redelivered 0; showing the newest 50".
fn counts(state: &CardState, filtered: bool) -> String {
    let mut words = format!("received {}, redelivered {}", state.received, state.redelivered);
    if filtered {
        // RabbitMQ filters a stream per chunk: other values come along, and
        // Burrow keeps them from the card (acked, for the stream's credit).
        words.push_str(&format!("; kept back by the stream filter {}", state.filtered_out));
    }
    let shown = state.entries.count(|e| matches!(e, CardEntry::Delivery(_))) as u64;
    if state.received > shown {
        words.push_str(&format!("; showing the newest {shown}, {} more not shown", state.received - shown));
    }
    if state.hidden_unacked > 0 {
        words.push_str(&format!(
            "; {} not shown are unacked and go back to the queue when this consumer ends",
            state.hidden_unacked
        ));
    }
    words
}

/// Props of [`DeliveryItem`].
#[derive(Properties, PartialEq)]
struct DeliveryItemProps {
    shown: Shown,
    /// Its consumer is up: it can be acked.
    live: bool,
    settle: Callback<(u64, SettleChoice)>,
}

/// One delivery: its body as text, its marks, its buttons, its details (drawn
/// only while open). Its own component: a batch of new deliveries redraws only them.
#[function_component(DeliveryItem)]
fn delivery_item(props: &DeliveryItemProps) -> Html {
    let open = use_state(|| false);
    let shown = &props.shown;
    // A screen reader hears which message a button settles, not a row of "Ack"s (QA).
    let excerpt: String = shown.preview.chars().take(40).collect();
    let ellipsis = if shown.preview.chars().nth(40).is_some() { "…" } else { "" };
    let button = |choice: SettleChoice, label: &'static str, class: &'static str| {
        let (settle, number) = (props.settle.clone(), shown.number);
        let name = format!("{label} “{excerpt}{ellipsis}”");
        html! {
            <button type="button" class={classes!("small", class)} aria-label={name}
                onclick={Callback::from(move |_| settle.emit((number, choice)))}>{ label }</button>
        }
    };
    let size = (shown.size > shown.preview.len()).then(|| format!("{} bytes", shown.size));
    let ontoggle = {
        let open = open.clone();
        Callback::from(move |event: Event| {
            if let Some(details) = event.target_dyn_into::<web_sys::Element>() {
                open.set(details.has_attribute("open"));
            }
        })
    };
    html! {
        <li class="delivery" data-testid="delivery">
            // Text nodes only: a body is never parsed as HTML.
            <span class="body">{ shown.preview.clone() }</span>
            if let Some(copy) = &shown.copy { <span class="badge" title="the producer's copy number (header burrow-copy)">{ format!("#{copy}") }</span> }
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
            if let Some(how) = &shown.settled { <span class={classes!("badge", how.tone())} data-testid="settled">{ how.words() }</span> }
            if shown.unsettled() && props.live {
                <span class="actions">
                    { button(SettleChoice::Ack, "Ack", "") }
                    // A stream message cannot be nacked (RabbitMQ closes the connection).
                    if shown.offset.is_none() {
                        { button(SettleChoice::Requeue, "Nack (requeue)", "secondary") }
                        { button(SettleChoice::Reject, "Nack (drop)", "secondary") }
                    }
                </span>
            }
            <details {ontoggle}>
                <summary>{ "properties and headers" }</summary>
                if *open {
                    <dl class="headers">
                        { for shown.details.iter().map(|(k, v)| html! { <><dt>{ k.clone() }</dt><dd>{ v.clone() }</dd></> }) }
                    </dl>
                }
            </details>
        </li>
    }
}

/// Props of [`Replay`].
#[derive(Properties, PartialEq)]
struct ReplayProps {
    number: u32,
    /// The card's first offset: a replay starts there unless told otherwise.
    first: Option<u64>,
}

/// A stream can be read again: a new consumer from the chosen offset.
#[function_component(Replay)]
fn replay(props: &ReplayProps) -> Html {
    let workbench = use_context::<Workbench>();
    // The choice, and the value as typed (`None`: not typed, the first offset).
    let draft = use_draft(|| ("offset".to_owned(), None::<String>));
    let problem = use_state(|| None::<String>);
    let first = props.first;
    let value_of = move |typed: &Option<String>| typed.clone().or_else(|| first.map(|f| f.to_string())).unwrap_or_default();
    let on_replay = {
        let (draft, problem, number) = (draft.clone(), problem.clone(), props.number);
        Callback::from(move |_: MouseEvent| {
            let (choice, typed) = draft.get();
            match read_offset(&choice, &value_of(&typed)) {
                Ok(Some(offset)) => {
                    problem.set(None);
                    if let Some(w) = &workbench {
                        w.dispatch(Action::ReplayConsumer { number, offset });
                    }
                }
                Ok(None) => {}
                Err(words) => problem.set(Some(words)),
            }
        })
    };
    let set_choice = { let set = draft.setter(|d, v| d.0 = v); on_change(move |v| set.emit(v)) };
    let set_value = draft.setter(|d, v| d.1 = Some(v));
    let (choice, typed) = draft.get();
    let shown_value = value_of(&typed);
    let name = format!("Consumer {}", props.number);
    html! {
        <>
            <div class="actions replay" role="group" aria-label={format!("Replay {name}")}>
                <label>{ "Replay from" }
                    <select name="replay-from" onchange={set_choice}>
                        { for OFFSET_CHOICES.iter().map(|(v, label)| html! { <option value={*v} selected={choice == *v}>{ *label }</option> }) }
                    </select>
                </label>
                <TextField label="offset or time" name="replay-value" value={shown_value} oninput={set_value}
                    placeholder="500, or 2026-11-27 09:30" />
                <button type="button" class="secondary" onclick={on_replay} aria-label={format!("Replay {name}")}>{ "Replay" }</button>
            </div>
            if let Some(words) = (*problem).clone() {
                <p class="outcome bad" role="alert">{ words }</p>
            }
        </>
    }
}
