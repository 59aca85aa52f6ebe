//! Tool catalogues: the tools named by a source document that a platform admin pastes or uploads,
//! either an OpenAPI 3 document (JSON or YAML) or the result of an MCP `tools/list` call.
//!
//! Both formats are read into `serde_norway::Value`, whose mappings keep their keys in document
//! order. The workspace's `serde_json` has no `preserve_order` feature, so its own `Value` would
//! sort the keys and the catalogue would list paths alphabetically rather than as written. JSON
//! text is still read by the JSON parser (deserialising into the YAML value type), so its syntax
//! errors and line numbers are the JSON parser's.

use std::collections::HashSet;
use std::fmt::Display;

use serde::{Deserialize, Serialize};
use serde_norway::{Mapping, Value};

/// More tools than this in one document is almost certainly a mistake, and the console would not
/// present them usefully anyway.
const MAX_TOOLS: usize = 5_000;

/// Tool names are matched by policy patterns and shown in receipts, so they are kept short.
const MAX_NAME_LEN: usize = 128;

/// The operations of an OpenAPI path item, in the order the specification lists them; this is
/// also the order in which a path's operations are listed in the catalogue.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The kind of document the tools are extracted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    // Snake case alone would give `open_api`; the serialised name must match `as_str`.
    #[serde(rename = "openapi")]
    OpenApi,
    Mcp,
}

impl SourceKind {
    /// The stored and serialised name: `openapi` or `mcp`.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::OpenApi => "openapi",
            SourceKind::Mcp => "mcp",
        }
    }

    /// The inverse of `as_str`.
    pub fn parse(s: &str) -> Option<SourceKind> {
        match s {
            "openapi" => Some(SourceKind::OpenApi),
            "mcp" => Some(SourceKind::Mcp),
            _ => None,
        }
    }

    /// The name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            SourceKind::OpenApi => "OpenAPI 3",
            SourceKind::Mcp => "MCP tools/list",
        }
    }
}

/// One tool found in a source document. `method` and `path` are set for OpenAPI operations only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogTool {
    pub name: String,
    pub method: Option<String>,
    pub path: Option<String>,
    pub description: String,
}

/// Why no tools could be extracted from a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The text is neither valid JSON nor valid YAML, or it is not a mapping at the top.
    #[error("{}", syntax_message(*line, message))]
    Syntax {
        line: Option<usize>,
        message: String,
    },
    #[error("the text is empty")]
    Empty,
    #[error("cannot tell what kind of document this is: expected an OpenAPI 3 document (with `openapi`) or an MCP tools/list result (with `tools`)")]
    UnknownKind,
    #[error("swagger 2.0 documents are not supported; convert to OpenAPI 3")]
    Swagger,
    /// A field of the document is missing or wrong; `path` is such as `paths./a.get.operationId`.
    #[error("{}", field_message(path, message))]
    Field { path: String, message: String },
    #[error("{}", match kind { SourceKind::OpenApi => "the document has no operations under `paths`", SourceKind::Mcp => "the document lists no tools" })]
    NoTools { kind: SourceKind },
    #[error("the tool name `{name}` is used more than once")]
    Duplicate { name: String },
    #[error("the document has {count} tools; at most {MAX_TOOLS} are allowed")]
    TooMany { count: usize },
}

impl CatalogError {
    /// The field at fault, for the console to point at; `None` when the whole document is.
    pub fn field_path(&self) -> Option<&str> {
        match self {
            CatalogError::Field { path, .. } => Some(path),
            _ => None,
        }
    }

