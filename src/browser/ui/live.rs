//! The workbench's live handles, in their own context: the main connection,
//! the counter that numbers publishes, and what the route checks found. The
//! reducer state stays plain data.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use crate::management::RouteCheck;
use crate::reliable::ReliableConnection;

use super::state::Destination;

/// How long a route check stands before a confirm checks again, in ms: a queue
/// may be deleted (or declared) meanwhile.
pub const ROUTE_CHECK_FRESH_MS: f64 = 5_000.0;

/// A destination's route, as last checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteKnown {
    /// The management API answered.
    Checked(RouteCheck),
    /// It could not be asked (why, in words): confirms are shown as unchecked.
    Unavailable(String),
}

/// The live side of one workbench.
#[derive(Default)]
pub struct Live {
    main: RefCell<Option<Rc<ReliableConnection>>>,
    publish_numbers: Cell<u64>,
    generations: Cell<u64>,
    routes: RefCell<BTreeMap<Destination, (RouteKnown, f64)>>,
}

/// A cheap, shared handle on `Live`; equal when it is the same workbench's.
#[derive(Clone, Default)]
pub struct LiveHandles(Rc<Live>);

impl PartialEq for LiveHandles {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl LiveHandles {
    /// The main connection, while it runs.
    pub fn main(&self) -> Option<Rc<ReliableConnection>> {
        self.0.main.borrow().clone()
    }

    /// A Connect begins: any earlier main connection goes at once (its follower
    /// reports it closed, as news of an earlier generation); the new one's generation.
    pub fn begin_main(&self) -> u64 {
        self.drop_main();
        let generation = self.0.generations.get() + 1;
        self.0.generations.set(generation);
        generation
    }

    /// Keeps `connection` as the main one.
    pub fn set_main(&self, connection: Rc<ReliableConnection>) {
        if let Some(old) = self.0.main.borrow_mut().replace(connection) {
            old.stop();
        }
    }

    /// Lets go of the main connection if it is still `connection` (a newer
    /// Connect replaced it otherwise).
    pub fn release_main(&self, connection: &Weak<ReliableConnection>) {
        let mut main = self.0.main.borrow_mut();
        if main.as_ref().is_some_and(|current| std::ptr::eq(Rc::as_ptr(current), connection.as_ptr())) {
            main.take();
        }
    }

    /// Stops the main connection. It is let go of when it says it stopped
    /// ([`LiveHandles::release_main`]): dropped at once, it could not say so.
    pub fn stop_main(&self) {
        if let Some(main) = self.main() {
            main.stop();
        }
    }

    /// Stops the main connection and lets go of it at once (the workbench goes:
    /// nobody waits for it to say it stopped, and its socket closes now).
    pub fn drop_main(&self) {
        let main = self.0.main.borrow_mut().take();
        if let Some(main) = main {
            main.stop();
        }
    }

    /// A fresh number for a publish record: unique within this workbench.
    pub fn next_publish_number(&self) -> u64 {
        let number = self.0.publish_numbers.get() + 1;
        self.0.publish_numbers.set(number);
        number
    }

    /// The route last found for `destination`, and when (ms on the page's clock).
    pub fn route_entry(&self, destination: &Destination) -> Option<(RouteKnown, f64)> {
        self.0.routes.borrow().get(destination).cloned()
    }

    /// Remembers what a check found.
    pub fn remember_route(&self, destination: Destination, known: RouteKnown, now: f64) {
        self.0.routes.borrow_mut().insert(destination, (known, now));
    }

    /// Forgets every check (a queue was declared or deleted).
    pub fn forget_routes(&self) {
        self.0.routes.borrow_mut().clear();
    }
}
