//! Declare a queue, and watch its figures live from the management API.

use std::collections::VecDeque;

use gloo_timers::callback::Interval;
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::management::ManagementApi;
use crate::management::QueueState;
use crate::rabbit::{QueueOptions, QueueType};

use super::actions;
use super::state::Workbench;

/// How often the figures refresh.
const REFRESH_MS: u32 = 2_000;
/// How many samples the chart keeps: two minutes' worth.
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
    let queue_type = use_node_ref();
    let Some(workbench) = workbench else { return html! {} };

    // Quorum queues and streams must be durable, not exclusive, not auto-delete:
    // choosing one sets the flags so (the declare still checks them).
    let on_type = {
        let refs = (durable.clone(), exclusive.clone(), auto_delete.clone());
        Callback::from(move |event: Event| {
            let replicated = event
                .target_dyn_into::<HtmlSelectElement>()
                .is_some_and(|s| matches!(s.value().as_str(), "quorum" | "stream"));
            if replicated {
                let set = |r: &NodeRef, on: bool| {
                    if let Some(input) = r.cast::<HtmlInputElement>() {
                        input.set_checked(on);
                    }
                };
                set(&refs.0, true);
                set(&refs.1, false);
                set(&refs.2, false);
            }
        })
    };

    let on_declare = {
        let workbench = workbench.clone();
        let refs =
            (name.clone(), durable.clone(), exclusive.clone(), auto_delete.clone(), arguments.clone(), queue_type.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let (name, durable, exclusive, auto_delete, arguments, queue_type) = &refs;
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
                        // "classic" sends no x-queue-type: a classic queue declared
                        // without one stays equivalent.
                        queue_type: queue_type
                            .cast::<HtmlSelectElement>()
                            .and_then(|s| s.value().parse::<QueueType>().ok())
                            .filter(|t| *t != QueueType::Classic),
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
                <label>{ "Type" }
                    <select ref={queue_type} name="queue-type" onchange={on_type}>
                        <option value="classic" selected=true>{ "classic" }</option>
                        <option value="quorum">{ "quorum (replicated)" }</option>
                        <option value="stream">{ "stream (a log read from an offset)" }</option>
                    </select>
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
    history: VecDeque<RateSample>,
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
        let api = ManagementApi::for_connection(&url, None, &options)?;
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
                                next.history.push_back(RateSample {
                                    publish: state.publish_rate,
                                    deliver: state.deliver_rate,
                                });
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
                    if !state.queue_type.is_empty() {
                        <div><dt>{ "type" }</dt><dd data-testid="queue-type">{ state.queue_type.clone() }</dd></div>
                    }
                    if let Some(leader) = state.leader.clone().or_else(|| (!state.members.is_empty()).then(|| state.node.clone()).flatten()) {
                        <div><dt>{ "leader" }</dt><dd data-testid="queue-leader">{ leader }</dd></div>
                    }
                    if !state.members.is_empty() {
                        <div><dt>{ "members" }</dt><dd data-testid="queue-members">{ describe_members(&state) }</dd></div>
                    }
                </dl>
                <RateChart history={figures.history.iter().copied().collect::<Vec<_>>()} />
                <ul class="legend" data-testid="chart-legend">
                    <li class="publish"><span class="key"></span>{ "publish " }
                        <b data-testid="rate-publish">{ format!("{:.1}", state.publish_rate) }</b>{ " msg/s" }</li>
                    <li class="deliver"><span class="key"></span>{ "deliver " }
                        <b data-testid="rate-deliver">{ format!("{:.1}", state.deliver_rate) }</b>{ " msg/s" }</li>
                </ul>
            }
            if let Some(problem) = figures.problem.clone() {
                <p class="muted" role="status">{ problem }</p>
            }
        </div>
    }
}

/// One refresh's rates, in messages per second.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RateSample {
    /// Messages published to the queue per second.
    pub publish: f64,
    /// Messages delivered from it per second (acked or not).
    pub deliver: f64,
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

/// Props of [`RateChart`].
#[derive(Properties, PartialEq)]
pub struct RateChartProps {
    /// One sample per refresh, oldest first; the newest is drawn at "now".
    pub history: Vec<RateSample>,
}

/// The chart's drawing area, in its own units (the SVG scales to the card's width).
const CHART_WIDTH: f64 = 400.0;
const CHART_HEIGHT: f64 = 112.0;
const PLOT_LEFT: f64 = 30.0;
const PLOT_RIGHT: f64 = 392.0;
const PLOT_TOP: f64 = 18.0;
const PLOT_BOTTOM: f64 = 90.0;

