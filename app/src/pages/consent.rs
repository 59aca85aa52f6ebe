//! The OAuth consent page: an AI assistant (an MCP client) asks to act for the signed-in tenant
//! user, and they allow it, with the scopes they tick, or deny it. `/oauth/authorize` sends the
//! browser here with the client's request in the query; someone not signed in signs in first and
//! comes back. Every check is the core's (`charter_core::oauth`); this page shows and asks.

use charter_store::{ConsentView, OAuthScope};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;
use serde::{Deserialize, Serialize};

use crate::components::ui::{LoadingPanel, BUTTON, BUTTON_SECONDARY};
use crate::island_code::PreloadIslands;
use crate::{AppError, SessionContext};

/// What the page shows for a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Consent {
    /// Ask the user.
    Ask(ConsentView),
    /// The request cannot be answered here; why, in words.
    Refused(String),
}

#[server(endpoint = "oauth/consent")]
pub async fn consent_request(query: String) -> Result<Consent, AppError> {
    use crate::auth::server::{access, core, mcp_resource};
    use charter_core::{AuthorizationRequest, CoreError};
    let (access, core) = (access()?, core()?);
    let pending = match core.check_authorization(&AuthorizationRequest::from_query(&query), &mcp_resource()).await {
        Ok(pending) => pending,
        Err(refused) => return Ok(Consent::Refused(refused.0)),
    };
    match core.consent_view(&access, &pending).await {
        Ok(view) => Ok(Consent::Ask(view)),
        Err(CoreError::Forbidden(why)) => Ok(Consent::Refused(why)),
        Err(err) => Err(err.into()),
    }
}

/// The user's answer. Both answers send the browser back to the assistant, with a code or with
/// `access_denied`; a request that is not valid sends it nowhere.
#[server(endpoint = "oauth/answer", input = leptos::server_fn::codec::Json)]
pub async fn answer_consent(query: String, allow: bool, scopes: Vec<String>) -> Result<(), AppError> {
    use crate::auth::server::{access, core, mcp_resource};
    use charter_core::AuthorizationRequest;
    let (access, core) = (access()?, core()?);
    let pending =
        core.check_authorization(&AuthorizationRequest::from_query(&query), &mcp_resource()).await.map_err(|refused| AppError::Rejected(refused.0))?;
    let location = if allow {
        let chosen = charter_store::ScopeSet::parse(&scopes.join(" "))
            .map_err(|unknown| AppError::Invalid { field: "scopes".into(), message: format!("has no scope `{unknown}`") })?;
        core.approve_consent(&access, &pending, &chosen).await?
    } else {
        core.deny_consent(&pending)
    };
    leptos_axum::redirect(&location);
    Ok(())
}

#[component]
pub fn ConsentPage() -> impl IntoView {
    let session = expect_context::<SessionContext>();
    let search = use_location().search;
    let query = move || search.get().trim_start_matches('?').to_owned();
    if session.user.is_none() {
        // Sign in first, then come back to this very request.
        let next = format!("/oauth/consent?{}", query());
        return view! { <Redirect path=format!("/login?next={}", encode(&next))/> }.into_any();
    }
    let request = Resource::new(query, consent_request);
    view! {
        <Title text="Connect an assistant"/>
        <main class="min-h-screen grid place-items-center px-4 py-10">
            <div class="w-full max-w-lg">
                <div class="flex items-center gap-2 justify-center mb-6">
                    <span class="inline-grid place-items-center w-10 h-10 rounded-xl bg-indigo-600 text-white text-lg font-bold">"C"</span>
                    <span class="text-2xl font-semibold tracking-tight">"Charter"</span>
                </div>
                <Suspense fallback=|| view! { <LoadingPanel/> }>
                    {move || Suspend::new(async move {
                        match request.await {
                            Ok(Consent::Ask(details)) => view! { <PreloadIslands islands=&["consent_form"]/><ConsentForm details query=query()/> }.into_any(),
                            Ok(Consent::Refused(why)) => view! { <Refusal message=why/> }.into_any(),
                            Err(error) => view! { <Refusal message=error.to_string()/> }.into_any(),
                        }
                    })}
                </Suspense>
            </div>
        </main>
    }
    .into_any()
}

