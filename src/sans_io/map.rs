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
//! Two kinds of sequence ([`Entries`], chosen by a [`Kind`]): `Vec`s ([`Map`],
//! [`Set`]) for the maps a window, a prefetch or the consumer count keep small,
//! whose code per element type is the least (the main entry's wasm: 133,019 B
//! gzipped with every map in a `VecDeque`, 129,380 with these); `VecDeque`s
//! ([`RingMap`], [`RingSet`]) for the queues by growing id that may hold
//! thousands (the outbox's entries and unsent ids, the driver's confirms, the
//! JavaScript API's ack handles, a stream consumer's offsets, the session's
//! pending receipts, the core's unacked delivery tags and RPC correlation ids),
//! where ids come at the back and leave from the front, both O(1), not a move of
//! everything behind each.
//!
//! A map keeps its keys and its values in two sequences, not one of pairs: the
//! search and the moving of keys are then code per key type, not per pair of types,
//! and alike for every key that is a newtype around a `u64`, which the package's
//! `wasm-opt` folds into one (main entry 113,122 -> 111,804 B gzipped).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::iter::Zip;

mod entries;
pub use entries::{Entries, Flat, Kind, Ring};

/// A map kept in `VecDeque`s: for queues by growing id that may hold thousands.
/// Made by `default()` (`new` is the `Vec` kind's, a `const fn`).
pub type RingMap<K, V> = Map<K, V, Ring>;
/// A set kept in a `VecDeque`: for queues by growing id that may hold thousands.
/// Made by `default()`.
pub type RingSet<T> = Set<T, Ring>;

/// A map sorted by key, with the part of `BTreeMap`'s API the library uses; keys
/// and values in two sequences of the same length (see the module).
pub struct Map<K, V, R: Kind = Flat> {
    keys: R::Seq<K>,
    values: R::Seq<V>,
}

impl<K, V, R: Kind> Default for Map<K, V, R> {
    fn default() -> Self {
        Self { keys: Default::default(), values: Default::default() }
    }
}

impl<K, V, R: Kind> Clone for Map<K, V, R>
where
    R::Seq<K>: Clone,
    R::Seq<V>: Clone,
{
    fn clone(&self) -> Self {
        Self { keys: self.keys.clone(), values: self.values.clone() }
    }
}

impl<K, V, R: Kind> PartialEq for Map<K, V, R>
where
    R::Seq<K>: PartialEq,
    R::Seq<V>: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        self.keys == other.keys && self.values == other.values
    }
}

impl<K, V, R: Kind> Eq for Map<K, V, R>
where
    R::Seq<K>: Eq,
    R::Seq<V>: Eq,
{
}

impl<K, V> Map<K, V> {
    /// An empty map.
    pub const fn new() -> Self {
        Self { keys: Vec::new(), values: Vec::new() }
    }
}

impl<K, V, R: Kind> Map<K, V, R> {

    /// How many entries.
    pub fn len(&self) -> usize {
        self.keys.count()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.keys.count() == 0
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.keys.empty();
        self.values.empty();
    }

    /// The entries in key order.
    pub fn iter(&self) -> Iter<'_, K, V, R> {
        self.keys.items().zip(self.values.items())
    }

    /// The entries in key order, values mutable.
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = (&K, &mut V)> + ExactSizeIterator {
        self.keys.items().zip(self.values.items_mut())
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator + Clone {
        self.keys.items()
    }

    /// The values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator + Clone {
        self.values.items()
    }

    /// The values in key order, mutable.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.values.items_mut()
    }

    /// The values in key order, taken.
    pub fn into_values(self) -> impl DoubleEndedIterator<Item = V> + ExactSizeIterator {
        self.values.take_items()
    }

    /// The keys in order, taken.
    pub fn into_keys(self) -> impl DoubleEndedIterator<Item = K> + ExactSizeIterator {
        self.keys.take_items()
    }

    /// Keeps the entries for which `keep` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        // Each kept entry swapped down to the next kept place (everything between
        // is dropped), then the tail cut: keys and values move in step.
        let mut kept = 0;
        for i in 0..self.keys.count() {
            if keep(&self.keys[i], &mut self.values[i]) {
                self.keys.swap_items(kept, i);
                self.values.swap_items(kept, i);
                kept += 1;
            }
        }
        self.keys.truncate_items(kept);
        self.values.truncate_items(kept);
    }

    /// The entry with the smallest key.
    pub fn first_key_value(&self) -> Option<(&K, &V)> {
        self.keys.front_item().zip(self.values.front_item())
    }

    /// The entry with the largest key.
    pub fn last_key_value(&self) -> Option<(&K, &V)> {
        self.keys.back_item().zip(self.values.back_item())
    }

    /// Takes every entry, in key order (`HashMap::drain`'s job, in order).
    pub fn drain(&mut self) -> IntoIter<K, V, R> {
        // Taking the entries (not their `drain`) shares `into_iter`'s code.
        std::mem::take(self).into_iter()
    }

    /// Takes the entry with the smallest key.
    pub fn pop_first(&mut self) -> Option<(K, V)> {
        self.keys.pop_front_item().zip(self.values.pop_front_item())
    }

    /// Takes the entry with the largest key.
    pub fn pop_last(&mut self) -> Option<(K, V)> {
        self.keys.pop_back_item().zip(self.values.pop_back_item())
    }
}

