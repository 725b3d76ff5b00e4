//! A look at what is in a queue without a consumer card: the management API's
//! "Get messages" for classic and quorum queues (the messages go back, marked
//! redelivered), and for a stream a short read from an offset (nothing is taken).

use std::rc::Rc;

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::management::PeekedMessage;
use crate::rabbit::StreamOffset;
use crate::reliable::{ConsumeOptions, ReliableConnection};

use super::fields::{on_change, whole_number, TextField};
use super::live::LiveHandles;
use super::properties::property_rows;
use super::queue_tools::messages;
use super::state::{management_failure, Workbench};

/// The most messages one peek shows.
const PEEK_MAX: u64 = 100;
/// How long a stream read waits for its first message, then for each next (ms).
const STREAM_FIRST_WAIT_MS: u32 = 3_000;
const STREAM_NEXT_WAIT_MS: u32 = 500;

/// A message as a peek shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peeked {
    /// Its stream offset (a stream's messages).
    pub offset: Option<u64>,
    /// The body as text (base64 when it is not UTF-8).
    pub body: String,
    /// The body is base64.
    pub base64: bool,
    /// Its size in bytes.
    pub size: u64,
    /// Marked redelivered when it was taken.
    pub redelivered: bool,
    /// Exchange, routing key, properties and headers.
    pub details: Vec<(String, String)>,
}

impl From<PeekedMessage> for Peeked {
    fn from(message: PeekedMessage) -> Self {
        let exchange = if message.exchange.is_empty() { "(default)".to_owned() } else { message.exchange };
        let mut details = vec![("exchange".to_owned(), exchange), ("routing key".to_owned(), message.routing_key)];
        details.extend(message.properties);
        // Web-STOMP copies a SEND's `receipt` and `content-length` into the message:
        // STOMP's, not the publisher's, hidden as a consumer card hides them.
        let published = message.headers.into_iter().filter(|(k, _)| k != "receipt" && k != "content-length");
        details.extend(published.map(|(k, v)| (format!("header {k}"), v)));
        Peeked { offset: None, body: message.body, base64: message.base64, size: message.size, redelivered: message.redelivered, details }
    }
}

/// What a peek found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    /// Messages of a classic or quorum queue, put back.
    Returned(Vec<Peeked>),
    /// A stream's messages from an offset.
    Read(Vec<Peeked>),
    /// Why it could not look, in words.
    Failed(String),
}

/// Props of [`PeekPanel`].
#[derive(Properties, PartialEq)]
pub struct PeekPanelProps {
    /// The queue.
    pub queue: String,
    /// It is a stream.
    pub stream: bool,
    /// Closes the panel.
    pub on_close: Callback<()>,
    /// A peek changed the queue's figures (redelivered marks): read the list again.
    pub on_changed: Callback<()>,
}

/// How many to look at, (for a stream) from where, and what was found.
#[function_component(PeekPanel)]
pub fn peek_panel(props: &PeekPanelProps) -> Html {
    let workbench = use_context::<Workbench>();
    let region = super::use_region_name(&format!("Peek into {}", props.queue));
    let live = use_context::<LiveHandles>().unwrap_or_default();
    let count = use_state(|| "5".to_owned());
    let from = use_state(|| "first".to_owned());
    let found = use_state(|| None::<Found>);
    let busy = use_state(|| false);
    let Some(workbench) = workbench else { return html! {} };
    let error = whole_number(&count, 1, PEEK_MAX, "how many").err();
    let on_peek = {
        let (queue, stream, count, from) = (props.queue.clone(), props.stream, count.clone(), from.clone());
        let (found, busy, changed) = (found.clone(), busy.clone(), props.on_changed.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let Ok(n) = whole_number(&count, 1, PEEK_MAX, "how many") else { return };
            if *busy {
                return;
            }
            busy.set(true);
            let request = PeekRequest { queue: queue.clone(), count: n, stream, from: (*from).clone() };
            let (workbench, live, found, busy, changed) = (workbench.clone(), live.clone(), found.clone(), busy.clone(), changed.clone());
            spawn_local(async move {
                found.set(Some(request.run(&workbench, &live).await));
                busy.set(false);
                changed.emit(());
            });
        })
    };
    let close = props.on_close.clone();
    let set_count = { let count = count.clone(); Callback::from(move |v: String| count.set(v)) };
    let set_from = { let from = from.clone(); on_change(move |v| from.set(v)) };
    html! {
        <div class="peek" role="region" aria-label={region} data-testid="peek">
            <h3>{ format!("Peek into “{}”", props.queue) }</h3>
            <form class="grid" onsubmit={on_peek}>
                <TextField label="How many" name="peek-count" value={(*count).clone()} oninput={set_count} inputmode="numeric" error={error.clone()} />
                if props.stream {
                    <label>{ "Read from" }
                        <select name="peek-from" onchange={set_from}>
                            { for ["first", "last", "next"].into_iter().map(|v| html! { <option value={v} selected={*from == v}>{ v }</option> }) }
                        </select>
                    </label>
                }
                // aria-disabled while busy: a disabled button would lose the keyboard focus.
                <button key="peek" type="submit" disabled={error.is_some()} aria-disabled={(*busy).then_some("true")}>{ if props.stream { "Read" } else { "Get messages" } }</button>
                <button key="close" type="button" class="secondary" onclick={Callback::from(move |_| close.emit(()))}>{ "Close" }</button>
            </form>
            { found_view(&props.queue, found.as_ref()) }
        </div>
    }
}

