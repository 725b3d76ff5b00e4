//! The tutorial's lesson 3 as a newcomer follows it: tabs by keyboard, buttons
//! enabled only when they make sense, the progress in the lesson's own panel
//! with the cards' names, and a reset that leaves no queue behind.

use std::time::{Duration, Instant};

use fantoccini::key::Key;
use fantoccini::Client;

use super::broker;
use super::page::*;

pub const GUIDE: &str = "section[aria-label='Guided tutorial']";

/// The lesson's step button `n` (from 0).
pub fn step(n: usize) -> String {
    format!("{GUIDE} [data-testid='lesson-step-{n}']")
}

/// The text of step button `n`, once it is enabled.
pub async fn enabled_step(client: &Client, n: usize) -> String {
    let css = step(n);
    let start = Instant::now();
    while !enabled(client, &css).await {
        assert!(start.elapsed() < WAIT, "step {n} never became enabled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    element(client, &css).await.text().await.unwrap_or_default()
}

pub async fn progress(client: &Client, what: &str, ok: impl Fn(&str) -> bool) -> String {
    wait_text(client, &format!("{GUIDE} [data-testid='lesson-progress']"), what, ok).await
}

/// Lesson 3 (acknowledgements) step by step, then its reset.
pub async fn the_tutorial_shows_its_progress_and_resets(client: &Client) {
    broker::delete_queue("ack_demo");
    client.goto(&app_url("/")).await.expect("the app loads");
    // The tabs: arrow keys move the selection and the focus.
    click(client, &format!("{GUIDE} [role='tab']")).await;
    for _ in 0..2 {
        client.active_element().await.expect("focus").send_keys(&Key::Right.to_string()).await.expect("an arrow key");
    }
    let selected = element(client, &format!("{GUIDE} [role='tab'][aria-selected='true']")).await.text().await.unwrap_or_default();
    assert_eq!(selected, "2. Acknowledgements");
    let focused = client.active_element().await.expect("focus").text().await.unwrap_or_default();
    assert_eq!(focused, "2. Acknowledgements", "the focus follows the selection");
    // Before connecting nothing can be done.
    assert!(!enabled(client, &step(0)).await && !enabled(client, &step(4)).await);
    let (login, passcode) = broker::setup_user();
    type_into(client, "section[aria-label='Connection'] input[name='login']", &login).await;
    type_into(client, "section[aria-label='Connection'] input[name='passcode']", &passcode).await;
    click(client, "section[aria-label='Connection'] button[type='submit']").await;
    enabled_step(client, 0).await;
    assert!(!enabled(client, &step(1)).await, "no consumer before the queue is declared");
    assert!(!enabled(client, &step(4)).await, "no crash before a consumer exists");
    click(client, &step(0)).await;
    progress(client, "declared", |t| t.contains("“ack_demo” declared")).await;
    assert_eq!(enabled_step(client, 1).await, "Add a consumer (manual ack, prefetch 1)");
    click(client, &step(1)).await;
    progress(client, "consumer 1 consuming", |t| t.contains("Consumer 1: consuming")).await;
    assert_eq!(element(client, &step(1)).await.text().await.unwrap_or_default(), "Consumer 1 added");
    // Regression (QA): the step's button disabled itself, and the keyboard focus fell to the page.
    assert!(!enabled(client, &step(1)).await, "one consumer 1 only");
    focus_on(client, &step(1)).await.expect("the focus stays on the button clicked");
    assert!(!enabled(client, &step(4)).await, "Consumer 1 holds nothing yet");
    click(client, &step(2)).await;
    progress(client, "published and held", |t| t.contains("Published 1: confirmed 1") && t.contains("holds 1 unacked")).await;
    click(client, &step(3)).await;
    progress(client, "consumer 2", |t| t.contains("Consumer 2: consuming")).await;
    assert_eq!(enabled_step(client, 4).await, "Crash Consumer 1");
    click(client, &step(4)).await;
    let after = progress(client, "the redelivery", |t| t.contains("Consumer 1 crashed") && t.contains("redelivered 1")).await;
    assert!(after.contains("Consumer 2: consuming; received 1, redelivered 1"), "{after}");
    consumer_text(client, 2, "the card agrees", |t| t.contains("redelivered")).await;
    super::measure::axe(client, "the tutorial (lesson 3 under way)").await;
    click(client, &format!("{GUIDE} [data-testid='lesson-reset']")).await;
    let reset = progress(client, "the reset", |t| t.contains("Reset:")).await;
    assert!(reset.contains("removed Consumer 1 and Consumer 2") && reset.contains("deleted queue ack_demo"), "{reset}");
    assert!(!exists(client, "[data-testid='consumer-1']").await && !exists(client, "[data-testid='consumer-2']").await);
    assert!(broker::queue("ack_demo").is_none(), "the reset leaves no queue behind");
    focus_on(client, &format!("{GUIDE} [data-testid='lesson-reset']")).await.expect("the focus stays on the reset button");
    assert!(!enabled(client, &step(1)).await, "after the reset the queue must be declared again");
}
