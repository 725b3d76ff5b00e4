//! The workbench's state in the browser: logs stay bounded and memory flat
//! however many messages go through.
#![cfg(target_arch = "wasm32")]

use std::rc::Rc;

use burrow::ui::{Action, Destination, PublishOutcome, PublishRecord, WorkbenchConfig, WorkbenchState};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use yew::functional::Reducible;

wasm_bindgen_test_configure!(run_in_browser);

fn wasm_memory_bytes() -> u32 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .map(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().map(|b| b.byte_length()).unwrap_or(0))
        .unwrap_or(0)
}

fn publish(state: Rc<WorkbenchState>, number: u64) -> Rc<WorkbenchState> {
    let record = PublishRecord {
        number,
        destination: Destination::queue("task_queue"),
        body: "大郎 起来喝药了".into(),
        persistent: number % 2 == 0,
        copy: Some(format!("{number}/1000000")),
        outcome: PublishOutcome::Pending,
        lesson: None,
    };
    let state = state.reduce(Action::PublishSent(record));
    state.reduce(Action::PublishSettled { number, outcome: PublishOutcome::Confirmed, lesson: None })
}

#[wasm_bindgen_test]
fn a_million_publishes_keep_the_log_bounded_and_memory_flat() {
    let mut state = Rc::new(WorkbenchState::new(WorkbenchConfig::default()));
    for number in 1..=10_000 {
        state = publish(state, number);
    }
    let after_ten_thousand = wasm_memory_bytes();
    for number in 10_001..=1_000_000 {
        state = publish(state, number);
    }
    let after_a_million = wasm_memory_bytes();
    let publishing = &state.publishing;
    assert_eq!(publishing.counts.published, 1_000_000);
    assert_eq!(publishing.counts.confirmed, 1_000_000);
    assert_eq!(publishing.counts.pending(), 0);
    assert_eq!(publishing.records.total(), 1_000_000);
    assert_eq!(publishing.records.len(), burrow::ui::PUBLISH_LOG_LIMIT);
    let newest = publishing.records.newest(1);
    assert_eq!(newest.first().map(|r| r.number), Some(1_000_000));
    assert_eq!(newest.first().map(|r| r.outcome.clone()), Some(PublishOutcome::Confirmed));
    assert_eq!(after_a_million, after_ten_thousand, "wasm memory grew from {after_ten_thousand} to {after_a_million} bytes");
}

#[wasm_bindgen_test]
fn an_https_page_gets_a_wss_url_on_its_own_origin() {
    assert_eq!(burrow::ui::web_stomp_url_for("https:", "rabbit.example:8443"), "wss://rabbit.example:8443/ws");
    assert_eq!(burrow::ui::web_stomp_url_for("http:", "127.0.0.1:8080"), "ws://127.0.0.1:8080/ws");
    assert_eq!(burrow::ui::web_stomp_url_for("file:", ""), "ws://127.0.0.1:15674/ws");
}

#[wasm_bindgen_test]
fn the_rate_scale_is_a_round_number_at_or_above_the_peak() {
    use burrow::ui::rate_scale;
    assert_eq!(rate_scale(0.0), 1, "an idle queue still gets an axis");
    assert_eq!(rate_scale(0.3), 1);
    assert_eq!(rate_scale(1.2), 2);
    assert_eq!(rate_scale(3.0), 5);
    assert_eq!(rate_scale(7.5), 10);
    assert_eq!(rate_scale(4_321.0), 5_000);
    assert_eq!(rate_scale(f64::INFINITY), u64::MAX, "never loops forever");
}

