//! Policy documents in and out. YAML in (JSON too: it is YAML), read in three passes that each
//! name the JSON pointer of what is wrong: syntax, then types (one error, where serde stops),
//! then every rule the types cannot express (all errors, see `validate`).

use serde_json::Value;
use serde_path_to_error::Segment;

use crate::validation::{ValidationErrors, pointer_token};

use super::{Policy, validate};

impl Policy {
    /// Read and validate a policy document. Every error names the RFC 6901 pointer of the field
    /// at fault (`""` for the document as a whole, e.g. a YAML syntax error).
    pub fn parse(text: &str) -> Result<Policy, ValidationErrors> {
        let document = document_value(text)?;
        named_fields_only(&document)?;
        let policy: Policy = serde_path_to_error::deserialize(&document)
            .map_err(|e| ValidationErrors::single(pointer(e.path()), e.inner().to_string()))?;
        validate::check(&policy, &document).into_result(policy)
    }

    /// The policy as a YAML document, for display; [`Policy::parse`] reads it back.
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).expect("a policy always serialises to YAML")
    }
}

/// The document as a JSON value, so YAML and JSON share one path. Read through serde_yaml's own
/// value first: it rejects a key given twice, which a JSON value would silently collapse.
fn document_value(text: &str) -> Result<Value, ValidationErrors> {
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| syntax_error(&e))?;
    if yaml.is_null() {
        return Err(ValidationErrors::single("", "the policy document is empty"));
    }
    serde_json::to_value(&yaml)
        .map_err(|e| ValidationErrors::single("", format!("not a policy document: {e} (keys must be strings)")))
}

/// Where the document holds a struct (a mapping of named fields); `*` is any key or index.
const STRUCTS: &[&[&str]] = &[
    &[],
    &["scope"],
    &["provenance"],
    &["severity", "*"],
    &["categories", "*"],
    &["paths", "*"],
    &["agents", "*"],
    &["agents", "*", "severity", "*"],
    &["agents", "*", "categories", "*"],
];

/// serde would read a struct from a list too, taking fields by position; a policy's fields are
/// only ever named, so a list where a mapping belongs is an error.
fn named_fields_only(document: &Value) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    for shape in STRUCTS {
        lists_at(document, shape, String::new(), &mut errors);
    }
    errors.into_result(())
}

fn lists_at(value: &Value, shape: &[&str], at: String, errors: &mut ValidationErrors) {
    let Some((step, rest)) = shape.split_first() else {
        if value.is_array() {
            errors.push(at, "invalid type: sequence, expected a mapping of named fields");
        }
        return;
    };
    match value {
        Value::Object(fields) => {
            for (key, item) in fields.iter().filter(|(key, _)| *step == "*" || step == key) {
                lists_at(item, rest, format!("{at}/{}", pointer_token(key)), errors);
            }
        }
        Value::Array(items) if *step == "*" => {
            for (i, item) in items.iter().enumerate() {
                lists_at(item, rest, format!("{at}/{i}"), errors);
            }
        }
        _ => {}
    }
}

fn syntax_error(e: &serde_yaml::Error) -> ValidationErrors {
    let message = e.to_string();
    let detail = match e.location() {
        Some(at) if !message.contains(" at line ") => {
            format!("not valid YAML: {message} at line {} column {}", at.line(), at.column())
        }
        _ => format!("not valid YAML: {message}"),
    };
    ValidationErrors::single("", detail)
}

/// The RFC 6901 pointer of a deserialisation error's path. A segment serde cannot name ends the
/// pointer at the last one it could.
fn pointer(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path {
        let token = match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } => pointer_token(key),
            Segment::Enum { variant } => pointer_token(variant),
            Segment::Unknown => break,
        };
        out.push('/');
        out.push_str(&token);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::FieldError;

    fn errors(text: &str) -> Vec<FieldError> {
        Policy::parse(text).expect_err("the document is invalid").0
    }

    #[test]
    fn a_minimal_document_is_a_policy_with_defaults() {
        let p = Policy::parse("id: minimal\n").unwrap();
        assert_eq!(p.id, "minimal");
        assert_eq!(p.api_version, super::super::PolicyApiVersion::V1);
        assert!(p.severity.is_empty() && p.paths.is_empty() && p.scope.is_everywhere());
        assert_eq!(p.priority, 0);
    }

    #[test]
    fn json_documents_are_read_the_same_way() {
        let yaml = Policy::parse("id: p\nseverity:\n  high: {warn_at: 1}\n").unwrap();
        let json = Policy::parse(r#"{"id": "p", "severity": {"high": {"warn_at": 1}}}"#).unwrap();
        assert_eq!(yaml, json);
    }

    #[test]
    fn a_yaml_syntax_error_is_one_error_for_the_whole_document_with_its_line() {
        let e = errors("id: p\nseverity: [1\n");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].pointer, "");
        assert!(e[0].detail.contains("line 3"), "{}", e[0].detail);
    }

    #[test]
    fn a_key_given_twice_is_an_error() {
        let e = errors("severity:\n  high: {warn_at: 1}\n  high: {warn_at: 2}\n");
        assert_eq!(e[0].pointer, "");
        assert!(e[0].detail.contains("duplicate"), "{}", e[0].detail);
    }

    #[test]
    fn an_empty_document_is_an_error() {
        assert_eq!(errors("")[0].detail, "the policy document is empty");
        assert_eq!(errors("# only a comment\n")[0].pointer, "");
    }

    #[test]
    fn a_type_error_names_the_field_s_pointer() {
        let e = errors("paths:\n  - name: w\n    match: ['a/**']\n    outcome: maybe\n");
        assert_eq!(e[0].pointer, "/paths/0/outcome");
        assert!(e[0].detail.contains("unknown variant `maybe`"), "{}", e[0].detail);
        assert_eq!(errors("priority: high\n")[0].pointer, "/priority");
    }

    #[test]
    fn a_list_where_a_mapping_belongs_is_a_type_error() {
        assert_eq!(errors("[1, 2]\n")[0].pointer, "");
        let e = errors("severity: {high: [1, 3]}\npaths: [[w, ['a/**']]]\n");
        let pointers: Vec<&str> = e.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/severity/high", "/paths/0"]);
        assert!(e[0].detail.contains("expected a mapping"), "{}", e[0].detail);
    }

    #[test]
    fn a_key_with_a_slash_is_escaped_in_the_pointer() {
        let e = errors("agents:\n  acme/bot:\n    severity: {high: {warn_at: x}}\n");
        assert_eq!(e[0].pointer, "/agents/acme~1bot/severity/high/warn_at");
    }

    #[test]
    fn the_yaml_form_reads_back_as_the_same_policy() {
        let p = Policy::default();
        let yaml = p.to_yaml();
        assert!(yaml.starts_with("apiVersion: provenance.dev/policy/v1\n"), "{yaml}");
        assert_eq!(Policy::parse(&yaml).unwrap(), p);
    }
}
