//! Pattern rule packs: the YAML schema, loading and validation, and compiled rules.
//!
//! A rule file is a YAML mapping with an optional `vars` table (named regex fragments, spliced
//! into patterns as `{{name}}`) and a `rules` list. Loading validates every rule — required
//! fields, identifiers, regexes, the secret group, and that every positive example matches and
//! no negative example does — so a broken rule never reaches a scan. Errors name the file and
//! the rule.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::{Arc, LazyLock, OnceLock};

use provenance_core::finding::{RuleInfo, Severity};
use provenance_core::language::normalise_language;
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Deserializer, Serialize};

/// The `languages` entry that makes a rule apply to every line, whatever its language.
pub const ANY_LANGUAGE: &str = "any";

/// A compiled regex may not exceed this many bytes (the `regex` crate's own default is 10 MiB).
const REGEX_SIZE_LIMIT: usize = 4 * 1024 * 1024;

/// Why a rule pack could not be loaded. Every variant names the file; rule errors name the rule
/// (`#N` when the rule has no usable `id`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulePackError {
    #[error("{file}: invalid rule file: {message}")]
    File { file: String, message: String },
    #[error("{file}: rule {rule_id}: {message}")]
    Rule { file: String, rule_id: String, message: String },
    #[error("{file}: rule {rule_id}: duplicate rule id (first defined in {first_file})")]
    DuplicateId { file: String, rule_id: String, first_file: String },
    #[error("rule pack digest: {0}")]
    Digest(String),
    /// The combined regex of a language's rules (the prefilter) exceeds its size limit.
    #[error("rule pack prefilter: {0}")]
    Prefilter(String),
}

impl RulePackError {
    /// The id of the offending rule, when the error is about one rule.
    pub fn rule_id(&self) -> Option<&str> {
        match self {
            Self::Rule { rule_id, .. } | Self::DuplicateId { rule_id, .. } => Some(rule_id),
            Self::File { .. } | Self::Digest(_) | Self::Prefilter(_) => None,
        }
    }

    /// The rule file the error is in, if any.
    pub fn file(&self) -> Option<&str> {
        match self {
            Self::File { file, .. } | Self::Rule { file, .. } | Self::DuplicateId { file, .. } => Some(file),
            Self::Digest(_) | Self::Prefilter(_) => None,
        }
    }
}

/// One rule as written in YAML (after `{{var}}` expansion). This is what the rule-pack digest
/// covers, so every field that changes behaviour or presentation is part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    #[serde(deserialize_with = "string_or_number")]
    pub version: String,
    pub name: String,
    /// The finding message; `{{match}}` is replaced by the matched text (redacted for secrets).
    pub message: String,
    pub description: String,
    pub help: String,
    pub severity: Severity,
    pub category: String,
    #[serde(default)]
    pub cwe: Vec<String>,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub languages: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_patterns: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretSpec>,
    pub examples: Examples,
}

/// Secret handling: the capture group holding the secret, and the Shannon entropy (bits per
/// character) it must reach to count. The group is redacted wherever the line is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSpec {
    pub group: usize,
    #[serde(default)]
    pub min_entropy: f64,
}

