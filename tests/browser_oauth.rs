//! Logging in with OAuth2 tokens that expire, in headless Chromium, against the
//! OAuth2 test node (`./burrow oauth start`: RabbitMQ 3.10.8 with
//! rabbitmq_auth_backend_oauth2 and a local HS256 key) and a token endpoint
//! (`python3 tests/support/mint_token.py --serve 8095`). `./burrow test` starts
//! both. The credentials provider fetches a fresh token before every CONNECT; the
//! core reconnects before each token expires (a planned reconnect).
#![cfg(target_arch = "wasm32")]

mod common;

use std::rc::Rc;
use std::time::Duration;

use burrow::client::{CloseReason, ConnectOptions, Credentials};
use burrow::rabbit::{BasicProperties, QueueOptions};
use burrow::reliable::{
    ConnectionEvent, ConsumeOptions, CredentialsProvider, ReliableConnection, ReliableOptions, StopReason,
};
use common::{fresh_name, within};
use futures_channel::mpsc::UnboundedReceiver;
use futures_util::StreamExt;
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The OAuth2 node's Web-STOMP.
const OAUTH_WS_URL: &str = match option_env!("BURROW_OAUTH_WS_URL") {
    Some(url) => url,
    None => "ws://127.0.0.1:15676/ws",
};

/// `mint_token.py --serve`'s endpoint.
const TOKEN_URL: &str = match option_env!("BURROW_TOKEN_URL") {
    Some(url) => url,
    None => "http://127.0.0.1:8095/token",
};

/// How long each token lives, in seconds.
const LIFETIME: u32 = 3;
const MESSAGES: usize = 5_000;

/// A fresh token from the endpoint, living `expires_in` seconds (negative: expired).
async fn fetch_token(expires_in: i32) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    let url = format!("{TOKEN_URL}?expires_in={expires_in}");
    let response = JsFuture::from(window.fetch_with_str(&url)).await.map_err(|e| format!("fetch {url}: {e:?}"))?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| "not a Response")?;
    let text = JsFuture::from(response.text().map_err(|e| format!("{e:?}"))?).await.map_err(|e| format!("{e:?}"))?;
    let json: serde_json::Value = serde_json::from_str(&text.as_string().unwrap_or_default()).map_err(|e| e.to_string())?;
    json.get("token").and_then(|t| t.as_str()).map(str::to_owned).ok_or_else(|| format!("no token in {json}"))
}

/// A provider of tokens living `lifetime` seconds; the JWT's `exp` says when.
fn provider(lifetime: u32) -> CredentialsProvider {
    Rc::new(move || {
        Box::pin(async move {
            let token = fetch_token(lifetime as i32).await?;
            Ok(Credentials::new("burrow", token))
        })
    })
}

/// A producer whose token lives ten minutes, and a consumer's connection whose
/// tokens live [`LIFETIME`] seconds, so it renews as it reads.
fn producer_and_renewing_consumer() -> (ReliableConnection, ReliableConnection) {
    let urls = vec![OAUTH_WS_URL.to_owned()];
    let producer =
        ReliableConnection::start_with_provider(urls.clone(), ConnectOptions::new("/"), options(), provider(600))
            .expect("start");
    let consumer =
        ReliableConnection::start_with_provider(urls, ConnectOptions::new("/"), options(), provider(LIFETIME))
            .expect("start");
    (producer, consumer)
}

