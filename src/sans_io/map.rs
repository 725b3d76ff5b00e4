//! Sorted maps and sets, in place of `BTreeMap`/`BTreeSet` and `HashMap`/`HashSet`
//! everywhere in the library. Ids that grow as text (receipts, RPC correlation ids,
//! delivery tags: "receipt-9" after "receipt-10" in text order) are keyed so they
//! sort shorter first ([`crate::client::ReceiptId`]'s order, `text::IdText`), in
//! the order made: in text order each would land mid-way, O(n).
//!
//! Why: the standard collections are monomorphised per key and value type, and in
//! the npm package's wasm that came to about 50 KB of code (a B-tree's insert,
//! remove and rebalancing, hashbrown's probing and SipHash) for maps that hold a
//! handful of entries, or a window of in-flight ids. A sorted sequence iterates in
//! key order (as `BTreeMap` does, so nothing that was ordered changes, and what
//! was in hash order is now in key order) and finds by binary search.
//!
//! Two kinds of sequence ([`Entries`]): a `Vec` ([`Map`], [`Set`]) for the maps a
//! window, a prefetch or the consumer count keep small, whose code per element
//! type is the least (the main entry's wasm: 133,019 B gzipped with every map in
//! a `VecDeque`, 129,380 with these); a `VecDeque` ([`RingMap`], [`RingSet`]) for
//! the queues by growing id that may hold thousands (the outbox's entries and
//! unsent ids, the driver's confirms, the JavaScript API's ack handles, a stream
//! consumer's offsets, the session's pending receipts, the core's unacked delivery
//! tags and RPC correlation ids), where ids come at the back and leave from the
//! front, both O(1), not a move of everything behind each.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;

mod entries;
pub use entries::Entries;

/// A map kept in a `VecDeque`: for queues by growing id that may hold thousands.
/// Made by `default()` (`new` is the `Vec` kind's, a `const fn`).
pub type RingMap<K, V> = Map<K, V, VecDeque<(K, V)>>;
/// A set kept in a `VecDeque`: for queues by growing id that may hold thousands.
/// Made by `default()`.
pub type RingSet<T> = Set<T, VecDeque<(T, ())>>;

/// A map sorted by key, with the part of `BTreeMap`'s API the library uses.
#[derive(Clone, PartialEq, Eq)]
pub struct Map<K, V, E = Vec<(K, V)>> {
    entries: E,
    kind: PhantomData<(K, V)>,
}

impl<K, V, E: Entries<(K, V)>> Default for Map<K, V, E> {
    fn default() -> Self {
        Self { entries: E::default(), kind: PhantomData }
    }
}

impl<K, V> Map<K, V> {
    /// An empty map.
    pub const fn new() -> Self {
        Self { entries: Vec::new(), kind: PhantomData }
    }
}

impl<K, V, E: Entries<(K, V)>> Map<K, V, E> {

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.count()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.entries.count() == 0
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.entries.empty();
    }

    /// The entries in key order.
    pub fn iter(&self) -> Iter<'_, K, V, E> {
        self.entries.items().map(pair_ref)
    }

    /// The entries in key order, values mutable.
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = (&K, &mut V)> + ExactSizeIterator {
        self.entries.items_mut().map(|(k, v)| (&*k, v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator + Clone {
        self.entries.items().map(|(k, _)| k)
    }

    /// The values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator + Clone {
        self.entries.items().map(|(_, v)| v)
    }

    /// The values in key order, mutable.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.entries.items_mut().map(|(_, v)| v)
    }

    /// The values in key order, taken.
    pub fn into_values(self) -> impl DoubleEndedIterator<Item = V> + ExactSizeIterator {
        self.entries.take_items().map(|(_, v)| v)
    }

    /// The keys in order, taken.
    pub fn into_keys(self) -> impl DoubleEndedIterator<Item = K> + ExactSizeIterator {
        self.entries.take_items().map(|(k, _)| k)
    }

    /// Keeps the entries for which `keep` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.keep(|(k, v)| keep(k, v));
    }

    /// The entry with the smallest key.
    pub fn first_key_value(&self) -> Option<(&K, &V)> {
        self.entries.front_item().map(pair_ref)
    }

    /// The entry with the largest key.
    pub fn last_key_value(&self) -> Option<(&K, &V)> {
        self.entries.back_item().map(pair_ref)
    }

    /// Takes every entry, in key order (`HashMap::drain`'s job, in order).
    pub fn drain(&mut self) -> E::IntoIter {
        // Taking the entries (not their `drain`) shares `into_iter`'s code.
        std::mem::take(&mut self.entries).take_items()
    }

    /// Takes the entry with the smallest key.
    pub fn pop_first(&mut self) -> Option<(K, V)> {
        self.entries.pop_front_item()
    }

    /// Takes the entry with the largest key.
    pub fn pop_last(&mut self) -> Option<(K, V)> {
        self.entries.pop_back_item()
    }
}

