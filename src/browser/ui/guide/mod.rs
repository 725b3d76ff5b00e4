//! The tutorial's lessons as guided scenarios: what each is, the pika code,
//! buttons that do it with the workbench (enabled when they make sense), what
//! happened so far, and a reset.

mod lessons;
mod progress;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::rabbit::{BasicProperties, QueueOptions};

use super::actions;
use super::fields::use_unique_id;
use super::live::LiveHandles;
use super::publish::{self, Numbering, PublishRequest};
use super::state::{Action, ConsumerSource, Destination, NewConsumer, Workbench};

pub use lessons::{Lesson, LessonAction, LESSONS};

/// Carries out `action` of lesson `index`.
fn run(action: LessonAction, index: usize, workbench: &Workbench, live: &LiveHandles) {
    match action {
        LessonAction::Declare { queue, durable } => {
            let options = QueueOptions { durable, ..QueueOptions::default() };
            actions::declare(workbench.clone(), live.clone(), queue.to_owned(), options, Some(index));
        }
        LessonAction::Publish { queue, body, persistent, count } => {
            workbench.dispatch(Action::SelectQueue(queue.to_owned()));
            let properties = BasicProperties {
                persistent,
                content_type: Some("text/plain; charset=utf-8".to_owned()),
                ..BasicProperties::default()
            };
            let request = PublishRequest {
                destination: Destination::queue(queue),
                body: body.to_owned(),
                properties,
                count,
                numbering: Numbering::Header,
                lesson: Some(index),
            };
            publish::publish(workbench.clone(), live.clone(), request);
        }
        LessonAction::AddConsumer { role, queue, auto_ack, prefetch } => {
            workbench.dispatch(Action::SelectQueue(queue.to_owned()));
            workbench.dispatch(Action::AddConsumer(NewConsumer {
                source: ConsumerSource::Queue(queue.to_owned()),
                auto_ack,
                prefetch,
                stream_offset: None,
                lesson: Some((index, role)),
            }));
        }
        LessonAction::Crash { role } => {
            if let Some(&number) = workbench.guide.lesson(index).consumers.get(role) {
                workbench.dispatch(Action::CrashConsumer(number));
            }
        }
    }
}

/// "Reset this lesson": its consumers removed, its queues deleted (through the
/// management API), so the next run starts clean.
async fn reset(index: usize, workbench: Workbench) {
    let Some(lesson) = LESSONS.get(index) else { return };
    let mut done = Vec::new();
    let consumers: Vec<u32> = workbench.guide.lesson(index).consumers.values().copied().collect();
    for number in &consumers {
        workbench.dispatch(Action::RemoveConsumer(*number));
    }
    if !consumers.is_empty() {
        let names: Vec<String> = consumers.iter().map(|n| format!("Consumer {n}")).collect();
        done.push(format!("removed {}", names.join(" and ")));
    }
    let api = workbench.main.settings.as_ref().and_then(|s| s.management().map(|api| (api, s.vhost().to_owned())));
    for queue in lesson.queues {
        match &api {
            Some((api, vhost)) => match api.delete_queue(vhost, queue).await {
                Ok(true) => done.push(format!("deleted queue {queue}")),
                Ok(false) => done.push(format!("queue {queue} was not there")),
                Err(error) => done.push(format!("could not delete queue {queue}: {error}")),
            },
            None => done.push(format!("could not delete queue {queue}: no management API (connect first)")),
        }
        workbench.dispatch(Action::QueueDeleted((*queue).to_owned()));
    }
    let words = if done.is_empty() { "Nothing to reset.".to_owned() } else { format!("Reset: {}.", done.join("; ")) };
    workbench.dispatch(Action::LessonReset { lesson: index, words });
}

/// Moves the selection with the arrow keys, Home and End (an ARIA tab list).
fn on_tab_key(open: UseStateHandle<usize>, focus: UseStateHandle<bool>) -> Callback<KeyboardEvent> {
    Callback::from(move |event: KeyboardEvent| {
        let last = LESSONS.len().saturating_sub(1);
        let next = match event.key().as_str() {
            "ArrowRight" | "ArrowDown" => if *open >= last { 0 } else { *open + 1 },
            "ArrowLeft" | "ArrowUp" => if *open == 0 { last } else { *open - 1 },
            "Home" => 0,
            "End" => last,
            _ => return,
        };
        event.prevent_default();
        open.set(next);
        focus.set(true);
    })
}

