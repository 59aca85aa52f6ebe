//! Work is never lost silently: while the editor holds unsaved changes, following a link inside the
//! console asks first, and closing or reloading the tab gets the browser's own "leave site?" prompt.

use crate::components::feedback::{ask, go_to, QuestionPopover};
use leptos::prelude::*;

/// Guards the page while `dirty` holds. Leaving after the confirmation calls `discard` first, so the
/// guard lets the navigation through.
#[component]
pub(super) fn UnsavedGuard(dirty: Signal<bool>, discard: Callback<()>) -> impl IntoView {
    // Where a click was going when the guard stopped it: the question asks about this one.
    let leaving = StoredValue::new(None::<String>);
    #[cfg(feature = "hydrate")]
    browser::guard(
        dirty,
        Callback::new(move |href| {
            leaving.set_value(Some(href));
            ask(LEAVE);
        }),
    );
    // The server renders no listeners: there is nothing to leave before the page hydrates.
    #[cfg(not(feature = "hydrate"))]
    let _ = (dirty, ask);
    view! {
        <QuestionPopover
            id=LEAVE
            title="Leave without saving?"
            message="The changes you made to this policy are not saved. Leaving discards them."
            confirm_label="Discard changes"
            on_confirm=Callback::new(move |_| {
                if let Some(href) = leaving.get_value() {
                    discard.run(());
                    go_to(&href);
                }
            })
        />
    }
}

/// The question asked before unsaved work is left behind.
const LEAVE: &str = "leave-unsaved";

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use leptos::wasm_bindgen::closure::Closure;
    use leptos::wasm_bindgen::JsCast;
    use web_sys::js_sys::Function;

    /// Listens for clicks before anything else does (capture phase on the document), so a link away
    /// is held until the user confirms; and asks the browser to prompt before the tab unloads,
    /// unless the page is left by a form the user already confirmed in a popover (restoring a
    /// version, deleting the policy), which says what it does to unsaved edits.
    pub(super) fn guard(dirty: Signal<bool>, leaving: Callback<String>) {
        let confirmed = StoredValue::new(false);
        let is_dirty = move || dirty.try_get_untracked().unwrap_or(false) && !confirmed.try_get_value().unwrap_or(false);
        let on_submit = Closure::<dyn Fn(web_sys::Event)>::new(move |ev: web_sys::Event| {
            let form = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok());
            if !ev.default_prevented() && form.and_then(|form| form.closest("[popover]").ok().flatten()).is_some() {
                confirmed.set_value(true);
            }
        });
        let on_submit: Function = on_submit.into_js_value().unchecked_into();
        let _ = document().add_event_listener_with_callback("submit", &on_submit);
        let on_click = Closure::<dyn Fn(web_sys::MouseEvent)>::new(move |ev: web_sys::MouseEvent| {
            // A modified click opens another tab and leaves this one as it is.
            if !is_dirty() || ev.default_prevented() || ev.button() != 0 || ev.meta_key() || ev.ctrl_key() || ev.shift_key() || ev.alt_key() {
                return;
            }
            let anchor = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()).and_then(|el| el.closest("a[href]").ok().flatten());
            let Some(anchor) = anchor else { return };
            if anchor.get_attribute("target").is_some_and(|t| t != "_self") || anchor.has_attribute("download") {
                return;
            }
            let Some(href) = anchor.get_attribute("href") else { return };
            ev.prevent_default();
            ev.stop_propagation();
            leaving.run(href);
        });
        let on_click: Function = on_click.into_js_value().unchecked_into();
        let _ = document().add_event_listener_with_callback_and_bool("click", &on_click, true);
        let listener = StoredValue::new_local((on_click, on_submit));
        let unload = window_event_listener(leptos::ev::beforeunload, move |ev| {
            if is_dirty() {
                ev.prevent_default();
                ev.set_return_value("unsaved changes");
            }
        });
        on_cleanup(move || {
            unload.remove();
            if let Some((on_click, on_submit)) = listener.try_get_value() {
                let _ = document().remove_event_listener_with_callback_and_bool("click", &on_click, true);
                let _ = document().remove_event_listener_with_callback("submit", &on_submit);
            }
        });
    }
}