impl<K: Ord, V, E: Entries<(K, V)>> Map<K, V, E> {
    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        // A plain bisection by index: `VecDeque::binary_search_by` searches its two
        // halves apart, twice the code per key type.
        let (mut low, mut high) = (0, self.entries.count());
        while low < high {
            let middle = low + (high - low) / 2;
            match self.entries[middle].0.borrow().cmp(key) {
                Ordering::Less => low = middle + 1,
                Ordering::Greater => high = middle,
                Ordering::Equal => return Ok(middle),
            }
        }
        Err(low)
    }

    /// Inserts or replaces (keeping the old key, as `BTreeMap` does); the value replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        // Ids grow: the newest goes last without a search.
        if self.entries.back_item().is_none_or(|(last, _)| *last < key) {
            self.entries.push_item((key, value));
            return None;
        }
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert_item(i, (key, value));
                None
            }
        }
    }

    /// The value for `key`.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    /// The value for `key`, mutable.
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &mut self.entries[i].1)
    }

    /// Whether `key` has an entry.
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(key).is_ok()
    }

    /// Takes the entry for `key`; its value.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.remove_entry(key).map(|(_, v)| v)
    }

    /// Takes the entry for `key`.
    pub fn remove_entry<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key).ok()?;
        self.entries.remove_item(i)
    }

    /// Splits off the entries from `key` on: they are returned, the smaller stay.
    pub fn split_off<Q: Ord + ?Sized>(&mut self, key: &Q) -> Self
    where
        K: Borrow<Q>,
    {
        let (Ok(at) | Err(at)) = self.find(key);
        Self { entries: self.entries.split_items(at), kind: PhantomData }
    }

    /// The value for `key`, inserted by `make` first if there is none.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert_item(i, (key, make()));
                i
            }
        };
        &mut self.entries[i].1
    }
}

fn pair_ref<K, V>(pair: &(K, V)) -> (&K, &V) {
    (&pair.0, &pair.1)
}

/// [`Map::iter`]'s iterator.
pub type Iter<'a, K, V, E> = std::iter::Map<<E as Entries<(K, V)>>::Iter<'a>, fn(&'a (K, V)) -> (&'a K, &'a V)>;

impl<K: Ord, V, E: Entries<(K, V)>> Extend<(K, V)> for Map<K, V, E> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, items: I) {
        for (k, v) in items {
            self.insert(k, v);
        }
    }
}

impl<K: Ord, V, E: Entries<(K, V)>> FromIterator<(K, V)> for Map<K, V, E> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(items: I) -> Self {
        let mut map = Self::default();
        map.extend(items);
        map
    }
}

impl<K, V, E: Entries<(K, V)>> IntoIterator for Map<K, V, E> {
    type Item = (K, V);
    type IntoIter = E::IntoIter;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.take_items()
    }
}

impl<'a, K, V, E: Entries<(K, V)>> IntoIterator for &'a Map<K, V, E> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V, E>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<K: fmt::Debug, V: fmt::Debug, E: Entries<(K, V)>> fmt::Debug for Map<K, V, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// A set kept sorted, with the part of `BTreeSet`'s API the library uses.
#[derive(Clone, PartialEq, Eq)]
pub struct Set<T, E = Vec<(T, ())>> {
    map: Map<T, (), E>,
}

impl<T, E: Entries<(T, ())>> Default for Set<T, E> {
    fn default() -> Self {
        Self { map: Map::default() }
    }
}

impl<T> Set<T> {
    /// An empty set.
    pub const fn new() -> Self {
        Self { map: Map::new() }
    }
}

impl<T, E: Entries<(T, ())>> Set<T, E> {

    /// How many members.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No members.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Removes every member.
    pub fn clear(&mut self) {
        self.map.clear();
    }

    /// The members in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator + Clone {
        self.map.keys()
    }

    /// The smallest member.
    pub fn first(&self) -> Option<&T> {
        self.map.first_key_value().map(|(k, _)| k)
    }

    /// Takes the smallest member.
    pub fn pop_first(&mut self) -> Option<T> {
        self.map.pop_first().map(|(k, _)| k)
    }
}

impl<T: Ord, E: Entries<(T, ())>> Set<T, E> {
    /// Adds `value`; false if it was there already.
    pub fn insert(&mut self, value: T) -> bool {
        if self.map.contains_key(&value) {
            return false;
        }
        self.map.insert(value, ());
        true
    }

    /// Whether `value` is a member.
    pub fn contains<Q: Ord + ?Sized>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        self.map.contains_key(value)
    }

    /// Splits off the members from `value` on: they are returned, the smaller stay.
    pub fn split_off<Q: Ord + ?Sized>(&mut self, value: &Q) -> Self
    where
        T: Borrow<Q>,
    {
        Self { map: self.map.split_off(value) }
    }

    /// Takes `value` out; false if it was not there.
    pub fn remove<Q: Ord + ?Sized>(&mut self, value: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        self.map.remove(value).is_some()
    }
}

