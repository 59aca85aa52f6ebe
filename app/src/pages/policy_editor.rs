//! The policy editor: the whole policy as YAML or JSON, validated by the engine as you type (with
//! the error at its line, and collisions with a parent's rules named), a form that adds common
//! rules, starter templates, save with optimistic concurrency, and delete after a confirmation.
//! Support sees the same page read-only; the server refuses its writes regardless.

use charter_store::PolicyLabel;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};
use serde::{Deserialize, Serialize};

use crate::components::feedback::{ConfirmDialog, Toasts};
use crate::components::ui::{Card, ErrorPanel, LabelBadge, LoadingPanel, PageHeader, BUTTON, BUTTON_DANGER, BUTTON_SECONDARY, INPUT};
use crate::pages::policies::TenantOption;
use crate::templates::{BLANK, TEMPLATES};
use crate::AppError;

/// A policy opened in the editor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditorPolicy {
    pub id: Option<String>,
    pub name: String,
    pub version: i64,
    pub tenant_slug: Option<String>,
    pub tenant_name: Option<String>,
    pub label: PolicyLabel,
    pub text: String,
    pub read_only: bool,
}

/// What the editor needs besides the policy: where a new policy may go and which tools exist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditorContext {
    pub platform_view: bool,
    pub tenants: Vec<TenantOption>,
    pub own_slug: Option<String>,
    pub can_write: bool,
    /// The enabled tools of the catalog; empty when there is no catalog (every tool enabled).
    pub enabled_tools: Vec<String>,
}

/// One problem found by the engine, located as precisely as it can be.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub path: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn text(&self) -> String {
        let mut text = String::new();
        if let Some(line) = self.line {
            text.push_str(&format!("Line {line}"));
            if let Some(column) = self.column {
                text.push_str(&format!(", column {column}"));
            }
            text.push_str(": ");
        }
        if let Some(path) = self.path.as_deref().filter(|p| !p.is_empty()) {
            text.push_str(&format!("`{path}` "));
        }
        text.push_str(&self.message);
        text
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
    /// E.g. "tenant policy with 3 rules", when the document parsed.
    pub summary: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    pub id: String,
    pub version: i64,
    pub warnings: Vec<String>,
}

/// The structured form's fields, all as typed; the server turns them into a rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleForm {
    pub tool: String,
    pub effect: String,
    pub approvers: String,
    pub condition_field: String,
    pub condition_op: String,
    pub condition_value: String,
    pub cap_field: String,
    pub cap_max: String,
    pub rate_calls: String,
    pub rate_per: String,
    pub rate_key: String,
    pub mask: String,
    pub reason: String,
}

#[server(endpoint = "policies/editor_context")]
pub async fn load_editor_context() -> Result<EditorContext, AppError> {
    use crate::auth::server::{access, core, session_user};
    use charter_core::Action;
    let (access, core) = (access()?, core()?);
    access.may(Action::ReadPolicies, &access.home())?;
    let platform_view = access.is_platform_staff();
    let tenants = if platform_view {
        core.list_tenants(&access).await?.into_iter().map(|s| TenantOption { id: s.tenant.id, slug: s.tenant.slug, name: s.tenant.name }).collect()
    } else {
        Vec::new()
    };
    let enabled_tools = core.catalog(&access).await?.tools.into_iter().filter(|t| t.enabled).map(|t| t.name).collect();
    let own_slug = session_user().await?.and_then(|user| user.tenant).map(|t| t.slug);
    Ok(EditorContext { platform_view, tenants, own_slug, can_write: access.can(Action::WritePolicies), enabled_tools })
}

#[server(endpoint = "policies/load")]
pub async fn load_policy(id: String) -> Result<EditorPolicy, AppError> {
    use crate::auth::server::{access, core};
    use charter_core::Action;
    let access = access()?;
    let (stored, tenant) = core()?.open_policy(&access, &id).await?;
    let policy = charter_store::to_engine_policy(&stored).map_err(|_| AppError::Internal)?;
    let mut document = policy.clone();
    document.id = String::new();
    document.version = 0;
    let text = document.to_yaml().map_err(|_| AppError::Internal)?;
    Ok(EditorPolicy {
        id: Some(stored.id),
        name: stored.name,
        version: stored.version,
        tenant_slug: tenant.as_ref().map(|t| t.slug.clone()),
        tenant_name: tenant.map(|t| t.name),
        label: PolicyLabel::of_scope(&stored.scope),
        text,
        read_only: !access.can(Action::WritePolicies),
    })
}