/// Where `key` is in `keys` (`Ok`), or where it would go (`Err`).
fn find<K: Borrow<Q>, Q: Ord + ?Sized, S: Entries<K>>(keys: &S, key: &Q) -> Result<usize, usize> {
    let (mut low, mut high) = (0, keys.count());
    // Ids grow: the newest goes last without a search (one test here, not a
    // function per key type for inserting alone).
    if high == 0 || keys[high - 1].borrow() < key {
        return Err(high);
    }
    // A plain bisection by index: `VecDeque::binary_search_by` searches its two
    // halves apart, twice the code per key type.
    while low < high {
        let middle = low + (high - low) / 2;
        match keys[middle].borrow().cmp(key) {
            Ordering::Less => low = middle + 1,
            Ordering::Greater => high = middle,
            Ordering::Equal => return Ok(middle),
        }
    }
    Err(low)
}

impl<K: Ord, V, R: Kind> Map<K, V, R> {
    /// Inserts or replaces (keeping the old key, as `BTreeMap` does); the value replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match find(&self.keys, &key) {
            Ok(i) => Some(std::mem::replace(&mut self.values[i], value)),
            Err(i) => {
                self.keys.insert_item(i, key);
                self.values.insert_item(i, value);
                None
            }
        }
    }

    /// The value for `key`.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        find(&self.keys, key).ok().map(|i| &self.values[i])
    }

    /// The value for `key`, mutable.
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        find(&self.keys, key).ok().map(|i| &mut self.values[i])
    }

    /// Whether `key` has an entry.
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        find(&self.keys, key).is_ok()
    }

    /// Takes the entry for `key`; its value.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        // Not through `remove_entry`: pairing the two halves is code per map.
        let i = find(&self.keys, key).ok()?;
        self.keys.remove_item(i);
        self.values.remove_item(i)
    }

    /// Takes the entry for `key`.
    pub fn remove_entry<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
    {
        let i = find(&self.keys, key).ok()?;
        self.keys.remove_item(i).zip(self.values.remove_item(i))
    }

    /// Splits off the entries from `key` on: they are returned, the smaller stay.
    pub fn split_off<Q: Ord + ?Sized>(&mut self, key: &Q) -> Self
    where
        K: Borrow<Q>,
    {
        let (Ok(at) | Err(at)) = find(&self.keys, key);
        Self { keys: self.keys.split_items(at), values: self.values.split_items(at) }
    }

    /// The value for `key`, inserted by `make` first if there is none.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let i = match find(&self.keys, &key) {
            Ok(i) => i,
            Err(i) => {
                self.keys.insert_item(i, key);
                self.values.insert_item(i, make());
                i
            }
        };
        &mut self.values[i]
    }
}

/// [`Map::iter`]'s iterator.
pub type Iter<'a, K, V, R> =
    Zip<<<R as Kind>::Seq<K> as Entries<K>>::Iter<'a>, <<R as Kind>::Seq<V> as Entries<V>>::Iter<'a>>;

/// [`Map::into_iter`]'s and [`Map::drain`]'s iterator.
pub type IntoIter<K, V, R> =
    Zip<<<R as Kind>::Seq<K> as Entries<K>>::IntoIter, <<R as Kind>::Seq<V> as Entries<V>>::IntoIter>;

impl<K: Ord, V, R: Kind> Extend<(K, V)> for Map<K, V, R> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, items: I) {
        for (k, v) in items {
            self.insert(k, v);
        }
    }
}

