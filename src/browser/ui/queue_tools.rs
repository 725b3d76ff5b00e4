//! What a row of the queue list opens: a peek at its messages (returned to the
//! queue), or a purge or delete that first names the queue and its count.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::management::QueueState;

use super::fields::use_unique_id;
use super::live::LiveHandles;
use super::peek::PeekPanel;
use super::state::{management_failure, Workbench};

/// The tool open under the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueTool {
    /// Look at the first messages (a stream: read from an offset).
    Peek {
        /// The queue.
        queue: String,
        /// It is a stream.
        stream: bool,
    },
    /// Asks before purging.
    Purge {
        /// The queue.
        queue: String,
        /// Its ready messages at the last reading.
        ready: u64,
    },
    /// Asks before deleting.
    Delete {
        /// The queue.
        queue: String,
        /// Its ready messages at the last reading.
        ready: u64,
        /// Its unacked messages at the last reading.
        unacked: u64,
    },
}

impl QueueTool {
    /// Peek into `queue`.
    pub fn peek(queue: &QueueState) -> Self {
        QueueTool::Peek { queue: queue.name.clone(), stream: queue.queue_type == "stream" }
    }

    /// Purge `queue`, once confirmed.
    pub fn purge(queue: &QueueState) -> Self {
        QueueTool::Purge { queue: queue.name.clone(), ready: queue.messages_ready }
    }

    /// Delete `queue`, once confirmed.
    pub fn delete(queue: &QueueState) -> Self {
        QueueTool::Delete { queue: queue.name.clone(), ready: queue.messages_ready, unacked: queue.messages_unacknowledged }
    }

    /// With the counts of the latest reading of the list: a confirmation left
    /// open asked about the count when it opened (QA: "Purge 3 messages" while
    /// the list beside it showed 5, all of which went).
    pub fn with_latest(self, queues: &[QueueState]) -> Self {
        let latest = |name: &str| queues.iter().find(|q| q.name == name);
        match &self {
            QueueTool::Purge { queue, .. } => latest(queue).map_or(self, QueueTool::purge),
            QueueTool::Delete { queue, .. } => latest(queue).map_or(self, QueueTool::delete),
            QueueTool::Peek { .. } => self,
        }
    }
}

/// Props of [`QueueTools`].
#[derive(Properties, PartialEq)]
pub struct QueueToolsProps {
    /// What is open.
    pub tool: Option<QueueTool>,
    /// Closes it.
    pub on_close: Callback<()>,
    /// The broker's queues changed: read the list again.
    pub on_changed: Callback<()>,
}

/// "1 message", "12 messages".
pub fn messages(n: u64) -> String {
    if n == 1 { "1 message".to_owned() } else { format!("{n} messages") }
}

/// What the purge dialog asks about `queue`, which had `ready` messages ready:
/// "Its 1 ready message is deleted", "Its 12 ready messages are deleted".
pub fn purge_question(queue: &str, ready: u64) -> String {
    let (noun, verb) = if ready == 1 { ("message", "is") } else { ("messages", "are") };
    format!("Purge “{queue}”? Its {ready} ready {noun} {verb} deleted for good; unacked ones stay with their consumers.")
}

impl QueueTool {
    /// The `aria-label` of the row's button that opened it.
    fn opener_label(&self) -> String {
        match self {
            QueueTool::Peek { queue, .. } => format!("Peek into {queue}"),
            QueueTool::Purge { queue, .. } => format!("Purge {queue}"),
            QueueTool::Delete { queue, .. } => format!("Delete {queue}"),
        }
    }
}

/// Gives the focus back to the row's button that opened `tool`, found by its
/// label among the buttons of the section around `inside` (names are compared as
/// they are, never put in a selector).
fn focus_opener(inside: &NodeRef, tool: &QueueTool) {
    let label = tool.opener_label();
    let section = inside.cast::<web_sys::Element>().and_then(|e| e.closest("section").ok().flatten());
    let Some(buttons) = section.and_then(|s| s.query_selector_all("button[aria-label]").ok()) else { return };
    let opener = (0..buttons.length())
        .filter_map(|i| buttons.item(i))
        .filter_map(|node| node.dyn_into::<web_sys::HtmlElement>().ok())
        .find(|button| button.get_attribute("aria-label").as_deref() == Some(label.as_str()));
    if let Some(opener) = opener {
        let _ = opener.focus();
    }
}

/// Cancel's click and the dialog's Escape: both close it and give the focus back
/// to the row's button.
fn closers(props: &QueueToolsProps, dialog: &NodeRef) -> (Callback<MouseEvent>, Callback<KeyboardEvent>) {
    let back = {
        let (close, dialog, tool) = (props.on_close.clone(), dialog.clone(), props.tool.clone());
        Callback::from(move |()| {
            if let Some(tool) = &tool {
                focus_opener(&dialog, tool);
            }
            close.emit(());
        })
    };
    let cancel = {
        let back = back.clone();
        Callback::from(move |_: MouseEvent| back.emit(()))
    };
    let escape = Callback::from(move |event: KeyboardEvent| {
        if event.key() == "Escape" {
            event.prevent_default();
            back.emit(());
        }
    });
    (cancel, escape)
}