fn options() -> ReliableOptions {
    ReliableOptions { management_url: Some("http://127.0.0.1:15677/api".into()), ..ReliableOptions::default() }
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// A copy of a message, for the message of a failure: when it came, its ack id
/// (which names its connection's session) and its marks.
fn describe_copy(delivery: &burrow::rabbit::Delivery) -> String {
    format!(
        "at {:.0} ms, ack id {:?}, redelivered {}, resent {}",
        now_ms(),
        delivery.delivery_tag,
        delivery.redelivered,
        delivery.resent
    )
}

/// Planned reconnects seen on a status stream, and how long each took: from
/// `renewing` to the new connection taking over (`renewed`), in ms.
#[derive(Debug, Default)]
struct Renewals {
    durations: Vec<f64>,
    other_reconnects: Vec<String>,
}

async fn watch(mut events: UnboundedReceiver<ConnectionEvent>) -> Renewals {
    let mut renewals = Renewals::default();
    let mut began = None;
    while let Some(event) = events.next().await {
        match event {
            ConnectionEvent::Renewing { .. } => began = Some(now_ms()),
            // Make-before-break: the new connection took over (Connected: the
            // break-before-make fallback's new connection).
            ConnectionEvent::Renewed { .. } | ConnectionEvent::Connected { .. } => {
                if let Some(at) = began.take() {
                    renewals.durations.push(now_ms() - at);
                }
            }
            ConnectionEvent::Reconnecting { reason, .. } => renewals.other_reconnects.push(reason.to_string()),
            ConnectionEvent::Stopped(_) => break,
            _ => {}
        }
    }
    renewals
}

/// 5,000 persistent messages from a producer to a consumer, both logged in with
/// tokens of 3 s: every message confirmed and received, the planned reconnects
/// counted, and nothing else ends a connection.
#[wasm_bindgen_test]
async fn five_thousand_messages_move_while_the_tokens_expire_every_three_seconds() {
    let urls = vec![OAUTH_WS_URL.to_owned()];
    let mut producer =
        ReliableConnection::start_with_provider(urls.clone(), ConnectOptions::new("/"), options(), provider(LIFETIME))
            .expect("start");
    let mut consumer_conn =
        ReliableConnection::start_with_provider(urls, ConnectOptions::new("/"), options(), provider(LIFETIME))
            .expect("start");
    let queue = fresh_name("oauth");
    within("the declare", producer.queue_declare(&queue, &QueueOptions::durable())).await.expect("declare");
    let producer_watch = wasm_bindgen_futures::future_to_promise({
        let events = producer.take_events();
        async move { Ok(serde_json::to_string(&summary(watch(events).await)).unwrap_or_default().into()) }
    });
    let consumer_watch = wasm_bindgen_futures::future_to_promise({
        let events = consumer_conn.take_events();
        async move { Ok(serde_json::to_string(&summary(watch(events).await)).unwrap_or_default().into()) }
    });
    let started = now_ms();
    let mut deliveries =
        consumer_conn.basic_consume(&queue, ConsumeOptions { auto_ack: false, prefetch: 100, stream_offset: None, ..ConsumeOptions::default() }).expect("consume");
    // Spread over about 10 s (250 every 500 ms), so that each token expires several times.
    let publishing = async {
        let mut confirms = Vec::with_capacity(MESSAGES);
        for n in 0..MESSAGES {
            let body = format!("m-{n}").into_bytes();
            confirms.push(producer.basic_publish("", &queue, body, &BasicProperties::persistent()).await.expect("taken"));
            if n % 250 == 249 {
                TimeoutFuture::new(500).await;
            }
        }
        let mut confirmed = 0;
        for confirm in confirms {
            confirm.await.expect("confirmed");
            confirmed += 1;
        }
        confirmed
    };
    let receiving = async {
        // Each message's first copy: when, and its ack id (which names the
        // connection's session) and marks, for the message of a failure.
        let mut seen = std::collections::BTreeMap::new();
        let mut copies = 0usize;
        while seen.len() < MESSAGES {
            let next = gloo_timers::future::TimeoutFuture::new(30_000);
            let delivery = match futures_util::future::select(deliveries.next(), next).await {
                futures_util::future::Either::Left((Some(Ok(delivery)), _)) => delivery,
                futures_util::future::Either::Left((Some(Err(error)), _)) => panic!("after {} of {MESSAGES}: {error}", seen.len()),
                futures_util::future::Either::Left((None, _)) => panic!("after {} of {MESSAGES}: the consumer ended", seen.len()),
                futures_util::future::Either::Right(_) => panic!("after {} of {MESSAGES}: nothing for 30 s", seen.len()),
            };
            copies += 1;
            let text = String::from_utf8_lossy(&delivery.body).into_owned();
            let copy = describe_copy(&delivery);
            if let Some(first) = seen.get(&text) {
                assert!(
                    delivery.possibly_duplicate(),
                    "a second copy of {text} unmarked: first {first}; second {copy}"
                );
            } else {
                seen.insert(text, copy);
            }
            // A delivery of a connection that a planned reconnect ended comes again.
            let _ = delivery.ack();
        }
        copies
    };
    let (confirmed, copies) = futures_util::join!(publishing, receiving);
    let elapsed = now_ms() - started;
    assert_eq!(confirmed, MESSAGES, "every message confirmed");
    producer.stop();
    consumer_conn.stop();
    let producer_renewals = JsFuture::from(producer_watch).await.ok().and_then(|v| v.as_string()).unwrap_or_default();
    let consumer_renewals = JsFuture::from(consumer_watch).await.ok().and_then(|v| v.as_string()).unwrap_or_default();
    web_sys::console::log_1(
        &format!(
            "OAUTH-FIGURES messages {MESSAGES} received copies {copies} in {elapsed:.0} ms; producer {producer_renewals}; consumer {consumer_renewals}"
        )
        .into(),
    );
    let producer: serde_json::Value = serde_json::from_str(&producer_renewals).expect("producer summary");
    let consumer: serde_json::Value = serde_json::from_str(&consumer_renewals).expect("consumer summary");
    for (who, summary) in [("producer", &producer), ("consumer", &consumer)] {
        let planned = summary["planned"].as_u64().unwrap_or(0);
        assert!(planned >= 2, "{who}: planned reconnects while the tokens expired: {summary}");
        assert_eq!(summary["other"], serde_json::json!([]), "{who}: nothing but planned reconnects: {summary}");
    }
}

fn summary(renewals: Renewals) -> serde_json::Value {
    let count = renewals.durations.len();
    let mean = if count == 0 { 0.0 } else { renewals.durations.iter().sum::<f64>() / count as f64 };
    let max = renewals.durations.iter().copied().fold(0.0, f64::max);
    serde_json::json!({ "planned": count, "mean_ms": mean.round(), "max_ms": max.round(), "other": renewals.other_reconnects })
}

/// A consumer's planned reconnect does not pause its deliveries: a producer
/// with a long-lived token publishes a steady stream (5 messages every 5 ms)
/// while the consumer, on 3 s tokens, renews about every 2.3 s. For each
/// renewal, the longest gap between two deliveries in the 200 ms from its
/// `Renewing` is set against the same measure in 200 ms windows away from any
/// renewal. Break-before-make (DISCONNECT, then CONNECT and SUBSCRIBE again)
/// leaves a gap of one reconnect there (20-40 ms measured); make-before-break
/// none. Asserted on the median over the renewals, so that one scheduling
/// hiccup of a loaded machine does not decide it.
#[wasm_bindgen_test]
async fn deliveries_do_not_pause_while_the_consumer_renews_its_token() {
    const STEADY: usize = 10_000;
    const WINDOW_MS: f64 = 200.0;
    let urls = vec![OAUTH_WS_URL.to_owned()];
    let mut producer =
        ReliableConnection::start_with_provider(urls.clone(), ConnectOptions::new("/"), options(), provider(600))
            .expect("start");
    let mut consumer_conn =
        ReliableConnection::start_with_provider(urls, ConnectOptions::new("/"), options(), provider(LIFETIME))
            .expect("start");
    let queue = fresh_name("oauth-steady");
    within("the declare", producer.queue_declare(&queue, &QueueOptions::durable())).await.expect("declare");
    let renewing_at = Rc::new(std::cell::RefCell::new(Vec::<f64>::new()));
    let other_reconnects = Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
    {
        let mut events = consumer_conn.take_events();
        let (renewing_at, other_reconnects) = (renewing_at.clone(), other_reconnects.clone());
        wasm_bindgen_futures::spawn_local(async move {
            while let Some(event) = events.next().await {
                match event {
                    ConnectionEvent::Renewing { .. } => renewing_at.borrow_mut().push(now_ms()),
                    ConnectionEvent::Reconnecting { reason, .. } => other_reconnects.borrow_mut().push(reason.to_string()),
                    ConnectionEvent::Stopped(_) => break,
                    _ => {}
                }
            }
        });
    }
    // The producer's status, for the message of a failure: any reconnect of it
    // resends what was unconfirmed.
    let producer_events = Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
    {
        let mut events = producer.take_events();
        let producer_events = producer_events.clone();
        wasm_bindgen_futures::spawn_local(async move {
            while let Some(event) = events.next().await {
                if matches!(event, ConnectionEvent::Stopped(_)) {
                    break;
                }
                producer_events.borrow_mut().push(format!("{:.0} ms: {event:?}", now_ms()));
            }
        });
    }
    let mut deliveries =
        consumer_conn.basic_consume(&queue, ConsumeOptions { auto_ack: false, prefetch: 100, ..ConsumeOptions::default() }).expect("consume");
    let publishing = async {
        let mut confirms = Vec::with_capacity(STEADY);
        for n in 0..STEADY {
            let body = format!("m-{n}").into_bytes();
            confirms.push(producer.basic_publish("", &queue, body, &BasicProperties::persistent()).await.expect("taken"));
            if n % 5 == 4 {
                TimeoutFuture::new(5).await;
            }
        }
        for confirm in confirms {
            confirm.await.expect("confirmed");
        }
    };
    let receiving = async {
        // Each message's first copy: when, and its ack id (which names the
        // connection's session) and marks, for the message of a failure.
        let mut seen = std::collections::BTreeMap::new();
        let mut arrivals = Vec::with_capacity(STEADY);
        while seen.len() < STEADY {
            let next = TimeoutFuture::new(30_000);
            let delivery = match futures_util::future::select(deliveries.next(), next).await {
                futures_util::future::Either::Left((Some(Ok(delivery)), _)) => delivery,
                futures_util::future::Either::Left((other, _)) => panic!("after {} of {STEADY}: {other:?}", seen.len()),
                futures_util::future::Either::Right(_) => panic!("after {} of {STEADY}: nothing for 30 s", seen.len()),
            };
            arrivals.push(now_ms());
            let text = String::from_utf8_lossy(&delivery.body).into_owned();
            let copy = describe_copy(&delivery);
            if let Some(first) = seen.get(&text) {
                assert!(
                    delivery.possibly_duplicate(),
                    "a second copy of {text} unmarked: first {first}; second {copy}; consumer renewals at {:?}; producer events {:?}",
                    renewing_at.borrow(),
                    producer_events.borrow()
                );
            } else {
                seen.insert(text, copy);
            }
            let _ = delivery.ack();
        }
        arrivals
    };
    let ((), arrivals) = futures_util::join!(publishing, receiving);
    producer.stop();
    consumer_conn.stop();
    let renewals = renewing_at.borrow().clone();
    // The longest pause between deliveries within [from, from + WINDOW_MS].
    let longest_gap = |from: f64| -> f64 {
        let inside: Vec<f64> = arrivals.iter().copied().filter(|t| *t >= from && *t <= from + WINDOW_MS).collect();
        let mut points = vec![from];
        points.extend(inside);
        points.push(from + WINDOW_MS);
        points.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max)
    };
    let (first, last) = (arrivals.first().copied().unwrap_or(0.0), arrivals.last().copied().unwrap_or(0.0));
    let near_renewal = |t: f64| renewals.iter().any(|r| t + WINDOW_MS >= *r - 50.0 && t <= r + WINDOW_MS + 50.0);
    let mut baseline: Vec<f64> = (0..)
        .map(|i| first + 100.0 + f64::from(i) * WINDOW_MS)
        .take_while(|t| t + WINDOW_MS < last)
        .filter(|t| !near_renewal(*t))
        .map(longest_gap)
        .collect();
    let mut during: Vec<f64> =
        renewals.iter().copied().filter(|r| *r + WINDOW_MS < last && *r > first).map(longest_gap).collect();
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied().unwrap_or(0.0)
    };
    let per_renewal: Vec<String> = during.iter().map(|gap| format!("{gap:.0}")).collect();
    let (baseline_median, during_median) = (median(&mut baseline), median(&mut during));
    web_sys::console::log_1(
        &format!(
            "OAUTH-GAPS messages {STEADY} in {:.0} ms; consumer renewals {}; longest gap per renewal (ms, 200 ms from Renewing): [{}]; median {during_median:.0} ms; away from renewals: median {baseline_median:.0} ms over {} windows, max {:.0} ms",
            last - first,
            renewals.len(),
            per_renewal.join(", "),
            baseline.len(),
            baseline.last().copied().unwrap_or(0.0),
        )
        .into(),
    );
    assert!(during.len() >= 3, "the consumer renewed while deliveries flowed: {renewals:?}");
    assert_eq!(*other_reconnects.borrow(), Vec::<String>::new(), "nothing but planned reconnects");
    assert!(
        during_median <= baseline_median + 10.0,
        "deliveries paused at the renewals: longest gaps [{}] ms, median {during_median:.0} ms, against {baseline_median:.0} ms away from them",
        per_renewal.join(", ")
    );
}