/// Lines the rule must report (`positive`) and must not report (`negative`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    pub positive: Vec<String>,
    pub negative: Vec<String>,
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        S(String),
        I(i64),
        F(f64),
    }
    Ok(match V::deserialize(d)? {
        V::S(s) => s,
        V::I(i) => i.to_string(),
        V::F(f) => f.to_string(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    vars: BTreeMap<String, String>,
    rules: Vec<serde_yaml::Value>,
}

/// One match of a rule on a line: byte offsets into the line, and the secret's span if the rule
/// is a secret rule and the secret group took part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleMatch {
    pub start: usize,
    pub end: usize,
    pub secret: Option<Range<usize>>,
}

/// A validated rule with its regexes compiled.
#[derive(Debug, Clone)]
pub struct PatternRule {
    spec: RuleSpec,
    file: String,
    any_language: bool,
    /// The compiled regexes: at load for a pack being validated, on first use for the bundled
    /// pack (compiling a regex with Unicode classes under a repetition is most of a start-up
    /// otherwise, and most rules never see a line their prefilter lets through). Clones share
    /// them.
    regexes: Arc<OnceLock<Regexes>>,
}

#[derive(Debug, Default)]
struct Regexes {
    patterns: Vec<Regex>,
    not_patterns: Vec<Regex>,
}

impl Regexes {
    fn compile(spec: &RuleSpec) -> Result<Self, String> {
        let sources: Vec<String> = spec.pattern.iter().chain(&spec.patterns).cloned().collect();
        Ok(Self {
            patterns: compile_all(&sources, "pattern")?,
            not_patterns: compile_all(&spec.not_patterns, "not_pattern")?,
        })
    }
}

impl PatternRule {
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// The rule as written (after `{{var}}` expansion and language normalisation).
    pub fn spec(&self) -> &RuleSpec {
        &self.spec
    }

    /// The rule file it came from.
    pub fn source_file(&self) -> &str {
        &self.file
    }

    /// The rule's metadata for capabilities and SARIF.
    pub fn info(&self) -> RuleInfo {
        let s = &self.spec;
        RuleInfo {
            id: s.id.clone(),
            version: s.version.clone(),
            name: s.name.clone(),
            short_description: s.name.clone(),
            full_description: s.description.clone(),
            help: s.help.clone(),
            severity: s.severity,
            category: s.category.clone(),
            languages: s.languages.clone(),
            cwe: s.cwe.clone(),
            references: s.references.clone(),
            tags: s.tags.clone(),
        }
    }

    /// Whether the rule applies to a line of this (normalised) language. `any` rules apply to
    /// every line, including lines of unknown language.
    pub fn applies_to(&self, language: Option<&str>) -> bool {
        self.any_language || language.is_some_and(|l| self.spec.languages.iter().any(|x| x == l))
    }

    /// Whether the rule applies to every line (`languages: [any]`).
    pub fn is_any_language(&self) -> bool {
        self.any_language
    }

    /// The rule's positive regexes, as written (after `{{var}}` expansion).
    pub(crate) fn pattern_sources(&self) -> impl Iterator<Item = &str> {
        self.spec.pattern.iter().chain(&self.spec.patterns).map(String::as_str)
    }

    /// Whether the rule reports this line (regexes, `not_patterns` and the entropy check; the
    /// language is not considered).
    pub fn matches_line(&self, line: &str) -> bool {
        !self.find_all(line).is_empty()
    }

    /// Every qualifying match on the line, ordered by position; empty when a `not_pattern`
    /// matches the line.
    pub(crate) fn find_all(&self, line: &str) -> Vec<RuleMatch> {
        let mut out = Vec::new();
        let regexes = self.regexes();
        for re in &regexes.patterns {
            match &self.spec.secret {
                None => {
                    for m in re.find_iter(line) {
                        if !m.is_empty() {
                            out.push(RuleMatch { start: m.start(), end: m.end(), secret: None });
                        }
                    }
                }
                Some(secret) => {
                    for caps in re.captures_iter(line) {
                        let Some(whole) = caps.get(0).filter(|m| !m.is_empty()) else { continue };
                        let group = caps.get(secret.group).filter(|g| !g.is_empty());
                        let span = match group {
                            Some(g) if shannon_entropy(g.as_str()) >= secret.min_entropy => Some(g.range()),
                            Some(_) => continue,
                            None if secret.min_entropy > 0.0 => continue,
                            None => None,
                        };
                        out.push(RuleMatch { start: whole.start(), end: whole.end(), secret: span });
                    }
                }
            }
        }
        if out.is_empty() || regexes.not_patterns.iter().any(|re| re.is_match(line)) {
            return Vec::new();
        }
        out.sort_by_key(|m| (m.start, m.end));
        out.dedup();
        out
    }

    fn regexes(&self) -> &Regexes {
        // Only the bundled pack compiles lazily, and the test suite compiles all its rules; a
        // rule that still failed to compile would match nothing.
        self.regexes.get_or_init(|| Regexes::compile(&self.spec).unwrap_or_default())
    }

    fn compile(
        mut spec: RuleSpec,
        file: &str,
        vars: &BTreeMap<String, String>,
        validate: bool,
    ) -> Result<Self, RulePackError> {
        let id = spec.id.clone();
        let err = |message: String| RulePackError::Rule { file: file.to_string(), rule_id: id.clone(), message };

        check_id(&spec.id).map_err(&err)?;
        for (field, value) in [
            ("version", &spec.version),
            ("name", &spec.name),
            ("message", &spec.message),
            ("description", &spec.description),
            ("help", &spec.help),
        ] {
            if value.trim().is_empty() {
                return Err(err(format!("`{field}` must not be empty")));
            }
        }
        if spec.category.is_empty()
            || !spec.category.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(err("`category` must be lower-case letters, digits or '_' (e.g. `sqli`)".into()));
        }
        check_cwe(&spec.cwe).map_err(&err)?;
        if spec.languages.is_empty() {
            return Err(err("`languages` must list at least one language (or `any`)".into()));
        }
        spec.languages = spec.languages.iter().map(|l| normalise_language(l)).collect();
        if let Some(bad) = spec.languages.iter().find(|l| l.is_empty()) {
            return Err(err(format!("`languages` entry {bad:?} is empty")));
        }
        let any_language = spec.languages.iter().any(|l| l == ANY_LANGUAGE);

        let mut sources = match (spec.pattern.take(), std::mem::take(&mut spec.patterns)) {
            (Some(p), ps) if ps.is_empty() => vec![p],
            (None, ps) if !ps.is_empty() => ps,
            (None, _) => return Err(err("one of `pattern` or `patterns` is required".into())),
            (Some(_), _) => return Err(err("give either `pattern` or `patterns`, not both".into())),
        };
        for p in &mut sources {
            *p = expand_vars(p, vars).map_err(&err)?;
        }
        let mut not_sources = std::mem::take(&mut spec.not_patterns);
        for p in &mut not_sources {
            *p = expand_vars(p, vars).map_err(&err)?;
        }
        if sources.iter().chain(&not_sources).any(|p| p.trim().is_empty()) {
            return Err(err("empty pattern".into()));
        }
        if sources.len() == 1 {
            spec.pattern = sources.pop();
        } else {
            spec.patterns = sources;
        }
        spec.not_patterns = not_sources;

        if let Some(secret) = &spec.secret
            && (!secret.min_entropy.is_finite() || secret.min_entropy < 0.0)
        {
            return Err(err("`secret.min_entropy` must be a non-negative number".into()));
        }
        let regexes = Arc::new(OnceLock::new());
        if validate {
            let compiled = Regexes::compile(&spec).map_err(&err)?;
            if let Some(secret) = &spec.secret
                && let Some(re) = compiled.patterns.iter().find(|re| secret.group >= re.captures_len())
            {
                return Err(err(format!(
                    "`secret.group` is {} but pattern {:?} has only {} capture group(s)",
                    secret.group,
                    re.as_str(),
                    re.captures_len() - 1
                )));
            }
            let _ = regexes.set(compiled);
        }

        let rule = Self { spec, file: file.to_string(), any_language, regexes };
        let examples = &rule.spec.examples;
        if examples.positive.is_empty() || examples.negative.is_empty() {
            return Err(err("`examples` needs at least one `positive` and one `negative` line".into()));
        }
        if let Some(line) = examples.positive.iter().find(|l| validate && !rule.matches_line(l)) {
            return Err(err(format!("positive example does not match: {line:?}")));
        }
        if let Some(line) = examples.negative.iter().find(|l| validate && rule.matches_line(l)) {
            return Err(err(format!("negative example matches: {line:?}")));
        }
        Ok(rule)
    }
}

