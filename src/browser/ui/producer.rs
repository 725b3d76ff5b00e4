//! Publish messages with every property, and watch their confirms (and where
//! they went).

use yew::prelude::*;

use super::fields::{on_change, on_input, use_draft, TextField};
use super::live::LiveHandles;
use super::producer_draft::ProducerDraft;
use super::publish::{self, Numbering, COPY_HEADER};
use super::state::{PublishOutcome, PublishRecord, Workbench};

type Draft = super::fields::Draft<ProducerDraft>;

/// A callback that sets the field `field` of the draft.
fn setter(draft: &Draft, field: &'static str) -> Callback<String> {
    draft.setter(move |d, value| d.set(field, value))
}

/// Changes the draft with `change`.
fn change(draft: &Draft, change: impl Fn(&mut ProducerDraft) + 'static) -> Callback<()> {
    let draft = draft.clone();
    Callback::from(move |()| draft.change(|d| change(d)))
}

/// Exchange, routing key, body, properties and headers, "How many" and how the
/// copies are numbered; the confirm of each message.
#[function_component(ProducerPanel)]
pub fn producer_panel() -> Html {
    let workbench = use_context::<Workbench>();
    let region = super::use_region_name("Producer");
    let live = use_context::<LiveHandles>().unwrap_or_default();
    let selected = workbench.as_ref().map(|w| w.queue.clone()).unwrap_or_default();
    let draft = use_draft(|| ProducerDraft::new(selected.clone()));
    let problem = use_state(|| None::<String>);
    {
        // A queue selected elsewhere (the list, a declare, a lesson) becomes the target.
        let draft = draft.clone();
        use_effect_with(selected, move |queue| {
            if draft.get().routing_key != *queue {
                draft.change(|d| {
                    d.routing_key = queue.clone();
                    d.exchange = String::new();
                });
            }
        });
    }
    let Some(workbench) = workbench else { return html! {} };
    let on_publish = {
        let (workbench, draft, problem) = (workbench.clone(), draft.clone(), problem.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let now = (js_sys::Date::now() / 1000.0).floor() as u64;
            match draft.get().request(now) {
                Ok(request) => {
                    problem.set(None);
                    publish::publish(workbench.clone(), live.clone(), request);
                }
                Err(words) => problem.set(Some(words)),
            }
        })
    };
    // While reconnecting, messages wait in the outbox.
    let running = workbench.main.running;
    let typed = draft.get();
    html! {
        <section class="card" aria-label={region}>
            <h2>{ "Producer" }</h2>
            <form class="grid" onsubmit={on_publish}>
                <TextField label="Exchange (empty: the default exchange)" name="exchange" value={typed.exchange.clone()}
                    oninput={setter(&draft, "exchange")} placeholder="(default exchange)" />
                <TextField label={if typed.exchange.trim().is_empty() { "To queue (routing key)" } else { "Routing key" }}
                    name="routing-key" value={typed.routing_key.clone()} oninput={setter(&draft, "routing-key")} />
                <label class="wide">{ "Body" }
                    <textarea name="body" rows="2" value={typed.body.clone()} oninput={on_input({ let set = setter(&draft, "body"); move |v| set.emit(v) })}
                        onchange={on_change({ let set = setter(&draft, "body"); move |v| set.emit(v) })} />
                </label>
                { copies_fields(&draft, &typed) }
                <label class="check"><input type="checkbox" name="persistent" checked={typed.persistent}
                    onchange={{ let set = draft.setter(|d, v| d.persistent = v == "true"); on_change(move |v| set.emit(v)) }} />
                    { "persistent (delivery_mode=2)" }</label>
                { properties_fields(&draft, &typed) }
                <button type="submit" disabled={!running}>{ "Publish" }</button>
            </form>
            if let Some(words) = &*problem {
                <p class="outcome bad" role="alert">{ words.clone() }</p>
            }
            { publish_log(&workbench) }
        </section>
    }
}

/// "How many" and how copies are numbered, said next to the field.
fn copies_fields(draft: &Draft, typed: &ProducerDraft) -> Html {
    let note = match typed.numbering {
        Numbering::Header => format!("Copies are numbered in a header, {COPY_HEADER}: 1/N …; the body is sent as typed."),
        Numbering::Body => "Copies get “ #1”, “ #2” … appended to the body (which then is no longer, say, JSON).".to_owned(),
        Numbering::Off => "Copies are identical.".to_owned(),
    };
    let set_numbering = {
        let draft = draft.clone();
        on_change(move |value| {
            let numbering = match value.as_str() {
                "body" => Numbering::Body,
                "off" => Numbering::Off,
                _ => Numbering::Header,
            };
            draft.change(|d| d.numbering = numbering);
        })
    };
    let option = |value: &'static str, label: &'static str, numbering: Numbering| {
        html! { <option value={value} selected={typed.numbering == numbering}>{ label }</option> }
    };
    html! {
        <>
            <TextField label="How many" name="count" value={typed.count.clone()} oninput={setter(draft, "count")}
                inputmode="numeric" error={typed.count_error()} note={note} />
            <label>{ "Number the copies" }
                <select name="numbering" onchange={set_numbering}>
                    { option("header", "in a header (body unchanged)", Numbering::Header) }
                    { option("body", "at the end of the body", Numbering::Body) }
                    { option("off", "not at all", Numbering::Off) }
                </select>
            </label>
        </>
    }
}

