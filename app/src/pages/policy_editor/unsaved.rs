//! Work is never lost silently: while the editor holds unsaved changes, following a link inside the
//! console asks first, and closing or reloading the tab gets the browser's own "leave site?" prompt.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::components::feedback::ConfirmDialog;

/// Guards the page while `dirty` holds. Leaving after the confirmation calls `discard` first, so the
/// guard lets the navigation through.
#[component]
pub(super) fn UnsavedGuard(dirty: Signal<bool>, discard: Callback<()>) -> impl IntoView {
    // Where a click was going when the guard stopped it.
    let leaving = RwSignal::new(None::<String>);
    let open = RwSignal::new(false);
    // Each side changes the other only when it differs: a signal set notifies even with the same
    // value, and two effects that always set each other would never stop.
    Effect::new(move |_| {
        let asked = leaving.with(Option::is_some);
        if open.get_untracked() != asked {
            open.set(asked);
        }
    });
    Effect::new(move |_| {
        if !open.get() && leaving.with_untracked(Option::is_some) {
            leaving.set(None);
        }
    });
    #[cfg(feature = "hydrate")]
    browser::guard(dirty, leaving);
    // The server renders no listeners: there is nothing to leave before the page hydrates.
    #[cfg(not(feature = "hydrate"))]
    let _ = dirty;
    let navigate = use_navigate();
    view! {
        {move || open.get().then(|| {
            let navigate = navigate.clone();
            view! {
                <ConfirmDialog
                    open
                    title="Leave without saving?"
                    message="The changes you made to this policy are not saved. Leaving discards them."
                    confirm_label="Discard changes"
                    on_confirm=Callback::new(move |_| {
                        if let Some(href) = leaving.get_untracked() {
                            discard.run(());
                            navigate(&href, Default::default());
                        }
                    })
                />
            }
        })}
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use leptos::wasm_bindgen::closure::Closure;
    use leptos::wasm_bindgen::JsCast;
    use web_sys::js_sys::Function;

    /// Listens for clicks before the router does (capture phase on the document), so a link away
    /// is held until the user confirms; and asks the browser to prompt before the tab unloads.
    pub(super) fn guard(dirty: Signal<bool>, leaving: RwSignal<Option<String>>) {
        let is_dirty = move || dirty.try_get_untracked().unwrap_or(false);
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
            let _ = leaving.try_set(Some(href));
        });
        let on_click: Function = on_click.into_js_value().unchecked_into();
        let _ = document().add_event_listener_with_callback_and_bool("click", &on_click, true);
        let listener = StoredValue::new_local(on_click);
        let unload = window_event_listener(leptos::ev::beforeunload, move |ev| {
            if is_dirty() {
                ev.prevent_default();
                ev.set_return_value("unsaved changes");
            }
        });
        on_cleanup(move || {
            unload.remove();
            if let Some(on_click) = listener.try_get_value() {
                let _ = document().remove_event_listener_with_callback_and_bool("click", &on_click, true);
            }
        });
    }
}
