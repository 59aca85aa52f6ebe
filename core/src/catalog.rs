//! The tool catalog (Tools & Sources): sources of tools and each tool's enable switch. The
//! platform manages it; a tenant sees the tools it may write rules for.

use std::collections::BTreeSet;

use charter_policy::{detect_source_kind, extract_tools, CatalogTool};
use charter_store::{now_ms, CatalogEntry, Exposure, Owner, SourceId, TenantTool, ToolId, ToolSource, ToolUsage};

use crate::access::{Access, Action, Target};
use crate::{Core, CoreError};

/// The source that holds Charter's own policy tools, the ones assistants use over MCP.
pub const CHARTER_SOURCE: &str = "Charter policy tools";
pub use charter_store::CHARTER_TOOL_PREFIX;
/// The most tenants or plans one tool is exposed to by name.
const MAX_CHOSEN: usize = 500;

/// Who a platform admin exposes a tool to, as they named them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ExposureChoice {
    #[default]
    Everyone,
    /// Tenants by slug, and plans by name.
    Chosen { tenants: Vec<String>, plans: Vec<String> },
}

/// How far back [`Core::tool_usage`] looks: a week of receipts.
pub const TOOL_USAGE_DAYS: i64 = 7;

/// The catalog as the caller may see it.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// The sources, for platform staff; empty for tenants.
    pub sources: Vec<ToolSource>,
    /// Every tool, for platform staff; empty for tenants.
    pub tools: Vec<CatalogEntry>,
    /// For a tenant: the tools the platform enabled and exposes to it, each with its own switch.
    pub own: Vec<TenantTool>,
    /// Whether a catalog of agents' tools decides which tools may be called at all; without one
    /// (`false`) every tool is enabled and the policies alone decide.
    pub governed: bool,
}

impl Catalog {
    /// The names of the enabled tools agents call (not Charter's own), for suggestions: every
    /// enabled one for platform staff, the ones a tenant has on for the tenant.
    pub fn agent_tools(&self) -> Vec<String> {
        let ours = |name: &str| name.starts_with(CHARTER_TOOL_PREFIX);
        let staff = self.tools.iter().filter(|tool| tool.enabled).map(|tool| &tool.name);
        let own = self.own.iter().filter(|tool| tool.on).map(|tool| &tool.tool.name);
        staff.chain(own).filter(|name| !ours(name)).cloned().collect()
    }
}

impl Core {
    pub async fn catalog(&self, access: &Access) -> Result<Catalog, CoreError> {
        access.may(Action::ReadCatalog, &Owner::Platform)?;
        let governed = self.store.platform_settings().await?.0.enabled_tools.is_some();
        if access.is_platform_staff() {
            return Ok(Catalog { sources: self.store.list_tool_sources().await?, tools: self.store.list_catalog(None).await?, own: Vec::new(), governed });
        }
        // Tenants see the tools they have, not the platform's sources or whom else it exposes to.
        let owner = self.owner(access, Target::Own, Action::ReadCatalog).await?;
        let tenant = self.tenant_of(&owner).await?.ok_or(CoreError::TenantRequired)?;
        let mut own = self.store.tenant_tools(&tenant).await?;
        for tool in &mut own {
            tool.tool.exposure = Exposure::Everyone;
        }
        Ok(Catalog { sources: Vec::new(), tools: Vec::new(), own, governed })
    }

    /// Sets which tenants the platform exposes a tool to (platform admins); the next decision of
    /// every tenant sees it.
    pub async fn set_tool_exposure(&self, access: &Access, tool_id: &ToolId, choice: ExposureChoice) -> Result<CatalogEntry, CoreError> {
        access.may(Action::WriteCatalog, &Owner::Platform)?;
        let exposure = match choice {
            ExposureChoice::Everyone => Exposure::Everyone,
            ExposureChoice::Chosen { tenants: slugs, plans } => {
                if slugs.len() > MAX_CHOSEN || plans.len() > MAX_CHOSEN {
                    return Err(CoreError::invalid("tenants", format!("name at most {MAX_CHOSEN} tenants and {MAX_CHOSEN} plans")));
                }
                let mut tenants = Vec::with_capacity(slugs.len());
                for (index, slug) in slugs.iter().enumerate() {
                    let tenant = self.store.tenant_by_slug(slug.trim()).await?;
                    let tenant = tenant.ok_or_else(|| CoreError::invalid(&format!("tenants[{index}]"), format!("`{}` is not a tenant", slug.trim())))?;
                    if !tenants.contains(&tenant.id) {
                        tenants.push(tenant.id);
                    }
                }
                let plans: BTreeSet<String> = plans.iter().map(|plan| plan.trim().to_owned()).filter(|plan| !plan.is_empty()).collect();
                if tenants.is_empty() && plans.is_empty() {
                    return Err(CoreError::invalid("tenants", "choose at least one tenant or plan, or switch the tool off for everyone"));
                }
                Exposure::Chosen { tenants, plans: plans.into_iter().collect() }
            }
        };
        Ok(self.store.set_tool_exposure(&access.actor(), tool_id, &exposure).await?)
    }

