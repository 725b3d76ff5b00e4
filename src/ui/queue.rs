//! Declare a queue, and watch its figures live from the management API.

use std::collections::VecDeque;

use gloo_timers::callback::Interval;
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::management::ManagementApi;
use crate::rabbit::{management_url_for, QueueOptions, QueueState};

use super::actions;
use super::state::Workbench;

/// How often the figures refresh.
const REFRESH_MS: u32 = 2_000;
/// How many samples the chart keeps.
const HISTORY: usize = 60;

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

/// The declare form, the broker's answer next to it, and the queue's figures.
#[function_component(QueuePanel)]
pub fn queue_panel() -> Html {
    let workbench = use_context::<Workbench>();
    let name = use_node_ref();
    let durable = use_node_ref();
    let exclusive = use_node_ref();
    let auto_delete = use_node_ref();
    let arguments = use_node_ref();
    let Some(workbench) = workbench else { return html! {} };

    let on_declare = {
        let workbench = workbench.clone();
        let refs = (name.clone(), durable.clone(), exclusive.clone(), auto_delete.clone(), arguments.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let (name, durable, exclusive, auto_delete, arguments) = &refs;
            let checked = |r: &NodeRef| r.cast::<HtmlInputElement>().is_some_and(|i| i.checked());
            let queue = name.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            let text = arguments.cast::<HtmlTextAreaElement>().map(|t| t.value()).unwrap_or_default();
            match parse_arguments(&text) {
                Ok(arguments) => {
                    let options = QueueOptions {
                        durable: checked(durable),
                        exclusive: checked(exclusive),
                        auto_delete: checked(auto_delete),
                        arguments,
                        queue_type: None,
                    };
                    actions::declare(workbench.clone(), queue, options);
                }
                Err(problem) => workbench.dispatch(super::state::Action::Declared(false, problem)),
            }
        })
    };

    let connected = workbench.connected;
    html! {
        <section class="card" aria-label="Queue">
            <h2>{ "Queue" }</h2>
            <form class="grid" onsubmit={on_declare}>
                <label>{ "Queue name" }
                    <input ref={name} name="queue" value={workbench.queue.clone()} required=true />
                </label>
                <fieldset class="flags">
                    <legend>{ "Properties" }</legend>
                    <label class="check"><input ref={durable} type="checkbox" name="durable" />{ "durable" }</label>
                    <label class="check"><input ref={exclusive} type="checkbox" name="exclusive" />{ "exclusive" }</label>
                    <label class="check"><input ref={auto_delete} type="checkbox" name="auto-delete" />{ "auto-delete" }</label>
                </fieldset>
                <label>{ "Arguments (name=value per line)" }
                    <textarea ref={arguments} name="arguments" rows="2"
                        placeholder={"x-message-ttl=60000\nx-max-length=1000"} />
                </label>
                <button type="submit" disabled={!connected}>{ "Declare" }</button>
            </form>
            if let Some((ok, words)) = &workbench.declare_result {
                <p class={classes!("outcome", if *ok { "good" } else { "bad" })} role="alert" data-testid="declare-result">
                    { words.clone() }
                </p>
            }
            <QueueFigures />
        </section>
    }
}

#[derive(Clone, PartialEq, Default)]
struct Figures {
    latest: Option<QueueState>,
    problem: Option<String>,
    history: VecDeque<(f64, f64)>,
}

/// Ready / unacked / consumers, and publish and deliver rates as a small chart,
/// refreshed every two seconds from the management API.
#[function_component(QueueFigures)]
pub fn queue_figures() -> Html {
    let workbench = use_context::<Workbench>();
    // A cell, not state: the interval's closure outlives renders and must see the
    // latest history; a forced update shows each new sample.
    let store = use_mut_ref(Figures::default);
    let update = use_force_update();
    let target = workbench.as_ref().and_then(|w| {
        let (url, options) = w.settings.clone()?;
        let base = management_url_for(&url)?;
        let api = ManagementApi::new(
            base,
            options.login.as_deref().unwrap_or_default(),
            options.passcode.as_deref().unwrap_or_default(),
        );
        Some((api, options.host, w.queue.clone()))
    });
    {
        let store = store.clone();
        use_effect_with(target.clone(), move |target| {
            let interval = target.clone().map(|(api, vhost, queue)| {
                let refresh = move || {
                    let (api, vhost, queue) = (api.clone(), vhost.clone(), queue.clone());
                    let (store, update) = (store.clone(), update.clone());
                    spawn_local(async move {
                        let answer = api.queue(&vhost, &queue).await;
                        let mut next = store.borrow_mut();
                        match answer {
                            Ok(Some(state)) => {
                                next.history.push_back((state.publish_rate, state.deliver_rate));
                                while next.history.len() > HISTORY {
                                    next.history.pop_front();
                                }
                                next.latest = Some(state);
                                next.problem = None;
                            }
                            Ok(None) => {
                                next.latest = None;
                                next.problem = Some(format!("No queue “{queue}” on the broker (yet)."));
                            }
                            Err(error) => {
                                next.problem = Some(format!("Live figures unavailable: {error}. Everything else keeps working."));
                            }
                        }
                        drop(next);
                        update.force_update();
                    });
                };
                refresh();
                Interval::new(REFRESH_MS, refresh)
            });
            move || drop(interval)
        });
    }

    if target.is_none() {
        return html! { <p class="muted">{ "Connect to see the queue's live figures." }</p> };
    }
    let figures = store.borrow().clone();
    let latest = figures.latest.clone();
    html! {
        <div class="figures" aria-label="Queue figures" data-testid="queue-figures">
            if let Some(state) = latest {
                <dl>
                    <div><dt>{ "ready" }</dt><dd data-testid="ready">{ state.messages_ready }</dd></div>
                    <div><dt>{ "unacked" }</dt><dd data-testid="unacked">{ state.messages_unacknowledged }</dd></div>
                    <div><dt>{ "consumers" }</dt><dd>{ state.consumers }</dd></div>
                    <div><dt>{ "publish/s" }</dt><dd>{ format!("{:.1}", state.publish_rate) }</dd></div>
                    <div><dt>{ "deliver/s" }</dt><dd>{ format!("{:.1}", state.deliver_rate) }</dd></div>
                    <div><dt>{ "durable" }</dt><dd>{ if state.durable { "yes" } else { "no" } }</dd></div>
                </dl>
                <RateChart history={figures.history.iter().copied().collect::<Vec<_>>()} />
            }
            if let Some(problem) = figures.problem.clone() {
                <p class="muted" role="status">{ problem }</p>
            }
        </div>
    }
}

/// Props of [`RateChart`].
#[derive(Properties, PartialEq)]
pub struct RateChartProps {
    /// (publish rate, deliver rate) samples, oldest first.
    pub history: Vec<(f64, f64)>,
}

/// Two polylines: publish (accent) and deliver (green) rates.
#[function_component(RateChart)]
pub fn rate_chart(props: &RateChartProps) -> Html {
    let max = props.history.iter().map(|(p, d)| p.max(*d)).fold(1.0_f64, f64::max);
    let points = |pick: fn(&(f64, f64)) -> f64| {
        props
            .history
            .iter()
            .enumerate()
            .map(|(i, sample)| format!("{},{:.1}", i * 4, 40.0 - pick(sample) / max * 38.0))
            .collect::<Vec<_>>()
            .join(" ")
    };
    html! {
        <svg class="chart" viewBox="0 0 240 42" role="img" aria-label="publish and deliver rates, last two minutes">
            <polyline class="publish" points={points(|s| s.0)} />
            <polyline class="deliver" points={points(|s| s.1)} />
        </svg>
    }
}
