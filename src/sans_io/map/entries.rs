//! The two sequences a sorted map may keep its keys and values in ([`Entries`]): a
//! `Vec` for small maps, a `VecDeque` for queues by growing id (see the parent
//! module), chosen by a [`Kind`].

use std::collections::{vec_deque, VecDeque};
use std::ops::{Index, IndexMut};

/// Which sequence a sorted map keeps its keys and values in: [`Flat`] or [`Ring`].
pub trait Kind {
    /// The sequence for items of type `T`.
    type Seq<T>: Entries<T>;
}

/// Keys and values in `Vec`s: the least code per element type, for small maps.
#[derive(Debug)]
pub enum Flat {}

/// Keys and values in `VecDeque`s: O(1) at both ends, for queues by growing id.
#[derive(Debug)]
pub enum Ring {}

impl Kind for Flat {
    type Seq<T> = Vec<T>;
}

impl Kind for Ring {
    type Seq<T> = VecDeque<T>;
}

/// The sequence a sorted map keeps its entries in: [`Vec`] or [`VecDeque`].
pub trait Entries<T>: Default + Index<usize, Output = T> + IndexMut<usize> {
    /// Its iterator.
    type Iter<'a>: DoubleEndedIterator<Item = &'a T> + ExactSizeIterator + Clone
    where
        Self: 'a,
        T: 'a;
    /// Its iterator of mutable items.
    type IterMut<'a>: DoubleEndedIterator<Item = &'a mut T> + ExactSizeIterator
    where
        Self: 'a,
        T: 'a;
    /// Its owning iterator.
    type IntoIter: DoubleEndedIterator<Item = T> + ExactSizeIterator;
    /// How many items.
    fn count(&self) -> usize;
    /// Removes every item.
    fn empty(&mut self);
    /// The items in order.
    fn items(&self) -> Self::Iter<'_>;
    /// The items in order, mutable.
    fn items_mut(&mut self) -> Self::IterMut<'_>;
    /// The items in order, taken.
    fn take_items(self) -> Self::IntoIter;
    /// Swaps the items at `a` and `b`.
    fn swap_items(&mut self, a: usize, b: usize);
    /// Drops the items from `len` on.
    fn truncate_items(&mut self, len: usize);
    /// The first item.
    fn front_item(&self) -> Option<&T>;
    /// The last item.
    fn back_item(&self) -> Option<&T>;
    /// Takes the first item.
    fn pop_front_item(&mut self) -> Option<T>;
    /// Takes the last item.
    fn pop_back_item(&mut self) -> Option<T>;
    /// Inserts `item` at `at`, moving the ones from there on.
    fn insert_item(&mut self, at: usize, item: T);
    /// Takes the item at `at`.
    fn remove_item(&mut self, at: usize) -> Option<T>;
    /// Splits off the items from `at` on.
    fn split_items(&mut self, at: usize) -> Self;
}

impl<T> Entries<T> for Vec<T> {
    type Iter<'a>
        = std::slice::Iter<'a, T>
    where
        T: 'a;
    type IterMut<'a>
        = std::slice::IterMut<'a, T>
    where
        T: 'a;
    type IntoIter = std::vec::IntoIter<T>;
    fn count(&self) -> usize {
        self.len()
    }
    fn empty(&mut self) {
        self.clear();
    }
    fn items(&self) -> Self::Iter<'_> {
        self.as_slice().iter()
    }
    fn items_mut(&mut self) -> Self::IterMut<'_> {
        self.as_mut_slice().iter_mut()
    }
    fn take_items(self) -> Self::IntoIter {
        IntoIterator::into_iter(self)
    }
    fn swap_items(&mut self, a: usize, b: usize) {
        self.swap(a, b);
    }
    fn truncate_items(&mut self, len: usize) {
        self.truncate(len);
    }
    fn front_item(&self) -> Option<&T> {
        self.as_slice().first()
    }
    fn back_item(&self) -> Option<&T> {
        self.as_slice().last()
    }
    fn pop_front_item(&mut self) -> Option<T> {
        self.remove_item(0)
    }
    fn pop_back_item(&mut self) -> Option<T> {
        self.pop()
    }
    // Insertion and removal not inlined: then their code is per element type,
    // shared by every map with that key or value type (and folded by `wasm-opt`
    // for types of one size), not copied into each map's `insert`/`remove`.
    #[inline(never)]
    fn insert_item(&mut self, at: usize, item: T) {
        self.insert(at, item);
    }
    #[inline(never)]
    fn remove_item(&mut self, at: usize) -> Option<T> {
        (at < self.len()).then(|| self.remove(at))
    }
    fn split_items(&mut self, at: usize) -> Self {
        self.split_off(at)
    }
}

impl<T> Entries<T> for VecDeque<T> {
    type Iter<'a>
        = vec_deque::Iter<'a, T>
    where
        T: 'a;
    type IterMut<'a>
        = vec_deque::IterMut<'a, T>
    where
        T: 'a;
    type IntoIter = vec_deque::IntoIter<T>;
    fn count(&self) -> usize {
        self.len()
    }
    fn empty(&mut self) {
        self.clear();
    }
    fn items(&self) -> Self::Iter<'_> {
        VecDeque::iter(self)
    }
    fn items_mut(&mut self) -> Self::IterMut<'_> {
        VecDeque::iter_mut(self)
    }
    fn take_items(self) -> Self::IntoIter {
        IntoIterator::into_iter(self)
    }
    fn swap_items(&mut self, a: usize, b: usize) {
        self.swap(a, b);
    }
    fn truncate_items(&mut self, len: usize) {
        self.truncate(len);
    }
    fn front_item(&self) -> Option<&T> {
        self.front()
    }
    fn back_item(&self) -> Option<&T> {
        self.back()
    }
    fn pop_front_item(&mut self) -> Option<T> {
        self.pop_front()
    }
    fn pop_back_item(&mut self) -> Option<T> {
        self.pop_back()
    }
    // Inside the deque, through its nearer end and swaps: `VecDeque::insert`/
    // `remove` copy around the ring's wrap with about 600 B of code per element
    // type; a swap is a few instructions. The ids mostly come at the back and
    // leave from the front, where no swap is needed.
    #[inline(never)]
    fn insert_item(&mut self, at: usize, item: T) {
        if at < self.len() / 2 {
            self.push_front(item);
            for i in 0..at {
                self.swap(i, i + 1);
            }
        } else {
            self.push_back(item);
            for i in (at..self.len() - 1).rev() {
                self.swap(i, i + 1);
            }
        }
    }
    #[inline(never)]
    fn remove_item(&mut self, at: usize) -> Option<T> {
        let len = self.len();
        if at < len / 2 {
            for i in (0..at).rev() {
                self.swap(i, i + 1);
            }
            self.pop_front()
        } else if at < len {
            for i in at..len - 1 {
                self.swap(i, i + 1);
            }
            self.pop_back()
        } else {
            None
        }
    }
    fn split_items(&mut self, at: usize) -> Self {
        self.split_off(at)
    }
}
