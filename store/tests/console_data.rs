//! The store behind the console's newer pages: the platform-wide policy search, the tool catalog,
//! importing a set of policies, the audit search, and receipts and agents across tenants. Every
//! test runs on SQLite and then on PostgreSQL (see `charter_testkit::each_database`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeSet;

use charter_policy::{
    detect_source_kind, extract_tools, CatalogTool, DecisionRequest, DefaultBehaviour, InMemoryRateCounter, PlatformSettings, Policy, Scope, SourceKind,
    Verdict,
};
use charter_store::{
    Actor, ActorKind, AuditScope, ImportAction, ImportChange, NewTenant, Owner, PolicyLabel, PolicySearch, Receipt, ReceiptFilter, ReceiptId, ReceiptScope,
    ReceiptWriter, Store, StoreError, Tenant, TenantId, MAX_PAGE,
};
use charter_testkit::each_database;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

async fn tenant(store: &Store, slug: &str, name: &str, quota: i64) -> Tenant {
    store.create_tenant(NewTenant { slug: slug.into(), name: name.into(), plan: "enterprise".into(), policy_quota: Some(quota) }).await.unwrap()
}

fn policy(yaml: &str) -> Policy {
    Policy::from_yaml(yaml).unwrap_or_else(|err| panic!("the test policy parses: {err}\n{yaml}"))
}

fn staff(username: &str) -> Actor {
    Actor { id: username.into(), kind: ActorKind::User, tenant_id: None }
}

fn member(username: &str, tenant: &Tenant) -> Actor {
    Actor { id: username.into(), kind: ActorKind::User, tenant_id: Some(tenant.id.clone()) }
}

/// What a refused change must fail with.
type Expect = fn(&StoreError) -> bool;

async fn count(store: &Store, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(store.pool()).await.unwrap()
}

/// Every policy of an owner as (name, version), by name.
async fn versions(store: &Store, owner: &Owner) -> Vec<(String, i64)> {
    let mut list: Vec<_> = store.list_policies(owner).await.unwrap().into_iter().map(|p| (p.name, p.version)).collect();
    list.sort();
    list
}

// ---------------------------------------------------------------------------------------------
// Policy search
// ---------------------------------------------------------------------------------------------

/// Two platform policies whose names differ only where `%` would act as a wildcard, guardrails,
/// and two tenants with a tenant and an agent policy each (sorted by tenant name: Acme, Zeta).
async fn search_fixture(store: &Store) -> (Tenant, Tenant) {
    let owner = staff("owner@platform");
    for yaml in [
        "name: Guardrails\ndescription: Boundaries no tenant can loosen\nscope: platform\nrules:\n  - tool: \"system.*\"\n    effect: deny\n  - tool: \"*.bulk_delete\"\n    effect: deny\n",
        "name: A 100% wipe ban\nscope: platform\nrules:\n  - tool: wipe.all\n    effect: deny\n",
        "name: B 1000 wipe ban\nscope: platform\nrules:\n  - tool: wipe.many\n    effect: deny\n",
    ] {
        store.create_policy(&owner, &Owner::Platform, &policy(yaml)).await.unwrap();
    }
    let acme = tenant(store, "acme", "Acme Corp", 100).await;
    let zeta = tenant(store, "zeta", "Zeta Ltd", 100).await;
    let finance = "name: Finance controls\ndescription: Approvals for expenses\nscope: tenant\nrules:\n  - tool: expense.submit\n    effect: allow\n  - tool: payments.transfer\n    effect: allow\n  - tool: expense.submit\n    effect: require_approval\n    approvers: [manager]\n    when: { args.amount: { gt: 5000 } }\n";
    let bot = "name: Support bot\nscope: agent\nagent: support_bot\nrules:\n  - tool: \"payments.*\"\n    effect: deny\n";
    let reads = "name: Zeta reads\ndescription: Lookups for the support-bot fleet of Acme customers\nscope: tenant\nrules:\n  - tool: accounts.read\n    effect: allow\n  - tool: records.bulk-delete\n    effect: deny\n";
    store.create_policy(&member("admin@acme", &acme), &Owner::Tenant(acme.id.clone()), &policy(finance)).await.unwrap();
    store.create_policy(&member("admin@acme", &acme), &Owner::Tenant(acme.id.clone()), &policy(bot)).await.unwrap();
    store.create_policy(&member("admin@zeta", &zeta), &Owner::Tenant(zeta.id.clone()), &policy(reads)).await.unwrap();
    (acme, zeta)
}

const EVERY_POLICY: [&str; 6] = ["A 100% wipe ban", "B 1000 wipe ban", "Guardrails", "Finance controls", "Support bot", "Zeta reads"];

