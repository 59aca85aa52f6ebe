//! Filters kept in the address: a page reads them from the query string once, as it opens, and
//! rewrites the query string in place whenever they change. A link, a reload, or the way back from
//! a page the list led to therefore shows the same list; and since the address only ever follows
//! the filters, typing never races a navigation.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use leptos_router::NavigateOptions;

/// The query string of `filters`, empty ones left out, values escaped: `?tenant=acme&q=bot`.
pub fn filter_query(filters: &[(&'static str, String)]) -> String {
    let mut params = ParamsMap::new();
    for (key, value) in filters.iter().filter(|(_, value)| !value.trim().is_empty()) {
        params.insert(*key, value.clone());
    }
    params.to_query_string()
}

/// The value of `key` in the address as the page opened, or empty.
pub fn opened_with(key: &str) -> String {
    use_query_map().with_untracked(|query| query.get(key).unwrap_or_default())
}

/// Keeps `path` plus the query string of `filters()` in the address, replacing the current
/// history entry each time the filters change.
pub fn keep_in_address(path: &'static str, filters: impl Fn() -> Vec<(&'static str, String)> + Send + Sync + 'static) {
    let navigate = use_navigate();
    Effect::new(move |previous: Option<String>| {
        let current = filter_query(&filters());
        if previous.is_some_and(|p| p != current) {
            navigate(&format!("{path}{current}"), NavigateOptions { replace: true, scroll: false, ..NavigateOptions::default() });
        }
        current
    });
}
