//! The loop: every browser callback (a socket's open, bytes and close, the page
//! timer, the worker's tick, a management API answer) is one input to the core,
//! with the time; after it, [`pump`] drains the core's outputs until each says
//! nothing (actions carried out, bytes written, events handed on in order), then
//! arms the one timer for `poll_timeout` as the sans-IO [`Alarm`] says.

use std::cell::RefCell;
use std::collections::VecDeque;
use crate::sans_io::map::{Map, RingMap};
use std::rc::{Rc, Weak};
use std::time::Duration;
use std::task::Waker;

use futures_channel::{mpsc, oneshot};
use gloo_timers::callback::Timeout;

use super::publish::ConfirmSink;
use super::rpc::CallSink;
use crate::management::{item_path, Collection, ManagementApi, ManagementError, QueueState};
use crate::rabbit::OutboxId;
use crate::sans_io::core::{
    Action, Alarm, CallId, ConnectionEvent, ConsumerKey, Core, CredentialsId, DeclareError, DeclareId, LinkId, LookUpId, Phase, PublishError,
    ReliableEvent, Warning,
};
use crate::transport::{now, Socket, SocketHandlers, Ticker};

pub(super) type Shared = Rc<RefCell<Driver>>;

/// The driver's state: the core, and only what carries its decisions out.
pub(crate) struct Driver {
    pub(super) core: Core,
    pub(super) sockets: Map<LinkId, Socket>,
    /// The page timer, armed as `alarm` says.
    timer: Option<Timeout>,
    alarm: Alarm,
    page_timer: bool,
    pub(super) ticker: Option<Ticker>,
    pub(super) status: mpsc::UnboundedSender<ConnectionEvent>,
    /// Where each publish's outcome goes.
    pub(super) confirms: RingMap<OutboxId, ConfirmSink>,
    /// Publishers waiting in the core's line for room, woken when admitted.
    pub(super) admissions: Map<OutboxId, oneshot::Sender<()>>,
    /// Consumer streams waiting for something to take.
    pub(super) readers: Map<ConsumerKey, Waker>,
    pub(super) declares: Map<DeclareId, oneshot::Sender<Result<(), DeclareError>>>,
    /// Where each call's outcome goes.
    pub(super) calls: Map<CallId, CallSink>,
    /// Callers waiting for the connection to be up (or stopping).
    pub(super) up: Vec<oneshot::Sender<()>>,
    /// A reused buffer for what goes to a socket.
    out: Vec<u8>,
    /// The core's events not handed on yet, in order.
    queue: VecDeque<ReliableEvent>,
    /// A pump is handing events on: a pump within it only drains the core.
    dispatching: bool,
    pub(super) provider: Option<super::CredentialsProvider>,
    management_url: Option<String>,
    pub(super) weak: Weak<RefCell<Driver>>,
}

impl Driver {
    pub(super) fn new(
        core: Core,
        status: mpsc::UnboundedSender<ConnectionEvent>,
        provider: Option<super::CredentialsProvider>,
        management_url: Option<String>,
        page_timer: bool,
        weak: Weak<RefCell<Driver>>,
    ) -> Self {
        Driver {
            core,
            sockets: Map::new(),
            timer: None,
            alarm: Alarm::default(),
            page_timer,
            ticker: None,
            status,
            confirms: RingMap::default(),
            admissions: Map::new(),
            readers: Map::new(),
            declares: Map::new(),
            calls: Map::new(),
            up: Vec::new(),
            out: Vec::new(),
            queue: VecDeque::new(),
            dispatching: false,
            provider,
            management_url,
            weak,
        }
    }

    /// The management API for this connection: where its options say, else by
    /// RabbitMQ's defaults for the current (or first) URL, with its credentials.
    pub(super) fn management(&self) -> Option<ManagementApi> {
        let url = match self.core.phase() {
            Phase::Connected { url } | Phase::Connecting { url } => url,
            _ => self.core.urls().first().cloned()?,
        };
        ManagementApi::for_connection(&url, self.management_url.as_deref(), self.core.connect_options())
    }

