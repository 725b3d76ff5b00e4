//! Publishing as a RabbitMQ user expects: a message that routes nowhere is
//! said so, every property and header arrives, copies are numbered only as
//! asked, forms keep what was typed, numbers are checked in words, long names wrap.

use fantoccini::Client;

use super::broker;
use super::page::*;

/// The producer's outcome badges, newest first.
async fn outcomes(client: &Client) -> String {
    wait_text(client, "section[aria-label='Producer'] ol.log", "the log", |t| !t.is_empty()).await
}

/// A queue name of spaces, or with a space at an end, is refused in words by
/// the declare form. A name with `%2F` (RabbitMQ's STOMP adapter reads it as
/// `/`) is refused in words in the declare form and the producer, and nothing
/// reaches the broker: the queue used to be made as `…/…` and the publish said
/// "routed nowhere".
pub async fn a_name_with_percent_2f_is_refused_in_words(client: &Client) {
    open_connected(client).await;
    // A name of spaces, or with a space at an end, is refused in words: RabbitMQ
    // would make queue “   ”, or “ x ” beside “x” (both were made).
    broker::delete_queue("   ");
    let padded = format!(" {} ", fresh("e2e-padded"));
    for name in ["   ", padded.as_str()] {
        let refused = declare(client, name, false).await;
        // WebDriver's text collapses the spaces: the name's words are enough.
        assert!(refused.contains("space") && refused.contains(name.trim()), "{refused}");
        assert!(broker::queue(name).is_none(), "no queue “{name}” was made");
    }
    let queue = fresh("e2e-%2Fenc");
    let declared = declare(client, &queue, false).await;
    assert!(declared.contains("%2F") && declared.contains("'/'"), "{declared}");
    publish(client, &queue, "to the wrong queue", 1).await;
    let log = outcomes(client).await;
    assert!(log.contains("%2F"), "{log}");
    let slashed = queue.replace("%2F", "/");
    assert!(broker::queue(&slashed).is_none(), "no queue “{slashed}” was made");
}

/// A publish to a queue that does not exist, or to an exchange no binding of
/// which takes the key, is shown as routed nowhere (RabbitMQ confirms and drops
/// it); one to no queue at all is refused; one that a binding takes is confirmed.
pub async fn a_publish_that_routes_nowhere_says_so(client: &Client) {
    open_connected(client).await;
    let missing = fresh("e2e-missing");
    publish(client, &missing, "into the void", 1).await;
    let counts = wait_text(client, "[data-testid='publish-counts']", "routed nowhere", |t| t.contains("routed nowhere 1")).await;
    assert!(counts.contains("confirmed 0"), "never called confirmed: {counts}");
    let log = outcomes(client).await;
    assert!(log.contains(&format!("routed nowhere: no queue '{missing}'")), "{log}");
    // No queue at all: refused in words at once (it stayed pending for ever,
    // then "RabbitMQ is holding publishes back", on Web-STOMP's "Invalid destination").
    publish(client, "", "to no queue", 1).await;
    let refused = wait_text(client, "section[aria-label='Producer'] ol.log li:first-child", "the refusal", |t| t.contains("failed")).await;
    assert!(refused.contains("needs a routing key"), "{refused}");
    // A topic exchange: nothing bound for the key, then a binding that matches.
    // An exchange of its own: a binding another test (or a person) left on
    // amq.topic with "#" would take every key.
    let queue = fresh("e2e-topic");
    let exchange = fresh("e2e-topic-x");
    let (status, _) = broker::api("PUT", &format!("/exchanges/%2F/{exchange}"), Some(&serde_json::json!({ "type": "topic" })));
    assert!((200..300).contains(&status), "declared: HTTP {status}");
    broker::fill_queue(&queue, 0, "").await;
    type_into(client, "section[aria-label='Producer'] input[name='exchange']", &exchange).await;
    type_into(client, "section[aria-label='Producer'] input[name='routing-key']", &format!("{queue}.orange.fox")).await;
    click(client, "section[aria-label='Producer'] button[type='submit']").await;
    wait_text(client, "[data-testid='publish-counts']", "the second nowhere", |t| t.contains("routed nowhere 2")).await;
    assert!(outcomes(client).await.contains(&format!("no binding of the topic exchange '{exchange}'")), "{}", outcomes(client).await);
    let binding = serde_json::json!({ "routing_key": format!("{queue}.*.fox") });
    let (status, _) = broker::api("POST", &format!("/bindings/%2F/e/{exchange}/q/{queue}"), Some(&binding));
    assert!((200..300).contains(&status), "bound: HTTP {status}");
    // A check is fresh for 5 s: a new destination is checked at once.
    type_into(client, "section[aria-label='Producer'] input[name='routing-key']", &format!("{queue}.green.fox")).await;
    click(client, "section[aria-label='Producer'] button[type='submit']").await;
    wait_text(client, "[data-testid='publish-counts']", "confirmed", |t| t.contains("confirmed 1")).await;
    let ready = broker::queue(&queue).and_then(|q| q["messages_ready"].as_u64());
    assert!(ready.is_none_or(|r| r <= 1), "{ready:?}");
    broker::delete_queue(&queue);
    broker::api("DELETE", &format!("/exchanges/%2F/{exchange}"), None);
}

