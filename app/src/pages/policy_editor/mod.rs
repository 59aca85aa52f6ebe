//! The policy editor: the whole policy as YAML or JSON, validated by the engine as you type (with
//! the error at its line, and collisions with a parent's rules named), a form that adds common
//! rules, starter templates, save with optimistic concurrency, and delete after a confirmation.
//! A new policy starts with a name and no rules, so nothing is allowed until the user says so;
//! unsaved work is never replaced or left behind without asking. Support sees the same page
//! read-only; the server refuses its writes regardless.

mod around;
mod data;
mod history;
mod name_field;
mod rule_builder;
mod unsaved;

use charter_store::PolicyLabel;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::feedback::{go_to, reload_page, LiveToasts, Toasts};
use crate::components::ui::{Card, ErrorPanel, FormRefusal, LoadingPanel, PageHeader, BUTTON, BUTTON_SECONDARY, INPUT};
use crate::island_code::PreloadIslands;
use crate::pages::policies::TenantOption;
use crate::templates::{BLANK, TEMPLATES};
use crate::AppError;
use around::{editor_header, DeleteCard, EnabledTools, EnabledToolsCard, TemplatesCard};
pub use data::*;
use history::{HistoryCard, RestoreVersion, VersionDiff, VersionRow};
use name_field::NameField;
use rule_builder::RuleBuilder;
use unsaved::UnsavedGuard;

#[component]
pub fn NewPolicyPage() -> impl IntoView {
    let context = Resource::new(|| (), |_| load_editor_context());
    // `?template=key` starts from a template: each is a link, and loads the page with its document.
    let template = use_query_map().with_untracked(|query| query.get("template"));
    view! {
        <Title text="New policy"/>
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || {
                let template = template.clone();
                Suspend::new(async move {
                match context.await {
                    // Support and other read-only accounts get no empty editor they could not save.
                    Ok(context) if !context.can_write => view! {
                        <PageHeader title="New policy".to_owned() subtitle="Policies".to_owned()/>
                        <p class="mt-4 rounded-md bg-amber-50 border border-amber-200 px-3 py-2 text-sm text-amber-800" data-testid="read-only-notice">
                            "Your account can read policies but cannot create them. "
                            <a href="/policies" class="underline">"Back to the policies"</a>
                        </p>
                    }
                    .into_any(),
                    Ok(context) => {
                        let chosen = template.as_deref().map(|key| TEMPLATES.iter().find(|t| t.key == key).ok_or(key));
                        let blank = if context.platform_view { BLANK.replace("scope: tenant", "scope: platform") } else { BLANK.to_owned() };
                        let text = match chosen {
                            Some(Ok(template)) => template.yaml.to_owned(),
                            _ => blank,
                        };
                        let unknown = match chosen {
                            // The key is not repeated: an address anyone can send must not put their words on the page.
                            Some(Err(_)) => Some("The template in the address does not exist: start from one of these, or from nothing.".to_owned()),
                            _ => None,
                        };
                        let chosen = chosen.and_then(Result::ok).map(|template| template.key);
                        let policy = EditorPolicy {
                            id: None,
                            name: String::new(),
                            version: 0,
                            tenant_slug: context.own_slug.clone(),
                            tenant_name: None,
                            label: if context.platform_view { PolicyLabel::PlatformDefault } else { PolicyLabel::CustomerDefined },
                            text,
                            read_only: false,
                        };
                        let document = EditedDocument::of(&policy);
                        let owners = if context.platform_view { context.tenants } else { Vec::new() };
                        let tools = context.enabled_tools;
                        let enabled = EnabledTools { governed: context.governed, tools: tools.clone() };
                        view! {
                            <PreloadIslands islands=&["policy_editor"]/>
                            {editor_header(&policy)}
                            <TemplatesCard chosen unknown/>
                            <PolicyEditor policy=document owners tools>
                                <Card title="History">
                                    <p class="text-sm text-slate-500">"Each save becomes a version that you can compare and restore here."</p>
                                </Card>
                                <EnabledToolsCard tools=enabled/>
                            </PolicyEditor>
                        }
                        .into_any()
                    }
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })
            }}
        </Transition>
    }
}

