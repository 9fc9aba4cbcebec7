//! The pattern engine: regex rules over lines, with entropy-checked and redacted secrets.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use provenance_core::analysis::{FileContent, ReportMode};
use provenance_core::finding::{Detection, Location};
use provenance_core::language::{infer_language, normalise_language};
use provenance_core::line::ChangedLine;
use provenance_core::names::RepoPath;

use regex::{RegexSet, RegexSetBuilder};

use crate::rulepack::{
    ANY_LANGUAGE, PatternRule, RuleMatch, RulePackError, check_unique, load_trusted_rule_pack, rule_pack_digest,
};
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

/// Redacts the secrets the secret rules of a pattern rule pack find, in text that another
/// engine shows (snippets and messages of structural findings), so a secret never leaves a
/// detector in clear.
#[derive(Debug, Clone, Default)]
pub struct SecretRedactor {
    rules: Vec<PatternRule>,
}

impl SecretRedactor {
    /// The secret rules among `rules`.
    pub fn new(rules: &[PatternRule]) -> Self {
        Self { rules: rules.iter().filter(|r| r.spec().secret.is_some()).cloned().collect() }
    }

    /// The secret rules of the bundled pack.
    pub fn bundled() -> Result<Self, RulePackError> {
        Ok(Self::new(PatternDetector::bundled()?.rules()))
    }

    /// `text` with every secret on each of its lines redacted.
    pub fn redact_lines(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for (index, line) in text.split('\n').enumerate() {
            if index > 0 {
                out.push('\n');
            }
            let secrets: Vec<Range<usize>> =
                self.rules.iter().flat_map(|r| r.find_all(line)).filter_map(|m| m.secret).collect();
            if secrets.is_empty() {
                out.push_str(line);
            } else {
                out.push_str(&redact(line, &merge_ranges(secrets)));
            }
        }
        out
    }
}

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
    /// The rules written for each language named by some rule, with their prefilter.
    by_language: HashMap<String, LazyGroup>,
    /// The `any` rules, which apply to every line (of any language, or none), with theirs: one
    /// prefilter for them all instead of a copy in every language's.
    any_language: LazyGroup,
}

/// The rule groups for a line: its language's (if a rule names it) and the `any` rules'.
#[derive(Clone, Copy)]
struct Groups<'a> {
    language: Option<&'a RuleGroup>,
    any: &'a RuleGroup,
}

impl Groups<'_> {
    fn is_empty(&self) -> bool {
        self.language.is_none_or(|g| g.rules.is_empty()) && self.any.rules.is_empty()
    }
}

/// A language's rules, and their [`RuleGroup`] once built. The bundled pack builds a language's
/// prefilter on first use (the test suite builds them all), so a process pays only for the
/// languages it meets; other packs build every group up front, so a prefilter over its size
/// limit is a load error. Clones share the built group.
#[derive(Debug, Clone)]
struct LazyGroup {
    rules: Vec<usize>,
    built: Arc<OnceLock<RuleGroup>>,
}

/// The rules that apply to one language, and one `RegexSet` of all their patterns: a single
/// pass over a line says which rules can match it, so only those run their own regexes (which
/// find positions, capture secrets and check `not_patterns`). Most lines match no rule and cost
/// one pass instead of one per pattern.
#[derive(Debug, Clone)]
struct RuleGroup {
    /// Indexes into `PatternDetector::rules`.
    rules: Vec<usize>,
    prefilter: RegexSet,
    /// For each pattern of `prefilter`, the position in `rules` of the rule it belongs to.
    rule_of_pattern: Vec<usize>,
}

