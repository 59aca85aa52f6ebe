//! Tool exposure through the real router: the platform exposes a tool to every tenant or to chosen
//! tenants and plans, a tenant's admin switches off for their tenant what the platform exposes to
//! it (never switches on what it does not), and decisions and Charter's own MCP tools follow at
//! once. Charter's policy tools are the catalog's "Charter policy tools" source. Bad input and
//! other tenants. SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;

use api_support::*;
use axum::http::StatusCode;
use serde_json::{json, Value};

const CRM: &str = r#"{"tools": [
  {"name": "crm.read", "description": "Read a customer record"},
  {"name": "crm.delete", "description": "Delete a customer record"}
]}"#;

async fn catalog(api: &Api, session: &Auth) -> Value {
    console(api, session, "tools/catalog", &[]).await.expect(StatusCode::OK)
}

/// The catalog id of the tool `name`, as platform staff see it.
async fn tool_id(api: &Api, owner: &Auth, name: &str) -> String {
    let view = catalog(api, owner).await;
    view["tools"].as_array().unwrap().iter().find(|tool| tool["name"] == name).unwrap_or_else(|| panic!("{name} in {view}"))["id"].as_str().unwrap().to_owned()
}

/// Exposes a tool as the exposure popover posts it: one `tenants[]` per tenant ticked, the plans
/// separated by commas.
async fn expose(api: &Api, owner: &Auth, id: &str, everyone: bool, tenants: &[&str], plans: &[&str]) -> Reply {
    let (everyone, plans) = (everyone.to_string(), plans.join(", "));
    let mut pairs = vec![("id", id), ("everyone", everyone.as_str()), ("plans", plans.as_str())];
    pairs.extend(tenants.iter().map(|tenant| ("tenants[]", *tenant)));
    console(api, owner, "tools/expose", &pairs).await
}

async fn verdict(api: &Api, key: &Auth, tool: &str) -> Value {
    api.decide(key, json!({ "tool": tool })).await
}