#[tokio::test]
async fn policy_search_filters_by_tenant_label_scope_tool_and_text() {
    each_database("search", |store: Store| async move {
        let (acme, zeta) = search_fixture(&store).await;
        let search = PolicySearch::default;
        let checks: Vec<(&str, PolicySearch, Vec<&str>)> = vec![
            ("no filter: platform first, then tenants by name, tenant scope before agent scope", search(), EVERY_POLICY.to_vec()),
            ("one tenant", PolicySearch { tenant_id: Some(acme.id.clone()), ..search() }, vec!["Finance controls", "Support bot"]),
            ("another tenant", PolicySearch { tenant_id: Some(zeta.id.clone()), ..search() }, vec!["Zeta reads"]),
            (
                "one tenant with the platform's policies that govern it",
                PolicySearch { tenant_id: Some(acme.id.clone()), include_platform: true, ..search() },
                vec!["A 100% wipe ban", "B 1000 wipe ban", "Guardrails", "Finance controls", "Support bot"],
            ),
            ("including the platform without a tenant filters nothing", PolicySearch { include_platform: true, ..search() }, EVERY_POLICY.to_vec()),
            ("an unknown tenant", PolicySearch { tenant_id: Some("no-such-tenant".into()), ..search() }, vec![]),
            (
                "platform defaults",
                PolicySearch { label: Some(PolicyLabel::PlatformDefault), ..search() },
                vec!["A 100% wipe ban", "B 1000 wipe ban", "Guardrails"],
            ),
            ("customer defined", PolicySearch { label: Some(PolicyLabel::CustomerDefined), ..search() }, vec!["Finance controls", "Support bot", "Zeta reads"]),
            (
                "a tenant and the platform label exclude each other",
                PolicySearch { tenant_id: Some(acme.id.clone()), label: Some(PolicyLabel::PlatformDefault), ..search() },
                vec![],
            ),
            ("agent scope", PolicySearch { scope: Some(Scope::Agent), ..search() }, vec!["Support bot"]),
            ("tenant scope", PolicySearch { scope: Some(Scope::Tenant), ..search() }, vec!["Finance controls", "Zeta reads"]),
            (
                "part of a tool name, in exact names and in globs",
                PolicySearch { tool: Some("payments".into()), ..search() },
                vec!["Finance controls", "Support bot"],
            ),
            ("a tool name in capitals", PolicySearch { tool: Some("PAYMENTS.TRANSFER".into()), ..search() }, vec!["Finance controls"]),
            ("a tool with surrounding blanks", PolicySearch { tool: Some("  expense.submit  ".into()), ..search() }, vec!["Finance controls"]),
            ("`_` in a tool matches only `_`", PolicySearch { tool: Some("bulk_delete".into()), ..search() }, vec!["Guardrails"]),
            ("`-` in a tool matches only `-`", PolicySearch { tool: Some("bulk-delete".into()), ..search() }, vec!["Zeta reads"]),
            ("`%` in a tool matches only `%`", PolicySearch { tool: Some("pay%ents".into()), ..search() }, vec![]),
            ("a tool search never spans two of a policy's patterns", PolicySearch { tool: Some("submit\npayments".into()), ..search() }, vec![]),
            ("a blank tool is no filter", PolicySearch { tool: Some(" \n ".into()), ..search() }, EVERY_POLICY.to_vec()),
            (
                "text in a tenant's name or a description",
                PolicySearch { text: Some("acme".into()), ..search() },
                vec!["Finance controls", "Support bot", "Zeta reads"],
            ),
            ("text in a description, any case", PolicySearch { text: Some("BOUNDARIES".into()), ..search() }, vec!["Guardrails"]),
            ("text in an agent name, `_` literally", PolicySearch { text: Some("Support_Bot".into()), ..search() }, vec!["Support bot"]),
            ("`%` in text matches only `%`", PolicySearch { text: Some("100%".into()), ..search() }, vec!["A 100% wipe ban"]),
            ("a backslash in text matches only a backslash", PolicySearch { text: Some("\\".into()), ..search() }, vec![]),
            ("blank text is no filter", PolicySearch { text: Some("   ".into()), ..search() }, EVERY_POLICY.to_vec()),
            (
                "filters combine",
                PolicySearch { label: Some(PolicyLabel::CustomerDefined), tool: Some("payments".into()), scope: Some(Scope::Tenant), ..search() },
                vec!["Finance controls"],
            ),
            ("filters combine to nothing", PolicySearch { text: Some("guard".into()), label: Some(PolicyLabel::CustomerDefined), ..search() }, vec![]),
        ];
        for (what, search, expected) in checks {
            let page = store.search_policies(&search, 0, 50).await.unwrap();
            let names: Vec<&str> = page.items.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(names, expected, "{what}: {search:?}");
            assert_eq!(page.total, i64::try_from(expected.len()).unwrap(), "{what}: the total counts every match");
        }
    })
    .await;
}

#[tokio::test]
async fn policy_search_lists_owner_label_and_a_digest_of_the_rules() {
    each_database("search", |store: Store| async move {
        let (acme, _) = search_fixture(&store).await;
        let page = store.search_policies(&PolicySearch::default(), 0, 50).await.unwrap();
        let finance = page.items.iter().find(|p| p.name == "Finance controls").unwrap();
        assert_eq!(finance.label, PolicyLabel::CustomerDefined);
        assert_eq!(
            (finance.tenant_id.as_ref().map(|id| id.as_str()), finance.tenant_slug.as_deref(), finance.tenant_name.as_deref()),
            (Some(acme.id.as_str()), Some("acme"), Some("Acme Corp"))
        );
        assert_eq!(finance.scope, Scope::Tenant);
        assert_eq!(finance.description, "Approvals for expenses");
        assert_eq!(finance.rule_count, 3);
        assert_eq!(finance.tools, ["expense.submit", "payments.transfer"], "tools are deduplicated, in rule order");
        assert_eq!((finance.version, finance.updated_by.as_str()), (1, "admin@acme"));
        let guardrails = page.items.iter().find(|p| p.name == "Guardrails").unwrap();
        assert_eq!(guardrails.label, PolicyLabel::PlatformDefault);
        assert_eq!((guardrails.tenant_id.as_ref(), guardrails.tenant_slug.as_ref(), guardrails.tenant_name.as_ref()), (None, None, None));
        let bot = page.items.iter().find(|p| p.name == "Support bot").unwrap();
        assert_eq!((bot.scope, bot.agent.as_deref()), (Scope::Agent, Some("support_bot")));
    })
    .await;
}

#[tokio::test]
async fn policy_search_pages_with_a_total_and_a_bounded_limit() {
    each_database("search", |store: Store| async move {
        search_fixture(&store).await;
        let all = PolicySearch::default();
        // Each check: (offset, limit) asked for, the page's names, and the offset and limit it reports.
        type Check<'a> = ((i64, i64), Vec<&'a str>, (i64, i64));
        let checks: Vec<Check> = vec![
            ((0, 2), vec!["A 100% wipe ban", "B 1000 wipe ban"], (0, 2)),
            ((2, 2), vec!["Guardrails", "Finance controls"], (2, 2)),
            ((4, 2), vec!["Support bot", "Zeta reads"], (4, 2)),
            ((5, 10), vec!["Zeta reads"], (5, 10)),
            ((6, 10), vec![], (6, 10)),
            ((-3, 1), vec!["A 100% wipe ban"], (0, 1)),
            ((1, 0), vec!["B 1000 wipe ban"], (1, 1)),
            ((0, 1_000_000), EVERY_POLICY.to_vec(), (0, MAX_PAGE)),
        ];
        for ((offset, limit), expected, (reported_offset, reported_limit)) in checks {
            let page = store.search_policies(&all, offset, limit).await.unwrap();
            let names: Vec<&str> = page.items.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(names, expected, "offset {offset}, limit {limit}");
            assert_eq!(page.total, 6, "the total ignores paging (offset {offset}, limit {limit})");
            assert_eq!((page.offset, page.limit), (reported_offset, reported_limit), "offset {offset}, limit {limit}");
        }
        // Walking the pages visits every policy once.
        let mut walked = Vec::new();
        let mut offset = 0;
        loop {
            let page = store.search_policies(&all, offset, 4).await.unwrap();
            if page.items.is_empty() {
                break;
            }
            offset += i64::try_from(page.items.len()).unwrap();
            walked.extend(page.items.into_iter().map(|p| p.name));
        }
        assert_eq!(walked, EVERY_POLICY);
    })
    .await;
}