/// Every property and header row arrives; "How many" numbers copies in a header
/// by default (the JSON body unchanged), in the body only when asked.
pub async fn every_property_and_header_arrives(client: &Client) {
    open_connected(client).await;
    let queue = fresh("e2e-props");
    declare(client, &queue, false).await;
    add_consumer(client, &queue, true, 0).await;
    let status = consumer_text(client, 1, "subscribed", |t| t.contains("consuming")).await;
    // Prefetch 0 was typed ("0 = unlimited"): the card says why it shows 256
    // (regression, QA: it said "prefetch 256" as if that had been asked).
    assert!(status.contains("prefetch 256: Burrow's auto-ack window, not the form's prefetch (unlimited), which is for manual ack"), "{status}");
    click(client, "section[aria-label='Producer'] details.properties summary").await;
    let fields = [
        ("content-type", "application/json"),
        ("content-encoding", "identity"),
        ("priority", "4"),
        ("expiration", "600000"),
        ("correlation-id", "corr-9"),
        ("reply-to", "replies"),
        ("message-id", "m-77"),
        ("type", "order.created"),
        ("app-id", "e2e"),
    ];
    for (name, value) in fields {
        type_into(client, &format!("section[aria-label='Producer'] input[name='{name}']"), value).await;
    }
    for (row, (name, value)) in [("tenant", "acme"), ("trace", "t-42")].into_iter().enumerate() {
        click(client, "section[aria-label='Producer'] fieldset.headers-rows > button").await;
        let nth = row + 1;
        type_into(client, &format!(".header-row:nth-of-type({nth}) input[name='header-name']"), name).await;
        type_into(client, &format!(".header-row:nth-of-type({nth}) input[name='header-value']"), value).await;
    }
    // A name RabbitMQ or STOMP keeps for itself is refused where it is typed, not
    // only once Publish fails (QA: "x-水").
    click(client, "section[aria-label='Producer'] fieldset.headers-rows > button").await;
    type_into(client, ".header-row:nth-of-type(3) input[name='header-name']", "x-水").await;
    let said = wait_text(client, ".header-row:nth-of-type(3) .field-error", "said where typed", |t| t.contains("x-水")).await;
    assert!(said.contains("cannot be used"), "{said}");
    click(client, "button[aria-label='Remove header 3']").await;
    let note = element(client, "section[aria-label='Producer'] input[name='count'] ~ .note").await.text().await.unwrap_or_default();
    assert!(note.contains("header") && note.contains("burrow-copy"), "said next to the field: {note}");
    publish(client, &queue, "{\"order\": 42}", 3).await;
    let card = consumer_text(client, 1, "three copies", |t| t.contains("received 3,")).await;
    assert_eq!(card.matches("{\"order\": 42}").count(), 3, "the body unchanged: {card}");
    for copy in ["#1/3", "#2/3", "#3/3"] {
        assert!(card.contains(copy), "{copy} shown: {card}");
    }
    click(client, "[data-testid='consumer-1'] li.delivery details summary").await;
    // Details are drawn when opened.
    let details = wait_text(client, "[data-testid='consumer-1'] li.delivery details", "the details", |t| t.contains("routing key")).await;
    for (_, value) in fields {
        assert!(details.contains(value), "{value} arrived: {details}");
    }
    for expected in ["header tenant", "acme", "header trace", "t-42", "routing key"] {
        assert!(details.contains(expected), "{expected} arrived: {details}");
    }
    // As sent, and as a peek and pika show it, not as Web-STOMP writes it (QA).
    assert!(!details.contains("/reply-queue/"), "reply_to as sent: {details}");
    // Numbered in the body only when asked.
    choose(client, "section[aria-label='Producer'] select[name='numbering']", "body").await;
    publish(client, &queue, "task", 2).await;
    let card = consumer_text(client, 1, "numbered bodies", |t| t.contains("received 5,")).await;
    assert!(card.contains("task #1") && card.contains("task #2"), "{card}");
    // A user_id that is not the login: RabbitMQ 3.10.8 closes without words, and
    // the refusal names the user_id (it used to blame only the queue and the
    // permissions, both fine).
    type_into(client, "section[aria-label='Producer'] input[name='user-id']", "someone-else").await;
    publish(client, &queue, "as someone else", 1).await;
    let refused = wait_text(client, "section[aria-label='Producer'] ol.log li:first-child", "the refusal", |t| t.contains("failed")).await;
    assert!(refused.contains("user_id 'someone-else'"), "{refused}");
    broker::delete_queue(&queue);
}

