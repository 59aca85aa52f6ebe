//! The name of a new policy, typed in a field of its own: it is written into the document's top-level
//! `name:` line, and edits of that line show in the field. The document stays the one truth.

use leptos::prelude::*;

use crate::components::ui::INPUT;

/// The document's top-level `name`, as the field shows it; empty when there is none yet.
pub(super) fn document_name(text: &str) -> String {
    if text.trim_start().starts_with('{') {
        // Only the name is read: the browser bundle then needs no code for JSON values of every kind.
        #[derive(serde::Deserialize)]
        struct Named {
            name: Option<String>,
        }
        return serde_json::from_str::<Named>(text).ok().and_then(|doc| doc.name).unwrap_or_default();
    }
    let Some(value) = text.lines().find_map(|line| line.strip_prefix("name:")) else { return String::new() };
    let value = value.trim();
    if value.starts_with('"') {
        return serde_json::from_str(value).unwrap_or_default();
    }
    if let Some(quoted) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        return quoted.replace("''", "'");
    }
    // A plain scalar ends where a comment starts.
    value.split(" #").next().unwrap_or_default().trim_end().to_owned()
}

/// The document with its top-level YAML `name:` line set to `name` (added first if missing).
/// JSON documents are left alone: their name is edited in the document.
pub(super) fn with_name(text: &str, name: &str) -> String {
    if text.trim_start().starts_with('{') {
        return text.to_owned();
    }
    let line = format!("name: {}", yaml_scalar(name));
    let mut replaced = false;
    let mut lines: Vec<String> = text
        .lines()
        .map(|existing| {
            if !replaced && existing.starts_with("name:") {
                replaced = true;
                line.clone()
            } else {
                existing.to_owned()
            }
        })
        .collect();
    if !replaced {
        lines.insert(0, line);
    }
    let mut written = lines.join("\n");
    if text.ends_with('\n') || !replaced {
        written.push('\n');
    }
    written
}

/// `name` as a YAML scalar: bare when it surely reads back the same, double-quoted otherwise.
/// Quoting is never wrong, so the test is simple and ASCII-only: it runs in the browser, where
/// Unicode tables and number parsing would weigh more than the rest of the field.
fn yaml_scalar(name: &str) -> String {
    // A name that starts with a digit may read as a number; quoted, it is text.
    let plain = name.bytes().next().is_some_and(|first| first.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || " -_.,()&/+".contains(c))
        && !name.ends_with(' ')
        && !matches!(name.to_ascii_lowercase().as_str(), "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n");
    if plain {
        name.to_owned()
    } else {
        serde_json::to_string(name).unwrap_or_else(|_| "\"\"".to_owned())
    }
}

/// The policy's name as its own field, above the document of a new policy.
#[component]
pub(super) fn NameField(text: RwSignal<String>, on_input: Callback<String>) -> impl IntoView {
    let name = RwSignal::new(document_name(&text.get_untracked()));
    // The document changed elsewhere (typing, a template): show its name.
    Effect::new(move |_| {
        let from_document = document_name(&text.get());
        if from_document != name.get_untracked() {
            name.set(from_document);
        }
    });
    let is_json = move || text.with(|t| t.trim_start().starts_with('{'));
    view! {
        <label class="block text-sm">
            <span class="block text-slate-600 mb-1">"Policy name"</span>
            <input
                id="policy-name"
                class=INPUT
                placeholder="Finance approvals"
                required
                disabled=is_json
                prop:value=move || name.get()
                on:input=move |ev| {
                    let typed = event_target_value(&ev);
                    name.set(typed.clone());
                    on_input.run(with_name(&text.get_untracked(), &typed));
                }
            />
            <span class="block text-xs text-slate-500 mt-1">
                {move || if is_json() { "Edit the name in the JSON document." } else { "Tenants and the audit log know the policy by this name." }}
            </span>
        </label>
    }
}

#[cfg(test)]
mod tests {
    use super::{document_name, with_name};

    fn check(text: &str, name: &str, expected: &str) {
        let written = with_name(text, name);
        assert_eq!(written, expected, "setting {name:?} in {text:?}");
        assert_eq!(document_name(&written), name, "reading back {written:?}");
    }

    #[test]
    fn the_engine_reads_the_name_the_field_wrote() {
        // Names that would break a bare scalar read back whole through the quoting. (The engine's
        // reader takes a bare `yes` or `2026` as text too; `check` holds that those are quoted
        // anyway, for readers that would not.)
        for name in ["Finance approvals", "Spend: over $5,000", "a # b", "Tab\there", "\"quoted\"", "'single'", "- a dash", "[listed]", "{braced}", "trailing "]
        {
            let written = with_name("name: \"\"\nscope: tenant\nrules: []\n", name);
            let read = charter_policy::Policy::parse_auto(&written).map(|policy| policy.name);
            assert_eq!(read.as_deref(), Ok(name), "the engine reading {written:?}");
        }
    }

    #[test]
    fn the_name_line_is_written_and_read_back() {
        let blank = "name: \"\"\ndescription: \"\"\nscope: tenant\nrules: []\n";
        assert_eq!(document_name(blank), "");
        check(blank, "Finance approvals", "name: Finance approvals\ndescription: \"\"\nscope: tenant\nrules: []\n");
        check(blank, "Spend: over $5,000", "name: \"Spend: over $5,000\"\ndescription: \"\"\nscope: tenant\nrules: []\n");
        check(blank, "yes", "name: \"yes\"\ndescription: \"\"\nscope: tenant\nrules: []\n");
        check(blank, "2026", "name: \"2026\"\ndescription: \"\"\nscope: tenant\nrules: []\n");
        check(blank, "3M approvals", "name: \"3M approvals\"\ndescription: \"\"\nscope: tenant\nrules: []\n");
        check(blank, "Überweisungen", "name: \"Überweisungen\"\ndescription: \"\"\nscope: tenant\nrules: []\n");
        check(blank, "", "name: \"\"\ndescription: \"\"\nscope: tenant\nrules: []\n");
        check("scope: tenant\nrules: []", "A", "name: A\nscope: tenant\nrules: []\n");
        // Only the top-level line: a rule's nested `name:` is not the policy's.
        check("name: Old\nrules:\n  - tool: x\n    name: keep\n", "New", "name: New\nrules:\n  - tool: x\n    name: keep\n");
    }

    #[test]
    fn names_are_read_in_every_quoting() {
        assert_eq!(document_name("name: 'It''s here'\n"), "It's here");
        assert_eq!(document_name("name: Plain words # a comment\n"), "Plain words");
        assert_eq!(document_name("{\"name\": \"From JSON\", \"rules\": []}"), "From JSON");
        assert_eq!(with_name("{\"name\": \"x\"}", "y"), "{\"name\": \"x\"}", "JSON is edited in the document");
    }
}