/// A stream consumer on 3 s tokens reads 6,000 offsets while it renews: every
/// offset from the first without a gap, in order, and a second copy of one (the
/// new subscription starts where the reader is, the old one goes on until it
/// closes) only marked.
#[wasm_bindgen_test]
async fn a_stream_consumer_reads_every_offset_across_its_token_renewals() {
    const OFFSETS: u64 = 6_000;
    let (producer, mut consumer_conn) = producer_and_renewing_consumer();
    let stream = fresh_name("oauth-stream");
    within("the declare", producer.queue_declare(&stream, &QueueOptions::stream())).await.expect("declare a stream");
    let renewals = Rc::new(std::cell::Cell::new(0u32));
    let other_reconnects = Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
    {
        let mut events = consumer_conn.take_events();
        let (renewals, other_reconnects) = (renewals.clone(), other_reconnects.clone());
        wasm_bindgen_futures::spawn_local(async move {
            while let Some(event) = events.next().await {
                match event {
                    ConnectionEvent::Renewed { .. } => renewals.set(renewals.get() + 1),
                    ConnectionEvent::Reconnecting { reason, .. } => other_reconnects.borrow_mut().push(reason.to_string()),
                    ConnectionEvent::Stopped(_) => break,
                    _ => {}
                }
            }
        });
    }
    let mut deliveries = consumer_conn
        .basic_consume(&stream, ConsumeOptions::stream(burrow::rabbit::StreamOffset::First, 100))
        .expect("consume");
    let publishing = async {
        let mut confirms = Vec::new();
        for n in 0..OFFSETS {
            confirms.push(producer.basic_publish("", &stream, format!("m-{n}").into_bytes(), &BasicProperties::persistent()).await.expect("taken"));
            if n % 5 == 4 {
                TimeoutFuture::new(5).await;
            }
        }
        for confirm in confirms {
            confirm.await.expect("confirmed");
        }
    };
    let reading = async {
        let (mut next_offset, mut repeats) = (0u64, 0u64);
        while next_offset < OFFSETS {
            let timeout = TimeoutFuture::new(30_000);
            let delivery = match futures_util::future::select(deliveries.next(), timeout).await {
                futures_util::future::Either::Left((Some(Ok(delivery)), _)) => delivery,
                futures_util::future::Either::Left((other, _)) => panic!("at offset {next_offset}: {other:?}"),
                futures_util::future::Either::Right(_) => panic!("at offset {next_offset}: nothing for 30 s"),
            };
            let offset = delivery.stream_offset.expect("a stream delivery carries its offset");
            if offset < next_offset {
                assert!(delivery.possibly_duplicate(), "a second copy of offset {offset} unmarked");
                repeats += 1;
            } else {
                assert_eq!(offset, next_offset, "offsets without a gap");
                assert_eq!(delivery.body_text(), format!("m-{offset}"));
                next_offset += 1;
            }
            let _ = delivery.ack();
        }
        repeats
    };
    let ((), repeats) = futures_util::join!(publishing, reading);
    producer.stop();
    consumer_conn.stop();
    web_sys::console::log_1(
        &format!("OAUTH-STREAM offsets {OFFSETS} without a gap; repeats (marked) {repeats}; renewals {}", renewals.get()).into(),
    );
    assert!(renewals.get() >= 2, "the consumer renewed while it read: {}", renewals.get());
    assert_eq!(*other_reconnects.borrow(), Vec::<String>::new(), "nothing but planned reconnects");
}

