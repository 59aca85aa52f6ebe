//! The audit log: every change (policies, the tool catalog, keys, quotas, approvals) with who made
//! it and when, newest first; each entry opens to show before and after as a readable diff.
//! Tenant admins see their tenant's entries; platform staff every entry, the platform's, or one
//! tenant's.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::address::{FilterForm, Paging};
use crate::components::ui::{format_time, Choice, EmptyState, ErrorPanel, LoadingPanel, PageHeader, INPUT};
use crate::pages::policy_editor::load_editor_context;
use crate::AppError;

#[cfg(feature = "ssr")]
const PAGE: i64 = 25;

/// One line of a diff: `+` added, `-` removed, ` ` unchanged context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    pub sign: char,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: String,
    pub tenant: String,
    pub actor: String,
    /// "platform staff", "tenant user", "API key" or "system".
    pub actor_kind: String,
    pub action: String,
    pub target: TargetView,
    pub created_at: i64,
    pub diff: Vec<DiffLine>,
}

/// What an entry changed, in words, with a link to it while it exists: never a bare id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetView {
    pub text: String,
    pub href: Option<String>,
}

/// Words for an entry's target (`policy:<id>`, `api_key:<prefix>`, ...), from the entry's own
/// before and after: a policy by its name and version, a key by its public prefix.
#[cfg(feature = "ssr")]
pub(crate) fn describe_target(target: &str, before: Option<&str>, after: Option<&str>, tenant_slug: Option<&str>) -> TargetView {
    let read = |json: Option<&str>| json.and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok());
    let (before, after) = (read(before), read(after));
    let field =
        |key: &str| after.as_ref().and_then(|a| a.get(key)).or_else(|| before.as_ref().and_then(|b| b.get(key))).and_then(|v| v.as_str().map(str::to_owned));
    let version = after.as_ref().or(before.as_ref()).and_then(|v| v.get("version")).and_then(serde_json::Value::as_i64);
    let (kind, name) = target.split_once(':').unwrap_or((target, ""));
    let plain = |text: String| TargetView { text, href: None };
    match kind {
        "policy" => {
            let title = field("name").map(|n| format!("policy “{n}”")).unwrap_or_else(|| "a policy".to_owned());
            let version = version.map(|v| format!(" v{v}")).unwrap_or_default();
            match after {
                Some(_) => TargetView { text: format!("{title}{version}"), href: Some(format!("/policies/{name}")) },
                None => plain(format!("{title}{version} (deleted)")),
            }
        }
        "api_key" => TargetView {
            text: format!("API key chk_{name}…"),
            href: Some(tenant_slug.map(|slug| format!("/keys?tenant={slug}")).unwrap_or_else(|| "/keys".to_owned())),
        },
        "approval" => {
            let tool = field("tool").map(|t| format!(" of {t}")).unwrap_or_default();
            TargetView { text: format!("approval{tool}"), href: Some("/approvals".to_owned()) }
        }
        "tool" => TargetView { text: format!("tool {name}"), href: Some("/tools".to_owned()) },
        "tool_source" => TargetView { text: format!("source “{name}”"), href: Some("/tools".to_owned()) },
        "tenant" => TargetView { text: format!("tenant {}", field("name").unwrap_or_else(|| name.to_owned())), href: Some(format!("/tenants/{name}")) },
        "platform" => plain("platform settings".to_owned()),
        "release" => plain(format!("platform release {name}")),
        "shadow" => plain("shadow mode".to_owned()),
        "revision" => TargetView { text: format!("revision {name} of the tenant's policies"), href: Some("/versions".to_owned()) },
        "assistant" => TargetView { text: format!("AI assistant “{name}”"), href: Some("/assistant".to_owned()) },
        _ => plain(target.to_owned()),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub items: Vec<AuditRow>,
    pub next: Option<String>,
}

