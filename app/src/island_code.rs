//! The code of a page's lazy islands (`#[island(lazy)]`, built with `cargo leptos build --split`).
//! A lazy island loads its code from files of its own when the browser reaches it; a page that
//! names its lazy islands ([`PreloadIslands`]) has its head ask for those files at once, beside the
//! bundle, instead of after it.

use leptos::prelude::*;

/// Which files each lazy island loads, as the split build's manifest says, by the island's name in
/// snake case (`policy_editor` for `PolicyEditor`). Empty when the bundle was built without
/// `--split`, or not built at all (as in the server's tests): pages then ask for nothing early.
#[derive(Clone, Debug, Default)]
pub struct IslandFiles {
    /// Where the bundle is served from, e.g. `/pkg`.
    pkg: String,
    by_island: std::sync::Arc<std::collections::HashMap<String, Vec<String>>>,
}

#[cfg(feature = "ssr")]
impl IslandFiles {
    /// The manifest next to the bundle, read once: the build does not change under a running server.
    pub fn of_site(options: &LeptosOptions) -> IslandFiles {
        static READ: std::sync::OnceLock<IslandFiles> = std::sync::OnceLock::new();
        READ.get_or_init(|| {
            let path = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir).join("__wasm_split_manifest.json");
            let manifest: std::collections::HashMap<String, Vec<String>> =
                std::fs::read(&path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default();
            IslandFiles { pkg: format!("/{}", options.site_pkg_dir), by_island: std::sync::Arc::new(by_island(manifest)) }
        })
        .clone()
    }
}

/// The manifest names each island's loader `<island>_loader_<hash>`.
#[cfg(feature = "ssr")]
fn by_island(manifest: std::collections::HashMap<String, Vec<String>>) -> std::collections::HashMap<String, Vec<String>> {
    manifest.into_iter().filter_map(|(loader, files)| Some((loader.rsplit_once("_loader_")?.0.to_owned(), files))).collect()
}

/// Asks, in the page's head, for the files the named lazy islands load (each once), so they
/// download beside the bundle.
#[component]
pub fn PreloadIslands(islands: &'static [&'static str]) -> impl IntoView {
    let files = use_context::<IslandFiles>().unwrap_or_default();
    let wanted: std::collections::BTreeSet<&String> = islands.iter().filter_map(|island| files.by_island.get(*island)).flatten().collect();
    wanted
        .into_iter()
        .map(|file| {
            // As `fetch` with the same mode as the loader's own request, so the browser uses this download.
            view! { <leptos_meta::Link rel="preload" href=format!("{}/{file}.wasm", files.pkg) as_="fetch" crossorigin="anonymous"/> }
        })
        .collect_view()
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::by_island;

    #[test]
    fn islands_are_named_by_their_loaders() {
        let manifest = [
            ("policy_editor_loader_5562189909381193410".to_owned(), vec!["chunk_12".to_owned(), "split_policy_editor_loader_5562189909381193410".to_owned()]),
            ("not_a_loader".to_owned(), vec!["chunk_1".to_owned()]),
        ];
        let by_island = by_island(manifest.into_iter().collect());
        assert_eq!(by_island.get("policy_editor").map(Vec::len), Some(2));
        assert_eq!(by_island.len(), 1, "{by_island:?}");
    }
}