/// What was found, with what happened to it.
fn found_view(queue: &str, found: Option<&Found>) -> Html {
    let (note, list) = match found {
        None => return html! {},
        Some(Found::Failed(words)) => return html! { <p class="outcome bad" role="alert">{ words.clone() }</p> },
        Some(Found::Returned(list)) if list.is_empty() => (format!("“{queue}” has no ready message."), list),
        // QA: "These 1 message went back".
        Some(Found::Returned(list)) if list.len() == 1 => (
            format!("This message went back to “{queue}”: RabbitMQ now marks it redelivered, so the next consumer sees it marked."),
            list,
        ),
        Some(Found::Returned(list)) => (
            format!(
                "These {} went back to “{queue}”: RabbitMQ now marks them redelivered, so the next consumer sees them marked.",
                messages(list.len() as u64)
            ),
            list,
        ),
        Some(Found::Read(list)) => (
            format!("Read {} from the stream; reading a stream takes nothing away.", messages(list.len() as u64)),
            list,
        ),
    };
    html! {
        <>
            <p class="outcome good" role="status" data-testid="peek-note">{ note }</p>
            <ol class="log peeked" aria-label={format!("Messages in {queue}")}>
                { for list.iter().enumerate().map(|(i, message)| peeked_item(i, message)) }
            </ol>
        </>
    }
}

fn peeked_item(index: usize, message: &Peeked) -> Html {
    html! {
        <li class="delivery" data-testid="peeked" key={index}>
            if let Some(offset) = message.offset { <span class="badge">{ format!("offset {offset}") }</span> }
            // Text nodes only: a body is never parsed as HTML.
            <span class="body">{ message.body.clone() }</span>
            if message.base64 { <span class="badge warn">{ "not UTF-8: base64" }</span> }
            <span class="badge">{ format!("{} bytes", message.size) }</span>
            if message.redelivered { <span class="badge warn">{ "was redelivered" }</span> }
            <dl class="headers">
                { for message.details.iter().map(|(k, v)| html! { <><dt>{ k.clone() }</dt><dd>{ v.clone() }</dd></> }) }
            </dl>
        </li>
    }
}

/// One peek.
struct PeekRequest {
    queue: String,
    count: u64,
    stream: bool,
    from: String,
}

impl PeekRequest {
    async fn run(self, workbench: &Workbench, live: &LiveHandles) -> Found {
        if self.stream {
            let offset = self.from.parse::<StreamOffset>().unwrap_or(StreamOffset::First);
            return match live.main() {
                Some(main) => read_stream(main, &self.queue, offset, self.count).await,
                None => Found::Failed("Connect first: a stream is read over the main connection.".to_owned()),
            };
        }
        let Some(settings) = workbench.main.settings.clone() else { return Found::Failed("Connect first.".to_owned()) };
        let Some(api) = settings.management() else { return Found::Failed("No management API for this URL.".to_owned()) };
        let count = u32::try_from(self.count).unwrap_or(1);
        match api.get_messages(settings.vhost(), &self.queue, count).await {
            Ok(Some(list)) => Found::Returned(list.into_iter().map(Peeked::from).collect()),
            Ok(None) => Found::Failed(format!("No queue “{}” any more.", self.queue)),
            Err(error) => Found::Failed(management_failure(&error)),
        }
    }
}

/// Reads up to `count` messages of a stream from `offset` with a short-lived
/// consumer on the main connection, acked (a stream keeps them) and cancelled.
async fn read_stream(main: Rc<ReliableConnection>, queue: &str, offset: StreamOffset, count: u64) -> Found {
    let prefetch = u16::try_from(count).unwrap_or(u16::MAX);
    let options = ConsumeOptions { auto_ack: false, prefetch, stream_offset: Some(offset), ..ConsumeOptions::default() };
    let mut consumer = match main.basic_consume(queue, options) {
        Ok(consumer) => consumer,
        Err(error) => return Found::Failed(error.to_string()),
    };
    drop(main);
    let mut read = Vec::new();
    let mut wait = STREAM_FIRST_WAIT_MS;
    while (read.len() as u64) < count {
        match select(consumer.next(), TimeoutFuture::new(wait)).await {
            Either::Left((Some(Ok(delivery)), _)) => {
                let _ = delivery.ack();
                let mut details = vec![("routing key".to_owned(), delivery.routing_key.clone())];
                details.extend(property_rows(&delivery.properties));
                read.push(Peeked {
                    offset: delivery.stream_offset,
                    body: delivery.body_text(),
                    base64: false,
                    size: delivery.body.len() as u64,
                    redelivered: delivery.redelivered,
                    details,
                });
                wait = STREAM_NEXT_WAIT_MS;
            }
            Either::Left((Some(Err(error)), _)) => return Found::Failed(error.to_string()),
            Either::Left((None, _)) | Either::Right(_) => break,
        }
    }
    Found::Read(read)
}
