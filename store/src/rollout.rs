//! The types of changing policies safely: platform releases, which one each tenant runs, and each
//! tenant's revisions. Shared with the browser; the database code is in `releases.rs` and
//! `revisions.rs`.

use charter_policy::UnknownName;
use serde::{Deserialize, Serialize};

use crate::ids::TenantId;
use crate::model::PolicyVersion;

/// A published platform release: an immutable snapshot of the platform's policies and settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "db", derive(sqlx::FromRow))]
pub struct ReleaseSummary {
    pub number: i64,
    pub note: String,
    pub published_at: i64,
    pub published_by: String,
    /// How many platform policies it holds.
    pub policies: i64,
}

/// A release with what it holds: every platform policy's version as published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub summary: ReleaseSummary,
    /// The platform settings as published (JSON of the engine's `PlatformSettings`).
    pub settings: String,
    pub policies: Vec<PolicyVersion>,
}

/// Where the platform's rollout stands: the newest release, and the one promoted to all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "db", derive(sqlx::FromRow))]
pub struct Rollout {
    pub latest: i64,
    pub general: i64,
}

/// Why a tenant runs a release other than the general one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PinKind {
    /// A release was promoted to it ahead of the rest; it rejoins the general release when that
    /// release (or a later one) is promoted to all.
    Canary,
    /// A platform admin pinned it (a rollback is a pin to an earlier release); it stays until
    /// unpinned.
    Pinned,
}

impl PinKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PinKind::Canary => "canary",
            PinKind::Pinned => "pinned",
        }
    }

    pub fn parse(name: &str) -> Option<PinKind> {
        [PinKind::Canary, PinKind::Pinned].into_iter().find(|kind| kind.as_str() == name)
    }
}

impl TryFrom<String> for PinKind {
    type Error = UnknownName;

    fn try_from(name: String) -> Result<PinKind, UnknownName> {
        PinKind::parse(&name).ok_or(UnknownName { kind: "release pin", name })
    }
}

/// A release pin: which release, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasePin {
    pub release: i64,
    pub kind: PinKind,
}

/// Which platform release a tenant runs, and which of its own revisions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRollout {
    pub tenant_id: TenantId,
    pub slug: String,
    pub name: String,
    /// `None`: it follows the general release.
    pub release_pin: Option<ReleasePin>,
    /// The release it runs: its pin's, or the general one.
    pub release: i64,
    /// Its newest revision.
    pub latest_revision: i64,
    /// `None`: it runs its newest revision.
    pub revision_pin: Option<i64>,
    /// The platform release (or draft) a platform admin runs in shadow for it.
    pub shadow_release: Option<ReleaseChoice>,
    /// The revision of its own policies it runs in shadow.
    pub shadow_revision: Option<i64>,
}

impl TenantRollout {
    /// The revision of its own policies it runs.
    pub fn revision(&self) -> i64 {
        self.revision_pin.unwrap_or(self.latest_revision)
    }

    /// What runs in shadow beside what it enforces, if anything.
    pub fn shadow(&self) -> Option<Selection> {
        (self.shadow_release.is_some() || self.shadow_revision.is_some()).then_some(Selection { release: self.shadow_release, revision: self.shadow_revision })
    }
}

/// A candidate in words: `the draft and revision 7`, `release 5`.
pub fn describe_selection(selection: Selection) -> String {
    let release = selection.release.map(|choice| match choice {
        ReleaseChoice::Draft => "the platform's draft".to_owned(),
        ReleaseChoice::Number(number) => format!("platform release {number}"),
    });
    let revision = selection.revision.map(|number| format!("revision {number}"));
    match (release, revision) {
        (Some(release), Some(revision)) => format!("{release} with {revision}"),
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => "what runs now".to_owned(),
    }
}

impl ReleaseChoice {
    /// As stored in `tenants.shadow_release`: `draft` or the number.
    pub fn stored(self) -> String {
        match self {
            ReleaseChoice::Draft => "draft".to_owned(),
            ReleaseChoice::Number(number) => number.to_string(),
        }
    }

    pub fn parse_stored(text: &str) -> Option<ReleaseChoice> {
        match text {
            "draft" => Some(ReleaseChoice::Draft),
            number => number.parse().ok().map(ReleaseChoice::Number),
        }
    }
}

/// How a candidate running in shadow differs from what a tenant enforces.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowDiff {
    /// Decisions with a shadow verdict in the window.
    pub shadowed: i64,
    /// Of those, the ones whose shadow verdict differs.
    pub differing: i64,
    /// By tool and verdict pair, largest first.
    pub groups: Vec<ShadowGroup>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "db", derive(sqlx::FromRow))]
pub struct ShadowGroup {
    pub tool: String,
    pub verdict: String,
    pub shadow_verdict: String,
    /// The rule that settled the candidate's verdict, in words.
    pub shadow_rule: Option<String>,
    pub shadow_of: Option<String>,
    pub count: i64,
    #[cfg_attr(feature = "db", sqlx(skip))]
    pub samples: Vec<ShadowSample>,
}

/// One request whose shadow verdict differs, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "db", derive(sqlx::FromRow))]
pub struct ShadowSample {
    pub id: String,
    pub agent: Option<String>,
    pub args: String,
    pub created_at: i64,
}

/// One revision of a tenant's policies: the whole set as one save left it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "db", derive(sqlx::FromRow))]
pub struct RevisionSummary {
    pub number: i64,
    pub saved_at: i64,
    pub saved_by: String,
    /// What the save did, in words.
    pub change: String,
    /// How many policies the tenant had after it.
    pub policies: i64,
}

/// A revision with every policy's version in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    pub summary: RevisionSummary,
    pub policies: Vec<PolicyVersion>,
}

/// What a decision, a preview or a replay runs: the platform release and the tenant's revision.
/// `None` in either place means what the tenant runs now; the platform's draft is
/// [`ReleaseChoice::Draft`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Selection {
    pub release: Option<ReleaseChoice>,
    pub revision: Option<i64>,
}

/// A platform release, or the platform's unpublished draft.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseChoice {
    Draft,
    Number(i64),
}

/// How a published draft differs from the release before it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftChanges {
    /// The newest release, which the draft is compared with.
    pub since: i64,
    pub added: Vec<String>,
    /// Each changed policy's name with the version published and the draft's.
    pub changed: Vec<(String, i64, i64)>,
    pub removed: Vec<String>,
    pub settings_changed: bool,
}

impl DraftChanges {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty() && !self.settings_changed
    }
}

/// A baseline of the platform that tenant and agent policies may `extends`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// The name policies extend it by, e.g. `hipaa-phi`.
    pub name: String,
    /// The platform policy's own name and description.
    pub title: String,
    pub description: String,
    pub version: i64,
    /// The document (canonical JSON); its rules apply in the scope of each policy that extends it.
    pub document: String,
}
