//! A lesson's buttons and progress, derived from the workbench's state: what
//! each button says and whether it makes sense now, and what happened so far,
//! naming consumers as their cards do.

use super::super::state::{CardPhase, LessonProgress, WorkbenchState};
use super::lessons::{Lesson, LessonAction};

/// The consumer a lesson bound to `role`, while its card exists.
fn bound(progress: &LessonProgress, ws: &WorkbenchState, role: &str) -> Option<u32> {
    progress.consumers.get(role).copied().filter(|n| ws.consumers.get(*n).is_some())
}

/// The lesson's consumer bound to `role`, while its card still consumes: a
/// crashed or ended one serves nothing (QA: "Consumer 12 serves rpc_queue"
/// stayed, its button off, after the Crash, and the next call timed out) and
/// receives nothing (QA: subscribers a broker restart ended NOT_FOUND, their
/// exchange gone, kept "Consumer 1 subscribed" until a reset).
fn serving(progress: &LessonProgress, ws: &WorkbenchState, role: &str) -> Option<u32> {
    bound(progress, ws, role).filter(|number| ws.consumers.progress_of(*number).phase.running())
}

/// Whether the lesson's `queue` is there to use: the lesson declared it (as the
/// tutorial does first, every time).
fn usable(progress: &LessonProgress, queue: &str) -> bool {
    progress.declared(queue)
}

/// The words on `action`'s button (the `index`th of `lesson`).
pub fn label(lesson: &Lesson, index: usize, progress: &LessonProgress, ws: &WorkbenchState) -> String {
    let Some(action) = lesson.actions.get(index) else { return String::new() };
    match *action {
        LessonAction::Declare { queue, durable } => {
            match (redeclares(lesson, index, queue), durable) {
                (true, true) => format!("Redeclare {queue} as durable"),
                (true, false) => format!("Redeclare {queue} as not durable"),
                (false, true) => format!("Declare {queue} (durable)"),
                (false, false) => format!("Declare {queue}"),
            }
        }
        LessonAction::Publish { body, persistent, count, .. } => {
            let what = if count == 1 { format!("Publish “{body}”") } else { format!("Publish {count} × “{body}”") };
            if persistent { format!("{what} (persistent)") } else { what }
        }
        LessonAction::AddConsumer { role, auto_ack, prefetch, .. } => match bound(progress, ws, role) {
            Some(number) => format!("Consumer {number} added"),
            None => {
                let mode = if auto_ack { "auto-ack".to_owned() } else { format!("manual ack, prefetch {prefetch}") };
                let which = if role == "first" { "a consumer" } else { "a second consumer" };
                format!("Add {which} ({mode})")
            }
        },
        LessonAction::Crash { role } => match bound(progress, ws, role) {
            Some(number) => format!("Crash Consumer {number}"),
            None => format!("Crash the {role} consumer"),
        },
        _ => exchange_label(action, progress, ws),
    }
}

/// The words on the buttons of the exchange and RPC lessons.
fn exchange_label(action: &LessonAction, progress: &LessonProgress, ws: &WorkbenchState) -> String {
    match *action {
        LessonAction::DeclareExchange { exchange, kind } => format!("Declare exchange {exchange} ({kind})"),
        LessonAction::Subscribe { role, exchange, routing_key } => match serving(progress, ws, role) {
            Some(number) => format!("Consumer {number} subscribed"),
            None if routing_key.is_empty() => format!("Subscribe a {role} consumer to {exchange}"),
            None => format!("Subscribe a {role} consumer to {exchange} with key {routing_key}"),
        },
        LessonAction::PublishTo { routing_key: "", body, .. } => format!("Publish “{body}”"),
        LessonAction::PublishTo { routing_key, body, .. } => format!("Publish “{body}” with key {routing_key}"),
        LessonAction::Serve { role, queue } => match serving(progress, ws, role) {
            Some(number) => format!("Consumer {number} serves {queue}"),
            None => "Start the Fibonacci server".to_owned(),
        },
        LessonAction::Call { n, .. } => format!("Call fib({n})"),
        _ => String::new(),
    }
}

