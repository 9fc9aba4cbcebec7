//! The pattern engine: regex rules over lines, with entropy-checked and redacted secrets.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::sync::OnceLock;
use std::time::Instant;

use provenance_core::analysis::{FileContent, ReportMode};
use provenance_core::finding::{Detection, Location};
use provenance_core::language::{infer_language, normalise_language};
use provenance_core::line::ChangedLine;
use provenance_core::names::RepoPath;

use crate::rulepack::{PatternRule, RuleMatch, RulePackError, check_unique, load_rule_pack, rule_pack_digest};
use crate::{Capabilities, DetectInput, Detector, DetectorOutput};

/// The bundled rule files, `(file name, YAML)`, as compiled into the binary.
pub const BUNDLED_RULE_FILES: &[(&str, &str)] = &[
    ("github-actions.yaml", include_str!("../rules/github-actions.yaml")),
    ("go.yaml", include_str!("../rules/go.yaml")),
    ("java.yaml", include_str!("../rules/java.yaml")),
    ("javascript.yaml", include_str!("../rules/javascript.yaml")),
    ("python.yaml", include_str!("../rules/python.yaml")),
    ("ruby.yaml", include_str!("../rules/ruby.yaml")),
    ("rust.yaml", include_str!("../rules/rust.yaml")),
    ("secrets.yaml", include_str!("../rules/secrets.yaml")),
    ("shell.yaml", include_str!("../rules/shell.yaml")),
];

/// Lines of context either side of a changed line that `ReportMode::DiffContext` keeps.
pub const DIFF_CONTEXT_LINES: u32 = 3;

/// Snippets are capped at this many characters (the last one being `…` when cut).
pub const MAX_SNIPPET_CHARS: usize = 500;

/// The matched text interpolated into a message for `{{match}}` is capped at this many characters.
const MAX_MESSAGE_MATCH_CHARS: usize = 200;

/// What a redacted secret keeps: its first characters (at most this many, and at most half of
/// the secret), followed by [`REDACTION_MARK`].
pub const REDACTION_KEEP_CHARS: usize = 4;
pub const REDACTION_MARK: &str = "****";

/// The regex rule engine (`engine = "pattern"`).
#[derive(Debug, Clone)]
pub struct PatternDetector {
    capabilities: Capabilities,
    rules: Vec<PatternRule>,
}

impl PatternDetector {
    pub const NAME: &'static str = "provenance-pattern";
    pub const ENGINE: &'static str = "pattern";
    pub const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    /// A detector over the given rules (e.g. the bundled ones plus `--rules DIR`).
    pub fn new(mut rules: Vec<PatternRule>) -> Result<Self, RulePackError> {
        check_unique(&rules)?;
        rules.sort_by(|a, b| a.id().cmp(b.id()));
        let capabilities = Capabilities {
            name: Self::NAME.to_string(),
            engine: Self::ENGINE.to_string(),
            version: Self::VERSION.to_string(),
            rules: rules.iter().map(PatternRule::info).collect(),
            rulepack_sha256: rule_pack_digest(&rules)?,
        };
        Ok(Self { capabilities, rules })
    }

    /// The detector with the bundled rule pack. The pack is parsed and compiled once per process.
    pub fn bundled() -> Result<Self, RulePackError> {
        static BUNDLED: OnceLock<Result<PatternDetector, RulePackError>> = OnceLock::new();
        BUNDLED.get_or_init(|| Self::new(load_rule_pack(BUNDLED_RULE_FILES)?)).clone()
    }

    pub fn rules(&self) -> &[PatternRule] {
        &self.rules
    }

    fn applicable(&self, language: Option<&str>) -> Vec<&PatternRule> {
        self.rules.iter().filter(|r| r.applies_to(language)).collect()
    }

