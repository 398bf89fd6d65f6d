//! `sesame config-reference`: the configuration table, generated from the `Config` struct
//! itself — its fields, their `///` comments (read from `config.rs`, compiled in) and their
//! defaults — so the documentation cannot drift from the code. docs/DEPLOY.md holds its output
//! between `<!-- config-reference:start -->` and `<!-- config-reference:end -->`; a unit test
//! fails when the two differ.

use crate::config::Config;

/// The source of the struct, compiled in.
const SOURCE: &str = include_str!("../config.rs");

/// One setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The field name, which is also the TOML key.
    pub field: String,
    /// `SESAME_` + the field name in upper case.
    pub variable: String,
    pub default: String,
    pub meaning: String,
}

/// Every field of `Config`, in declaration order.
pub fn settings() -> Vec<Setting> {
    let defaults = serde_json::to_value(Config::default()).unwrap_or_default();
    let mut settings: Vec<Setting> = Vec::new();
    let mut doc: Vec<&str> = Vec::new();
    let body = SOURCE
        .split_once("pub struct Config {")
        .and_then(|(_, rest)| rest.split_once("\n}"))
        .map(|(body, _)| body)
        .unwrap_or_default();
    for line in body.lines().map(str::trim) {
        if let Some(text) = line.strip_prefix("///") {
            doc.push(text.trim());
        } else if let Some((field, _)) = line
            .strip_prefix("pub ")
            .and_then(|rest| rest.split_once(':'))
        {
            let variable = format!("SESAME_{}", field.to_ascii_uppercase());
            // A field without its own comment belongs to the group documented above it.
            let meaning = if doc.is_empty() {
                settings
                    .iter()
                    .rev()
                    .find(|s| !s.meaning.starts_with("see "))
                    .map(|group| format!("see `{}`", group.variable))
                    .unwrap_or_default()
            } else {
                meaning(&doc.join(" "), &variable)
            };
            settings.push(Setting {
                field: field.to_owned(),
                default: default_text(defaults.get(field)),
                variable,
                meaning,
            });
            doc.clear();
        }
    }
    settings
}

/// The comment without its leading "`SESAME_X`: ".
fn meaning(doc: &str, variable: &str) -> String {
    let prefix = format!("`{variable}`:");
    doc.strip_prefix(&prefix).unwrap_or(doc).trim().to_owned()
}

fn default_text(value: Option<&serde_json::Value>) -> String {
    use serde_json::Value;
    match value {
        None | Some(Value::Null) => "(unset)".into(),
        Some(Value::String(s)) => format!("`{s}`"),
        Some(Value::Array(items)) if items.is_empty() => "(none)".into(),
        Some(Value::Array(items)) => {
            let items: Vec<String> = items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                .collect();
            format!("`{}`", items.join(","))
        }
        Some(other) => format!("`{other}`"),
    }
}

/// The Markdown table (what `sesame config-reference` prints).
pub fn markdown() -> String {
    let mut out = String::from("| variable | default | meaning |\n|---|---|---|\n");
    for s in settings() {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            s.variable,
            s.default.replace('|', "\\|"),
            s.meaning.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_config_field_is_in_the_reference() {
        let defaults = serde_json::to_value(Config::default()).unwrap_or_default();
        let fields: Vec<String> = settings().into_iter().map(|s| s.field).collect();
        let Some(keys) = defaults.as_object() else {
            unreachable!("Config serialises to an object");
        };
        for key in keys.keys() {
            assert!(fields.contains(key), "{key} is missing from the reference");
        }
        assert_eq!(fields.len(), keys.len());
    }

    #[test]
    fn deploy_md_holds_the_current_reference() {
        let doc = include_str!("../../../docs/DEPLOY.md");
        let block = doc
            .split_once("<!-- config-reference:start -->\n")
            .and_then(|(_, rest)| rest.split_once("<!-- config-reference:end -->"))
            .map(|(block, _)| block);
        assert_eq!(
            block,
            Some(markdown().as_str()),
            "docs/DEPLOY.md's configuration reference is out of date: replace the block with \
             the output of `sesame config-reference`"
        );
    }
}
