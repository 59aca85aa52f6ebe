//! API keys: what an agent presents to the decision API. Tenant admins create their tenant's keys
//! (the secret is shown once, with a copy button), see each by its public prefix with its last
//! use, and revoke one after a confirmation (a plain form post, which works without the browser
//! bundle). Platform admins pick any tenant (`?tenant=slug`);
//! support sees the same, read-only.

use charter_store::{ApiKeyInfo, KeyScope};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::address::FilterForm;
use crate::components::feedback::ConfirmPost;
use crate::components::ui::{
    format_date, format_time, Card, Choice, EmptyState, ErrorPanel, FormRefusal, LoadingPanel, PageHeader, BUTTON, BUTTON_SECONDARY, INPUT,
};
use crate::island_code::PreloadIslands;
use crate::AppError;

/// A tenant as the picker offers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantChoice {
    pub slug: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysView {
    /// Whose keys these are; `None` while a platform admin has not picked a tenant.
    pub tenant: Option<TenantChoice>,
    /// The tenants platform staff may pick from; empty for a tenant admin.
    pub tenants: Vec<TenantChoice>,
    /// The tenant's keys, newest first: never a secret, which is not stored.
    pub keys: Vec<ApiKeyInfo>,
    pub can_write: bool,
    /// The tenant requires every key to be bound to agents.
    pub bound_keys_required: bool,
}

/// A key just created: the one time its secret is seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedKey {
    pub name: String,
    pub prefix: String,
    pub secret: String,
}

/// The agents typed into the form, one per comma.
#[cfg(any(feature = "ssr", test))]
fn agent_list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|agent| !agent.is_empty()).map(str::to_owned).collect()
}

#[server(endpoint = "keys/list")]
pub async fn list_keys(tenant: Option<String>) -> Result<KeysView, AppError> {
    use crate::auth::server::{access, core};
    use charter_core::{Action, Target};
    let (access, core) = (access()?, core()?);
    let tenants = if access.is_platform_staff() {
        core.list_tenants(&access).await?.into_iter().map(|t| TenantChoice { slug: t.tenant.slug, name: t.tenant.name }).collect()
    } else {
        Vec::new()
    };
    let slug = tenant.filter(|slug| !slug.trim().is_empty());
    let target = match (&slug, access.is_platform_staff()) {
        (Some(slug), _) => Target::Tenant(slug.trim()),
        (None, false) => Target::Own,
        (None, true) => return Ok(KeysView { tenant: None, tenants, keys: Vec::new(), can_write: false, bound_keys_required: false }),
    };
    let tenant = core.get_tenant(&access, target).await?;
    let keys = core.list_keys(&access, target).await?;
    let can_write = access.may(Action::WriteKeys, &charter_store::Owner::Tenant(tenant.id.clone())).is_ok();
    Ok(KeysView {
        bound_keys_required: tenant.agent_keys == charter_store::AgentKeys::Required,
        tenant: Some(TenantChoice { slug: tenant.slug, name: tenant.name }),
        tenants,
        keys,
        can_write,
    })
}

/// `scopes` are the names of what the key may do, comma-separated (`decide,policies:read`).
#[server(endpoint = "keys/create")]
pub async fn create_key(tenant: String, name: String, agents: String, scopes: String) -> Result<CreatedKey, AppError> {
    use crate::auth::server::{access, core};
    let scopes: Vec<String> = scopes.split(',').map(str::trim).filter(|scope| !scope.is_empty()).map(str::to_owned).collect();
    let created = core()?.create_key(&access()?, charter_core::Target::Tenant(&tenant), &name, &agent_list(&agents), Some(&scopes)).await?;
    Ok(CreatedKey { name: created.info.name, prefix: format!("chk_{}", created.info.prefix), secret: created.secret })
}

/// Revokes one key of `tenant`. The keys table posts to it as a plain form, after asking.
#[server(endpoint = "keys/revoke")]
pub async fn revoke_key(tenant: String, id: String) -> Result<ApiKeyInfo, AppError> {
    use crate::auth::server::{access, core};
    let key = core()?.revoke_key(&access()?, charter_core::Target::Tenant(&tenant), &id.into()).await?;
    let message = format!("Revoked {} (chk_{}). Calls with it are refused from now on.", key.name, key.prefix);
    crate::flash::server::after_redirect(crate::components::feedback::ToastKind::Success, message).await;
    Ok(key)
}

