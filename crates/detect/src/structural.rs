//! The structural engine: [ast-grep](https://ast-grep.github.io) rules over tree-sitter syntax
//! trees (`engine = "ast-grep"`).
//!
//! Rule files are ast-grep rule YAML (one rule per YAML document: `id`, `language`, `rule`,
//! `message`, `severity`, `note`, `constraints`, `utils`, `metadata`), so existing ast-grep rules
//! load unchanged. Provenance reads its own fields from `metadata` (`severity` on our five-level
//! scale, `category`, `cwe`, `references`, `examples`, …; see `rules/structural/README.md`).
//!
//! Each file is parsed once for all the rules of its language. Before parsing, a literal
//! prefilter asks whether the file contains the identifiers each rule's patterns need (as
//! Semgrep does); a file no rule can match is never parsed.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use aho_corasick::{AhoCorasick, MatchKind};
use ast_grep_config::{GlobalRules, RuleConfig, SerializableRuleConfig, Severity as AstSeverity};
use ast_grep_core::Language as _;
use ast_grep_core::tree_sitter::LanguageExt as _;
use ast_grep_language::SupportLang;
use provenance_core::analysis::FileContent;
use provenance_core::finding::{Detection, Location, RuleInfo, Severity};
use provenance_core::language::{infer_language, normalise_language};
use provenance_core::line::ChangedLine;
use provenance_core::names::RepoPath;
use serde::Deserialize;

use crate::pattern::{MAX_SNIPPET_CHARS, SecretRedactor, cap_chars, declared_language, reported_span};
use crate::rulepack::{Examples, RulePackError, check_cwe, check_id};
use crate::{Capabilities, DetectInput, Detector, DetectorOutput};

/// The bundled structural rule files, `(file name, YAML)`, as compiled into the binary.
pub const BUNDLED_STRUCTURAL_RULE_FILES: &[(&str, &str)] = &[
    ("structural/javascript.yml", include_str!("../rules/structural/javascript.yml")),
    ("structural/python.yml", include_str!("../rules/structural/python.yml")),
    ("structural/ruby.yml", include_str!("../rules/structural/ruby.yml")),
    ("structural/rust.yml", include_str!("../rules/structural/rust.yml")),
];

/// The ast-grep version the engine is built on (pinned in the workspace manifest).
pub const AST_GREP_VERSION: &str = "0.40.0";

/// Messages (after meta-variable interpolation) are capped at this many characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// Provenance's fields in a structural rule's `metadata`. All are optional for a plain ast-grep
/// rule; the bundled pack gives them all (a test checks).
#[derive(Debug, Clone, Default, Deserialize)]
struct OurMetadata {
    #[serde(default)]
    version: Option<serde_yaml::Value>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    cwe: Vec<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    examples: Option<Examples>,
}

/// A validated structural rule, compiled for each language it applies to.
pub struct StructuralRule {
    info: RuleInfo,
    file: String,
    /// The YAML document as JSON: what the rule-pack digest covers.
    source: serde_json::Value,
    examples: Option<Examples>,
    /// One compiled rule per tree-sitter language (a `javascript` rule also runs on TypeScript
    /// and TSX files, a `typescript` rule on TSX files).
    compiled: Vec<RuleConfig<SupportLang>>,
    /// What a file must contain for the rule to be able to match.
    requirement: Requirement,
}

impl std::fmt::Debug for StructuralRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StructuralRule").field("id", &self.info.id).field("file", &self.file).finish_non_exhaustive()
    }
}

impl StructuralRule {
    pub fn id(&self) -> &str {
        &self.info.id
    }

    pub fn info(&self) -> &RuleInfo {
        &self.info
    }

    pub fn source_file(&self) -> &str {
        &self.file
    }

    /// The rule's code examples, if it has any (every bundled rule does).
    pub fn examples(&self) -> Option<&Examples> {
        self.examples.as_ref()
    }

    /// The languages the rule's compiled forms run on.
    fn languages(&self) -> impl Iterator<Item = SupportLang> + '_ {
        self.compiled.iter().map(|c| c.language)
    }

    /// The number of matches of the rule in `code`, parsed as a whole file of the rule's own
    /// language.
    pub fn count_matches(&self, code: &str) -> usize {
        let Some(config) = self.compiled.first() else { return 0 };
        let root = config.language.ast_grep(code);
        root.root().find_all(&config.matcher).count()
    }
}