#[tokio::test]
async fn the_tool_index_follows_every_update_and_delete() {
    each_database("search", |store: Store| async move {
        let (acme, _) = search_fixture(&store).await;
        let admin = member("admin@acme", &acme);
        let by_tool = |tool: &str| PolicySearch { tool: Some(tool.into()), ..PolicySearch::default() };
        let finance = store.list_policies(&Owner::Tenant(acme.id.clone())).await.unwrap().into_iter().find(|p| p.name == "Finance controls").unwrap();
        let changed = policy("name: Finance controls\nscope: tenant\nrules:\n  - tool: payments.refund\n    effect: allow\n");
        store.update_policy(&admin, &Owner::Tenant(acme.id.clone()), &finance.id, finance.version, &changed).await.unwrap();
        let names = |page: charter_store::Page<charter_store::PolicyListing>| page.items.into_iter().map(|p| p.name).collect::<Vec<_>>();
        assert_eq!(names(store.search_policies(&by_tool("transfer"), 0, 50).await.unwrap()), Vec::<String>::new(), "the old tool is gone");
        assert_eq!(names(store.search_policies(&by_tool("expense"), 0, 50).await.unwrap()), Vec::<String>::new());
        assert_eq!(names(store.search_policies(&by_tool("refund"), 0, 50).await.unwrap()), ["Finance controls"], "the new tool is found");

        store.delete_policy(&admin, &Owner::Tenant(acme.id.clone()), &finance.id, None).await.unwrap();
        let page = store.search_policies(&by_tool("refund"), 0, 50).await.unwrap();
        assert_eq!((page.items.len(), page.total), (0, 0), "a deleted policy is not found");
        assert_eq!(store.search_policies(&PolicySearch::default(), 0, 50).await.unwrap().total, 5);
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Tool catalog
// ---------------------------------------------------------------------------------------------

const OPENAPI: &str = r#"openapi: 3.0.3
info: { title: Finance, version: "1" }
paths:
  /expenses:
    post:
      operationId: expense.submit
      summary: Submit an expense
  /payments:
    post:
      operationId: payments.transfer
      summary: Move money
"#;

const MCP: &str = r#"{"jsonrpc": "2.0", "id": 1, "result": {"tools": [
  {"name": "email.send", "description": "Send an email"},
  {"name": "crm.export", "description": "Export contacts"}
]}}"#;

fn tools_of(document: &str) -> (SourceKind, Vec<CatalogTool>) {
    let kind = detect_source_kind(document).unwrap();
    (kind, extract_tools(kind, document).unwrap())
}

async fn enabled_tools(store: &Store) -> Option<Vec<String>> {
    store.platform_settings().await.unwrap().0.enabled_tools.map(|set| set.into_iter().collect())
}

fn names(list: &[&str]) -> Option<Vec<String>> {
    Some(list.iter().map(|s| (*s).to_owned()).collect())
}

/// The platform's catalog-related audit entries, oldest first, as (action, target).
async fn catalog_audit(store: &Store) -> Vec<(String, String)> {
    let mut entries: Vec<_> =
        store.search_audit(&AuditScope::Platform, Some("tool"), None, 100).await.unwrap().into_iter().map(|e| (e.action, e.target)).collect();
    entries.reverse();
    entries
}

#[tokio::test]
async fn the_catalog_keeps_the_enabled_tools_in_step_with_every_change() {
    each_database("catalog", |store: Store| async move {
        let owner = staff("owner@platform");
        store.set_platform_settings(&owner, &PlatformSettings { default: DefaultBehaviour::Allow, enabled_tools: None }).await.unwrap();
        assert_eq!(enabled_tools(&store).await, None, "no catalog: every tool is enabled");

        let (kind, tools) = tools_of(OPENAPI);
        assert_eq!(kind, SourceKind::OpenApi);
        let finance = store.add_tool_source(&owner, "  Finance API ", kind, &tools, true).await.unwrap();
        assert_eq!((finance.name.as_str(), finance.kind.as_str(), finance.tool_count, finance.enabled_count), ("Finance API", "openapi", 2, 2));
        assert_eq!(finance.created_by, "owner@platform");
        assert_eq!(enabled_tools(&store).await, names(&["expense.submit", "payments.transfer"]));

        let (kind, tools) = tools_of(MCP);
        assert_eq!(kind, SourceKind::Mcp);
        let workspace = store.add_tool_source(&owner, "Workspace", kind, &tools, false).await.unwrap();
        assert_eq!((workspace.kind.as_str(), workspace.tool_count, workspace.enabled_count), ("mcp", 2, 0));
        assert_eq!(enabled_tools(&store).await, names(&["expense.submit", "payments.transfer"]), "a disabled source adds no enabled tool");

        let catalog = store.list_catalog(None).await.unwrap();
        let listed: Vec<(&str, bool)> = catalog.iter().map(|t| (t.name.as_str(), t.enabled)).collect();
        assert_eq!(listed, [("crm.export", false), ("email.send", false), ("expense.submit", true), ("payments.transfer", true)], "the whole catalog, by name");
        let expense = catalog.iter().find(|t| t.name == "expense.submit").unwrap();
        assert_eq!((expense.method.as_deref(), expense.path.as_deref(), expense.description.as_str()), (Some("POST"), Some("/expenses"), "Submit an expense"));
        assert_eq!(expense.source_id, finance.id);
        let of_workspace: Vec<String> = store.list_catalog(Some(&workspace.id)).await.unwrap().into_iter().map(|t| t.name).collect();
        assert_eq!(of_workspace, ["crm.export", "email.send"], "one source's tools");
        assert!(store.list_catalog(Some(&"no-such-source".into())).await.unwrap().is_empty());

        let email = catalog.iter().find(|t| t.name == "email.send").unwrap();
        let toggled = store.set_tool_enabled(&owner, &email.id, true).await.unwrap();
        assert!(toggled.enabled);
        assert_eq!(enabled_tools(&store).await, names(&["email.send", "expense.submit", "payments.transfer"]));
        let transfer = catalog.iter().find(|t| t.name == "payments.transfer").unwrap();
        assert!(!store.set_tool_enabled(&owner, &transfer.id, false).await.unwrap().enabled);
        assert_eq!(enabled_tools(&store).await, names(&["email.send", "expense.submit"]));
        let sources: Vec<(String, i64, i64)> = store.list_tool_sources().await.unwrap().into_iter().map(|s| (s.name, s.tool_count, s.enabled_count)).collect();
        assert_eq!(sources, [("Finance API".to_owned(), 2, 1), ("Workspace".to_owned(), 2, 1)], "sources by name with their counts");

        let missing = store.set_tool_enabled(&owner, &"no-such-tool".into(), true).await.unwrap_err();
        assert!(matches!(missing, StoreError::NotFound { what: "tool", .. }), "{missing}");

        let removed = store.delete_tool_source(&owner, &workspace.id).await.unwrap();
        assert_eq!((removed.name.as_str(), removed.tool_count), ("Workspace", 2));
        assert_eq!(enabled_tools(&store).await, names(&["expense.submit"]), "a removed source's tools go from the enabled set");
        assert_eq!(store.list_catalog(None).await.unwrap().len(), 2);
        store.delete_tool_source(&owner, &finance.id).await.unwrap();
        assert_eq!(enabled_tools(&store).await, None, "an empty catalog enables every tool again");
        assert!(store.list_tool_sources().await.unwrap().is_empty());
        let again = store.delete_tool_source(&owner, &finance.id).await.unwrap_err();
        assert!(matches!(again, StoreError::NotFound { what: "tool source", .. }), "{again}");

        assert_eq!(store.platform_settings().await.unwrap().0.default, DefaultBehaviour::Allow, "catalog changes keep the rest of the settings");
        assert_eq!(
            catalog_audit(&store).await,
            [
                ("tool_source.create", "tool_source:Finance API"),
                ("tool_source.create", "tool_source:Workspace"),
                ("tool.enable", "tool:email.send"),
                ("tool.disable", "tool:payments.transfer"),
                ("tool_source.delete", "tool_source:Workspace"),
                ("tool_source.delete", "tool_source:Finance API"),
            ]
            .map(|(a, t)| (a.to_owned(), t.to_owned())),
            "every change is audited once, as the platform's, with its actor"
        );
        let entries = store.search_audit(&AuditScope::Platform, Some("tool"), None, 100).await.unwrap();
        assert!(entries.iter().all(|e| e.actor == "owner@platform" && e.tenant_id.is_none()), "{entries:?}");
    })
    .await;
}