/// Every property of pika's BasicProperties, and headers as rows.
fn properties_fields(draft: &Draft, typed: &ProducerDraft) -> Html {
    let text = |label: &'static str, name: &'static str, value: &str| {
        html! { <TextField label={label} name={name} value={value.to_owned()} oninput={setter(draft, name)} /> }
    };
    let add_header = change(draft, |d| d.headers.push((String::new(), String::new())));
    let set_timestamp = draft.setter(|d, v| d.timestamp = v == "true");
    html! {
        <details class="wide properties">
            <summary>{ "Properties and headers" }</summary>
            <div class="grid">
                { text("content_type", "content-type", &typed.content_type) }
                { text("content_encoding", "content-encoding", &typed.content_encoding) }
                <TextField label="priority (0–255)" name="priority" value={typed.priority.clone()} oninput={setter(draft, "priority")}
                    inputmode="numeric" error={typed.priority_error()} />
                <TextField label="expiration (ms)" name="expiration" value={typed.expiration.clone()} oninput={setter(draft, "expiration")}
                    inputmode="numeric" error={typed.expiration_error()} />
                { text("correlation_id", "correlation-id", &typed.correlation_id) }
                { text("reply_to", "reply-to", &typed.reply_to) }
                { text("message_id", "message-id", &typed.message_id) }
                { text("type", "type", &typed.kind) }
                { text("app_id", "app-id", &typed.app_id) }
                { text("user_id (must be the login)", "user-id", &typed.user_id) }
                <TextField label="Stream filter value (RabbitMQ 3.13+)" name="stream-filter-value"
                    value={typed.stream_filter_value.clone()} oninput={setter(draft, "stream-filter-value")}
                    note="x-stream-filter-value: what a stream consumer's filter selects by; no commas" />
                <label class="check"><input type="checkbox" name="timestamp" checked={typed.timestamp}
                    onchange={on_change(move |v| set_timestamp.emit(v))} />{ "timestamp: the time of publishing" }</label>
            </div>
            <fieldset class="headers-rows">
                <legend>{ "Headers" }</legend>
                { for (0..typed.headers.len()).map(|row| header_row(draft, typed, row)) }
                <button type="button" class="small secondary" onclick={Callback::from(move |_| add_header.emit(()))}>{ "Add a header" }</button>
            </fieldset>
        </details>
    }
}

/// One header: name, value, remove.
fn header_row(draft: &Draft, typed: &ProducerDraft, row: usize) -> Html {
    let (name, value) = typed.headers.get(row).cloned().unwrap_or_default();
    let set = |column: usize| {
        draft.setter(move |d, text| {
            if let Some(cell) = d.headers.get_mut(row) {
                if column == 0 { cell.0 = text } else { cell.1 = text }
            }
        })
    };
    let remove = change(draft, move |d| {
        if row < d.headers.len() {
            d.headers.remove(row);
        }
    });
    html! {
        <div class="header-row" key={row}>
            <TextField label={format!("header {} name", row + 1)} name="header-name" value={name} oninput={set(0)} error={typed.header_error(row)} />
            <TextField label={format!("header {} value", row + 1)} name="header-value" value={value} oninput={set(1)} />
            <button type="button" class="small secondary" aria-label={format!("Remove header {}", row + 1)}
                onclick={Callback::from(move |_| remove.emit(()))}>{ "Remove" }</button>
        </div>
    }
}

/// The counts, the outbox and the recent publishes.
fn publish_log(workbench: &Workbench) -> Html {
    let counts = workbench.publishing.counts;
    let outbox = workbench.main.outbox;
    html! {
        <>
            <p class="muted" data-testid="publish-counts">
                { format!("published {}, confirmed {}, routed nowhere {}, pending {}, failed {}",
                    counts.published, counts.confirmed, counts.nowhere, counts.pending(), counts.failed) }
            </p>
            <p class="muted" data-testid="outbox">
                { format!("outbox: {} waiting for a confirm ({} in flight, {} bytes); kept and sent again after a reconnect; lost if this page is closed", outbox.messages, outbox.in_flight, outbox.bytes) }
            </p>
            if let Some(since) = workbench.main.held_back_since {
                <p class="held-back" role="status" data-testid="held-back">
                    { format!("RabbitMQ is holding publishes back: no confirm since {:.1} s into this page, while the connection is alive (a memory or disk alarm?). They wait in the outbox; nothing is lost.", since / 1000.0) }
                </p>
            }
            <ol class="log" aria-label="Recent publishes" tabindex="0">
                { for workbench.publishing.records.newest(20).iter().map(publish_item) }
            </ol>
        </>
    }
}

fn publish_item(record: &PublishRecord) -> Html {
    let (class, label) = match &record.outcome {
        PublishOutcome::Pending => ("pending", "pending".to_owned()),
        PublishOutcome::Confirmed => ("good", "confirmed".to_owned()),
        PublishOutcome::ConfirmedUnchecked(why) => ("warn", format!("confirmed (where it went is not checked: {why})")),
        PublishOutcome::RoutedNowhere(why) => ("bad", format!("routed nowhere: {why} (RabbitMQ confirmed it and dropped it)")),
        PublishOutcome::Failed(why) => ("bad", format!("failed: {why}")),
    };
    html! {
        <li key={record.number}>
            <span class="n">{ format!("#{}", record.number) }</span>
            // Text nodes only: a body is never parsed as HTML.
            <span class="body">{ record.body.clone() }</span>
            if let Some(copy) = &record.copy { <span class="badge">{ format!("copy {copy}") }</span> }
            <span class="badge">{ format!("to {}", record.destination) }</span>
            if record.persistent { <span class="badge">{ "persistent" }</span> }
            <span class={classes!("badge", class)} data-testid="publish-outcome">{ label }</span>
        </li>
    }
}
