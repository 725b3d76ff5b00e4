//! RPC (RabbitMQ's tutorial 6) in the workbench: a call on the main connection
//! that shows the reply and the round trip, or why there is none, in words; the
//! Fibonacci server a consumer card can be.

use std::time::Duration;

use yew::prelude::*;

use crate::management::RouteCheck;
use crate::rabbit::BasicProperties;
use crate::reliable::CallError;

use super::actions::page_now_ms;
use super::fields::{use_draft, whole_number, TextField};
use super::live::{LiveHandles, RouteKnown};
use super::publish::route_for;
use super::state::{ConnectionSettings, Destination, Workbench};

/// How a call ended, for the screen.
#[derive(Debug, Clone, PartialEq)]
pub struct CallOutcome {
    /// A reply came.
    pub ok: bool,
    /// The reply's body (as text) and the round trip, or why not, in words.
    pub words: String,
    /// The round trip in ms (until the reply, or until it ended without one).
    pub ms: f64,
}

/// Calls `routing_key` on `exchange` with `body` through the main connection
/// and waits for the reply (at most `timeout`). A call with no reply says that
/// the connection was down when its time ran out, or, when the management API
/// knows, that its request routed nowhere (no server queue).
pub async fn call(
    live: &LiveHandles,
    settings: Option<&ConnectionSettings>,
    exchange: &str,
    routing_key: &str,
    body: &str,
    timeout: Duration,
) -> CallOutcome {
    let Some(main) = live.main() else {
        return CallOutcome { ok: false, words: "Not connected: connect first.".to_owned(), ms: 0.0 };
    };
    let properties = BasicProperties {
        content_type: Some("text/plain; charset=utf-8".to_owned()),
        ..BasicProperties::default()
    };
    let start = page_now_ms();
    let reply = main.call(exchange, routing_key, body.as_bytes().to_vec(), &properties, timeout).await;
    let ms = page_now_ms() - start;
    match reply {
        Ok(delivery) => {
            let text = String::from_utf8_lossy(&delivery.body).into_owned();
            CallOutcome { ok: true, words: format!("Reply “{text}” after {ms:.0} ms."), ms }
        }
        Err(error @ CallError::Timeout(_)) if !main.is_connected() => {
            // Down when the time ran out: RabbitMQ never took the request (a taken
            // one ends as ConnectionLost), and the core took it out of the outbox.
            let words = format!(
                "Timed out: {error}: the connection was down (reconnecting), so RabbitMQ never took the request; \
                 it is not sent later either, as no call waits for its reply."
            );
            CallOutcome { ok: false, words, ms }
        }
        // The core asked the management API at half-time: the words say it all.
        Err(error @ (CallError::NoQueue { .. } | CallError::NoConsumer { .. })) => {
            CallOutcome { ok: false, words: format!("Timed out: {error}."), ms }
        }
        Err(error @ CallError::Timeout(_)) => {
            let destination = Destination { exchange: exchange.to_owned(), routing_key: routing_key.to_owned() };
            let nowhere = match route_for(live, settings, &destination).await {
                RouteKnown::Checked(RouteCheck::Nowhere(why)) => format!(": the request routed nowhere ({why})"),
                _ => String::new(),
            };
            CallOutcome { ok: false, words: format!("Timed out: {error}{nowhere}."), ms }
        }
        Err(error) => CallOutcome { ok: false, words: format!("Failed after {ms:.0} ms: {error}."), ms },
    }
}

/// fib(n) as RabbitMQ's tutorial computes it, without its exponential time.
pub fn fib(n: u32) -> Option<u128> {
    let (mut a, mut b) = (0u128, 1u128);
    for _ in 0..n {
        let next = a.checked_add(b)?;
        a = b;
        b = next;
    }
    Some(a)
}

/// The Fibonacci server's answer to a request's body, in words when it cannot.
pub fn fib_reply(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match text.trim().parse::<u32>().ok().and_then(fib) {
        Some(value) => value.to_string(),
        None => format!("error: “{text}” is not a whole number from 0 to 185"),
    }
}

/// The call form as typed.
#[derive(Debug, Clone, PartialEq)]
struct CallDraft {
    exchange: String,
    routing_key: String,
    body: String,
    timeout: String,
}

/// Sends a call and shows its reply and round trip.
#[function_component(RpcPanel)]
pub fn rpc_panel() -> Html {
    let workbench = use_context::<Workbench>();
    let region = super::use_region_name("RPC call");
    let live = use_context::<LiveHandles>().unwrap_or_default();
    let draft = use_draft(|| CallDraft {
        exchange: String::new(),
        routing_key: "rpc_queue".to_owned(),
        body: "30".to_owned(),
        timeout: "5000".to_owned(),
    });
    let outcomes = use_state(Vec::<CallOutcome>::new);
    let waiting = use_state(|| false);
    let Some(workbench) = workbench else { return html! {} };
    let timeout_error = whole_number(&draft.get().timeout, 1, 600_000, "timeout").err();
    let on_call = {
        let (draft, outcomes, waiting, live) = (draft.clone(), outcomes.clone(), waiting.clone(), live.clone());
        let settings = workbench.main.settings.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let d = draft.get();
            let Ok(ms) = whole_number(&d.timeout, 1, 600_000, "timeout") else { return };
            if *waiting {
                return;
            }
            let (outcomes, waiting, live) = (outcomes.clone(), waiting.clone(), live.clone());
            waiting.set(true);
            let settings = settings.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let timeout = Duration::from_millis(ms);
                // A space is the default exchange, as in the producer.
                let outcome = call(&live, settings.as_ref(), d.exchange.trim(), &d.routing_key, &d.body, timeout).await;
                let mut list = (*outcomes).clone();
                list.insert(0, outcome);
                list.truncate(10);
                outcomes.set(list);
                waiting.set(false);
            });
        })
    };
    let set = |change: fn(&mut CallDraft, String)| draft.setter(change);
    let can_call = workbench.main.running && timeout_error.is_none();
    let d = draft.get();
    html! {
        <section class="card rpc-panel" aria-label={region}>
            <h2>{ "RPC call" }</h2>
            <form class="grid" onsubmit={on_call}>
                <TextField label="Exchange (empty: the default)" name="rpc-exchange" value={d.exchange.clone()} oninput={set(|d, v| d.exchange = v)} />
                <TextField label="Routing key (the server's queue)" name="rpc-routing-key" value={d.routing_key.clone()} oninput={set(|d, v| d.routing_key = v)} required=true />
                <TextField label="Body" name="rpc-body" value={d.body.clone()} oninput={set(|d, v| d.body = v)} />
                <TextField label="Timeout (ms)" name="rpc-timeout" value={d.timeout.clone()} oninput={set(|d, v| d.timeout = v)}
                    inputmode="numeric" error={timeout_error} />
                // aria-disabled while waiting: a disabled button would lose the keyboard focus.
                <button type="submit" disabled={!can_call} aria-disabled={(*waiting).then_some("true")}>{ if *waiting { "Waiting for the reply…" } else { "Call" } }</button>
            </form>
            <ul class="calls" aria-live="polite" data-testid="rpc-outcomes">
                { for outcomes.iter().map(|o| html! {
                    <li class={if o.ok { "good" } else { "bad" }}>{ o.words.clone() }</li>
                }) }
            </ul>
        </section>
    }
}