/// The consumer form keeps queue and prefetch across adds; a prefetch that is
/// not a whole number from 0 to 65535 is refused where it is typed, in words.
pub async fn forms_keep_what_was_typed_and_check_numbers(client: &Client) {
    open_connected(client).await;
    let queue = fresh("e2e-orders");
    broker::fill_queue(&queue, 0, "").await;
    add_consumer(client, &queue, false, 7).await;
    click(client, "section[aria-label='Consumers'] button[type='submit']").await;
    for number in [1, 2] {
        let card = consumer_text(client, number, "prefetch 7", |t| t.contains("consuming")).await;
        assert!(card.contains(&format!("“{queue}”")) && card.contains("prefetch 7"), "consumer {number}: {card}");
    }
    for bad in ["abc", "1e3", "70000", "-1"] {
        type_into(client, "section[aria-label='Consumers'] input[name='prefetch']", bad).await;
        let error = wait_text(client, "section[aria-label='Consumers'] .field-error", "the refusal", |t| !t.is_empty()).await;
        assert_eq!(error, "prefetch must be a whole number from 0 to 65535", "for {bad:?}");
        click(client, "section[aria-label='Consumers'] button[type='submit']").await;
    }
    let problem = wait_text(client, "[data-testid='consumer-problem']", "refused", |t| !t.is_empty()).await;
    assert!(problem.contains("prefetch must be a whole number"), "{problem}");
    assert!(!exists(client, "[data-testid='consumer-3']").await, "no consumer added with a bad prefetch");
    type_into(client, "section[aria-label='Producer'] input[name='count']", "0").await;
    let error = wait_text(client, "section[aria-label='Producer'] .field-error", "count refused", |t| !t.is_empty()).await;
    assert_eq!(error, "how many must be a whole number from 1 to 10000");
    type_into(client, "section[aria-label='Producer'] input[name='count']", "1").await;
    // A header name given twice: a message carries one value per name (the
    // second row's never arrived), so the second is refused where it is typed.
    click(client, "section[aria-label='Producer'] details.properties summary").await;
    for (nth, value) in [(1, "one"), (2, "two")] {
        click(client, "section[aria-label='Producer'] fieldset.headers-rows > button").await;
        type_into(client, &format!(".header-row:nth-of-type({nth}) input[name='header-name']"), "tenant").await;
        type_into(client, &format!(".header-row:nth-of-type({nth}) input[name='header-value']"), value).await;
    }
    let error = wait_text(client, ".header-row:nth-of-type(2) .field-error", "the repeated name refused", |t| !t.is_empty()).await;
    assert!(error.contains("“tenant”") && error.contains("header 1"), "{error}");
    assert!(!exists(client, ".header-row:nth-of-type(1) .field-error").await, "the first row stands");
    click(client, "section[aria-label='Producer'] button[type='submit']").await;
    let problem = wait_text(client, "section[aria-label='Producer'] p.outcome.bad", "the publish refused", |t| !t.is_empty()).await;
    assert_eq!(problem, error);
    let counts = wait_text(client, "[data-testid='publish-counts']", "the counts", |t| !t.is_empty()).await;
    assert!(counts.starts_with("published 0,"), "nothing was sent: {counts}");
    broker::delete_queue(&queue);
}

/// The innermost elements that reach past the window's right edge, described.
const WIDER_THAN_THE_WINDOW: &str = "return [...document.querySelectorAll('body *')]\
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)\
    .filter((e) => ![...e.children].some((c) => c.getBoundingClientRect().right > window.innerWidth + 1))\
    .slice(0, 5)\
    .map((e) => `<${e.tagName.toLowerCase()} class='${e.className}'> ${Math.round(e.getBoundingClientRect().right)} px: ${e.textContent.slice(0, 80)}`)\
    .join(' | ')";

/// A 300-byte name in an error wraps: the page never gets wider than the window.
pub async fn long_names_wrap(client: &Client) {
    open_connected(client).await;
    let long = "q".repeat(300);
    publish(client, &long, "never sent", 1).await;
    wait_text(client, "section[aria-label='Producer'] ol.log", "the refusal", |t| t.contains("255 bytes")).await;
    type_into(client, "section[aria-label='Consumers'] input[name='consume-queue']", &long).await;
    click(client, "section[aria-label='Consumers'] button[type='submit']").await;
    consumer_text(client, 1, "the consumer's refusal", |t| t.contains("255") || t.contains("NOT_FOUND") || t.contains("refused")).await;
    let widths = run(client, "return [document.documentElement.scrollWidth, window.innerWidth]").await;
    let (page, window) = (widths[0].as_u64().unwrap_or(u64::MAX), widths[1].as_u64().unwrap_or(0));
    if page > window {
        // Name what is too wide: the innermost elements whose right edge is past the window.
        let wide = run(client, WIDER_THAN_THE_WINDOW).await;
        panic!("the page is {page} px wide in a {window} px window: {wide}");
    }
}