#[tokio::test]
async fn a_tool_another_source_has_is_a_conflict_and_writes_nothing() {
    each_database("catalog", |store: Store| async move {
        let owner = staff("owner@platform");
        let (kind, tools) = tools_of(OPENAPI);
        store.add_tool_source(&owner, "Finance API", kind, &tools, true).await.unwrap();
        let settings_before = store.platform_settings().await.unwrap();
        let (audit_before, sources_before, tools_before) =
            (count(&store, "audit_log").await, count(&store, "tool_sources").await, count(&store, "tools").await);

        let overlapping = vec![
            CatalogTool { name: "brand.new".into(), method: None, path: None, description: String::new() },
            CatalogTool { name: "payments.transfer".into(), method: None, path: None, description: "the same name".into() },
        ];
        let long_name = "n".repeat(101);
        type Case<'a> = (&'a str, &'a str, Vec<CatalogTool>, Expect);
        let cases: Vec<Case> = vec![
            (
                "a tool name another source has",
                "Other source",
                overlapping,
                |e| matches!(e, StoreError::Conflict { what: "tool", key } if key == "payments.transfer"),
            ),
            ("a source name that exists", "Finance API", tools_of(MCP).1, |e| matches!(e, StoreError::Conflict { what: "source", .. })),
            ("a blank name", "   ", tools_of(MCP).1, |e| matches!(e, StoreError::Invalid { field: "name", .. })),
            ("a name over 100 characters", &long_name, tools_of(MCP).1, |e| matches!(e, StoreError::Invalid { field: "name", .. })),
            ("no tools", "Empty", Vec::new(), |e| matches!(e, StoreError::Invalid { field: "document", .. })),
        ];
        for (what, name, tools, expected) in cases {
            let err = store.add_tool_source(&owner, name, SourceKind::Mcp, &tools, true).await.unwrap_err();
            assert!(expected(&err), "{what}: {err}");
            assert_eq!(store.platform_settings().await.unwrap(), settings_before, "{what}: the settings are unchanged");
            assert_eq!(count(&store, "audit_log").await, audit_before, "{what}: no audit entry");
            assert_eq!(count(&store, "tool_sources").await, sources_before, "{what}: no source");
            assert_eq!(count(&store, "tools").await, tools_before, "{what}: no tool");
        }
        assert!(store.list_catalog(None).await.unwrap().iter().all(|t| t.name != "brand.new"), "the new tool of the refused source is not there");
    })
    .await;
}

#[tokio::test]
async fn the_next_decision_sees_a_catalog_change() {
    each_database("catalog", |store: Store| async move {
        let owner = staff("owner@platform");
        let acme = tenant(&store, "acme", "Acme Corp", 100).await;
        store
            .create_policy(
                &member("admin@acme", &acme),
                &Owner::Tenant(acme.id.clone()),
                &policy("name: Open\nscope: tenant\nrules:\n  - tool: \"*\"\n    effect: allow\n"),
            )
            .await
            .unwrap();
        let verdict = |store: Store, tool: &'static str| async move {
            let compiled = store.policy_set(&acme_id(&store).await).await.unwrap();
            compiled.set.decide(&DecisionRequest::new(tool), &InMemoryRateCounter::new(), 0).verdict
        };
        assert_eq!(verdict(store.clone(), "email.send").await, Verdict::Allow, "no catalog: the tenant's allow applies");

        let (kind, tools) = tools_of(MCP);
        store.add_tool_source(&owner, "Workspace", kind, &tools, true).await.unwrap();
        assert_eq!(verdict(store.clone(), "email.send").await, Verdict::Allow);
        assert_eq!(verdict(store.clone(), "payments.transfer").await, Verdict::Deny, "a tool outside the catalog is not enabled");

        let email = store.list_catalog(None).await.unwrap().into_iter().find(|t| t.name == "email.send").unwrap();
        store.set_tool_enabled(&owner, &email.id, false).await.unwrap();
        assert_eq!(verdict(store.clone(), "email.send").await, Verdict::Deny, "a disabled tool is denied at once");
        store.set_tool_enabled(&owner, &email.id, true).await.unwrap();
        assert_eq!(verdict(store.clone(), "email.send").await, Verdict::Allow, "and allowed again once enabled");

        let source = store.list_tool_sources().await.unwrap().remove(0);
        store.delete_tool_source(&owner, &source.id).await.unwrap();
        assert_eq!(verdict(store.clone(), "payments.transfer").await, Verdict::Allow, "without a catalog every tool is enabled again");
    })
    .await;
}