/// Load and validate structural rule files, given as `(file name, YAML text)`. A file holds one
/// or more rules as YAML documents separated by `---`. Rules come back sorted by id; ids must be
/// unique across the files.
pub fn load_structural_rules(yaml_docs: &[(&str, &str)]) -> Result<Vec<StructuralRule>, RulePackError> {
    load(yaml_docs, true)
}

/// [`load_structural_rules`] without running each rule's examples: for the bundled pack, whose
/// examples the test suite runs.
fn load_trusted(yaml_docs: &[(&str, &str)]) -> Result<Vec<StructuralRule>, RulePackError> {
    load(yaml_docs, false)
}

fn load(yaml_docs: &[(&str, &str)], check_examples: bool) -> Result<Vec<StructuralRule>, RulePackError> {
    let mut rules = Vec::new();
    for (file, text) in yaml_docs {
        for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
            let value = serde_yaml::Value::deserialize(document)
                .map_err(|e| RulePackError::File { file: file.to_string(), message: e.to_string() })?;
            if value.is_null() {
                continue;
            }
            if let Some(rule) = StructuralRule::compile(value, file, index, check_examples)? {
                rules.push(rule);
            }
        }
    }
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for r in &rules {
        if let Some(first) = seen.insert(r.id(), &r.file) {
            return Err(RulePackError::DuplicateId {
                file: r.file.clone(),
                rule_id: r.id().to_string(),
                first_file: first.to_string(),
            });
        }
    }
    rules.sort_by(|a, b| a.id().cmp(b.id()));
    Ok(rules)
}

/// Whether a YAML document is a structural (ast-grep) rule rather than a pattern rule file: it
/// has a top-level `rule`.
pub fn is_structural_rule_file(text: &str) -> bool {
    serde_yaml::Deserializer::from_str(text).any(|document| {
        serde_yaml::Value::deserialize(document).is_ok_and(|v| v.get("rule").is_some() && v.get("language").is_some())
    })
}