/// Whether the `index`th step of `lesson` declares `queue` again (an earlier step declares it).
fn redeclares(lesson: &Lesson, index: usize, queue: &str) -> bool {
    lesson.actions.iter().take(index).any(|a| matches!(a, LessonAction::Declare { queue: q, .. } if *q == queue))
}

/// `Ok` when the `index`th step of `lesson` makes sense now; otherwise why not,
/// in words. A redeclare only once the lesson declared its queue (QA: clicked
/// first, "Redeclare task_queue_durable as not durable" made the queue
/// transient, and the lesson's durable declare was then refused).
pub fn step_enabled(lesson: &Lesson, index: usize, progress: &LessonProgress, ws: &WorkbenchState) -> Result<(), String> {
    let Some(action) = lesson.actions.get(index) else { return Err(String::new()) };
    match *action {
        LessonAction::Declare { queue, .. } if ws.main.connected && redeclares(lesson, index, queue) && !usable(progress, queue) => {
            Err(format!("declare {queue} first"))
        }
        _ => enabled(action, progress, ws),
    }
}

/// `Ok` when `action` makes sense now; otherwise why not, in words.
fn enabled(action: &LessonAction, progress: &LessonProgress, ws: &WorkbenchState) -> Result<(), String> {
    let connected = ws.main.connected;
    match *action {
        LessonAction::Declare { .. } if !connected => Err("connect first".to_owned()),
        LessonAction::Declare { .. } => Ok(()),
        LessonAction::Publish { .. } if !ws.main.running => Err("connect first".to_owned()),
        LessonAction::Publish { queue, .. } if !usable(progress, queue) => Err(format!("declare {queue} first")),
        LessonAction::Publish { .. } => Ok(()),
        LessonAction::AddConsumer { .. } if ws.main.settings.is_none() => Err("connect first".to_owned()),
        LessonAction::AddConsumer { queue, .. } if !usable(progress, queue) => Err(format!("declare {queue} first")),
        LessonAction::AddConsumer { role, .. } => match bound(progress, ws, role) {
            Some(number) => Err(format!("Consumer {number} is this lesson's {role} consumer")),
            None => Ok(()),
        },
        LessonAction::DeclareExchange { .. } if !connected => Err("connect first".to_owned()),
        LessonAction::DeclareExchange { .. } => Ok(()),
        LessonAction::Subscribe { .. } if ws.main.settings.is_none() => Err("connect first".to_owned()),
        LessonAction::Subscribe { exchange, .. } if !progress.exchange_declared(exchange) => {
            Err(format!("declare exchange {exchange} first"))
        }
        LessonAction::Subscribe { role, .. } if serving(progress, ws, role).is_some() => {
            Err(format!("this lesson's {role} consumer is there"))
        }
        LessonAction::Serve { role, .. } if serving(progress, ws, role).is_some() => {
            Err(format!("this lesson's {role} consumer is there"))
        }
        LessonAction::Subscribe { .. } => Ok(()),
        LessonAction::PublishTo { .. } if !ws.main.running => Err("connect first".to_owned()),
        LessonAction::PublishTo { exchange, .. } if !progress.exchange_declared(exchange) => {
            Err(format!("declare exchange {exchange} first"))
        }
        LessonAction::PublishTo { .. } => Ok(()),
        LessonAction::Serve { .. } if ws.main.settings.is_none() => Err("connect first".to_owned()),
        LessonAction::Serve { queue, .. } if !usable(progress, queue) => Err(format!("declare {queue} first")),
        LessonAction::Serve { .. } => Ok(()),
        LessonAction::Call { .. } if !ws.main.running => Err("connect first".to_owned()),
        LessonAction::Call { queue, .. } if !usable(progress, queue) => Err(format!("declare {queue} first")),
        LessonAction::Call { .. } => Ok(()),
        LessonAction::Crash { role } => {
            let Some(number) = bound(progress, ws, role) else { return Err(format!("add the {role} consumer first")) };
            let report = ws.consumers.progress_of(number);
            match report.phase {
                CardPhase::Crashed => Err(format!("Consumer {number} has crashed")),
                phase if !phase.live() => Err(format!("Consumer {number} is not consuming")),
                _ if report.unacked == 0 => Err(format!("Consumer {number} holds no message yet: publish first")),
                _ => Ok(()),
            }
        }
    }
}