/// The chart a user reads: labelled axes (msg/s from 0 to a round top, two minutes
/// ending now) and both lines, visible even at low rates.
#[wasm_bindgen_test]
async fn the_rate_chart_has_labelled_axes_and_both_lines() {
    use burrow::ui::{RateChart, RateChartProps, RateSample};
    let document = web_sys::window().and_then(|w| w.document()).expect("a document");
    let root = document.create_element("div").expect("a div");
    document.body().expect("a body").append_child(&root).expect("attached");
    let history = vec![
        RateSample { publish: 0.0, deliver: 0.0 },
        RateSample { publish: 1.2, deliver: 0.6 },
        RateSample { publish: 3.2, deliver: 3.2 },
    ];
    yew::Renderer::<RateChart>::with_root_and_props(root.clone(), RateChartProps { history, period_ms: 2_000 }).render();
    // yew renders on its scheduler: give it a turn.
    gloo_timers::future::TimeoutFuture::new(10).await;

    let svg = root.query_selector("svg.chart").ok().flatten().expect("an svg chart");
    assert_eq!(svg.get_attribute("data-scale").as_deref(), Some("5"), "3.2 msg/s rounds up to a 5 msg/s axis");
    let labels: Vec<String> = (0..svg.query_selector_all("text").map(|l| l.length()).unwrap_or(0))
        .filter_map(|i| svg.query_selector_all("text").ok()?.item(i)?.text_content())
        .collect();
    for label in ["msg/s", "0", "5", "2 min ago", "now"] {
        assert!(labels.iter().any(|l| l == label), "axis label {label:?} missing from {labels:?}");
    }
    for class in ["publish", "deliver"] {
        let line = svg.query_selector(&format!("polyline.{class}")).ok().flatten().expect("a line");
        let points = line.get_attribute("points").unwrap_or_default();
        assert_eq!(points.split(' ').count(), 3, "{class}: one point per sample: {points}");
        assert!(svg.query_selector(&format!("circle.{class}")).ok().flatten().is_some(), "{class}: its newest value marked");
    }
    root.remove();
}

/// Regression (QA after a broker restart): a card whose consumer RabbitMQ refused
/// said "reconnecting in 1 s (attempt 1)" for good when its connection's
/// reconnect came after the refusal, hiding why nothing came.
#[wasm_bindgen_test]
fn a_cards_end_in_words_stays_when_its_connection_reconnects() {
    use burrow::ui::{CardAction, CardState, CardStatus};
    let start = CardAction::Started { generation: 1, status: CardStatus::Starting("connecting".into()), replay: None };
    let card = Rc::new(CardState::default()).reduce(start);
    let refused = CardStatus::Ended("RabbitMQ refused: NOT_FOUND - no queue 'q'".into());
    let card = card.reduce(CardAction::Status(1, refused.clone()));
    let reconnecting = CardStatus::Reconnecting { reason: "STOMP died".into(), attempt: 1, seconds: 1 };
    let card = card.reduce(CardAction::Status(1, reconnecting));
    assert_eq!(card.status, refused);
}

/// Regression (QA, the durability lesson): its own "Redeclare as not durable"
/// step is refused (PRECONDITION_FAILED), and that refusal replaced the declare:
/// the lesson's Publish buttons then said "declare task_queue_durable first"
/// although the queue was there. Both are shown; the queue stays declared.
#[wasm_bindgen_test]
fn a_refused_redeclare_leaves_the_lesson_s_queue_declared() {
    use burrow::ui::DeclareResult;
    let queue = "task_queue_durable".to_owned();
    let declared = DeclareResult::Declared { queue: queue.clone(), words: "declared (durable)".into() };
    let refused = DeclareResult::Refused { queue: queue.clone(), words: "PRECONDITION_FAILED".into() };
    let state = Rc::new(WorkbenchState::new(WorkbenchConfig::default()));
    let state = state.reduce(Action::Declared { result: declared.clone(), queue_type: None, lesson: Some(2) });
    let state = state.reduce(Action::Declared { result: refused.clone(), queue_type: None, lesson: Some(2) });
    let progress = state.guide.lesson(2);
    assert!(progress.declared(&queue), "still declared");
    assert_eq!(progress.declares.get(&queue), Some(&declared));
    assert_eq!(progress.refused_again.get(&queue), Some(&refused));
}

/// Regression (QA, the durability lesson): "Redeclare task_queue_durable as not
/// durable" was enabled before the lesson declared the queue; clicked first, it
/// made the queue transient and the lesson's durable declare was refused.
#[wasm_bindgen_test]
fn a_lesson_s_redeclare_waits_for_its_declare() {
    use burrow::ui::{lesson_step_enabled, DeclareResult, LessonAction, LESSONS};
    let (index, lesson) = LESSONS
        .iter()
        .enumerate()
        .find(|(_, l)| l.actions.iter().any(|a| matches!(a, LessonAction::Declare { durable: false, queue: "task_queue_durable" })))
        .expect("the durability lesson");
    let step = |durable: bool| {
        let found = lesson.actions.iter().position(|a| matches!(a, LessonAction::Declare { durable: d, .. } if *d == durable));
        found.expect("its declares")
    };
    let mut state = WorkbenchState::new(WorkbenchConfig::default());
    state.main.connected = true;
    let before = state.guide.lesson(index);
    assert_eq!(lesson_step_enabled(lesson, step(true), &before, &state), Ok(()), "the declare first");
    let refused = lesson_step_enabled(lesson, step(false), &before, &state);
    assert_eq!(refused, Err("declare task_queue_durable first".to_owned()));
    let declared = DeclareResult::Declared { queue: "task_queue_durable".into(), words: "declared (durable)".into() };
    let state = Rc::new(state).reduce(Action::Declared { result: declared, queue_type: None, lesson: Some(index) });
    let after = state.guide.lesson(index);
    assert_eq!(lesson_step_enabled(lesson, step(false), &after, &state), Ok(()), "then the redeclare");
}

