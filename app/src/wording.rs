//! How the console words the engine's references to rules and the step that decided, the same on
//! every page: "Finance controls · rule 4 (payments)", never a policy's id or a scope said twice.

use charter_policy::{Basis, RuleRef};

/// A rule's source. Tenants see a platform rule as a "Platform boundary", never its policy (see
/// `charter_policy`'s tenant view).
pub fn source(rule: &RuleRef) -> String {
    if rule.policy.is_platform_boundary() {
        return "Platform boundary".to_owned();
    }
    let id = rule.rule_id.as_deref().map(|id| format!(" ({id})")).unwrap_or_default();
    format!("{} · rule {}{id}", rule.policy.policy_name, rule.rule_index + 1)
}

/// What a decisive rule decided with: its verdict, or the cap, limit or requirement it carries.
/// A rule that allowed but whose cap denied is never called plainly "decisive".
pub fn decided_by(basis: Basis, decisive: bool) -> &'static str {
    match (decisive, basis) {
        (false, _) => "",
        (true, Basis::Cap) => " · its cap decided: the call is over it",
        (true, Basis::RateLimit) => " · its rate limit decided: it is used up",
        (true, Basis::Budget) => " · its budget decided: the amount does not fit",
        (true, Basis::CountersUnavailable) => " · its counter could not be reached, so the call was refused",
        (true, Basis::Requirement) => " · its requirement decided: it is not met",
        (true, Basis::ExplicitDeny) => " · decisive: an explicit deny",
        (true, _) => " · decisive",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use charter_policy::{PolicyRef, Scope};

    fn rule(name: &str, index: usize, id: Option<&str>) -> RuleRef {
        RuleRef {
            policy: PolicyRef { scope: Scope::Tenant, agent: None, policy_id: "p".into(), policy_name: name.into(), version: 3, confidential: false },
            rule_index: index,
            rule_id: id.map(str::to_owned),
        }
    }

    #[test]
    fn sources_name_the_policy_and_rule_once() {
        assert_eq!(source(&rule("Finance controls", 3, Some("payments"))), "Finance controls · rule 4 (payments)");
        assert_eq!(source(&rule("Finance controls", 0, None)), "Finance controls · rule 1");
        assert_eq!(source(&rule("", 0, None).with_scope(Scope::Platform)), "Platform boundary");
    }

    #[test]
    fn a_capped_allow_is_not_plainly_decisive() {
        assert_eq!(decided_by(Basis::Cap, true), " · its cap decided: the call is over it");
        assert_eq!(decided_by(Basis::Rules, true), " · decisive");
        assert_eq!(decided_by(Basis::Cap, false), "");
    }

    trait WithScope {
        fn with_scope(self, scope: Scope) -> Self;
    }

    impl WithScope for RuleRef {
        fn with_scope(mut self, scope: Scope) -> Self {
            self.policy.scope = scope;
            self
        }
    }
}
