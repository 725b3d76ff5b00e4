//! Publishing from the producer (and the tutorial): copies numbered as asked,
//! each confirm shown, and a confirm never called "confirmed" when the
//! destination takes nothing (RabbitMQ confirms such a message and drops it).

use std::rc::Rc;

use wasm_bindgen_futures::spawn_local;

use crate::management::{ManagementError, RouteCheck};
use crate::rabbit::BasicProperties;
use crate::reliable::{PublishConfirm, PublishError, ReliableConnection};

use super::actions::page_now_ms;
use super::live::{LiveHandles, RouteKnown, ROUTE_CHECK_FRESH_MS};
use yew::UseReducerDispatcher;

use super::state::{management_failure, Action, ConnectionSettings, Destination, PublishOutcome, PublishRecord, Workbench, WorkbenchState};

/// The header that numbers copies when "How many" is above 1 (by default).
pub const COPY_HEADER: &str = "burrow-copy";

/// How many characters of a body a publish record keeps.
const RECORD_PREVIEW_CHARS: usize = 300;

/// How "How many" copies are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Numbering {
    /// A `burrow-copy: n/N` header; the body is sent as typed.
    #[default]
    Header,
    /// ` #n` appended to the body (which then is no longer, say, JSON).
    Body,
    /// Not at all: identical copies.
    Off,
}

/// One click of Publish.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishRequest {
    /// Where to.
    pub destination: Destination,
    /// The body, as typed.
    pub body: String,
    /// Every property, headers included.
    pub properties: BasicProperties,
    /// How many copies, from 1.
    pub count: u32,
    /// How copies are numbered.
    pub numbering: Numbering,
    /// The tutorial lesson publishing, if any.
    pub lesson: Option<usize>,
}

impl PublishRequest {
    /// Copy `index` (from 0): its body and properties.
    fn copy(&self, index: u32) -> (String, BasicProperties, Option<String>) {
        let mut properties = self.properties.clone();
        if self.count <= 1 {
            return (self.body.clone(), properties, None);
        }
        let copy = format!("{}/{}", index + 1, self.count);
        match self.numbering {
            Numbering::Header => {
                properties.headers.push((COPY_HEADER.to_owned(), copy.clone()));
                (self.body.clone(), properties, Some(copy))
            }
            Numbering::Body => (format!("{} #{}", self.body, index + 1), properties, None),
            Numbering::Off => (self.body.clone(), properties, None),
        }
    }
}

/// Where `destination` routes, checked through the management API unless a
/// check is fresh. A stale answer is marked fresh before asking again, so a
/// burst of confirms asks once (the others use the previous answer meanwhile).
pub(crate) async fn route_for(live: &LiveHandles, settings: Option<&ConnectionSettings>, destination: &Destination) -> RouteKnown {
    let now = page_now_ms();
    match live.route_entry(destination) {
        Some((known, at)) if now - at < ROUTE_CHECK_FRESH_MS => return known,
        Some((known, _)) => live.remember_route(destination.clone(), known, now),
        None => {}
    }
    let known = match settings.and_then(|s| s.management().map(|api| (api, s))) {
        None => RouteKnown::Unavailable("no management API for this URL".to_owned()),
        Some((api, settings)) => {
            match api.check_route(settings.vhost(), &destination.exchange, &destination.routing_key).await {
                Ok(check) => RouteKnown::Checked(check),
                Err(ManagementError::Unauthorized) => RouteKnown::Unavailable(format!(
                    "the management API refused user “{}” (it needs a management tag)",
                    settings.login()
                )),
                Err(error) => RouteKnown::Unavailable(management_failure(&error)),
            }
        }
    };
    live.remember_route(destination.clone(), known.clone(), page_now_ms());
    known
}

/// How a confirm is shown, given where the destination routes.
fn confirmed(route: RouteKnown) -> PublishOutcome {
    match route {
        RouteKnown::Checked(RouteCheck::Routed(_)) => PublishOutcome::Confirmed,
        RouteKnown::Checked(RouteCheck::Nowhere(why)) => PublishOutcome::RoutedNowhere(why.to_string()),
        RouteKnown::Checked(RouteCheck::Unknown(why)) | RouteKnown::Unavailable(why) => {
            PublishOutcome::ConfirmedUnchecked(why)
        }
    }
}

/// Publishes `request.count` copies through the outbox: each is confirmed, or
/// kept and sent again after a reconnect. When the outbox is full the next one
/// waits for room. The destination is checked before the first copy.
pub fn publish(workbench: Workbench, live: LiveHandles, request: PublishRequest) {
    let Some(reliable) = live.main() else { return };
    // Read once: a handle kept by a task keeps every state it reads (yew's deref history).
    let settings = workbench.main.settings.clone();
    let generation = workbench.main.generation;
    let workbench = workbench.dispatcher();
    // Held weakly between messages, so Disconnect or unmount ends the loop.
    let reliable = Rc::downgrade(&reliable);
    let request = Rc::new(request);
    spawn_local(async move {
        let _ = route_for(&live, settings.as_ref(), &request.destination).await;
        for index in 0..request.count {
            let Some(reliable) = reliable.upgrade() else { break };
            let (body, properties, copy) = request.copy(index);
            let number = live.next_publish_number();
            let destination = &request.destination;
            let published = reliable
                .basic_publish(&destination.exchange, &destination.routing_key, body.clone().into_bytes(), &properties)
                .await;
            let stopped = matches!(published, Err(PublishError::Stopped | PublishError::StoppedUnsent));
            let outcome = match &published {
                Ok(_) => PublishOutcome::Pending,
                // Refused before sending (a bad name, too large): shown, never queued.
                Err(error) => PublishOutcome::Failed(error.to_string()),
            };
            workbench.dispatch(Action::PublishSent(PublishRecord {
                number,
                destination: destination.clone(),
                body: body.chars().take(RECORD_PREVIEW_CHARS).collect(),
                persistent: properties.persistent,
                copy,
                outcome,
                lesson: request.lesson,
            }));
            workbench.dispatch(Action::Outbox { generation, outbox: reliable.outbox() });
            if let Ok(confirm) = published {
                let settled = Settle { workbench: workbench.clone(), live: live.clone(), settings: settings.clone(), generation };
                spawn_local(settled.wait(confirm, Rc::downgrade(&reliable), number, request.clone()));
            }
            if stopped {
                break;
            }
        }
    });
}

/// What a confirm's waiter needs.
struct Settle {
    workbench: UseReducerDispatcher<WorkbenchState>,
    live: LiveHandles,
    settings: Option<ConnectionSettings>,
    generation: u64,
}

impl Settle {
    async fn wait(self, confirm: PublishConfirm, reliable: std::rc::Weak<ReliableConnection>, number: u64, request: Rc<PublishRequest>) {
        let settled = confirm.await;
        // The outbox line at once, not after the route check's management fetch.
        if let Some(reliable) = reliable.upgrade() {
            self.workbench.dispatch(Action::Outbox { generation: self.generation, outbox: reliable.outbox() });
        }
        let outcome = match settled {
            Ok(()) => confirmed(route_for(&self.live, self.settings.as_ref(), &request.destination).await),
            Err(error) => PublishOutcome::Failed(error.to_string()),
        };
        self.workbench.dispatch(Action::PublishSettled { number, outcome, lesson: request.lesson });
    }
}