/// Regression (QA, the purge dialog): left open while messages came, it asked
/// "Purge 3 messages" while the list beside it showed 5 (and all 5 went). It
/// takes each reading's counts.
#[wasm_bindgen_test]
fn an_open_purge_or_delete_question_takes_the_latest_counts() {
    use burrow::management::QueueState;
    use burrow::ui::QueueTool;
    let reading = |ready: u64| QueueState { name: "q".into(), messages_ready: ready, ..QueueState::default() };
    let purge = QueueTool::purge(&reading(3)).with_latest(&[reading(5)]);
    assert_eq!(purge, QueueTool::Purge { queue: "q".into(), ready: 5 });
    let delete = QueueTool::delete(&reading(3)).with_latest(&[reading(7)]);
    assert_eq!(delete, QueueTool::Delete { queue: "q".into(), ready: 7, unacked: 0 });
    let gone = QueueTool::purge(&reading(3)).with_latest(&[]);
    assert_eq!(gone, QueueTool::Purge { queue: "q".into(), ready: 3 }, "the last count it had");
}

/// Regression (QA): a timestamp showed as a bare number of seconds; now the date
/// too, and one beyond what a JavaScript Date holds (any u64 can arrive) stays a
/// number instead of throwing inside the wasm.
#[wasm_bindgen_test]
fn a_timestamp_is_shown_as_a_date_too() {
    use burrow::rabbit::BasicProperties;
    use burrow::ui::property_rows;
    let shown = |seconds: u64| {
        let rows = property_rows(&BasicProperties { timestamp: Some(seconds), ..BasicProperties::default() });
        rows.into_iter().find(|(name, _)| name == "timestamp").map(|(_, value)| value).unwrap_or_default()
    };
    assert_eq!(shown(1_796_626_292), "1796626292 (2026-12-07T06:51:32Z)");
    assert_eq!(shown(u64::MAX), u64::MAX.to_string());
}

/// Regression (QA, the purge dialog): "Its 1 message ready are deleted for good".
#[wasm_bindgen_test]
fn the_purge_question_agrees_in_number() {
    use burrow::ui::purge_question;
    let one = purge_question("q", 1);
    assert!(one.contains("Its 1 ready message is deleted for good"), "{one}");
    let many = purge_question("q", 12);
    assert!(many.contains("Its 12 ready messages are deleted for good"), "{many}");
    let none = purge_question("q", 0);
    assert!(none.contains("Its 0 ready messages are deleted for good"), "{none}");
}

/// Regression (QA): an auto-ack card read "(auto-ack, prefetch 0)" while RabbitMQ
/// showed that consumer with prefetch_count 256 (Burrow's window).
#[wasm_bindgen_test]
fn an_auto_ack_card_names_the_window_the_broker_shows() {
    use burrow::ui::{status_words, CardStatus, ConsumerSource, ConsumerSpec};
    let mut spec = ConsumerSpec {
        number: 1,
        source: ConsumerSource::Queue("q".into()),
        auto_ack: true,
        prefetch: 0,
        stream_offset: None,
        stream_filter: None,
        priority: None,
        replays: 0,
        crash_requested: false,
        stopped: false,
        lesson: None,
        fib_server: false,
    };
    let consuming = CardStatus::Consuming { node: "ws://n/ws".into(), queue: None };
    let words = status_words(&consuming, &spec);
    let window = burrow::reliable::AUTO_ACK_WINDOW;
    assert!(words.contains(&format!("prefetch {window}")) && !words.contains("prefetch 0"), "{words}");
    spec.prefetch = 1_000;
    let words = status_words(&consuming, &spec);
    assert!(words.contains("prefetch 1000"), "a larger prefetch is the window: {words}");
    spec.auto_ack = false;
    spec.prefetch = 0;
    let words = status_words(&consuming, &spec);
    assert!(words.contains("manual ack, prefetch 0"), "manual ack is as asked: {words}");
}

