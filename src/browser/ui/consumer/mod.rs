//! Consumers: a form that keeps what was typed, and one card per consumer, each
//! on its own connection (as each worker in the tutorial is its own process),
//! so crashing one affects no other.

pub(crate) mod card;
pub(crate) mod card_state;
mod offset;

use yew::prelude::*;

use crate::rabbit::{QueueType, StreamFilter, StreamOffset};

use super::fields::{on_change, use_draft, whole_number, Draft, TextField};
use super::state::{Action, ConsumerSource, NewConsumer, Workbench};

pub use card::{status_words, ConsumerCard};
pub use card_state::{
    Arrivals, CardAction, CardEntry, CardState, CardStatus, QueueLife, Settlement, Shown, Unless, DEFAULT_DELIVERY_LIMIT,
    DELIVERY_LOG_LIMIT,
};
pub(crate) use offset::{read_offset, OFFSET_CHOICES};

/// The consumer form as typed.
#[derive(Debug, Clone, PartialEq)]
struct ConsumerDraft {
    queue: String,
    auto_ack: bool,
    prefetch: String,
    offset: String,
    offset_value: String,
    /// An exchange to subscribe to instead of the queue (empty: the queue).
    exchange: String,
    routing_key: String,
    /// A durable subscription's queue (empty: transient).
    durable_queue: String,
    /// A stream filter's values, comma-separated (empty: none).
    filter: String,
    /// With a filter: also messages without a filter value.
    match_unfiltered: bool,
    /// x-priority, as typed (empty: none).
    priority: String,
}

impl ConsumerDraft {
    /// The form as it starts, for `queue`: manual ack, prefetch 1.
    fn new(queue: String) -> Self {
        ConsumerDraft {
            queue,
            auto_ack: false,
            prefetch: "1".to_owned(),
            offset: String::new(),
            offset_value: String::new(),
            exchange: String::new(),
            routing_key: String::new(),
            durable_queue: String::new(),
            filter: String::new(),
            match_unfiltered: false,
            priority: String::new(),
        }
    }

    fn prefetch_error(&self) -> Option<String> {
        whole_number(&self.prefetch, 0, u64::from(u16::MAX), "prefetch").err()
    }

    /// The consumer it asks for, or what is wrong in words. `kind` is the
    /// queue's type when known.
    fn consumer(&self, kind: Option<QueueType>) -> Result<NewConsumer, String> {
        let prefetch = whole_number(&self.prefetch, 0, u64::from(u16::MAX), "prefetch")?;
        let stream_offset: Option<StreamOffset> = read_offset(&self.offset, &self.offset_value)?;
        if kind == Some(QueueType::Stream) && stream_offset.is_none() {
            return Err(format!(
                "“{}” is a stream: choose where to read from (“Stream: read from”: first, last, next, an offset or a time). \
                 Without one it would wait for new messages only.",
                self.queue
            ));
        }
        let (stream_filter, priority) = self.extras()?;
        let exchange = self.exchange.trim();
        let durable = self.durable_queue.trim();
        let source = if exchange.is_empty() {
            if self.queue.trim().is_empty() {
                return Err("give a queue to read, or an exchange to subscribe to".to_owned());
            }
            if !durable.is_empty() {
                return Err("a durable queue name goes with an exchange: give the exchange to subscribe to".to_owned());
            }
            ConsumerSource::Queue(self.queue.clone())
        } else {
            ConsumerSource::Exchange {
                exchange: exchange.to_owned(),
                routing_key: self.routing_key.trim().to_owned(),
                durable_queue: (!durable.is_empty()).then(|| durable.to_owned()),
            }
        };
        Ok(NewConsumer {
            source,
            auto_ack: self.auto_ack,
            prefetch: u16::try_from(prefetch).unwrap_or(u16::MAX),
            stream_offset,
            stream_filter,
            priority,
            lesson: None,
            fib_server: false,
        })
    }
}

impl ConsumerDraft {
    /// The stream filter and priority as typed, or what is wrong in words.
    fn extras(&self) -> Result<(Option<StreamFilter>, Option<i8>), String> {
        let values: Vec<String> =
            self.filter.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect();
        let match_unfiltered = self.match_unfiltered;
        let stream_filter = (!values.is_empty()).then_some(StreamFilter { values, match_unfiltered });
        if stream_filter.is_none() && self.match_unfiltered {
            return Err("“also unfiltered” widens a stream filter: give the filter values too".to_owned());
        }
        let priority = match self.priority.trim() {
            "" => None,
            typed => Some(typed.parse::<i8>().map_err(|_| {
                format!("the priority must be a whole number from -128 to 127 (RabbitMQ's STOMP takes a byte), not “{typed}”")
            })?),
        };
        Ok((stream_filter, priority))
    }
}

