//! Tools & Sources. Platform admins add sources (an OpenAPI 3 document or an MCP `tools/list`
//! answer, pasted or uploaded), see each source's "N of M enabled", switch single tools on and
//! off, and choose which tenants (by name or plan) each tool is exposed to; a disabled tool is
//! denied by the very next decision, so switching one off first shows which tenants called it in
//! the last week and asks. "Charter policy tools" is the platform's own source: the tools
//! assistants use over MCP. Support sees the same, read-only. Tenant admins see the tools the
//! platform exposes to their tenant and switch off, for their tenant, those they do not want.

mod impact;
mod platform;
mod tenant;
mod upstream;

use charter_store::{CatalogEntry, TenantTool, ToolSource, ToolUsage as TenantCalls};
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::ui::{ErrorPanel, FormRefusal, LoadingPanel};
use crate::AppError;
use platform::PlatformCatalog;
use tenant::TenantCatalog;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogView {
    pub sources: Vec<ToolSource>,
    pub tools: Vec<CatalogEntry>,
    /// For a tenant: the tools the platform exposes to it, each with the tenant's own switch.
    pub own: Vec<TenantTool>,
    /// Every tenant, for platform staff choosing whom a tool is exposed to.
    pub tenants: Vec<crate::pages::policies::TenantOption>,
    pub platform_view: bool,
    pub can_write: bool,
    /// A tenant admin may switch their tenant's tools.
    pub can_switch: bool,
    /// A catalog of agents' tools decides which may be called; without one, every tool may.
    pub governed: bool,
}

#[server(endpoint = "tools/catalog")]
pub async fn tool_catalog() -> Result<CatalogView, AppError> {
    use crate::auth::server::{access, core};
    use charter_core::Action;
    let (access, core) = (access()?, core()?);
    let catalog = core.catalog(&access).await?;
    let can_write = access.may(Action::WriteCatalog, &charter_store::Owner::Platform).is_ok();
    let tenants = crate::pages::policies::tenant_options(&core, &access).await?;
    Ok(CatalogView {
        sources: catalog.sources,
        tools: catalog.tools,
        own: catalog.own,
        tenants,
        platform_view: access.is_platform_staff(),
        can_write,
        can_switch: !access.is_platform_staff() && access.can(Action::SwitchTools),
        governed: catalog.governed,
    })
}

/// Whom a platform admin exposes a tool to: everyone, or the tenants (by slug, `tenants[]`) and the
/// plans named (separated by commas). The exposure popover posts to it as a plain form.
#[server(endpoint = "tools/expose")]
pub async fn expose_tool(
    id: String,
    everyone: bool,
    #[server(default)] tenants: Vec<String>,
    #[server(default)] plans: String,
) -> Result<CatalogEntry, AppError> {
    use crate::auth::server::{access, core};
    use charter_core::ExposureChoice;
    let (access, core) = (access()?, core()?);
    let plans = plans.split(',').map(str::trim).filter(|plan| !plan.is_empty()).map(str::to_owned).collect();
    let choice = if everyone { ExposureChoice::Everyone } else { ExposureChoice::Chosen { tenants, plans } };
    let tool = core.set_tool_exposure(&access, &id.into(), choice).await?;
    let names = crate::pages::policies::tenant_options(&core, &access).await?;
    let message = format!("{} is now exposed to {}.", tool.name, platform::exposure_words(&tool.exposure, &names));
    crate::flash::server::after_redirect(crate::components::feedback::ToastKind::Success, message).await;
    Ok(tool)
}

/// A tenant admin switches a tool off for their tenant, or on again.
#[server(endpoint = "tools/switch")]
pub async fn switch_tool(tool: String, on: bool) -> Result<TenantTool, AppError> {
    use crate::auth::server::{access, core};
    let switched = core()?.switch_tool(&access()?, charter_core::Target::Own, &tool, on).await?;
    let message = format!("{} is {} for your tenant.", switched.tool.name, if switched.on { "on" } else { "switched off" });
    crate::flash::server::after_redirect(crate::components::feedback::ToastKind::Success, message).await;
    Ok(switched)
}

#[server(endpoint = "tools/add_source")]
pub async fn add_source(name: String, document: String, enabled: bool) -> Result<ToolSource, AppError> {
    use crate::auth::server::{access, core};
    let source = core()?.add_source(&access()?, &name, &document, enabled).await?;
    let message = format!("Added {} with {} tools.", source.name, source.tool_count);
    crate::flash::server::for_next_page(crate::components::feedback::ToastKind::Success, message).await;
    Ok(source)
}

/// Connects an upstream MCP server (Streamable HTTP) as a source: its tools join the catalog, and
/// agents call them through the MCP gateway.
#[server(endpoint = "tools/connect_upstream")]
pub async fn connect_upstream(name: String, endpoint: String, token: String, tool_prefix: String, enabled: bool) -> Result<ToolSource, AppError> {
    use crate::auth::server::{access, core};
    let token = Some(token).filter(|token| !token.trim().is_empty());
    let source = core()?.add_upstream(&access()?, charter_core::NewUpstream { name, endpoint, token, tool_prefix, enabled }).await?;
    let message = format!("Connected {} with {} tools.", source.name, source.tool_count);
    crate::flash::server::for_next_page(crate::components::feedback::ToastKind::Success, message).await;
    Ok(source)
}