    /// A tenant's admin switches a tool the platform exposes to their tenant off, or on again;
    /// the tenant's next decision sees it. A tool it does not expose to them is not found.
    pub async fn switch_tool(&self, access: &Access, target: Target<'_>, tool: &str, on: bool) -> Result<TenantTool, CoreError> {
        let owner = self.owner(access, target, Action::SwitchTools).await?;
        let tenant = self.tenant_of(&owner).await?.ok_or(CoreError::TenantRequired)?;
        let mut switched = self.store.switch_tenant_tool(&access.actor(), &tenant, tool.trim(), on).await?;
        switched.tool.exposure = Exposure::Everyone;
        Ok(switched)
    }

    /// Puts Charter's own MCP tools into the catalog as the platform's source [`CHARTER_SOURCE`]
    /// (each named with [`CHARTER_TOOL_PREFIX`]): new tools enabled, the switches of known ones
    /// kept. The server runs it at start with the tools it serves.
    pub async fn ensure_charter_tools(&self, tools: &[(String, String)]) -> Result<ToolSource, CoreError> {
        let tools: Vec<CatalogTool> = tools
            .iter()
            .map(|(name, description)| CatalogTool { name: format!("{CHARTER_TOOL_PREFIX}{name}"), method: None, path: None, description: description.clone() })
            .collect();
        Ok(self.store.ensure_builtin_source(CHARTER_SOURCE, &tools).await?)
    }

    /// Which of Charter's own MCP tools the caller's tenant has (their names without the prefix):
    /// enabled by the platform, exposed to the tenant, not switched off by it. Platform staff
    /// act for no tenant here and have none.
    pub async fn charter_tools(&self, access: &Access) -> Result<BTreeSet<String>, CoreError> {
        let Some(tenant_id) = access.own_tenant() else { return Ok(BTreeSet::new()) };
        let tenant = self.tenant(tenant_id).await?;
        let names = self.store.builtin_tools_for(CHARTER_SOURCE, &tenant).await?;
        Ok(names.into_iter().filter_map(|name| name.strip_prefix(CHARTER_TOOL_PREFIX).map(str::to_owned)).collect())
    }

    /// Adds the tools of an OpenAPI 3 document or an MCP `tools/list` answer as one source.
    pub async fn add_source(&self, access: &Access, name: &str, document: &str, enabled: bool) -> Result<ToolSource, CoreError> {
        access.may(Action::WriteCatalog, &Owner::Platform)?;
        let invalid = |err: charter_policy::CatalogError| CoreError::invalid("document", err.to_string());
        let kind = detect_source_kind(document).map_err(invalid)?;
        let tools = extract_tools(kind, document).map_err(invalid)?;
        if let Some(ours) = tools.iter().find(|tool| tool.name.starts_with(CHARTER_TOOL_PREFIX)) {
            return Err(CoreError::invalid("document", format!("tool `{}`: names under `{CHARTER_TOOL_PREFIX}` are Charter's own", ours.name)));
        }
        Ok(self.store.add_tool_source(&access.actor(), name, kind, &tools, enabled).await?)
    }

    /// Switches one tool on or off for every tenant; the next decision sees it.
    pub async fn toggle_tool(&self, access: &Access, tool_id: &ToolId, enabled: bool) -> Result<CatalogEntry, CoreError> {
        access.may(Action::WriteCatalog, &Owner::Platform)?;
        Ok(self.store.set_tool_enabled(&access.actor(), tool_id, enabled).await?)
    }

    /// Which tenants called `tool` in the last [`TOOL_USAGE_DAYS`] days, by the server's clock:
    /// what switching it off would stop. Platform staff only, as it reads every tenant's receipts.
    pub async fn tool_usage(&self, access: &Access, tool: &str) -> Result<Vec<ToolUsage>, CoreError> {
        access.may(Action::ListTenants, &Owner::Platform)?;
        let since = now_ms() - TOOL_USAGE_DAYS * 86_400_000;
        Ok(self.store.tool_usage(tool, since).await?)
    }

    pub async fn delete_source(&self, access: &Access, source_id: &SourceId) -> Result<ToolSource, CoreError> {
        access.may(Action::WriteCatalog, &Owner::Platform)?;
        Ok(self.store.delete_tool_source(&access.actor(), source_id).await?)
    }
}