/// The form's fields for a stream filter and a priority (what RabbitMQ 3.13 and
/// 4.0 add; refused in words on an older broker).
fn extra_fields(draft: &Draft<ConsumerDraft>) -> Html {
    let set = |change: fn(&mut ConsumerDraft, String)| draft.setter(change);
    let typed = draft.get();
    let set_unfiltered = set(|d, v| d.match_unfiltered = v == "true");
    html! {
        <>
            <TextField label="Stream filter values (RabbitMQ 3.13+)" name="stream-filter" value={typed.filter.clone()}
                oninput={set(|d, v| d.filter = v)} placeholder="red, blue"
                note="only messages published with one of these x-stream-filter-values; comma-separated" />
            <label class="check"><input type="checkbox" name="match-unfiltered" checked={typed.match_unfiltered}
                onchange={on_change(move |v| set_unfiltered.emit(v))} />{ "also messages without a filter value" }</label>
            <TextField label="Priority (x-priority, RabbitMQ 4.0+)" name="consumer-priority" value={typed.priority.clone()}
                oninput={set(|d, v| d.priority = v)} inputmode="numeric" placeholder="0"
                note="the higher gets the messages while it has room (prefetch)" />
        </>
    }
}

/// The form's fields for an exchange subscription.
fn exchange_fields(draft: &Draft<ConsumerDraft>) -> Html {
    let set = |change: fn(&mut ConsumerDraft, String)| draft.setter(change);
    let typed = draft.get();
    html! {
        <>
            <TextField label="Or from exchange" name="consume-exchange" value={typed.exchange.clone()} oninput={set(|d, v| d.exchange = v)}
                note="a subscription through a queue bound to it; empty: the queue above" />
            <TextField label="Binding key" name="binding-key" value={typed.routing_key.clone()} oninput={set(|d, v| d.routing_key = v)}
                placeholder="*.critical" />
            <TextField label="Durable queue name (empty: transient)" name="durable-queue" value={typed.durable_queue.clone()}
                oninput={set(|d, v| d.durable_queue = v)} note="transient: what is published while it reconnects is lost" />
        </>
    }
}

/// The form to add consumers, and one card per consumer.
#[function_component(ConsumersPanel)]
pub fn consumers_panel() -> Html {
    let workbench = use_context::<Workbench>();
    let region = super::use_region_name("Consumers");
    let selected = workbench.as_ref().map(|w| w.queue.clone()).unwrap_or_default();
    let draft = use_draft(|| ConsumerDraft::new(selected.clone()));
    let problem = use_state(|| None::<String>);
    {
        // A queue selected elsewhere (the list, a declare, a lesson) becomes the form's.
        let draft = draft.clone();
        use_effect_with(selected, move |queue| {
            if draft.get().queue != *queue {
                draft.change(|d| d.queue = queue.clone());
            }
        });
    }
    let Some(workbench) = workbench else { return html! {} };
    let on_add = {
        let (workbench, draft, problem) = (workbench.clone(), draft.clone(), problem.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let draft = draft.get();
            match draft.consumer(workbench.queue_type(&draft.queue)) {
                Ok(consumer) => {
                    problem.set(None);
                    workbench.dispatch(Action::AddConsumer(consumer));
                }
                Err(words) => problem.set(Some(words)),
            }
        })
    };
    let set = |change: fn(&mut ConsumerDraft, String)| draft.setter(change);
    let can_add = workbench.main.settings.is_some();
    let draft_handle = draft.clone();
    let draft = draft.get();
    html! {
        <section class="card consumers-panel" aria-label={region}>
            <h2>{ "Consumers" }</h2>
            <form class="grid" onsubmit={on_add}>
                <TextField label="From queue" name="consume-queue" value={draft.queue.clone()} oninput={set(|d, v| d.queue = v)} />
                { exchange_fields(&draft_handle) }
                <label>{ "Acknowledgement" }
                    <select name="ack" onchange={{ let s = set(|d, v| d.auto_ack = v == "auto"); on_change(move |v| s.emit(v)) }}>
                        <option value="manual" selected={!draft.auto_ack}>{ "manual (basic_ack)" }</option>
                        <option value="auto" selected={draft.auto_ack}>{ "auto (auto_ack=True)" }</option>
                    </select>
                </label>
                <TextField label="Prefetch (0 = unlimited)" name="prefetch" value={draft.prefetch.clone()} oninput={set(|d, v| d.prefetch = v)}
                    inputmode="numeric" error={draft.prefetch_error()} />
                <label title="A stream is read from an offset, with manual ack and a prefetch above 0">
                    { "Stream: read from" }
                    <select name="offset" onchange={{ let s = set(|d, v| d.offset = v); on_change(move |v| s.emit(v)) }}>
                        <option value="" selected={draft.offset.is_empty()}>{ "— (not a stream)" }</option>
                        { for OFFSET_CHOICES.iter().map(|(value, label)| html! {
                            <option value={*value} selected={draft.offset == *value}>{ *label }</option>
                        }) }
                    </select>
                </label>
                <TextField label="Offset or time" name="offset-value" value={draft.offset_value.clone()}
                    oninput={set(|d, v| d.offset_value = v)} placeholder="500, or 2026-11-27 09:30" />
                { extra_fields(&draft_handle) }
                <button type="submit" disabled={!can_add}>{ "Add consumer" }</button>
            </form>
            if let Some(words) = (*problem).clone() {
                <p class="outcome bad" role="alert" data-testid="consumer-problem">{ words }</p>
            }
            <div class="consumers">
                { for workbench.consumers.specs.iter().map(|spec| html! {
                    <ConsumerCard key={spec.number} spec={spec.clone()} />
                }) }
            </div>
        </section>
    }
}