    fn field(path: impl Into<String>, message: impl Display) -> Self {
        CatalogError::Field {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

fn syntax_message(line: Option<usize>, message: &str) -> String {
    match line {
        Some(line) => format!("line {line}: {message}"),
        None => message.to_string(),
    }
}

/// Messages phrased as a predicate ("is missing", "must be a list") read as a sentence about the
/// field, so they follow its path directly; any other message follows a colon.
fn field_message(path: &str, message: &str) -> String {
    if message.starts_with("is ") || message.starts_with("must ") {
        format!("`{path}` {message}")
    } else {
        format!("`{path}`: {message}")
    }
}

/// Guesses the kind of a document: a mapping with `openapi` (or `swagger`, so that extraction can
/// say why Swagger 2 is refused) is OpenAPI; one with `tools` or `result.tools` is MCP.
pub fn detect_source_kind(text: &str) -> Result<SourceKind, CatalogError> {
    let root = parse(text)?;
    let Some(root) = root.as_mapping() else {
        return Err(CatalogError::UnknownKind);
    };
    if root.contains_key("openapi") || root.contains_key("swagger") {
        Ok(SourceKind::OpenApi)
    } else if root.contains_key("tools")
        || root
            .get("result")
            .is_some_and(|result| result.get("tools").is_some())
    {
        Ok(SourceKind::Mcp)
    } else {
        Err(CatalogError::UnknownKind)
    }
}

/// Extracts the tools of a document in document order. For OpenAPI the paths come in document
/// order and each path's operations in the order get, put, post, delete, options, head, patch,
/// trace.
pub fn extract_tools(kind: SourceKind, text: &str) -> Result<Vec<CatalogTool>, CatalogError> {
    let root = parse(text)?;
    let Some(root) = root.as_mapping() else {
        return Err(CatalogError::Syntax {
            line: None,
            message: "the document must be a mapping (a JSON object) at the top".to_string(),
        });
    };
    let found = match kind {
        SourceKind::OpenApi => openapi_tools(root)?,
        SourceKind::Mcp => mcp_tools(root)?,
    };
    if found.is_empty() {
        return Err(CatalogError::NoTools { kind });
    }
    if found.len() > MAX_TOOLS {
        return Err(CatalogError::TooMany { count: found.len() });
    }
    // Names are checked only once the count is known to be reasonable, and in document order so
    // that the first bad or repeated name is the one reported.
    let mut seen = HashSet::new();
    let mut tools = Vec::with_capacity(found.len());
    for (tool, name_path, derived) in found {
        if let Err(reason) = check_name(&tool.name) {
            let hint = derived.then_some("; give the operation an `operationId`");
            let hint = hint.unwrap_or_default();
            return Err(CatalogError::field(name_path, format!("{reason}{hint}")));
        }
        if !seen.insert(tool.name.clone()) {
            return Err(CatalogError::Duplicate { name: tool.name });
        }
        tools.push(tool);
    }
    Ok(tools)
}

/// A tool as read from the document, before its name is checked: the field path its name came
/// from, and whether the name was derived rather than given.
type Found = (CatalogTool, String, bool);

fn openapi_tools(root: &Mapping) -> Result<Vec<Found>, CatalogError> {
    let version = match root.get("openapi") {
        Some(Value::String(version)) => version,
        Some(_) => {
            return Err(CatalogError::field(
                "openapi",
                "must be a version string such as `3.1.0` (quote it in YAML)",
            ))
        }
        None if root.contains_key("swagger") => return Err(CatalogError::Swagger),
        None => return Err(CatalogError::field("openapi", "is missing")),
    };
    if !version.starts_with("3.") {
        return Err(CatalogError::field(
            "openapi",
            format!("must be a 3.x version, not `{}`", shorten(version)),
        ));
    }
    let paths = match root.get("paths") {
        Some(Value::Mapping(paths)) => paths,
        Some(_) => return Err(CatalogError::field("paths", "must be a mapping")),
        None => return Err(CatalogError::field("paths", "is missing")),
    };
    let mut found = Vec::new();
    for (key, item) in paths {
        let Some(path) = key.as_str() else {
            return Err(CatalogError::field(
                "paths",
                "must have text keys, such as `/expenses`",
            ));
        };
        let item_path = format!("paths.{path}");
        let item = match item {
            Value::Mapping(item) => item,
            // An empty path item (`/a:` with nothing under it) declares no operations.
            Value::Null => continue,
            _ => return Err(CatalogError::field(item_path, "must be a mapping")),
        };
        // Other path-level keys (`parameters`, `summary`, `servers`, `$ref`, extensions) are
        // not operations, so only the method keys are looked at.
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let operation_path = format!("{item_path}.{method}");
            let Some(operation) = operation.as_mapping() else {
                return Err(CatalogError::field(operation_path, "must be a mapping"));
            };
            let id_path = format!("{operation_path}.operationId");
            let (name, name_path, derived) = match operation.get("operationId") {
                Some(Value::String(id)) => (id.clone(), id_path, false),
                Some(_) => return Err(CatalogError::field(id_path, "must be a string")),
                None => (derive_name(method, path), operation_path, true),
            };
            let description = text_field(operation, "summary")
                .or_else(|| text_field(operation, "description"))
                .unwrap_or_default();
            let tool = CatalogTool {
                name,
                method: Some(method.to_ascii_uppercase()),
                path: Some(path.to_string()),
                description,
            };
            found.push((tool, name_path, derived));
        }
    }
    Ok(found)
}

fn mcp_tools(root: &Mapping) -> Result<Vec<Found>, CatalogError> {
    let (tools, base) = if let Some(tools) = root.get("tools") {
        (tools, "tools")
    } else if let Some(tools) = root.get("result").and_then(|result| result.get("tools")) {
        (tools, "result.tools")
    } else if let Some(error) = root.get("error") {
        // A JSON-RPC error response is a likely paste; its message says more than "missing".
        let message = error.get("message").and_then(Value::as_str).unwrap_or("");
        return Err(CatalogError::field(
            "error",
            format!("the response is a JSON-RPC error: `{}`", shorten(message)),
        ));
    } else {
        return Err(CatalogError::field("tools", "is missing"));
    };
    let Some(tools) = tools.as_sequence() else {
        return Err(CatalogError::field(base, "must be a list"));
    };
    // The count is checked before the tools so that a huge list is refused without being read.
    if tools.len() > MAX_TOOLS {
        return Err(CatalogError::TooMany { count: tools.len() });
    }
    let mut found = Vec::with_capacity(tools.len());
    for (index, tool) in tools.iter().enumerate() {
        let tool_path = format!("{base}[{index}]");
        let Some(tool) = tool.as_mapping() else {
            return Err(CatalogError::field(tool_path, "must be a mapping"));
        };
        let name_path = format!("{tool_path}.name");
        let name = match tool.get("name") {
            Some(Value::String(name)) => name.clone(),
            Some(_) => return Err(CatalogError::field(name_path, "must be a string")),
            None => return Err(CatalogError::field(name_path, "is missing")),
        };
        let tool = CatalogTool {
            name,
            method: None,
            path: None,
            description: text_field(tool, "description").unwrap_or_default(),
        };
        found.push((tool, name_path, false));
    }
    Ok(found)
}

/// A non-blank string field, trimmed; anything else counts as absent, since descriptions are
/// informative only and not worth refusing a document over.
fn text_field(mapping: &Mapping, key: &str) -> Option<String> {
    let text = mapping.get(key)?.as_str()?.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// The name of an operation without an `operationId`: `post /expenses/{id}/approve` becomes
/// `post_expenses_id_approve`.
fn derive_name(method: &str, path: &str) -> String {
    let mut name = String::with_capacity(method.len() + path.len() + 1);
    for c in method.chars().chain(['_']).chain(path.chars()) {
        if c == '{' || c == '}' {
            continue;
        }
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.ends_with('_') {
            name.push('_');
        }
    }
    name.trim_matches('_').to_string()
}

/// Why a name cannot be a tool name, phrased to follow the field's path.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".to_string());
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':');
    if !name.chars().all(allowed) {
        return Err(format!(
            "`{}` is not a valid tool name (letters, digits and . _ - / : only)",
            shorten(name)
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "`{}` is longer than {MAX_NAME_LEN} characters",
            shorten(name)
        ));
    }
    Ok(())
}

/// User text quoted in a message is cut short so that one bad value cannot flood the console.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", text.get(..end).unwrap_or(text)),
        None => text.to_string(),
    }
}