    /// The virtual host it connects to.
    pub(super) fn vhost(&self) -> String {
        self.core.connect_options().host.clone()
    }

    /// Drains every output of the core until none says anything, then arms the timer.
    fn drain(&mut self) {
        loop {
            let mut busy = false;
            while let Some(action) = self.core.poll_action() {
                busy = true;
                self.act(action);
            }
            let now = now();
            loop {
                self.out.clear();
                let Some(link) = self.core.poll_transmit(now, &mut self.out) else { break };
                busy = true;
                let sent = self.sockets.get(&link).map(|socket| socket.send(&self.out));
                if let Some(Err(problem)) = sent {
                    self.core.handle_send_failed(now, link, format!("sending failed: {problem}"));
                }
            }
            while let Some(event) = self.core.poll_event() {
                busy = true;
                self.queue.push_back(event);
            }
            if !busy {
                break;
            }
        }
        self.arm_timer();
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::Open { link, url } => match Socket::open(&url, handlers(&self.weak, link)) {
                Ok(socket) => {
                    self.sockets.insert(link, socket);
                }
                Err(error) => self.core.handle_send_failed(now(), link, error.to_string()),
            },
            Action::Close { link, code, reason } => {
                if let Some(socket) = self.sockets.remove(&link) {
                    socket.close(code, &reason);
                }
            }
            Action::LookUp(question) => {
                self.look_up(question.id, question.url, Collection::Queues, &question.vhost, &question.queue);
            }
            Action::ExchangeLookUp(question) => {
                self.look_up(question.id, question.url, Collection::Exchanges, &question.vhost, &question.exchange);
            }
            Action::RecoverTopology(recovery) => {
                let api = ManagementApi::for_connection(&recovery.url, self.management_url.as_deref(), self.core.connect_options());
                super::topology::recover(self.weak.clone(), api, self.provider.clone(), recovery);
            }
            Action::Credentials { id, .. } => match self.provider.clone() {
                Some(provider) => ask_provider(self.weak.clone(), &provider, id),
                None => self.core.handle_credentials(now(), id, Err("no credentials provider was given".into())),
            },
        }
    }

    /// Asks the management API for `url` about `name` in `vhost` (a queue's
    /// facts, for [`Core::handle_queue_facts`], or whether an exchange exists,
    /// for [`Core::handle_exchange_facts`]), with the credentials of the latest
    /// CONNECT or the provider's anew, then gives the core the answer. One future
    /// (one GET) for both look-ups.
    fn look_up(&self, id: LookUpId, url: String, collection: Collection, vhost: &str, name: &str) {
        let api = ManagementApi::for_connection(&url, self.management_url.as_deref(), self.core.connect_options());
        let path = item_path(collection, vhost, name);
        let (weak, provider) = (self.weak.clone(), self.provider.clone());
        super::spawn(Box::pin(async move {
            let answer = match api {
                Some(api) => fresh_credentials(api, provider).await.get(&path).await.map_err(|error| error.to_string()),
                None => Err(format!("no management API is known for {url}")),
            };
            input(&weak, |driver| match collection {
                Collection::Exchanges => driver.core.handle_exchange_facts(now(), id, answer.map(|found| found.is_some())),
                Collection::Queues => {
                    let facts = answer.and_then(|found| {
                        found
                            .map(|json| {
                                QueueState::facts_from_management_json(&json)
                                    .map_err(|error| ManagementError::BadAnswer(error).to_string())
                            })
                            .transpose()
                    });
                    driver.core.handle_queue_facts(now(), id, facts);
                }
            });
        }));
    }

    fn arm_timer(&mut self) {
        if !self.page_timer {
            return;
        }
        let Some(delay) = self.alarm.arm(now(), self.core.poll_timeout()) else { return };
        let weak = self.weak.clone();
        // The alarm keeps delays within what a browser timer takes (2^31 - 1 ms).
        let millis = u32::try_from(delay.as_millis()).unwrap_or(u32::MAX);
        self.timer = Some(Timeout::new(millis, move || {
            input(&weak, |driver| {
                driver.alarm.fired();
                driver.core.handle_timeout(now());
            })
        }));
    }

    /// Wakes the callers waiting for the connection to be up (or stopping): each
    /// looks again at where it is.
    pub(super) fn wake_up_waiters(&mut self) {
        for waiter in self.up.drain(..) {
            let _ = waiter.send(());
        }
    }

    /// Stopped: every waiter hears of it, and nothing of the browser's stays.
    fn stopped(&mut self) -> Vec<ConfirmSink> {
        for (_, waker) in self.readers.drain() {
            waker.wake();
        }
        self.admissions.clear();
        self.declares.clear();
        // The core ended every call before Stopped.
        self.calls.clear();
        self.wake_up_waiters();
        self.ticker = None;
        self.sockets.clear();
        self.timer = None;
        // The core failed every unconfirmed publish before Stopped; a callback is
        // never left uncalled all the same.
        self.confirms.drain().map(|(_, sink)| sink).collect()
    }
}

