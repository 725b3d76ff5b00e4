//! Logging in with OAuth2 tokens that expire, in headless Chromium, against the
//! OAuth2 test node (`./burrow oauth start`: RabbitMQ 3.10.8 with
//! rabbitmq_auth_backend_oauth2 and a local HS256 key) and a token endpoint
//! (`python3 tests/support/mint_token.py --serve 8095`). `./burrow test` starts
//! both. The credentials provider fetches a fresh token before every CONNECT; the
//! core reconnects before each token expires (a planned reconnect).
#![cfg(target_arch = "wasm32")]

mod common;

use std::collections::BTreeSet;
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

fn options() -> ReliableOptions {
    ReliableOptions { management_url: Some("http://127.0.0.1:15677/api".into()), ..ReliableOptions::default() }
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// Planned reconnects seen on a status stream, and how long each took: from
/// `renewing` to the next `connected`, in ms.
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
            ConnectionEvent::Connected { .. } => {
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
        let mut seen = BTreeSet::new();
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
            if !seen.insert(text.clone()) {
                assert!(delivery.possibly_duplicate(), "a second copy of {text} unmarked");
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
