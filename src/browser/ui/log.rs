//! A bounded log for the UI: the newest entries on screen, every entry counted.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// Keeps the newest `limit` entries and counts all of them. Successive reducer
/// states share one buffer (cloning the log clones a pointer), so a message costs
/// the same whether it is the 10th or the 1,000,000th, and memory stays flat.
#[derive(Debug)]
pub struct BoundedLog<T> {
    shared: Rc<RefCell<VecDeque<T>>>,
    limit: usize,
    total: u64,
    /// Bumped on every change, so states that differ compare unequal.
    version: u64,
}

impl<T> Clone for BoundedLog<T> {
    fn clone(&self) -> Self {
        BoundedLog { shared: self.shared.clone(), limit: self.limit, total: self.total, version: self.version }
    }
}

impl<T> PartialEq for BoundedLog<T> {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared) && self.version == other.version
    }
}

impl<T: Clone> BoundedLog<T> {
    /// An empty log keeping at most `limit` entries.
    pub fn new(limit: usize) -> Self {
        BoundedLog { shared: Rc::new(RefCell::new(VecDeque::new())), limit, total: 0, version: 0 }
    }

    /// Appends `entry`, dropping the oldest beyond the limit; the one dropped, if any.
    pub fn push(&mut self, entry: T) -> Option<T> {
        let mut entries = self.shared.borrow_mut();
        entries.push_back(entry);
        let mut dropped = None;
        while entries.len() > self.limit {
            dropped = entries.pop_front();
        }
        self.total += 1;
        self.version += 1;
        dropped
    }

    /// Changes the newest entry that `matches`; false when none does (it scrolled out).
    pub fn update(&mut self, matches: impl Fn(&T) -> bool, change: impl FnOnce(&mut T)) -> bool {
        let mut entries = self.shared.borrow_mut();
        match entries.iter_mut().rev().find(|e| matches(e)) {
            Some(entry) => {
                change(entry);
                self.version += 1;
                true
            }
            None => false,
        }
    }

    /// Changes every kept entry (`change` leaves alone what it need not touch).
    pub fn update_all(&mut self, change: impl FnMut(&mut T)) {
        self.shared.borrow_mut().iter_mut().for_each(change);
        self.version += 1;
    }

    /// How many kept entries satisfy `test`.
    pub fn count(&self, test: impl Fn(&T) -> bool) -> usize {
        self.shared.borrow().iter().filter(|e| test(e)).count()
    }

    /// Entries kept now, newest first, at most `n`.
    pub fn newest(&self, n: usize) -> Vec<T> {
        self.shared.borrow().iter().rev().take(n).cloned().collect()
    }

    /// How many entries are kept now.
    pub fn len(&self) -> usize {
        self.shared.borrow().len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.shared.borrow().is_empty()
    }

    /// How many entries were ever pushed.
    pub fn total(&self) -> u64 {
        self.total
    }
}