#[cfg(feature = "ssr")]
fn parse_problem(err: charter_policy::ParseError) -> Problem {
    Problem { line: err.line, column: err.column, path: err.path.filter(|p| !p.is_empty()), message: err.message }
}

#[server(endpoint = "policies/validate")]
pub async fn validate_policy(text: String, tenant_slug: Option<String>, replacing: Option<String>) -> Result<Validation, AppError> {
    use crate::auth::server::{access, core, target};
    let access = access()?;
    let checked = core()?.validate_policy(&access, target(&access, tenant_slug.as_deref()), &text, replacing.as_deref()).await?;
    let (policy, report) = match checked {
        charter_core::Validation::Unreadable(err) => return Ok(Validation { errors: vec![parse_problem(err)], ..Validation::default() }),
        charter_core::Validation::Misplaced { field, message } => {
            return Ok(Validation { errors: vec![Problem { line: None, column: None, path: Some(field), message }], ..Validation::default() });
        }
        charter_core::Validation::Checked { policy, report } => (policy, report),
    };
    let issue = |issue: &charter_policy::DelegationIssue| Problem { line: None, column: None, path: Some(issue.path.clone()), message: issue.message.clone() };
    let count = policy.rules.len();
    Ok(Validation {
        errors: report.errors.iter().map(issue).collect(),
        warnings: report.warnings.iter().map(issue).collect(),
        summary: Some(format!("{} policy with {count} rule{}", policy.scope, if count == 1 { "" } else { "s" })),
    })
}

#[server(endpoint = "policies/save")]
pub async fn save_policy(id: Option<String>, version: i64, tenant_slug: Option<String>, text: String) -> Result<Saved, AppError> {
    use crate::auth::server::{access, core, target};
    let (access, core) = (access()?, core()?);
    let policy = charter_policy::Policy::parse_auto(&text)
        .map_err(|err| AppError::Invalid { field: err.path.clone().unwrap_or_else(|| "policy".to_owned()), message: err.to_string() })?;
    let target = target(&access, tenant_slug.as_deref());
    let saved = match id {
        Some(id) => core.update_policy(&access, target, &id, version, &policy).await?,
        None => core.create_policy(&access, target, &policy).await?,
    };
    Ok(Saved { id: saved.policy.id, version: saved.policy.version, warnings: saved.warnings.into_iter().map(|w| w.message).collect() })
}

#[server(endpoint = "policies/delete")]
pub async fn delete_policy(id: String, version: i64, tenant_slug: Option<String>) -> Result<(), AppError> {
    use crate::auth::server::{access, core, target};
    let access = access()?;
    core()?.delete_policy(&access, target(&access, tenant_slug.as_deref()), &id, Some(version)).await?;
    Ok(())
}

#[server(endpoint = "policies/convert")]
pub async fn convert_policy(text: String, to_json: bool) -> Result<String, AppError> {
    use crate::auth::server::access;
    let access = access()?;
    access.may(charter_core::Action::ReadPolicies, &access.home())?;
    let policy = charter_policy::Policy::parse_auto(&text).map_err(|err| AppError::Invalid { field: "policy".to_owned(), message: err.to_string() })?;
    let converted = if to_json { policy.to_json() } else { policy.to_yaml() };
    converted.map_err(|_| AppError::Internal)
}

