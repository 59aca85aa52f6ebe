//! Demo data for a first start: the platform owner, a support user and three tenants drawn from the
//! product's problem statement — a bank with strict limits and approvals, a loose startup, and a
//! hospital that must mask PHI.

pub mod calls;
pub mod traffic;
pub mod week;

use charter_policy::{DefaultBehaviour, PlatformSettings, Policy};
use charter_store::{Actor, NewTenant, NewUser, Owner, Promotion, Role, Store, StoreError, TenantId};

/// A login to print for the person starting the demo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoLogin {
    pub who: String,
    pub username: String,
}

/// The demo's policies, YAML in `server/demo/`: the same language tenants write.
const PLATFORM_POLICY: &str = include_str!("../../demo/platform-guardrails.yaml");

/// The demo's tool catalog: an OpenAPI document and an MCP `tools/list` answer, with the tools
/// the platform keeps switched off.
const SOURCES: &[(&str, &str)] =
    &[("Finance API", include_str!("../../demo/finance-api.openapi.yaml")), ("Workspace tools (MCP)", include_str!("../../demo/workspace-tools.mcp.json"))];
const DISABLED_TOOLS: &[&str] = &["system.exec", "crm.export"];

struct DemoTenant {
    policies: &'static [&'static str],
    slug: &'static str,
    name: &'static str,
    plan: &'static str,
    quota: i64,
    people: &'static [(&'static str, &'static str, Role, &'static [&'static str])],
}

const PLATFORM_PEOPLE: &[(&str, &str, Role)] =
    &[("owner@charter.example", "Platform Owner", Role::PlatformAdmin), ("support@charter.example", "Sasha Support", Role::Support)];

const TENANTS: &[DemoTenant] = &[
    DemoTenant {
        policies: &[include_str!("../../demo/meridian-bank.yaml"), include_str!("../../demo/meridian-support-bot.yaml")],
        slug: "meridian-bank",
        name: "First Meridian Bank",
        plan: "enterprise",
        quota: 250,
        people: &[
            ("admin@meridian-bank.example", "Maya Chen", Role::TenantAdmin, &[]),
            ("manager@meridian-bank.example", "Omar Haddad", Role::TenantMember, &["manager"]),
            ("cfo@meridian-bank.example", "Grace Lin", Role::TenantMember, &["cfo"]),
        ],
    },
    DemoTenant {
        policies: &[include_str!("../../demo/rocketlane.yaml")],
        slug: "rocketlane",
        name: "Rocketlane Labs",
        plan: "startup",
        quota: 100,
        people: &[("admin@rocketlane.example", "Sam Rivera", Role::TenantAdmin, &[])],
    },
    DemoTenant {
        policies: &[include_str!("../../demo/st-aurelia-health.yaml")],
        slug: "st-aurelia-health",
        name: "St. Aurelia Health",
        plan: "healthcare",
        quota: 100,
        people: &[
            ("admin@st-aurelia.example", "Dr. Priya Nair", Role::TenantAdmin, &[]),
            ("privacy@st-aurelia.example", "Jonas Berg", Role::TenantMember, &["privacy_officer"]),
        ],
    },
];

/// Seeds the demo into an empty database and returns its logins; does nothing (and returns
/// `None`) when any user exists, so a restart never duplicates or resets data.
pub async fn seed_if_empty(store: &Store, password: &str) -> Result<Option<Vec<DemoLogin>>, StoreError> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let system = Actor::system();
    // Fail closed: a call no rule decides is denied. Tenants allow what they need.
    store.set_platform_settings(&system, &PlatformSettings { default: DefaultBehaviour::Deny, enabled_tools: None }).await?;
    store.create_policy(&system, &Owner::Platform, &demo_policy(PLATFORM_POLICY)?).await?;
    // Platform edits are a draft until published and promoted: the demo runs them everywhere.
    let release = store.publish_release(&system, "the demo's platform boundaries").await?;
    store.promote_release(&system, release.number, &Promotion::All).await?;
    seed_catalog(store, &system).await?;
    let mut logins = Vec::new();
    for (username, name, role) in PLATFORM_PEOPLE {
        store.create_user(person(username, name, *role, None, &[], password)).await?;
        logins.push(DemoLogin { who: format!("{} ({})", name, role.label()), username: (*username).to_owned() });
    }
    for demo in TENANTS {
        let tenant =
            store.create_tenant(NewTenant { slug: demo.slug.into(), name: demo.name.into(), plan: demo.plan.into(), policy_quota: Some(demo.quota) }).await?;
        for text in demo.policies {
            store.create_policy(&system, &Owner::Tenant(tenant.id.clone()), &demo_policy(text)?).await?;
        }
        for (username, name, role, approves) in demo.people {
            store.create_user(person(username, name, *role, Some(&tenant.id), approves, password)).await?;
            let approves = if approves.is_empty() { String::new() } else { format!(", approves as {}", approves.join(", ")) };
            logins.push(DemoLogin { who: format!("{name} ({} of {}{approves})", role.label(), demo.name), username: (*username).to_owned() });
        }
    }
    Ok(Some(logins))
}

async fn seed_catalog(store: &Store, system: &Actor) -> Result<(), StoreError> {
    use charter_policy::{detect_source_kind, extract_tools};
    for (name, document) in SOURCES {
        let corrupt = |err: charter_policy::CatalogError| StoreError::Corrupt(format!("demo source `{name}`: {err}"));
        let kind = detect_source_kind(document).map_err(corrupt)?;
        let tools = extract_tools(kind, document).map_err(corrupt)?;
        store.add_tool_source(system, name, kind, &tools, true).await?;
    }
    for tool in store.list_catalog(None).await? {
        if DISABLED_TOOLS.contains(&tool.name.as_str()) {
            store.set_tool_enabled(system, &tool.id, false).await?;
        }
    }
    Ok(())
}

fn demo_policy(text: &str) -> Result<Policy, StoreError> {
    Policy::from_yaml(text).map_err(|err| StoreError::Corrupt(format!("demo policy: {err}")))
}

fn person(username: &str, name: &str, role: Role, tenant_id: Option<&TenantId>, approves: &[&str], password: &str) -> NewUser {
    NewUser {
        username: username.to_owned(),
        display_name: name.to_owned(),
        password: password.to_owned(),
        role,
        tenant_id: tenant_id.cloned(),
        approver_roles: approves.iter().map(|r| (*r).to_owned()).collect(),
    }
}

/// The banner printed at first start.
pub fn login_banner(logins: &[DemoLogin], password: &str, url: &str) -> String {
    let mut banner = format!("\n  Charter demo data created. Open {url} and sign in as any of these (password: {password}):\n\n");
    for login in logins {
        banner.push_str(&format!("    {:<34} {}\n", login.username, login.who));
    }
    banner.push_str("\n  Set CHARTER_DEMO_PASSWORD before the first start to choose another password.\n");
    banner
}