async fn acme_id(store: &Store) -> TenantId {
    store.tenant_by_slug("acme").await.unwrap().unwrap().id
}

#[tokio::test]
async fn the_enabled_set_is_the_catalogs_alone_once_it_has_tools() {
    each_database("catalog", |store: Store| async move {
        let owner = staff("owner@platform");
        let (kind, tools) = tools_of(OPENAPI);
        store.add_tool_source(&owner, "Finance API", kind, &tools, true).await.unwrap();
        let (before, version) = store.platform_settings().await.unwrap();
        let meddling = PlatformSettings { enabled_tools: Some(BTreeSet::from(["anything.else".to_owned()])), ..before.clone() };
        let err = store.set_platform_settings(&owner, &meddling).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid { field: "enabled_tools", .. }), "{err}");
        assert_eq!(store.platform_settings().await.unwrap(), (before.clone(), version), "nothing changed");
        // Changing the default while keeping the catalog's set is fine.
        let default_only = PlatformSettings { default: DefaultBehaviour::Allow, ..before };
        store.set_platform_settings(&owner, &default_only).await.unwrap();
        assert_eq!(enabled_tools(&store).await, names(&["expense.submit", "payments.transfer"]));
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------------

const FINANCE_V1: &str = "name: Finance controls\nscope: tenant\nrules:\n  - tool: expense.submit\n    effect: allow\n";
const FINANCE_V2: &str =
    "name: Finance controls\nscope: tenant\nrules:\n  - tool: expense.submit\n    effect: allow\n  - tool: payments.transfer\n    effect: allow\n";
const OLD_RULES: &str = "name: Old rules\nscope: tenant\nrules:\n  - tool: docs.read\n    effect: allow\n";
const SUPPORT_BOT: &str = "name: Support bot\nscope: agent\nagent: support-bot\nrules:\n  - tool: \"payments.*\"\n    effect: deny\n";
const SHELL: &str = "name: Shell access\nscope: tenant\nrules:\n  - tool: system.exec\n    effect: allow\n";
const GUARDRAILS: &str = "name: Guardrails\nscope: platform\nrules:\n  - tool: \"system.*\"\n    effect: deny\n";

/// The platform denies `system.*`; the tenant (quota `quota`) has Finance controls v1 and Old rules.
async fn import_fixture(store: &Store, quota: i64) -> Tenant {
    store.create_policy(&staff("owner@platform"), &Owner::Platform, &policy(GUARDRAILS)).await.unwrap();
    charter_testkit::release_platform(store).await;
    let acme = tenant(store, "acme", "Acme Corp", quota).await;
    for yaml in [FINANCE_V1, OLD_RULES] {
        store.create_policy(&member("admin@acme", &acme), &Owner::Tenant(acme.id.clone()), &policy(yaml)).await.unwrap();
    }
    acme
}

fn actions(changes: &[ImportChange]) -> Vec<(&str, &str)> {
    changes.iter().map(|c| (c.action.as_str(), c.name.as_str())).collect()
}

fn file(yamls: &[&str]) -> Vec<Policy> {
    yamls.iter().map(|y| policy(y)).collect()
}

#[tokio::test]
async fn an_import_creates_updates_keeps_and_deletes_by_name_and_a_dry_run_writes_nothing() {
    each_database("import", |store: Store| async move {
        let acme = import_fixture(&store, 10).await;
        let admin = member("admin@acme", &acme);
        let tenant_id = &Owner::Tenant(acme.id.clone());
        let start = (versions(&store, tenant_id).await, count(&store, "audit_log").await);
        // The agent policy comes first in the file; parents are still handled first.
        let incoming = file(&[SUPPORT_BOT, FINANCE_V2, OLD_RULES]);

        let preview = store.import_policies(&admin, tenant_id, &incoming, false, true).await.unwrap();
        assert_eq!(actions(&preview), [("update", "Finance controls"), ("unchanged", "Old rules"), ("create", "Support bot")]);
        let update = &preview[0];
        assert!(update.before.as_deref().is_some_and(|b| !b.contains("payments.transfer")), "{update:?}");
        assert!(update.after.as_deref().is_some_and(|a| a.contains("payments.transfer")), "{update:?}");
        assert_eq!((preview[1].before.as_ref(), preview[1].after.as_ref()), (None, None), "an unchanged policy has no diff");
        assert_eq!((preview[2].scope, preview[2].agent.as_deref(), preview[2].before.as_ref()), (Scope::Agent, Some("support-bot"), None));
        assert_eq!((versions(&store, tenant_id).await, count(&store, "audit_log").await), start, "a dry run writes nothing");

        let applied = store.import_policies(&admin, tenant_id, &incoming, false, false).await.unwrap();
        assert_eq!(applied, preview, "applying does exactly what the preview showed");
        assert_eq!(versions(&store, tenant_id).await, [("Finance controls".to_owned(), 2), ("Old rules".to_owned(), 1), ("Support bot".to_owned(), 1)]);
        let audit: Vec<(String, String)> = store
            .search_audit(&AuditScope::Tenant(acme.id.clone()), Some("policy."), None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.action, e.actor))
            .collect();
        assert_eq!(
            audit[..2],
            [("policy.create".to_owned(), "admin@acme".to_owned()), ("policy.update".to_owned(), "admin@acme".to_owned())],
            "each change is audited"
        );

        let audit_count = count(&store, "audit_log").await;
        let again = store.import_policies(&admin, tenant_id, &incoming, false, false).await.unwrap();
        assert!(again.iter().all(|c| c.action == ImportAction::Unchanged), "{again:?}");
        assert_eq!(count(&store, "audit_log").await, audit_count, "importing the same file again writes nothing");

        // Names match whatever their case; an update may change the case.
        let renamed = FINANCE_V2.replace("Finance controls", "FINANCE Controls");
        let changes = store.import_policies(&admin, tenant_id, &file(&[&renamed]), false, false).await.unwrap();
        assert_eq!(actions(&changes), [("update", "FINANCE Controls")]);
        assert_eq!(store.list_policies(tenant_id).await.unwrap().len(), 3, "no second Finance policy");

        let only_finance = file(&[&renamed]);
        let preview = store.import_policies(&admin, tenant_id, &only_finance, true, true).await.unwrap();
        assert_eq!(actions(&preview), [("delete", "Support bot"), ("delete", "Old rules"), ("unchanged", "FINANCE Controls")], "deletions first");
        assert!(preview[0].before.is_some() && preview[0].after.is_none());
        assert_eq!(store.list_policies(tenant_id).await.unwrap().len(), 3, "a dry run deletes nothing");
        store.import_policies(&admin, tenant_id, &only_finance, true, false).await.unwrap();
        assert_eq!(versions(&store, tenant_id).await, [("FINANCE Controls".to_owned(), 3)]);
        assert_eq!(versions(&store, &Owner::Platform).await, [("Guardrails".to_owned(), 1)], "the platform's policies are not the tenant's to delete");
    })
    .await;
}

