//! What the editor loads and saves: its types and server functions, each a thin call of the core.

use charter_store::PolicyLabel;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::pages::policies::TenantOption;
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
    /// The tools the caller's rules can name: the catalog's enabled ones (a tenant's: those it has).
    pub enabled_tools: Vec<String>,
    /// Whether a catalog decides which tools may be called; without one, every tool may.
    pub governed: bool,
}

/// One problem found by the engine, as the editor shows it: the line it marks, and the sentence
/// the server wrote (the browser has nothing to format).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub line: Option<usize>,
    pub text: String,
}

#[cfg(feature = "ssr")]
impl Problem {
    /// The problem located as precisely as the engine could: "Line 3, column 7: rule 1, effect: …".
    fn new(line: Option<usize>, column: Option<usize>, path: Option<&str>, message: &str) -> Problem {
        let mut text = String::new();
        if let Some(line) = line {
            text.push_str(&format!("Line {line}"));
            if let Some(column) = column {
                text.push_str(&format!(", column {column}"));
            }
            text.push_str(": ");
        }
        if let Some(path) = path.filter(|p| !p.is_empty()) {
            text.push_str(&format!("{}: ", crate::readable::path_in_words(path)));
        }
        text.push_str(&crate::readable::sentence(message));
        Problem { line, text }
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

impl Saved {
    /// What saving did, as the user reads it: the version and any warnings.
    pub fn message(&self) -> String {
        let mut message = format!("Saved version {}.", self.version);
        if !self.warnings.is_empty() {
            message.push_str(&format!(" Warnings: {}", self.warnings.iter().map(|w| crate::readable::sentence(w)).collect::<Vec<_>>().join("; ")));
        }
        message
    }
}

#[server(endpoint = "policies/editor_context")]
pub async fn load_editor_context() -> Result<EditorContext, AppError> {
    use crate::auth::server::{access, core, session_user};
    use crate::pages::policies::tenant_options;
    use charter_core::Action;
    let (access, core) = (access()?, core()?);
    access.may(Action::ReadPolicies, &access.home())?;
    let platform_view = access.is_platform_staff();
    let tenants = tenant_options(&core, &access).await?;
    let catalog = core.catalog(&access).await?;
    let (enabled_tools, governed) = (catalog.agent_tools(), catalog.governed);
    let own_slug = session_user().await?.and_then(|user| user.tenant).map(|t| t.slug);
    Ok(EditorContext { platform_view, tenants, own_slug, can_write: access.can(Action::WritePolicies), enabled_tools, governed })
}

#[server(endpoint = "policies/load")]
pub async fn load_policy(id: String) -> Result<EditorPolicy, AppError> {
    use crate::auth::server::{access, core};
    use charter_core::Action;
    let access = access()?;
    let (stored, tenant) = core()?.open_policy(&access, &id.into()).await?;
    let policy = charter_store::to_engine_policy(&stored).map_err(|_| AppError::Internal)?;
    let mut document = policy.clone();
    document.id = String::new();
    document.version = 0;
    let text = document.to_yaml().map_err(|_| AppError::Internal)?;
    Ok(EditorPolicy {
        id: Some(stored.id.into_string()),
        name: stored.name,
        version: stored.version,
        tenant_slug: tenant.as_ref().map(|t| t.slug.clone()),
        tenant_name: tenant.map(|t| t.name),
        label: PolicyLabel::of_scope(stored.scope),
        text,
        read_only: !access.can(Action::WritePolicies),
    })
}

#[cfg(feature = "ssr")]
fn parse_problem(err: charter_policy::ParseError) -> Problem {
    Problem::new(err.line, err.column, err.path.as_deref(), &err.message)
}

#[server(endpoint = "policies/validate")]
pub async fn validate_policy(text: String, tenant_slug: Option<String>, replacing: Option<String>) -> Result<Validation, AppError> {
    use crate::auth::server::{access, core, target};
    let access = access()?;
    let checked =
        core()?.validate_policy(&access, target(&access, tenant_slug.as_deref()), &text, replacing.map(charter_store::PolicyId::from).as_ref()).await?;
    let (policy, report) = match checked {
        charter_core::Validation::Unreadable(err) => return Ok(Validation { errors: vec![parse_problem(err)], ..Validation::default() }),
        charter_core::Validation::Misplaced { field, message } => {
            return Ok(Validation { errors: vec![Problem::new(None, None, Some(&field), &message)], ..Validation::default() });
        }
        charter_core::Validation::Checked { policy, report } => (policy, report),
    };
    // Each issue is shown beside the line of the field it names.
    let issue = |issue: &charter_policy::DelegationIssue| Problem::new(charter_policy::locate(&text, &issue.path), None, Some(&issue.path), &issue.message);
    let count = policy.rules.len();
    Ok(Validation {
        errors: report.errors.iter().map(issue).collect(),
        warnings: report.warnings.iter().map(issue).collect(),
        summary: Some(match count {
            0 => format!("{} policy with no rules yet", policy.scope),
            1 => format!("{} policy with 1 rule", policy.scope),
            _ => format!("{} policy with {count} rules", policy.scope),
        }),
    })
}

#[server(endpoint = "policies/save")]
pub async fn save_policy(id: Option<String>, version: i64, tenant_slug: Option<String>, text: String) -> Result<Saved, AppError> {
    use crate::auth::server::{access, core, target};
    let (access, core) = (access()?, core()?);
    let policy = core.read_policy(text, None).await?;
    let target = target(&access, tenant_slug.as_deref());
    let saved = match id {
        Some(id) => core.update_policy(&access, target, &id.into(), version, &policy).await?,
        None => core.create_policy(&access, target, &policy).await?,
    };
    let saved = Saved { id: saved.policy.id.into_string(), version: saved.policy.version, warnings: saved.warnings.into_iter().map(|w| w.message).collect() };
    // The editor loads the policy's page (again, or for the first time), which says what happened.
    crate::flash::server::for_next_page(crate::components::feedback::ToastKind::Success, saved.message()).await;
    Ok(saved)
}

#[server(endpoint = "policies/delete")]
pub async fn delete_policy(id: String, version: i64, tenant_slug: Option<String>) -> Result<(), AppError> {
    use crate::auth::server::{access, core, target};
    let access = access()?;
    core()?.delete_policy(&access, target(&access, tenant_slug.as_deref()), &id.into(), Some(version)).await?;
    // The editor posts a plain form: the browser goes on to the policy list, which says what happened.
    crate::flash::server::for_next_page(crate::components::feedback::ToastKind::Success, "Policy deleted.".to_owned()).await;
    if crate::flash::server::is_plain_form_post() {
        leptos_axum::redirect("/policies");
    }
    Ok(())
}

#[server(endpoint = "policies/convert")]
pub async fn convert_policy(text: String, to_json: bool) -> Result<String, AppError> {
    use crate::auth::server::{access, core};
    let access = access()?;
    access.may(charter_core::Action::ReadPolicies, &access.home())?;
    let policy = core()?.read_policy(text, None).await.map_err(|err| match err {
        charter_core::CoreError::InvalidPolicy(err) => AppError::Invalid { field: "policy".to_owned(), message: err.to_string() },
        other => other.into(),
    })?;
    let converted = if to_json { policy.to_json() } else { policy.to_yaml() };
    converted.map_err(|_| AppError::Internal)
}
