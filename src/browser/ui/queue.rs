//! Declare a queue, and watch the selected queue's figures live from the
//! management API.

use yew::prelude::*;

use crate::management::QueueState;
use crate::rabbit::{QueueOptions, QueueType};

use super::actions;
use super::chart::RateChart;
use super::fields::{on_change, use_draft, TextField};
use super::hooks::use_queue_figures;
use super::live::LiveHandles;
use super::state::{Action, DeclareResult, Workbench};

/// Parses `name=value` lines into queue arguments; blank lines are skipped.
pub fn parse_arguments(text: &str) -> Result<Vec<(String, String)>, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| match line.split_once('=') {
            Some((name, value)) => Ok((name.trim().to_owned(), value.trim().to_owned())),
            None => Err(format!("“{line}” is not name=value")),
        })
        .collect()
}

/// Refuses a name of spaces, or with a space at an end, in words: RabbitMQ keeps
/// them, so “ x ” would be a queue beside “x” (a pasted name's trailing space)
/// and “   ” a queue whose name cannot be seen.
fn check_name(name: &str) -> Result<(), String> {
    let trimmed = name.trim();
    if trimmed.is_empty() && !name.is_empty() {
        Err(format!("the queue name “{name}” is only spaces: RabbitMQ would make a queue of them; give a name"))
    } else if trimmed != name {
        Err(format!(
            "the queue name “{name}” starts or ends with a space: RabbitMQ would keep it, a queue other than “{trimmed}”; remove the space"
        ))
    } else {
        Ok(())
    }
}

/// What the declare form holds, as typed.
#[derive(Debug, Clone, PartialEq, Default)]
struct DeclareDraft {
    name: String,
    queue_type: String,
    durable: bool,
    exclusive: bool,
    auto_delete: bool,
    arguments: String,
}

impl DeclareDraft {
    /// The options it asks for, or what is wrong in words.
    fn options(&self) -> Result<QueueOptions, String> {
        check_name(&self.name)?;
        Ok(QueueOptions {
            durable: self.durable,
            exclusive: self.exclusive,
            auto_delete: self.auto_delete,
            arguments: parse_arguments(&self.arguments)?,
            // "classic" sends no x-queue-type: a classic queue declared without
            // one stays equivalent.
            queue_type: self.queue_type.parse::<QueueType>().ok().filter(|t| *t != QueueType::Classic),
        })
    }

    /// Sets one field by its form name.
    fn set(&mut self, field: &str, value: String) {
        let on = value == "true";
        match field {
            "queue" => self.name = value,
            "queue-type" => {
                // Quorum queues and streams must be durable, not exclusive, not
                // auto-delete: choosing one sets the flags so (the declare still checks).
                if matches!(value.as_str(), "quorum" | "stream") {
                    (self.durable, self.exclusive, self.auto_delete) = (true, false, false);
                }
                self.queue_type = value;
            }
            "durable" => self.durable = on,
            "exclusive" => self.exclusive = on,
            "auto-delete" => self.auto_delete = on,
            _ => self.arguments = value,
        }
    }
}

/// The declare form, the broker's answer next to it, and the queue's figures.
#[function_component(QueuePanel)]
pub fn queue_panel() -> Html {
    let workbench = use_context::<Workbench>();
    let region = super::use_region_name("Queue");
    let live = use_context::<LiveHandles>().unwrap_or_default();
    let selected = workbench.as_ref().map(|w| w.queue.clone()).unwrap_or_default();
    let draft = use_draft(|| DeclareDraft { name: selected.clone(), queue_type: "classic".to_owned(), ..DeclareDraft::default() });
    {
        // A queue selected elsewhere (the list, a lesson) becomes the form's.
        let draft = draft.clone();
        use_effect_with(selected, move |queue| {
            if draft.get().name != *queue {
                draft.change(|d| d.name = queue.clone());
            }
        });
    }
    let Some(workbench) = workbench else { return html! {} };
    let set = |field: &'static str| draft.setter(move |d, value| d.set(field, value));
    let on_declare = {
        let (workbench, draft) = (workbench.clone(), draft.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let draft = draft.get();
            match draft.options() {
                Ok(options) => actions::declare(workbench.clone(), live.clone(), draft.name.clone(), options, None),
                Err(words) => {
                    let result = DeclareResult::Refused { queue: draft.name.clone(), words };
                    workbench.dispatch(Action::Declared { result, queue_type: None, lesson: None });
                }
            }
        })
    };
    let check = |name: &'static str, on: bool, label: &'static str| {
        let set = set(name);
        html! {
            <label class="check"><input type="checkbox" name={name} checked={on} onchange={on_change(move |v| set.emit(v))} />{ label }</label>
        }
    };
    let draft = draft.get();
    let type_set = set("queue-type");
    let arguments_set = set("arguments");
    html! {
        <section class="card" aria-label={region}>
            <h2>{ "Queue" }</h2>
            <form class="grid" onsubmit={on_declare}>
                <TextField label="Queue name" name="queue" value={draft.name.clone()} oninput={set("queue")} required=true />
                <label>{ "Type" }
                    <select name="queue-type" onchange={on_change(move |v| type_set.emit(v))}>
                        { for [("classic", "classic"), ("quorum", "quorum (replicated)"), ("stream", "stream (a log read from an offset)")]
                            .into_iter()
                            .map(|(value, label)| html! { <option value={value} selected={draft.queue_type == value}>{ label }</option> }) }
                    </select>
                </label>
                <fieldset class="flags">
                    <legend>{ "Properties" }</legend>
                    { check("durable", draft.durable, "durable") }
                    { check("exclusive", draft.exclusive, "exclusive") }
                    { check("auto-delete", draft.auto_delete, "auto-delete") }
                </fieldset>
                <label>{ "Arguments (name=value per line)" }
                    <textarea name="arguments" rows="2" value={draft.arguments.clone()}
                        oninput={super::fields::on_input({ let set = arguments_set.clone(); move |v| set.emit(v) })}
                        onchange={on_change(move |v| arguments_set.emit(v))}
                        placeholder={"x-message-ttl=60000\nx-max-length=1000"} />
                </label>
                <button type="submit" disabled={!workbench.main.connected}>{ "Declare" }</button>
            </form>
            if let Some(result) = &workbench.declare_result {
                <p class={classes!("outcome", if result.ok() { "good" } else { "bad" })} role="alert" data-testid="declare-result">
                    { result.words().to_owned() }
                </p>
            }
            <QueueFigures />
        </section>
    }
}