/// Reads JSON (text starting with `{`) with the JSON parser and anything else as YAML, both into
/// the order-keeping YAML value.
fn parse(text: &str) -> Result<Value, CatalogError> {
    if text.trim().is_empty() {
        return Err(CatalogError::Empty);
    }
    if text.trim_start().starts_with('{') {
        serde_json::from_str::<Value>(text).map_err(|err| {
            let (line, column) = (err.line(), err.column());
            syntax_error(err.to_string(), (line > 0).then_some((line, column)))
        })
    } else {
        let mut value = serde_norway::from_str::<Value>(text).map_err(yaml_error)?;
        // YAML authors share parameters between operations with anchors and `<<` merge keys,
        // which the YAML library leaves unexpanded.
        value.apply_merge().map_err(yaml_error)?;
        Ok(value)
    }
}

fn yaml_error(err: serde_norway::Error) -> CatalogError {
    let position = err.location().map(|at| (at.line(), at.column()));
    syntax_error(err.to_string(), position)
}

/// The libraries repeat the position inside their messages; the error carries the line already.
fn syntax_error(message: String, position: Option<(usize, usize)>) -> CatalogError {
    let Some((line, column)) = position else {
        return CatalogError::Syntax {
            line: None,
            message,
        };
    };
    let message = message.replacen(&format!(" at line {line} column {column}"), "", 1);
    CatalogError::Syntax {
        line: Some(line),
        message,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The expected tools as `name method path description`, with `-` for an absent method and
    /// path, so that a table reads like the catalogue page.
    fn check(kind: SourceKind, text: &str, expected: &[(&str, &str, &str, &str)]) {
        let tools = extract_tools(kind, text).unwrap_or_else(|err| unreachable!("{err}\n{text}"));
        let got: Vec<_> = tools
            .iter()
            .map(|tool| {
                (
                    tool.name.as_str(),
                    tool.method.as_deref().unwrap_or("-"),
                    tool.path.as_deref().unwrap_or("-"),
                    tool.description.as_str(),
                )
            })
            .collect();
        assert_eq!(got, expected, "{text}");
    }

    /// Checks both the error's message and the field it points at.
    fn check_err(kind: SourceKind, text: &str, message: &str, path: Option<&str>) {
        let err = extract_tools(kind, text).unwrap_err();
        assert_eq!(err.to_string(), message, "{text}");
        assert_eq!(err.field_path(), path, "{text}");
    }

    const OPENAPI_YAML: &str = r#"
openapi: "3.0.3"
info: { title: Expenses, version: "1" }
paths:
  /expenses/{id}/approve:
    parameters:
      - { name: id, in: path, required: true }
    summary: Path-level summary, not an operation
    servers: []
    post:
      description: Approves an expense.
  /expenses:
    x-internal: true
    post:
      operationId: expenses.create
      summary: "  Files an expense.  "
      description: Not used, the summary wins.
    get:
      operationId: expenses.list
    delete:
      summary: ""
      description: Deletes everything.
  /a-b.c/{x}/:
    trace: {}
    patch: {}
    head: {}
    options: {}
    put: {}
  /empty:
"#;

    #[test]
    fn openapi_yaml() {
        check(
            SourceKind::OpenApi,
            OPENAPI_YAML,
            &[
                (
                    "post_expenses_id_approve",
                    "POST",
                    "/expenses/{id}/approve",
                    "Approves an expense.",
                ),
                ("expenses.list", "GET", "/expenses", ""),
                ("expenses.create", "POST", "/expenses", "Files an expense."),
                (
                    "delete_expenses",
                    "DELETE",
                    "/expenses",
                    "Deletes everything.",
                ),
                ("put_a_b_c_x", "PUT", "/a-b.c/{x}/", ""),
                ("options_a_b_c_x", "OPTIONS", "/a-b.c/{x}/", ""),
                ("head_a_b_c_x", "HEAD", "/a-b.c/{x}/", ""),
                ("patch_a_b_c_x", "PATCH", "/a-b.c/{x}/", ""),
                ("trace_a_b_c_x", "TRACE", "/a-b.c/{x}/", ""),
            ],
        );
    }

    #[test]
    fn openapi_json_keeps_document_order() {
        // The paths are deliberately out of alphabetical order: a sorting map would reorder them.
        let text = r##"  {"openapi":"3.1.0","paths":{
            "/zeta":{"get":{"operationId":"zeta","summary":"Last letter"}},
            "/alpha/{id}":{"$ref":"#/components/pathItems/x","delete":{"description":"Removes"},"get":{}},
            "/mid":{"post":{"operationId":"mid:create"}}}}"##;
        check(
            SourceKind::OpenApi,
            text,
            &[
                ("zeta", "GET", "/zeta", "Last letter"),
                ("get_alpha_id", "GET", "/alpha/{id}", ""),
                ("delete_alpha_id", "DELETE", "/alpha/{id}", "Removes"),
                ("mid:create", "POST", "/mid", ""),
            ],
        );
    }

    #[test]
    fn openapi_yaml_merge_keys() {
        let text = "openapi: 3.0.0\npaths:\n  /a:\n    get: &op\n      summary: Shared\n  /b:\n    get:\n      <<: *op\n      operationId: b\n";
        check(
            SourceKind::OpenApi,
            text,
            &[
                ("get_a", "GET", "/a", "Shared"),
                ("b", "GET", "/b", "Shared"),
            ],
        );
    }

    #[test]
    fn mcp_forms() {
        let plain = r#"{"tools":[
            {"name":"search_docs","description":"Searches the docs.","inputSchema":{"type":"object"}},
            {"name":"github/create_issue"}]}"#;
        let expected = [
            ("search_docs", "-", "-", "Searches the docs."),
            ("github/create_issue", "-", "-", ""),
        ];
        check(SourceKind::Mcp, plain, &expected);
        let rpc = format!(r#"{{"jsonrpc":"2.0","id":7,"result":{}}}"#, plain);
        check(SourceKind::Mcp, &rpc, &expected);
        let yaml = "tools:\n  - name: search_docs\n    description: Searches the docs.\n  - name: github/create_issue\n";
        check(SourceKind::Mcp, yaml, &expected);
    }

    #[test]
    fn errors() {
        use SourceKind::*;
        let table: &[(SourceKind, &str, &str, Option<&str>)] = &[
            (OpenApi, "swagger: \"2.0\"\npaths: {}\n", "swagger 2.0 documents are not supported; convert to OpenAPI 3", None),
            (OpenApi, "openapi: \"2.0\"\npaths: {}\n", "`openapi` must be a 3.x version, not `2.0`", Some("openapi")),
            (OpenApi, "openapi: 3.0\npaths: {}\n", "`openapi` must be a version string such as `3.1.0` (quote it in YAML)", Some("openapi")),
            (OpenApi, "paths: {}\n", "`openapi` is missing", Some("openapi")),
            (OpenApi, "openapi: 3.0.0\ninfo: {}\n", "`paths` is missing", Some("paths")),
            (OpenApi, "openapi: 3.0.0\npaths: []\n", "`paths` must be a mapping", Some("paths")),
            (OpenApi, "openapi: 3.0.0\npaths:\n  /a:\n    parameters: []\n", "the document has no operations under `paths`", None),
            (OpenApi, "openapi: 3.0.0\npaths:\n  /a:\n    get: 1\n", "`paths./a.get` must be a mapping", Some("paths./a.get")),
            (OpenApi, "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      operationId: 5\n", "`paths./a.get.operationId` must be a string", Some("paths./a.get.operationId")),
            (OpenApi, "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      operationId: bad name!\n", "`paths./a.get.operationId`: `bad name!` is not a valid tool name (letters, digits and . _ - / : only)", Some("paths./a.get.operationId")),
            (OpenApi, "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      operationId: ''\n", "`paths./a.get.operationId` is empty", Some("paths./a.get.operationId")),
            (OpenApi, "openapi: 3.0.0\npaths:\n  /a:\n    get: {}\n  /b:\n    get:\n      operationId: get_a\n", "the tool name `get_a` is used more than once", None),
            (Mcp, r#"{"tools":[{"name":"a"},{"name":"b"},{"description":"no name"}]}"#, "`tools[2].name` is missing", Some("tools[2].name")),
            (Mcp, r#"{"result":{"tools":[{"name":7}]}}"#, "`result.tools[0].name` must be a string", Some("result.tools[0].name")),
            (Mcp, r#"{"tools":[{"name":"a"},{"name":"a"}]}"#, "the tool name `a` is used more than once", None),
            (Mcp, r#"{"tools":{}}"#, "`tools` must be a list", Some("tools")),
            (Mcp, r#"{"tools":[]}"#, "the document lists no tools", None),
            (Mcp, r#"{"tools":["x"]}"#, "`tools[0]` must be a mapping", Some("tools[0]")),
            (Mcp, r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}"#, "`error`: the response is a JSON-RPC error: `Method not found`", Some("error")),
            (Mcp, "openapi: 3.0.0\n", "`tools` is missing", Some("tools")),
            (Mcp, "- just\n- a list\n", "the document must be a mapping (a JSON object) at the top", None),
            (Mcp, "  \n\t\n", "the text is empty", None),
            (Mcp, r#"{"tools":[{"name":"a","name":"b"}]}"#, "line 1: duplicate entry with key \"name\"", None),
        ];
        for &(kind, text, message, path) in table {
            check_err(kind, text, message, path);
        }
    }

    #[test]
    fn name_limits() {
        let long = "a".repeat(129);
        let text = format!(r#"{{"tools":[{{"name":"{}"}}]}}"#, "a".repeat(128));
        assert_eq!(extract_tools(SourceKind::Mcp, &text).unwrap().len(), 1);
        let text = format!(r#"{{"tools":[{{"name":"{long}"}}]}}"#);
        let err = extract_tools(SourceKind::Mcp, &text).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "`tools[0].name`: `{}…` is longer than 128 characters",
                "a".repeat(60)
            )
        );
        // A derived name can only be too long; the hint says how to fix it.
        let text = format!("openapi: 3.1.0\npaths:\n  /{long}:\n    get: {{}}\n");
        let err = extract_tools(SourceKind::OpenApi, &text).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("is longer than 128 characters; give the operation an `operationId`"),
            "{err}"
        );
        assert_eq!(
            err.field_path(),
            Some(format!("paths./{long}.get").as_str())
        );
    }

    #[test]
    fn too_many_tools() {
        let tool = r#"{"name":"t"},"#.repeat(5_001);
        let text = format!(r#"{{"tools":[{}]}}"#, tool.trim_end_matches(','));
        let err = extract_tools(SourceKind::Mcp, &text).unwrap_err();
        assert_eq!(err, CatalogError::TooMany { count: 5_001 });
        assert_eq!(
            err.to_string(),
            "the document has 5001 tools; at most 5000 are allowed"
        );
        let mut yaml = String::from("openapi: 3.0.0\npaths:\n");
        for i in 0..1_001 {
            yaml.push_str(&format!("  /p{i}:\n    get: {{}}\n    put: {{}}\n    post: {{}}\n    delete: {{}}\n    patch: {{}}\n"));
        }
        let err = extract_tools(SourceKind::OpenApi, &yaml).unwrap_err();
        assert_eq!(err, CatalogError::TooMany { count: 5_005 });
    }

    #[test]
    fn detects_kinds() {
        use SourceKind::*;
        let table: &[(&str, Result<SourceKind, CatalogError>)] = &[
            (OPENAPI_YAML, Ok(OpenApi)),
            (r#"{"openapi":"3.1.0","paths":{}}"#, Ok(OpenApi)),
            ("swagger: '2.0'\n", Ok(OpenApi)),
            (r#"{"tools":[]}"#, Ok(Mcp)),
            (r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}"#, Ok(Mcp)),
            ("tools: []\n", Ok(Mcp)),
            (r#"{"result":{}}"#, Err(CatalogError::UnknownKind)),
            ("name: policy\nrules: []\n", Err(CatalogError::UnknownKind)),
            ("[1, 2]", Err(CatalogError::UnknownKind)),
            ("just some words", Err(CatalogError::UnknownKind)),
            ("", Err(CatalogError::Empty)),
        ];
        for (text, expected) in table {
            assert_eq!(&detect_source_kind(text), expected, "{text}");
        }
    }

    #[test]
    fn garbage_text_reports_the_line() {
        let err = detect_source_kind("{\n  \"tools\": [\n    {\"name\": }\n]}").unwrap_err();
        assert!(
            matches!(err, CatalogError::Syntax { line: Some(3), .. }),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("line 3: "), "{err}");
        assert!(!err.to_string().contains("column"), "{err}");
        let err = extract_tools(
            SourceKind::OpenApi,
            "openapi: 3.0.0\npaths:\n  /a: [\n  b: {",
        )
        .unwrap_err();
        assert!(
            matches!(err, CatalogError::Syntax { line: Some(_), .. }),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("line "), "{err}");
        let err = detect_source_kind("\u{0}\u{1}binary").unwrap_err();
        assert!(matches!(err, CatalogError::Syntax { .. }), "{err:?}");
    }

    #[test]
    fn source_kind_names() {
        for kind in [SourceKind::OpenApi, SourceKind::Mcp] {
            assert_eq!(SourceKind::parse(kind.as_str()), Some(kind));
            let json = format!("\"{}\"", kind.as_str());
            assert_eq!(serde_json::to_string(&kind).unwrap(), json);
            assert_eq!(serde_json::from_str::<SourceKind>(&json).unwrap(), kind);
        }
        assert_eq!(SourceKind::parse("OpenAPI"), None);
        assert_eq!(SourceKind::OpenApi.label(), "OpenAPI 3");
        assert_eq!(SourceKind::Mcp.label(), "MCP tools/list");
    }
}
