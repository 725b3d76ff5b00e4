//! Soak: 10,000 persistent messages with confirms while a client-ack consumer
//! (prefetch 50) reads them, and RabbitMQ is restarted twice in the middle. Every
//! message must arrive at least once, and every second copy must be marked.
//! `./burrow test` runs it with `tests/support/broker_restarter.py` beside it.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use burrow::rabbit::{BasicProperties, QueueOptions};
use burrow::reliable::{ReliableConnection, ReliableEvent, ReliableOptions};
use common::{connect, connect_options, fresh_name, BROKER_URL};
use futures_util::future::{select, Either};
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen_futures::spawn_local;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const MESSAGES: u32 = 10_000;
/// The broker is restarted when this many distinct messages have arrived.
const RESTART_AT: [usize; 2] = [3_000, 6_500];
const WHOLE_RUN_MS: u32 = 240_000;

#[derive(Default)]
struct Tally {
    confirmed: u32,
    deliveries: u32,
    /// message number → how many copies arrived
    seen: HashMap<u32, u32>,
    /// second copies that carried no mark (neither redelivered nor resent)
    unmarked_duplicates: Vec<u32>,
    reconnects: u32,
    restarts_done: usize,
    restart_errors: Vec<String>,
}

#[wasm_bindgen_test]
async fn ten_thousand_persistent_messages_survive_two_broker_restarts() {
    let queue = fresh_name("soak");
    let setup = connect().await;
    setup.queue_declare(&queue, &QueueOptions::durable()).await.expect("declare the durable queue");
    setup.disconnect().await.expect("disconnect");

    let tally = Rc::new(RefCell::new(Tally::default()));
    let mut producer = ReliableConnection::start(BROKER_URL, connect_options(), ReliableOptions::default());
    let mut consumer = ReliableConnection::start(BROKER_URL, connect_options(), ReliableOptions::default());
    consumer.consume(&queue, false, 50);

    for n in 0..MESSAGES {
        let properties = BasicProperties { persistent: true, message_id: Some(n.to_string()), ..Default::default() };
        producer.publish("", &queue, n.to_string().into_bytes(), &properties).expect("the outbox takes it");
    }

    // Producer events: count confirms.
    {
        let tally = tally.clone();
        spawn_local(async move {
            while let Some(event) = producer.next_event().await {
                match event {
                    ReliableEvent::Confirmed(_) => tally.borrow_mut().confirmed += 1,
                    ReliableEvent::Reconnecting { .. } => tally.borrow_mut().reconnects += 1,
                    _ => {}
                }
                if tally.borrow().confirmed == MESSAGES {
                    // Keep the producer alive until every confirm is in, then let it go.
                    producer.stop();
                }
            }
        });
    }

    let run = async {
        while let Some(event) = consumer.next_event().await {
            let ReliableEvent::Delivery { generation, delivery, .. } = event else { continue };
            let number: u32 = delivery.body_text().parse().expect("bodies are numbers");
            let distinct = {
                let mut t = tally.borrow_mut();
                t.deliveries += 1;
                let copies = t.seen.entry(number).or_insert(0);
                *copies += 1;
                if *copies > 1 && !delivery.possibly_duplicate() {
                    t.unmarked_duplicates.push(number);
                }
                t.seen.len()
            };
            if let Some(tag) = &delivery.delivery_tag {
                // An ack on a connection that is gone is skipped: the broker redelivers.
                let _ = consumer.ack(generation, tag);
            }
            let restarts = tally.borrow().restarts_done;
            if restarts < RESTART_AT.len() && distinct >= RESTART_AT[restarts] {
                tally.borrow_mut().restarts_done += 1;
                let tally = tally.clone();
                spawn_local(async move {
                    if let Err(error) = common::ask_broker_helper("/restart").await {
                        tally.borrow_mut().restart_errors.push(error);
                    }
                });
            }
            let t = tally.borrow();
            if t.seen.len() == MESSAGES as usize && t.confirmed == MESSAGES {
                break;
            }
        }
    };
    let finished = match select(Box::pin(run), TimeoutFuture::new(WHOLE_RUN_MS)).await {
        Either::Left(_) => true,
        Either::Right(_) => false,
    };
    consumer.stop();

    let t = tally.borrow();
    let received = t.seen.len() as u32;
    let duplicates = t.deliveries - received;
    let missing = MESSAGES - received;
    console_log!(
        "soak: sent {MESSAGES}, confirmed {}, received {received} distinct ({} deliveries), duplicates {duplicates}, unmarked duplicates {}, missing {missing}, broker restarts {}, producer reconnects {}",
        t.confirmed,
        t.deliveries,
        t.unmarked_duplicates.len(),
        t.restarts_done,
        t.reconnects
    );
    assert!(t.restart_errors.is_empty(), "restarts failed: {:?}", t.restart_errors);
    assert_eq!(t.restarts_done, 2, "the broker was restarted twice during the run");
    assert!(finished, "not everything arrived within {WHOLE_RUN_MS} ms: {missing} missing, {} confirmed", t.confirmed);
    assert_eq!(missing, 0);
    assert_eq!(t.confirmed, MESSAGES);
    assert!(t.unmarked_duplicates.is_empty(), "duplicates without a mark: {:?}", t.unmarked_duplicates);
}