impl<T: Ord, E: Entries<(T, ())>> Extend<T> for Set<T, E> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, items: I) {
        for item in items {
            self.insert(item);
        }
    }
}

impl<T: Ord, E: Entries<(T, ())>> FromIterator<T> for Set<T, E> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut set = Self::default();
        set.extend(items);
        set
    }
}

impl<T, E: Entries<(T, ())>> IntoIterator for Set<T, E> {
    type Item = T;
    type IntoIter = std::iter::Map<E::IntoIter, fn((T, ())) -> T>;
    fn into_iter(self) -> Self::IntoIter {
        self.map.into_iter().map(|(k, ())| k)
    }
}

impl<T: fmt::Debug, E: Entries<(T, ())>> fmt::Debug for Set<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{Entries, Map, RingMap, RingSet, Set};
    use std::collections::{BTreeMap, BTreeSet};

    /// The same operations on a `Map` and a `BTreeMap` leave the same entries in the
    /// same order, with the same answers on the way.
    #[test]
    fn map_does_what_btreemap_does() {
        walk(Map::new());
        walk(RingMap::default());
    }

    fn walk<E: Entries<(u32, u32)> + Clone>(mut ours: Map<u32, u32, E>) {
        let mut std = BTreeMap::new();
        // A fixed pseudo-random walk: inserts out of order, replacements, removals.
        let mut x: u32 = 7;
        for step in 0..4000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let key = (x >> 16) % 97;
            match step % 5 {
                0..=2 => assert_eq!(ours.insert(key, step), std.insert(key, step)),
                3 => assert_eq!(ours.remove(&key), std.remove(&key)),
                _ => {
                    assert_eq!(ours.get(&key), std.get(&key));
                    assert_eq!(ours.contains_key(&key), std.contains_key(&key));
                    if let (Some(a), Some(b)) = (ours.get_mut(&key), std.get_mut(&key)) {
                        *a += 1;
                        *b += 1;
                    }
                }
            }
            assert_eq!(ours.len(), std.len());
            if step % 50 == 0 {
                assert!(ours.iter().eq(std.iter()), "step {step}");
            }
        }
        assert!(ours.iter().eq(std.iter()));
        ours.retain(|k, v| (k + *v) % 3 != 0);
        std.retain(|k, v| (k + *v) % 3 != 0);
        assert!(ours.iter().eq(std.iter()));
        assert_eq!(ours.first_key_value(), std.first_key_value());
        assert_eq!(ours.last_key_value(), std.last_key_value());
        assert_eq!(ours.pop_first(), std.pop_first());
        assert_eq!(format!("{ours:?}"), format!("{std:?}"));
        let (high, std_high) = (ours.split_off(&50), std.split_off(&50));
        assert!(high.iter().eq(std_high.iter()));
        assert!(ours.iter().eq(std.iter()));
        assert!(ours.clone().drain().eq(std.clone()));
        assert!(ours.into_iter().eq(std));
    }

    /// A replaced value keeps the first key, and collecting keeps the last value.
    #[test]
    fn replacing_and_collecting_agree_with_btreemap() {
        let pairs = [(3, "a"), (1, "b"), (3, "c"), (2, "d"), (1, "e")];
        let ours: Map<_, _> = pairs.into_iter().collect();
        let std: BTreeMap<_, _> = pairs.into_iter().collect();
        assert!(ours.iter().eq(std.iter()));
        let mut ours = ours;
        *ours.get_or_insert_with(9, || "z") = "y";
        assert_eq!(ours.get(&9), Some(&"y"));
        assert_eq!(*ours.get_or_insert_with(9, || "w"), "y");
    }

    /// Sets of strings, looked up by `&str`, in order.
    #[test]
    fn set_does_what_btreeset_does() {
        words(Set::new());
        words(RingSet::default());
    }

    fn words<E: Entries<(String, ())>>(mut ours: Set<String, E>) {
        let words = ["pear", "apple", "fig", "apple", "kiwi", "fig", "date"];
        let mut std = BTreeSet::new();
        for word in words {
            assert_eq!(ours.insert(word.to_owned()), std.insert(word.to_owned()));
        }
        assert!(ours.iter().eq(std.iter()));
        assert_eq!(ours.remove("fig"), std.remove("fig"));
        assert_eq!(ours.remove("fig"), std.remove("fig"));
        assert_eq!(ours.contains("kiwi"), std.contains("kiwi"));
        assert_eq!(ours.first(), std.first());
        let (high, std_high) = (ours.split_off("e"), std.split_off("e"));
        assert!(high.iter().eq(std_high.iter()));
        assert_eq!(format!("{ours:?}"), format!("{std:?}"));
        assert!(ours.into_iter().eq(std));
    }
}
