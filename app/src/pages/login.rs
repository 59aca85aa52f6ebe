//! The sign-in page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::auth::Login;
use crate::SessionContext;

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = expect_context::<SessionContext>();
    // Where to return once signed in, e.g. the consent page an assistant sent the user to.
    let next = use_query_map().get_untracked().get("next").filter(|next| crate::auth::local_path(next).is_some());
    let home = next.clone().unwrap_or_else(|| "/".to_owned());
    // A sign-in posted without script and refused comes back with the error in the address.
    let refused = ServerAction::<Login>::new().value().get_untracked().and_then(Result::err).map(|err| capitalise(&err.to_string()));

    view! {
        <Title text="Sign in"/>
        // Someone already signed in has nothing to do here.
        {session.user.is_some().then(|| view! { <Redirect path=home/> })}
        <main class="min-h-screen grid place-items-center px-4">
            <div class="w-full max-w-sm">
                <div class="flex items-center gap-2 justify-center mb-6">
                    <span class="inline-grid place-items-center w-10 h-10 rounded-xl bg-indigo-600 text-white text-lg font-bold">"C"</span>
                    <span class="text-2xl font-semibold tracking-tight">"Charter"</span>
                </div>
                <div class="bg-white rounded-xl border border-slate-200 shadow-sm p-6">
                    <h1 class="text-lg font-semibold mb-1">"Sign in"</h1>
                    <p class="text-sm text-slate-500 mb-5">"Governance for your agents' tool calls."</p>
                    <SignInForm next refused/>
                </div>
            </div>
        </main>
    }
}

/// The sign-in form. With script it posts in place and shows a refusal beside the button; without,
/// it is a plain form post, and a refusal comes back in the address (`refused`, read by the page).
/// Success answers with a redirect, which loads the next page whole.
#[island]
fn SignInForm(next: Option<String>, refused: Option<String>) -> impl IntoView {
    let login = ServerAction::<Login>::new();
    // Until this form has been sent, the refusal shown is the one the page came with.
    let error =
        move || if login.version().get() == 0 { refused.clone() } else { login.value().get().and_then(Result::err).map(|err| capitalise(&err.to_string())) };
    view! {
        <ActionForm action=login attr:class="space-y-4" attr:aria-label="Sign in">
            {next.map(|next| view! { <input type="hidden" name="next" value=next/> })}
            <div>
                <label for="username" class="block text-sm font-medium text-slate-700">"Email"</label>
                <input
                    id="username"
                    name="username"
                    type="text"
                    autocomplete="username"
                    required
                    class="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30"
                />
            </div>
            <PasswordField/>
            {move || {
                error()
                    .map(|message| {
                        view! {
                            <p role="alert" class="rounded-md bg-red-50 border border-red-200 px-3 py-2 text-sm text-red-800">
                                {message}
                            </p>
                        }
                    })
            }}
            <button
                type="submit"
                class="w-full rounded-md bg-indigo-600 px-3 py-2 text-sm font-medium text-white hover:bg-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500 focus:ring-offset-2 disabled:opacity-60"
                disabled=move || login.pending().get()
            >
                {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
            </button>
        </ActionForm>
    }
}

/// The password, hidden unless asked to show it.
#[component]
fn PasswordField() -> impl IntoView {
    let show_password = RwSignal::new(false);
    view! {
        <div>
            <label for="password" class="block text-sm font-medium text-slate-700">"Password"</label>
            <input
                id="password"
                name="password"
                type=move || if show_password.get() { "text" } else { "password" }
                autocomplete="current-password"
                required
                class="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30"
            />
            <label class="mt-2 inline-flex items-center gap-2 text-sm text-slate-600 select-none">
                <input
                    type="checkbox"
                    class="rounded border-slate-300"
                    prop:checked=move || show_password.get()
                    on:change=move |ev| show_password.set(event_target_checked(&ev))
                />
                "Show password"
            </label>
        </div>
    }
}

/// Error messages are lowercase sentences; on their own they read better capitalised.
fn capitalise(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}
