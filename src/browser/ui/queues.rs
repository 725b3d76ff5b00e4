//! Every queue at a glance, as the management UI lists them: filter, sort,
//! refresh rate, the time of the reading; a row selects the queue the other
//! panels use, and opens peek, purge and delete.

use std::cmp::Ordering;
use std::rc::Rc;

use yew::prelude::*;

use crate::management::QueueState;

use super::fields::{on_change, TextField};
use super::hooks::{use_queue_list, QueueList};
use super::queue_tools::{QueueTool, QueueTools};
use super::state::{Action, Workbench};

/// The refresh rates offered (ms; `None`: only when asked).
const RATES: [(Option<u32>, &str); 6] = [
    (Some(1_000), "every 1 s"),
    (Some(2_000), "every 2 s"),
    (Some(5_000), "every 5 s"),
    (Some(10_000), "every 10 s"),
    (Some(30_000), "every 30 s"),
    (None, "off (Refresh now only)"),
];

/// A column the list sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// By name.
    Name,
    /// By type.
    Type,
    /// Ready messages.
    Ready,
    /// Unacked messages.
    Unacked,
    /// Ready and unacked.
    Total,
    /// Consumers.
    Consumers,
    /// Publish rate.
    PublishRate,
    /// Deliver rate.
    DeliverRate,
}

impl SortKey {
    const ALL: [(SortKey, &'static str); 8] = [
        (SortKey::Name, "name"),
        (SortKey::Type, "type"),
        (SortKey::Ready, "ready"),
        (SortKey::Unacked, "unacked"),
        (SortKey::Total, "total"),
        (SortKey::Consumers, "consumers"),
        (SortKey::PublishRate, "publish/s"),
        (SortKey::DeliverRate, "deliver/s"),
    ];

    fn compare(self, a: &QueueState, b: &QueueState) -> Ordering {
        let total = |q: &QueueState| q.messages_ready + q.messages_unacknowledged;
        match self {
            SortKey::Name => a.name.cmp(&b.name),
            SortKey::Type => a.queue_type.cmp(&b.queue_type).then_with(|| a.name.cmp(&b.name)),
            SortKey::Ready => a.messages_ready.cmp(&b.messages_ready),
            SortKey::Unacked => a.messages_unacknowledged.cmp(&b.messages_unacknowledged),
            SortKey::Total => total(a).cmp(&total(b)),
            SortKey::Consumers => a.consumers.cmp(&b.consumers),
            SortKey::PublishRate => a.publish_rate.total_cmp(&b.publish_rate),
            SortKey::DeliverRate => a.deliver_rate.total_cmp(&b.deliver_rate),
        }
    }
}

/// How the list is shown: filter and order.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    filter: String,
    sort: SortKey,
    descending: bool,
}

impl View {
    /// The queues to show, filtered (case-insensitive, part of the name) and sorted.
    fn apply<'a>(&self, queues: &'a [QueueState]) -> Vec<&'a QueueState> {
        let filter = self.filter.trim().to_lowercase();
        let mut shown: Vec<&QueueState> =
            queues.iter().filter(|q| filter.is_empty() || q.name.to_lowercase().contains(&filter)).collect();
        shown.sort_by(|a, b| {
            let order = self.sort.compare(a, b);
            if self.descending { order.reverse() } else { order }
        });
        shown
    }
}