impl StructuralRule {
    /// Compile one YAML document; `None` for a rule with `severity: off`.
    fn compile(
        value: serde_yaml::Value,
        file: &str,
        index: usize,
        check_examples: bool,
    ) -> Result<Option<Self>, RulePackError> {
        let label = value
            .get("id")
            .and_then(serde_yaml::Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map_or_else(|| format!("#{}", index + 1), str::to_string);
        let err = |message: String| RulePackError::Rule { file: file.to_string(), rule_id: label.clone(), message };

        for unsupported in ["files", "ignores", "fix", "rewriters", "transform"] {
            if value.get(unsupported).is_some() {
                return Err(err(format!(
                    "`{unsupported}` is not supported: a structural rule applies to every file of its language and only reports"
                )));
            }
        }
        let source = serde_json::to_value(&value).map_err(|e| err(format!("not representable as JSON: {e}")))?;
        let config: SerializableRuleConfig<SupportLang> =
            serde_yaml::from_value(value.clone()).map_err(|e| err(e.to_string()))?;
        if matches!(config.severity, AstSeverity::Off) {
            return Ok(None);
        }
        check_id(&config.id).map_err(&err)?;
        if config.message.trim().is_empty() {
            return Err(err("`message` must not be empty".into()));
        }
        let metadata: OurMetadata = match value.get("metadata") {
            Some(m) => serde_yaml::from_value(m.clone()).map_err(|e| err(format!("metadata: {e}")))?,
            None => OurMetadata::default(),
        };
        if let Some(category) = &metadata.category
            && (category.is_empty()
                || !category.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        {
            return Err(err("`metadata.category` must be lower-case letters, digits or '_' (e.g. `sqli`)".into()));
        }
        check_cwe(&metadata.cwe).map_err(&err)?;

        let requirement =
            value.get("rule").map_or(Requirement::Always, |r| Requirement::of_rule(r, config.language.meta_var_char()));
        let mut compiled = Vec::new();
        for language in applicable_languages(config.language) {
            let mut variant = config.clone();
            variant.language = language;
            let rule = RuleConfig::try_from(variant, &GlobalRules::default())
                .map_err(|e| err(format!("{e}{}", error_chain(&e))))?;
            compiled.push(rule);
        }

        let severity = metadata.severity.unwrap_or(match config.severity {
            AstSeverity::Error => Severity::High,
            AstSeverity::Warning => Severity::Medium,
            AstSeverity::Info => Severity::Low,
            AstSeverity::Hint | AstSeverity::Off => Severity::Info,
        });
        let version = match &metadata.version {
            None => "1".to_string(),
            Some(serde_yaml::Value::String(s)) => s.clone(),
            Some(serde_yaml::Value::Number(n)) => n.to_string(),
            Some(_) => return Err(err("`metadata.version` must be a string or a number".into())),
        };
        let languages: BTreeSet<String> = compiled.iter().map(|c| language_name(c.language)).collect();
        let name = metadata.name.clone().unwrap_or_else(|| config.id.clone());
        let info = RuleInfo {
            id: config.id.clone(),
            version,
            short_description: name.clone(),
            name,
            full_description: metadata.description.clone().unwrap_or_else(|| config.message.clone()),
            help: config.note.clone().unwrap_or_else(|| config.message.clone()),
            severity,
            category: metadata.category.clone().unwrap_or_else(|| "custom".into()),
            languages: languages.into_iter().collect(),
            cwe: metadata.cwe.clone(),
            references: metadata.references.iter().cloned().chain(config.url.clone()).collect(),
            tags: metadata.tags.clone(),
        };
        let rule = Self { info, file: file.to_string(), source, examples: metadata.examples, compiled, requirement };
        if let Some(examples) = rule.examples.as_ref().filter(|_| check_examples) {
            if let Some(code) = examples.positive.iter().find(|code| rule.count_matches(code) == 0) {
                return Err(err(format!("positive example does not match: {code:?}")));
            }
            if let Some(code) = examples.negative.iter().find(|code| rule.count_matches(code) > 0) {
                return Err(err(format!("negative example matches: {code:?}")));
            }
        }
        Ok(Some(rule))
    }
}

/// The error's sources, each after `: `.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = String::new();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The languages a rule written for `language` runs on: JavaScript patterns are valid TypeScript
/// and TSX, TypeScript patterns valid TSX.
fn applicable_languages(language: SupportLang) -> Vec<SupportLang> {
    match language {
        SupportLang::JavaScript => vec![SupportLang::JavaScript, SupportLang::TypeScript, SupportLang::Tsx],
        SupportLang::TypeScript => vec![SupportLang::TypeScript, SupportLang::Tsx],
        other => vec![other],
    }
}

/// Our name of a tree-sitter language (as [`infer_language`] names files).
fn language_name(language: SupportLang) -> String {
    match language {
        SupportLang::Bash => "shell".into(),
        SupportLang::Tsx => "typescript".into(),
        other => normalise_language(&other.to_string()),
    }
}

/// The tree-sitter language of a file: by its path, else by the language its lines declare.
fn tree_sitter_language(path: &RepoPath, declared: Option<&str>) -> Option<SupportLang> {
    if let Some(language) = SupportLang::from_path(path.as_str()) {
        return Some(language);
    }
    match declared.or_else(|| infer_language(path))? {
        "shell" => Some(SupportLang::Bash),
        "github-actions" => Some(SupportLang::Yaml),
        other => other.parse().ok(),
    }
}

/// A condition on the identifiers a file contains, derived from a rule: a file that does not
/// meet it cannot match the rule.
#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Always,
    /// An identifier, present as a whole word.
    Token(String),
    /// A literal string, present anywhere (from a regex).
    Literal(String),
    All(Vec<Requirement>),
    Any(Vec<Requirement>),
}

impl Requirement {
    /// From an ast-grep `rule` mapping. Each identifier in a `pattern` must occur in the matched
    /// code; `all` and relational sub-rules (`has`, `inside`, `follows`, `precedes`) must all
    /// hold; one of `any` must; the literals a `regex` cannot match without must occur. `kind`,
    /// `not`, `matches` and contextual patterns require nothing.
    fn of_rule(rule: &serde_yaml::Value, meta_var: char) -> Self {
        let Some(map) = rule.as_mapping() else { return Self::Always };
        let mut all = Vec::new();
        for (key, value) in map {
            match key.as_str() {
                Some("pattern") => {
                    if let Some(pattern) = value.as_str() {
                        all.extend(pattern_identifiers(pattern, meta_var).into_iter().map(Self::Token));
                    }
                }
                Some("regex") => {
                    if let Some(regex) = value.as_str() {
                        all.push(regex_requirement(regex));
                    }
                }
                Some("all") => {
                    if let Some(items) = value.as_sequence() {
                        all.extend(items.iter().map(|r| Self::of_rule(r, meta_var)));
                    }
                }
                Some("any") => {
                    if let Some(items) = value.as_sequence() {
                        all.push(Self::Any(items.iter().map(|r| Self::of_rule(r, meta_var)).collect()));
                    }
                }
                Some("has" | "inside" | "follows" | "precedes") => all.push(Self::of_rule(value, meta_var)),
                _ => {}
            }
        }
        Self::All(all).simplified()
    }

