//! Filters kept in the address, so a link, a reload, or the way back from a page the list led to
//! shows the same list: a list page's filters are a GET form ([`FilterForm`]) that the browser
//! sends to the page's own address, and its pages are links ([`Paging`]), so each list is a page
//! the server renders, with or without script.

use leptos::prelude::*;

/// The query string of `filters`, empty ones left out, escaped as a browser sends a form (and as
/// `forms.js` does): `?tenant=acme&q=bot+one`. The links between pages and the filter form then
/// write the same address for the same list.
pub fn filter_query(filters: &[(&'static str, String)]) -> String {
    let pairs: Vec<String> = filters.iter().filter(|(_, value)| !value.trim().is_empty()).map(|(key, value)| format!("{key}={}", form_escape(value))).collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

/// `text` as `application/x-www-form-urlencoded` writes it: letters, digits and `*-._` as they
/// are, a space as `+`, every other byte as `%XX`.
fn form_escape(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => char::from(byte).to_string(),
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A list's filters as a GET form to `path`: a choice (a `<select>`, a checkbox, or a field marked
/// `data-submit-on-change` once it is left) applies at once, typed text with Enter or the button.
/// The console's small page script (`forms.js`, inline in every page's head) sends the form when a
/// choice changes and leaves the empty fields out of the address; without it the browser sends
/// the form as it is, and the server renders the list either way. Plain script rather than the
/// bundle: it works from the page's first moment, before the bundle has loaded, and needs nothing
/// from the components around it.
#[component]
pub fn FilterForm(
    path: &'static str,
    #[prop(into)] class: String,
    /// What the form's button says.
    #[prop(default = "Filter")]
    button: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <form method="get" action=path role="search" class=class data-filters="">
            {children()}
            <div class="flex items-end"><button type="submit" class=crate::components::ui::BUTTON_SECONDARY>{button}</button></div>
        </form>
    }
}

/// The links between the pages of a list: to the entries older than the last one shown (`next`,
/// a cursor), and back to the newest while an older page is shown. `filters` are the list's own,
/// kept in both.
#[component]
pub fn Paging(path: &'static str, filters: Vec<(&'static str, String)>, next: Option<String>, older_than_newest: bool, noun: &'static str) -> impl IntoView {
    let link = "rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50";
    let newest = older_than_newest.then(|| format!("{path}{}", filter_query(&filters)));
    let older = next.map(|cursor| {
        let mut filters = filters.clone();
        filters.push(("before", cursor));
        format!("{path}{}", filter_query(&filters))
    });
    (newest.is_some() || older.is_some()).then(|| {
        view! {
            <li class="p-3 flex justify-center gap-2" data-testid="paging">
                {newest.map(|href| view! { <a href=href class=link>{format!("Newest {noun}")}</a> })}
                {older.map(|href| view! { <a href=href class=link rel="next">{format!("Older {noun}")}</a> })}
            </li>
        }
    })
}

#[cfg(test)]
mod tests {
    use super::filter_query;

    fn check(filters: &[(&'static str, &str)], expected: &str) {
        let filters: Vec<(&'static str, String)> = filters.iter().map(|(key, value)| (*key, (*value).to_owned())).collect();
        assert_eq!(filter_query(&filters), expected, "{filters:?}");
    }

    #[test]
    fn a_list_address_is_written_as_a_browser_sends_the_form() {
        check(&[], "");
        check(&[("tenant", ""), ("q", "  ")], "");
        check(&[("q", "e2e-page-01")], "?q=e2e-page-01");
        check(&[("tenant", "meridian-bank"), ("tool", "x.y"), ("q", "never pays")], "?tenant=meridian-bank&tool=x.y&q=never+pays");
        check(&[("q", "a&b=c/100%")], "?q=a%26b%3Dc%2F100%25");
        check(&[("q", "café")], "?q=caf%C3%A9");
    }
}