impl RuleGroup {
    fn new(all: &[PatternRule], rules: Vec<usize>) -> Result<Self, RulePackError> {
        let mut sources = Vec::new();
        let mut rule_of_pattern = Vec::new();
        for (position, &index) in rules.iter().enumerate() {
            for source in all[index].pattern_sources() {
                sources.push(loosened(source)?);
                rule_of_pattern.push(position);
            }
        }
        let prefilter = RegexSetBuilder::new(sources)
            .size_limit(PREFILTER_SIZE_LIMIT)
            .dfa_size_limit(PREFILTER_CACHE_LIMIT)
            .build()
            .map_err(|e| RulePackError::Prefilter(e.to_string()))?;
        Ok(Self { rules, prefilter, rule_of_pattern })
    }

    /// A group without a real prefilter: every rule is a candidate on every line.
    fn unfiltered(rules: Vec<usize>) -> Self {
        let prefilter = RegexSet::new(rules.iter().map(|_| "")).unwrap_or_else(|_| RegexSet::empty());
        let rule_of_pattern = (0..rules.len()).collect();
        Self { rules, prefilter, rule_of_pattern }
    }

    /// The rules (indexes into `PatternDetector::rules`) with a pattern that matches `text`.
    fn candidates(&self, text: &str, out: &mut Vec<usize>) {
        if self.rules.is_empty() {
            return;
        }
        // Patterns come in ascending order and a rule's patterns are adjacent, so a rule with
        // several matching patterns repeats only as the last entry.
        for pattern in self.prefilter.matches(text).iter() {
            let rule = self.rules[self.rule_of_pattern[pattern]];
            if out.last() != Some(&rule) {
                out.push(rule);
            }
        }
    }
}

/// A pattern that matches wherever `source` does, and possibly more: its Unicode word-boundary
/// assertions (`\b`, `\B`, `\<`, `\>`) dropped, and every class that admits some non-ASCII
/// character widened to admit them all. The prefilter only has to pick candidate rules. Without
/// word boundaries a whole set of patterns runs as one lazy DFA over any line (with them the DFA
/// gives up on every line with a non-ASCII character and the set falls back to a far slower
/// engine); without the many ranges of classes such as `\w` the set compiles in a fraction of
/// the time and memory.
fn loosened(source: &str) -> Result<String, RulePackError> {
    use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Look};

    fn strip(hir: Hir) -> Hir {
        match hir.into_kind() {
            HirKind::Look(
                Look::WordUnicode
                | Look::WordUnicodeNegate
                | Look::WordStartUnicode
                | Look::WordEndUnicode
                | Look::WordStartHalfUnicode
                | Look::WordEndHalfUnicode,
            ) => Hir::empty(),
            HirKind::Look(look) => Hir::look(look),
            HirKind::Empty => Hir::empty(),
            HirKind::Literal(literal) => Hir::literal(literal.0),
            HirKind::Class(Class::Unicode(class)) if class.ranges().last().is_some_and(|r| !r.end().is_ascii()) => {
                let mut wider = class;
                wider.union(&ClassUnicode::new([ClassUnicodeRange::new('\u{80}', char::MAX)]));
                Hir::class(Class::Unicode(wider))
            }
            HirKind::Class(class) => Hir::class(class),
            HirKind::Repetition(mut repetition) => {
                repetition.sub = Box::new(strip(*repetition.sub));
                Hir::repetition(repetition)
            }
            HirKind::Capture(mut capture) => {
                capture.sub = Box::new(strip(*capture.sub));
                Hir::capture(capture)
            }
            HirKind::Concat(subs) => Hir::concat(subs.into_iter().map(strip).collect()),
            HirKind::Alternation(subs) => Hir::alternation(subs.into_iter().map(strip).collect()),
        }
    }

    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(source)
        .map_err(|e| RulePackError::Prefilter(format!("{source:?}: {e}")))?;
    Ok(strip(hir).to_string())
}

/// Size limit of one language's compiled prefilter.
const PREFILTER_SIZE_LIMIT: usize = 64 * 1024 * 1024;