/// The top of the y axis: the smallest of 1, 2, 5, 10, 20, 50, … at or above
/// `peak`, so a few messages a second still fill the chart and the label is a
/// round number.
pub fn rate_scale(peak: f64) -> u64 {
    let mut step: u64 = 1;
    loop {
        for multiple in [1, 2, 5] {
            let top = step.saturating_mul(multiple);
            if top as f64 >= peak || top == u64::MAX {
                return top;
            }
        }
        step = step.saturating_mul(10);
    }
}

/// Publish and deliver rates over the last two minutes: a y axis in msg/s from 0
/// to a round top, a time axis ending at "now", deliver drawn wide under publish
/// so both show when they are equal, and a dot on each newest value (a lone
/// first sample is a dot). The legend with the current values is next to it.
#[function_component(RateChart)]
pub fn rate_chart(props: &RateChartProps) -> Html {
    let peak = props.history.iter().map(|s| s.publish.max(s.deliver)).fold(0.0_f64, f64::max);
    let scale = rate_scale(peak);
    let count = props.history.len().min(HISTORY);
    let samples = props.history.get(props.history.len() - count..).unwrap_or_default();
    let x = |i: usize| {
        let slot = (HISTORY - count + i) as f64;
        PLOT_LEFT + slot / (HISTORY - 1) as f64 * (PLOT_RIGHT - PLOT_LEFT)
    };
    let y = |rate: f64| {
        let share = if rate.is_finite() { (rate / scale as f64).clamp(0.0, 1.0) } else { 0.0 };
        PLOT_BOTTOM - share * (PLOT_BOTTOM - PLOT_TOP)
    };
    let line = |pick: fn(&RateSample) -> f64| {
        samples.iter().enumerate().map(|(i, s)| format!("{:.1},{:.1}", x(i), y(pick(s)))).collect::<Vec<_>>().join(" ")
    };
    let newest = |pick: fn(&RateSample) -> f64, class: &'static str| match samples.last() {
        Some(sample) => html! {
            <circle class={class} cx={format!("{:.1}", x(count - 1))} cy={format!("{:.1}", y(pick(sample)))} r="3" />
        },
        None => html! {},
    };
    let (mid, top) = (y(scale as f64 / 2.0), y(scale as f64));
    html! {
        <svg class="chart" viewBox={format!("0 0 {CHART_WIDTH} {CHART_HEIGHT}")} role="img"
            aria-label="publish and deliver rates, messages per second, over the last two minutes"
            data-testid="rate-chart" data-scale={scale.to_string()}>
            <line class="grid" x1={PLOT_LEFT.to_string()} x2={PLOT_RIGHT.to_string()} y1={format!("{top:.1}")} y2={format!("{top:.1}")} />
            <line class="grid" x1={PLOT_LEFT.to_string()} x2={PLOT_RIGHT.to_string()} y1={format!("{mid:.1}")} y2={format!("{mid:.1}")} />
            <line class="axis" x1={PLOT_LEFT.to_string()} x2={PLOT_RIGHT.to_string()} y1={PLOT_BOTTOM.to_string()} y2={PLOT_BOTTOM.to_string()} />
            <line class="axis" x1={PLOT_LEFT.to_string()} x2={PLOT_LEFT.to_string()} y1={PLOT_TOP.to_string()} y2={PLOT_BOTTOM.to_string()} />
            <text class="tick" data-testid="y-top" x={(PLOT_LEFT - 5.0).to_string()} y={format!("{:.1}", top + 3.5)} text-anchor="end">{ scale }</text>
            <text class="tick" x={(PLOT_LEFT - 5.0).to_string()} y={(PLOT_BOTTOM + 3.5).to_string()} text-anchor="end">{ "0" }</text>
            <text class="title" x={(PLOT_LEFT + 4.0).to_string()} y={(PLOT_TOP - 6.0).to_string()}>{ "msg/s" }</text>
            <text class="tick" x={PLOT_LEFT.to_string()} y={(PLOT_BOTTOM + 16.0).to_string()}>{ "2 min ago" }</text>
            <text class="tick" x={PLOT_RIGHT.to_string()} y={(PLOT_BOTTOM + 16.0).to_string()} text-anchor="end">{ "now" }</text>
            <polyline class="deliver" points={line(|s| s.deliver)} />
            <polyline class="publish" points={line(|s| s.publish)} />
            { newest(|s| s.deliver, "deliver") }
            { newest(|s| s.publish, "publish") }
        </svg>
    }
}
