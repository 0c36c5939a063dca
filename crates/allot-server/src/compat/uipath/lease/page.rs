//! UiPath's paged reads (`top`, `skip`, `sortBy`, `sortOrder`, `userBundleLicenseCodes`),
//! served over the books in place: a page of a million users keeps `skip + top` of them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use allot_api::ErrorCode;

use crate::app::App;
use crate::error::{ApiError, ApiResult};

/// A paged read's parameters, as its query string gives them.
pub struct PageParams {
    pub top: usize,
    pub skip: usize,
    pub sort_by: Option<String>,
    pub descending: bool,
    /// `userBundleLicenseCodes`: keep only items holding one of these (none: keep all).
    pub codes: Vec<String>,
}

fn bad(detail: String) -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidQuery, detail)
}

fn number(name: &str, raw: &str) -> ApiResult<usize> {
    let n: i32 = raw.parse().map_err(|_| bad(format!("{name}: `{raw}` is not an int32")))?;
    usize::try_from(n).map_err(|_| bad(format!("{name}: must be at least 0")))
}

impl PageParams {
    /// Parses the query's pairs; `sortBy` must be one of `sorts`, `userBundleLicenseCodes`
    /// is taken only where `filters` (and may repeat).
    pub fn parse(app: &App, pairs: Vec<(String, String)>, sorts: &[&str], filters: bool) -> ApiResult<Self> {
        let mut params =
            Self { top: app.page_limit(None)? as usize, skip: 0, sort_by: None, descending: false, codes: vec![] };
        for (name, value) in pairs {
            match name.as_str() {
                "top" => params.top = number("top", &value)?,
                "skip" => params.skip = number("skip", &value)?,
                "sortBy" if sorts.iter().any(|s| s.eq_ignore_ascii_case(&value)) => params.sort_by = Some(value),
                "sortBy" => return Err(bad(format!("sortBy: `{value}` is none of {sorts:?}"))),
                // UiPath's SortOrder: 0 ascending, 1 descending.
                "sortOrder" => match value.as_str() {
                    "0" => params.descending = false,
                    "1" => params.descending = true,
                    _ => return Err(bad(format!("sortOrder: `{value}` is neither 0 nor 1"))),
                },
                "userBundleLicenseCodes" if filters => params.codes.push(value),
                _ => return Err(bad(format!("`{name}` is not a parameter of this read"))),
            }
        }
        // A page is at most the server's largest page.
        let max = app.config.limits.max_page as usize;
        if params.top > max {
            return Err(bad(format!("top must be at most {max}")));
        }
        Ok(params)
    }

    /// Whether the page sorts by `name` (case-insensitively).
    pub fn sorts_by(&self, name: &str) -> bool {
        self.sort_by.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(name))
    }

    /// Whether an item holding `codes` passes the `userBundleLicenseCodes` filter.
    pub fn keeps<'a>(&self, mut codes: impl Iterator<Item = &'a str>) -> bool {
        self.codes.is_empty() || codes.any(|c| self.codes.iter().any(|w| w.eq_ignore_ascii_case(c)))
    }

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

    fn params(top: usize, skip: usize, descending: bool) -> PageParams {
        PageParams { top, skip, sort_by: None, descending, codes: vec![] }
    }

    #[test]
    fn a_sorted_page_is_the_full_sort_cut_to_the_page() {
        let items: Vec<u32> = (0..200).map(|i| (i * 7919) % 211).collect();
        for (top, skip, descending) in [(10, 0, false), (10, 5, true), (3, 198, false), (0, 0, true), (50, 300, false)]
        {
            let mut all = items.clone();
            all.sort_unstable();
            if descending {
                all.reverse();
            }
            let expected: Vec<u32> = all.into_iter().skip(skip).take(top).collect();
            let (total, page) = params(top, skip, descending).sorted(items.iter().copied(), |i| *i);
            assert_eq!((total, page), (items.len(), expected), "top {top} skip {skip} descending {descending}");
        }
    }

    #[test]
    fn a_page_in_order_counts_everything_and_keeps_its_window() {
        assert_eq!(params(2, 1, false).in_order(1..=5), (5, vec![2, 3]));
        assert_eq!(params(2, 1, true).in_order(1..=5), (5, vec![4, 3]));
        assert_eq!(params(9, 9, false).in_order(1..=5), (5, vec![]));
    }

    #[test]
    fn the_code_filter_keeps_items_holding_any_named_code() {
        let mut filtered = params(1, 0, false);
        assert!(filtered.keeps(["X"].into_iter()), "no filter keeps all");
        filtered.codes = vec!["attunu".into(), "TSTNU".into()];
        assert!(filtered.keeps(["RPADEVNU", "ATTUNU"].into_iter()));
        assert!(!filtered.keeps(["RPADEVNU"].into_iter()));
    }
}
