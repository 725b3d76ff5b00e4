//! Streams in the workbench: the figures read a declared stream only once its
//! declare is answered; a consumer without a start is refused in words;
//! "Replay from" starts on the card's first offset; a replay shows under a divider.

use fantoccini::Client;

use super::broker;
use super::page::*;

/// Declares a stream in the form, publishes four events, and reads it.
pub async fn a_stream_consumer_needs_a_start_and_replays_under_a_divider(client: &Client) {
    open_connected(client).await;
    let stream = fresh("e2e-stream");
    type_into(client, "section[aria-label='Queue'] input[name='queue']", &stream).await;
    choose(client, "section[aria-label='Queue'] select[name='queue-type']", "stream").await;
    // Every text the figures panel shows from the click on: it reads the queue
    // only once the declare is answered (RabbitMQ 3.10.8 answered a read in the
    // middle of a stream's declare with HTTP 500, and one before it "(yet)").
    run(client, FIGURES_SEEN).await;
    click(client, "section[aria-label='Queue'] button[type='submit']").await;
    wait_text(client, "[data-testid='declare-result']", "declared", |t| t.contains("a stream")).await;
    let kind = "[data-testid='queue-figures'] [data-testid='queue-type']";
    wait_text(client, kind, "the stream's figures", |t| t == "stream").await;
    let seen = run(client, "return window.figuresSeen.join('\\n---\\n');").await;
    let seen = seen.as_str().unwrap_or_default();
    let early = seen.contains("(yet)") || seen.contains("management API");
    assert!(!early, "the figures showed, while declaring:\n{seen}");
    for n in 0..4 {
        broker::api("POST", "/exchanges/%2F/amq.default/publish", Some(&serde_json::json!({
            "properties": {}, "routing_key": stream, "payload": format!("event {n}"), "payload_encoding": "string"
        })));
    }
    // No start chosen: refused in words, no card.
    type_into(client, "section[aria-label='Consumers'] input[name='prefetch']", "10").await;
    click(client, "section[aria-label='Consumers'] button[type='submit']").await;
    let refusal = wait_text(client, "[data-testid='consumer-problem']", "the refusal", |t| !t.is_empty()).await;
    assert!(refusal.contains("is a stream") && refusal.contains("where to read from"), "{refusal}");
    assert!(!exists(client, "[data-testid='consumer-1']").await, "no consumer without a start");
    // From offset 2: the card's first offset is 2, and a replay starts there.
    choose(client, "section[aria-label='Consumers'] select[name='offset']", "offset").await;
    type_into(client, "section[aria-label='Consumers'] input[name='offset-value']", "2").await;
    click(client, "section[aria-label='Consumers'] button[type='submit']").await;
    consumer_text(client, 1, "offsets 2 and 3", |t| t.contains("offset 3") && t.contains("received 2,")).await;
    let first = value_of(client, "[data-testid='consumer-1'] input[name='replay-value']").await;
    assert_eq!(first, "2", "Replay from starts on the card's first offset");
    assert_eq!(value_of(client, "[data-testid='consumer-1'] select[name='replay-from']").await, "offset");
    click(client, "button[aria-label='Replay Consumer 1']").await;
    let card = consumer_text(client, 1, "the replay", |t| t.contains("received 4,")).await;
    let divider = card.find("replayed from offset=2").unwrap_or_else(|| panic!("a divider: {card}"));
    // Newest first: the replayed copies above the divider, the first reading below it.
    let (above, below) = card.split_at(divider);
    assert_eq!((above.matches("offset 2").count(), below.matches("offset 2").count()), (1, 1), "{card}");
    broker::delete_queue(&stream);
}

/// Records in `window.figuresSeen` each text the figures panel shows from now on.
const FIGURES_SEEN: &str = "
    window.figuresSeen = [];
    const panel = () => document.querySelector(\"[data-testid='queue-figures']\");
    new MutationObserver(() => {
        const text = panel() ? panel().innerText : '';
        if (window.figuresSeen[window.figuresSeen.length - 1] !== text) window.figuresSeen.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
";