impl<K: Ord, V, R: Kind> FromIterator<(K, V)> for Map<K, V, R> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(items: I) -> Self {
        let mut map = Self::default();
        map.extend(items);
        map
    }
}

impl<K, V, R: Kind> IntoIterator for Map<K, V, R> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V, R>;
    fn into_iter(self) -> Self::IntoIter {
        self.keys.take_items().zip(self.values.take_items())
    }
}

impl<'a, K, V, R: Kind> IntoIterator for &'a Map<K, V, R> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V, R>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<K: fmt::Debug, V: fmt::Debug, R: Kind> fmt::Debug for Map<K, V, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// A set kept sorted, with the part of `BTreeSet`'s API the library uses.
pub struct Set<T, R: Kind = Flat> {
    members: R::Seq<T>,
}

impl<T, R: Kind> Default for Set<T, R> {
    fn default() -> Self {
        Self { members: Default::default() }
    }
}

impl<T, R: Kind> Clone for Set<T, R>
where
    R::Seq<T>: Clone,
{
    fn clone(&self) -> Self {
        Self { members: self.members.clone() }
    }
}

impl<T, R: Kind> PartialEq for Set<T, R>
where
    R::Seq<T>: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        self.members == other.members
    }
}

impl<T, R: Kind> Eq for Set<T, R> where R::Seq<T>: Eq {}

impl<T> Set<T> {
    /// An empty set.
    pub const fn new() -> Self {
        Self { members: Vec::new() }
    }
}

impl<T, R: Kind> Set<T, R> {

    /// How many members.
    pub fn len(&self) -> usize {
        self.members.count()
    }

    /// No members.
    pub fn is_empty(&self) -> bool {
        self.members.count() == 0
    }

    /// Removes every member.
    pub fn clear(&mut self) {
        self.members.empty();
    }

    /// The members in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator + Clone {
        self.members.items()
    }

    /// The smallest member.
    pub fn first(&self) -> Option<&T> {
        self.members.front_item()
    }

    /// Takes the smallest member.
    pub fn pop_first(&mut self) -> Option<T> {
        self.members.pop_front_item()
    }
}

impl<T: Ord, R: Kind> Set<T, R> {
    /// Adds `value`; false if it was there already.
    pub fn insert(&mut self, value: T) -> bool {
        match find(&self.members, &value) {
            Ok(_) => false,
            Err(i) => {
                self.members.insert_item(i, value);
                true
            }
        }
    }

    /// Whether `value` is a member.
    pub fn contains<Q: Ord + ?Sized>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        find(&self.members, value).is_ok()
    }

    /// Splits off the members from `value` on: they are returned, the smaller stay.
    pub fn split_off<Q: Ord + ?Sized>(&mut self, value: &Q) -> Self
    where
        T: Borrow<Q>,
    {
        let (Ok(at) | Err(at)) = find(&self.members, value);
        Self { members: self.members.split_items(at) }
    }

    /// Takes `value` out; false if it was not there.
    pub fn remove<Q: Ord + ?Sized>(&mut self, value: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        find(&self.members, value).ok().and_then(|i| self.members.remove_item(i)).is_some()
    }
}

impl<T: Ord, R: Kind> Extend<T> for Set<T, R> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, items: I) {
        for item in items {
            self.insert(item);
        }
    }
}

impl<T: Ord, R: Kind> FromIterator<T> for Set<T, R> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut set = Self::default();
        set.extend(items);
        set
    }
}

impl<T, R: Kind> IntoIterator for Set<T, R> {
    type Item = T;
    type IntoIter = <R::Seq<T> as Entries<T>>::IntoIter;
    fn into_iter(self) -> Self::IntoIter {
        self.members.take_items()
    }
}

impl<T: fmt::Debug, R: Kind> fmt::Debug for Set<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{Kind, Map, RingMap, RingSet, Set};
    use std::collections::{BTreeMap, BTreeSet};

    /// The same operations on a `Map` and a `BTreeMap` leave the same entries in the
    /// same order, with the same answers on the way.
    #[test]
    fn map_does_what_btreemap_does() {
        walk(Map::new());
        walk(RingMap::default());
    }

    fn walk<R: Kind>(mut ours: Map<u32, u32, R>)
    where
        Map<u32, u32, R>: Clone,
    {
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

    fn words<R: Kind>(mut ours: Set<String, R>) {
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