    fn simplified(self) -> Self {
        match self {
            Self::All(items) => {
                let mut items: Vec<Self> =
                    items.into_iter().map(Self::simplified).filter(|r| *r != Self::Always).collect();
                match items.len() {
                    0 => Self::Always,
                    1 => items.remove(0),
                    _ => Self::All(items),
                }
            }
            Self::Any(items) => {
                let mut items: Vec<Self> = items.into_iter().map(Self::simplified).collect();
                if items.is_empty() || items.contains(&Self::Always) {
                    Self::Always
                } else if items.len() == 1 {
                    items.remove(0)
                } else {
                    Self::Any(items)
                }
            }
            other => other,
        }
    }

    /// The needles it mentions: `(text, whole word)`.
    fn needles<'a>(&'a self, out: &mut BTreeSet<(&'a str, bool)>) {
        match self {
            Self::Always => {}
            Self::Token(t) => {
                out.insert((t, true));
            }
            Self::Literal(t) => {
                out.insert((t, false));
            }
            Self::All(items) | Self::Any(items) => items.iter().for_each(|r| r.needles(out)),
        }
    }

    /// Whether it holds, given which needles (`text`, `whole word`) are present.
    fn holds(&self, present: &dyn Fn(&str, bool) -> bool) -> bool {
        match self {
            Self::Always => true,
            Self::Token(t) => present(t, true),
            Self::Literal(t) => present(t, false),
            Self::All(items) => items.iter().all(|r| r.holds(present)),
            Self::Any(items) => items.iter().any(|r| r.holds(present)),
        }
    }
}

/// The literals a regex cannot match without (sound but not complete: a literal under a
/// case-insensitive flag, a class or an optional part requires nothing).
fn regex_requirement(source: &str) -> Requirement {
    use regex_syntax::hir::{Hir, HirKind};

    /// Literals shorter than this are too common to be worth looking for.
    const MIN_LITERAL: usize = 3;

    fn of(hir: &Hir) -> Requirement {
        match hir.kind() {
            HirKind::Literal(literal) => std::str::from_utf8(&literal.0)
                .ok()
                .filter(|s| s.len() >= MIN_LITERAL)
                .map_or(Requirement::Always, |s| Requirement::Literal(s.to_string())),
            HirKind::Capture(capture) => of(&capture.sub),
            HirKind::Repetition(repetition) if repetition.min >= 1 => of(&repetition.sub),
            HirKind::Concat(subs) => Requirement::All(subs.iter().map(of).collect()),
            HirKind::Alternation(subs) => Requirement::Any(subs.iter().map(of).collect()),
            _ => Requirement::Always,
        }
    }
    regex_syntax::parse(source).map_or(Requirement::Always, |hir| of(&hir))
}

/// The identifiers written in an ast-grep pattern, leaving out meta-variables (`$X`, `$$$ARGS`,
/// `$_`).
fn pattern_identifiers(pattern: &str, meta_var: char) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut chars = pattern.char_indices().peekable();
    let mut previous: Option<char> = None;
    while let Some((start, c)) = chars.next() {
        if c.is_ascii_alphabetic() || c == '_' {
            let mut end = start + c.len_utf8();
            while let Some(&(i, d)) = chars.peek() {
                if d.is_ascii_alphanumeric() || d == '_' {
                    end = i + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            let is_meta = matches!(previous, Some(p) if p == '$' || p == meta_var);
            if !is_meta {
                out.insert(pattern[start..end].to_string());
            }
            previous = pattern[..end].chars().last();
        } else {
            previous = Some(c);
        }
    }
    out
}

/// The rules of one tree-sitter language and the identifiers their requirements mention.
struct LanguageGroup {
    /// `(rule index, compiled variant index)`.
    rules: Vec<(usize, usize)>,
}

struct Inner {
    capabilities: Capabilities,
    rules: Vec<StructuralRule>,
    by_language: HashMap<SupportLang, LanguageGroup>,
    /// Every needle any requirement mentions (`text`, `whole word`), all found in one pass over
    /// a file.
    needles: Vec<(String, bool)>,
    /// Each needle's index in `needles`, by text: `[as a whole word, as a literal]`.
    needle_index: HashMap<String, [Option<usize>; 2]>,
    rule_index: HashMap<String, usize>,
    finder: Option<AhoCorasick>,
    redactor: SecretRedactor,
}

/// The ast-grep rule engine (`engine = "ast-grep"`). Cheap to clone.
#[derive(Clone)]
pub struct StructuralDetector {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for StructuralDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StructuralDetector").field("rules", &self.inner.rules.len()).finish_non_exhaustive()
    }
}

impl StructuralDetector {
    pub const NAME: &'static str = "provenance-structural";
    pub const ENGINE: &'static str = "ast-grep";

