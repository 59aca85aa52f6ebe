//! The policy lists of the console: every policy of the platform and of every tenant, filtered and
//! paged in the database so that the list stays fast with thousands of tenants.

use crate::sql::Sql;
use crate::{Page, PolicyLabel, PolicyListing, PolicySearch, Store, StoreError, StoredPolicy};

/// The most rows one page may ask for.
pub const MAX_PAGE: i64 = 200;

/// Escapes `%`, `_` and the escape character itself so user text matches literally in `LIKE`.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

/// Appends the conditions of `search` to a statement that ends in a WHERE clause.
fn push_filters(sql: &mut Sql<'_>, search: &PolicySearch) {
    sql.push(" 1 = 1");
    match (&search.tenant_id, search.include_platform) {
        (Some(tenant_id), false) => {
            sql.push(" AND p.tenant_id = ").bind(tenant_id.clone());
        }
        (Some(tenant_id), true) => {
            sql.push(" AND (p.tenant_id = ").bind(tenant_id.clone()).push(" OR p.tenant_id IS NULL)");
        }
        (None, _) => {}
    }
    match search.label {
        Some(PolicyLabel::PlatformDefault) => {
            sql.push(" AND p.tenant_id IS NULL");
        }
        Some(PolicyLabel::CustomerDefined) => {
            sql.push(" AND p.tenant_id IS NOT NULL");
        }
        None => {}
    }
    if let Some(scope) = &search.scope {
        sql.push(" AND p.scope = ").bind(scope.to_string());
    }
    if let Some(tool) = search.tool.as_deref().map(|t| t.trim().replace('\n', "")).filter(|t| !t.is_empty()) {
        sql.push(" AND p.tool_index LIKE ").bind(like_pattern(&tool)).push(" ESCAPE '\\'");
    }
    if let Some(text) = search.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = like_pattern(text);
        sql.push(" AND (");
        for (n, column) in ["p.name", "p.description", "COALESCE(p.agent, '')", "COALESCE(t.name, '')"].into_iter().enumerate() {
            if n > 0 {
                sql.push(" OR ");
            }
            sql.push("LOWER(").push(column).push(") LIKE ").bind(pattern.clone()).push(" ESCAPE '\\'");
        }
        sql.push(")");
    }
}

/// A row of the list: the policy and its tenant's names.
#[derive(sqlx::FromRow)]
struct ListingRow {
    #[sqlx(flatten)]
    stored: StoredPolicy,
    tenant_slug: Option<String>,
    tenant_name: Option<String>,
}

/// What a list shows of a stored document: its rules' tool matches. Read as plain data, so that a
/// list never compiles a pattern or checks a condition (the document was validated when saved).
#[derive(serde::Deserialize)]
struct Outline {
    #[serde(default)]
    rules: Vec<OutlineRule>,
}

#[derive(serde::Deserialize)]
struct OutlineRule {
    tool: String,
}

fn listing_of(row: ListingRow) -> Result<PolicyListing, StoreError> {
    let ListingRow { stored, tenant_slug, tenant_name } = row;
    let outline: Outline = serde_json::from_str(&stored.document).map_err(|err| StoreError::Corrupt(format!("policy `{}`: {err}", stored.id)))?;
    let mut tools: Vec<String> = Vec::new();
    for rule in &outline.rules {
        if !tools.contains(&rule.tool) {
            tools.push(rule.tool.clone());
        }
    }
    Ok(PolicyListing {
        label: PolicyLabel::of_scope(stored.scope),
        rule_count: outline.rules.len(),
        tools,
        tenant_slug,
        tenant_name,
        id: stored.id,
        scope: stored.scope,
        agent: stored.agent,
        name: stored.name,
        description: stored.description,
        version: stored.version,
        tenant_id: stored.tenant_id,
        updated_at: stored.updated_at,
        updated_by: stored.updated_by,
    })
}

impl Store {
    /// One page of the policies matching `search`: platform policies first, then by tenant name,
    /// scope, agent and policy name. Callers scope tenant users by setting `search.tenant_id`.
    pub async fn search_policies(&self, search: &PolicySearch, offset: i64, limit: i64) -> Result<Page<PolicyListing>, StoreError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let offset = offset.max(0);
        let from = "FROM policies p LEFT JOIN tenants t ON t.id = p.tenant_id WHERE";
        let mut count = Sql::new(&format!("SELECT COUNT(*) {from}"));
        push_filters(&mut count, search);
        let (text, args) = count.build()?;
        let total: i64 = sqlx::query_scalar_with(&text, args).fetch_one(&self.pool).await?;
        let mut page = Sql::new(&format!(
            "SELECT p.id, p.tenant_id, p.scope, p.agent, p.name, p.description, p.version, p.document, p.created_at, p.updated_at, p.updated_by,
                    t.slug AS tenant_slug, t.name AS tenant_name
             {from}"
        ));
        push_filters(&mut page, search);
        page.push(
            " ORDER BY CASE WHEN p.tenant_id IS NULL THEN 0 ELSE 1 END, COALESCE(t.name, ''), p.tenant_id, p.scope DESC, COALESCE(p.agent, ''), p.name LIMIT ",
        )
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
        let (text, args) = page.build()?;
        let rows: Vec<ListingRow> = sqlx::query_as_with(&text, args).fetch_all(&self.pool).await?;
        let items = rows.into_iter().map(listing_of).collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, total, offset, limit })
    }
}

/// The `tool_index` column of a policy: its rules' tool patterns, lower-cased, one per line with a
/// newline before and after each. A newline cannot occur in a tool pattern, so a search (with
/// newlines stripped) never matches across two patterns.
pub(crate) fn tool_index(policy: &charter_policy::Policy) -> String {
    let mut index = String::from("\n");
    for rule in &policy.rules {
        let tool = rule.tool.to_string().to_lowercase().replace('\n', " ");
        if !index.contains(&format!("\n{tool}\n")) {
            index.push_str(&tool);
            index.push('\n');
        }
    }
    index
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn user_text_matches_literally() {
        assert_eq!(like_pattern("Exp"), "%exp%");
        assert_eq!(like_pattern("100%_a\\"), "%100\\%\\_a\\\\%");
    }
}