/// A rule id must be lower-case letters, digits, '.', '-' or '_', starting with a letter or digit.
pub(crate) fn check_id(id: &str) -> Result<(), String> {
    if valid_id(id) {
        Ok(())
    } else {
        Err("`id` must be lower-case letters, digits, '.', '-' or '_', starting with a letter or digit".into())
    }
}

/// Every CWE reference must look like `CWE-89`.
pub(crate) fn check_cwe(cwe: &[String]) -> Result<(), String> {
    match cwe.iter().find(|c| !valid_cwe(c)) {
        Some(bad) => Err(format!("`cwe` entry {bad:?} must look like CWE-89")),
        None => Ok(()),
    }
}

fn valid_id(id: &str) -> bool {
    id.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
}

fn valid_cwe(cwe: &str) -> bool {
    cwe.strip_prefix("CWE-").is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

fn valid_var_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

static VAR_REF: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a constant pattern
    Regex::new(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}").unwrap()
});

/// Splice `{{name}}` references to the file's `vars` into a pattern.
fn expand_vars(pattern: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut unknown = None;
    let out = VAR_REF.replace_all(pattern, |caps: &regex::Captures<'_>| match vars.get(&caps[1]) {
        Some(v) => v.clone(),
        None => {
            unknown.get_or_insert_with(|| caps[1].to_string());
            caps[0].to_string()
        }
    });
    match unknown {
        Some(name) => Err(format!("pattern uses unknown variable {{{{{name}}}}}")),
        None => Ok(out.into_owned()),
    }
}