/// A consumer the lesson added, as its card would report it after `status`.
fn lesson_consumer_after(status: burrow::ui::CardStatus) -> Rc<WorkbenchState> {
    use burrow::ui::{CardAction, CardState, ConsumerSource, NewConsumer};
    let state = Rc::new(WorkbenchState::new(WorkbenchConfig::default()));
    let consumer = NewConsumer {
        source: ConsumerSource::Queue("水续传".into()),
        auto_ack: true,
        prefetch: 0,
        stream_offset: None,
        stream_filter: None,
        priority: None,
        lesson: Some((0, "first")),
        fib_server: false,
    };
    let state = state.reduce(Action::AddConsumer(consumer));
    let start = CardAction::Started { generation: 0, status: burrow::ui::CardStatus::Starting("connecting".into()), replay: None };
    let card = Rc::new(CardState::default()).reduce(start).reduce(CardAction::Status(0, status));
    state.reduce(Action::ConsumerProgress { number: 1, progress: card.progress() })
}

/// Regression (QA, lesson 1 after a broker restart): "✗ Consumer 1 ended; it
/// received 1." for a consumer RabbitMQ refused (NOT_FOUND) hid the reason.
#[wasm_bindgen_test]
fn a_lesson_says_why_its_consumer_ended() {
    use burrow::ui::{progress_lines, CardStatus, LESSONS};
    let refusal = "RabbitMQ refused: NOT_FOUND - no queue '水续传' in vhost '/'";
    let state = lesson_consumer_after(CardStatus::Ended(refusal.into()));
    let lines = progress_lines(&LESSONS[0], &state.guide.lesson(0), &state);
    let line = lines.iter().find(|l| l.words.starts_with("Consumer 1")).expect("the consumer's line");
    assert!(!line.ok, "{line:?}");
    assert!(line.words.contains(refusal), "the refusal in its words: {line:?}");
    let state = lesson_consumer_after(CardStatus::Stopped);
    let lines = progress_lines(&LESSONS[0], &state.guide.lesson(0), &state);
    let line = lines.iter().find(|l| l.words.starts_with("Consumer 1")).expect("the consumer's line");
    assert!(line.words.contains("Stop all consumers"), "a stop says so: {line:?}");
}

/// A card that took one delivery (`persistent` or not), unacked, and then `status`.
fn card_holding_one(card: burrow::ui::CardState, persistent: bool, status: burrow::ui::CardStatus) -> Option<String> {
    use burrow::ui::{Arrivals, CardAction, CardEntry, Shown};
    let shown = Shown {
        number: 1,
        preview: "fan 1".into(),
        size: 5,
        redelivered: false,
        resent: false,
        persistent,
        offset: None,
        delivery_count: None,
        copy: None,
        details: Vec::new(),
        needs_ack: true,
        settled: None,
    };
    let start = CardAction::Started { generation: 0, status: burrow::ui::CardStatus::Starting("connecting".into()), replay: None };
    let arrivals = Arrivals { shown: vec![shown], received: 1, ..Arrivals::default() };
    // As the card's hook tells it: a crash or a stop is the card's own doing; a
    // replay starts the card again.
    let end = match status {
        burrow::ui::CardStatus::Crashed | burrow::ui::CardStatus::Stopped => CardAction::Returned(status),
        burrow::ui::CardStatus::Starting(words) if words == "replay" => {
            let replay = Some(burrow::rabbit::StreamOffset::Offset(1));
            CardAction::Started { generation: 1, status: burrow::ui::CardStatus::Starting(words), replay }
        }
        status => CardAction::Status(0, status),
    };
    let card = Rc::new(card).reduce(start).reduce(CardAction::Arrived(0, arrivals)).reduce(end);
    card.entries.newest(2).into_iter().find_map(|e| match e {
        CardEntry::Delivery(shown) => shown.settled.map(|s| s.words()),
        CardEntry::Replay { .. } => None,
    })
}

/// Regression (QA, a broker restart): every unacked delivery was marked
/// "returned to the queue" on a lost connection, also a message that was not
/// persistent (gone with the broker's restart).
#[wasm_bindgen_test]
fn a_lost_connection_does_not_claim_a_transient_message_went_back() {
    use burrow::ui::{CardState, CardStatus};
    let lost = || CardStatus::Reconnecting { reason: "STOMP died".into(), attempt: 1, seconds: 1 };
    let mark = card_holding_one(CardState::default(), false, lost()).unwrap_or_default();
    assert_eq!(mark, "returned to the queue unless the broker went down (not persistent)");
    let mark = card_holding_one(CardState::default(), true, lost()).unwrap_or_default();
    assert_eq!(mark, "returned to the queue unless the broker went down and the queue is not durable");
    // A crash closes the connection itself: the broker is up and takes it back.
    let mark = card_holding_one(CardState::default(), false, CardStatus::Crashed).unwrap_or_default();
    assert_eq!(mark, "returned to the queue");
}

