//! A page of many items, kept bounded by the page: UiPath's reads page a million users
//! in place, keeping no more than `skip + top` of them at a time.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Which page: `top` items after the first `skip`, in ascending or descending order.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub skip: usize,
    pub top: usize,
    pub descending: bool,
}

impl Window {
    /// One page of `items`, already in their natural (id) order, and how many there are.
    pub fn in_order<T>(&self, items: impl DoubleEndedIterator<Item = T>) -> (usize, Vec<T>) {
        let items: Box<dyn Iterator<Item = T>> = if self.descending { Box::new(items.rev()) } else { Box::new(items) };
        let (mut total, mut page) = (0, Vec::new());
        for item in items {
            if total >= self.skip && page.len() < self.top {
                page.push(item);
            }
            total += 1;
        }
        (total, page)
    }

    /// One page of `items` in `key` order (ties in the items' order), and how many there
    /// are, keeping no more than `skip + top` of them at a time.
    pub fn sorted<T, K: Ord>(&self, items: impl Iterator<Item = T>, key: impl Fn(&T) -> K) -> (usize, Vec<T>) {
        let keep = self.skip.saturating_add(self.top);
        let mut total = 0;
        let mut heap = BinaryHeap::new();
        for item in items {
            let ranked = Ranked { key: (ordered(key(&item), self.descending), total), item };
            total += 1;
            heap.push(ranked);
            if heap.len() > keep {
                heap.pop();
            }
        }
        let page = heap.into_sorted_vec().into_iter().skip(self.skip).map(|r| r.item).collect();
        (total, page)
    }
}

/// A sort key, reversed for a descending page.
fn ordered<K: Ord>(key: K, descending: bool) -> Result<K, Reverse<K>> {
    if descending { Err(Reverse(key)) } else { Ok(key) }
}

/// An item ranked by its key alone.
struct Ranked<K, T> {
    key: K,
    item: T,
}

impl<K: Ord, T> PartialEq for Ranked<K, T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<K: Ord, T> Eq for Ranked<K, T> {}

impl<K: Ord, T> PartialOrd for Ranked<K, T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<K: Ord, T> Ord for Ranked<K, T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(top: usize, skip: usize, descending: bool) -> Window {
        Window { skip, top, descending }
    }

    /// The page the slow way: everything sorted (stably, ties in the items' order), then cut.
    fn naive(items: &[(u8, u32)], w: Window) -> (usize, Vec<(u8, u32)>) {
        let mut all = items.to_vec();
        if w.descending {
            all.sort_by_key(|item| std::cmp::Reverse(item.0));
        } else {
            all.sort_by_key(|item| item.0);
        }
        (items.len(), all.into_iter().skip(w.skip).take(w.top).collect())
    }

    #[test]
    fn a_sorted_page_is_the_full_sort_cut_to_the_page() {
        // Items as (key, position): few distinct keys, so ties are many.
        let mut seed = 0x2545_f491_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for case in 0..300 {
            let len = (next() % 60) as usize;
            let items: Vec<(u8, u32)> = (0..len as u32).map(|at| ((next() % 7) as u8, at)).collect();
            let w = window((next() % 12) as usize, (next() % 70) as usize, next() % 2 == 0);
            let page = w.sorted(items.iter().copied(), |item| item.0);
            assert_eq!(page, naive(&items, w), "case {case}: {w:?} of {items:?}");
        }
    }

    #[test]
    fn a_page_in_order_counts_everything_and_keeps_its_window() {
        assert_eq!(window(2, 1, false).in_order(1..=5), (5, vec![2, 3]));
        assert_eq!(window(2, 1, true).in_order(1..=5), (5, vec![4, 3]));
        assert_eq!(window(9, 9, false).in_order(1..=5), (5, vec![]));
        assert_eq!(window(0, 0, true).in_order(1..=5), (5, vec![]));
    }
}