fn compile_all(sources: &[String], what: &str) -> Result<Vec<Regex>, String> {
    sources
        .iter()
        .map(|p| {
            if p.trim().is_empty() {
                return Err(format!("empty {what}"));
            }
            RegexBuilder::new(p).size_limit(REGEX_SIZE_LIMIT).build().map_err(|e| format!("invalid {what} regex: {e}"))
        })
        .collect()
}

/// Load and validate rule files, given as `(file name, YAML text)`. Rules come back sorted by
/// id; ids must be unique across all files.
pub fn load_rule_pack(yaml_docs: &[(&str, &str)]) -> Result<Vec<PatternRule>, RulePackError> {
    load(yaml_docs, true)
}

/// [`load_rule_pack`] without running each rule's examples and with each rule's regexes
/// compiled on first use: for the bundled pack, which the test suite validates, so a process
/// does not pay for that at every start.
pub(crate) fn load_trusted_rule_pack(yaml_docs: &[(&str, &str)]) -> Result<Vec<PatternRule>, RulePackError> {
    load(yaml_docs, false)
}

fn load(yaml_docs: &[(&str, &str)], validate: bool) -> Result<Vec<PatternRule>, RulePackError> {
    let mut rules = Vec::new();
    for (file, text) in yaml_docs {
        let parsed: RuleFile = serde_yaml::from_str(text)
            .map_err(|e| RulePackError::File { file: file.to_string(), message: e.to_string() })?;
        if let Some(bad) = parsed.vars.keys().find(|k| !valid_var_name(k)) {
            return Err(RulePackError::File {
                file: file.to_string(),
                message: format!("variable name {bad:?} must be letters, digits or '_'"),
            });
        }
        for (index, value) in parsed.rules.into_iter().enumerate() {
            let label = value
                .get("id")
                .and_then(serde_yaml::Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .map_or_else(|| format!("#{}", index + 1), str::to_string);
            let spec: RuleSpec = serde_yaml::from_value(value).map_err(|e| RulePackError::Rule {
                file: file.to_string(),
                rule_id: label.clone(),
                message: e.to_string(),
            })?;
            rules.push(PatternRule::compile(spec, file, &parsed.vars, validate)?);
        }
    }
    check_unique(&rules)?;
    rules.sort_by(|a, b| a.id().cmp(b.id()));
    Ok(rules)
}

pub(crate) fn check_unique(rules: &[PatternRule]) -> Result<(), RulePackError> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for r in rules {
        if let Some(first) = seen.insert(r.id(), r.source_file()) {
            return Err(RulePackError::DuplicateId {
                file: r.source_file().to_string(),
                rule_id: r.id().to_string(),
                first_file: first.to_string(),
            });
        }
    }
    Ok(())
}

/// sha256 of the canonical JSON (RFC 8785) of the rule specs sorted by id.
pub fn rule_pack_digest(rules: &[PatternRule]) -> Result<String, RulePackError> {
    let mut specs: Vec<&RuleSpec> = rules.iter().map(PatternRule::spec).collect();
    specs.sort_by(|a, b| a.id.cmp(&b.id));
    provenance_core::digest::canonical_sha256(&specs).map_err(|e| RulePackError::Digest(e.to_string()))
}