pub(super) fn with_driver(weak: &Weak<RefCell<Driver>>, f: impl FnOnce(&Shared)) {
    if let Some(shared) = weak.upgrade() {
        f(&shared);
    }
}

/// After an input: drains the core, then hands its events on, in order. A pump
/// that runs while events are handed on (a callback called back) only drains;
/// the pump under it hands on what it found.
pub(super) fn pump(shared: &Shared) {
    match shared.try_borrow_mut() {
        Ok(mut driver) => {
            driver.drain();
            if driver.dispatching {
                return;
            }
            driver.dispatching = true;
        }
        // Borrowed by the caller: it pumps once it let go.
        Err(_) => return,
    }
    loop {
        let event = match shared.try_borrow_mut() {
            Ok(mut driver) => driver.queue.pop_front(),
            Err(_) => None,
        };
        let Some(event) = event else { break };
        route(shared, event);
    }
    if let Ok(mut driver) = shared.try_borrow_mut() {
        driver.dispatching = false;
    }
}

/// Hands one event to whoever waits for it; sinks are called with the driver let go.
fn route(shared: &Shared, event: ReliableEvent) {
    let mut driver = match shared.try_borrow_mut() {
        Ok(driver) => driver,
        Err(_) => return,
    };
    match event {
        ReliableEvent::Connection(status) => {
            let sinks = on_status(&mut driver, &status);
            let stopped = matches!(status, ConnectionEvent::Stopped(_));
            let _ = driver.status.unbounded_send(status);
            if stopped {
                // The stream ends after Stopped, so readers are not left waiting.
                driver.status.close_channel();
            }
            drop(driver);
            for sink in sinks {
                sink.settle(Err(PublishError::Stopped));
            }
        }
        ReliableEvent::Readable(key) | ReliableEvent::ConsumerCancelled(key) => {
            if let Some(waker) = driver.readers.remove(&key) {
                waker.wake();
            }
        }
        ReliableEvent::Admitted(id) => {
            if let Some(tx) = driver.admissions.remove(&id) {
                let _ = tx.send(());
            }
        }
        ReliableEvent::Confirmed(id) => {
            let sink = driver.confirms.remove(&id);
            drop(driver);
            if let Some(sink) = sink {
                sink.settle(Ok(()));
            }
        }
        ReliableEvent::PublishFailed { publish, error } => {
            // A publisher still waiting for room hears it through its confirm.
            driver.admissions.remove(&publish);
            let sink = driver.confirms.remove(&publish);
            drop(driver);
            if let Some(sink) = sink {
                sink.settle(Err(error));
            }
        }
        ReliableEvent::Declared { request, result } => {
            if let Some(tx) = driver.declares.remove(&request) {
                let _ = tx.send(result);
            }
        }
        ReliableEvent::CallDone { call, result } => {
            let sink = driver.calls.remove(&call);
            drop(driver);
            if let Some(sink) = sink {
                sink.settle(result.map(|reply| *reply));
            }
        }
    }
}