/// Cache of one language's prefilter (per thread that scans). With the `regex` crate's default
/// (2 MiB) the lazy DFA of a whole rule pack keeps clearing its cache and falls back to a
/// slower engine: 6.9 ms instead of 0.09 ms for a 200-line pull request.
const PREFILTER_CACHE_LIMIT: usize = 8 * 1024 * 1024;

impl PatternDetector {
    pub const NAME: &'static str = "provenance-pattern";
    pub const ENGINE: &'static str = "pattern";
    pub const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    /// A detector over the given rules (e.g. the bundled ones plus `--rules DIR`).
    pub fn new(rules: Vec<PatternRule>) -> Result<Self, RulePackError> {
        let detector = Self::new_lazy(rules)?;
        detector.build_all_prefilters()?;
        Ok(detector)
    }

    /// A detector whose per-language prefilters are built when first needed.
    fn new_lazy(mut rules: Vec<PatternRule>) -> Result<Self, RulePackError> {
        check_unique(&rules)?;
        rules.sort_by(|a, b| a.id().cmp(b.id()));
        let capabilities = Capabilities {
            name: Self::NAME.to_string(),
            engine: Self::ENGINE.to_string(),
            version: Self::VERSION.to_string(),
            rules: rules.iter().map(PatternRule::info).collect(),
            rulepack_sha256: rule_pack_digest(&rules)?,
        };
        let languages: BTreeSet<&str> =
            rules.iter().flat_map(|r| r.spec().languages.iter().map(String::as_str)).collect();
        let group = |language: Option<&str>| LazyGroup {
            rules: (0..rules.len())
                .filter(|&i| match language {
                    Some(_) => !rules[i].is_any_language() && rules[i].applies_to(language),
                    None => rules[i].is_any_language(),
                })
                .collect(),
            built: Arc::default(),
        };
        let by_language = languages
            .into_iter()
            .filter(|l| *l != ANY_LANGUAGE)
            .map(|language| (language.to_string(), group(Some(language))))
            .collect();
        let any_language = group(None);
        Ok(Self { capabilities, rules, by_language, any_language })
    }

    /// The detector with the bundled rule pack. The pack is parsed and compiled once per process.
    pub fn bundled() -> Result<Self, RulePackError> {
        static BUNDLED: OnceLock<Result<PatternDetector, RulePackError>> = OnceLock::new();
        BUNDLED.get_or_init(|| Self::new_lazy(load_trusted_rule_pack(BUNDLED_RULE_FILES)?)).clone()
    }

    pub fn rules(&self) -> &[PatternRule] {
        &self.rules
    }

