//! UiPath's paged reads (`top`, `skip`, `sortBy`, `sortOrder`, `userBundleLicenseCodes`),
//! served over the books in place: a page of a million users keeps `skip + top` of them
//! (see `paging.rs`).

use allot_api::ErrorCode;

use crate::app::App;
use crate::compat::uipath::paging::Window;
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

    /// The page these parameters ask for.
    fn window(&self) -> Window {
        Window { skip: self.skip, top: self.top, descending: self.descending }
    }

    /// One page of `items`, already in their natural (id) order, and how many there are.
    pub fn in_order<T>(&self, items: impl DoubleEndedIterator<Item = T>) -> (usize, Vec<T>) {
        self.window().in_order(items)
    }

    /// One page of `items` in `key` order (ties in the items' order), and how many there are.
    pub fn sorted<T, K: Ord>(&self, items: impl Iterator<Item = T>, key: impl Fn(&T) -> K) -> (usize, Vec<T>) {
        self.window().sorted(items, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(top: usize, skip: usize, descending: bool) -> PageParams {
        PageParams { top, skip, sort_by: None, descending, codes: vec![] }
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