/// Builds the rule the form describes as the policy language's JSON. Empty fields are left out.
#[cfg(feature = "ssr")]
fn rule_json(form: &RuleForm) -> Result<serde_json::Value, AppError> {
    use serde_json::{json, Map, Value};
    let invalid = |field: &str, message: &str| AppError::Invalid { field: field.to_owned(), message: message.to_owned() };
    let list = |text: &str| -> Vec<String> { text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect() };
    let mut rule = Map::new();
    if form.tool.trim().is_empty() {
        return Err(invalid("tool", "is required"));
    }
    rule.insert("tool".into(), json!(form.tool.trim()));
    if !form.condition_field.trim().is_empty() {
        let op = if form.condition_op.trim().is_empty() { "eq" } else { form.condition_op.trim() };
        let raw = form.condition_value.trim();
        // A number, boolean or list as typed; anything else is text.
        let value = serde_json::from_str::<Value>(raw).unwrap_or_else(|_| json!(raw));
        let value = if matches!(op, "in" | "contains_any") && !value.is_array() { json!(list(raw)) } else { value };
        rule.insert("when".into(), json!({ form.condition_field.trim(): { op: value } }));
    }
    if !form.effect.trim().is_empty() {
        rule.insert("effect".into(), json!(form.effect.trim()));
    }
    if !form.approvers.trim().is_empty() {
        rule.insert("approvers".into(), json!(list(&form.approvers)));
    }
    if !form.cap_field.trim().is_empty() {
        let max: f64 = form.cap_max.trim().parse().map_err(|_| invalid("cap maximum", "must be a number"))?;
        rule.insert("limit".into(), json!({ form.cap_field.trim(): { "max": max } }));
    }
    if !form.rate_calls.trim().is_empty() {
        let calls: u64 = form.rate_calls.trim().parse().map_err(|_| invalid("rate limit calls", "must be a whole number"))?;
        let per = if form.rate_per.trim().is_empty() { "1m" } else { form.rate_per.trim() };
        let key = if form.rate_key.trim().is_empty() { "agent" } else { form.rate_key.trim() };
        rule.insert("rate_limit".into(), json!({ "calls": calls, "per": per, "per_key": key }));
    }
    if !form.mask.trim().is_empty() {
        rule.insert("mask".into(), json!(list(&form.mask)));
    }
    if !form.reason.trim().is_empty() {
        rule.insert("reason".into(), json!(form.reason.trim()));
    }
    Ok(Value::Object(rule))
}

/// The form field a path inside the new rule belongs to, so the error shows where it was typed.
#[cfg(feature = "ssr")]
fn form_field(path: &str) -> &'static str {
    let after = path.split_once("].").map(|(_, rest)| rest).unwrap_or(path);
    match after.split(['.', '[']).next().unwrap_or("") {
        "tool" => "tool",
        "when" => "condition",
        "effect" => "effect",
        "approvers" => "approvers",
        "limit" => "cap",
        "rate_limit" => "rate limit",
        "mask" => "mask",
        "reason" => "reason",
        _ => "rule",
    }
}

#[server(endpoint = "policies/add_rule")]
pub async fn add_rule(text: String, form: RuleForm) -> Result<String, AppError> {
    use crate::auth::server::access;
    use charter_policy::{detect_format, Format, Policy};
    let access = access()?;
    access.may(charter_core::Action::ReadPolicies, &access.home())?;
    let policy =
        Policy::parse_auto(&text).map_err(|err| AppError::Invalid { field: "policy".to_owned(), message: format!("fix the document first: {err}") })?;
    let mut document = serde_json::to_value(&policy).map_err(|_| AppError::Internal)?;
    let rule = rule_json(&form)?;
    let Some(rules) = document.as_object_mut().map(|d| d.entry("rules").or_insert_with(|| serde_json::json!([]))) else { return Err(AppError::Internal) };
    let Some(rules) = rules.as_array_mut() else { return Err(AppError::Internal) };
    rules.push(rule);
    let updated = Policy::from_json(&document.to_string()).map_err(|err| {
        let path = err.path.clone().unwrap_or_default();
        AppError::Invalid { field: form_field(&path).to_owned(), message: err.message }
    })?;
    let written = match detect_format(&text) {
        Format::Json => updated.to_json(),
        Format::Yaml => updated.to_yaml(),
    };
    written.map_err(|_| AppError::Internal)
}

