//! Every queue of the virtual host from the management API, read again at the
//! rate the user picked, with the time of the last reading; what it cannot show
//! (a user without a management tag) said in words.

use std::rc::Rc;

use gloo_timers::callback::Interval;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::management::{ManagementError, QueueState};
use crate::rabbit::QueueType;

use super::super::state::ConnectionSettings;

/// Why the management API gave no answer, for the words the panels show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadProblem {
    /// No address for it (an unusual Web-STOMP URL).
    NoApi,
    /// It refused the login that Web-STOMP took: the user has no management tag.
    NoManagementTag {
        /// The login.
        login: String,
    },
    /// Anything else, in words.
    Failed(String),
}

impl ReadProblem {
    /// From the management API's error, for `settings`' user.
    pub fn from_error(error: &ManagementError, settings: &ConnectionSettings) -> Self {
        match error {
            ManagementError::Unauthorized => ReadProblem::NoManagementTag { login: settings.login().to_owned() },
            other => ReadProblem::Failed(super::super::state::management_failure(other)),
        }
    }

    /// In words, with what still works.
    pub fn words(&self) -> String {
        match self {
            ReadProblem::NoApi => "No management API for this URL: the queue list and figures need it. The forms still work.".to_owned(),
            ReadProblem::NoManagementTag { login } => format!(
                "The management API refused user “{login}”: it has no management tag (management, monitoring or \
                 administrator), so the queue list, figures, peek, purge, delete and route checks are not available. \
                 Publishing, declaring and consuming still work: type a queue's name."
            ),
            ReadProblem::Failed(words) => format!("Reading from the management API failed: {words}. Everything else keeps working."),
        }
    }
}

/// The page's local time now, as 18:33:04.
pub fn clock_now() -> String {
    let now = js_sys::Date::new_0();
    format!("{:02}:{:02}:{:02}", now.get_hours(), now.get_minutes(), now.get_seconds())
}

/// What the list shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueList {
    /// The queues of the last reading.
    pub queues: Rc<Vec<QueueState>>,
    /// When it was read (local time), once it was.
    pub read_at: Option<String>,
    /// Why the last reading failed, if it did.
    pub problem: Option<ReadProblem>,
}

/// What happens to the list.
pub enum ListAction {
    /// A reading.
    Read(Vec<QueueState>),
    /// A reading failed.
    Failed(ReadProblem),
    /// Disconnected before any connection: nothing to show.
    Clear,
}

impl Reducible for QueueList {
    type Action = ListAction;

    fn reduce(self: Rc<Self>, action: ListAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            ListAction::Read(queues) => {
                next.queues = Rc::new(queues);
                next.read_at = Some(clock_now());
                next.problem = None;
            }
            ListAction::Failed(problem) => next.problem = Some(problem),
            ListAction::Clear => next = QueueList::default(),
        }
        Rc::new(next)
    }
}

/// The list, and a way to read it again now.
pub struct QueueListHandle {
    /// What to show.
    pub list: QueueList,
    /// Reads it again now (after a purge or delete, or when asked).
    pub refresh: Callback<()>,
}

/// Reads every queue of `settings`' virtual host now and then every
/// `period_ms` (`None`: only when asked); `on_types` hears the queue types read.
#[hook]
pub fn use_queue_list(
    settings: Option<ConnectionSettings>,
    period_ms: Option<u32>,
    on_types: Callback<Vec<(String, QueueType)>>,
) -> QueueListHandle {
    let list = use_reducer_eq(QueueList::default);
    let read = {
        let (list, settings) = (list.clone(), settings.clone());
        Callback::from(move |()| read_list(list.clone(), settings.clone(), on_types.clone()))
    };
    {
        let read = read.clone();
        let list = list.clone();
        use_effect_with((settings, period_ms), move |(settings, period)| {
            if settings.is_none() {
                list.dispatch(ListAction::Clear);
            }
            read.emit(());
            let interval = period.map(|ms| Interval::new(ms, move || read.emit(())));
            move || drop(interval)
        });
    }
    QueueListHandle { list: (*list).clone(), refresh: read }
}

fn read_list(list: UseReducerHandle<QueueList>, settings: Option<ConnectionSettings>, on_types: Callback<Vec<(String, QueueType)>>) {
    let Some(settings) = settings else { return };
    let Some(api) = settings.management() else {
        list.dispatch(ListAction::Failed(ReadProblem::NoApi));
        return;
    };
    spawn_local(async move {
        match api.queues(settings.vhost()).await {
            Ok(queues) => {
                let types = queues.iter().filter_map(|q| Some((q.name.clone(), q.queue_type.parse().ok()?))).collect();
                on_types.emit(types);
                list.dispatch(ListAction::Read(queues));
            }
            Err(error) => list.dispatch(ListAction::Failed(ReadProblem::from_error(&error, &settings))),
        }
    });
}