/// What a status event means for the driver's own waiters.
fn on_status(driver: &mut Driver, status: &ConnectionEvent) -> Vec<ConfirmSink> {
    match status {
        ConnectionEvent::Connected { .. } => driver.wake_up_waiters(),
        ConnectionEvent::ConsumerFailed { consumer, .. } => {
            if let Some(waker) = driver.readers.remove(consumer) {
                waker.wake();
            }
        }
        ConnectionEvent::Stopped(_) => return driver.stopped(),
        _ => {}
    }
    Vec::new()
}

/// The wall clock (time since 1970), for a JWT's `exp`.
pub(super) fn unix_now() -> Duration {
    Duration::from_millis(js_sys::Date::now().max(0.0) as u64)
}

/// Calls the credentials provider, then gives the core the answer (the core
/// ignores one that comes after its timeout).
fn ask_provider(weak: Weak<RefCell<Driver>>, provider: &super::CredentialsProvider, id: CredentialsId) {
    let answer = provider();
    super::spawn(Box::pin(async move {
        let answer = answer.await;
        input(&weak, |driver| {
            driver.core.handle_unix_time(now(), unix_now());
            driver.core.handle_credentials(now(), id, answer);
        });
    }));
}

/// `api` with the provider's fresh credentials, when there is a provider (it is
/// called for the management API's calls as for every CONNECT: a token may have
/// expired since the last one); as it is if the provider fails (the call then
/// says what the broker answers).
pub(super) async fn fresh_credentials(api: ManagementApi, provider: Option<super::CredentialsProvider>) -> ManagementApi {
    let Some(provider) = provider else { return api };
    match provider().await {
        Ok(credentials) => api.with_credentials(&credentials.login, &credentials.passcode),
        Err(_) => api,
    }
}

/// Calls the core on each worker tick when a deadline passed (a background tab
/// throttles the page timer; the worker's keeps its pace). A worker that cannot
/// start is said, as a Warning.
pub(super) fn start_ticker(shared: &Shared) {
    let weak = Rc::downgrade(shared);
    let failed = weak.clone();
    let started = Ticker::start(
        move || {
            with_driver(&weak, |shared| {
                let due =
                    shared.try_borrow().is_ok_and(|driver| driver.core.poll_timeout().is_some_and(|at| at <= now()));
                if due {
                    input(&Rc::downgrade(shared), |driver| driver.core.handle_timeout(now()));
                }
            })
        },
        move |why| input(&failed, |driver| driver.core.handle_warning(Warning::TickerUnavailable(why))),
    );
    match started {
        Ok(ticker) => input(&Rc::downgrade(shared), |driver| driver.ticker = Some(ticker)),
        Err(why) => input(&Rc::downgrade(shared), |driver| driver.core.handle_warning(Warning::TickerUnavailable(why))),
    }
    if !crate::transport::has_monotonic_clock() {
        input(&Rc::downgrade(shared), |driver| driver.core.handle_warning(Warning::NoMonotonicClock));
    }
}

fn handlers(weak: &Weak<RefCell<Driver>>, link: LinkId) -> SocketHandlers {
    let (open_weak, bytes_weak, close_weak) = (weak.clone(), weak.clone(), weak.clone());
    SocketHandlers {
        on_open: Box::new(move || input(&open_weak, |driver| driver.core.handle_opened(now(), link))),
        on_bytes: Box::new(move |bytes| input(&bytes_weak, |driver| driver.core.handle_bytes(now(), link, bytes))),
        on_close: Box::new(move |closed| {
            input(&close_weak, |driver| {
                driver.sockets.remove(&link);
                driver.core.handle_closed(now(), link, closed);
            })
        }),
    }
}

/// One input to the core, then the drain.
pub(super) fn input(weak: &Weak<RefCell<Driver>>, call: impl FnOnce(&mut Driver)) {
    with_driver(weak, |shared| {
        if let Ok(mut driver) = shared.try_borrow_mut() {
            call(&mut driver);
        }
        pump(shared);
    })
}
