//! A heapsort for the library's few sorts, in place of `slice::sort_unstable_by`.
//!
//! Why: the standard sorts (driftsort, ipnsort) are fast but monomorphised per
//! element type at about 4 KB each in the npm package's wasm; the library sorts a
//! handful of lists whose keys are unique (receipt ids, JSON member names), where a
//! heapsort's few hundred bytes do as well: O(n log n), no allocation.

/// Sorts `items` so that no item is `less` than the one before it. Not stable: for
/// lists whose keys are unique, where the order is the same as a stable sort's.
pub(crate) fn heap_sort_by<T>(items: &mut [T], mut less: impl FnMut(&T, &T) -> bool) {
    let len = items.len();
    // Build a max-heap, then move its top behind the shrinking heap, one by one.
    for start in (0..len / 2).rev() {
        sift_down(items, start, len, &mut less);
    }
    for end in (1..len).rev() {
        items.swap(0, end);
        sift_down(items, 0, end, &mut less);
    }
}

fn sift_down<T>(items: &mut [T], mut node: usize, end: usize, less: &mut impl FnMut(&T, &T) -> bool) {
    loop {
        let mut child = 2 * node + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && less(&items[child], &items[child + 1]) {
            child += 1;
        }
        if !less(&items[node], &items[child]) {
            return;
        }
        items.swap(node, child);
        node = child;
    }
}

#[cfg(test)]
mod tests {
    use super::heap_sort_by;

    /// Every length up to 70, in several pseudo-random orders: the same as `sort`.
    #[test]
    fn sorts_as_the_standard_sort_does() {
        let mut x: u32 = 11;
        for len in 0..70 {
            for _ in 0..5 {
                let mut items: Vec<u32> = (0..len)
                    .map(|_| {
                        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                        (x >> 16) % 50
                    })
                    .collect();
                let mut expected = items.clone();
                expected.sort();
                heap_sort_by(&mut items, |a, b| a < b);
                assert_eq!(items, expected);
            }
        }
    }

    /// By a key: strings by length, then text (as receipt ids are ordered).
    #[test]
    fn sorts_by_a_key() {
        let mut ids = vec!["r-10", "r-9", "r-100", "r-1", "r-11"];
        heap_sort_by(&mut ids, |a, b| (a.len(), *a) < (b.len(), *b));
        assert_eq!(ids, ["r-1", "r-9", "r-10", "r-11", "r-100"]);
    }
}
