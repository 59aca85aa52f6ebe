//! The tool catalog (Tools & Sources): sources of tools and each tool's enable switch. The
//! platform manages it; a tenant sees the tools it may write rules for.

use charter_policy::{detect_source_kind, extract_tools};
use charter_store::{now_ms, CatalogEntry, Owner, SourceId, ToolId, ToolSource, ToolUsage};

use crate::access::{Access, Action};
use crate::{Core, CoreError};

/// How far back [`Core::tool_usage`] looks: a week of receipts.
pub const TOOL_USAGE_DAYS: i64 = 7;

/// The catalog as the caller may see it.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// The sources, for platform staff; empty for tenants.
    pub sources: Vec<ToolSource>,
    /// Every tool for platform staff; the enabled ones for tenants.
    pub tools: Vec<CatalogEntry>,
}

impl Core {
    pub async fn catalog(&self, access: &Access) -> Result<Catalog, CoreError> {
        access.may(Action::ReadCatalog, &Owner::Platform)?;
        let mut tools = self.store.list_catalog(None).await?;
        if access.is_platform_staff() {
            return Ok(Catalog { sources: self.store.list_tool_sources().await?, tools });
        }
        // Tenants see what they may write rules for: the enabled tools, not the platform's sources.
        tools.retain(|tool| tool.enabled);
        Ok(Catalog { sources: Vec::new(), tools })
    }

    /// Adds the tools of an OpenAPI 3 document or an MCP `tools/list` answer as one source.
    pub async fn add_source(&self, access: &Access, name: &str, document: &str, enabled: bool) -> Result<ToolSource, CoreError> {
        access.may(Action::WriteCatalog, &Owner::Platform)?;
        let invalid = |err: charter_policy::CatalogError| CoreError::invalid("document", err.to_string());
        let kind = detect_source_kind(document).map_err(invalid)?;
        let tools = extract_tools(kind, document).map_err(invalid)?;
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
