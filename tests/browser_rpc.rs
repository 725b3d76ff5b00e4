//! RPC (RabbitMQ's tutorial 6) in headless Chromium against the real broker:
//! `ReliableConnection::call` answered by a server in the same page, concurrent
//! calls, an unmatched reply counted and dropped, the typed timeout, a call in
//! flight when the connection drops, and pika's tutorial programs on the other
//! side (tests/support/pika_helper.py on 8099). Run by `./burrow test`.
#![cfg(target_arch = "wasm32")]

mod common;

use std::rc::Rc;
use std::time::Duration;

use burrow::client::ConnectOptions;
use burrow::rabbit::{BasicProperties, QueueOptions};
use burrow::reliable::{
    CallError, ConnectionEvent, ConsumeOptions, Consumer, ReliableConnection, ReplyError, Warning,
};
use common::{connect_options, fresh_name, reliable_options, within, BROKER_URL};
use futures_util::StreamExt;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Where `tests/support/pika_helper.py` listens.
const PIKA_HELPER_URL: &str = match option_env!("BURROW_PIKA_URL") {
    Some(url) => url,
    None => "http://127.0.0.1:8099",
};

const SECOND: Duration = Duration::from_secs(1);

fn fib(n: u64) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a.wrapping_add(b));
    }
    a
}

async fn start(options: ConnectOptions) -> ReliableConnection {
    let connection = ReliableConnection::start(BROKER_URL, options, reliable_options()).expect("start");
    assert!(within("CONNECTED", connection.wait_connected()).await, "connected");
    connection
}

/// A connection with `queue` declared (non-durable) and consumed.
async fn serving(queue: &str) -> (Rc<ReliableConnection>, Consumer) {
    let connection = start(connect_options()).await;
    within("declare", connection.queue_declare(queue, &QueueOptions::default())).await.expect("declare");
    let consumer = connection.basic_consume(queue, ConsumeOptions::default()).expect("consume");
    (Rc::new(connection), consumer)
}

/// The Fibonacci server of tutorial 6 in the page: answers each request and acks it.
/// Returns what `reply_to` the requests carried.
fn serve_fib(connection: Rc<ReliableConnection>, mut consumer: Consumer) -> Rc<std::cell::RefCell<Vec<String>>> {
    let seen = Rc::new(std::cell::RefCell::new(Vec::new()));
    let saw = seen.clone();
    wasm_bindgen_futures::spawn_local(async move {
        while let Some(Ok(request)) = consumer.next().await {
            saw.borrow_mut().push(request.properties.reply_to.clone().unwrap_or_default());
            let n: u64 = request.body_text().trim().parse().unwrap_or(0);
            let answer = fib(n).to_string().into_bytes();
            if let Ok(confirm) = connection.reply(&request, answer, &BasicProperties::default()) {
                let _ = confirm.await;
            }
            let _ = request.ack();
        }
    });
    seen
}

async fn eventually(what: &str, check: impl FnMut() -> bool) {
    common::eventually(what, common::EVENT_TIMEOUT_MS, check).await;
}

#[wasm_bindgen_test]
async fn a_call_is_answered_by_a_server_in_the_same_page() {
    let queue = fresh_name("burrow.rpc.fib");
    let (server, consumer) = serving(&queue).await;
    let seen = serve_fib(server, consumer);
    let client = start(connect_options()).await;
    let reply = within("the reply", client.call("", &queue, b"30".to_vec(), &BasicProperties::default(), 5 * SECOND))
        .await
        .expect("a reply");
    assert_eq!(reply.body, b"832040");
    // Measured: a temp queue's MESSAGE carries no ack header (the broker auto-acks).
    assert_eq!(reply.delivery_tag, None);
    assert!(reply.properties.correlation_id.is_some());
    // Measured: the server sees the reply queue as /reply-queue/amq.gen-….
    let reply_to = seen.borrow().first().cloned().unwrap_or_default();
    assert!(reply_to.starts_with("/reply-queue/amq.gen-"), "{reply_to}");
    assert_eq!(client.unmatched_replies(), 0);
}

#[wasm_bindgen_test]
async fn concurrent_calls_each_get_their_own_reply() {
    let queue = fresh_name("burrow.rpc.many");
    // Two servers on one queue: replies come back in any order.
    let (server, consumer) = serving(&queue).await;
    serve_fib(server, consumer);
    let (server, consumer) = serving(&queue).await;
    serve_fib(server, consumer);
    let client = start(connect_options()).await;
    let calls = (0..20u64).map(|n| {
        let body = (n + 10).to_string().into_bytes();
        client.call("", &queue, body, &BasicProperties::default(), 5 * SECOND)
    });
    let replies = within("twenty replies", futures_util::future::join_all(calls)).await;
    for (n, reply) in replies.into_iter().enumerate() {
        let reply = reply.expect("a reply");
        assert_eq!(reply.body_text(), fib(n as u64 + 10).to_string(), "call {n} got its own reply");
    }
    assert_eq!(client.unmatched_replies(), 0);
}