#[component]
pub fn KeysPage() -> impl IntoView {
    let query = use_query_map();
    let tenant = move || query.read().get("tenant");
    let keys = Resource::new(tenant, list_keys);
    view! {
        <Title text="API keys"/>
        <PageHeader title="API keys" subtitle="Agents present a key to the decision API (/api/v1/decide), or connect with it to the MCP gateway (/mcp/gateway), which decides every tool call before it reaches the tool. The tenant comes from the key, never from the request."/>
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || Suspend::new(async move {
                match keys.await {
                    Ok(view_model) => view! { <KeysPanel view_model/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn KeysPanel(view_model: KeysView) -> impl IntoView {
    let KeysView { tenant, tenants, keys, can_write, bound_keys_required } = view_model;
    let picker = (!tenants.is_empty()).then(|| view! { <TenantPicker tenants current=tenant.as_ref().map(|t| t.slug.clone())/> });
    let Some(tenant) = tenant else {
        return view! { {picker}<Card><EmptyState message="Choose a tenant to see its keys."/></Card> }.into_any();
    };
    let slug = tenant.slug.clone();
    // A refused revocation (the key revoked meanwhile, or not this tenant's) comes back in the address.
    let refused = ServerAction::<RevokeKey>::new().value().get_untracked().and_then(Result::err);
    view! {
        {picker}
        <div class="space-y-6">
            {refused.map(|error| view! { <FormRefusal message=format!("Not revoked: {error}")/> })}
            {can_write.then(|| view! { <PreloadIslands islands=&["create_key_panel"]/><CreateKeyPanel tenant=tenant.clone() bound_keys_required/> })}
            <Card title=format!("Keys of {}", tenant.name)>
                {if keys.is_empty() {
                    view! { <EmptyState message="No keys yet. Create one for each agent or deployment, so each can be revoked alone."/> }.into_any()
                } else {
                    view! { <KeyTable keys slug can_write/> }.into_any()
                }}
            </Card>
        </div>
    }
    .into_any()
}

/// Platform staff pick whose keys to see: a GET form, so the choice is in the address and links
/// and the way back keep it.
#[component]
fn TenantPicker(tenants: Vec<TenantChoice>, current: Option<String>) -> impl IntoView {
    let current = current.unwrap_or_default();
    view! {
        <FilterForm path="/keys" class="mb-6 flex max-w-md items-end gap-2" button="Show">
            <label class="text-sm block grow">
                <span class="block text-slate-600 mb-1">"Tenant"</span>
                <select id="keys-tenant" name="tenant" class=INPUT>
                    <Choice value="" label="Choose a tenant…" selected=current.is_empty()/>
                    {tenants.into_iter().map(|t| {
                        let selected = t.slug == current;
                        view! { <Choice value=t.slug label=t.name selected=selected/> }
                    }).collect_view()}
                </select>
            </label>
        </FilterForm>
    }
}

/// Creating a key, and its secret shown once with a copy button. It needs nothing from the page
/// around it: "Done" loads the page again, which then lists the new key.
#[island(lazy)]
fn CreateKeyPanel(tenant: TenantChoice, bound_keys_required: bool) -> impl IntoView {
    let create = ServerAction::<CreateKey>::new();
    let name = RwSignal::new(String::new());
    let agents = RwSignal::new(String::new());
    // An agent's key asks for decisions and nothing more; a script is given what it needs.
    let scopes = RwSignal::new(vec![KeyScope::Decide]);
    let slug = StoredValue::new(tenant.slug);
    // A created key clears the form for the next one.
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            name.set(String::new());
            agents.set(String::new());
            scopes.set(vec![KeyScope::Decide]);
        }
    });
    let agents_label = if bound_keys_required {
        "Agents it acts for (required by this tenant; separate with commas)"
    } else {
        "Agents it acts for (optional; separate with commas)"
    };
    view! {
        {move || create.value().get().and_then(Result::ok).map(|key| view! { <NewSecret key/> })}
        <Card title="Create a key">
            <form class="grid grid-cols-1 sm:grid-cols-2 gap-3 items-end" on:submit=move |ev| {
                ev.prevent_default();
                let scopes = scopes.get_untracked().iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(",");
                create.dispatch(CreateKey { tenant: slug.get_value(), name: name.get_untracked(), agents: agents.get_untracked(), scopes });
            }>
                <label class="text-sm block"><span class="block text-slate-600 mb-1">"Name: what the key is for"</span>
                    <input id="key-name" class=INPUT placeholder="support-bot production" required prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/></label>
                <label class="text-sm block"><span class="block text-slate-600 mb-1">{agents_label}</span>
                    <input id="key-agents" class=INPUT placeholder="support-bot" prop:value=move || agents.get() on:input=move |ev| agents.set(event_target_value(&ev))/></label>
                <p class="text-xs text-slate-500 sm:col-span-2">"A key bound to agents acts for those agents only, whatever a request names. Without agents, each request names its agent."</p>
                <fieldset class="sm:col-span-2 text-sm">
                    <legend class="text-slate-600 mb-1">"What it may do"</legend>
                    <div class="flex flex-wrap gap-x-5 gap-y-1">
                        {KeyScope::ALL.into_iter().map(|scope| view! {
                            <label class="flex items-center gap-2">
                                <input type="checkbox" prop:checked=move || scopes.with(|chosen| chosen.contains(&scope))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        scopes.update(|chosen| if on { if !chosen.contains(&scope) { chosen.push(scope) } } else { chosen.retain(|s| *s != scope) });
                                    }/>
                                {scope.label()}
                            </label>
                        }).collect_view()}
                    </div>
                </fieldset>
                <div><button type="submit" class=BUTTON disabled=move || create.pending().get()>"Create key"</button></div>
                {move || create.value().get().and_then(Result::err).map(|error| view! {
                    <div class="sm:col-span-2"><FormRefusal message=format!("Key not created: {error}")/></div>
                })}
            </form>
        </Card>
    }
}

/// The secret of the key just created, with a copy button: it is never shown again. "Done" loads
/// the page again, without it.
#[component]
fn NewSecret(key: CreatedKey) -> impl IntoView {
    // What copying did, said beside the button.
    let copied = RwSignal::new(None::<&'static str>);
    let secret = StoredValue::new(key.secret.clone());
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let promise = window().navigator().clipboard().write_text(&secret.get_value());
            copied.set(Some(match wasm_bindgen_futures::JsFuture::from(promise).await {
                Ok(_) => "Copied to the clipboard.",
                Err(_) => "Could not copy: select the key and copy it yourself.",
            }));
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (secret, copied);
    };
    let done = move |_| crate::components::feedback::reload_page();
    view! {
        <section role="status" class="mb-6 rounded-xl border border-emerald-300 bg-emerald-50 p-5" data-testid="new-key">
            <h2 class="font-semibold text-emerald-900">{format!("Key {} created", key.name)}</h2>
            <p class="mt-1 text-sm text-emerald-900">"Copy it now and store it where the agent reads its secrets: it is shown only this once."</p>
            <div class="mt-3 flex flex-wrap items-center gap-2">
                <code class="flex-1 min-w-0 break-all rounded-md bg-white border border-emerald-200 px-3 py-2 text-xs" data-testid="new-key-secret">{key.secret}</code>
                <button type="button" class=BUTTON on:click=copy>"Copy"</button>
                <button type="button" class=BUTTON_SECONDARY on:click=done>"Done"</button>
            </div>
            <p class="mt-2 text-sm text-emerald-900" aria-live="polite" data-testid="copy-result">{move || copied.get()}</p>
        </section>
    }
}

#[component]
fn KeyTable(keys: Vec<ApiKeyInfo>, slug: String, can_write: bool) -> impl IntoView {
    let slug = StoredValue::new(slug);
    view! {
        <div class="overflow-x-auto">
            <table class="min-w-full text-sm" data-testid="keys-table">
                <thead class="text-left text-xs uppercase tracking-wide text-slate-500">
                    <tr>
                        <th class="py-2 pr-4">"Name"</th>
                        <th class="py-2 pr-4">"Key"</th>
                        <th class="py-2 pr-4">"Agents"</th>
                        <th class="py-2 pr-4">"May"</th>
                        <th class="py-2 pr-4">"Created"</th>
                        <th class="py-2 pr-4">"Last used"</th>
                        <th class="py-2">"Status"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {keys.into_iter().map(|key| view! { <KeyRowView key slug=slug.get_value() can_write/> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn KeyRowView(key: ApiKeyInfo, slug: String, can_write: bool) -> impl IntoView {
    // The public part as a key starts: enough to recognise it, useless to use it.
    let prefix = format!("chk_{}", key.prefix);
    let agents = if key.agents.0.is_empty() { "any (named per request)".to_owned() } else { key.agents.0.join(", ") };
    let last_used = key.last_used_at.map(format_time).unwrap_or_else(|| "never".to_owned());
    let revoked = key.revoked_at.is_some();
    let id = key.id.to_string();
    view! {
        <tr data-testid="key-row" data-prefix=prefix.clone() class=if revoked { "text-slate-400" } else { "" }>
            <td class="py-2 pr-4 font-medium">{key.name.clone()}</td>
            <td class="py-2 pr-4 font-mono text-xs">{format!("{prefix}…")}</td>
            <td class="py-2 pr-4 text-slate-600">{agents}</td>
            <td class="py-2 pr-4 text-slate-600 text-xs" data-testid="key-scopes">{key.scopes.iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(", ")}</td>
            <td class="py-2 pr-4 text-slate-600">{format!("{} by {}", format_date(key.created_at), key.created_by)}</td>
            <td class="py-2 pr-4 text-slate-600" data-testid="key-last-used">{last_used}</td>
            <td class="py-2" data-testid="key-status">
                {match (key.revoked_at, can_write) {
                    (Some(at), _) => view! { <span>{format!("Revoked {}", format_date(at))}</span> }.into_any(),
                    (None, true) => view! {
                        <ConfirmPost
                            id=format!("revoke-{id}")
                            button="Revoke"
                            title=format!("Revoke {}?", key.name)
                            message=format!("Calls with {prefix}… are refused from the next request on. This cannot be undone; the agent needs a new key.")
                            confirm_label="Revoke key"
                            action=RevokeKey::url()
                            fields=vec![("tenant", slug), ("id", id)]
                        />
                    }.into_any(),
                    (None, false) => view! { <span class="text-emerald-700">"Active"</span> }.into_any(),
                }}
            </td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::agent_list;

    #[test]
    fn agents_are_split_on_commas() {
        assert_eq!(agent_list(" support-bot , billing-bot,, "), ["support-bot", "billing-bot"]);
        assert!(agent_list("  ").is_empty());
    }
}