/// The open tool, and the outcome of the last purge or delete. A confirmation
/// takes the focus when it opens (QA: it appeared below the table, 39 Tabs from
/// the row's button, and a screen reader was not told); Escape or Cancel closes it
/// and gives the focus back to that button.
#[function_component(QueueTools)]
pub fn queue_tools(props: &QueueToolsProps) -> Html {
    let workbench = use_context::<Workbench>();
    let live = use_context::<LiveHandles>().unwrap_or_default();
    let outcome = use_state(|| None::<(bool, String)>);
    let dialog = use_node_ref();
    let question = use_unique_id("confirm");
    {
        let dialog = dialog.clone();
        use_effect_with(props.tool.clone(), move |tool| {
            if matches!(tool, Some(QueueTool::Purge { .. } | QueueTool::Delete { .. })) {
                if let Some(dialog) = dialog.cast::<web_sys::HtmlElement>() {
                    let _ = dialog.focus();
                }
            }
        });
    }
    let Some(workbench) = workbench else { return html! {} };
    let (cancel, onkeydown) = closers(props, &dialog);
    let run = |tool: QueueTool| {
        let (workbench, live, outcome) = (workbench.clone(), live.clone(), outcome.clone());
        let (close, changed, dialog) = (props.on_close.clone(), props.on_changed.clone(), dialog.clone());
        Callback::from(move |_: MouseEvent| {
            // Not lost with the dialog: back on the row (a deleted queue's row goes with the next reading).
            focus_opener(&dialog, &tool);
            close.emit(());
            spawn_local(carry_out(tool.clone(), workbench.clone(), live.clone(), outcome.clone(), changed.clone()));
        })
    };
    let ask = |label: String, words: String, confirm: Html| {
        html! {
            <div class="confirm" role="alertdialog" aria-label={label} aria-describedby={question.clone()} tabindex="-1"
                ref={dialog.clone()} onkeydown={onkeydown.clone()} data-testid="confirm">
                <p id={question.clone()}>{ words }</p>
                { confirm }
                <button key="cancel" type="button" class="secondary" onclick={cancel.clone()}>{ "Cancel" }</button>
            </div>
        }
    };
    let confirm = match &props.tool {
        Some(QueueTool::Peek { queue, stream }) => {
            html! { <PeekPanel key={queue.clone()} queue={queue.clone()} stream={*stream} on_close={props.on_close.clone()} on_changed={props.on_changed.clone()} /> }
        }
        Some(tool @ QueueTool::Purge { queue, ready }) => ask(
            format!("Purge {queue}?"),
            purge_question(queue, *ready),
            html! { <button key="purge" type="button" class="danger" onclick={run(tool.clone())}>{ format!("Purge {} from “{queue}”", messages(*ready)) }</button> },
        ),
        Some(tool @ QueueTool::Delete { queue, ready, unacked }) => ask(
            format!("Delete {queue}?"),
            format!("Delete “{queue}” and its {} ({ready} ready, {unacked} unacked)? Its consumers are cancelled.", messages(ready + unacked)),
            html! { <button key="delete" type="button" class="danger" onclick={run(tool.clone())}>{ format!("Delete “{queue}”") }</button> },
        ),
        None => html! {},
    };
    html! {
        <>
            { confirm }
            if let Some((ok, words)) = &*outcome {
                <p class={classes!("outcome", if *ok { "good" } else { "bad" })} role="status" data-testid="queue-tool-outcome">{ words.clone() }</p>
            }
        </>
    }
}

/// Purges or deletes through the management API; the outcome in words.
async fn carry_out(
    tool: QueueTool,
    workbench: Workbench,
    live: LiveHandles,
    outcome: UseStateHandle<Option<(bool, String)>>,
    changed: Callback<()>,
) {
    let Some(settings) = workbench.main.settings.clone() else { return };
    let Some(api) = settings.management() else { return };
    let vhost = settings.vhost().to_owned();
    let result = match &tool {
        QueueTool::Purge { queue, ready } => api.purge_queue(&vhost, queue).await.map(|found| match found {
            // The API does not say how many went: the count is the last reading's.
            true => format!("Purged “{queue}”: its ready messages were deleted ({ready} at the last reading)."),
            false => format!("No queue “{queue}” any more."),
        }),
        QueueTool::Delete { queue, .. } => api.delete_queue(&vhost, queue).await.map(|found| {
            super::actions::queue_deleted(&workbench, &live, queue);
            match found {
                true => format!("Deleted “{queue}”."),
                false => format!("No queue “{queue}” any more."),
            }
        }),
        QueueTool::Peek { .. } => return,
    };
    live.forget_routes();
    outcome.set(Some(match result {
        Ok(words) => (true, words),
        Err(error) => (false, management_failure(&error)),
    }));
    changed.emit(());
}