/// Pretty JSON of a stored before/after, with the bookkeeping fields that change on every write
/// left out so the diff shows what a person changed.
#[cfg(feature = "ssr")]
fn readable(json: Option<&str>) -> String {
    let Some(json) = json else { return String::new() };
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(json) else { return json.to_owned() };
    if let Some(object) = value.as_object_mut() {
        // A stored policy keeps its document as a JSON string; show it as the structure it is.
        if let Some(document) = object.get("document").and_then(|d| d.as_str()).and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok()) {
            object.insert("document".to_owned(), document);
        }
        // Ids never change and the entry's title names the thing: they are noise in a diff.
        for noise in ["updated_at", "created_at", "id", "tenant_id"] {
            object.remove(noise);
        }
    }
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// A line diff of two texts: removed and added lines, with unchanged lines kept for context.
#[cfg(feature = "ssr")]
pub fn diff_lines(before: &str, after: &str) -> Vec<DiffLine> {
    use similar::{ChangeTag, TextDiff};
    TextDiff::from_lines(before, after)
        .iter_all_changes()
        .map(|change| DiffLine {
            sign: match change.tag() {
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
                ChangeTag::Equal => ' ',
            },
            text: change.value().trim_end_matches('\n').to_owned(),
        })
        .collect()
}

#[server(endpoint = "audit/list")]
pub async fn list_audit(scope: String, action: String, before: Option<String>) -> Result<AuditPage, AppError> {
    use crate::auth::server::{access, core};
    use charter_core::{AuditOf, Target};
    use charter_store::ActorKind;
    let (access, core) = (access()?, core()?);
    let of = match (access.is_platform_staff(), scope.trim()) {
        (false, _) => AuditOf::Tenant(Target::Own),
        (true, "" | "all") => AuditOf::Everything,
        (true, "platform") => AuditOf::Platform,
        (true, slug) => AuditOf::Tenant(Target::Tenant(slug)),
    };
    let mut entries = core.search_audit(&access, of, Some(action.as_str()), before.as_deref(), PAGE + 1).await?;
    let page = usize::try_from(PAGE).unwrap_or(0);
    let next = (entries.len() > page).then(|| {
        entries.truncate(page);
        entries.last().map(|e| e.id.to_string())
    });
    let tenants = crate::pages::receipts::tenant_names(&core, &access).await?;
    let slugs: std::collections::HashMap<charter_store::TenantId, String> = match access.is_platform_staff() {
        true => core.list_tenants(&access).await?.into_iter().map(|s| (s.tenant.id, s.tenant.slug)).collect(),
        false => std::collections::HashMap::new(),
    };
    let staff = core.staff_usernames(&access).await?;
    let items = entries
        .into_iter()
        .map(|entry| {
            let actor_kind = match entry.actor_kind {
                ActorKind::User if staff.contains(&entry.actor) => "platform staff",
                ActorKind::User => "tenant user",
                ActorKind::ApiKey => "API key",
                ActorKind::System => "system",
            };
            AuditRow {
                tenant: entry.tenant_id.as_ref().map(|id| tenants.get(id).cloned().unwrap_or_else(|| id.to_string())).unwrap_or_else(|| "Platform".to_owned()),
                actor_kind: actor_kind.to_owned(),
                diff: diff_lines(&readable(entry.before.as_deref()), &readable(entry.after.as_deref())),
                target: describe_target(
                    &entry.target,
                    entry.before.as_deref(),
                    entry.after.as_deref(),
                    entry.tenant_id.as_ref().and_then(|id| slugs.get(id)).map(String::as_str),
                ),
                id: entry.id.into_string(),
                actor: entry.actor,
                action: entry.action,
                created_at: entry.created_at,
            }
        })
        .collect();
    Ok(AuditPage { items, next: next.flatten() })
}

/// The filters and the page an audit address names: `?scope=…&action=…` and `before`, the cursor
/// of an older page.
fn addressed(query: &leptos_router::params::ParamsMap) -> (String, String, Option<String>) {
    (query.get("scope").unwrap_or_default(), query.get("action").unwrap_or_default(), query.get("before").filter(|before| !before.is_empty()))
}

