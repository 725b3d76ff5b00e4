//! A card reports its progress to the workbench (the tutorial shows it): at
//! once when where it stands changes, otherwise at most twice a second, so a
//! flood of deliveries does not redraw every panel for each batch.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use super::super::actions::page_now_ms;
use super::super::state::ConsumerProgress;

/// At most one report per this many milliseconds while only the counts move.
const REPORT_EVERY_MS: f64 = 500.0;

#[derive(Default)]
struct Reports {
    sent: Option<ConsumerProgress>,
    sent_at: f64,
    latest: ConsumerProgress,
    scheduled: bool,
}

/// Emits `progress` through `report` when it changes, throttled (see the module).
#[hook]
pub fn use_progress_report(progress: ConsumerProgress, report: Callback<ConsumerProgress>) {
    let reports: Rc<RefCell<Reports>> = use_mut_ref(Reports::default);
    use_effect_with(progress, move |progress| {
        let now = page_now_ms();
        let mut memo = reports.borrow_mut();
        memo.latest = progress.clone();
        let urgent = memo.sent.as_ref().is_none_or(|sent| {
            sent.phase != progress.phase || sent.unacked != progress.unacked || sent.ended != progress.ended
        });
        if urgent || now - memo.sent_at >= REPORT_EVERY_MS {
            memo.sent = Some(progress.clone());
            memo.sent_at = now;
            drop(memo);
            report.emit(progress.clone());
        } else if !std::mem::replace(&mut memo.scheduled, true) {
            let wait = (REPORT_EVERY_MS - (now - memo.sent_at)).max(0.0) as u32;
            let reports = reports.clone();
            spawn_local(async move {
                TimeoutFuture::new(wait).await;
                let latest = {
                    let mut memo = reports.borrow_mut();
                    memo.scheduled = false;
                    memo.sent = Some(memo.latest.clone());
                    memo.sent_at = page_now_ms();
                    memo.latest.clone()
                };
                report.emit(latest);
            });
        }
    });
}