/// The lessons, one open at a time, as an ARIA tab list.
#[function_component(Guide)]
pub fn guide() -> Html {
    let workbench = use_context::<Workbench>();
    let live = use_context::<LiveHandles>().unwrap_or_default();
    let open = use_state(|| 0usize);
    let focus = use_state(|| false);
    let id = use_unique_id("guide");
    {
        // After an arrow key the selected tab takes the focus.
        let (focus, tab_id) = (focus.clone(), format!("{id}-tab-{}", *open));
        use_effect_with((*open, *focus), move |(_, wanted)| {
            if *wanted {
                let tab = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id(&tab_id));
                if let Some(tab) = tab.and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) {
                    let _ = tab.focus();
                }
                focus.set(false);
            }
        });
    }
    let Some(workbench) = workbench else { return html! {} };
    let keys = on_tab_key(open.clone(), focus.clone());
    html! {
        <section class="card guide" aria-label="Guided tutorial">
            <h2>{ "The tutorial, step by step" }</h2>
            <div class="tabs" role="tablist" aria-label="Lessons" onkeydown={keys}>
                { for LESSONS.iter().enumerate().map(|(i, lesson)| {
                    let selected = i == *open;
                    let open = open.clone();
                    html! {
                        <button type="button" role="tab" id={format!("{id}-tab-{i}")} aria-controls={format!("{id}-panel")}
                            aria-selected={selected.to_string()} tabindex={if selected { "0" } else { "-1" }}
                            class={classes!("tab", selected.then_some("selected"))}
                            onclick={Callback::from(move |_| open.set(i))}>{ lesson.title }</button>
                    }
                }) }
            </div>
            if let Some(lesson) = LESSONS.get(*open) {
                <div role="tabpanel" id={format!("{id}-panel")} aria-labelledby={format!("{id}-tab-{}", *open)}>
                    { lesson_panel(lesson, *open, &workbench, &live) }
                </div>
            }
        </section>
    }
}

/// One lesson: explanation, code, buttons, what happened, what to watch.
fn lesson_panel(lesson: &Lesson, index: usize, workbench: &Workbench, live: &LiveHandles) -> Html {
    let progress = workbench.guide.lesson(index);
    let happened = progress::lines(lesson, &progress, workbench);
    let resettable = !progress.consumers.is_empty() || !progress.declares.is_empty() || progress.publishes.published > 0;
    let on_reset = {
        let workbench = workbench.clone();
        Callback::from(move |_: MouseEvent| spawn_local(reset(index, workbench.clone())))
    };
    html! {
        <>
            <p>{ lesson.explain }</p>
            <pre class="code" aria-label="The pika code"><code>{ lesson.pika }</code></pre>
            <ol class="steps">
                { for lesson.actions.iter().enumerate().map(|(step, action)| {
                    let why_not = progress::enabled(action, &progress, workbench).err();
                    let label = progress::label(lesson, step, &progress, workbench);
                    let (workbench, live, action) = (workbench.clone(), live.clone(), *action);
                    html! {
                        <li>
                            <button type="button" disabled={why_not.is_some()} data-testid={format!("lesson-step-{step}")}
                                onclick={Callback::from(move |_| run(action, index, &workbench, &live))}>
                                { label }
                            </button>
                            if let Some(why) = why_not { <span class="muted why-not">{ why }</span> }
                        </li>
                    }
                }) }
            </ol>
            <div class="progress" aria-live="polite" data-testid="lesson-progress">
                <h3>{ "What happened" }</h3>
                if happened.is_empty() {
                    <p class="muted">{ "Nothing yet: the buttons above do each step." }</p>
                } else {
                    <ul>
                        { for happened.iter().map(|line| html! {
                            <li class={if line.ok { "good" } else { "bad" }}>{ if line.ok { "✓ " } else { "✗ " } }{ line.words.clone() }</li>
                        }) }
                    </ul>
                }
                <button type="button" class="secondary" disabled={!resettable} onclick={on_reset} data-testid="lesson-reset">
                    { "Reset this lesson" }
                </button>
            </div>
            <p class="watch"><strong>{ "Watch: " }</strong>{ lesson.watch }</p>
        </>
    }
}
