//! Policies: list, search, open, validate, save, delete, export and import, and the platform
//! settings beside them. Every change is validated by the engine, checked against the parent
//! scopes and written with its audit entry in one transaction (the store's job).

use charter_policy::{DefaultBehaviour, DelegationIssue, DelegationReport, Format, ParseError, PlatformSettings, Policy, PolicyBundle};
use charter_store::{ImportChange, Owner, Page, PolicyId, PolicyLabel, PolicyListing, PolicySearch, Selection, StoreError, StoredPolicy, Tenant};

use crate::access::{Access, Action, Target};
use crate::{Core, CoreError};

/// A saved policy, with the label the platform view gives it and the delegation warnings.
#[derive(Clone, Debug)]
pub struct Saved {
    pub policy: StoredPolicy,
    pub label: PolicyLabel,
    pub warnings: Vec<DelegationIssue>,
}

/// What checking a document before saving it found.
#[derive(Clone, Debug)]
pub enum Validation {
    /// The document does not parse.
    Unreadable(ParseError),
    /// It parses, but cannot be saved where it is meant to go (its scope, agent or name).
    Misplaced { field: String, message: String },
    /// It parses; the check against the parent scopes found these errors and warnings.
    Checked { policy: Box<Policy>, report: DelegationReport },
}

/// A file of policies to download.
#[derive(Clone, Debug)]
pub struct Exported {
    /// The tenant's slug, or `platform`: names the file.
    pub label: String,
    pub format: Format,
    pub text: String,
}

pub(crate) fn label_of(owner: &Owner) -> PolicyLabel {
    match owner {
        Owner::Platform => PolicyLabel::PlatformDefault,
        Owner::Tenant(_) => PolicyLabel::CustomerDefined,
    }
}

impl Core {
    /// The named owner's policies.
    pub async fn list_policies(&self, access: &Access, target: Target<'_>) -> Result<Vec<StoredPolicy>, CoreError> {
        let owner = self.owner(access, target, Action::ReadPolicies).await?;
        Ok(self.store.list_policies(&owner).await?)
    }

    /// One page of the policies the caller may see that match `search`. A tenant caller sees only
    /// their own tenant's, whatever the search names.
    pub async fn search_policies(&self, access: &Access, search: &PolicySearch, offset: i64, limit: i64) -> Result<Page<PolicyListing>, CoreError> {
        let mut search = search.clone();
        match access.own_tenant() {
            Some(own) => {
                access.may(Action::ReadPolicies, &Owner::Tenant(own.to_owned()))?;
                search.tenant_id = Some(own.to_owned());
                search.label = None;
                // The platform's policies are never a tenant's to read.
                search.include_platform = false;
            }
            None => access.may(Action::ReadPolicies, &Owner::Platform)?,
        }
        Ok(self.store.search_policies(&search, offset, limit).await?)
    }

    /// One of the named owner's policies; another owner's id is not found.
    pub async fn get_policy(&self, access: &Access, target: Target<'_>, id: &PolicyId) -> Result<StoredPolicy, CoreError> {
        let owner = self.owner(access, target, Action::ReadPolicies).await?;
        Ok(self.store.get_policy(&owner, id).await?)
    }

    /// A policy by id alone, as the console's editor opens it, with its tenant. Platform staff
    /// open any policy; a tenant caller only their own tenant's.
    pub async fn open_policy(&self, access: &Access, id: &PolicyId) -> Result<(StoredPolicy, Option<Tenant>), CoreError> {
        let owner = match access.own_tenant() {
            Some(own) => Owner::Tenant(own.to_owned()),
            None => self.store.policy_owner(id).await?,
        };
        access.may(Action::ReadPolicies, &owner)?;
        let policy = self.store.get_policy(&owner, id).await?;
        let tenant = self.tenant_of(&owner).await?.map(|tenant| (*tenant).clone());
        Ok((policy, tenant))
    }

    /// Reads a policy document that a caller submitted, in `format` or (`None`) by its look. Reading
    /// compiles the document's regexes, so it runs off the async workers, in the store's lane for
    /// submitted documents (see `charter_store::HeavyWork`), within the engine's per-policy limits.
    pub async fn read_policy(&self, text: String, format: Option<Format>) -> Result<Policy, CoreError> {
        let read = self.store.documents().run(move || match format {
            Some(format) => Policy::parse(&text, format),
            None => Policy::parse_auto(&text),
        });
        read.await?.map_err(CoreError::InvalidPolicy)
    }