/// The queue list, its tools, and what it cannot show.
#[function_component(QueuesPanel)]
pub fn queues_panel() -> Html {
    let workbench = use_context::<Workbench>();
    let region = super::use_region_name("Queues");
    let view = use_state(|| View { filter: String::new(), sort: SortKey::Name, descending: false });
    let tool = use_state(|| None::<QueueTool>);
    let settings = workbench.as_ref().and_then(|w| w.main.settings.clone());
    let period = workbench.as_ref().and_then(|w| w.refresh_ms);
    let on_types = workbench.clone().map(|w| Callback::from(move |types| w.dispatch(Action::QueueTypes(types))));
    let handle = use_queue_list(settings.clone(), period, on_types.unwrap_or_default());
    // Stable callbacks: the table (hundreds of rows) redraws only when its data changes.
    let on_view = use_callback(view.setter(), |next: View, setter| setter.set(next));
    let on_tool = use_callback(tool.setter(), |next: QueueTool, setter| setter.set(Some(next)));
    let dispatcher = workbench.as_ref().map(|w| w.dispatcher());
    let on_select = use_callback(dispatcher, |queue: String, dispatcher| {
        if let Some(dispatcher) = dispatcher {
            dispatcher.dispatch(Action::SelectQueue(queue));
        }
    });
    let Some(workbench) = workbench else { return html! {} };
    if settings.is_none() {
        return html! {
            <section class="card queues" aria-label={region.clone()}>
                <h2>{ "Queues" }</h2>
                <p class="muted">{ "Connect to see every queue of the virtual host." }</p>
            </section>
        };
    }
    let list = &handle.list;
    let on_filter = {
        let view = view.clone();
        Callback::from(move |filter: String| view.set(View { filter, ..(*view).clone() }))
    };
    let on_rate = {
        let workbench = workbench.clone();
        on_change(move |value| workbench.dispatch(Action::RefreshEvery(value.parse().ok())))
    };
    let refresh = {
        let (refresh, workbench) = (handle.refresh.clone(), workbench.clone());
        Callback::from(move |_| {
            refresh.emit(());
            workbench.dispatch(Action::ReadFiguresAgain);
        })
    };
    html! {
        <section class="card queues" aria-label={region.clone()}>
            <h2>{ "Queues" }</h2>
            <div class="toolbar">
                <TextField label="Filter by name" name="queue-filter" value={view.filter.clone()} oninput={on_filter} placeholder="part of a name" />
                <label>{ "Refresh" }
                    <select name="refresh" onchange={on_rate}>
                        { for RATES.iter().map(|(ms, label)| html! {
                            <option value={ms.map(|m| m.to_string()).unwrap_or_default()} selected={*ms == period}>{ *label }</option>
                        }) }
                    </select>
                </label>
                <button type="button" class="secondary" name="refresh-now" onclick={refresh}>{ "Refresh now" }</button>
                <p class="muted read-at" data-testid="queues-read-at" aria-live="polite">{ read_at(list, &workbench, &view) }</p>
            </div>
            if let Some(problem) = &list.problem {
                <p class="outcome bad" role="status" data-testid="queues-problem">{ problem.words() }</p>
            }
            if list.read_at.is_some() {
                <QueueTable queues={list.queues.clone()} selected={workbench.queue.clone()} view={(*view).clone()}
                    on_view={on_view} on_select={on_select} on_tool={on_tool} />
            }
            <QueueTools tool={(*tool).clone().map(|tool| tool.with_latest(&list.queues))} on_close={{ let tool = tool.clone(); Callback::from(move |()| tool.set(None)) }}
                on_changed={handle.refresh.clone()} />
        </section>
    }
}

/// "read at 18:33:04: 12 queues in “/”".
fn read_at(list: &QueueList, workbench: &Workbench, view: &View) -> String {
    let vhost = workbench.main.settings.as_ref().map(|s| s.vhost().to_owned()).unwrap_or_default();
    let shown = view.apply(&list.queues).len();
    let filtered = if shown < list.queues.len() { format!(" ({shown} shown)") } else { String::new() };
    match &list.read_at {
        Some(at) => format!("Read at {at}: {} queues in virtual host “{vhost}”{filtered}.", list.queues.len()),
        None if list.problem.is_none() => "Reading…".to_owned(),
        None => String::new(),
    }
}

/// Props of [`QueueTable`].
#[derive(Properties, PartialEq)]
struct QueueTableProps {
    queues: Rc<Vec<QueueState>>,
    selected: String,
    view: View,
    on_view: Callback<View>,
    on_select: Callback<String>,
    on_tool: Callback<QueueTool>,
}

