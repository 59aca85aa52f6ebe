//! The structured form: common rules without writing YAML, appended to the document by the server,
//! which validates the result with the engine.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::feedback::Toasts;
use crate::components::ui::{Card, BUTTON, INPUT};
use crate::AppError;

/// The structured form's fields, all as typed; the server turns them into a rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleForm {
    pub tool: String,
    pub effect: String,
    pub approvers: String,
    pub condition_field: String,
    pub condition_op: String,
    pub condition_value: String,
    pub cap_field: String,
    pub cap_max: String,
    pub rate_calls: String,
    pub rate_per: String,
    pub rate_key: String,
    pub mask: String,
    pub reason: String,
}

/// Builds the rule the form describes as the policy language's JSON. Empty fields are left out.
#[cfg(feature = "ssr")]
fn rule_json(form: &RuleForm) -> Result<serde_json::Value, AppError> {
    use serde_json::{json, Map, Value};
    let invalid = |field: &str, message: &str| AppError::Invalid { field: field.to_owned(), message: message.to_owned() };
    let list = |text: &str| -> Vec<String> { text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect() };
    let mut rule = Map::new();
    if form.tool.trim().is_empty() {
        return Err(invalid("tool", "is required"));
    }
    rule.insert("tool".into(), json!(form.tool.trim()));
    if !form.condition_field.trim().is_empty() {
        let op = if form.condition_op.trim().is_empty() { "eq" } else { form.condition_op.trim() };
        let raw = form.condition_value.trim();
        // A number, boolean or list as typed; anything else is text.
        let value = serde_json::from_str::<Value>(raw).unwrap_or_else(|_| json!(raw));
        let value = if matches!(op, "in" | "contains_any") && !value.is_array() { json!(list(raw)) } else { value };
        rule.insert("when".into(), json!({ form.condition_field.trim(): { op: value } }));
    }
    if !form.effect.trim().is_empty() {
        rule.insert("effect".into(), json!(form.effect.trim()));
    }
    if !form.approvers.trim().is_empty() {
        rule.insert("approvers".into(), json!(list(&form.approvers)));
    }
    if !form.cap_field.trim().is_empty() {
        let max: f64 = form.cap_max.trim().parse().map_err(|_| invalid("cap maximum", "must be a number"))?;
        rule.insert("limit".into(), json!({ form.cap_field.trim(): { "max": max } }));
    }
    if !form.rate_calls.trim().is_empty() {
        let calls: u64 = form.rate_calls.trim().parse().map_err(|_| invalid("rate limit calls", "must be a whole number"))?;
        let per = if form.rate_per.trim().is_empty() { "1m" } else { form.rate_per.trim() };
        let key = if form.rate_key.trim().is_empty() { "agent" } else { form.rate_key.trim() };
        rule.insert("rate_limit".into(), json!({ "calls": calls, "per": per, "per_key": key }));
    }
    if !form.mask.trim().is_empty() {
        rule.insert("mask".into(), json!(list(&form.mask)));
    }
    if !form.reason.trim().is_empty() {
        rule.insert("reason".into(), json!(form.reason.trim()));
    }
    Ok(Value::Object(rule))
}

/// The form field a path inside the new rule belongs to, so the error shows where it was typed.
#[cfg(feature = "ssr")]
fn form_field(path: &str) -> &'static str {
    let after = path.split_once("].").map(|(_, rest)| rest).unwrap_or(path);
    match after.split(['.', '[']).next().unwrap_or("") {
        "tool" => "tool",
        "when" => "condition",
        "effect" => "effect",
        "approvers" => "approvers",
        "limit" => "cap",
        "rate_limit" => "rate limit",
        "mask" => "mask",
        "reason" => "reason",
        _ => "rule",
    }
}

/// The rule form's fields as the browser has them when it is sent.
fn sent_form(ev: &leptos::ev::SubmitEvent) -> Option<RuleForm> {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let form = ev.target()?.dyn_into::<web_sys::HtmlFormElement>().ok()?;
        let data = web_sys::FormData::new_with_form(&form).ok()?;
        let field = |name: &str| data.get(&format!("form[{name}]")).as_string().unwrap_or_default();
        Some(RuleForm {
            tool: field("tool"),
            effect: field("effect"),
            approvers: field("approvers"),
            condition_field: field("condition_field"),
            condition_op: field("condition_op"),
            condition_value: field("condition_value"),
            cap_field: field("cap_field"),
            cap_max: field("cap_max"),
            rate_calls: field("rate_calls"),
            rate_per: field("rate_per"),
            rate_key: field("rate_key"),
            mask: field("mask"),
            reason: field("reason"),
        })
    }
    // The server renders the form and never sends it.
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        None
    }
}