#[component]
fn Refusal(message: String) -> impl IntoView {
    view! {
        <section class="bg-white rounded-xl border border-slate-200 shadow-sm p-6" data-testid="consent-refused">
            <h1 class="text-lg font-semibold mb-2">"This assistant cannot connect"</h1>
            <p role="alert" class="rounded-md bg-red-50 border border-red-200 px-3 py-2 text-sm text-red-800">{capitalised(&message)}</p>
            <p class="mt-4 text-sm text-slate-600">"Start again from the assistant, or ask your administrator. "<a class="text-indigo-700 underline" href="/">"Back to the console"</a></p>
        </section>
    }
}

#[island(lazy)]
fn ConsentForm(details: ConsentView, query: String) -> impl IntoView {
    let answer = ServerAction::<AnswerConsent>::new();
    let ticked: Vec<(OAuthScope, RwSignal<bool>)> = details.scopes.iter().map(|scope| (*scope, RwSignal::new(true))).collect();
    let ticked = StoredValue::new(ticked);
    let query = StoredValue::new(query);
    let chosen = move || ticked.with_value(|ticked| ticked.iter().filter(|(_, on)| on.get()).map(|(scope, _)| scope.as_str().to_owned()).collect::<Vec<_>>());
    let send = move |allow: bool| {
        answer.dispatch(AnswerConsent { query: query.get_value(), allow, scopes: if allow { chosen() } else { Vec::new() } });
    };
    let ConsentView { client_name, redirect_host, tenant_name, username, withheld, .. } = details;
    view! {
        <section class="bg-white rounded-xl border border-slate-200 shadow-sm p-6" data-testid="consent">
            <h1 class="text-lg font-semibold">{format!("Connect {client_name} to Charter?")}</h1>
            <p class="mt-2 text-sm text-slate-600">
                {format!("{client_name} will act as you ({username}) in {tenant_name}, only within what you allow here and what your role allows. You can disconnect it at any time on the AI assistant page.")}
            </p>
            <fieldset class="mt-5 space-y-3">
                <legend class="text-sm font-medium text-slate-700 mb-2">"It may:"</legend>
                {ticked.get_value().into_iter().map(|(scope, on)| view! {
                    <label class="flex items-start gap-3 text-sm">
                        <input type="checkbox" class="mt-0.5 rounded border-slate-300" name="scope" value=scope.as_str()
                            prop:checked=move || on.get() on:change=move |ev| on.set(event_target_checked(&ev))/>
                        <span><span class="font-mono text-xs text-slate-500">{scope.as_str()}</span><br/>{scope.describe()}</span>
                    </label>
                }).collect_view()}
            </fieldset>
            {(!withheld.is_empty()).then(|| view! {
                <p class="mt-3 text-xs text-slate-500" data-testid="consent-withheld">
                    {format!("Not offered, as your role does not allow it: {}.", withheld.iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(", "))}
                </p>
            })}
            <p class="mt-4 rounded-md bg-amber-50 border border-amber-200 px-3 py-2 text-sm text-amber-900" data-testid="consent-return">
                "After you answer, you return to "<strong class="font-semibold">{redirect_host}</strong>". "
                {format!("Allow only if you started connecting {client_name} there yourself: the name is the application's own choice.")}
            </p>
            {move || answer.value().get().and_then(Result::err).map(|error| view! {
                <p role="alert" class="mt-4 rounded-md bg-red-50 border border-red-200 px-3 py-2 text-sm text-red-800">{capitalised(&error.to_string())}</p>
            })}
            <div class="mt-6 flex gap-3 justify-end">
                <button type="button" class=BUTTON_SECONDARY disabled=move || answer.pending().get() on:click=move |_| send(false)>"Deny"</button>
                <button type="button" class=BUTTON disabled=move || answer.pending().get() || chosen().is_empty() on:click=move |_| send(true)>"Allow"</button>
            </div>
        </section>
    }
}

fn capitalised(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => format!("{}{}", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

/// Percent-encodes a path and query so it travels whole inside another query's value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_return_path_is_encoded_whole() {
        assert_eq!(super::encode("/oauth/consent?client_id=a&state=x y"), "/oauth/consent%3Fclient_id%3Da%26state%3Dx%20y");
    }
}
