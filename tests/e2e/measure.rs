//! What the page costs and how accessible it is: the browser's long-task timing
//! while a card drains a queue, and axe-core's verdict on each view.

use std::time::{Duration, Instant};

use fantoccini::Client;

use super::broker;
use super::page::{choose, click, open_connected, run, type_into, wait_text_for};

/// How many messages the drained queue holds.
const FLOOD: u32 = 10_000;

/// Starts recording the main thread's long tasks (over 50 ms, the browser's own
/// threshold) from now on, and the longest time between two frames drawn.
pub async fn record_long_tasks(client: &Client) {
    run(
        client,
        "window.burrowLongTasks = [];
         new PerformanceObserver(list => {
             for (const entry of list.getEntries()) window.burrowLongTasks.push(entry.duration);
         }).observe({ type: 'longtask' });
         window.burrowFrames = { last: performance.now(), worst: 0 };
         const frame = now => {
             const frames = window.burrowFrames;
             frames.worst = Math.max(frames.worst, now - frames.last);
             frames.last = now;
             requestAnimationFrame(frame);
         };
         requestAnimationFrame(frame);
         return true;",
    )
    .await;
}

/// The longest time between two frames since [`record_long_tasks`] (ms).
pub async fn longest_frame_gap(client: &Client) -> f64 {
    run(client, "return window.burrowFrames ? window.burrowFrames.worst : 0").await.as_f64().unwrap_or(0.0)
}

/// The long tasks recorded since [`record_long_tasks`]: (longest, how many, their
/// total), in ms; prints when each began (ms after recording started).
pub async fn long_tasks(client: &Client) -> (f64, usize, f64) {
    let tasks = run(client, "return window.burrowLongTasks || []").await;
    let tasks: Vec<(f64, f64)> = tasks
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| Some((t.get(0)?.as_f64()?, t.get(1)?.as_f64()?)))
        .collect();
    for (duration, start) in &tasks {
        println!("  a long task of {duration:.0} ms, {start:.0} ms after the click");
    }
    let longest = tasks.iter().map(|t| t.0).fold(0.0, f64::max);
    (longest, tasks.len(), tasks.iter().map(|t| t.0).sum())
}

/// 10,000 messages wait in a queue; an auto-ack consumer card (prefetch 0, the
/// fastest flood) drains it. Prints the longest main-thread task meanwhile, and
/// returns it (ms).
pub async fn long_tasks_while_a_card_drains(client: &Client) -> f64 {
    let queue = super::page::fresh("e2e-flood");
    broker::fill_queue(&queue, FLOOD, "flood").await;
    open_connected(client).await;
    type_into(client, "section[aria-label='Consumers'] input[name='consume-queue']", &queue).await;
    choose(client, "section[aria-label='Consumers'] select[name='ack']", "auto").await;
    type_into(client, "section[aria-label='Consumers'] input[name='prefetch']", "0").await;
    // From the click on: what the typing cost is not the flood's.
    record_long_tasks(client).await;
    let started = Instant::now();
    click(client, "section[aria-label='Consumers'] button[type='submit']").await;
    let total = format!("received {FLOOD},");
    wait_text_for(client, "[data-testid='consumer-1'] [data-testid='consumer-counts']", "the flood arrives", Duration::from_secs(300), |t| {
        t.contains(&total)
    })
    .await;
    let drained = started.elapsed();
    // A long task is reported when it ends: give the last one a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (longest, count, sum) = long_tasks(client).await;
    let gap = longest_frame_gap(client).await;
    println!(
        "long tasks while {FLOOD} messages arrive in a card: longest {longest:.0} ms, {count} over 50 ms ({sum:.0} ms in all); \
         longest time between two frames {gap:.0} ms; drained in {:.1} s",
        drained.as_secs_f64()
    );
    broker::delete_queue(&queue);
    assert!(longest < 100.0, "a main-thread task of {longest:.0} ms while the card drained (100 ms at most)");
    longest
}

/// Runs axe-core (`bench/node_modules/axe-core`, pinned in bench/package-lock.json)
/// on the page as it is now and fails on any serious or critical violation;
/// prints every violation found.
pub async fn axe(client: &Client, what: &str) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/node_modules/axe-core/axe.min.js");
    let source = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e} (run `cd bench && npm ci`)"));
    client.execute(&source, vec![]).await.expect("axe-core loads into the page");
    let script = r#"
        const done = arguments[arguments.length - 1];
        axe.run(document, { resultTypes: ['violations'] })
            .then(result => done(result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
            }))))
            .catch(error => done([{ id: 'axe-error', impact: 'critical', help: String(error), targets: [] }]));"#;
    let violations = client.execute_async(script, vec![]).await.expect("axe.run");
    let violations = violations.as_array().cloned().unwrap_or_default();
    let mut grave = Vec::new();
    for violation in &violations {
        let impact = violation["impact"].as_str().unwrap_or("unknown");
        println!("axe on {what}: {impact} {} ({}): {}", violation["id"], violation["help"], violation["targets"]);
        if matches!(impact, "serious" | "critical") {
            grave.push(violation["id"].to_string());
        }
    }
    println!("axe on {what}: {} violations, {} serious or critical", violations.len(), grave.len());
    assert!(grave.is_empty(), "axe-core finds serious or critical violations on {what}: {grave:?}");
}
