//! A recorded week for a fresh demo: each demo tenant's admin makes a "Demo traffic" API key, and
//! its agents' calls of the past seven days are decided and recorded through the very path an
//! agent's call takes (policies, counters, masking, approvals, receipts, the dashboards' counts),
//! each at its own moment of the week. Then the approvers resolve some of the requests still open:
//! a demo shows approvals pending, approved and rejected, and some that expired unanswered.

use charter_core::{Access, Core, Target};
use charter_store::{now_ms, ApprovalStatus, Resolution};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::task::JoinSet;

use super::calls::{awaiting_approval, draw, moment_in_week};
use super::TENANTS;

/// How many calls of the week each demo tenant's agents made.
const CALLS_PER_TENANT: [(&str, usize); 3] = [("meridian-bank", 900), ("rocketlane", 500), ("st-aurelia-health", 600)];

/// How many decisions are asked at once: enough for the receipt writer to commit them in batches.
const AT_ONCE: usize = 32;

/// What the recorded week holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Week {
    pub decisions: usize,
    pub approvals_resolved: usize,
}

/// Records the week. The demo's people must exist with `password` (a fresh demo).
pub async fn record_week(core: &Core, password: &str) -> Result<Week, String> {
    // The same week on every fresh demo: what a screenshot or a walkthrough shows is reproducible.
    let mut rng = StdRng::seed_from_u64(0x00c4_a47e);
    let now = now_ms();
    let mut week = Week::default();
    for (slug, count) in CALLS_PER_TENANT {
        let demo = TENANTS.iter().find(|demo| demo.slug == slug).ok_or_else(|| format!("`{slug}` is not a demo tenant"))?;
        let admin = demo.people.iter().find(|person| person.2 == charter_store::Role::TenantAdmin).ok_or_else(|| format!("`{slug}` has no admin"))?;
        let admin = signed_in(core, admin.0, password).await?;
        let key = core
            .create_key(&admin, Target::Own, "Demo traffic", &[], Some(&["decide".to_owned()]))
            .await
            .map_err(|err| format!("creating {slug}'s demo traffic key: {err}"))?;
        let agents = core.access_for_key(&key.secret).await.map_err(|err| err.to_string())?;

        let mut calls: Vec<(i64, charter_core::DecideInput)> =
            (0..count).filter_map(|_| draw(slug, &mut rng).map(|input| (moment_in_week(now, &mut rng), input))).collect();
        // Whatever day the demo starts on, a request asked twenty minutes ago waits for its approver.
        calls.extend(awaiting_approval(slug).map(|input| (now - 20 * 60_000, input)));
        calls.sort_by_key(|(at, _)| *at);
        for chunk in calls.chunks(AT_ONCE) {
            let mut decisions = JoinSet::new();
            for (at, input) in chunk.iter().cloned() {
                let (core, agents) = (core.clone(), agents.clone());
                decisions.spawn(async move { core.decide_as_of(&agents, input, at).await });
            }
            while let Some(decided) = decisions.join_next().await {
                decided.map_err(|err| err.to_string())?.map_err(|err| format!("recording {slug}'s week: {err}"))?;
                week.decisions += 1;
            }
        }
        week.approvals_resolved += resolve_some(core, demo, &admin, password, now).await?;
    }
    Ok(week)
}

async fn signed_in(core: &Core, username: &str, password: &str) -> Result<Access, String> {
    let user = core.sign_in(username, password).await.map_err(|err| err.to_string())?.ok_or_else(|| format!("`{username}` cannot sign in"))?;
    Access::for_user(&user).map_err(|err| err.to_string())
}

/// Of the requests still open, the newest third stay pending; of the others the approvers reject
/// one in four and approve the rest. Requests older than a day have expired unanswered. Returns how
/// many were resolved.
async fn resolve_some(core: &Core, demo: &super::DemoTenant, admin: &Access, password: &str, now: i64) -> Result<usize, String> {
    let mut approvers = Vec::new();
    for (username, _, _, roles) in demo.people.iter().filter(|person| !person.3.is_empty()) {
        approvers.push((signed_in(core, username, password).await?, *roles));
    }
    let mut open: Vec<_> = core
        .list_approvals(admin, Target::Own, true, 500)
        .await
        .map_err(|err| err.to_string())?
        .into_iter()
        .filter(|approval| approval.status == ApprovalStatus::Pending && approval.expires_at > now)
        .collect();
    open.sort_by_key(|approval| approval.requested_at);
    let answered = open.len() - open.len().div_ceil(3);
    let mut resolved = 0;
    for (index, approval) in open.iter().take(answered).enumerate() {
        let asked: Vec<String> = serde_json::from_str(&approval.approvers).unwrap_or_default();
        let resolution = if index % 4 == 1 { Resolution::Reject } else { Resolution::Approve };
        let mut voted = false;
        for (access, roles) in &approvers {
            if roles.iter().any(|role| asked.iter().any(|asked| asked == role)) {
                let comment = (resolution == Resolution::Reject).then(|| "not this quarter".to_owned());
                core.resolve_approval(access, Target::Own, &approval.id, resolution, comment).await.map_err(|err| err.to_string())?;
                voted = true;
                if resolution == Resolution::Reject {
                    break;
                }
            }
        }
        resolved += usize::from(voted);
    }
    Ok(resolved)
}
