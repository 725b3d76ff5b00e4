//! The tutorial's lessons as guided scenarios: what each is, the pika code,
//! buttons that do it with the workbench (enabled when they make sense), what
//! happened so far, and a reset.

mod lessons;
mod progress;
mod run;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use super::fields::use_unique_id;
use super::live::LiveHandles;
use super::state::Workbench;
use run::{reset, run};

pub use lessons::{Lesson, LessonAction, LESSONS};
pub use progress::{lines as progress_lines, step_enabled as lesson_step_enabled, ProgressLine};

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
    let region = super::use_region_name("Guided tutorial");
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
        <section class="card guide" aria-label={region}>
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
    let resettable = progress.anything();
    let on_reset = {
        let (workbench, live) = (workbench.clone(), live.clone());
        Callback::from(move |_: MouseEvent| {
            if resettable {
                spawn_local(reset(index, workbench.clone(), live.clone()));
            }
        })
    };
    html! {
        <>
            <p>{ lesson.explain }</p>
            <pre class="code" aria-label="The pika code"><code>{ lesson.pika }</code></pre>
            <ol class="steps">
                { for lesson.actions.iter().enumerate().map(|(step, action)| {
                    let why_not = progress::step_enabled(lesson, step, &progress, workbench).err();
                    let allowed = why_not.is_none();
                    let label = progress::label(lesson, step, &progress, workbench);
                    let (workbench, live, action) = (workbench.clone(), live.clone(), *action);
                    let why_id = format!("lesson-{index}-why-{step}");
                    // aria-disabled, not disabled: a step done disables its button,
                    // and a disabled button loses the keyboard focus to the page.
                    html! {
                        <li>
                            <button type="button" aria-disabled={(!allowed).then_some("true")} data-testid={format!("lesson-step-{step}")}
                                aria-describedby={(!allowed).then(|| why_id.clone())}
                                onclick={Callback::from(move |_| if allowed { run(action, index, &workbench, &live) })}>
                                { label }
                            </button>
                            if let Some(why) = why_not { <span class="muted why-not" id={why_id}>{ why }</span> }
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
                <button type="button" class="secondary" aria-disabled={(!resettable).then_some("true")} onclick={on_reset} data-testid="lesson-reset">
                    { "Reset this lesson" }
                </button>
            </div>
            <p class="watch"><strong>{ "Watch: " }</strong>{ lesson.watch }</p>
        </>
    }
}
