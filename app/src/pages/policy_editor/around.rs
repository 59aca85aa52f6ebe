//! What the server renders around the editor island, and the browser never runs: the page's header,
//! the templates a new policy starts from, the tools the rules can name, and the plain form that
//! deletes the policy.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use charter_store::PolicyLabel;

use super::{DeletePolicy, EditorPolicy};
use crate::components::feedback::ConfirmPost;
use crate::components::ui::{Card, FormRefusal, LabelBadge, PageHeader};
use crate::templates::TEMPLATES;

/// The editor's title, whose policy it is, its label and version, and whether the reader may change it.
pub(super) fn editor_header(policy: &EditorPolicy) -> impl IntoView {
    let (is_new, version, label, read_only) = (policy.id.is_none(), policy.version, policy.label, policy.read_only);
    let title = if is_new { "New policy".to_owned() } else { policy.name.clone() };
    let owner = match (&policy.tenant_name, is_new) {
        (Some(name), _) => format!("Owned by {name}"),
        (None, false) => "Owned by the platform".to_owned(),
        (None, true) => String::new(),
    };
    view! {
        <div class="flex flex-wrap items-start justify-between gap-3">
            <div>
                <PageHeader title=title subtitle=owner/>
            </div>
            <div class="flex items-center gap-2">
                <LabelBadge label/>
                {(!is_new).then(|| view! { <span class="text-xs text-slate-500" data-testid="policy-version">{format!("version {version}")}</span> })}
            </div>
        </div>
        {read_only.then(|| view! {
            <p class="mb-4 rounded-md bg-amber-50 border border-amber-200 px-3 py-2 text-sm text-amber-800" data-testid="read-only-notice">
                "You can read this policy; your account cannot change it."
            </p>
        })}
    }
}

/// The tools the caller's rules can name.
pub(super) struct EnabledTools {
    /// Whether a catalog decides which tools may be called; without one, every tool may.
    pub governed: bool,
    pub tools: Vec<String>,
}

/// Which tools the rules can name, beside the editor.
#[component]
pub(super) fn EnabledToolsCard(tools: EnabledTools) -> impl IntoView {
    view! {
        <Card title="Enabled tools">
            {if !tools.governed {
                view! { <p class="text-sm text-slate-500">"No catalog yet: every tool is enabled."</p> }.into_any()
            } else if tools.tools.is_empty() {
                view! { <p class="text-sm text-slate-500">"No tool is available: every call is denied, whatever the rules say."</p> }.into_any()
            } else {
                view! {
                    <ul class="flex flex-wrap gap-1" data-testid="enabled-tools">
                        {tools.tools.into_iter().map(|t| view! { <li class="font-mono text-xs bg-slate-100 rounded px-1.5 py-0.5">{t}</li> }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </Card>
    }
}

/// Deleting the policy, last beside the editor: a plain form post, confirmed in a popover. Readers
/// get none (the server refuses them regardless), nor does a policy not saved yet. What deleting
/// does depends on whose policy it is: a tenant's stops applying at once, a platform policy leaves
/// the draft and applies until a release without it reaches each tenant.
#[component]
pub(super) fn DeleteCard(policy: EditorPolicy) -> impl IntoView {
    let EditorPolicy { id, version, tenant_slug, read_only, label, .. } = policy;
    let effect = match label {
        PolicyLabel::PlatformDefault => {
            "Deleting takes the policy out of the draft: tenants keep it until a release without it is published and promoted to them. The audit log keeps its last version."
        }
        PolicyLabel::CustomerDefined => "The policy stops applying to the very next decision. The audit log keeps its last version.",
    };
    let mut fields = id.filter(|_| !read_only).map(|id| vec![("id", id), ("version", version.to_string())]);
    if let (Some(fields), Some(slug)) = (fields.as_mut(), tenant_slug) {
        fields.push(("tenant_slug", slug));
    }
    fields.map(|fields| {
        view! {
            <Card title="Delete">
                <p class="text-sm text-slate-500 mb-3" data-testid="delete-effect">{effect}</p>
                <ConfirmPost
                    id="delete-policy"
                    button="Delete"
                    title="Delete this policy?"
                    message=effect
                    confirm_label="Delete policy"
                    action=DeletePolicy::url()
                    fields
                />
            </Card>
        }
    })
}

/// The templates a new policy can start from, as links (`?template=key`): each loads the page with
/// its document, with or without script, and the unsaved-work guard asks before work is left.
/// `chosen` is the template the page started from; `unknown`, why the one asked for is not there.
#[component]
pub(super) fn TemplatesCard(chosen: Option<&'static str>, unknown: Option<String>) -> impl IntoView {
    view! {
        <div class="mb-4">
            <Card title="Start from a template">
                {unknown.map(|message| view! { <div class="mb-3"><FormRefusal message/></div> })}
                <div class="grid grid-cols-1 sm:grid-cols-3 gap-3" data-testid="templates">
                    {TEMPLATES.iter().map(|template| {
                        let current = chosen == Some(template.key);
                        let look = if current { "border-indigo-500 bg-indigo-50" } else { "border-slate-200 hover:border-indigo-400 hover:bg-indigo-50" };
                        view! {
                            <a
                                href=format!("/policies/new?template={}", template.key)
                                aria-current=current.then_some("true")
                                class=format!("block rounded-lg border p-3 focus:outline-none focus:ring-2 focus:ring-indigo-500 {look}")
                            >
                                <span class="block font-medium text-sm">{template.name}</span>
                                <span class="block text-xs text-slate-500 mt-1">{template.description}</span>
                            </a>
                        }
                    }).collect_view()}
                </div>
            </Card>
        </div>
    }
}