/// One line of a lesson's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressLine {
    /// It went as the lesson expects (else it is a refusal or a failure).
    pub ok: bool,
    /// What happened.
    pub words: String,
}

/// What happened in the lesson so far.
pub fn lines(lesson: &Lesson, progress: &LessonProgress, ws: &WorkbenchState) -> Vec<ProgressLine> {
    let mut lines = Vec::new();
    for (ok, words) in progress.exchanges.values() {
        lines.push(ProgressLine { ok: *ok, words: words.clone() });
    }
    for result in progress.declares.values().chain(progress.refused_again.values()) {
        lines.push(ProgressLine { ok: result.ok(), words: result.words().to_owned() });
    }
    let counts = progress.publishes;
    if counts.published > 0 {
        let mut words = format!("Published {}: confirmed {}, pending {}", counts.published, counts.confirmed, counts.pending());
        if counts.nowhere > 0 {
            words.push_str(&format!(", routed nowhere {}", counts.nowhere));
        }
        if counts.failed > 0 {
            words.push_str(&format!(", failed {}", counts.failed));
        }
        lines.push(ProgressLine { ok: counts.failed == 0 && counts.nowhere == 0, words: format!("{words}.") });
    }
    let roles = lesson.actions.iter().filter_map(|a| match a {
        LessonAction::AddConsumer { role, .. } | LessonAction::Subscribe { role, .. } | LessonAction::Serve { role, .. } => {
            Some(*role)
        }
        _ => None,
    });
    for role in roles {
        let Some(&number) = progress.consumers.get(role) else { continue };
        lines.push(consumer_line(number, ws));
    }
    for (ok, words) in &progress.calls {
        lines.push(ProgressLine { ok: *ok, words: words.clone() });
    }
    if lines.is_empty() {
        if let Some(reset) = &progress.reset {
            lines.push(ProgressLine { ok: reset.ok, words: reset.words.clone() });
        }
    }
    lines
}

/// What the lesson's consumer `number` did, as its card would say.
fn consumer_line(number: u32, ws: &WorkbenchState) -> ProgressLine {
    let Some(spec) = ws.consumers.get(number) else {
        return ProgressLine { ok: false, words: format!("Consumer {number} was removed.") };
    };
    let report = ws.consumers.progress_of(number);
    let counts = format!("received {}, redelivered {}, holds {} unacked", report.received, report.redelivered, report.unacked);
    let words = match report.phase {
        CardPhase::Starting => format!("Consumer {number}: starting."),
        CardPhase::Consuming => format!("Consumer {number}: consuming; {counts}."),
        CardPhase::Reconnecting => format!("Consumer {number}: reconnecting; {counts}."),
        // An auto-ack consumer holds nothing: RabbitMQ counted each message done as it sent it (QA).
        CardPhase::Crashed if spec.auto_ack => format!(
            "Consumer {number} crashed after receiving {}: with auto-ack nothing was unacked, so nothing went back to the queue.",
            report.received
        ),
        CardPhase::Crashed => format!(
            "Consumer {number} crashed after receiving {}: what it had not acked went back to the queue.",
            report.received
        ),
        CardPhase::Ended => match &report.ended {
            // A broker restart deletes a non-durable exchange, such as the tutorial's.
            Some(why) if why.contains("no exchange") => format!(
                "Consumer {number} ended: {why}; it received {}. A broker restart deletes a non-durable exchange: \
                 declare the exchange again, then subscribe again.",
                report.received
            ),
            Some(why) => format!("Consumer {number} ended: {why}; it received {}.", report.received),
            None => format!("Consumer {number} ended; it received {}.", report.received),
        },
    };
    ProgressLine { ok: report.phase != CardPhase::Ended, words }
}