#[tokio::test]
async fn one_bad_policy_fails_the_whole_import_and_writes_nothing() {
    each_database("import", |store: Store| async move {
        let acme = import_fixture(&store, 4).await;
        let admin = member("admin@acme", &acme);
        let tenant_id = &Owner::Tenant(acme.id.clone());
        let new_one = "name: New one\nscope: tenant\nrules:\n  - tool: docs.write\n    effect: allow\n";
        let another = "name: Another\nscope: tenant\nrules:\n  - tool: docs.list\n    effect: allow\n";
        let third = "name: Third\nscope: tenant\nrules:\n  - tool: docs.share\n    effect: allow\n";
        let deny_crm = "name: No CRM\nscope: tenant\nrules:\n  - tool: crm.export\n    effect: deny\n";
        let bot_crm = "name: CRM bot\nscope: agent\nagent: crm-bot\nrules:\n  - tool: crm.export\n    effect: allow\n";
        let platform_in_tenant = GUARDRAILS.replace("Guardrails", "Sneaky platform");
        // Each case: what, the file, whether to delete what is missing, the failing policy, the error.
        type Case<'a> = (&'a str, Vec<Policy>, bool, Option<&'a str>, Expect);
        let cases: Vec<Case> = vec![
            ("a grant of what the platform denies", file(&[new_one, SHELL]), false, Some("Shell access"), |e| matches!(e, StoreError::Delegation(_))),
            ("an agent grant of what the tenant policy in the same file denies", file(&[bot_crm, deny_crm]), false, Some("CRM bot"), |e| {
                matches!(e, StoreError::Delegation(_))
            }),
            ("more policies than the quota", file(&[FINANCE_V1, OLD_RULES, new_one, another, third]), false, Some("Third"), |e| {
                matches!(e, StoreError::QuotaExceeded { quota: 4 })
            }),
            ("a platform policy into a tenant", vec![policy(new_one), policy(&platform_in_tenant)], false, Some("Sneaky platform"), |e| {
                matches!(e, StoreError::Invalid { field: "scope", .. })
            }),
            ("a name twice in the file, in any case", file(&[new_one, &new_one.replace("New one", "NEW ONE")]), false, None, |e| {
                matches!(e, StoreError::Invalid { field: "policies", .. })
            }),
            ("deletions first, then a bad policy", file(&[SHELL]), true, Some("Shell access"), |e| matches!(e, StoreError::Delegation(_))),
        ];
        let start = (versions(&store, tenant_id).await, count(&store, "audit_log").await);
        for (what, incoming, delete_missing, failing, expected) in cases {
            for dry_run in [true, false] {
                let err = store.import_policies(&admin, tenant_id, &incoming, delete_missing, dry_run).await.unwrap_err();
                match (failing, &err) {
                    (Some(name), StoreError::InPolicy { name: got, source }) => {
                        assert_eq!(got, name, "{what}: the error names the policy");
                        assert!(expected(source), "{what}: {err}");
                    }
                    (None, err) => assert!(expected(err), "{what}: {err}"),
                    (Some(_), err) => panic!("{what}: expected an error in a policy, got {err}"),
                }
                assert_eq!((versions(&store, tenant_id).await, count(&store, "audit_log").await), start, "{what} (dry run {dry_run}): nothing is written");
            }
        }
        // The agent grant alone, without the tenant deny, is fine: the failure above came from the
        // tenant policy in the same file.
        store.import_policies(&admin, tenant_id, &file(&[bot_crm]), false, true).await.unwrap();
        // Deleting what is missing frees quota for what the file adds.
        let replaced = store.import_policies(&admin, tenant_id, &file(&[new_one, another, FINANCE_V1]), true, false).await.unwrap();
        assert_eq!(actions(&replaced), [("delete", "Old rules"), ("create", "New one"), ("create", "Another"), ("unchanged", "Finance controls")]);
        assert_eq!(versions(&store, tenant_id).await, [("Another".to_owned(), 1), ("Finance controls".to_owned(), 1), ("New one".to_owned(), 1)]);
    })
    .await;
}

