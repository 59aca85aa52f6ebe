//! Feedback that outlives one component: toasts after a save or a failure, and the confirmation
//! asked before anything is deleted.

use leptos::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToastKind {
    Success,
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Toast {
    id: u64,
    kind: ToastKind,
    message: String,
}

/// The toast of an interactive part, shown by its [`LiveToasts`]: the latest message, pushed with
/// [`Toasts::success`] or [`Toasts::error`]. It goes away after a few seconds or when closed.
#[derive(Clone, Copy)]
pub struct Toasts {
    shown: RwSignal<Option<Toast>>,
    next: StoredValue<u64>,
}

impl Toasts {
    pub fn provide() -> Toasts {
        let toasts = Toasts { shown: RwSignal::new(None), next: StoredValue::new(0) };
        provide_context(toasts);
        toasts
    }

    pub fn success(&self, message: impl Into<String>) {
        self.push(ToastKind::Success, message.into());
    }

    pub fn error(&self, message: impl Into<String>) {
        self.push(ToastKind::Error, message.into());
    }

    fn push(&self, kind: ToastKind, message: String) {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.shown.set(Some(Toast { id, kind, message }));
        let toasts = *self;
        // Errors stay longer: people read them, and may want to copy them.
        let millis = if kind == ToastKind::Error { 9_000 } else { 5_000 };
        set_timeout(move || toasts.dismiss(id), std::time::Duration::from_millis(millis));
    }

    /// Takes toast `id` away, unless a newer one has replaced it.
    fn dismiss(&self, id: u64) {
        if self.shown.try_with_untracked(|shown| shown.as_ref().is_some_and(|toast| toast.id == id)) == Some(true) {
            self.shown.set(None);
        }
    }
}

/// The messages a plain form post (or a part that loaded the page again) left for this page, top
/// right: in the server's HTML, fading away by themselves (`flash-message` in the stylesheet), so
/// they need no script. Screen readers hear them as the page loads.
#[component]
pub fn ToastRegion() -> impl IntoView {
    let pending = use_context::<crate::flash::Pending>().unwrap_or_default().0;
    view! {
        <div class=TOAST_STACK aria-live="polite">
            {pending.into_iter().map(|flash| {
                let (colours, role) = toast_look(flash.kind);
                view! {
                    <div role=role data-testid="toast" class=format!("flash-message pointer-events-auto rounded-lg shadow-lg px-4 py-3 text-sm {colours}")>{flash.message}</div>
                }
            }).collect_view()}
        </div>
    }
}

/// The toast an interactive part pushes while the page is open, where [`ToastRegion`] shows the
/// page's own.
#[component]
pub fn LiveToasts(toasts: Toasts) -> impl IntoView {
    view! {
        <div class=TOAST_STACK aria-live="polite">
            {move || toasts.shown.get().map(|toast| {
                let (colours, role) = toast_look(toast.kind);
                let id = toast.id;
                view! {
                    <div role=role data-testid="toast" class=format!("pointer-events-auto rounded-lg shadow-lg px-4 py-3 text-sm flex items-start gap-3 {colours}")>
                        <span class="flex-1">{toast.message}</span>
                        <button type="button" aria-label="Close" class="opacity-80 hover:opacity-100" on:click=move |_| toasts.dismiss(id)>"×"</button>
                    </div>
                }
            })}
        </div>
    }
}

/// The stack lets clicks through to the page beneath it; only its toasts take them (a faded flash
/// keeps its place in the stack but is hidden, so it takes none).
const TOAST_STACK: &str = "pointer-events-none fixed top-4 right-4 z-50 flex flex-col gap-2 w-80 max-w-[calc(100vw-2rem)]";

/// Loads `path` as a whole page. The browser has no router of the console's: every page comes
/// from the server, which renders it for the session as it is now.
pub fn go_to(path: &str) {
    #[cfg(feature = "hydrate")]
    let _ = window().location().assign(path);
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

/// Loads the page again, e.g. once a part of it changed what the server renders, without the
/// refusal of an earlier plain form post that its address may still carry (see `flash::back_to`).
pub fn reload_page() {
    #[cfg(feature = "hydrate")]
    {
        let location = window().location();
        match location.href().ok().and_then(|href| crate::flash::back_to(&href)) {
            Some(page) => {
                let _ = location.replace(&page);
            }
            None => {
                let _ = location.reload();
            }
        }
    }
}

/// A toast's colours and its role for assistive technology.
fn toast_look(kind: ToastKind) -> (&'static str, &'static str) {
    match kind {
        ToastKind::Success => ("bg-emerald-600 text-white", "status"),
        ToastKind::Error => ("bg-red-600 text-white", "alert"),
    }
}

/// A question an interactive part asks before it discards work, in the browser's own popover
/// (opened with [`ask`]): the title, what confirming does, "Cancel" (focused first, so Enter never
/// confirms by accident; Escape or a click outside also close it) and the confirming button, which
/// runs `on_confirm`.
#[component]
pub fn QuestionPopover(id: &'static str, title: &'static str, message: &'static str, confirm_label: &'static str, on_confirm: Callback<()>) -> impl IntoView {
    // The view's attributes are evaluated in no promised order: each gets its own copy.
    let title_id = format!("{id}-title");
    let labelled_by = title_id.clone();
    view! {
        <div id=id popover="auto" role="dialog" aria-labelledby=labelled_by class=POPOVER>
            <h2 id=title_id class="text-lg font-semibold">{title}</h2>
            <p class="mt-2 text-sm font-normal text-slate-600 whitespace-normal">{message}</p>
            <div class="mt-6 flex justify-end gap-2">
                <button type="button" autofocus popovertarget=id popovertargetaction="hide" class=POPOVER_CANCEL>"Cancel"</button>
                <button type="button" popovertarget=id popovertargetaction="hide" class=POPOVER_CONFIRM on:click=move |_| on_confirm.run(())>
                    {confirm_label}
                </button>
            </div>
        </div>
    }
}

/// Opens the [`QuestionPopover`] named `id`.
pub fn ask(id: &str) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        if let Some(popover) = document().get_element_by_id(id).and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = popover.show_popover();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

const POPOVER: &str = "m-auto w-[calc(100vw-2rem)] max-w-md rounded-xl bg-white p-6 text-left shadow-xl backdrop:bg-slate-900/50";
const POPOVER_CANCEL: &str = "rounded-md border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-50 focus:outline-none focus:ring-2 focus:ring-indigo-500";
const POPOVER_CONFIRM: &str =
    "rounded-md bg-red-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-red-500 focus:outline-none focus:ring-2 focus:ring-red-500";

/// A button that asks before a destructive plain form post. It opens the browser's own popover
/// (no script, so it works without the browser bundle) with what the action does and a form that
/// posts `fields` to the server function at `action`; the page that loads next says what happened.
#[component]
pub fn ConfirmPost(
    /// Unique on the page: it names the popover.
    #[prop(into)]
    id: String,
    /// The label of the button that opens it.
    #[prop(into)]
    button: String,
    /// How the button that opens it looks: a danger button unless said otherwise.
    #[prop(optional)]
    button_class: Option<&'static str>,
    #[prop(into)] title: String,
    #[prop(into)] message: String,
    #[prop(into)] confirm_label: String,
    /// The server function's address.
    action: &'static str,
    /// The hidden fields the form posts.
    fields: Vec<(&'static str, String)>,
) -> impl IntoView {
    view! {
        <button type="button" class=button_class.unwrap_or(crate::components::ui::BUTTON_DANGER) popovertarget=id.clone()>{button}</button>
        <ConfirmPopover id title message confirm_label action fields/>
    }
}

/// The question a [`ConfirmPost`] (or another opener, with `popovertarget` set to `id`) asks: a
/// popover dialog with what the action does, any `children` that add to it, and a form that posts
/// `fields` to the server function at `action`. Focus starts on "Cancel", so Enter never confirms
/// by accident; Escape or a click outside closes it.
#[component]
pub fn ConfirmPopover(
    /// Unique on the page: it names the popover.
    id: String,
    title: String,
    message: String,
    confirm_label: String,
    action: &'static str,
    fields: Vec<(&'static str, String)>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    // The view's attributes are evaluated in no promised order: each gets its own copy.
    let (popover, closer) = (id.clone(), id);
    let title_id = format!("{popover}-title");
    let labelled_by = title_id.clone();
    view! {
        <div
            id=popover
            popover="auto"
            role="dialog"
            aria-labelledby=labelled_by
            class=POPOVER
        >
            <h2 id=title_id class="text-lg font-semibold">{title}</h2>
            <p class="mt-2 text-sm font-normal text-slate-600 whitespace-normal">{message}</p>
            {children.map(|details| details())}
            <form method="post" action=action class="mt-6 flex justify-end gap-2">
                {fields.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value/> }).collect_view()}
                <button
                    type="button"
                    autofocus
                    popovertarget=closer
                    popovertargetaction="hide"
                    class=POPOVER_CANCEL
                >
                    "Cancel"
                </button>
                <button type="submit" class=POPOVER_CONFIRM>
                    {confirm_label}
                </button>
            </form>
        </div>
    }
}