    /// A detector over the given rules; `redactor` redacts secrets in snippets and messages.
    pub fn new(rules: Vec<StructuralRule>, redactor: SecretRedactor) -> Result<Self, RulePackError> {
        let mut specs: Vec<&serde_json::Value> = rules.iter().map(|r| &r.source).collect();
        specs.sort_by_key(|v| v.get("id").and_then(serde_json::Value::as_str).map(str::to_string));
        let digest =
            provenance_core::digest::canonical_sha256(&specs).map_err(|e| RulePackError::Digest(e.to_string()))?;
        let capabilities = Capabilities {
            name: Self::NAME.to_string(),
            engine: Self::ENGINE.to_string(),
            version: format!("{} (ast-grep {AST_GREP_VERSION})", env!("CARGO_PKG_VERSION")),
            rules: rules.iter().map(|r| r.info.clone()).collect(),
            rulepack_sha256: digest,
        };
        let mut by_language: HashMap<SupportLang, LanguageGroup> = HashMap::new();
        for (index, rule) in rules.iter().enumerate() {
            for (variant, language) in rule.languages().enumerate() {
                by_language
                    .entry(language)
                    .or_insert_with(|| LanguageGroup { rules: Vec::new() })
                    .rules
                    .push((index, variant));
            }
        }
        let mut needles = BTreeSet::new();
        for rule in &rules {
            rule.requirement.needles(&mut needles);
        }
        let needles: Vec<(String, bool)> = needles.into_iter().map(|(t, word)| (t.to_string(), word)).collect();
        let mut needle_index: HashMap<String, [Option<usize>; 2]> = HashMap::new();
        for (i, (text, word)) in needles.iter().enumerate() {
            needle_index.entry(text.clone()).or_default()[usize::from(!*word)] = Some(i);
        }
        let finder = if needles.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(needles.iter().map(|(t, _)| t))
                    .map_err(|e| RulePackError::Prefilter(e.to_string()))?,
            )
        };
        let rule_index = rules.iter().enumerate().map(|(i, r)| (r.id().to_string(), i)).collect();
        let inner = Inner { capabilities, rules, by_language, needles, needle_index, rule_index, finder, redactor };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The detector with the bundled structural rules. Parsed and compiled once per process.
    pub fn bundled() -> Result<Self, RulePackError> {
        static BUNDLED: OnceLock<Result<StructuralDetector, RulePackError>> = OnceLock::new();
        BUNDLED
            .get_or_init(|| {
                let redactor = SecretRedactor::bundled()?;
                Self::new(load_trusted(BUNDLED_STRUCTURAL_RULE_FILES)?, redactor)
            })
            .clone()
    }

