//! The queue figures' chart: publish and deliver rates over the last two minutes.

use yew::prelude::*;

/// How many readings the chart keeps: two minutes' worth at the default rate.
pub const HISTORY: usize = 60;

/// One refresh's rates, in messages per second.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RateSample {
    /// Messages published to the queue per second.
    pub publish: f64,
    /// Messages delivered from it per second (acked or not).
    pub deliver: f64,
}

/// Props of [`RateChart`].
#[derive(Properties, PartialEq)]
pub struct RateChartProps {
    /// One sample per refresh, oldest first; the newest is drawn at "now".
    pub history: Vec<RateSample>,
    /// How often the figures are read (ms): the time axis spans `HISTORY` readings.
    #[prop_or(2_000)]
    pub period_ms: u32,
}

/// "2 min ago" for [`HISTORY`] readings `period_ms` apart.
fn span_label(period_ms: u32) -> String {
    let seconds = HISTORY as u64 * u64::from(period_ms) / 1000;
    if seconds >= 60 && seconds % 60 == 0 {
        format!("{} min ago", seconds / 60)
    } else {
        format!("{seconds} s ago")
    }
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
            aria-label={format!("publish and deliver rates, messages per second, since {}", span_label(props.period_ms))}
            data-testid="rate-chart" data-scale={scale.to_string()}>
            <line class="grid" x1={PLOT_LEFT.to_string()} x2={PLOT_RIGHT.to_string()} y1={format!("{top:.1}")} y2={format!("{top:.1}")} />
            <line class="grid" x1={PLOT_LEFT.to_string()} x2={PLOT_RIGHT.to_string()} y1={format!("{mid:.1}")} y2={format!("{mid:.1}")} />
            <line class="axis" x1={PLOT_LEFT.to_string()} x2={PLOT_RIGHT.to_string()} y1={PLOT_BOTTOM.to_string()} y2={PLOT_BOTTOM.to_string()} />
            <line class="axis" x1={PLOT_LEFT.to_string()} x2={PLOT_LEFT.to_string()} y1={PLOT_TOP.to_string()} y2={PLOT_BOTTOM.to_string()} />
            <text class="tick" data-testid="y-top" x={(PLOT_LEFT - 5.0).to_string()} y={format!("{:.1}", top + 3.5)} text-anchor="end">{ scale }</text>
            <text class="tick" x={(PLOT_LEFT - 5.0).to_string()} y={(PLOT_BOTTOM + 3.5).to_string()} text-anchor="end">{ "0" }</text>
            <text class="title" x={(PLOT_LEFT + 4.0).to_string()} y={(PLOT_TOP - 6.0).to_string()}>{ "msg/s" }</text>
            <text class="tick" x={PLOT_LEFT.to_string()} y={(PLOT_BOTTOM + 16.0).to_string()}>{ span_label(props.period_ms) }</text>
            <text class="tick" x={PLOT_RIGHT.to_string()} y={(PLOT_BOTTOM + 16.0).to_string()} text-anchor="end">{ "now" }</text>
            <polyline class="deliver" points={line(|s| s.deliver)} />
            <polyline class="publish" points={line(|s| s.publish)} />
            { newest(|s| s.deliver, "deliver") }
            { newest(|s| s.publish, "publish") }
        </svg>
    }
}
