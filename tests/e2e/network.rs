//! The app through a network drop, as a person on a train meets it: the page's
//! connections are cut silently (nothing passes, neither end hears a close)
//! while a consumer card reads and the producer publishes. The page finds out
//! by its heart-beats and reconnects; what was published into the cut is
//! confirmed once sent again, and the card receives every message once.

use std::time::{Duration, Instant};

use fantoccini::Client;

use super::broker::{self, connections_of, ensure_user, E2E_USER};
use super::disconnect::{connect_through, connections_until, E2E_PASSWORD};
use super::page::*;
use super::proxy::Proxy;

/// Long enough for heart-beats to notice a cut (the page at two intervals,
/// RabbitMQ at two or three) and for a reconnect.
const OUTAGE: Duration = Duration::from_secs(90);

/// The text of `css`, or nothing while it is not there.
async fn text_of(client: &Client, css: &str) -> String {
    match client.find(fantoccini::Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// A silent cut of the page's connections loses nothing: the main connection
/// and the consumer card reconnect, the five messages published into the cut
/// are confirmed once sent again, the card receives all ten exactly once, and
/// RabbitMQ is left with the two new connections and an empty queue.
pub async fn a_silent_network_drop_loses_nothing(client: &Client) {
    ensure_user(E2E_USER, E2E_PASSWORD, "administrator");
    let before = connections_of(E2E_USER);
    let proxy = Proxy::start().await;
    proxy.forward();
    connect_through(client, &proxy).await;
    let status = "[data-testid='connection-status']";
    wait_text(client, status, "connected through the proxy", |t| t.contains("Connected to")).await;
    let queue = fresh("e2e-drop");
    let declared = declare(client, &queue, false).await;
    assert!(declared.contains("declared"), "{declared}");
    add_consumer(client, &queue, true, 0).await;
    consumer_text(client, 1, "subscribed", |t| t.contains("consuming")).await;
    let cut = connections_until(&before, "the main connection and the card's", OUTAGE, |now| now.len() == 2).await;
    let counts = "[data-testid='consumer-1'] [data-testid='consumer-counts']";
    publish(client, &queue, "before the drop", 5).await;
    wait_text(client, counts, "five before the drop", |t| t.starts_with("received 5,")).await;
    // Every ack reached the broker: none comes back as a redelivery.
    broker::queue_figure_becomes(&queue, "messages", 0).await;
    proxy.cut_silently();
    let cut_at = Instant::now();
    publish(client, &queue, "into the cut", 5).await;
    let published = "[data-testid='publish-counts']";
    // The way back, as the page shows it (printed: how long the page took to
    // notice and to come back).
    let card_status = "[data-testid='consumer-1'] [data-testid='consumer-status']";
    let mut shown = String::new();
    loop {
        let (line, confirms) = (text_of(client, status).await, text_of(client, published).await);
        let now = format!("{} | {confirms} | {}", line.lines().next().unwrap_or_default(), text_of(client, card_status).await);
        if now != shown {
            println!("e2e: {:>5.1?} {now}", cut_at.elapsed());
            shown = now;
        }
        if confirms.contains("confirmed 10") {
            break;
        }
        assert!(cut_at.elapsed() < OUTAGE, "ten confirmed: {shown}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let confirmed_after = cut_at.elapsed();
    let card = wait_text_for(client, counts, "ten received", OUTAGE, |t| t.starts_with("received 10,")).await;
    let received_after = cut_at.elapsed();
    wait_text(client, status, "connected again", |t| t.contains("Connected to")).await;
    // RabbitMQ drops the cut connections by its own heart-beat check; the page's
    // two new ones stay (a leaked or doubled reconnect would show here).
    let now = connections_until(&before, "two new connections, the cut ones dropped", OUTAGE, |now| {
        now.len() == 2 && now.iter().all(|c| !cut.contains(c))
    })
    .await;
    assert_eq!(now.len(), 2, "{now:?}");
    let dropped_after = cut_at.elapsed();
    // All ten acked: the broker holds none, ready or unacked.
    broker::queue_figure_becomes(&queue, "messages", 0).await;
    // Nothing arrived twice: still ten, after the cut connections' unacked
    // deliveries came back and were delivered again.
    let card_now = wait_text(client, counts, "the card's counts", |t| !t.is_empty()).await;
    assert!(card_now.starts_with("received 10,"), "once each: {card_now} (at ten: {card})");
    println!(
        "e2e: the cut: ten confirmed after {confirmed_after:.1?}, received by {received_after:.1?}, the broker \
         dropped the cut connections by {dropped_after:.1?}; the card: {card_now}"
    );
    let deliveries = wait_text(client, "[data-testid='consumer-1']", "the card", |t| !t.is_empty()).await;
    assert_eq!(deliveries.matches("into the cut").count(), 5, "{deliveries}");
    click(client, "button[aria-label='Remove Consumer 1']").await;
    click(client, "section[aria-label='Connection'] button.secondary").await;
    broker::delete_queue(&queue);
}