#[component]
pub fn EditPolicyPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    // `?compare=N` shows how version N differs from the current one.
    let compare = move || query.read().get("compare").and_then(|n| n.parse::<i64>().ok());
    let page = Resource::new(move || (id(), compare()), |(id, compare)| load_edit_page(id, compare));
    let context = Resource::new(|| (), |_| load_editor_context());
    // A restore or a deletion posted without success comes back in the address.
    let refused = ServerAction::<RestoreVersion>::new()
        .value()
        .get_untracked()
        .and_then(Result::err)
        .map(|error| format!("Not restored: {error}"))
        .or_else(|| ServerAction::<DeletePolicy>::new().value().get_untracked().and_then(Result::err).map(|error| format!("Not deleted: {error}")));
    view! {
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || {
                let refused = refused.clone();
                Suspend::new(async move {
                    match (page.await, context.await) {
                        (Ok(EditPage { policy, versions, compare }), Ok(context)) => {
                            let (history_id, tenant_slug, current, read_only) =
                                (policy.id.clone().unwrap_or_default(), policy.tenant_slug.clone(), policy.version, policy.read_only);
                            let (document, deleted) = (EditedDocument::of(&policy), policy.clone());
                            let enabled = EnabledTools { governed: context.governed, tools: context.enabled_tools.clone() };
                            // The rule form's suggestions: a reader gets no form.
                            let tools = if read_only { Vec::new() } else { context.enabled_tools };
                            view! {
                                <Title text=policy.name.clone()/>
                                {refused.map(|message| view! { <div class="mb-4"><FormRefusal message/></div> })}
                                <PreloadIslands islands=&["policy_editor"]/>
                                {editor_header(&policy)}
                                <PolicyEditor policy=document owners=Vec::new() tools>
                                    <HistoryCard id=history_id tenant_slug current read_only versions compare/>
                                    <EnabledToolsCard tools=enabled/>
                                    <DeleteCard policy=deleted/>
                                </PolicyEditor>
                            }
                            .into_any()
                        }
                        (Err(error), _) | (_, Err(error)) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// What the edit page shows besides the editor's context: the policy, its versions, and the
/// difference asked for.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EditPage {
    pub policy: EditorPolicy,
    pub versions: Vec<VersionRow>,
    pub compare: Option<Result<VersionDiff, AppError>>,
}

/// Loads the edit page's policy, its history and, when asked, a version's difference from the
/// current one.
#[server(endpoint = "policies/edit_page")]
pub async fn load_edit_page(id: String, compare: Option<i64>) -> Result<EditPage, AppError> {
    use history::{diff_versions, policy_history};
    let policy = load_policy(id.clone()).await?;
    let versions = policy_history(id.clone(), policy.tenant_slug.clone()).await?;
    let compare = match compare {
        Some(from) => Some(diff_versions(id, policy.tenant_slug.clone(), from, policy.version).await),
        None => None,
    };
    Ok(EditPage { policy, versions, compare })
}

/// The document being edited, as the editor island gets it: what it sends back when it saves.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EditedDocument {
    /// None for a new policy.
    pub id: Option<String>,
    pub version: i64,
    pub tenant_slug: Option<String>,
    pub text: String,
    pub read_only: bool,
}

impl EditedDocument {
    fn of(policy: &EditorPolicy) -> EditedDocument {
        let EditorPolicy { id, version, tenant_slug, text, read_only, .. } = policy.clone();
        EditedDocument { id, version, tenant_slug, text, read_only }
    }
}

/// The editor with everything beside it. It is an island: the only part of its page that runs in
/// the browser, given by the page only what it works with (its props cross to the browser, and
/// each field costs code there): the document, the tenants a new platform policy may go to
/// (`owners`, empty unless the choice is offered) and the tools the rule form suggests.
/// `children` (the history, the enabled tools, deleting) are rendered by the server and sit beside it. A
/// save loads the policy's page again, or its new page, and the server keeps the message for it;
/// deleting is a plain form. Other outcomes show as a toast of the editor's own.
#[island(lazy)]
fn PolicyEditor(policy: EditedDocument, owners: Vec<TenantOption>, tools: Vec<String>, children: Children) -> impl IntoView {
    let toasts = Toasts::provide();
    let is_new = policy.id.is_none();
    let id = StoredValue::new(policy.id.clone());
    let version = policy.version;
    let text = RwSignal::new(policy.text.clone());
    let initial_text = policy.text.clone();
    // What the server has (or, for a new policy, the blank start): anything else is unsaved work.
    let saved_text = RwSignal::new(policy.text.clone());
    let dirty = Signal::derive(move || text.with(|now| saved_text.with(|saved| now != saved)));
    let read_only = policy.read_only;
    // Where a new policy goes: the tenant admin's tenant, or the platform admin's choice.
    let target = RwSignal::new(policy.tenant_slug.clone().unwrap_or_default());
    let validation = RwSignal::new(Validation::default());
    let edits = StoredValue::new(0_u64);

    // The editor calls its server functions directly rather than through actions: it has one
    // outcome to show for each, and the browser bundle stays smaller.
    // Each check answers for the text it was sent; only the answer for the latest edit is shown.
    // Timers may fire after the editor is gone (the user moved on): then there is nothing to check.
    let run_validation = move || {
        let (Some(text), Some(target), Some(replacing), Some(edit)) =
            (text.try_get_untracked(), target.try_get_untracked(), id.try_get_value(), edits.try_get_value())
        else {
            return;
        };
        let tenant_slug = Some(target).filter(|s| !s.is_empty());
        leptos::task::spawn_local(async move {
            if let Ok(result) = validate_policy(text, tenant_slug, replacing).await {
                if edits.try_get_value() == Some(edit) {
                    validation.try_set(result);
                }
            }
        });
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

    let saving = RwSignal::new(false);
    let save = move |_| {
        let sent = text.get_untracked();
        let request = SavePolicy { id: id.get_value(), version, tenant_slug: Some(target.get_untracked()).filter(|s| !s.is_empty()), text: sent.clone() };
        saving.set(true);
        leptos::task::spawn_local(async move {
            match save_policy(request.id, request.version, request.tenant_slug, request.text).await {
                // Saved: nothing to ask about when the page loads again, with the new version and
                // its history; the server keeps the message for it.
                Ok(saved) => {
                    saved_text.set(sent);
                    match id.get_value() {
                        None => go_to(&format!("/policies/{}", saved.id)),
                        Some(_) => reload_page(),
                    }
                }
                Err(error) => {
                    saving.set(false);
                    toasts.error(format!("Not saved: {error}"));
                }
            }
        });
    };
    let convert = move |to_json: bool| {
        let sent = text.get_untracked();
        leptos::task::spawn_local(async move {
            match convert_policy(sent, to_json).await {
                Ok(converted) => on_input(converted),
                Err(error) => toasts.error(format!("Cannot convert: {error}")),
            }
        });
    };

    let has_errors = move || !validation.get().errors.is_empty();
    let error_lines = move || validation.get().errors.iter().filter_map(|p| p.line).collect::<Vec<_>>();
    let warning_lines = move || validation.get().warnings.iter().filter_map(|p| p.line).collect::<Vec<_>>();
    let line_count = move || text.get().lines().count().max(1) + 1;
    let show_target = !owners.is_empty();

    view! {
        <div class="grid grid-cols-1 lg:grid-cols-3 gap-6">
            <div class="lg:col-span-2 space-y-4">
                {show_target.then(|| view! {
                    <Card>
                        <label class="text-sm block">
                            <span class="block text-slate-600 mb-1">"Owner"</span>
                            <select class=INPUT prop:value=move || target.get() on:change=move |ev| { target.set(event_target_value(&ev)); run_validation(); }>
                                <option value="">"Platform (Platform Default)"</option>
                                {owners.into_iter().map(|t| view! { <option value=t.slug.clone()>{format!("{} (Customer Defined)", t.name)}</option> }).collect_view()}
                            </select>
                        </label>
                    </Card>
                })}
                {(is_new && !read_only).then(|| view! {
                    <Card><NameField text on_input=Callback::new(on_input)/></Card>
                })}
                <section class="bg-white rounded-xl border border-slate-200 shadow-sm">
                    <div class="flex flex-wrap items-center justify-between gap-2 px-4 py-2 border-b border-slate-200">
                        <label for="policy-document" class="text-sm font-semibold text-slate-700">"Policy document"</label>
                        <div class="flex gap-2">
                            <button type="button" class=BUTTON_SECONDARY on:click=move |_| convert(false)>"YAML"</button>
                            <button type="button" class=BUTTON_SECONDARY on:click=move |_| convert(true)>"JSON"</button>
                        </div>
                    </div>
                    <div class="flex font-mono text-sm leading-6">
                        <div class="select-none text-right text-slate-400 bg-slate-50 border-r border-slate-200 py-3 px-2" aria-hidden="true">
                            {move || {
                                let (bad, doubtful) = (error_lines(), warning_lines());
                                (1..=line_count()).map(|n| {
                                    let (error, warning) = (bad.contains(&n), !bad.contains(&n) && doubtful.contains(&n));
                                    let class = match (error, warning) {
                                        (true, _) => "block px-1 bg-red-100 text-red-700 font-semibold",
                                        (false, true) => "block px-1 bg-amber-100 text-amber-800 font-semibold",
                                        (false, false) => "block px-1",
                                    };
                                    view! { <span class=class data-error-line=error.then_some("true") data-warning-line=warning.then_some("true")>{n}</span> }
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
                        >
                            // The document is in the server's HTML too, readable before the editor is live.
                            {initial_text}
                        </textarea>
                    </div>
                    <div id="policy-problems" class="border-t border-slate-200 px-4 py-3 text-sm space-y-1" aria-live="polite">
                        {move || {
                            let v = validation.get();
                            if v.errors.is_empty() {
                                v.summary.map(|s| view! { <p class="text-emerald-700" data-testid="editor-ok">{format!("Valid: {s}.")}</p> }.into_any()).unwrap_or_else(|| ().into_any())
                            } else {
                                v.errors.iter().map(|p| view! { <p class="text-red-700" role="alert" data-testid="editor-error">{p.text.clone()}</p> }).collect_view().into_any()
                            }
                        }}
                        {move || validation.get().warnings.iter().map(|p| view! { <p class="text-amber-700" data-testid="editor-warning">{format!("Warning: {}", p.text)}</p> }).collect_view()}
                    </div>
                    {(!read_only).then(|| view! {
                        <div class="flex flex-wrap items-center justify-between gap-2 px-4 py-3 border-t border-slate-200 bg-slate-50 rounded-b-xl">
                            <button
                                type="button"
                                class=BUTTON
                                disabled=move || has_errors() || saving.get()
                                on:click=save
                            >
                                {move || if saving.get() { "Saving…" } else { "Save policy" }}
                            </button>
                        </div>
                    })}
                </section>
            </div>
            // A flex column: the gap reaches the server-rendered cards too, though their wrapper is no box.
            <div class="flex flex-col gap-4">
                {(!read_only).then(|| view! { <RuleBuilder text on_input=Callback::new(on_input) tools/> })}
                {children()}
            </div>
        </div>
        <UnsavedGuard dirty discard=Callback::new(move |_| saved_text.set(text.get_untracked()))/>
        <LiveToasts toasts/>
    }
}