/// The actions the log is filtered by: the start of an action's name, and what the choice says.
const ACTION_CHOICES: [(&str, &str); 10] = [
    ("policy.", "Policies"),
    ("tool", "Tools & sources"),
    ("api_key.", "API keys"),
    ("approval.", "Approvals"),
    ("tenant.", "Tenants"),
    ("platform.", "Platform settings"),
    ("release.", "Releases"),
    ("revision.", "Revisions"),
    ("shadow.", "Shadows"),
    ("assistant.", "AI assistants"),
];

// Resources live at the page's top level: one created inside a `Suspend` body is created again on
// the server's second render pass and the first one then runs without the request's context.
#[component]
pub fn AuditPage() -> impl IntoView {
    let context = Resource::new(|| (), |_| load_editor_context());
    // The address names the filters and the page: the filters are a GET form and the pages are
    // links, so every list is an address that a link, a reload or the way back shows again.
    let query = use_query_map();
    let list = Resource::new(move || query.with(addressed), |(scope, action, before)| list_audit(scope, action, before));
    view! {
        <Title text="Audit log"/>
        <PageHeader title="Audit log" subtitle="Every change, who made it and when. Open an entry to see what changed."/>
        <section class="bg-white rounded-xl border border-slate-200 shadow-sm">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    // Read before waiting, so the form follows the address when a link changes only the query.
                    let (scope, action, _) = query.with(addressed);
                    match context.await {
                        Ok(context) => view! { <AuditFilters tenants=context.tenants platform_view=context.platform_view scope action/> }.into_any(),
                        Err(error) => view! { <div class="p-4"><ErrorPanel error/></div> }.into_any(),
                    }
                })}
            </Transition>
            <ul class="divide-y divide-slate-100" data-testid="audit-list">
                <Transition fallback=|| view! { <li><LoadingPanel/></li> }>
                    {move || Suspend::new(async move {
                        let (scope, action, before) = query.with_untracked(addressed);
                        match list.await {
                            Ok(page) if page.items.is_empty() && before.is_none() => view! { <li><EmptyState message="No changes recorded."/></li> }.into_any(),
                            Ok(page) => view! {
                                {page.items.into_iter().map(|row| view! { <AuditItem row/> }).collect_view()}
                                <Paging path="/audit" filters=vec![("scope", scope), ("action", action)] next=page.next older_than_newest=before.is_some() noun="entries"/>
                            }.into_any(),
                            Err(error) => view! { <li class="p-4"><ErrorPanel error/></li> }.into_any(),
                        }
                    })}
                </Transition>
            </ul>
        </section>
    }
}

#[component]
fn AuditFilters(tenants: Vec<crate::pages::policies::TenantOption>, platform_view: bool, scope: String, action: String) -> impl IntoView {
    view! {
        <FilterForm path="/audit" class="p-4 grid grid-cols-1 sm:grid-cols-3 gap-3 border-b border-slate-200">
            {platform_view.then(|| view! {
                <label class="text-sm"><span class="block text-slate-600 mb-1">"Whose changes"</span>
                    <select id="audit-scope" name="scope" class=INPUT>
                        <option value="">"Everything"</option>
                        <Choice value="platform" label="Platform only" selected=scope == "platform"/>
                        {tenants.into_iter().map(|t| {
                            let selected = scope == t.slug;
                            view! { <Choice value=t.slug label=t.name selected=selected/> }
                        }).collect_view()}
                    </select>
                </label>
            })}
            <label class="text-sm"><span class="block text-slate-600 mb-1">"Action"</span>
                <select id="audit-action" name="action" class=INPUT>
                    <option value="">"Any action"</option>
                    {ACTION_CHOICES.into_iter().map(|(value, label)| {
                        let selected = action == value;
                        view! { <Choice value=value label=label selected=selected/> }
                    }).collect_view()}
                </select>
            </label>
        </FilterForm>
    }
}

