//! A sorted map that is cheap to copy: its entries live in short sorted runs, each shared
//! behind an `Arc`, so a copy shares every run and a change copies only the run it touches.
//! The books use it for what grows with an organization (users, groups, what ends when), so
//! a plan can work on a private copy of the state while checks read the last committed one:
//! copying a million users copies about 16,000 pointers (docs/BENCHMARKS.md). The index of
//! each run's first key is shared the same way; the first change after a copy that moves a
//! run's first key (a split, a new smallest key, an emptied run) copies that index, one
//! key per run.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

/// A sorted map of runs of at most `2 * RUN` entries; a run that grows past it is split in two.
///
/// `firsts` holds each run's first key, in one array of its own: a lookup searches it
/// before it touches a run, so finding the run costs no pointer chase per probe (through
/// the `Arc`, the run's buffer, then the key). It is shared by copies too, and copied by
/// the first change that moves a run's first key (a split, a new smallest key, an emptied
/// run).
pub struct CowMap<K, V, const RUN: usize = 64> {
    runs: Vec<Arc<Run<K, V>>>,
    firsts: Arc<Vec<K>>,
    len: usize,
}

impl<K, V, const RUN: usize> Clone for CowMap<K, V, RUN> {
    fn clone(&self) -> Self {
        Self { runs: self.runs.clone(), firsts: self.firsts.clone(), len: self.len }
    }
}

impl<K, V, const RUN: usize> Default for CowMap<K, V, RUN> {
    fn default() -> Self {
        Self { runs: Vec::new(), firsts: Arc::default(), len: 0 }
    }
}

impl<K: fmt::Debug, V: fmt::Debug, const RUN: usize> fmt::Debug for CowMap<K, V, RUN> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K, V, const RUN: usize> CowMap<K, V, RUN> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + Clone {
        self.runs.iter().flat_map(|run| run.iter().map(|(k, v)| (k, v)))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + Clone {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + Clone {
        self.iter().map(|(_, v)| v)
    }

    pub fn first_key(&self) -> Option<&K> {
        self.runs.first().and_then(|run| run.first()).map(|(k, _)| k)
    }
}

/// A run's entries in order, and beside them a 32-bit hash of each key: a lookup scans
/// the hashes (a few cache lines, in order) and compares one key, where a binary search
/// over the entries would chase a key to its heap bytes at every probe.
#[derive(Clone)]
struct Run<K, V> {
    entries: Vec<(K, V)>,
    hashes: Vec<u32>,
}

impl<K: Hash, V> Run<K, V> {
    fn new(entries: Vec<(K, V)>) -> Self {
        let hashes = entries.iter().map(|(k, _)| hash(k)).collect();
        Self { entries, hashes }
    }

    fn position<Q: Eq + Hash + ?Sized>(&self, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
    {
        let wanted = hash(key);
        let mut candidates = self.hashes.iter().enumerate().filter(|(_, h)| **h == wanted);
        candidates.find(|(at, _)| self.entries[*at].0.borrow() == key).map(|(at, _)| at)
    }

    fn insert(&mut self, at: usize, entry: (K, V)) {
        self.hashes.insert(at, hash(&entry.0));
        self.entries.insert(at, entry);
    }

    fn remove(&mut self, at: usize) -> (K, V) {
        self.hashes.remove(at);
        self.entries.remove(at)
    }

    fn split_off(&mut self, at: usize) -> Self {
        let rest = Self { entries: self.entries.split_off(at), hashes: self.hashes.split_off(at) };
        self.entries.shrink_to_fit();
        self.hashes.shrink_to_fit();
        rest
    }
}

impl<K, V> std::ops::Deref for Run<K, V> {
    type Target = [(K, V)];

    fn deref(&self) -> &[(K, V)] {
        &self.entries
    }
}

/// FNV-1a, 32 bits: the keys are short, and a collision costs one more comparison.
fn hash<Q: Hash + ?Sized>(key: &Q) -> u32 {
    struct Fnv(u32);
    impl Hasher for Fnv {
        fn write(&mut self, bytes: &[u8]) {
            for byte in bytes {
                self.0 = (self.0 ^ u32::from(*byte)).wrapping_mul(0x0100_0193);
            }
        }
        fn finish(&self) -> u64 {
            u64::from(self.0)
        }
    }
    let mut hasher = Fnv(0x811c_9dc5);
    key.hash(&mut hasher);
    hasher.0
}

impl<K: Ord + Hash + Clone, V: Clone, const RUN: usize> CowMap<K, V, RUN> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The run that holds `key` if any does: the last run whose first key is not after it.
    fn run_of<Q: Ord + ?Sized>(&self, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
    {
        let after = self.firsts.partition_point(|first| first.borrow() <= key);
        after.checked_sub(1)
    }

    fn find<Q: Ord + Hash + ?Sized>(&self, key: &Q) -> Option<(usize, usize)>
    where
        K: Borrow<Q>,
    {
        let run = self.run_of(key)?;
        let at = self.runs[run].position(key)?;
        Some((run, at))
    }

    pub fn get_key_value<Q: Ord + Hash + ?Sized>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
    {
        self.find(key).map(|(run, at)| {
            let (k, v) = &self.runs[run][at];
            (k, v)
        })
    }

    pub fn get<Q: Ord + Hash + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.get_key_value(key).map(|(_, v)| v)
    }

