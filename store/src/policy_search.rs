//! The policy lists of the console: every policy of the platform and of every tenant, filtered and
//! paged in the database so that the list stays fast with thousands of tenants.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::policies::{stored_from_row, to_engine_policy};
use crate::{Page, PolicyLabel, PolicyListing, PolicySearch, Store, StoreError};

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

/// The WHERE clause and its text parameters for a search; parameters are numbered from `$1`.
fn where_clause(search: &PolicySearch) -> (String, Vec<String>) {
    let mut clauses: Vec<String> = vec!["1 = 1".to_owned()];
    let mut binds: Vec<String> = Vec::new();
    // Each `?` in a clause becomes the number of the bind just added.
    let mut push = |clause: &str, bind: Option<String>| {
        if let Some(bind) = bind {
            binds.push(bind);
        }
        clauses.push(clause.replace('?', &format!("${}", binds.len())));
    };
    if let Some(tenant_id) = &search.tenant_id {
        push("p.tenant_id = ?", Some(tenant_id.clone()));
    }
    match search.label {
        Some(PolicyLabel::PlatformDefault) => push("p.tenant_id IS NULL", None),
        Some(PolicyLabel::CustomerDefined) => push("p.tenant_id IS NOT NULL", None),
        None => {}
    }
    if let Some(scope) = &search.scope {
        push("p.scope = ?", Some(scope.clone()));
    }
    if let Some(tool) = search.tool.as_deref().map(|t| t.trim().replace('\n', "")).filter(|t| !t.is_empty()) {
        push("p.tool_index LIKE ? ESCAPE '\\'", Some(like_pattern(&tool)));
    }
    if let Some(text) = search.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        push(
            "(LOWER(p.name) LIKE ? ESCAPE '\\' OR LOWER(p.description) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(p.agent, '')) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(t.name, '')) LIKE ? ESCAPE '\\')",
            Some(like_pattern(text)),
        );
    }
    (clauses.join(" AND "), binds)
}

fn listing_from_row(row: &AnyRow) -> Result<PolicyListing, StoreError> {
    let stored = stored_from_row(row)?;
    let policy = to_engine_policy(&stored)?;
    let mut tools: Vec<String> = Vec::new();
    for rule in &policy.rules {
        let tool = rule.tool.to_string();
        if !tools.contains(&tool) {
            tools.push(tool);
        }
    }
    Ok(PolicyListing {
        label: PolicyLabel::of_scope(&stored.scope),
        rule_count: policy.rules.len(),
        tools,
        tenant_slug: row.try_get("tenant_slug")?,
        tenant_name: row.try_get("tenant_name")?,
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
        let (clause, binds) = where_clause(search);
        let from = "FROM policies p LEFT JOIN tenants t ON t.id = p.tenant_id";
        let count_sql = format!("SELECT COUNT(*) {from} WHERE {clause}");
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        for bind in &binds {
            count = count.bind(bind.clone());
        }
        let total = count.fetch_one(&self.pool).await?;
        let n = binds.len();
        let sql = format!(
            "SELECT p.id, p.tenant_id, p.scope, p.agent, p.name, p.description, p.version, p.document, p.created_at, p.updated_at, p.updated_by,
                    t.slug AS tenant_slug, t.name AS tenant_name
             {from} WHERE {clause}
             ORDER BY CASE WHEN p.tenant_id IS NULL THEN 0 ELSE 1 END, COALESCE(t.name, ''), p.tenant_id, p.scope DESC, COALESCE(p.agent, ''), p.name
             LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = query.bind(bind);
        }
        let rows = query.bind(limit).bind(offset).fetch_all(&self.pool).await?;
        let items = rows.iter().map(listing_from_row).collect::<Result<Vec<_>, _>>()?;
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