    pub fn rules(&self) -> &[StructuralRule] {
        &self.inner.rules
    }

    /// Which needles occur in `source` (those marked whole-word as whole identifiers).
    fn present_needles(&self, source: &str) -> Vec<bool> {
        let inner = &self.inner;
        let mut present = vec![false; inner.needles.len()];
        let Some(finder) = &inner.finder else { return present };
        let bytes = source.as_bytes();
        let mut remaining = present.len();
        for m in finder.find_overlapping_iter(source) {
            let index = m.pattern().as_usize();
            if present[index] {
                continue;
            }
            let before = m.start().checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(m.end()).copied();
            if inner.needles[index].1
                && (before.is_some_and(is_identifier_byte) || after.is_some_and(is_identifier_byte))
            {
                continue;
            }
            present[index] = true;
            remaining -= 1;
            if remaining == 0 {
                break;
            }
        }
        present
    }

    /// Scan one source text (a whole file, or a hunk starting at `first_line`) and append the
    /// matches `keep(start_line, end_line)` accepts.
    fn scan_source(
        &self,
        language: SupportLang,
        path: &RepoPath,
        source: &str,
        first_line: u32,
        keep: &dyn Fn(u32, u32) -> bool,
        out: &mut Vec<Detection>,
    ) {
        let inner = &self.inner;
        let Some(group) = inner.by_language.get(&language) else { return };
        let present = self.present_needles(source);
        let is_present = |t: &str, word: bool| {
            inner.needle_index.get(t).and_then(|at| at[usize::from(!word)]).is_some_and(|i| present[i])
        };
        let candidates: Vec<&RuleConfig<SupportLang>> = group
            .rules
            .iter()
            .filter(|(rule, _)| inner.rules[*rule].requirement.holds(&is_present))
            .map(|&(rule, variant)| &inner.rules[rule].compiled[variant])
            .collect();
        if candidates.is_empty() {
            return;
        }
        let root = language.ast_grep(source);
        // One traversal per candidate rule rather than ast-grep's `CombinedScan`, which also
        // honours inline `ast-grep-ignore` comments: here a finding is dismissed only through a
        // recorded suppression (who and why), never by a comment the change itself adds.
        for config in candidates {
            let Some(rule) = inner.rule_index.get(&config.id).map(|&i| &inner.rules[i]) else { continue };
            for m in root.root().find_all(&config.matcher) {
                let start = m.start_pos();
                let end = m.end_pos();
                let start_line = first_line.saturating_add(u32::try_from(start.line()).unwrap_or(u32::MAX));
                let end_line = first_line.saturating_add(u32::try_from(end.line()).unwrap_or(u32::MAX));
                if !keep(start_line, end_line) {
                    continue;
                }
                let text = m.text();
                let snippet = cap_chars(inner.redactor.redact_lines(&text).trim(), MAX_SNIPPET_CHARS);
                let message = cap_chars(&inner.redactor.redact_lines(&config.get_message(&m)), MAX_MESSAGE_CHARS);
                out.push(Detection {
                    rule_id: rule.info.id.clone(),
                    rule_version: rule.info.version.clone(),
                    category: rule.info.category.clone(),
                    severity: rule.info.severity,
                    message,
                    location: Location {
                        file_path: path.clone(),
                        start_line,
                        end_line,
                        start_column: u32::try_from(start.column(&m) + 1).unwrap_or(u32::MAX),
                        end_column: u32::try_from(end.column(&m) + 1).unwrap_or(u32::MAX),
                    },
                    snippet,
                    engine: Self::ENGINE.to_string(),
                });
            }
        }
    }
}