    /// What saving `text` for the named owner would say, without saving anything.
    pub async fn validate_policy(&self, access: &Access, target: Target<'_>, text: &str, replacing: Option<&PolicyId>) -> Result<Validation, CoreError> {
        let owner = self.owner(access, target, Action::ReadPolicies).await?;
        let policy = match self.read_policy(text.to_owned(), None).await {
            Ok(policy) => policy,
            Err(CoreError::InvalidPolicy(err)) => return Ok(Validation::Unreadable(err)),
            Err(other) => return Err(other),
        };
        match self.store.check_policy(&owner, &policy, replacing).await {
            Ok(mut report) => {
                report.warnings.extend(self.approver_warnings(&owner, &policy).await?);
                Ok(Validation::Checked { policy: Box::new(policy), report })
            }
            Err(StoreError::Invalid { field, message }) => Ok(Validation::Misplaced { field: field.to_owned(), message }),
            Err(other) => Err(other.into()),
        }
    }

    pub async fn create_policy(&self, access: &Access, target: Target<'_>, policy: &Policy) -> Result<Saved, CoreError> {
        let owner = self.owner(access, target, Action::WritePolicies).await?;
        let (saved, mut report) = self.store.create_policy(&access.actor(), &owner, policy).await?;
        report.warnings.extend(self.approver_warnings(&owner, policy).await?);
        Ok(Saved { policy: saved, label: label_of(&owner), warnings: report.warnings })
    }

    /// Replaces a policy if it is still at `expected_version` (the version the caller read).
    pub async fn update_policy(&self, access: &Access, target: Target<'_>, id: &PolicyId, expected_version: i64, policy: &Policy) -> Result<Saved, CoreError> {
        let owner = self.owner(access, target, Action::WritePolicies).await?;
        let (saved, mut report) = self.store.update_policy(&access.actor(), &owner, id, expected_version, policy).await?;
        report.warnings.extend(self.approver_warnings(&owner, policy).await?);
        Ok(Saved { policy: saved, label: label_of(&owner), warnings: report.warnings })
    }

    /// A warning for each approver role of a tenant's policy that no user of the tenant holds: an
    /// approval addressed to it could not be given until someone does (`CFO officer` for `cfo`).
    /// Platform policies govern every tenant, so their roles are not checked against one tenant.
    pub(crate) async fn approver_warnings(&self, owner: &Owner, policy: &Policy) -> Result<Vec<DelegationIssue>, CoreError> {
        if *owner == Owner::Platform || policy.rules.iter().all(|rule| rule.approvers.is_empty()) {
            return Ok(Vec::new());
        }
        let held: std::collections::BTreeSet<String> = self.store.list_users(owner).await?.into_iter().flat_map(|user| user.approver_roles).collect();
        let known = if held.is_empty() {
            "no user of this tenant holds an approver role yet".to_owned()
        } else {
            format!("the roles users hold are {}", held.iter().map(|role| format!("`{role}`")).collect::<Vec<_>>().join(", "))
        };
        let mut warnings = Vec::new();
        for (index, rule) in policy.rules.iter().enumerate() {
            for (at, role) in rule.approvers.iter().enumerate().filter(|(_, role)| !held.contains(*role)) {
                warnings.push(DelegationIssue {
                    path: format!("rules[{index}].approvers[{at}]"),
                    message: format!(
                        "no user of this tenant holds the approver role `{role}`, so approvals addressed to it cannot be given until someone does; {known}"
                    ),
                    parent: None,
                    parent_rule_index: None,
                });
            }
        }
        Ok(warnings)
    }

    /// Deletes a policy; with `expected_version`, only if it is still at that version.
    pub async fn delete_policy(&self, access: &Access, target: Target<'_>, id: &PolicyId, expected_version: Option<i64>) -> Result<StoredPolicy, CoreError> {
        let owner = self.owner(access, target, Action::WritePolicies).await?;
        Ok(self.store.delete_policy(&access.actor(), &owner, id, expected_version).await?)
    }