    pub fn contains_key<Q: Ord + Hash + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(key).is_some()
    }

    /// The entry, copying its run first if a copy of the map shares it.
    pub fn get_mut<Q: Ord + Hash + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        let (run, at) = self.find(key)?;
        Some(&mut Arc::make_mut(&mut self.runs[run]).entries[at].1)
    }

    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let run = self.run_of(&key).unwrap_or(0);
        if self.runs.is_empty() {
            self.runs.push(Arc::new(Run::new(Vec::with_capacity(1))));
            Arc::make_mut(&mut self.firsts).push(key.clone());
        }
        let entries = Arc::make_mut(&mut self.runs[run]);
        match entries.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(at) => return Some(std::mem::replace(&mut entries.entries[at].1, value)),
            Err(at) => {
                if at == 0 {
                    Arc::make_mut(&mut self.firsts)[run] = key.clone();
                }
                entries.insert(at, (key, value));
            }
        }
        self.len += 1;
        if entries.len() > 2 * RUN {
            let rest = entries.split_off(RUN);
            Arc::make_mut(&mut self.firsts).insert(run + 1, rest[0].0.clone());
            self.runs.insert(run + 1, Arc::new(rest));
        }
        None
    }

    pub fn remove<Q: Ord + Hash + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let (run, at) = self.find(key)?;
        let entries = Arc::make_mut(&mut self.runs[run]);
        let (_, value) = entries.remove(at);
        if entries.is_empty() {
            self.runs.remove(run);
            Arc::make_mut(&mut self.firsts).remove(run);
        } else if at == 0 {
            Arc::make_mut(&mut self.firsts)[run] = entries[0].0.clone();
        }
        self.len -= 1;
        Some(value)
    }

    /// Adds every entry of `other`, leaving it empty; an entry of `other` replaces one of
    /// the same key. Into an empty map, the runs are built full.
    pub fn append(&mut self, other: &mut BTreeMap<K, V>) {
        let added = std::mem::take(other);
        if !self.is_empty() {
            for (key, value) in added {
                self.insert(key, value);
            }
            return;
        }
        self.len = added.len();
        let mut run = Vec::with_capacity(RUN.min(self.len));
        for entry in added {
            run.push(entry);
            if run.len() == RUN {
                self.runs.push(Arc::new(Run::new(std::mem::replace(&mut run, Vec::with_capacity(RUN)))));
            }
        }
        if !run.is_empty() {
            run.shrink_to_fit();
            self.runs.push(Arc::new(Run::new(run)));
        }
        self.firsts = Arc::new(self.runs.iter().map(|run| run[0].0.clone()).collect());
    }

    /// The entries from the first one whose key `before` does not hold for, in order:
    /// `before` must hold for a prefix of the keys (`|(at, ..)| *at <= t` on keys that
    /// start with a time). Found by a binary search, with no key built to start from.
    pub fn iter_from(&self, before: impl Fn(&K) -> bool) -> impl Iterator<Item = (&K, &V)> {
        let run = self.firsts.partition_point(&before).saturating_sub(1);
        let runs = self.runs.get(run..).unwrap_or_default();
        runs.iter().flat_map(|entries| entries.iter().map(|(k, v)| (k, v))).skip_while(move |(k, _)| before(k))
    }

    /// The keys whose `at` is after `from` and not after `until`, in order, for a map
    /// ordered by `at` first (keys that start with a time).
    pub fn keys_within<T: Ord + Copy>(
        &self,
        at: impl Fn(&K) -> T + Copy,
        from: T,
        until: T,
    ) -> impl Iterator<Item = &K> {
        self.iter_from(move |k| at(k) <= from).map(|(k, _)| k).take_while(move |k| at(k) <= until)
    }

    /// The entries within `range`, in order.
    pub fn range<R: RangeBounds<K>>(&self, range: R) -> impl Iterator<Item = (&K, &V)> {
        let (run, at) = match range.start_bound() {
            Bound::Unbounded => (0, 0),
            Bound::Included(start) | Bound::Excluded(start) => match self.run_of(start) {
                None => (0, 0),
                Some(run) => {
                    let entries = &self.runs[run];
                    let at = match range.start_bound() {
                        Bound::Excluded(_) => entries.partition_point(|(k, _)| k <= start),
                        _ => entries.partition_point(|(k, _)| k < start),
                    };
                    (run, at)
                }
            },
        };
        let end = match range.end_bound() {
            Bound::Included(end) => Bound::Included(end.clone()),
            Bound::Excluded(end) => Bound::Excluded(end.clone()),
            Bound::Unbounded => Bound::Unbounded,
        };
        let first = self.runs.get(run).map(|entries| &entries[at..]).unwrap_or_default();
        let rest = self.runs.get(run + 1..).unwrap_or_default();
        first.iter().chain(rest.iter().flat_map(|entries| entries.iter())).map(|(k, v)| (k, v)).take_while(
            move |(k, _)| match &end {
                Bound::Included(end) => *k <= end,
                Bound::Excluded(end) => *k < end,
                Bound::Unbounded => true,
            },
        )
    }
}