#[wasm_bindgen_test]
async fn a_call_times_out_typed_and_its_late_reply_is_counted_and_dropped() {
    let queue = fresh_name("burrow.rpc.slow");
    let (server, mut consumer) = serving(&queue).await;
    let mut client = start(connect_options()).await;
    let mut events = client.take_events();
    let call = client.call("", &queue, b"1".to_vec(), &BasicProperties::default(), Duration::from_millis(300));
    let outcome = within("the timeout", call).await;
    assert_eq!(outcome.map(|r| r.body), Err(CallError::Timeout(Duration::from_millis(300))));
    // The server answers late: nobody awaits that reply any more.
    let request = within("the request", consumer.next()).await.expect("a request").expect("a delivery");
    within("reply confirm", server.reply(&request, b"late".to_vec(), &BasicProperties::default()).expect("reply"))
        .await
        .expect("confirmed");
    request.ack().expect("ack");
    let correlation = request.properties.correlation_id.clone();
    loop {
        match within("the unmatched reply's warning", events.next()).await {
            Some(ConnectionEvent::Warning(Warning::LateReply { correlation_id, timeout })) => {
                assert_eq!(Some(correlation_id), correlation);
                assert_eq!(timeout, Duration::from_millis(300));
                break;
            }
            Some(_) => {}
            None => panic!("the status stream ended"),
        }
    }
    assert_eq!(client.unmatched_replies(), 1);
}

#[wasm_bindgen_test]
async fn a_message_without_reply_to_is_refused_in_words() {
    let queue = fresh_name("burrow.rpc.plain");
    let (server, mut consumer) = serving(&queue).await;
    server.basic_publish("", &queue, b"no reply wanted".to_vec(), &BasicProperties::default()).await.expect("publish");
    let message = within("the message", consumer.next()).await.expect("a message").expect("a delivery");
    let refused = server.reply(&message, b"?".to_vec(), &BasicProperties::default()).map(|_| ());
    assert_eq!(refused, Err(ReplyError::NoReplyTo));
    assert!(ReplyError::NoReplyTo.to_string().contains("no reply_to"));
    message.ack().expect("ack");
}

/// The documented outcome: the broker had the request (confirmed), then the
/// connection dropped (here: RabbitMQ closes it for a subscription to a queue
/// that does not exist), so its reply queue is gone: the call fails with
/// `ConnectionLost` at once, not at its timeout; the connection comes back.
#[wasm_bindgen_test]
async fn a_call_in_flight_when_the_connection_drops_fails_with_connection_lost() {
    let queue = fresh_name("burrow.rpc.dropped");
    let (_server, mut consumer) = serving(&queue).await;
    let client = start(connect_options()).await;
    let call = client.call("", &queue, b"1".to_vec(), &BasicProperties::default(), 60 * SECOND);
    let mut call = Box::pin(call);
    // The server holds the request: the broker confirmed it.
    let waiting = futures_util::future::select(call.as_mut(), Box::pin(consumer.next()));
    let request = match within("the request", waiting).await {
        futures_util::future::Either::Right((Some(Ok(request)), _)) => request,
        _ => panic!("the request reaches the server first"),
    };
    eventually("the request's confirm", || client.outbox().messages == 0).await;
    let missing = fresh_name("burrow.rpc.no-such-queue");
    let _refused = client.basic_consume(&missing, ConsumeOptions::default()).expect("sent");
    let started = js_sys::Date::now();
    let outcome = within("the call's end", call).await;
    assert!(matches!(outcome, Err(CallError::ConnectionLost(_))), "{outcome:?}");
    assert!(js_sys::Date::now() - started < 10_000.0, "at once, not at the 60 s timeout");
    request.ack().expect("ack");
    assert!(within("back", client.wait_connected()).await);
}

async fn ask_pika(path: &str) -> Result<String, String> {
    use wasm_bindgen::JsCast;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let url = format!("{PIKA_HELPER_URL}{path}");
    let request = web_sys::Request::new_with_str_and_init(&url, &init).map_err(|e| format!("{e:?}"))?;
    let window = web_sys::window().ok_or("no window")?;
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|e| format!("is tests/support/pika_helper.py running on {PIKA_HELPER_URL}? {e:?}"))?;
    let response: web_sys::Response = response.dyn_into().map_err(|e| format!("{e:?}"))?;
    let text = response.text().map_err(|e| format!("{e:?}"))?;
    let text = wasm_bindgen_futures::JsFuture::from(text).await.map_err(|e| format!("{e:?}"))?;
    let text = text.as_string().unwrap_or_default();
    if response.ok() {
        Ok(text)
    } else {
        Err(format!("pika_helper answered {path} with HTTP {}: {text}", response.status()))
    }
}

#[wasm_bindgen_test]
async fn a_browser_call_is_answered_by_pikas_rpc_server() {
    let queue = fresh_name("burrow.rpc.pika-server");
    within("pika's rpc_server", ask_pika(&format!("/rpc_server/start?queue={queue}"))).await.expect("started");
    let client = start(connect_options()).await;
    let reply = within("fib(30)", client.call("", &queue, b"30".to_vec(), &BasicProperties::default(), 10 * SECOND))
        .await;
    let served = within("stop", ask_pika(&format!("/rpc_server/stop?queue={queue}"))).await.expect("stopped");
    assert_eq!(reply.expect("pika's reply").body, b"832040");
    assert_eq!(served, "1");
}

#[wasm_bindgen_test]
async fn pikas_rpc_client_is_answered_by_a_browser_server() {
    let queue = fresh_name("burrow.rpc.pika-client");
    let (server, consumer) = serving(&queue).await;
    let seen = serve_fib(server, consumer);
    let reply = within("pika's rpc_client", ask_pika(&format!("/rpc_client?queue={queue}&n=30"))).await;
    assert_eq!(reply.as_deref(), Ok("832040"));
    // Measured: pika's exclusive callback queue arrives as /reply-queue/amq.gen-….
    let reply_to = seen.borrow().first().cloned().unwrap_or_default();
    assert!(reply_to.starts_with("/reply-queue/amq.gen-"), "{reply_to}");
}
