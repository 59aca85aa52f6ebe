//! Starter policies a tenant can instantiate and adapt in the editor.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Template {
    pub key: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub yaml: &'static str,
}

/// Where a new policy starts: a name to give, no rules, so saving it as it is allows nothing.
pub const BLANK: &str = "name: \"\"\ndescription: \"\"\nscope: tenant\nrules: []\n";

pub const TEMPLATES: &[Template] = &[
    Template {
        key: "finance-approvals",
        name: "Finance approvals",
        description: "Expenses over $5,000 need a manager, over $25,000 also the CFO; payments capped.",
        yaml: r#"name: Finance approvals
description: Expense approvals by amount and a cap on payments.
scope: tenant
rules:
  - tool: expense.submit
    when: { args.amount: { gt: 5000, lte: 25000 } }
    effect: require_approval
    approvers: [manager]
    reason: expenses over $5,000 need a manager
  - tool: expense.submit
    when: { args.amount: { gt: 25000 } }
    effect: require_approval
    approvers: [manager, cfo]
    reason: expenses over $25,000 need a manager and the CFO
  - tool: expense.submit
    effect: allow
    reason: small expenses go through
  - tool: "payments.*"
    limit: { args.amount: { max: 10000 } }
"#,
    },
    Template {
        key: "hipaa-phi",
        name: "HIPAA PHI masking",
        description: "Patient records are readable with identifiers masked; exports need the privacy officer.",
        yaml: r#"name: HIPAA PHI masking
description: Protected health information is masked; bulk exports need approval.
scope: tenant
rules:
  - tool: "patients.*"
    effect: allow
    mask: [result.ssn, result.date_of_birth, result.address]
    reason: PHI is masked for agents
  - tool: patients.export
    effect: require_approval
    approvers: [privacy_officer]
    reason: exports of patient data need the privacy officer
"#,
    },
    Template {
        key: "deploy-approvals",
        name: "Engineering deploy approvals",
        description: "Production deploys need an engineering lead; staging is free; rollbacks are rate limited.",
        yaml: r#"name: Engineering deploy approvals
description: Who may ship what, and how often.
scope: tenant
rules:
  - tool: deploy.production
    effect: require_approval
    approvers: [eng_lead]
    reason: production deploys need an engineering lead
  - tool: deploy.staging
    effect: allow
  - tool: deploy.rollback
    effect: allow
    rate_limit: { calls: 5, per: 1h, per_key: agent }
"#,
    },
];