    /// Match every rule against one line and append the detections.
    fn scan_line(
        &self,
        rules: &[&PatternRule],
        path: &RepoPath,
        line_number: u32,
        text: &str,
        out: &mut Vec<Detection>,
    ) {
        let mut hits: Vec<(&PatternRule, RuleMatch)> = Vec::new();
        let mut secrets: Vec<Range<usize>> = Vec::new();
        for rule in rules {
            let matches = rule.find_all(text);
            secrets.extend(matches.iter().filter_map(|m| m.secret.clone()));
            if let Some(first) = matches.into_iter().next() {
                hits.push((rule, first));
            }
        }
        if hits.is_empty() {
            return;
        }
        let secrets = merge_ranges(secrets);
        let snippet = cap_chars(redact(text, &secrets).trim(), MAX_SNIPPET_CHARS);
        for (rule, m) in hits {
            let spec = rule.spec();
            out.push(Detection {
                rule_id: spec.id.clone(),
                rule_version: spec.version.clone(),
                category: spec.category.clone(),
                severity: spec.severity,
                message: render_message(&spec.message, text, &m, &secrets),
                location: Location {
                    file_path: path.clone(),
                    start_line: line_number,
                    end_line: line_number,
                    start_column: column_of(text, m.start),
                    end_column: column_of(text, m.end),
                },
                snippet: snippet.clone(),
                engine: Self::ENGINE.to_string(),
            });
        }
    }
}

impl Detector for PatternDetector {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn detect(&self, input: &DetectInput<'_>, deadline: Instant) -> DetectorOutput {
        let mut detections = Vec::new();
        let incomplete = |detections| DetectorOutput { detections, complete: false };

        let mut files: HashMap<&RepoPath, &FileContent> = HashMap::new();
        for f in input.files {
            files.entry(&f.path).or_insert(f);
        }
        let mut by_path: BTreeMap<&RepoPath, Vec<&ChangedLine>> = BTreeMap::new();
        for l in input.lines {
            by_path.entry(&l.file_path).or_default().push(l);
        }
        let mut rules_by_language: HashMap<Option<String>, Vec<&PatternRule>> = HashMap::new();

        for (path, lines) in by_path {
            if Instant::now() >= deadline {
                return incomplete(detections);
            }
            if let Some(file) = files.get(path) {
                // The whole file at head: scan the lines the report mode keeps.
                let language = lines.iter().find_map(|l| declared_language(l)).or_else(|| inferred_language(path));
                let rules = self.applicable(language.as_deref());
                if rules.is_empty() {
                    continue;
                }
                let changed: BTreeSet<u32> =
                    lines.iter().filter(|l| l.change_type.is_at_head()).map(|l| l.line_number).collect();
                let last_wanted = match input.report_mode {
                    ReportMode::Added => changed.last().copied().unwrap_or(0),
                    ReportMode::DiffContext => changed.last().map_or(0, |n| n.saturating_add(DIFF_CONTEXT_LINES)),
                    ReportMode::File => u32::MAX,
                };
                for (index, text) in file.content.lines().enumerate() {
                    let line_number = u32::try_from(index + 1).unwrap_or(u32::MAX);
                    if line_number > last_wanted {
                        break;
                    }
                    if !reported(input.report_mode, &changed, line_number) {
                        continue;
                    }
                    if Instant::now() >= deadline {
                        return incomplete(detections);
                    }
                    self.scan_line(&rules, path, line_number, text, &mut detections);
                }
            } else {
                // No file content: scan the submitted content of lines that exist at head.
                for line in lines {
                    if !line.change_type.is_at_head() {
                        continue;
                    }
                    let Some(content) = line.content.as_deref() else { continue };
                    let language = declared_language(line).or_else(|| inferred_language(path));
                    let rules = rules_by_language.entry(language).or_insert_with_key(|l| self.applicable(l.as_deref()));
                    if rules.is_empty() {
                        continue;
                    }
                    for (offset, text) in content.lines().enumerate() {
                        if Instant::now() >= deadline {
                            return incomplete(detections);
                        }
                        let line_number = line.line_number.saturating_add(u32::try_from(offset).unwrap_or(u32::MAX));
                        self.scan_line(rules, path, line_number, text, &mut detections);
                    }
                }
            }
        }
        DetectorOutput { detections, complete: true }
    }
}

/// The line's own language, normalised, if it gave a non-empty one.
fn declared_language(line: &ChangedLine) -> Option<String> {
    line.language.as_deref().map(normalise_language).filter(|l| !l.is_empty())
}

fn inferred_language(path: &RepoPath) -> Option<String> {
    infer_language(path).map(str::to_string)
}

/// Whether a finding on `line_number` counts under the report mode, given the changed lines at
/// head.
fn reported(mode: ReportMode, changed: &BTreeSet<u32>, line_number: u32) -> bool {
    match mode {
        ReportMode::Added => changed.contains(&line_number),
        ReportMode::DiffContext => changed
            .range(line_number.saturating_sub(DIFF_CONTEXT_LINES)..=line_number.saturating_add(DIFF_CONTEXT_LINES))
            .next()
            .is_some(),
        ReportMode::File => true,
    }
}