#[component]
pub fn NewPolicyPage() -> impl IntoView {
    let context = Resource::new(|| (), |_| load_editor_context());
    view! {
        <Title text="New policy"/>
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || Suspend::new(async move {
                match context.await {
                    Ok(context) => {
                        let policy = EditorPolicy {
                            id: None,
                            name: String::new(),
                            version: 0,
                            tenant_slug: context.own_slug.clone(),
                            tenant_name: None,
                            label: if context.platform_view { PolicyLabel::PlatformDefault } else { PolicyLabel::CustomerDefined },
                            text: if context.platform_view { BLANK.replace("scope: tenant", "scope: platform") } else { BLANK.to_owned() },
                            read_only: !context.can_write,
                        };
                        view! { <Editor policy context/> }.into_any()
                    }
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn EditPolicyPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let policy = Resource::new(id, load_policy);
    let context = Resource::new(|| (), |_| load_editor_context());
    view! {
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || Suspend::new(async move {
                match (policy.await, context.await) {
                    (Ok(policy), Ok(context)) => view! { <Title text=policy.name.clone()/><Editor policy context/> }.into_any(),
                    (Err(error), _) | (_, Err(error)) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Editor(policy: EditorPolicy, context: EditorContext) -> impl IntoView {
    let toasts = expect_context::<Toasts>();
    let navigate = use_navigate();
    let is_new = policy.id.is_none();
    let id = StoredValue::new(policy.id.clone());
    let version = RwSignal::new(policy.version);
    let text = RwSignal::new(policy.text.clone());
    let read_only = policy.read_only;
    // Where a new policy goes: the tenant admin's tenant, or the platform admin's choice.
    let target = RwSignal::new(policy.tenant_slug.clone().unwrap_or_default());
    let target_slug = move || Some(target.get()).filter(|s| !s.is_empty());
    let validation = RwSignal::new(Validation::default());
    let edits = StoredValue::new(0_u64);

    let validate = ServerAction::<ValidatePolicy>::new();
    Effect::new(move |_| {
        if let Some(Ok(result)) = validate.value().get() {
            validation.set(result);
        }
    });
    // Timers may fire after the editor is gone (the user moved on): then there is nothing to check.
    let run_validation = move || {
        let (Some(text), Some(target), Some(replacing)) = (text.try_get_untracked(), target.try_get_untracked(), id.try_get_value()) else {
            return;
        };
        let tenant_slug = Some(target).filter(|s| !s.is_empty());
        validate.dispatch(ValidatePolicy { text, tenant_slug, replacing });
    };
    // Validate once on load, then 400 ms after the last keystroke.
    Effect::new(move |_| run_validation());
    let on_input = move |value: String| {
        text.set(value);
        let edit = edits.get_value() + 1;
        edits.set_value(edit);
        set_timeout(
            move || {
                if edits.try_get_value() == Some(edit) {
                    run_validation();
                }
            },
            std::time::Duration::from_millis(400),
        );
    };

    let save = ServerAction::<SavePolicy>::new();
    let navigate_after_save = navigate.clone();
    Effect::new(move |_| match save.value().get() {
        Some(Ok(saved)) => {
            version.set(saved.version);
            let mut message = format!("Saved version {}.", saved.version);
            if !saved.warnings.is_empty() {
                message.push_str(&format!(" Warnings: {}", saved.warnings.join("; ")));
            }
            toasts.success(message);
            if id.get_value().is_none() {
                id.set_value(Some(saved.id.clone()));
                navigate_after_save(&format!("/policies/{}", saved.id), Default::default());
            }
        }
        Some(Err(error)) => toasts.error(format!("Not saved: {error}")),
        None => {}
    });
    let delete = ServerAction::<DeletePolicy>::new();
    let navigate_after_delete = navigate.clone();
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(())) => {
            toasts.success("Policy deleted.");
            navigate_after_delete("/policies", Default::default());
        }
        Some(Err(error)) => toasts.error(format!("Not deleted: {error}")),
        None => {}
    });
    let confirm_delete = RwSignal::new(false);
    let convert = ServerAction::<ConvertPolicy>::new();
    Effect::new(move |_| match convert.value().get() {
        Some(Ok(converted)) => on_input(converted),
        Some(Err(error)) => toasts.error(format!("Cannot convert: {error}")),
        None => {}
    });

    let has_errors = move || !validation.get().errors.is_empty();
    let error_lines = move || validation.get().errors.iter().filter_map(|p| p.line).collect::<Vec<_>>();
    let line_count = move || text.get().lines().count().max(1) + 1;
    let title = if is_new { "New policy".to_owned() } else { policy.name.clone() };
    let owner = match (&policy.tenant_name, is_new) {
        (Some(name), _) => format!("Owned by {name}"),
        (None, false) => "Owned by the platform".to_owned(),
        (None, true) => String::new(),
    };
    let tenants = context.tenants.clone();
    let show_target = is_new && context.platform_view && !read_only;
    let tenant_slug_for_delete = policy.tenant_slug.clone();
    let enabled_tools = context.enabled_tools.clone();
    let enabled_for_form = enabled_tools.clone();

    view! {
        <div class="flex flex-wrap items-start justify-between gap-3">
            <div>
                <PageHeader title=title subtitle=owner/>
            </div>
            <div class="flex items-center gap-2">
                <LabelBadge label=policy.label/>
                {(!is_new).then(|| view! { <span class="text-xs text-slate-500" data-testid="policy-version">{move || format!("version {}", version.get())}</span> })}
            </div>
        </div>
        <Show when=move || read_only>
            <p class="mb-4 rounded-md bg-amber-50 border border-amber-200 px-3 py-2 text-sm text-amber-800" data-testid="read-only-notice">
                "You can read this policy; your account cannot change it."
            </p>
        </Show>
        <div class="grid grid-cols-1 lg:grid-cols-3 gap-6">
            <div class="lg:col-span-2 space-y-4">
                {show_target.then(|| view! {
                    <Card>
                        <label class="text-sm block">
                            <span class="block text-slate-600 mb-1">"Owner"</span>
                            <select class=INPUT prop:value=move || target.get() on:change=move |ev| { target.set(event_target_value(&ev)); run_validation(); }>
                                <option value="">"Platform (Platform Default)"</option>
                                {tenants.into_iter().map(|t| view! { <option value=t.slug.clone()>{format!("{} (Customer Defined)", t.name)}</option> }).collect_view()}
                            </select>
                        </label>
                    </Card>
                })}
                {(is_new && !read_only).then(|| view! {
                    <Card title="Start from a template">
                        <div class="grid grid-cols-1 sm:grid-cols-3 gap-3">
                            {TEMPLATES.iter().map(|template| {
                                let yaml = template.yaml;
                                view! {
                                    <button type="button" class="text-left rounded-lg border border-slate-200 p-3 hover:border-indigo-400 hover:bg-indigo-50 focus:outline-none focus:ring-2 focus:ring-indigo-500"
                                        on:click=move |_| on_input(yaml.to_owned())>
                                        <span class="block font-medium text-sm">{template.name}</span>
                                        <span class="block text-xs text-slate-500 mt-1">{template.description}</span>
                                    </button>
                                }
                            }).collect_view()}
                        </div>
                    </Card>
                })}
                <section class="bg-white rounded-xl border border-slate-200 shadow-sm">
                    <div class="flex flex-wrap items-center justify-between gap-2 px-4 py-2 border-b border-slate-200">
                        <label for="policy-document" class="text-sm font-semibold text-slate-700">"Policy document"</label>
                        <div class="flex gap-2">
                            <button type="button" class=BUTTON_SECONDARY on:click=move |_| { convert.dispatch(ConvertPolicy { text: text.get_untracked(), to_json: false }); }>"YAML"</button>
                            <button type="button" class=BUTTON_SECONDARY on:click=move |_| { convert.dispatch(ConvertPolicy { text: text.get_untracked(), to_json: true }); }>"JSON"</button>
                        </div>
                    </div>
                    <div class="flex font-mono text-sm leading-6">
                        <div class="select-none text-right text-slate-400 bg-slate-50 border-r border-slate-200 py-3 px-2" aria-hidden="true">
                            {move || {
                                let bad = error_lines();
                                (1..=line_count()).map(|n| {
                                    let class = if bad.contains(&n) { "block px-1 bg-red-100 text-red-700 font-semibold" } else { "block px-1" };
                                    view! { <span class=class data-error-line=bad.contains(&n).then_some("true")>{n}</span> }
                                }).collect_view()
                            }}
                        </div>
                        <textarea
                            id="policy-document"
                            name="policy-document"
                            spellcheck="false"
                            class="flex-1 resize-none py-3 px-3 font-mono text-sm leading-6 focus:outline-none whitespace-pre overflow-x-auto"
                            rows=move || line_count().to_string()
                            readonly=read_only
                            aria-invalid=move || has_errors().to_string()
                            aria-describedby="policy-problems"
                            prop:value=move || text.get()
                            on:input=move |ev| on_input(event_target_value(&ev))
                        ></textarea>
                    </div>
                    <div id="policy-problems" class="border-t border-slate-200 px-4 py-3 text-sm space-y-1" aria-live="polite">
                        {move || {
                            let v = validation.get();
                            if v.errors.is_empty() {
                                v.summary.map(|s| view! { <p class="text-emerald-700" data-testid="editor-ok">{format!("Valid: {s}.")}</p> }.into_any()).unwrap_or_else(|| ().into_any())
                            } else {
                                v.errors.iter().map(|p| view! { <p class="text-red-700" role="alert" data-testid="editor-error">{p.text()}</p> }).collect_view().into_any()
                            }
                        }}
                        {move || validation.get().warnings.iter().map(|p| view! { <p class="text-amber-700" data-testid="editor-warning">{format!("Warning: {}", p.text())}</p> }).collect_view()}
                    </div>
                    <Show when=move || !read_only>
                        <div class="flex flex-wrap items-center justify-between gap-2 px-4 py-3 border-t border-slate-200 bg-slate-50 rounded-b-xl">
                            <button
                                type="button"
                                class=BUTTON
                                disabled=move || has_errors() || save.pending().get()
                                on:click=move |_| {
                                    save.dispatch(SavePolicy { id: id.get_value(), version: version.get_untracked(), tenant_slug: target_slug(), text: text.get_untracked() });
                                }
                            >
                                {move || if save.pending().get() { "Saving…" } else { "Save policy" }}
                            </button>
                            {(!is_new).then(|| view! {
                                <button type="button" class=BUTTON_DANGER on:click=move |_| confirm_delete.set(true)>"Delete"</button>
                            })}
                        </div>
                    </Show>
                </section>
            </div>
            <div class="space-y-4">
                <Show when=move || !read_only>
                    <RuleBuilder text on_input=Callback::new(on_input) tools=enabled_for_form.clone()/>
                </Show>
                <Card title="Enabled tools">
                    {if enabled_tools.is_empty() {
                        view! { <p class="text-sm text-slate-500">"No catalog yet: every tool is enabled."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="flex flex-wrap gap-1" data-testid="enabled-tools">
                                {enabled_tools.iter().map(|t| view! { <li class="font-mono text-xs bg-slate-100 rounded px-1.5 py-0.5">{t.clone()}</li> }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </Card>
            </div>
        </div>
        <ConfirmDialog
            open=confirm_delete
            title="Delete this policy?"
            message="The policy stops applying to the very next decision. The audit log keeps its last version."
            confirm_label="Delete policy"
            on_confirm=Callback::new(move |_| {
                if let Some(policy_id) = id.get_value() {
                    delete.dispatch(DeletePolicy { id: policy_id, version: version.get_untracked(), tenant_slug: tenant_slug_for_delete.clone() });
                }
            })
        />
    }
}

/// The structured form: common rules without writing YAML. The rule is appended to the document
/// by the server, which validates it with the engine.
#[component]
fn RuleBuilder(text: RwSignal<String>, on_input: Callback<String>, tools: Vec<String>) -> impl IntoView {
    let toasts = expect_context::<Toasts>();
    let form =
        RwSignal::new(RuleForm { effect: "allow".into(), condition_op: "gt".into(), rate_per: "1m".into(), rate_key: "agent".into(), ..RuleForm::default() });
    let add = ServerAction::<AddRule>::new();
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| match add.value().get() {
        Some(Ok(updated)) => {
            error.set(None);
            on_input.run(updated);
            toasts.success("Rule added to the document. Review it, then save.");
        }
        Some(Err(err)) => error.set(Some(err.to_string())),
        None => {}
    });
    let field = move |label: &'static str, id: &'static str, get: fn(&RuleForm) -> String, set: fn(&mut RuleForm, String), placeholder: &'static str| {
        view! {
            <label for=id class="block text-sm">
                <span class="block text-slate-600 mb-1">{label}</span>
                <input id=id class=INPUT placeholder=placeholder list=(id == "rule-tool").then_some("tool-options")
                    prop:value=move || form.with(get)
                    on:input=move |ev| form.update(|f| set(f, event_target_value(&ev)))/>
            </label>
        }
    };
    view! {
        <Card title="Add a rule">
            <form class="space-y-3" on:submit=move |ev| { ev.prevent_default(); add.dispatch(AddRule { text: text.get_untracked(), form: form.get_untracked() }); }>
                {field("Tool", "rule-tool", |f| f.tool.clone(), |f, v| f.tool = v, "expense.submit or payments.*")}
                <datalist id="tool-options">{tools.into_iter().map(|t| view! { <option value=t/> }).collect_view()}</datalist>
                <label for="rule-effect" class="block text-sm">
                    <span class="block text-slate-600 mb-1">"Effect"</span>
                    <select id="rule-effect" class=INPUT prop:value=move || form.with(|f| f.effect.clone()) on:change=move |ev| form.update(|f| f.effect = event_target_value(&ev))>
                        <option value="allow">"Allow"</option>
                        <option value="deny">"Deny"</option>
                        <option value="require_approval">"Require approval"</option>
                        <option value="">"None (limits or masks only)"</option>
                    </select>
                </label>
                {field("Approver roles", "rule-approvers", |f| f.approvers.clone(), |f, v| f.approvers = v, "manager, cfo")}
                <fieldset class="grid grid-cols-3 gap-2">
                    <legend class="text-sm text-slate-600 mb-1">"Condition"</legend>
                    <input aria-label="Condition field" class=INPUT placeholder="args.amount" prop:value=move || form.with(|f| f.condition_field.clone()) on:input=move |ev| form.update(|f| f.condition_field = event_target_value(&ev))/>
                    <select aria-label="Condition operator" class=INPUT prop:value=move || form.with(|f| f.condition_op.clone()) on:change=move |ev| form.update(|f| f.condition_op = event_target_value(&ev))>
                        {["eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "starts_with", "ends_with", "matches"].into_iter().map(|op| view! { <option value=op>{op}</option> }).collect_view()}
                    </select>
                    <input aria-label="Condition value" class=INPUT placeholder="5000" prop:value=move || form.with(|f| f.condition_value.clone()) on:input=move |ev| form.update(|f| f.condition_value = event_target_value(&ev))/>
                </fieldset>
                <fieldset class="grid grid-cols-2 gap-2">
                    <legend class="text-sm text-slate-600 mb-1">"Cap"</legend>
                    <input aria-label="Cap field" class=INPUT placeholder="args.amount" prop:value=move || form.with(|f| f.cap_field.clone()) on:input=move |ev| form.update(|f| f.cap_field = event_target_value(&ev))/>
                    <input aria-label="Cap maximum" class=INPUT placeholder="10000" prop:value=move || form.with(|f| f.cap_max.clone()) on:input=move |ev| form.update(|f| f.cap_max = event_target_value(&ev))/>
                </fieldset>
                <fieldset class="grid grid-cols-3 gap-2">
                    <legend class="text-sm text-slate-600 mb-1">"Rate limit"</legend>
                    <input aria-label="Rate limit calls" class=INPUT placeholder="100" prop:value=move || form.with(|f| f.rate_calls.clone()) on:input=move |ev| form.update(|f| f.rate_calls = event_target_value(&ev))/>
                    <select aria-label="Rate limit window" class=INPUT prop:value=move || form.with(|f| f.rate_per.clone()) on:change=move |ev| form.update(|f| f.rate_per = event_target_value(&ev))>
                        {["1s", "1m", "1h", "1d"].into_iter().map(|w| view! { <option value=w>{format!("per {w}")}</option> }).collect_view()}
                    </select>
                    <select aria-label="Rate limit key" class=INPUT prop:value=move || form.with(|f| f.rate_key.clone()) on:change=move |ev| form.update(|f| f.rate_key = event_target_value(&ev))>
                        {["agent", "tenant", "user"].into_iter().map(|k| view! { <option value=k>{format!("per {k}")}</option> }).collect_view()}
                    </select>
                </fieldset>
                {field("Mask fields", "rule-mask", |f| f.mask.clone(), |f, v| f.mask = v, "result.ssn, args.card")}
                {field("Reason", "rule-reason", |f| f.reason.clone(), |f, v| f.reason = v, "shown with the decision")}
                {move || error.get().map(|e| view! { <p role="alert" class="text-sm text-red-700" data-testid="rule-error">{e}</p> })}
                <button type="submit" class=BUTTON disabled=move || add.pending().get()>"Add rule"</button>
            </form>
        </Card>
    }
}