impl<K: Ord + Hash + Clone, V: Clone, const RUN: usize> FromIterator<(K, V)> for CowMap<K, V, RUN> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(entries: I) -> Self {
        let mut map = Self::new();
        map.append(&mut entries.into_iter().collect());
        map
    }
}

impl<'a, K, V, const RUN: usize> IntoIterator for &'a CowMap<K, V, RUN> {
    type Item = (&'a K, &'a V);
    type IntoIter = Box<dyn DoubleEndedIterator<Item = (&'a K, &'a V)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16, u32),
        Remove(u16),
        Copy,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u16..600, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            2 => (0u16..600).prop_map(Op::Remove),
            1 => Just(Op::Copy),
        ]
    }

    proptest! {
        /// Against a BTreeMap: every answer the same, through splits and emptied runs; and
        /// a copy taken along the way keeps the entries it had when taken.
        #[test]
        fn behaves_as_a_btreemap_and_copies_do_not_move(
            start in proptest::collection::btree_map(0u16..600, any::<u32>(), 0..300),
            ops in proptest::collection::vec(op(), 0..400),
            from in 0u16..600,
            to in 0u16..600,
        ) {
            let mut model = start.clone();
            let mut map: CowMap<u16, u32, 4> = CowMap::new();
            map.append(&mut start.clone());
            let firsts: Vec<u16> = map.runs.iter().map(|run| run[0].0).collect();
            prop_assert_eq!(&firsts, &*map.firsts, "built whole");
            let mut copies = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(map.insert(k, v), model.insert(k, v)),
                    Op::Remove(k) => prop_assert_eq!(map.remove(&k), model.remove(&k)),
                    Op::Copy => copies.push((map.clone(), model.clone())),
                }
                prop_assert_eq!(map.len(), model.len());
                let firsts: Vec<u16> = map.runs.iter().map(|run| run[0].0).collect();
                prop_assert_eq!(&firsts, &*map.firsts, "each run's first key, in order");
                for run in &map.runs {
                    let hashes: Vec<u32> = run.entries.iter().map(|(k, _)| hash(k)).collect();
                    prop_assert_eq!(&hashes, &run.hashes, "each entry's hash beside it");
                }
            }
            prop_assert!(map.iter().eq(model.iter()));
            prop_assert!(map.iter().rev().eq(model.iter().rev()));
            for k in 0..600u16 {
                prop_assert_eq!(map.get(&k), model.get(&k));
            }
            let (low, high) = (from.min(to), from.max(to));
            prop_assert!(map.range(low..high).eq(model.range(low..high)));
            prop_assert!(map.range(low..=high).eq(model.range(low..=high)));
            prop_assert!(map.range((Bound::Excluded(low), Bound::Unbounded)).eq(model.range((Bound::Excluded(low), Bound::Unbounded))));
            prop_assert_eq!(map.first_key(), model.keys().next());
            for (copy, then) in copies {
                prop_assert!(copy.iter().eq(then.iter()));
                for k in 0..600u16 {
                    prop_assert_eq!(copy.get(&k), then.get(&k), "a copy's lookups, through its own index");
                }
            }
            let t = from;
            prop_assert!(map.iter_from(|k| *k < t).eq(model.range(t..)), "from a key found by search");
            let within = model.range((Bound::Excluded(low), Bound::Included(high))).map(|(k, _)| k);
            prop_assert!(map.keys_within(|k| *k, low, high).eq(within), "after one time, up to another");
        }
    }

    #[test]
    fn keys_whose_hashes_collide_are_told_apart_by_the_keys() {
        /// Every key hashes alike.
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
        struct Clash(u16);
        impl Hash for Clash {
            fn hash<H: Hasher>(&self, state: &mut H) {
                state.write_u8(7);
            }
        }
        let mut map: CowMap<Clash, u16, 4> = (0..50).map(|k| (Clash(k), k)).collect();
        assert!(map.runs.iter().all(|run| run.hashes.iter().all(|h| *h == run.hashes[0])));
        for k in 0..50 {
            assert_eq!(map.get(&Clash(k)), Some(&k));
        }
        assert_eq!(map.remove(&Clash(20)), Some(20));
        assert_eq!(map.get(&Clash(20)), None);
        assert_eq!(map.get(&Clash(21)), Some(&21));
    }

    #[test]
    fn a_change_to_a_copy_copies_one_run() {
        let mut map: CowMap<u32, u32, 64> = (0..10_000).map(|k| (k, k)).collect();
        let copy = map.clone();
        *map.get_mut(&5_000).unwrap() = 0;
        let shared = map.runs.iter().zip(&copy.runs).filter(|(a, b)| Arc::ptr_eq(a, b)).count();
        assert_eq!(shared, map.runs.len() - 1);
        assert_eq!(copy.get(&5_000), Some(&5_000));
    }
}