    /// The rule groups that apply to a line of this (normalised) language: its own, if any
    /// rule names it, and the `any` rules.
    fn groups(&self, language: Option<&str>) -> Groups<'_> {
        Groups {
            language: language.and_then(|l| self.by_language.get(l)).map(|lazy| self.built(lazy)),
            any: self.built(&self.any_language),
        }
    }

    /// A group's prefilter, built now if it was not yet.
    fn built<'a>(&'a self, lazy: &'a LazyGroup) -> &'a RuleGroup {
        lazy.built.get_or_init(|| {
            // Only the bundled pack builds lazily, and the test suite builds each of its groups;
            // should one still fail, every rule is a candidate: slower, never wrong.
            RuleGroup::new(&self.rules, lazy.rules.clone())
                .unwrap_or_else(|_| RuleGroup::unfiltered(lazy.rules.clone()))
        })
    }

    /// Build the prefilters a line of `language` needs (`none`: a line of no language) now;
    /// returns how many rules they cover.
    pub fn prefilter_for(&self, language: &str) -> usize {
        let groups = self.groups((language != "none").then_some(language));
        groups.language.map_or(0, |g| g.rules.len()) + groups.any.rules.len()
    }

    /// Build every language's prefilter now (the test suite checks the bundled pack's).
    pub fn build_all_prefilters(&self) -> Result<(), RulePackError> {
        for lazy in self.by_language.values().chain([&self.any_language]) {
            if lazy.built.get().is_none() {
                let _ = lazy.built.set(RuleGroup::new(&self.rules, lazy.rules.clone())?);
            }
        }
        Ok(())
    }

    /// Match the rules of `group` against one line and append the detections. `candidates` is
    /// scratch space, kept by the caller so a scan allocates it once.
    fn scan_line(
        &self,
        groups: Groups<'_>,
        candidates: &mut Vec<usize>,
        at: (&RepoPath, u32),
        text: &str,
        out: &mut Vec<Detection>,
    ) {
        let (path, line_number) = at;
        candidates.clear();
        if let Some(group) = groups.language {
            group.candidates(text, candidates);
        }
        groups.any.candidates(text, candidates);
        if candidates.is_empty() {
            return;
        }
        let mut hits: Vec<(&PatternRule, RuleMatch)> = Vec::new();
        let mut secrets: Vec<Range<usize>> = Vec::new();
        for &index in candidates.iter() {
            let rule = &self.rules[index];
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
        let mut candidates = Vec::new();

        for (path, lines) in by_path {
            if Instant::now() >= deadline {
                return incomplete(detections);
            }
            if let Some(file) = files.get(path) {
                // The whole file at head: scan the lines the report mode keeps.
                let language = lines.iter().find_map(|l| declared_language(l)).or_else(|| inferred_language(path));
                let groups = self.groups(language.as_deref());
                if groups.is_empty() {
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
                    self.scan_line(groups, &mut candidates, (path, line_number), text, &mut detections);
                }
            } else {
                // No file content: scan the submitted content of lines that exist at head.
                for line in lines {
                    if !line.change_type.is_at_head() {
                        continue;
                    }
                    let Some(content) = line.content.as_deref() else { continue };
                    let language = declared_language(line).or_else(|| inferred_language(path));
                    let groups = self.groups(language.as_deref());
                    if groups.is_empty() {
                        continue;
                    }
                    for (offset, text) in content.lines().enumerate() {
                        if Instant::now() >= deadline {
                            return incomplete(detections);
                        }
                        let line_number = line.line_number.saturating_add(u32::try_from(offset).unwrap_or(u32::MAX));
                        self.scan_line(groups, &mut candidates, (path, line_number), text, &mut detections);
                    }
                }
            }
        }
        DetectorOutput { detections, complete: true }
    }
}

/// The line's own language, normalised, if it gave a non-empty one.
pub(crate) fn declared_language(line: &ChangedLine) -> Option<String> {
    line.language.as_deref().map(normalise_language).filter(|l| !l.is_empty())
}

fn inferred_language(path: &RepoPath) -> Option<String> {
    infer_language(path).map(str::to_string)
}

/// Whether a finding on `line_number` counts under the report mode, given the changed lines at
/// head.
fn reported(mode: ReportMode, changed: &BTreeSet<u32>, line_number: u32) -> bool {
    reported_span(mode, changed, line_number, line_number)
}

/// Whether a finding spanning lines `start..=end` counts under the report mode: it touches a
/// changed line (`added`), comes within [`DIFF_CONTEXT_LINES`] of one (`diff_context`), or is
/// anywhere (`file`).
pub(crate) fn reported_span(mode: ReportMode, changed: &BTreeSet<u32>, start: u32, end: u32) -> bool {
    match mode {
        ReportMode::Added => changed.range(start..=end.max(start)).next().is_some(),
        ReportMode::DiffContext => changed
            .range(start.saturating_sub(DIFF_CONTEXT_LINES)..=end.max(start).saturating_add(DIFF_CONTEXT_LINES))
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
pub(crate) fn cap_chars(s: &str, max: usize) -> String {
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
        // At run time each language's prefilter is built on first use: all must build.
        d.build_all_prefilters().unwrap();
        // The bundled pack skips its examples at start-up; they hold when checked.
        crate::load_rule_pack(BUNDLED_RULE_FILES).unwrap();
    }
}