/// The table itself, with sortable headers.
#[function_component(QueueTable)]
fn queue_table(props: &QueueTableProps) -> Html {
    let view = &props.view;
    let shown = view.apply(&props.queues);
    let header = |key: SortKey, label: &'static str| {
        let sorted = view.sort == key;
        let (aria, arrow) = match (sorted, view.descending) {
            (false, _) => ("none", ""),
            (true, false) => ("ascending", " ▲"),
            (true, true) => ("descending", " ▼"),
        };
        let (view, on_view) = (view.clone(), props.on_view.clone());
        let onclick = Callback::from(move |_: MouseEvent| {
            let descending = if view.sort == key { !view.descending } else { key != SortKey::Name && key != SortKey::Type };
            on_view.emit(View { sort: key, descending, ..view.clone() });
        });
        html! { <th scope="col" aria-sort={aria}><button type="button" class="sort" onclick={onclick}>{ label }{ arrow }</button></th> }
    };
    html! {
        <div class="table-wrap">
            <table class="queue-list" data-testid="queue-list">
                <thead><tr>
                    { for SortKey::ALL.iter().map(|(key, label)| header(*key, label)) }
                    <th scope="col">{ "durable" }</th>
                    <th scope="col"><span class="visually-hidden">{ "actions" }</span></th>
                </tr></thead>
                <tbody>
                    { for shown.iter().map(|queue| queue_row(queue, props)) }
                </tbody>
            </table>
            if shown.is_empty() {
                <p class="muted">{ if props.queues.is_empty() { "No queues yet." } else { "No queue name matches the filter." } }</p>
            }
        </div>
    }
}

/// One queue: its name selects it; peek, purge and delete open their tool.
fn queue_row(queue: &QueueState, props: &QueueTableProps) -> Html {
    let name = queue.name.clone();
    let selected = props.selected == name;
    let select = {
        let (on_select, name) = (props.on_select.clone(), name.clone());
        Callback::from(move |_: MouseEvent| on_select.emit(name.clone()))
    };
    let open = |make: fn(&QueueState) -> QueueTool| {
        let (on_tool, chosen) = (props.on_tool.clone(), make(queue));
        Callback::from(move |_: MouseEvent| on_tool.emit(chosen.clone()))
    };
    let stream = queue.queue_type == "stream";
    html! {
        <tr key={name.clone()} class={classes!(selected.then_some("selected"))} data-queue={name.clone()}>
            <th scope="row" class="name">
                <button type="button" class="link" onclick={select} aria-pressed={selected.to_string()}
                    title="Use this queue in the figures, the producer and the consumer form">{ name.clone() }</button>
            </th>
            <td>{ queue.queue_type.clone() }</td>
            <td class="n ready">{ queue.messages_ready }</td>
            <td class="n unacked">{ queue.messages_unacknowledged }</td>
            <td class="n total">{ queue.messages_ready + queue.messages_unacknowledged }</td>
            <td class="n">{ queue.consumers }</td>
            <td class="n">{ format!("{:.1}", queue.publish_rate) }</td>
            <td class="n">{ format!("{:.1}", queue.deliver_rate) }</td>
            <td>{ if queue.durable { "yes" } else { "no" } }</td>
            <td class="row-actions">
                <button type="button" class="small secondary" onclick={open(QueueTool::peek)} aria-label={format!("Peek into {name}")}>{ "Peek" }</button>
                if !stream {
                    <button type="button" class="small secondary" onclick={open(QueueTool::purge)} aria-label={format!("Purge {name}")}>{ "Purge…" }</button>
                }
                <button type="button" class="small danger" onclick={open(QueueTool::delete)} aria-label={format!("Delete {name}")}>{ "Delete…" }</button>
            </td>
        </tr>
    }
}