/// What refreshing an upstream's tools changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refreshed {
    pub source: ToolSource,
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub removed: Vec<String>,
}

/// Reads an upstream's tools again: new ones arrive switched off.
#[server(endpoint = "tools/refresh_upstream")]
pub async fn refresh_upstream(id: String) -> Result<Refreshed, AppError> {
    use crate::auth::server::{access, core};
    let (source, report) = core()?.refresh_upstream(&access()?, &id.into()).await?;
    let refreshed = Refreshed { source, added: report.added, updated: report.updated, removed: report.removed };
    crate::flash::server::after_redirect(crate::components::feedback::ToastKind::Success, refreshed_words(&refreshed)).await;
    Ok(refreshed)
}

/// A platform admin enables or disables a tool for every tenant. Its switch posts to it as a plain
/// form (switching off after asking).
#[server(endpoint = "tools/toggle")]
pub async fn toggle_tool(id: String, enabled: bool) -> Result<CatalogEntry, AppError> {
    use crate::auth::server::{access, core};
    let tool = core()?.toggle_tool(&access()?, &id.into(), enabled).await?;
    let message = format!("{} is now {}.", tool.name, if tool.enabled { "enabled" } else { "disabled" });
    crate::flash::server::after_redirect(crate::components::feedback::ToastKind::Success, message).await;
    Ok(tool)
}

/// Who called a tool lately: what switching it off would stop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolImpact {
    /// How many days back the calls were counted.
    pub days: i64,
    /// The tenants that called it, the busiest first.
    pub tenants: Vec<TenantCalls>,
}

/// Which tenants called the tool lately: shown before it is switched off.
#[server(name = ImpactOf, endpoint = "tools/usage")]
pub async fn tool_usage(tool: String) -> Result<ToolImpact, AppError> {
    use crate::auth::server::{access, core};
    let tenants = core()?.tool_usage(&access()?, &tool).await?;
    Ok(ToolImpact { days: charter_core::TOOL_USAGE_DAYS, tenants })
}

#[server(endpoint = "tools/delete_source")]
pub async fn delete_source(id: String) -> Result<(), AppError> {
    use crate::auth::server::{access, core};
    core()?.delete_source(&access()?, &id.into()).await?;
    crate::flash::server::after_redirect(crate::components::feedback::ToastKind::Success, "Source removed.".to_owned()).await;
    Ok(())
}

/// What a refresh changed, in a sentence.
#[cfg(feature = "ssr")]
fn refreshed_words(refreshed: &Refreshed) -> String {
    let name = &refreshed.source.name;
    if refreshed.added.is_empty() && refreshed.updated.is_empty() && refreshed.removed.is_empty() {
        return format!("{name}: its tools are as they were.");
    }
    let mut parts = Vec::new();
    if !refreshed.added.is_empty() {
        parts.push(format!("added {} (switched off until you enable them)", refreshed.added.join(", ")));
    }
    if !refreshed.updated.is_empty() {
        parts.push(format!("updated {}", refreshed.updated.join(", ")));
    }
    if !refreshed.removed.is_empty() {
        parts.push(format!("removed {}", refreshed.removed.join(", ")));
    }
    format!("{name}: {}.", parts.join("; "))
}

#[component]
pub fn ToolsPage() -> impl IntoView {
    let catalog = Resource::new(|| (), |_| tool_catalog());
    // Switches, removing a source and reading an upstream's tools again are plain form posts: the
    // page loads again with the new catalog and says what was done, or with the refusal in its
    // address.
    let refused = |what: &str, error: Option<AppError>| error.map(|error| format!("{what}: {error}"));
    let refused = refused("Not removed", ServerAction::<DeleteSource>::new().value().get_untracked().and_then(Result::err))
        .or_else(|| refused("Not read again", ServerAction::<RefreshUpstream>::new().value().get_untracked().and_then(Result::err)))
        .or_else(|| refused("Not changed", ServerAction::<ToggleTool>::new().value().get_untracked().and_then(Result::err)))
        .or_else(|| refused("Not changed", ServerAction::<SwitchTool>::new().value().get_untracked().and_then(Result::err)))
        .or_else(|| refused("Not changed", ServerAction::<ExposeTool>::new().value().get_untracked().and_then(Result::err)));
    view! {
        <Title text="Tools & Sources"/>
        {refused.map(|message| view! { <div class="mb-6"><FormRefusal message/></div> })}
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || Suspend::new(async move {
                match catalog.await {
                    Ok(catalog) if catalog.platform_view => view! { <PlatformCatalog catalog/> }.into_any(),
                    Ok(catalog) => view! { <TenantCatalog tools=catalog.own can_switch=catalog.can_switch governed=catalog.governed/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}