/// Ready / unacked / consumers, and publish and deliver rates as a small chart,
/// for the selected queue, read at the user's rate from the management API.
#[function_component(QueueFigures)]
pub fn queue_figures() -> Html {
    let workbench = use_context::<Workbench>();
    let settings = workbench.as_ref().and_then(|w| w.main.settings.clone());
    let queue = workbench.as_ref().map(|w| w.queue.clone()).unwrap_or_default();
    let period = workbench.as_ref().and_then(|w| w.refresh_ms);
    let asked = workbench.as_ref().map_or(0, |w| w.figures_asked);
    let on_type = workbench.clone().map(|w| Callback::from(move |types| w.dispatch(Action::QueueTypes(types))));
    let figures = use_queue_figures(settings.clone(), queue.clone(), period, asked, on_type.unwrap_or_default());
    if settings.is_none() {
        return html! { <p class="muted">{ "Connect to see the queue's live figures." }</p> };
    }
    let read_at = figures.read_at.clone().map(|at| format!("“{queue}”, read at {at}")).unwrap_or_default();
    html! {
        <div class="figures" aria-label="Queue figures" data-testid="queue-figures">
            <p class="muted read-at" data-testid="figures-read-at">{ read_at }</p>
            if let Some(state) = figures.latest.clone() {
                { figures_list(&state) }
                <RateChart history={figures.history.iter().copied().collect::<Vec<_>>()} period_ms={period.unwrap_or(2_000)} />
                <ul class="legend" data-testid="chart-legend">
                    <li class="publish"><span class="key"></span>{ "publish " }
                        <b data-testid="rate-publish">{ format!("{:.1}", state.publish_rate) }</b>{ " msg/s" }</li>
                    <li class="deliver"><span class="key"></span>{ "deliver " }
                        <b data-testid="rate-deliver">{ format!("{:.1}", state.deliver_rate) }</b>{ " msg/s" }</li>
                </ul>
            }
            if figures.missing {
                <p class="muted" role="status">{ format!("No queue “{queue}” on the broker (yet).") }</p>
            }
            if let Some(problem) = &figures.problem {
                <p class="muted" role="status">{ problem.words() }</p>
            }
        </div>
    }
}

/// The figures as a definition list.
fn figures_list(state: &QueueState) -> Html {
    let leader = state.leader.clone().or_else(|| (!state.members.is_empty()).then(|| state.node.clone()).flatten());
    html! {
        <dl>
            <div><dt>{ "ready" }</dt><dd data-testid="ready">{ state.messages_ready }</dd></div>
            <div><dt>{ "unacked" }</dt><dd data-testid="unacked">{ state.messages_unacknowledged }</dd></div>
            <div><dt>{ "consumers" }</dt><dd>{ state.consumers }</dd></div>
            <div><dt>{ "publish/s" }</dt><dd>{ format!("{:.1}", state.publish_rate) }</dd></div>
            <div><dt>{ "deliver/s" }</dt><dd>{ format!("{:.1}", state.deliver_rate) }</dd></div>
            <div><dt>{ "durable" }</dt><dd>{ if state.durable { "yes" } else { "no" } }</dd></div>
            if !state.queue_type.is_empty() {
                <div><dt>{ "type" }</dt><dd data-testid="queue-type">{ state.queue_type.clone() }</dd></div>
            }
            if let Some(leader) = leader {
                <div><dt>{ "leader" }</dt><dd data-testid="queue-leader">{ leader }</dd></div>
            }
            if !state.members.is_empty() {
                <div><dt>{ "members" }</dt><dd data-testid="queue-members">{ describe_members(state) }</dd></div>
            }
        </dl>
    }
}

/// A replicated queue's members, each marked when it is not running.
fn describe_members(state: &QueueState) -> String {
    state
        .members
        .iter()
        .map(|m| if state.online.is_empty() || state.online.contains(m) { m.clone() } else { format!("{m} (down)") })
        .collect::<Vec<_>>()
        .join(", ")
}