/// The 1-based character column of a byte offset in a line.
fn column_of(line: &str, byte_offset: usize) -> u32 {
    u32::try_from(line[..byte_offset].chars().count() + 1).unwrap_or(u32::MAX)
}

/// Sort and merge overlapping or touching byte ranges.
fn merge_ranges(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// Replace each secret (given as merged, sorted byte ranges of `text`) by its first characters
/// and `****`.
pub fn redact(text: &str, secrets: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in secrets {
        out.push_str(&text[at..r.start]);
        out.push_str(&redact_secret(&text[r.clone()]));
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

/// A secret's redacted form: its first 4 characters (at most half of it) and `****`.
pub fn redact_secret(secret: &str) -> String {
    let keep = REDACTION_KEEP_CHARS.min(secret.chars().count() / 2);
    let mut out: String = secret.chars().take(keep).collect();
    out.push_str(REDACTION_MARK);
    out
}

/// The rule's message with `{{match}}` replaced by the matched text, widened to cover any secret
/// it overlaps and redacted.
fn render_message(template: &str, line: &str, m: &RuleMatch, secrets: &[Range<usize>]) -> String {
    const PLACEHOLDER: &str = "{{match}}";
    if !template.contains(PLACEHOLDER) {
        return template.to_string();
    }
    let (mut start, mut end) = (m.start, m.end);
    loop {
        let (s, e) = secrets
            .iter()
            .filter(|r| r.start < end && start < r.end)
            .fold((start, end), |(s, e), r| (s.min(r.start), e.max(r.end)));
        if (s, e) == (start, end) {
            break;
        }
        (start, end) = (s, e);
    }
    let local: Vec<Range<usize>> =
        secrets.iter().filter(|r| r.start >= start && r.end <= end).map(|r| r.start - start..r.end - start).collect();
    let shown = cap_chars(redact(&line[start..end], &local).trim(), MAX_MESSAGE_MATCH_CHARS);
    template.replace(PLACEHOLDER, &shown)
}

/// `s` cut to at most `max` characters, the last being `…` when cut.
fn cap_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_four_characters_of_a_long_secret_and_half_of_a_short_one() {
        assert_eq!(redact_secret("AKIAZ7Q4R2M9X3LBN6VT"), "AKIA****");
        assert_eq!(redact_secret("abcdef"), "abc****");
        assert_eq!(redact_secret("a"), "****");
    }

    #[test]
    fn redaction_replaces_every_secret_range_in_a_line() {
        let line = "a=SECRET1234 b=TOKEN5678";
        let ranges = merge_ranges(vec![15..24, 2..12]);
        assert_eq!(redact(line, &ranges), "a=SECR**** b=TOKE****");
    }

    #[test]
    fn overlapping_ranges_merge() {
        assert_eq!(merge_ranges(vec![5..9, 0..3, 2..6]), vec![0..9]);
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let line = "é = eval(x)";
        let byte = line.find("eval").unwrap();
        assert_eq!(byte, 5);
        assert_eq!(column_of(line, byte), 5);
    }

    #[test]
    fn long_snippets_are_capped_at_500_characters() {
        let capped = cap_chars(&"x".repeat(2_000), MAX_SNIPPET_CHARS);
        assert_eq!(capped.chars().count(), MAX_SNIPPET_CHARS);
        assert!(capped.ends_with('…'));
        assert_eq!(cap_chars("short", MAX_SNIPPET_CHARS), "short");
    }

    #[test]
    fn diff_context_keeps_lines_within_three_of_a_change() {
        let changed: BTreeSet<u32> = [10].into();
        assert!(reported(ReportMode::DiffContext, &changed, 7));
        assert!(reported(ReportMode::DiffContext, &changed, 13));
        assert!(!reported(ReportMode::DiffContext, &changed, 6));
        assert!(!reported(ReportMode::DiffContext, &changed, 14));
        assert!(!reported(ReportMode::Added, &changed, 11));
        assert!(reported(ReportMode::File, &changed, 1_000));
    }

    #[test]
    fn the_bundled_rule_pack_loads() {
        let d = PatternDetector::bundled().unwrap();
        assert!(d.rules().len() >= 15);
        assert_eq!(d.capabilities().rules.len(), d.rules().len());
        assert_eq!(d.capabilities().rulepack_sha256.len(), 64);
    }
}