/// Regression (QA, a stream's Replay): the deliveries the replaced consumer
/// showed kept Ack buttons, whose click said "the connection was stopped;
/// RabbitMQ will redeliver", which a stream does not.
#[wasm_bindgen_test]
fn a_replay_marks_what_the_replaced_consumer_showed() {
    use burrow::ui::{CardState, CardStatus};
    let mark = card_holding_one(CardState::default(), true, CardStatus::Starting("replay".into())).unwrap_or_default();
    assert_eq!(mark, "left for the replay: a stream keeps every message");
}

/// A durable subscription's persistent message survives a restart: said plainly;
/// a transient subscription's queue goes with any connection, and its message too.
#[wasm_bindgen_test]
fn a_cards_marks_follow_what_its_queue_keeps() {
    use burrow::ui::{CardState, CardStatus, QueueLife};
    let lost = || CardStatus::Reconnecting { reason: "STOMP died".into(), attempt: 1, seconds: 1 };
    let durable = || CardState::reading(QueueLife::Durable);
    assert_eq!(card_holding_one(durable(), true, lost()).unwrap_or_default(), "returned to the queue");
    let mark = card_holding_one(durable(), false, lost()).unwrap_or_default();
    assert_eq!(mark, "returned to the queue unless the broker went down (not persistent)");
    let transient = || CardState::reading(QueueLife::Transient);
    for status in [lost(), CardStatus::Crashed] {
        let mark = card_holding_one(transient(), true, status).unwrap_or_default();
        assert_eq!(mark, "lost: its transient queue went with the connection");
    }
    let cancelled = CardStatus::Ended("RabbitMQ cancelled the consumer (was its queue deleted?)".into());
    let mark = card_holding_one(durable(), true, cancelled).unwrap_or_default();
    assert_eq!(mark, "returned to the queue unless the queue was deleted");
}

/// Regression (QA R2): on RabbitMQ 4.0.5 a quorum queue dropped a message at
/// its 21st requeue (4.0's default delivery-limit of 20), and the card's "Nack
/// (requeue)" mark said only "requeued".
#[wasm_bindgen_test]
fn a_requeue_on_a_quorum_queue_of_rabbitmq_4_names_its_delivery_limit() {
    use burrow::ui::{Settlement, DEFAULT_DELIVERY_LIMIT};
    assert_eq!(DEFAULT_DELIVERY_LIMIT, 20);
    // 3.x has no default limit; a classic queue counts nothing.
    assert_eq!(Settlement::requeued(Some(3), Some("RabbitMQ/3.10.8")).words(), "requeued");
    assert_eq!(Settlement::requeued(None, Some("RabbitMQ/4.0.5")).words(), "requeued");
    assert_eq!(Settlement::requeued(Some(3), None).words(), "requeued", "an unknown broker: nothing claimed");
    let third = Settlement::requeued(Some(2), Some("RabbitMQ/4.0.5"));
    assert_eq!(
        third.words(),
        "requeued (return 3 of 20: RabbitMQ 4.x drops or dead-letters it after 20 returns unless the queue sets delivery-limit)"
    );
    assert_eq!(third.tone(), "good");
    assert_eq!(Settlement::requeued(Some(16), Some("RabbitMQ/4.0.5")).tone(), "warn", "near the limit");
    let last = Settlement::requeued(Some(20), Some("RabbitMQ/4.1.0"));
    assert_eq!(
        last.words(),
        "requeued, its return 21: RabbitMQ 4.x drops or dead-letters it after 20 returns unless the queue sets delivery-limit"
    );
    assert_eq!(last.tone(), "warn");
}

/// The status line's warnings (QA W4): a repeat is counted, the oldest goes.
#[wasm_bindgen_test]
fn the_main_connection_keeps_its_last_warnings() {
    let mut main = burrow::ui::MainConnection::default();
    for words in ["a", "b", "b", "c", "d"] {
        main.warn(words);
    }
    assert_eq!(main.warnings, vec![("b".to_owned(), 2), ("c".to_owned(), 1), ("d".to_owned(), 1)]);
    assert_eq!(main.warnings.len(), burrow::ui::WARNINGS_KEPT);
}