/// Shannon entropy of the characters of `s`, in bits per character.
pub fn shannon_entropy(s: &str) -> f64 {
    let mut counts: HashMap<char, usize> = HashMap::new();
    let mut total = 0usize;
    for c in s.chars() {
        *counts.entry(c).or_default() += 1;
        total += 1;
    }
    if total == 0 {
        return 0.0;
    }
    let n = total as f64;
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
rules:
  - id: test.minimal
    version: 1
    name: Minimal
    message: found it
    description: A test rule.
    help: Remove it.
    severity: low
    category: test
    languages: [Python]
    pattern: 'forbidden\('
    examples:
      positive: ['forbidden()']
      negative: ['allowed()']
"#;

    fn load_one(yaml: &str) -> Result<Vec<PatternRule>, RulePackError> {
        load_rule_pack(&[("test.yaml", yaml)])
    }

    #[test]
    fn entropy_is_zero_for_repetition_and_log2_n_for_distinct_characters() {
        assert_eq!(shannon_entropy(""), 0.0);
        assert_eq!(shannon_entropy("aaaa"), 0.0);
        assert!((shannon_entropy("abcd") - 2.0).abs() < 1e-9);
        assert!((shannon_entropy("abcdefgh") - 3.0).abs() < 1e-9);
    }

    #[test]
    fn a_numeric_version_is_read_as_a_string_and_languages_are_normalised() {
        let rules = load_one(MINIMAL).unwrap();
        assert_eq!(rules[0].spec().version, "1");
        assert_eq!(rules[0].spec().languages, vec!["python".to_string()]);
        assert!(rules[0].applies_to(Some("python")));
        assert!(!rules[0].applies_to(None));
    }

    #[test]
    fn an_unknown_field_is_reported_with_the_rule_id() {
        let yaml = MINIMAL.replace("    pattern:", "    not_pattern: 'x'\n    pattern:");
        let err = load_one(&yaml).unwrap_err();
        assert_eq!(err.rule_id(), Some("test.minimal"));
        assert!(err.to_string().contains("not_pattern"), "{err}");
    }

    #[test]
    fn a_rule_without_an_id_is_reported_by_position() {
        let yaml = MINIMAL.replace("  - id: test.minimal\n    version", "  - version");
        let err = load_one(&yaml).unwrap_err();
        assert_eq!(err.rule_id(), Some("#1"));
        assert!(err.to_string().contains("missing field `id`"), "{err}");
    }

    #[test]
    fn both_pattern_and_patterns_is_an_error() {
        let yaml = MINIMAL.replace("    pattern:", "    patterns: ['a']\n    pattern:");
        let err = load_one(&yaml).unwrap_err();
        assert!(err.to_string().contains("not both"), "{err}");
    }

    #[test]
    fn an_unknown_variable_is_an_error() {
        let yaml = MINIMAL.replace(r"'forbidden\('", r"'{{nope}}forbidden\('");
        let err = load_one(&yaml).unwrap_err();
        assert!(err.to_string().contains("unknown variable {{nope}}"), "{err}");
    }

    #[test]
    fn variables_are_spliced_into_patterns_and_the_spec_keeps_the_expansion() {
        let yaml = format!("vars:\n  call: 'forbidden\\('\n{}", MINIMAL.replace(r"'forbidden\('", "'{{call}}'"));
        let rules = load_one(&yaml).unwrap();
        assert_eq!(rules[0].spec().pattern.as_deref(), Some(r"forbidden\("));
    }

    #[test]
    fn a_secret_group_beyond_the_pattern_groups_is_an_error() {
        let yaml = MINIMAL.replace("    pattern:", "    secret: { group: 2 }\n    pattern:");
        let err = load_one(&yaml).unwrap_err();
        assert!(err.to_string().contains("secret.group"), "{err}");
    }

    #[test]
    fn a_negative_example_that_matches_is_an_error() {
        let yaml = MINIMAL.replace("negative: ['allowed()']", "negative: ['forbidden(1)']");
        let err = load_one(&yaml).unwrap_err();
        assert!(err.to_string().contains("negative example matches"), "{err}");
    }

    #[test]
    fn a_rule_needs_examples_of_both_kinds() {
        let yaml = MINIMAL.replace("negative: ['allowed()']", "negative: []");
        let err = load_one(&yaml).unwrap_err();
        assert!(err.to_string().contains("at least one"), "{err}");
    }

    #[test]
    fn duplicate_ids_across_files_are_an_error() {
        let err = load_rule_pack(&[("a.yaml", MINIMAL), ("b.yaml", MINIMAL)]).unwrap_err();
        assert_eq!(
            err,
            RulePackError::DuplicateId {
                file: "b.yaml".into(),
                rule_id: "test.minimal".into(),
                first_file: "a.yaml".into()
            }
        );
    }

    #[test]
    fn a_yaml_syntax_error_names_the_file() {
        let err = load_one("rules: [").unwrap_err();
        assert_eq!(err.file(), Some("test.yaml"));
        assert_eq!(err.rule_id(), None);
    }
}
