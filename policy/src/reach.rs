//! Whether any call of a tool could go ahead: what a gateway asks before it lists a tool to an
//! agent, so an agent is not offered tools every call of which is denied.

use crate::compile::PolicySet;
use crate::decide::targeted;
use crate::model::{DefaultBehaviour, Effect};
use crate::request::Principal;

impl PolicySet {
    /// Whether some call of `tool` by `agent` for `principal` could be allowed, at once or after
    /// an approval. `false` only when no call can: the tool is not enabled, a deny without
    /// conditions applies to this principal in some scope, or no rule could allow it and the
    /// default is deny. Conditions, caps and rate limits may still deny a particular call.
    pub fn could_allow(&self, tool: &str, agent: Option<&str>, principal: &Principal) -> bool {
        if !self.settings.is_enabled(tool) {
            return false;
        }
        let mut some_rule_allows = false;
        for compiled in self.candidates(tool, agent) {
            let rule = &compiled.rule;
            let applies_to_principal = rule
                .targets
                .as_ref()
                .is_none_or(|targets| targeted(targets, principal));
            match rule.effect {
                Some(Effect::Deny)
                    if rule.when.is_empty()
                        && rule.only_when.is_empty()
                        && applies_to_principal =>
                {
                    return false
                }
                Some(Effect::Allow | Effect::RequireApproval) if applies_to_principal => {
                    some_rule_allows = true
                }
                _ => {}
            }
        }
        some_rule_allows || self.default_for(agent).behaviour == DefaultBehaviour::Allow
    }
}

#[cfg(test)]
mod tests {
    use crate::model::PlatformSettings;
    use crate::{from_yaml, PolicySet, Principal};

    fn set(default: &str, platform: &str, tenant: &str, agent: &str) -> PolicySet {
        let settings: PlatformSettings = serde_json::from_value(serde_json::json!({ "default": default, "enabled_tools": ["crm.read", "crm.delete", "crm.export", "mail.send"] })).unwrap();
        let parse = |text: &str| {
            if text.is_empty() {
                Vec::new()
            } else {
                vec![from_yaml(text).unwrap()]
            }
        };
        PolicySet::compile(&settings, &parse(platform), &parse(tenant), &parse(agent))
    }

    fn check(set: &PolicySet, tool: &str, agent: Option<&str>, roles: &[&str], expected: bool) {
        let principal = Principal {
            roles: roles.iter().map(|role| role.to_string()).collect(),
            ..Principal::default()
        };
        assert_eq!(
            set.could_allow(tool, agent, &principal),
            expected,
            "{tool} for {agent:?} with {roles:?}"
        );
    }

    #[test]
    fn a_tool_is_reachable_unless_every_call_is_denied() {
        let platform = "name: p\nscope: platform\nrules:\n  - tool: crm.delete\n    effect: deny\n  - tool: crm.*\n    effect: allow\n  - tool: crm.export\n    when: { args.rows: { gt: 100 } }\n    effect: deny\n";
        let tenant = "name: t\nscope: tenant\nrules:\n  - tool: mail.send\n    targets: { roles: [intern] }\n    effect: deny\n  - tool: mail.send\n    effect: require_approval\n    approvers: [manager]\n";
        let agent =
            "name: a\nscope: agent\nagent: bot\nrules:\n  - tool: crm.read\n    effect: deny\n";
        let set = set("deny", platform, tenant, agent);
        check(&set, "crm.read", None, &[], true);
        check(&set, "crm.read", Some("other"), &[], true);
        check(&set, "crm.read", Some("bot"), &[], false);
        check(&set, "crm.delete", None, &[], false);
        // A deny with a condition leaves the calls it does not cover.
        check(&set, "crm.export", None, &[], true);
        // Approval is a way through; a targeted deny applies to its targets only.
        check(&set, "mail.send", None, &[], true);
        check(&set, "mail.send", None, &["intern"], false);
        // Not enabled, whatever the rules.
        check(&set, "shell.exec", None, &[], false);
    }

    #[test]
    fn without_a_rule_the_default_decides() {
        check(&set("deny", "", "", ""), "crm.read", None, &[], false);
        check(&set("allow", "", "", ""), "crm.read", None, &[], true);
        let stricter = "name: t\nscope: tenant\ndefault: deny\nrules:\n  - tool: mail.send\n    effect: allow\n";
        check(
            &set("allow", "", stricter, ""),
            "crm.read",
            None,
            &[],
            false,
        );
        check(
            &set("allow", "", stricter, ""),
            "mail.send",
            None,
            &[],
            true,
        );
    }
}