/// A lesson's reset is marked done only when every step went; what failed is
/// said first (the widget's regression test is in `tests/browser_ui_page.rs`).
#[wasm_bindgen_test]
fn a_reset_is_done_only_when_every_step_went() {
    use burrow::ui::ResetOutcome;
    let words = |items: &[&str]| items.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
    let clean = ResetOutcome::of(&words(&["removed Consumer 1", "queue hello was not there"]), &[]);
    assert_eq!((clean.ok, clean.words.as_str()), (true, "Reset: removed Consumer 1; queue hello was not there."));
    let partly = ResetOutcome::of(&words(&["removed Consumer 1"]), &words(&["could not delete queue hello: refused"]));
    assert_eq!(
        (partly.ok, partly.words.as_str()),
        (false, "Reset incomplete: could not delete queue hello: refused. Done: removed Consumer 1.")
    );
    let none = ResetOutcome::of(&[], &words(&["could not delete exchange logs: refused"]));
    assert_eq!((none.ok, none.words.as_str()), (false, "Reset failed: could not delete exchange logs: refused."));
    assert_eq!(ResetOutcome::of(&[], &[]), ResetOutcome { ok: true, words: "Nothing to reset.".to_owned() });
}

/// QA (the publish/subscribe lesson across a broker restart): the restart
/// deleted the non-durable exchange `logs`, both subscribers ended NOT_FOUND, and
/// the lesson kept "Consumer 1 subscribed", its Subscribe buttons off, until a
/// reset. An ended subscriber can be subscribed again, and its line says what to do.
#[wasm_bindgen_test]
fn a_lesson_subscriber_the_broker_ended_can_subscribe_again() {
    use burrow::ui::{
        lesson_step_enabled, progress_lines, CardAction, CardState, CardStatus, ConsumerSource, LessonAction, NewConsumer, LESSONS,
    };
    let (index, lesson) = LESSONS
        .iter()
        .enumerate()
        .find(|(_, l)| l.actions.iter().any(|a| matches!(a, LessonAction::Subscribe { exchange: "logs", .. })))
        .expect("the publish/subscribe lesson");
    let subscribe = lesson.actions.iter().position(|a| matches!(a, LessonAction::Subscribe { role: "first", .. })).expect("its step");
    let mut state = WorkbenchState::new(WorkbenchConfig::default());
    state.main.connected = true;
    state.main.settings = Some(burrow::ui::ConnectionSettings {
        url: "ws://127.0.0.1:15674/ws".into(),
        options: burrow::client::ConnectOptions::new("/"),
        management_url: None,
    });
    let declared = Action::LessonExchange { lesson: index, exchange: "logs".into(), ok: true, words: "declared".into() };
    let state = Rc::new(state).reduce(declared);
    let consumer = NewConsumer {
        source: ConsumerSource::Exchange { exchange: "logs".into(), routing_key: String::new(), durable_queue: None },
        auto_ack: true,
        prefetch: 0,
        stream_offset: None,
        stream_filter: None,
        priority: None,
        lesson: Some((index, "first")),
        fib_server: false,
    };
    let state = state.reduce(Action::AddConsumer(consumer));
    let start = CardAction::Started { generation: 0, status: CardStatus::Starting("connecting".into()), replay: None };
    let running = Rc::new(CardState::default()).reduce(start).reduce(CardAction::Status(0, CardStatus::Consuming { node: "rabbit@vm".into(), queue: None }));
    let state = state.reduce(Action::ConsumerProgress { number: 1, progress: running.progress() });
    assert!(lesson_step_enabled(lesson, subscribe, &state.guide.lesson(index), &state).is_err(), "subscribed");
    let refusal = "RabbitMQ refused: NOT_FOUND - no exchange 'logs' in vhost '/'";
    let ended = running.reduce(CardAction::Status(0, CardStatus::Ended(refusal.into())));
    let state = state.reduce(Action::ConsumerProgress { number: 1, progress: ended.progress() });
    let progress = state.guide.lesson(index);
    assert_eq!(lesson_step_enabled(lesson, subscribe, &progress, &state), Ok(()), "it can subscribe again");
    let lines = progress_lines(lesson, &progress, &state);
    let line = lines.iter().find(|l| l.words.starts_with("Consumer 1")).expect("the consumer's line");
    assert!(line.words.contains("declare the exchange again, then subscribe again"), "{line:?}");
}