fn is_identifier_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Detector for StructuralDetector {
    fn capabilities(&self) -> &Capabilities {
        &self.inner.capabilities
    }

    fn detect(&self, input: &DetectInput<'_>, deadline: Instant) -> DetectorOutput {
        let mut detections = Vec::new();
        let mut files: HashMap<&RepoPath, &FileContent> = HashMap::new();
        for f in input.files {
            files.entry(&f.path).or_insert(f);
        }
        let mut by_path: std::collections::BTreeMap<&RepoPath, Vec<&ChangedLine>> = std::collections::BTreeMap::new();
        for l in input.lines {
            by_path.entry(&l.file_path).or_default().push(l);
        }

        for (path, mut lines) in by_path {
            if Instant::now() >= deadline {
                return DetectorOutput { detections, complete: false };
            }
            let declared = lines.iter().find_map(|l| declared_language(l));
            let Some(language) = tree_sitter_language(path, declared.as_deref()) else { continue };
            if !self.inner.by_language.contains_key(&language) {
                continue;
            }
            if let Some(file) = files.get(path) {
                // The whole file at head: parse it all, keep the matches the report mode wants.
                let changed: BTreeSet<u32> =
                    lines.iter().filter(|l| l.change_type.is_at_head()).map(|l| l.line_number).collect();
                let mode = input.report_mode;
                let keep = |start: u32, end: u32| reported_span(mode, &changed, start, end);
                self.scan_source(language, path, &file.content, 1, &keep, &mut detections);
            } else {
                // Hunks only: parse each run of consecutive submitted lines on its own.
                lines.sort_by_key(|l| l.line_number);
                for (first_line, text) in hunks(&lines) {
                    if Instant::now() >= deadline {
                        return DetectorOutput { detections, complete: false };
                    }
                    self.scan_source(language, path, &text, first_line, &|_, _| true, &mut detections);
                }
            }
        }
        DetectorOutput { detections, complete: true }
    }
}

/// Runs of consecutive lines (at head, with content) as `(first line number, text)`.
fn hunks(lines: &[&ChangedLine]) -> Vec<(u32, String)> {
    let mut out: Vec<(u32, String)> = Vec::new();
    let mut next_line = 0u32;
    for line in lines {
        if !line.change_type.is_at_head() {
            continue;
        }
        let Some(content) = line.content.as_deref() else { continue };
        let count = u32::try_from(content.lines().count().max(1)).unwrap_or(u32::MAX);
        match out.last_mut() {
            Some((_, text)) if line.line_number == next_line => {
                text.push('\n');
                text.push_str(content);
            }
            _ => out.push((line.line_number, content.to_string())),
        }
        next_line = line.line_number.saturating_add(count);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_identifiers_leave_out_meta_variables() {
        let ids = pattern_identifiers("subprocess.$FN($$$ARGS, shell=True, $_)", '$');
        assert_eq!(ids.into_iter().collect::<Vec<_>>(), ["True", "shell", "subprocess"]);
    }

    #[test]
    fn requirements_follow_all_any_and_relations_but_not_negation() {
        let rule: serde_yaml::Value = serde_yaml::from_str(
            "any:\n  - pattern: eval($X)\n  - pattern: exec($X)\nnot:\n  pattern: safe($X)\ninside:\n  kind: function_definition\n",
        )
        .unwrap();
        let requirement = Requirement::of_rule(&rule, '$');
        assert_eq!(
            requirement,
            Requirement::Any(vec![Requirement::Token("eval".into()), Requirement::Token("exec".into())])
        );
        assert!(requirement.holds(&|t, _| t == "exec"));
        assert!(!requirement.holds(&|t, _| t == "safe"));
        let kind_only: serde_yaml::Value = serde_yaml::from_str("kind: unsafe_block").unwrap();
        assert_eq!(Requirement::of_rule(&kind_only, '$'), Requirement::Always);
    }

    #[test]
    fn a_regex_requires_the_literals_it_cannot_match_without() {
        assert_eq!(regex_requirement(r"^verify\s*=\s*(False|0)$").simplified(), Requirement::Literal("verify".into()));
        assert_eq!(
            regex_requirement(r"(?:Safe|Base)Loader").simplified(),
            Requirement::All(vec![
                Requirement::Any(vec![Requirement::Literal("Safe".into()), Requirement::Literal("Base".into())]),
                Requirement::Literal("Loader".into())
            ])
        );
        assert_eq!(regex_requirement(r"(?i)select").simplified(), Requirement::Always);
        assert_eq!(regex_requirement(r"(ssl\.)?CERT_NONE").simplified(), Requirement::Literal("CERT_NONE".into()));
    }
}