    /// Every policy of the named owner as one `charter.policies/v1` file.
    pub async fn export_policies(&self, access: &Access, target: Target<'_>, format: Format) -> Result<Exported, CoreError> {
        let owner = self.owner(access, target, Action::ReadPolicies).await?;
        let label = match self.tenant_of(&owner).await? {
            Some(tenant) => tenant.slug.clone(),
            None => "platform".to_owned(),
        };
        let stored = self.store.list_policies(&owner).await?;
        let owner_label = label.clone();
        let write = self.store.documents().run(move || {
            let policies = stored.iter().map(charter_store::to_engine_policy).collect::<Result<Vec<_>, _>>()?;
            PolicyBundle::new(owner_label, policies).to_text(format).map_err(|err| CoreError::internal("writing an export", err))
        });
        let text = write.await??;
        Ok(Exported { label, format, text })
    }

    /// Imports a `charter.policies/v1` file into the named owner, matching policies by name: all
    /// of it in one transaction, or (`dry_run`) only the list of changes it would make.
    pub async fn import_policies(
        &self,
        access: &Access,
        target: Target<'_>,
        text: &str,
        delete_missing: bool,
        dry_run: bool,
    ) -> Result<Vec<ImportChange>, CoreError> {
        let owner = self.owner(access, target, Action::WritePolicies).await?;
        if text.trim().is_empty() {
            return Err(CoreError::invalid("file", "is empty: choose or paste an exported file"));
        }
        let text = text.to_owned();
        let bundle = self.store.documents().run(move || PolicyBundle::parse(&text)).await?;
        let bundle = bundle.map_err(|err| CoreError::invalid("file", err.to_string()))?;
        Ok(self.store.import_policies(&access.actor(), &owner, &bundle.policies, delete_missing, dry_run).await?)
    }

    /// The platform settings (default behaviour, enabled tools) and their version.
    pub async fn platform_settings(&self, access: &Access) -> Result<(PlatformSettings, i64), CoreError> {
        access.may(Action::ReadSettings, &Owner::Platform)?;
        Ok(self.store.platform_settings().await?)
    }

    /// Replaces the platform settings; returns the new version.
    pub async fn set_platform_settings(
        &self,
        access: &Access,
        default: DefaultBehaviour,
        enabled_tools: Option<std::collections::BTreeSet<String>>,
    ) -> Result<i64, CoreError> {
        access.may(Action::WriteSettings, &Owner::Platform)?;
        if let Some(bad) = enabled_tools.iter().flatten().find(|tool| tool.trim().is_empty()) {
            return Err(CoreError::invalid("enabled_tools", format!("`{bad}` is not a tool name")));
        }
        Ok(self.store.set_platform_settings(&access.actor(), &PlatformSettings { default, enabled_tools }).await?)
    }
}

impl Core {
    /// The merged policy of one agent of the named tenant: every rule with the scope it came from,
    /// the caps and rate limits in force with the scope that set each, and the default.
    /// `selection` names a platform release (platform staff only) or a revision of the tenant's
    /// own policies; the answer says which it showed.
    pub async fn effective_policy(
        &self,
        access: &Access,
        target: Target<'_>,
        agent: Option<&str>,
        selection: Selection,
    ) -> Result<(Tenant, charter_policy::EffectivePolicy, Shown), CoreError> {
        let owner = self.owner(access, target, Action::ReadPolicies).await?;
        crate::releases::check_selection(access, selection)?;
        let agent = agent.map(charter_policy::normalise_agent).transpose().map_err(|err| CoreError::invalid("agent", err.to_string()))?;
        let tenant = self.tenant_of(&owner).await?.ok_or(CoreError::TenantRequired)?;
        let compiled = self.store.policy_set_at(&tenant.id, selection).await.map_err(crate::releases::selection_error)?;
        let shown = Shown { release: compiled.release, revision: compiled.revision };
        Ok(((*tenant).clone(), crate::tenant_view::effective_for(access, compiled.set.effective_for_agent(agent.as_deref())), shown))
    }
}

/// Which policies a preview ran: the platform release (`None` for the draft) and the tenant's
/// revision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shown {
    pub release: Option<i64>,
    pub revision: i64,
}

impl Shown {
    /// `release 4, revision 7`, or `the draft, revision 7`.
    pub fn describe(self) -> String {
        let release = self.release.map_or_else(|| "the platform's draft".to_owned(), |number| format!("platform release {number}"));
        format!("{release}, revision {} of the tenant's policies", self.revision)
    }
}
