//! Publish messages, and watch their confirms.

use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

use super::actions;
use super::state::{PublishOutcome, Workbench};

/// Body, persistent, "publish N", and the confirm of each message.
#[function_component(ProducerPanel)]
pub fn producer_panel() -> Html {
    let workbench = use_context::<Workbench>();
    let queue = use_node_ref();
    let body = use_node_ref();
    let persistent = use_node_ref();
    let count = use_node_ref();
    let Some(workbench) = workbench else { return html! {} };

    let on_publish = {
        let workbench = workbench.clone();
        let refs = (queue.clone(), body.clone(), persistent.clone(), count.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let (queue, body, persistent, count) = &refs;
            let input = |r: &NodeRef| r.cast::<HtmlInputElement>();
            let routing_key = input(queue).map(|i| i.value()).unwrap_or_default();
            let text = body.cast::<HtmlTextAreaElement>().map(|t| t.value()).unwrap_or_default();
            let persistent = input(persistent).is_some_and(|i| i.checked());
            let count = input(count).and_then(|i| i.value().parse::<u32>().ok()).unwrap_or(1).clamp(1, 10_000);
            actions::publish(workbench.clone(), routing_key, text, persistent, count);
        })
    };

    // While reconnecting, messages wait in the outbox.
    let connected = workbench.reliable.is_some();
    let pending = workbench.published - workbench.confirmed - workbench.failed;
    html! {
        <section class="card" aria-label="Producer">
            <h2>{ "Producer" }</h2>
            <form class="grid" onsubmit={on_publish}>
                <label>{ "To queue" }
                    <input ref={queue} name="routing-key" value={workbench.queue.clone()} required=true />
                </label>
                <label class="wide">{ "Body" }
                    <textarea ref={body} name="body" rows="2" defaultvalue="大郎 起来喝药了" />
                </label>
                <label class="check"><input ref={persistent} type="checkbox" name="persistent" />
                    { "persistent (delivery_mode=2)" }</label>
                <label>{ "How many" }
                    <input ref={count} name="count" type="number" min="1" max="10000" value="1" />
                </label>
                <button type="submit" disabled={!connected}>{ "Publish" }</button>
            </form>
            <p class="muted" data-testid="publish-counts">
                { format!("published {}, confirmed {}, pending {}, failed {}", workbench.published, workbench.confirmed, pending, workbench.failed) }
            </p>
            <p class="muted" data-testid="outbox">
                { format!("outbox: {} waiting for a confirm ({} in flight, {} bytes); kept and sent again after a reconnect", workbench.outbox.messages, workbench.outbox.in_flight, workbench.outbox.bytes) }
            </p>
            <ol class="log" aria-label="Recent publishes">
                { for workbench.publishes.newest(20).into_iter().map(|record| {
                    let (class, label) = match &record.outcome {
                        PublishOutcome::Pending => ("pending", "pending".to_owned()),
                        PublishOutcome::Confirmed => ("good", "confirmed".to_owned()),
                        PublishOutcome::Failed(why) => ("bad", format!("failed: {why}")),
                    };
                    html! {
                        <li key={record.number}>
                            <span class="n">{ format!("#{}", record.number) }</span>
                            // Text nodes only: a body is never parsed as HTML.
                            <span class="body">{ record.body.clone() }</span>
                            if record.persistent { <span class="badge">{ "persistent" }</span> }
                            <span class={classes!("badge", class)}>{ label }</span>
                        </li>
                    }
                }) }
            </ol>
        </section>
    }
}