#[server(endpoint = "policies/add_rule")]
pub async fn add_rule(text: String, form: RuleForm) -> Result<String, AppError> {
    use crate::auth::server::{access, core};
    use charter_core::CoreError;
    use charter_policy::{detect_format, Format};
    let (access, core) = (access()?, core()?);
    access.may(charter_core::Action::ReadPolicies, &access.home())?;
    let policy = core.read_policy(text.clone(), None).await.map_err(|err| match err {
        CoreError::InvalidPolicy(err) => AppError::Invalid { field: "policy".to_owned(), message: format!("fix the document first: {err}") },
        other => other.into(),
    })?;
    let mut document = serde_json::to_value(&policy).map_err(|_| AppError::Internal)?;
    let rule = rule_json(&form)?;
    let Some(rules) = document.as_object_mut().map(|d| d.entry("rules").or_insert_with(|| serde_json::json!([]))) else { return Err(AppError::Internal) };
    let Some(rules) = rules.as_array_mut() else { return Err(AppError::Internal) };
    rules.push(rule);
    let updated = core.read_policy(document.to_string(), Some(Format::Json)).await.map_err(|err| match err {
        CoreError::InvalidPolicy(err) => {
            let path = err.path.clone().unwrap_or_default();
            AppError::Invalid { field: form_field(&path).to_owned(), message: err.message }
        }
        other => other.into(),
    })?;
    let written = match detect_format(&text) {
        Format::Json => updated.to_json(),
        Format::Yaml => updated.to_yaml(),
    };
    written.map_err(|_| AppError::Internal)
}

/// The structured form: common rules without writing YAML. The rule is appended to the document
/// by the server, which validates it with the engine. The form's fields are the browser's own
/// (`form[…]`, read when it is sent) and go with the document being edited.
#[component]
pub(super) fn RuleBuilder(text: RwSignal<String>, on_input: Callback<String>, tools: Vec<String>) -> impl IntoView {
    let toasts = expect_context::<Toasts>();
    let error = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);
    // The form is sent by a direct call of the server function, not an `ActionForm`: the browser
    // bundle then needs no code to read a form into the function's arguments.
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(form) = sent_form(&ev) else { return };
        pending.set(true);
        leptos::task::spawn_local(async move {
            let added = add_rule(text.get_untracked(), form).await;
            let _ = pending.try_set(false);
            match added {
                Ok(updated) => {
                    error.set(None);
                    on_input.run(updated);
                    toasts.success("Rule added to the document. Review it, then save.");
                }
                Err(err) => {
                    let _ = error.try_set(Some(err.to_string()));
                }
            }
        });
    };
    let field = |label: &'static str, id: &'static str, name: &'static str, placeholder: &'static str| {
        view! {
            <label for=id class="block text-sm">
                <span class="block text-slate-600 mb-1">{label}</span>
                <input id=id name=name class=INPUT placeholder=placeholder list=(id == "rule-tool").then_some("tool-options")/>
            </label>
        }
    };
    let choices = |values: &[&'static str], chosen: &'static str, label: fn(&'static str) -> String| {
        values.iter().map(|value| view! { <option value=*value selected=*value == chosen>{label(value)}</option> }).collect_view()
    };
    view! {
        <Card title="Add a rule">
            <form class="space-y-3" on:submit=add>
                {field("Tool", "rule-tool", "form[tool]", "expense.submit or payments.*")}
                <datalist id="tool-options">{tools.into_iter().map(|t| view! { <option value=t/> }).collect_view()}</datalist>
                <label for="rule-effect" class="block text-sm">
                    <span class="block text-slate-600 mb-1">"Effect"</span>
                    <select id="rule-effect" name="form[effect]" class=INPUT>
                        <option value="allow" selected>"Allow"</option>
                        <option value="deny">"Deny"</option>
                        <option value="require_approval">"Require approval"</option>
                        <option value="">"None (limits or masks only)"</option>
                    </select>
                </label>
                {field("Approver roles", "rule-approvers", "form[approvers]", "manager, cfo")}
                <fieldset class="grid grid-cols-3 gap-2">
                    <legend class="text-sm text-slate-600 mb-1">"Condition"</legend>
                    <input aria-label="Condition field" name="form[condition_field]" class=INPUT placeholder="args.amount"/>
                    <select aria-label="Condition operator" name="form[condition_op]" class=INPUT>
                        {choices(&["eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "starts_with", "ends_with", "matches"], "gt", str::to_owned)}
                    </select>
                    <input aria-label="Condition value" name="form[condition_value]" class=INPUT placeholder="5000"/>
                </fieldset>
                <fieldset class="grid grid-cols-2 gap-2">
                    <legend class="text-sm text-slate-600 mb-1">"Cap"</legend>
                    <input aria-label="Cap field" name="form[cap_field]" class=INPUT placeholder="args.amount"/>
                    <input aria-label="Cap maximum" name="form[cap_max]" class=INPUT placeholder="10000"/>
                </fieldset>
                <fieldset class="grid grid-cols-3 gap-2">
                    <legend class="text-sm text-slate-600 mb-1">"Rate limit"</legend>
                    <input aria-label="Rate limit calls" name="form[rate_calls]" class=INPUT placeholder="100"/>
                    <select aria-label="Rate limit window" name="form[rate_per]" class=INPUT>
                        {choices(&["1s", "1m", "1h", "1d"], "1m", |w| format!("per {w}"))}
                    </select>
                    <select aria-label="Rate limit key" name="form[rate_key]" class=INPUT>
                        {choices(&["agent", "tenant", "user"], "agent", |k| format!("per {k}"))}
                    </select>
                </fieldset>
                {field("Mask fields", "rule-mask", "form[mask]", "result.ssn, args.card")}
                {field("Reason", "rule-reason", "form[reason]", "shown with the decision")}
                {move || error.get().map(|e| view! { <p role="alert" class="text-sm text-red-700" data-testid="rule-error">{e}</p> })}
                <button type="submit" class=BUTTON disabled=move || pending.get()>"Add rule"</button>
            </form>
        </Card>
    }
}