#[component]
fn AuditItem(row: AuditRow) -> impl IntoView {
    let AuditRow { actor, actor_kind, action, target, created_at, tenant, diff, .. } = row;
    let changed = diff.iter().filter(|l| l.sign != ' ').count();
    view! {
        <li data-testid="audit-row">
            // The browser's own disclosure: an entry opens without script.
            <details class="group">
                <summary class="w-full cursor-pointer list-none px-4 py-3 hover:bg-slate-50 focus:outline-none focus:bg-slate-50 flex flex-wrap items-center gap-3">
                    <span aria-hidden="true" class="text-slate-400 transition-transform group-open:rotate-90">"▸"</span>
                    <code class="text-xs font-semibold bg-slate-100 rounded px-1.5 py-0.5" data-testid="audit-action">{action}</code>
                    <span class="text-sm" data-testid="audit-target">{target.text}</span>
                    <span class="text-sm text-slate-600" data-testid="audit-actor">{format!("by {actor} ({actor_kind})")}</span>
                    <span class="text-sm text-slate-500">{tenant}</span>
                    <span class="ml-auto text-xs text-slate-500">{format!("{} · {changed} lines changed", format_time(created_at))}</span>
                </summary>
                <pre class="mx-4 mb-4 rounded-md border border-slate-200 text-xs overflow-x-auto" data-testid="audit-diff">
                    {diff.into_iter().map(|line| {
                        let class = match line.sign { '+' => "block bg-emerald-50 text-emerald-800 px-2", '-' => "block bg-red-50 text-red-800 px-2", _ => "block text-slate-500 px-2" };
                        view! { <span class=class>{format!("{} {}", line.sign, line.text)}</span> }
                    }).collect_view()}
                </pre>
            </details>
            {target.href.map(|href| view! { <a href=href class="mx-4 mb-2 inline-block text-xs text-indigo-700 hover:underline" data-testid="audit-target-link">"Open"</a> })}
        </li>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::describe_target;

    fn check(target: &str, before: Option<&str>, after: Option<&str>, slug: Option<&str>, text: &str, href: Option<&str>) {
        let described = describe_target(target, before, after, slug);
        assert_eq!((described.text.as_str(), described.href.as_deref()), (text, href), "{target}");
    }

    #[test]
    fn targets_read_as_names_with_links_never_ids() {
        let id = "0192f1d2-7a3b-7c4d-8e5f-6a7b8c9d0e1f";
        let policy = |version: i64| format!(r#"{{"id":"{id}","name":"Finance controls","version":{version}}}"#);
        check(&format!("policy:{id}"), Some(&policy(2)), Some(&policy(3)), None, "policy “Finance controls” v3", Some(&format!("/policies/{id}")));
        check(&format!("policy:{id}"), Some(&policy(3)), None, None, "policy “Finance controls” v3 (deleted)", None);
        check("api_key:ab12cd34ef", None, Some("{}"), Some("meridian-bank"), "API key chk_ab12cd34ef…", Some("/keys?tenant=meridian-bank"));
        check("api_key:ab12cd34ef", None, Some("{}"), None, "API key chk_ab12cd34ef…", Some("/keys"));
        check(&format!("approval:{id}"), None, Some(r#"{"tool":"expense.submit"}"#), None, "approval of expense.submit", Some("/approvals"));
        check("tool:payments.transfer", None, None, None, "tool payments.transfer", Some("/tools"));
        check("tool_source:Payments API", None, None, None, "source “Payments API”", Some("/tools"));
        check("tenant:meridian-bank", None, Some(r#"{"name":"First Meridian Bank"}"#), None, "tenant First Meridian Bank", Some("/tenants/meridian-bank"));
        check("platform", None, None, None, "platform settings", None);
        check("assistant:Claude", None, Some("{}"), None, "AI assistant “Claude”", Some("/assistant"));
    }
}
