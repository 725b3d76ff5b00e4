//! What the page costs and how accessible it is: the browser's long-task timing
//! while a card drains a queue, and axe-core's verdict on each view.

use std::time::{Duration, Instant};

use fantoccini::Client;

use super::broker;
use super::page::{add_consumer, open_connected, run, wait_text_for};

/// How many messages the drained queue holds.
const FLOOD: u32 = 10_000;

/// Starts recording the main thread's long tasks (over 50 ms, the browser's own
/// threshold) from now on.
pub async fn record_long_tasks(client: &Client) {
    run(
        client,
        "window.burrowLongTasks = [];
         new PerformanceObserver(list => {
             for (const entry of list.getEntries()) window.burrowLongTasks.push(entry.duration);
         }).observe({ type: 'longtask' });
         return true;",
    )
    .await;
}

/// The long tasks recorded since [`record_long_tasks`]: (longest, how many, their total), in ms.
pub async fn long_tasks(client: &Client) -> (f64, usize, f64) {
    let tasks = run(client, "return window.burrowLongTasks || []").await;
    let tasks: Vec<f64> = tasks.as_array().into_iter().flatten().filter_map(|t| t.as_f64()).collect();
    let longest = tasks.iter().copied().fold(0.0, f64::max);
    (longest, tasks.len(), tasks.iter().sum())
}

/// 10,000 messages wait in a queue; an auto-ack consumer card (prefetch 0, the
/// fastest flood) drains it. Prints the longest main-thread task meanwhile, and
/// returns it (ms).
pub async fn long_tasks_while_a_card_drains(client: &Client) -> f64 {
    let queue = super::page::fresh("e2e-flood");
    broker::fill_queue(&queue, FLOOD, "flood").await;
    open_connected(client).await;
    record_long_tasks(client).await;
    let started = Instant::now();
    add_consumer(client, &queue, true, 0).await;
    let total = format!("received {FLOOD},");
    wait_text_for(client, "[data-testid='consumer-1'] [data-testid='consumer-counts']", "the flood arrives", Duration::from_secs(300), |t| {
        t.contains(&total)
    })
    .await;
    let drained = started.elapsed();
    // A long task is reported when it ends: give the last one a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (longest, count, sum) = long_tasks(client).await;
    println!(
        "long tasks while {FLOOD} messages arrive in a card: longest {longest:.0} ms, {count} over 50 ms ({sum:.0} ms in all), drained in {:.1} s",
        drained.as_secs_f64()
    );
    broker::delete_queue(&queue);
    longest
}
