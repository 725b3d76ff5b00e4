//! One queue's figures from the management API, read again at the user's rate,
//! with a short history of its rates for the chart and the time of the reading.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use gloo_timers::callback::Interval;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::management::{ManagementError, QueueState};
use crate::rabbit::QueueType;

use super::super::chart::{RateSample, HISTORY};
use super::super::state::ConnectionSettings;
use super::use_queue_list::{clock_now, ReadProblem};

/// What the figures show.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Figures {
    /// The last reading, while the queue exists.
    pub latest: Option<QueueState>,
    /// The queue the readings are of.
    pub queue: String,
    /// No such queue (yet).
    pub missing: bool,
    /// Why the last reading failed, if it did.
    pub problem: Option<ReadProblem>,
    /// When it was last read (local time).
    pub read_at: Option<String>,
    /// The rates of the recent readings, oldest first.
    pub history: VecDeque<RateSample>,
}

/// What happens to the figures.
pub enum FiguresAction {
    /// Another queue is selected: start afresh.
    For(String),
    /// A reading of a queue (`None`: it does not exist).
    Read(String, Option<QueueState>),
    /// A reading failed.
    Failed(ReadProblem),
}

impl Reducible for Figures {
    type Action = FiguresAction;

    fn reduce(self: Rc<Self>, action: FiguresAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            FiguresAction::For(queue) => next = Figures { queue, ..Figures::default() },
            // A reading of the queue selected before comes too late.
            FiguresAction::Read(queue, _) if queue != next.queue => {}
            FiguresAction::Read(_, state) => {
                next.read_at = Some(clock_now());
                next.problem = None;
                next.missing = state.is_none();
                if let Some(state) = &state {
                    next.history.push_back(RateSample { publish: state.publish_rate, deliver: state.deliver_rate });
                    while next.history.len() > HISTORY {
                        next.history.pop_front();
                    }
                }
                next.latest = state;
            }
            FiguresAction::Failed(problem) => next.problem = Some(problem),
        }
        Rc::new(next)
    }
}

/// The queue whose last reading said it does not exist, if any: shared by the
/// readings of one Queue card.
type KnownMissing = Rc<RefCell<Option<String>>>;

/// Reads `queue`'s figures now and every `period_ms` (`None`: only when asked);
/// again each time `asked` (how many times they were asked for) grows;
/// `on_type` hears its type. Once a reading finds no such queue, the next ones
/// look for it by name first (see `read_figures`).
#[hook]
pub fn use_queue_figures(
    settings: Option<ConnectionSettings>,
    queue: String,
    period_ms: Option<u32>,
    asked: u32,
    on_type: Callback<Vec<(String, QueueType)>>,
) -> Figures {
    let figures = use_reducer_eq(Figures::default);
    let missing: KnownMissing = use_mut_ref(|| None);
    {
        let (figures, settings, queue, on_type) = (figures.clone(), settings.clone(), queue.clone(), on_type.clone());
        let missing = missing.clone();
        // Not on the first render: the effect below reads then.
        let first = use_mut_ref(|| true);
        use_effect_with(asked, move |_| {
            if !std::mem::replace(&mut *first.borrow_mut(), false) {
                if let Some(settings) = settings {
                    read_figures(Reader { figures, settings, missing }, queue, on_type);
                }
            }
        });
    }
    {
        let figures = figures.clone();
        use_effect_with((settings, queue, period_ms), move |(settings, queue, period)| {
            figures.dispatch(FiguresAction::For(queue.clone()));
            let interval = settings.clone().map(|settings| {
                let queue = queue.clone();
                let reader = Reader { figures: figures.clone(), settings, missing: missing.clone() };
                let read = move || read_figures(reader.clone(), queue.clone(), on_type.clone());
                read();
                period.map(|ms| Interval::new(ms, read))
            });
            move || drop(interval)
        });
    }
    (*figures).clone()
}

/// What a reading needs besides the queue: where its figures go, the
/// connection's settings, and the queue known missing.
#[derive(Clone)]
struct Reader {
    figures: UseReducerHandle<Figures>,
    settings: ConnectionSettings,
    missing: KnownMissing,
}

/// Reads `queue`'s figures. A queue the last reading found missing is looked
/// for by name first (a 200 either way), and read only once listed: reading it would
/// be a 404 each period, a red error in the browser's console every time (QA);
/// the look-up asks for that one name, not every queue's.
fn read_figures(reader: Reader, queue: String, on_type: Callback<Vec<(String, QueueType)>>) {
    let Reader { figures, settings, missing } = reader;
    let Some(api) = settings.management() else {
        figures.dispatch(FiguresAction::Failed(ReadProblem::NoApi));
        return;
    };
    spawn_local(async move {
        let failed = |error: ManagementError| FiguresAction::Failed(ReadProblem::from_error(&error, &settings));
        if missing.borrow().as_deref() == Some(queue.as_str()) {
            match api.queue_exists(settings.vhost(), &queue).await {
                Ok(false) => return figures.dispatch(FiguresAction::Read(queue, None)),
                Ok(true) => {}
                Err(error) => return figures.dispatch(failed(error)),
            }
        }
        match api.queue(settings.vhost(), &queue).await {
            Ok(state) => {
                *missing.borrow_mut() = state.is_none().then(|| queue.clone());
                if let Some(kind) = state.as_ref().and_then(|s| s.queue_type.parse::<QueueType>().ok()) {
                    on_type.emit(vec![(queue.clone(), kind)]);
                }
                figures.dispatch(FiguresAction::Read(queue, state));
            }
            Err(error) => figures.dispatch(failed(error)),
        }
    });
}