#[tokio::test]
async fn the_platform_imports_platform_policies_only() {
    each_database("import", |store: Store| async move {
        let acme = import_fixture(&store, 10).await;
        let owner = staff("owner@platform");
        let err = store.import_policies(&owner, &Owner::Platform, &file(&[FINANCE_V1]), false, false).await.unwrap_err();
        assert!(matches!(&err, StoreError::InPolicy { name, source } if name == "Finance controls" && matches!(**source, StoreError::Invalid { field: "scope", .. })), "{err}");

        let stricter = "name: Guardrails\nscope: platform\nrules:\n  - tool: \"system.*\"\n    effect: deny\n  - tool: \"*.bulk_delete\"\n    effect: deny\n";
        let mail = "name: Mail limits\nscope: platform\nrules:\n  - tool: email.send\n    rate_limit: { calls: 10, per: 1m, per_key: agent }\n";
        let changes = store.import_policies(&owner, &Owner::Platform, &file(&[stricter, mail]), false, false).await.unwrap();
        assert_eq!(actions(&changes), [("update", "Guardrails"), ("create", "Mail limits")]);
        assert_eq!(versions(&store, &Owner::Platform).await, [("Guardrails".to_owned(), 2), ("Mail limits".to_owned(), 1)]);
        assert_eq!(versions(&store, &Owner::Tenant(acme.id.clone())).await.len(), 2, "a platform import leaves tenants alone");
        let audit = store.search_audit(&AuditScope::Platform, Some("policy."), None, 10).await.unwrap();
        assert!(audit.iter().take(2).all(|e| e.tenant_id.is_none() && e.actor == "owner@platform"), "{audit:?}");
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Audit search
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_audit_search_scopes_filters_by_action_and_pages_by_cursor() {
    each_database("audit", |store: Store| async move {
        let owner = staff("owner@platform");
        let acme = tenant(&store, "acme", "Acme Corp", 100).await;
        let zeta = tenant(&store, "zeta", "Zeta Ltd", 100).await;
        let open = |name: &str| policy(&format!("name: {name}\nscope: tenant\nrules:\n  - tool: docs.read\n    effect: allow\n"));
        // In order: (action, tenant).
        store.create_policy(&owner, &Owner::Platform, &policy(GUARDRAILS)).await.unwrap();
        let (acme_policy, _) = store.create_policy(&member("admin@acme", &acme), &Owner::Tenant(acme.id.clone()), &open("Acme docs")).await.unwrap();
        store.create_policy(&member("admin@zeta", &zeta), &Owner::Tenant(zeta.id.clone()), &open("Zeta docs")).await.unwrap();
        store.update_policy(&member("admin@acme", &acme), &Owner::Tenant(acme.id.clone()), &acme_policy.id, 1, &open("Acme docs v2")).await.unwrap();
        store.set_policy_quota(&owner, &acme.id, 50).await.unwrap();
        let (kind, tools) = tools_of(MCP);
        store.add_tool_source(&owner, "Workspace", kind, &tools, true).await.unwrap();
        store
            .delete_policy(
                &member("admin@zeta", &zeta),
                &Owner::Tenant(zeta.id.clone()),
                &store.list_policies(&Owner::Tenant(zeta.id.clone())).await.unwrap()[0].id,
                None,
            )
            .await
            .unwrap();
        let a = Some(acme.id.clone());
        let z = Some(zeta.id.clone());
        let written: Vec<(&str, Option<TenantId>)> = vec![
            ("policy.create", None),
            ("policy.create", a.clone()),
            ("policy.create", z.clone()),
            ("policy.update", a.clone()),
            ("tenant.quota", a.clone()),
            ("tool_source.create", None),
            ("policy.delete", z.clone()),
        ];
        let newest_first = |keep: &dyn Fn(&str, &Option<TenantId>) -> bool| -> Vec<(String, Option<TenantId>)> {
            written.iter().rev().filter(|(action, tenant)| keep(action, tenant)).map(|(action, tenant)| ((*action).to_owned(), tenant.clone())).collect()
        };
        type Check<'a> = (&'a str, AuditScope, Option<&'a str>, Vec<(String, Option<TenantId>)>);
        let checks: Vec<Check> = vec![
            ("everything", AuditScope::Everything, None, newest_first(&|_, _| true)),
            ("the platform's own", AuditScope::Platform, None, newest_first(&|_, t| t.is_none())),
            ("one tenant's", AuditScope::Tenant(acme.id.clone()), None, newest_first(&|_, t| *t == a)),
            ("another tenant's", AuditScope::Tenant(zeta.id.clone()), None, newest_first(&|_, t| *t == z)),
            ("an unknown tenant's", AuditScope::Tenant("no-such-tenant".into()), None, vec![]),
            ("policy actions", AuditScope::Everything, Some("policy."), newest_first(&|action, _| action.starts_with("policy."))),
            (
                "policy actions of one tenant",
                AuditScope::Tenant(acme.id.clone()),
                Some("policy."),
                newest_first(&|action, t| action.starts_with("policy.") && *t == a),
            ),
            ("tool actions of the platform", AuditScope::Platform, Some("tool"), newest_first(&|action, t| action.starts_with("tool") && t.is_none())),
            ("a prefix with surrounding blanks", AuditScope::Everything, Some("  tenant. "), newest_first(&|action, _| action == "tenant.quota")),
            ("`_` in a prefix matches only `_`", AuditScope::Everything, Some("policy_"), vec![]),
            ("`%` in a prefix matches only `%`", AuditScope::Everything, Some("%create"), vec![]),
            ("a blank prefix is no filter", AuditScope::Everything, Some("  "), newest_first(&|_, _| true)),
        ];
        for (what, scope, prefix, expected) in checks {
            let got: Vec<(String, Option<TenantId>)> =
                store.search_audit(&scope, prefix, None, 100).await.unwrap().into_iter().map(|e| (e.action, e.tenant_id)).collect();
            assert_eq!(got, expected, "{what}");
        }

        // Pages of two, each starting after the last id of the one before, visit every entry once.
        let all = store.search_audit(&AuditScope::Everything, None, None, 100).await.unwrap();
        let mut walked = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = store.search_audit(&AuditScope::Everything, None, cursor.as_deref(), 2).await.unwrap();
            assert!(page.len() <= 2);
            let Some(last) = page.last() else { break };
            cursor = Some(last.id.to_string());
            walked.extend(page);
        }
        assert_eq!(walked, all);
        // A cursor works together with a scope and a prefix.
        let tenant_policy = store.search_audit(&AuditScope::Tenant(acme.id.clone()), Some("policy."), None, 1).await.unwrap();
        assert_eq!(tenant_policy[0].action, "policy.update");
        let older = store.search_audit(&AuditScope::Tenant(acme.id.clone()), Some("policy."), Some(tenant_policy[0].id.as_str()), 10).await.unwrap();
        let older: Vec<&str> = older.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(older, ["policy.create"]);
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Receipts and agents
// ---------------------------------------------------------------------------------------------

fn receipt(tenant: &Tenant, agent: Option<&str>, tool: &str, verdict: Verdict, created_at: i64) -> Receipt {
    Receipt { agent: agent.map(str::to_owned), tool: tool.into(), verdict, ..charter_testkit::receipt(&tenant.id, created_at) }
}

#[tokio::test]
async fn receipts_list_for_one_tenant_or_all_and_agents_count_policies_and_decisions() {
    each_database("receipts", |store: Store| async move {
        let acme = tenant(&store, "acme", "Acme Corp", 100).await;
        let zeta = tenant(&store, "zeta", "Zeta Ltd", 100).await;
        let agent_policy =
            |agent: &str| policy(&format!("name: {agent} rules\nscope: agent\nagent: {agent}\nrules:\n  - tool: \"payments.*\"\n    effect: deny\n"));
        for agent in ["support-bot", "planner"] {
            store.create_policy(&member("admin@acme", &acme), &Owner::Tenant(acme.id.clone()), &agent_policy(agent)).await.unwrap();
        }
        let writer = ReceiptWriter::start(store.clone());
        let written = vec![
            receipt(&acme, Some("support-bot"), "docs.read", Verdict::Allow, 1_000),
            receipt(&zeta, Some("zeta-bot"), "docs.read", Verdict::Allow, 2_000),
            receipt(&acme, Some("support-bot"), "payments.transfer", Verdict::Deny, 3_000),
            receipt(&acme, None, "docs.read", Verdict::Allow, 4_000),
            receipt(&acme, Some("intern"), "expense.submit", Verdict::RequireApproval, 5_000),
        ];
        for r in &written {
            writer.write(r.clone(), None, None).await.unwrap();
        }
        let ids = |list: Vec<Receipt>| list.into_iter().map(|r| r.id).collect::<Vec<_>>();
        let newest_first = |keep: &dyn Fn(&Receipt) -> bool| written.iter().rev().filter(|r| keep(r)).map(|r| r.id.clone()).collect::<Vec<_>>();
        let any = ReceiptFilter::default();
        let unknown = TenantId::new("no-such-tenant");
        type Check<'a> = (&'a str, Option<&'a TenantId>, ReceiptFilter, i64, Vec<ReceiptId>);
        let checks: Vec<Check> = vec![
            ("every tenant's", None, any.clone(), 100, newest_first(&|_| true)),
            ("one tenant's", Some(&acme.id), any.clone(), 100, newest_first(&|r| r.tenant_id == acme.id)),
            ("another tenant's", Some(&zeta.id), any.clone(), 100, newest_first(&|r| r.tenant_id == zeta.id)),
            ("an unknown tenant's", Some(&unknown), any.clone(), 100, vec![]),
            ("every tenant's, limited", None, any.clone(), 2, newest_first(&|_| true)[..2].to_vec()),
            (
                "every tenant's allows",
                None,
                ReceiptFilter { verdict: Some(Verdict::Allow), ..any.clone() },
                100,
                newest_first(&|r| r.verdict == Verdict::Allow),
            ),
            (
                "every tenant's calls of one tool",
                None,
                ReceiptFilter { tool: Some("docs.read".into()), ..any.clone() },
                100,
                newest_first(&|r| r.tool == "docs.read"),
            ),
            (
                "every tenant's in a time range",
                None,
                ReceiptFilter { from_ms: Some(2_000), to_ms: Some(4_000), ..any.clone() },
                100,
                newest_first(&|r| (2_000..4_000).contains(&r.created_at)),
            ),
            (
                "one tenant's agent",
                Some(&acme.id),
                ReceiptFilter { agent: Some("support-bot".into()), ..any.clone() },
                100,
                newest_first(&|r| r.agent.as_deref() == Some("support-bot")),
            ),
            (
                "every tenant's before a cursor",
                None,
                ReceiptFilter { before: Some(written[2].id.clone()), ..any.clone() },
                100,
                vec![written[1].id.clone(), written[0].id.clone()],
            ),
        ];
        for (what, tenant_id, filter, limit, expected) in checks {
            let scope = match tenant_id {
                Some(tenant_id) => ReceiptScope::Tenant(tenant_id.to_owned()),
                None => ReceiptScope::AllTenants,
            };
            assert_eq!(ids(store.list_receipts(&scope, &filter, limit).await.unwrap()), expected, "{what}");
        }
        assert_eq!(store.list_receipts(&ReceiptScope::AllTenants, &any, 100).await.unwrap()[0], written[4], "a receipt reads back whole");

        let agents: Vec<(String, i64, i64, Option<i64>)> =
            store.list_agents(&acme.id).await.unwrap().into_iter().map(|a| (a.name, a.policies, a.decisions, a.last_decision_at)).collect();
        assert_eq!(
            agents,
            [("intern".to_owned(), 0, 1, Some(5_000)), ("planner".to_owned(), 1, 0, None), ("support-bot".to_owned(), 1, 2, Some(3_000)),],
            "agents by name, from policies and decisions; calls without an agent are no agent"
        );
        let agents: Vec<(String, i64, i64, Option<i64>)> =
            store.list_agents(&zeta.id).await.unwrap().into_iter().map(|a| (a.name, a.policies, a.decisions, a.last_decision_at)).collect();
        assert_eq!(agents, [("zeta-bot".to_owned(), 0, 1, Some(2_000))], "another tenant's agents are its own");
        assert!(store.list_agents(&"no-such-tenant".into()).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn the_audit_lists_do_not_depend_on_the_databases_collation() {
    each_database("audit", |store: Store| async move {
        if store.backend() == charter_store::Backend::Postgres {
            // Many PostgreSQL installations default to an `en_US` collation, in which `~` sorts
            // before digits. Give the audit ids such a collation, where the server has ICU.
            let icu: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_collation WHERE collname = 'en-US-x-icu'").fetch_one(store.pool()).await.unwrap();
            if icu == 1 {
                sqlx::query(r#"ALTER TABLE audit_log ALTER COLUMN id TYPE TEXT COLLATE "en-US-x-icu""#).execute(store.pool()).await.unwrap();
            } else {
                eprintln!("PostgreSQL has no ICU `en-US` collation; this test checks the server's default collation only");
            }
        }
        let owner = staff("owner@platform");
        let acme = tenant(&store, "acme", "Acme Corp", 100).await;
        store.create_policy(&owner, &Owner::Platform, &policy(GUARDRAILS)).await.unwrap();
        store.create_policy(&member("admin@acme", &acme), &Owner::Tenant(acme.id.clone()), &policy(FINANCE_V1)).await.unwrap();
        store.create_policy(&member("admin@acme", &acme), &Owner::Tenant(acme.id.clone()), &policy(OLD_RULES)).await.unwrap();

        let everything = store.search_audit(&AuditScope::Everything, None, None, 10).await.unwrap();
        assert_eq!(everything.len(), 3, "the newest entries, without a cursor");
        assert_eq!(store.search_audit(&AuditScope::Platform, Some("policy."), None, 10).await.unwrap().len(), 1);
        assert_eq!(store.search_audit(&AuditScope::Tenant(acme.id.clone()), None, None, 10).await.unwrap().len(), 2);
        assert_eq!(store.search_audit(&AuditScope::Platform, None, None, 10).await.unwrap().len(), 1);
        let older = store.search_audit(&AuditScope::Everything, None, Some(everything[0].id.as_str()), 10).await.unwrap();
        assert_eq!(older, everything[1..], "a cursor still pages");
    })
    .await;
}