#[tokio::test]
async fn the_platform_exposes_tools_to_chosen_tenants_and_tenants_switch_off_their_own() {
    each_database(|api| async move {
        let owner = api.sign_in(OWNER).await;
        let added = console(&api, &owner, "tools/add_source", &[("name", "CRM"), ("document", CRM), ("enabled", "true")]).await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.body);
        for admin in [BANK_ADMIN, STARTUP_ADMIN, HOSPITAL_ADMIN] {
            let session = api.sign_in(admin).await;
            api.create_policy(&session, &allow_policy("CRM", &["crm.read", "crm.delete"])).await;
        }
        let (bank, startup, hospital) = (api.tenant_key(BANK_ADMIN).await, api.tenant_key(STARTUP_ADMIN).await, api.tenant_key(HOSPITAL_ADMIN).await);
        assert_eq!(verdict(&api, &startup, "crm.delete").await["decision"], "allow");

        // crm.delete for the bank by name and for the healthcare plan; nobody else.
        let delete = tool_id(&api, &owner, "crm.delete").await;
        let exposed = expose(&api, &owner, &delete, false, &["meridian-bank"], &["healthcare"]).await.expect(StatusCode::OK);
        assert_eq!(exposed["exposure"]["to"], "chosen", "{exposed}");
        assert_eq!(verdict(&api, &bank, "crm.delete").await["decision"], "allow");
        assert_eq!(verdict(&api, &hospital, "crm.delete").await["decision"], "allow", "on the healthcare plan");
        let refused = verdict(&api, &startup, "crm.delete").await;
        assert_eq!(refused["decision"], "deny", "{refused}");
        assert!(refused["reason"].as_str().unwrap().contains("not enabled"), "{refused}");
        // The startup's admin does not see it, and cannot switch it on.
        let startup_admin = api.sign_in(STARTUP_ADMIN).await;
        let theirs = catalog(&api, &startup_admin).await;
        let names: Vec<&str> = theirs["own"].as_array().unwrap().iter().map(|tool| tool["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"crm.read") && !names.contains(&"crm.delete"), "{names:?}");
        assert!(theirs["tools"].as_array().unwrap().is_empty(), "whom else the platform exposes to is not theirs to see");
        assert_eq!(console(&api, &startup_admin, "tools/switch", &[("tool", "crm.delete"), ("on", "true")]).await.status, StatusCode::NOT_FOUND);

        // The bank's admin switches crm.read off for the bank: denied there, nowhere else; then on again.
        let bank_admin = api.sign_in(BANK_ADMIN).await;
        let off = console(&api, &bank_admin, "tools/switch", &[("tool", "crm.read"), ("on", "false")]).await.expect(StatusCode::OK);
        assert_eq!(off["on"], false);
        assert_eq!(verdict(&api, &bank, "crm.read").await["decision"], "deny");
        assert_eq!(verdict(&api, &startup, "crm.read").await["decision"], "allow");
        let listed = catalog(&api, &bank_admin).await;
        let read = listed["own"].as_array().unwrap().iter().find(|tool| tool["name"] == "crm.read").unwrap().clone();
        assert_eq!(read["on"], false, "{read}");
        assert_eq!(read["exposure"]["to"], "everyone", "a tenant is not told whom else a tool goes to");
        console(&api, &bank_admin, "tools/switch", &[("tool", "crm.read"), ("on", "true")]).await.expect(StatusCode::OK);
        assert_eq!(verdict(&api, &bank, "crm.read").await["decision"], "allow");
        let audit = api.audit(&bank_admin).await;
        for action in ["tool.switch_off", "tool.switch_on"] {
            assert!(audit.iter().any(|entry| entry["action"] == action && entry["actor"] == BANK_ADMIN), "{action} in {audit:?}");
        }

        // Back to everyone: the startup has it again.
        expose(&api, &owner, &delete, true, &[], &[]).await.expect(StatusCode::OK);
        assert_eq!(verdict(&api, &startup, "crm.delete").await["decision"], "allow");
        let exposures: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'tool.expose' AND tenant_id IS NULL").fetch_one(api.store.pool()).await.unwrap();
        assert_eq!(exposures, 2, "each exposure change is audited as the platform's");
    })
    .await;
}

#[tokio::test]
async fn who_may_change_exposure_and_bad_input_is_named() {
    each_database(|api| async move {
        let owner = api.sign_in(OWNER).await;
        console(&api, &owner, "tools/add_source", &[("name", "CRM"), ("document", CRM), ("enabled", "true")]).await.expect(StatusCode::OK);
        let delete = tool_id(&api, &owner, "crm.delete").await;
        for (tenants, plans, field, words) in
            [(vec!["no-such-tenant"], vec![], "tenants[0]", "not a tenant"), (vec![], vec![" "], "tenants", "at least one tenant or plan")]
        {
            let refused = expose(&api, &owner, &delete, false, &tenants, &plans).await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
            assert!(refused.body.contains(words) && refused.body.contains(field.split('[').next().unwrap()), "{}", refused.body);
        }
        assert_eq!(expose(&api, &owner, NO_SUCH_ID, true, &[], &[]).await.status, StatusCode::NOT_FOUND);
        for (who, status) in [(SUPPORT, StatusCode::FORBIDDEN), (BANK_ADMIN, StatusCode::FORBIDDEN)] {
            let session = api.sign_in(who).await;
            assert_eq!(expose(&api, &session, &delete, false, &["rocketlane"], &[]).await.status, status, "{who}");
        }
        // Switching is a tenant admin's: support and approvers may not, and an unknown tool is not found.
        for (who, status) in [(SUPPORT, StatusCode::FORBIDDEN), (BANK_MANAGER, StatusCode::FORBIDDEN), (BANK_ADMIN, StatusCode::NOT_FOUND)] {
            let session = api.sign_in(who).await;
            let reply = console(&api, &session, "tools/switch", &[("tool", "no.such.tool"), ("on", "false")]).await;
            assert_eq!(reply.status, status, "{who}: {}", reply.body);
        }
        // Charter's own names are not for imported tools.
        let ours = console(
            &api,
            &owner,
            "tools/add_source",
            &[("name", "Impostor"), ("document", r#"{"tools": [{"name": "charter.create_policy"}]}"#), ("enabled", "true")],
        )
        .await;
        assert_eq!(ours.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", ours.body);
        assert!(ours.body.contains("Charter"), "{}", ours.body);
        let view = catalog(&api, &owner).await;
        assert!(
            !view["tools"].as_array().unwrap().iter().any(|tool| tool["name"] == "charter.create_policy" && tool["description"] == ""),
            "nothing was imported"
        );
    })
    .await;
}

#[tokio::test]
async fn charter_policy_tools_are_a_catalog_source_that_mcp_follows() {
    each_database(|api| async move {
        let bank = api.tenant_key(BANK_ADMIN).await;
        let startup = api.tenant_key(STARTUP_ADMIN).await;
        // The first MCP request puts them in the catalog (the server does at start).
        assert!(mcp_tools(&api, &bank).await.contains(&"create_policy".to_owned()));
        let owner = api.sign_in(OWNER).await;
        let view = catalog(&api, &owner).await;
        let source = view["sources"].as_array().unwrap().iter().find(|source| source["name"] == "Charter policy tools").expect("the source is listed").clone();
        assert_eq!(source["builtin"], true);
        assert_eq!(source["tool_count"], source["enabled_count"]);
        assert!(source["tool_count"].as_i64().unwrap() >= 12, "{source}");
        // It cannot be removed, and it is not a catalog of agents' tools: every other tool stays allowed.
        let removed = console(&api, &owner, "tools/delete_source", &[("id", source["id"].as_str().unwrap())]).await;
        assert_eq!(removed.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", removed.body);
        api.create_policy(&api.sign_in(BANK_ADMIN).await, &allow_policy("Docs", &["docs.read"])).await;
        assert_eq!(api.decide(&bank, json!({ "tool": "docs.read" })).await["decision"], "allow");

        // The platform switches create_policy off: absent from tools/list, refused on tools/call.
        let create = tool_id(&api, &owner, "charter.create_policy").await;
        console(&api, &owner, "tools/toggle", &[("id", &create), ("enabled", "false")]).await.expect(StatusCode::OK);
        assert!(!mcp_tools(&api, &bank).await.contains(&"create_policy".to_owned()));
        let call = rpc(&api, &bank, "tools/call", json!({ "name": "create_policy", "arguments": { "document": allow_policy("x", &["a.b"]) } }))
            .await
            .expect(StatusCode::OK);
        assert_eq!(call["error"]["code"], -32602, "{call}");
        assert!(call["error"]["message"].as_str().unwrap().contains("not available to your tenant"), "{call}");
        assert!(api.policies(&api.sign_in(BANK_ADMIN).await).await.iter().all(|policy| policy["name"] != "x"), "nothing was created");

        // what_if for the bank only; the startup's admin switches list_receipts off for the startup.
        let what_if = tool_id(&api, &owner, "charter.what_if").await;
        expose(&api, &owner, &what_if, false, &["meridian-bank"], &[]).await.expect(StatusCode::OK);
        let startup_admin = api.sign_in(STARTUP_ADMIN).await;
        console(&api, &startup_admin, "tools/switch", &[("tool", "charter.list_receipts"), ("on", "false")]).await.expect(StatusCode::OK);
        let (bank_tools, startup_tools) = (mcp_tools(&api, &bank).await, mcp_tools(&api, &startup).await);
        assert!(bank_tools.contains(&"what_if".to_owned()) && bank_tools.contains(&"list_receipts".to_owned()), "{bank_tools:?}");
        assert!(!startup_tools.contains(&"what_if".to_owned()) && !startup_tools.contains(&"list_receipts".to_owned()), "{startup_tools:?}");
        assert!(startup_tools.contains(&"list_policies".to_owned()), "{startup_tools:?}");
        let refused = rpc(&api, &startup, "tools/call", json!({ "name": "list_receipts", "arguments": {} })).await.expect(StatusCode::OK);
        assert_eq!(refused["error"]["code"], -32602, "{refused}");
        // The MCP catalog tool lists the tools agents call, not Charter's own.
        let listed = tool(&api, &bank, "list_catalog_tools", json!({})).await;
        assert!(!text(&listed).contains("charter."), "{listed}");
    })
    .await;
}

async fn mcp_tools(api: &Api, auth: &Auth) -> Vec<String> {
    let listed = rpc(api, auth, "tools/list", json!({})).await.expect(StatusCode::OK);
    listed["result"]["tools"].as_array().unwrap().iter().map(|tool| tool["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn warnings_speak_of_the_tenants_own_tools_and_a_removed_source_takes_its_switches() {
    each_database(|api| async move {
        let owner = api.sign_in(OWNER).await;
        console(&api, &owner, "tools/add_source", &[("name", "CRM"), ("document", CRM), ("enabled", "true")]).await.expect(StatusCode::OK);
        let delete = tool_id(&api, &owner, "crm.delete").await;
        expose(&api, &owner, &delete, false, &["meridian-bank"], &[]).await.expect(StatusCode::OK);
        // A rule naming crm.delete is warned about where the tenant does not have it, and only there:
        // the warning tells nobody whom else the platform exposes it to.
        let naming = allow_policy("Deletes", &["crm.delete"]);
        let warned = |admin: &'static str| {
            let (api, naming) = (api.clone(), naming.clone());
            async move {
                let session = api.sign_in(admin).await;
                let saved = api.create_policy(&session, &naming).await;
                // Warnings are left out of the answer when there are none.
                saved["warnings"]
                    .as_array()
                    .is_some_and(|warnings| warnings.iter().any(|warning| warning["message"].as_str().unwrap_or("").contains("not enabled for this tenant")))
            }
        };
        assert!(warned(STARTUP_ADMIN).await, "the startup does not have crm.delete");
        assert!(!warned(BANK_ADMIN).await, "the bank does");

        // The bank switches crm.read off; the platform removes the source and adds it again: the
        // new tools carry no old switch.
        let bank_admin = api.sign_in(BANK_ADMIN).await;
        console(&api, &bank_admin, "tools/switch", &[("tool", "crm.read"), ("on", "false")]).await.expect(StatusCode::OK);
        let view = catalog(&api, &owner).await;
        let source = view["sources"].as_array().unwrap().iter().find(|source| source["name"] == "CRM").unwrap()["id"].as_str().unwrap().to_owned();
        console(&api, &owner, "tools/delete_source", &[("id", &source)]).await.expect(StatusCode::OK);
        console(&api, &owner, "tools/add_source", &[("name", "CRM"), ("document", CRM), ("enabled", "true")]).await.expect(StatusCode::OK);
        let own = catalog(&api, &bank_admin).await;
        let read = own["own"].as_array().unwrap().iter().find(|tool| tool["name"] == "crm.read").unwrap().clone();
        assert_eq!(read["on"], true, "{read}");
        let switches: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenant_tool_switches").fetch_one(api.store.pool()).await.unwrap();
        assert_eq!(switches, 0);
    })
    .await;
}