/// An exclusive queue's consumer across token renewals: the new connection may
/// not consume from the queue while the old one holds it (RabbitMQ refused it
/// RESOURCE_LOCKED, so every renewal failed and the connection fell back to a
/// break near the expiry). It moves once the old connection is gone, the queue
/// declared again there: every renewal takes over, nothing else reconnects, and
/// messages still arrive after the renewals. What is published in between goes
/// nowhere (RabbitMQ deletes an exclusive queue with its connection): each move
/// is said as a warning.
#[wasm_bindgen_test]
async fn an_exclusive_queue_s_consumer_moves_across_token_renewals() {
    let (producer, mut consumer_conn) = producer_and_renewing_consumer();
    let queue = fresh_name("oauth-exclusive");
    let exclusive = QueueOptions { exclusive: true, ..QueueOptions::default() };
    within("the declare", consumer_conn.queue_declare(&queue, &exclusive)).await.expect("declare");
    let seen = Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
    let renewals = Rc::new(std::cell::Cell::new(0u32));
    let moves = Rc::new(std::cell::Cell::new(0u32));
    {
        let mut events = consumer_conn.take_events();
        let (seen, renewals, moves) = (seen.clone(), renewals.clone(), moves.clone());
        wasm_bindgen_futures::spawn_local(async move {
            while let Some(event) = events.next().await {
                match event {
                    ConnectionEvent::Renewed { .. } => renewals.set(renewals.get() + 1),
                    // Each move is said (what is published meanwhile goes nowhere).
                    ConnectionEvent::Warning(burrow::reliable::Warning::ExclusiveQueueHeld { .. }) => moves.set(moves.get() + 1),
                    ConnectionEvent::Reconnecting { .. } | ConnectionEvent::Warning(_) | ConnectionEvent::ConsumerFailed { .. } => {
                        seen.borrow_mut().push(format!("{event:?}"))
                    }
                    ConnectionEvent::Stopped(_) => break,
                    _ => {}
                }
            }
        });
    }
    let mut deliveries = consumer_conn.basic_consume(queue.as_str(), ConsumeOptions::default()).expect("consume");
    let started = now_ms();
    let mut received = 0u32;
    let mut n = 0u32;
    // Three renewals, then one message more that must arrive.
    while renewals.get() < 3 && now_ms() - started < 30_000.0 {
        let confirm = producer.try_basic_publish("", &queue, format!("m-{n}").into_bytes(), &BasicProperties::default());
        n += 1;
        drop(confirm);
        let next = futures_util::future::select(deliveries.next(), TimeoutFuture::new(50)).await;
        if let futures_util::future::Either::Left((Some(Ok(delivery)), _)) = next {
            received += 1;
            let _ = delivery.ack();
        }
    }
    assert!(renewals.get() >= 3, "three renewals within 30 s: {} ({:?})", renewals.get(), seen.borrow());
    let last = "after the renewals".to_owned();
    let mut arrived = false;
    let until = now_ms() + 20_000.0;
    while !arrived && now_ms() < until {
        // Published again until it arrives: one sent while the queue moves goes nowhere.
        let _ = producer.try_basic_publish("", &queue, last.clone().into_bytes(), &BasicProperties::default());
        let next = futures_util::future::select(deliveries.next(), TimeoutFuture::new(500)).await;
        match next {
            futures_util::future::Either::Left((Some(Ok(delivery)), _)) => {
                arrived = delivery.body_text() == last;
                let _ = delivery.ack();
            }
            futures_util::future::Either::Left((other, _)) => panic!("the consumer ended: {other:?} ({:?})", seen.borrow()),
            futures_util::future::Either::Right(_) => {}
        }
    }
    producer.stop();
    consumer_conn.stop();
    web_sys::console::log_1(&format!("OAUTH-EXCLUSIVE renewals {}; received {received} of {n} published while renewing", renewals.get()).into());
    assert!(arrived, "a message after the renewals arrived ({:?})", seen.borrow());
    assert_eq!(*seen.borrow(), Vec::<String>::new(), "no reconnect, other warning or failure");
    assert!(moves.get() >= 3, "each renewal's move said: {} of {}", moves.get(), renewals.get());
}

/// Fixed credentials whose token has expired: the broker says only "Access
/// refused"; Burrow says the token had expired.
#[wasm_bindgen_test]
async fn an_expired_token_is_refused_in_words_that_say_it_expired() {
    let token = within("a token", fetch_token(-30)).await.expect("a token");
    let options = ConnectOptions::new("/").with_credentials("burrow", token);
    let mut connection = ReliableConnection::start(OAUTH_WS_URL, options, self::options()).expect("start");
    let reason = loop {
        match within("the refusal", connection.next_event()).await {
            Some(ConnectionEvent::Stopped(reason)) => break reason,
            Some(_) => {}
            None => panic!("no Stopped"),
        }
    };
    assert!(matches!(&reason, StopReason::Refused(CloseReason::TokenExpired(expired)) if expired.expired_for >= Duration::from_secs(29)), "{reason:?}");
    let words = reason.to_string();
    web_sys::console::log_1(&format!("OAUTH-EXPIRED {words}").into());
    assert!(words.starts_with("the token sent as the passcode had expired"), "{words}");
    assert!(words.to_lowercase().contains("access refused"), "the broker's own words too: {words}");
}
