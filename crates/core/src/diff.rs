//! Unified diff parsing: `git diff` / `git format-patch` output (and plain `diff -u` output) into
//! files, hunks and lines, and from those the changed lines of a pull request.
//!
//! The parser is strict about what it must get right (a hunk has exactly the lines its header
//! announces, so no changed line is silently dropped or invented) and lenient about the rest
//! (text before the first file header, between patches or after the last hunk is ignored).
//! It never panics, whatever the input.

use crate::line::ChangeType;

/// One file of a diff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileDiff {
    /// Path at base, `a/` stripped; `None` for a new file (`/dev/null`).
    pub old_path: Option<String>,
    /// Path at head, `b/` stripped; `None` for a deleted file (`/dev/null`).
    pub new_path: Option<String>,
    /// `Binary files … differ` or `GIT binary patch`: no hunks.
    pub is_binary: bool,
    pub is_rename: bool,
    pub is_copy: bool,
    /// From `old mode` or `deleted file mode`.
    pub old_mode: Option<String>,
    /// From `new mode` or `new file mode`.
    pub new_mode: Option<String>,
    pub hunks: Vec<Hunk>,
}

impl FileDiff {
    /// The path at head, or the path at base for a deleted file.
    pub fn path(&self) -> Option<&str> {
        self.new_path.as_deref().or(self.old_path.as_deref())
    }

    /// The file does not exist at base.
    pub fn is_new(&self) -> bool {
        self.old_path.is_none() && self.new_path.is_some()
    }

    /// The file does not exist at head.
    pub fn is_deleted(&self) -> bool {
        self.new_path.is_none() && self.old_path.is_some()
    }
}

/// One `@@ -old_start,old_count +new_start,new_count @@ section` hunk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hunk {
    pub old_start: u32,
    pub old_count: u32,
    pub new_start: u32,
    pub new_count: u32,
    /// The text after the closing `@@` (usually the enclosing function), without the separating space.
    pub section: String,
    pub lines: Vec<HunkLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineKind {
    Context,
    Added,
    Removed,
}

/// One line of a hunk. `old_line` is set for context and removed lines, `new_line` for context
/// and added lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HunkLine {
    pub kind: LineKind,
    pub old_line: Option<u32>,
    pub new_line: Option<u32>,
    /// The line without its leading marker and without its line terminator.
    pub content: String,
    /// Followed by `\ No newline at end of file`.
    pub no_newline_at_eof: bool,
}

/// A diff that cannot be parsed. `line` is the 1-based line of the diff text where the problem
/// was found (one past the last line when the text ends too early).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("diff line {line}: {message}")]
pub struct DiffError {
    pub line: usize,
    pub message: String,
}

impl DiffError {
    fn new(line: usize, message: impl Into<String>) -> Self {
        Self { line, message: message.into() }
    }
}

/// A changed line derived from a diff (see [`changed_lines`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffChangedLine {
    pub path: String,
    /// At head for `Added`/`Modified`, at base for `Deleted`.
    pub line_number: u32,
    pub change_type: ChangeType,
    pub content: String,
}

/// Parses unified diff text (any number of files). An empty diff yields no files.
pub fn parse_unified_diff(text: &str) -> Result<Vec<FileDiff>, DiffError> {
    Parser::new(text).parse()
}

/// The changed lines of the given files, in diff order.
///
/// In each hunk, a run of removed lines directly followed by added lines is a replacement: the
/// first `min(removed, added)` added lines are `Modified`, further added lines are `Added`, and
/// removed lines beyond the number of added ones are `Deleted` (the last ones of the run).
/// Every line carries [`FileDiff::path`]. Binary files have no lines.
pub fn changed_lines(files: &[FileDiff]) -> Vec<DiffChangedLine> {
    let mut out = Vec::new();
    for file in files {
        if file.is_binary {
            continue;
        }
        let Some(path) = file.path() else { continue };
        for hunk in &file.hunks {
            let mut removed: Vec<&HunkLine> = Vec::new();
            let mut added: Vec<&HunkLine> = Vec::new();
            for line in &hunk.lines {
                match line.kind {
                    LineKind::Removed => {
                        if !added.is_empty() {
                            flush_run(path, &mut removed, &mut added, &mut out);
                        }
                        removed.push(line);
                    }
                    LineKind::Added => added.push(line),
                    LineKind::Context => flush_run(path, &mut removed, &mut added, &mut out),
                }
            }
            flush_run(path, &mut removed, &mut added, &mut out);
        }
    }
    out
}

fn flush_run(path: &str, removed: &mut Vec<&HunkLine>, added: &mut Vec<&HunkLine>, out: &mut Vec<DiffChangedLine>) {
    let paired = removed.len().min(added.len());
    for line in removed.iter().skip(paired) {
        if let Some(n) = line.old_line {
            out.push(DiffChangedLine {
                path: path.to_owned(),
                line_number: n,
                change_type: ChangeType::Deleted,
                content: line.content.clone(),
            });
        }
    }
    for (i, line) in added.iter().enumerate() {
        if let Some(n) = line.new_line {
            let change_type = if i < paired { ChangeType::Modified } else { ChangeType::Added };
            out.push(DiffChangedLine {
                path: path.to_owned(),
                line_number: n,
                change_type,
                content: line.content.clone(),
            });
        }
    }
    removed.clear();
    added.clear();
}

/// Splits on `\n`, dropping the `\r`s that directly precede it (or end the text: a CRLF diff
/// whose last line lost its `\n`), so no line's content ends in a carriage return.
fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.split_once('\n') {
            Some((line, tail)) => {
                lines.push(line.trim_end_matches('\r'));
                rest = tail;
            }
            None => {
                lines.push(rest.trim_end_matches('\r'));
                rest = "";
            }
        }
    }
    lines
}

struct Parser<'a> {
    lines: Vec<&'a str>,
    pos: usize,
}

/// What the headers of one file said, before deciding its paths.
#[derive(Default)]
struct FileHeader {
    /// From `diff --git a/x b/y` (or a bare `Binary files` line): least authoritative.
    header_old: Option<String>,
    header_new: Option<String>,
    /// From `---` / `+++`: `Some(None)` is `/dev/null`.
    minus: Option<Option<String>>,
    plus: Option<Option<String>>,
    rename_from: Option<String>,
    rename_to: Option<String>,
    copy_from: Option<String>,
    copy_to: Option<String>,
    new_file: bool,
    deleted_file: bool,
    is_binary: bool,
    old_mode: Option<String>,
    new_mode: Option<String>,
}

impl FileHeader {
    fn finish(self, line: usize, hunks: Vec<Hunk>) -> Result<FileDiff, DiffError> {
        let old_path = match self.minus {
            Some(p) => p,
            None => self.rename_from.clone().or_else(|| self.copy_from.clone()).or(if self.new_file {
                None
            } else {
                self.header_old
            }),
        };
        let new_path = match self.plus {
            Some(p) => p,
            None => self.rename_to.clone().or_else(|| self.copy_to.clone()).or(if self.deleted_file {
                None
            } else {
                self.header_new
            }),
        };
        if old_path.is_none() && new_path.is_none() {
            return Err(DiffError::new(line, "file header names no path"));
        }
        Ok(FileDiff {
            old_path,
            new_path,
            is_binary: self.is_binary,
            is_rename: self.rename_from.is_some() || self.rename_to.is_some(),
            is_copy: self.copy_from.is_some() || self.copy_to.is_some(),
            old_mode: self.old_mode,
            new_mode: self.new_mode,
            hunks,
        })
    }
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self { lines: split_lines(text), pos: 0 }
    }

    fn peek(&self) -> Option<&'a str> {
        self.lines.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<&'a str> {
        self.pos.checked_add(ahead).and_then(|i| self.lines.get(i)).copied()
    }

    /// 1-based number of the current line (one past the last line at the end).
    fn line_no(&self) -> usize {
        self.pos.saturating_add(1)
    }

    fn advance(&mut self) {
        self.pos = self.pos.saturating_add(1);
    }

    fn error(&self, message: impl Into<String>) -> DiffError {
        DiffError::new(self.line_no(), message)
    }

    /// `--- x` directly followed by `+++ y` at the current line.
    fn at_minus_plus_pair(&self) -> bool {
        matches!((self.peek(), self.peek_at(1)), (Some(a), Some(b)) if a.starts_with("--- ") && b.starts_with("+++ "))
    }

    fn parse(mut self) -> Result<Vec<FileDiff>, DiffError> {
        let mut files = Vec::new();
        while let Some(line) = self.peek() {
            if let Some(rest) = line.strip_prefix("diff --git ") {
                let (old, new) = split_two_paths(rest, " ").unwrap_or((None, None));
                let header = FileHeader {
                    header_old: old.map(|p| strip_prefix(p, "a/")),
                    header_new: new.map(|p| strip_prefix(p, "b/")),
                    ..FileHeader::default()
                };
                let start = self.line_no();
                self.advance();
                files.push(self.parse_file(header, start)?);
            } else if line.starts_with("diff --cc ") || line.starts_with("diff --combined ") {
                return Err(self.error("combined (merge) diffs are not supported"));
            } else if self.at_minus_plus_pair() {
                let start = self.line_no();
                files.push(self.parse_file(FileHeader::default(), start)?);
            } else if let Some((old, new)) = parse_binary_line(line) {
                // `diff -r` style, without a file header.
                let header = FileHeader { header_old: old, header_new: new, is_binary: true, ..FileHeader::default() };
                let start = self.line_no();
                self.advance();
                files.push(header.finish(start, Vec::new())?);
            } else {
                // Mail headers, commit message, diffstat, signature, `Only in …`: not ours.
                self.advance();
            }
        }
        Ok(files)
    }

    /// Parses a file's extended headers, `---`/`+++` and hunks, starting after `diff --git`
    /// (or at `---` for a plain diff).
    fn parse_file(&mut self, mut header: FileHeader, start: usize) -> Result<FileDiff, DiffError> {
        let mut seen_minus_plus = false;
        while let Some(line) = self.peek() {
            if line.starts_with("@@ ") {
                if !seen_minus_plus {
                    return Err(self.error("hunk without `---`/`+++` file lines"));
                }
                break;
            }
            if line == "GIT binary patch" {
                header.is_binary = true;
                self.advance();
                self.skip_binary_payload();
                return header.finish(start, Vec::new());
            }
            if let Some((old, new)) = parse_binary_line(line) {
                header.is_binary = true;
                if old.is_none() {
                    header.new_file = true;
                }
                if new.is_none() {
                    header.deleted_file = true;
                }
                self.advance();
                return header.finish(start, Vec::new());
            }
            if let Some(rest) = line.strip_prefix("--- ") {
                if seen_minus_plus {
                    break;
                }
                let Some(plus) = self.peek_at(1).and_then(|l| l.strip_prefix("+++ ")) else {
                    return Err(self.error("`---` line not followed by a `+++` line"));
                };
                header.minus = Some(marker_path(rest, "a/").ok_or_else(|| self.error("malformed quoted path"))?);
                self.advance();
                header.plus = Some(marker_path(plus, "b/").ok_or_else(|| self.error("malformed quoted path"))?);
                self.advance();
                seen_minus_plus = true;
                continue;
            }
            if seen_minus_plus || !self.extended_header(line, &mut header)? {
                break;
            }
            self.advance();
        }

        let mut hunks = Vec::new();
        if seen_minus_plus {
            while self.peek().is_some_and(|l| l.starts_with("@@ ")) {
                hunks.push(self.parse_hunk()?);
            }
            // Whatever follows the hunks must not look like more hunk lines.
            if let Some(line) = self.peek() {
                let looks_like_hunk_line = line.starts_with('+')
                    || line.starts_with(' ')
                    || (line.starts_with('-') && line != "-- " && !self.at_minus_plus_pair());
                if looks_like_hunk_line {
                    return Err(self.error(if hunks.is_empty() {
                        "diff lines without a hunk header"
                    } else {
                        "hunk is longer than its header says"
                    }));
                }
            }
        }
        header.finish(start, hunks)
    }

    /// Applies a git extended header line; `Ok(false)` if `line` is not one.
    fn extended_header(&self, line: &str, header: &mut FileHeader) -> Result<bool, DiffError> {
        let path = |rest: &str| plain_path(rest).ok_or_else(|| self.error("malformed quoted path"));
        if let Some(rest) = line.strip_prefix("rename from ").or_else(|| line.strip_prefix("rename old ")) {
            header.rename_from = Some(path(rest)?);
        } else if let Some(rest) = line.strip_prefix("rename to ").or_else(|| line.strip_prefix("rename new ")) {
            header.rename_to = Some(path(rest)?);
        } else if let Some(rest) = line.strip_prefix("copy from ") {
            header.copy_from = Some(path(rest)?);
        } else if let Some(rest) = line.strip_prefix("copy to ") {
            header.copy_to = Some(path(rest)?);
        } else if let Some(mode) = line.strip_prefix("new file mode ") {
            header.new_file = true;
            header.new_mode = Some(mode.to_owned());
        } else if let Some(mode) = line.strip_prefix("deleted file mode ") {
            header.deleted_file = true;
            header.old_mode = Some(mode.to_owned());
        } else if let Some(mode) = line.strip_prefix("old mode ") {
            header.old_mode = Some(mode.to_owned());
        } else if let Some(mode) = line.strip_prefix("new mode ") {
            header.new_mode = Some(mode.to_owned());
        } else if !(line.starts_with("index ")
            || line.starts_with("similarity index ")
            || line.starts_with("dissimilarity index "))
        {
            return Ok(false);
        }
        Ok(true)
    }

    /// Skips `literal N` / `delta N` blocks of base85 lines (which contain no spaces) and blank lines.
    fn skip_binary_payload(&mut self) {
        while let Some(line) = self.peek() {
            let payload =
                line.is_empty() || line.starts_with("literal ") || line.starts_with("delta ") || !line.contains(' ');
            if !payload {
                break;
            }
            self.advance();
        }
    }

    fn parse_hunk(&mut self) -> Result<Hunk, DiffError> {
        let header_line = self.line_no();
        let text = self.peek().unwrap_or_default();
        let (old_start, old_count, new_start, new_count, section) =
            parse_hunk_header(text).ok_or_else(|| self.error(format!("malformed hunk header `{text}`")))?;
        for (start, count) in [(old_start, old_count), (new_start, new_count)] {
            if count > 0 && start == 0 {
                return Err(self.error("hunk range starts at line 0 but is not empty"));
            }
            if count > 0 && start.checked_add(count - 1).is_none() {
                return Err(self.error("hunk range overflows"));
            }
        }
        self.advance();

        let mut hunk = Hunk { old_start, old_count, new_start, new_count, section, lines: Vec::new() };
        let (mut old_left, mut new_left) = (old_count, new_count);
        let (mut old_next, mut new_next) = (old_start, new_start);
        let short = |old_left: u32, new_left: u32| {
            format!("hunk at line {header_line} ends early: {old_left} old and {new_left} new line(s) missing")
        };
        loop {
            let Some(line) = self.peek() else {
                if old_left == 0 && new_left == 0 {
                    break;
                }
                return Err(self.error(short(old_left, new_left)));
            };
            let marker = line.chars().next();
            if marker == Some('\\') {
                let Some(last) = hunk.lines.last_mut() else {
                    return Err(self.error("`\\ No newline at end of file` without a preceding line"));
                };
                last.no_newline_at_eof = true;
                self.advance();
                continue;
            }
            if old_left == 0 && new_left == 0 {
                break;
            }
            let content = line.get(1..).unwrap_or_default().to_owned();
            let hunk_line = match marker {
                None | Some(' ') => {
                    if old_left == 0 || new_left == 0 {
                        return Err(self.error(format!(
                            "context line but the hunk at line {header_line} has {old_left} old and {new_left} new \
                             line(s) left"
                        )));
                    }
                    let l = HunkLine {
                        kind: LineKind::Context,
                        old_line: Some(old_next),
                        new_line: Some(new_next),
                        content,
                        no_newline_at_eof: false,
                    };
                    old_left -= 1;
                    new_left -= 1;
                    old_next = old_next.saturating_add(1);
                    new_next = new_next.saturating_add(1);
                    l
                }
                Some('+') => {
                    if new_left == 0 {
                        return Err(
                            self.error(format!("more added lines than the hunk header at line {header_line} says"))
                        );
                    }
                    let l = HunkLine {
                        kind: LineKind::Added,
                        old_line: None,
                        new_line: Some(new_next),
                        content,
                        no_newline_at_eof: false,
                    };
                    new_left -= 1;
                    new_next = new_next.saturating_add(1);
                    l
                }
                Some('-') => {
                    if old_left == 0 {
                        return Err(
                            self.error(format!("more removed lines than the hunk header at line {header_line} says"))
                        );
                    }
                    let l = HunkLine {
                        kind: LineKind::Removed,
                        old_line: Some(old_next),
                        new_line: None,
                        content,
                        no_newline_at_eof: false,
                    };
                    old_left -= 1;
                    old_next = old_next.saturating_add(1);
                    l
                }
                Some(_) => return Err(self.error(short(old_left, new_left))),
            };
            hunk.lines.push(hunk_line);
            self.advance();
        }
        Ok(hunk)
    }
}

/// `@@ -a[,b] +c[,d] @@[ section]`.
fn parse_hunk_header(line: &str) -> Option<(u32, u32, u32, u32, String)> {
    let rest = line.strip_prefix("@@ -")?;
    let (old, rest) = rest.split_once(" +")?;
    let (new, rest) = rest.split_once(" @@")?;
    let (old_start, old_count) = parse_range(old)?;
    let (new_start, new_count) = parse_range(new)?;
    let section = rest.strip_prefix(' ').unwrap_or(rest);
    Some((old_start, old_count, new_start, new_count, section.to_owned()))
}

/// `start[,count]`, count defaulting to 1.
fn parse_range(range: &str) -> Option<(u32, u32)> {
    let number = |s: &str| -> Option<u32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    match range.split_once(',') {
        Some((start, count)) => Some((number(start)?, number(count)?)),
        None => Some((number(range)?, 1)),
    }
}

fn strip_prefix(path: String, prefix: &str) -> String {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.to_owned(),
        None => path,
    }
}

/// `/dev/null` is no path; otherwise the git prefix (`a/` or `b/`) is dropped.
fn header_path(path: String, prefix: &str) -> Option<String> {
    if path == "/dev/null" { None } else { Some(strip_prefix(path, prefix)) }
}

/// The path of a `---`/`+++` line: quoted, or up to a tab (git appends one to names with spaces,
/// `diff -u` a timestamp). `None` if the quoting is malformed; `Some(None)` for `/dev/null`.
fn marker_path(rest: &str, prefix: &str) -> Option<Option<String>> {
    let path = if rest.starts_with('"') {
        parse_quoted(rest)?.0
    } else {
        rest.split_once('\t').map_or(rest, |(p, _)| p).to_owned()
    };
    Some(header_path(path, prefix))
}

/// The path of a `rename from`-style line: quoted or the rest of the line.
fn plain_path(rest: &str) -> Option<String> {
    if rest.starts_with('"') {
        let (path, tail) = parse_quoted(rest)?;
        tail.is_empty().then_some(path)
    } else {
        Some(rest.to_owned())
    }
}

/// `Binary files X and Y differ`, with `/dev/null` as `None` and git prefixes stripped.
fn parse_binary_line(line: &str) -> Option<(Option<String>, Option<String>)> {
    let inner = line.strip_prefix("Binary files ")?.strip_suffix(" differ")?;
    let (old, new) = split_two_paths(inner, " and ")?;
    Some((old.and_then(|p| header_path(p, "a/")), new.and_then(|p| header_path(p, "b/"))))
}

/// Splits `X<sep>Y` where either path may be quoted and unquoted paths may contain `sep`
/// (as git does: prefer a split where both names agree, then one before `b/`).
fn split_two_paths(s: &str, sep: &str) -> Option<(Option<String>, Option<String>)> {
    if s.starts_with('"') {
        let (old, rest) = parse_quoted(s)?;
        let rest = rest.strip_prefix(sep)?;
        return Some((Some(old), Some(plain_path(rest)?)));
    }
    // Unquoted old path, quoted new path.
    for (i, _) in s.match_indices(sep) {
        let (Some(old), Some(new)) = (s.get(..i), s.get(i.saturating_add(sep.len())..)) else { continue };
        if new.starts_with('"')
            && let Some((new, "")) = parse_quoted(new)
        {
            return Some((Some(old.to_owned()), Some(new)));
        }
    }
    // Both unquoted and the same name (a modification, mode change, new or deleted file).
    if let Some(half) = s.len().checked_sub(sep.len()).filter(|n| n % 2 == 0).map(|n| n / 2)
        && let (Some(old), Some(mid), Some(new)) = (s.get(..half), s.get(half..), s.get(half + sep.len()..))
        && mid.starts_with(sep)
        && old.strip_prefix("a/").unwrap_or(old) == new.strip_prefix("b/").unwrap_or(new)
    {
        return Some((Some(old.to_owned()), Some(new.to_owned())));
    }
    let null_last = format!("{sep}/dev/null");
    if let Some(old) = s.strip_suffix(null_last.as_str()) {
        return Some((Some(old.to_owned()), Some("/dev/null".to_owned())));
    }
    let null_first = format!("/dev/null{sep}");
    if let Some(new) = s.strip_prefix(null_first.as_str()) {
        return Some((Some("/dev/null".to_owned()), Some(new.to_owned())));
    }
    let before_b = format!("{sep}b/");
    let (old, new) = match s.find(before_b.as_str()) {
        Some(i) if s.starts_with("a/") => (s.get(..i)?, s.get(i.saturating_add(sep.len())..)?),
        _ => s.split_once(sep)?,
    };
    Some((Some(old.to_owned()), Some(new.to_owned())))
}

/// A C-style quoted string at the start of `s` (git's quoting of unusual paths): returns the
/// unescaped text and what follows the closing quote. Octal escapes are bytes of UTF-8; invalid
/// UTF-8 is replaced. `None` if unterminated or badly escaped.
fn parse_quoted(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('"')?;
    let mut bytes: Vec<u8> = Vec::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let rest = body.get(i.saturating_add(1)..)?;
                return Some((String::from_utf8_lossy(&bytes).into_owned(), rest));
            }
            '\\' => {
                let (_, escaped) = chars.next()?;
                let byte = match escaped {
                    'a' => 0x07,
                    'b' => 0x08,
                    't' => b'\t',
                    'n' => b'\n',
                    'v' => 0x0b,
                    'f' => 0x0c,
                    'r' => b'\r',
                    '"' => b'"',
                    '\\' => b'\\',
                    '0'..='7' => {
                        let mut value = escaped.to_digit(8)?;
                        for _ in 0..2 {
                            match chars.clone().next() {
                                Some((_, d @ '0'..='7')) => {
                                    value = value * 8 + d.to_digit(8)?;
                                    chars.next();
                                }
                                _ => break,
                            }
                        }
                        u8::try_from(value).ok()?
                    }
                    _ => return None,
                };
                bytes.push(byte);
            }
            other => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    None
}

/// Renders files as git-style unified diff text (`diff --git` headers, mode, rename and copy
/// lines, `---`/`+++` markers, hunks, `\ No newline at end of file`), quoting unusual paths as
/// git does. [`parse_unified_diff`] reads it back to the same files (a property test checks).
pub fn render_unified_diff(files: &[FileDiff]) -> String {
    fn quote(path: &str) -> String {
        // Git quotes only unusual bytes; a space is quoted here too, so two unquoted paths
        // (`diff --git a/x b/y`, `Binary files a/x and b/y differ`) never split ambiguously.
        let needs = path.bytes().any(|b| b == b'"' || b == b'\\' || b == b' ' || !(0x21..0x7f).contains(&b));
        if !needs {
            return path.to_owned();
        }
        let mut out = String::from("\"");
        for b in path.bytes() {
            match b {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                b'\t' => out.push_str("\\t"),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                0x20..=0x7e => out.push(char::from(b)),
                _ => out.push_str(&format!("\\{b:03o}")),
            }
        }
        out.push('"');
        out
    }
    fn side(path: Option<&str>, prefix: &str) -> String {
        match path {
            Some(p) => quote(&format!("{prefix}{p}")),
            None => "/dev/null".to_owned(),
        }
    }
    fn marker(path: Option<&str>, prefix: &str) -> String {
        let tab = if path.is_some_and(|p| p.contains(' ')) { "\t" } else { "" };
        format!("{}{tab}", side(path, prefix))
    }

    let mut out = String::new();
    for f in files {
        let (old, new) = (f.old_path.as_deref(), f.new_path.as_deref());
        out.push_str(&format!("diff --git {} {}\n", side(old.or(new), "a/"), side(new.or(old), "b/")));
        // Every mode the file has, in the line git uses for its shape.
        if let Some(m) = &f.old_mode {
            let word = if new.is_none() { "deleted file mode" } else { "old mode" };
            out.push_str(&format!("{word} {m}\n"));
        }
        if let Some(m) = &f.new_mode {
            let word = if old.is_none() { "new file mode" } else { "new mode" };
            out.push_str(&format!("{word} {m}\n"));
        }
        for (flag, word) in [(f.is_rename, "rename"), (f.is_copy, "copy")] {
            if flag {
                out.push_str("similarity index 90%\n");
                if let Some(old) = old {
                    out.push_str(&format!("{word} from {}\n", quote(old)));
                }
                if let Some(new) = new {
                    out.push_str(&format!("{word} to {}\n", quote(new)));
                }
            }
        }
        out.push_str("index 1111111..2222222\n");
        if f.is_binary {
            out.push_str(&format!("Binary files {} and {} differ\n", side(old, "a/"), side(new, "b/")));
            continue;
        }
        out.push_str(&format!("--- {}\n+++ {}\n", marker(old, "a/"), marker(new, "b/")));
        for h in &f.hunks {
            let section = if h.section.is_empty() { String::new() } else { format!(" {}", h.section) };
            out.push_str(&format!(
                "@@ -{},{} +{},{} @@{section}\n",
                h.old_start, h.old_count, h.new_start, h.new_count
            ));
            for l in &h.lines {
                let m = match l.kind {
                    LineKind::Context => ' ',
                    LineKind::Added => '+',
                    LineKind::Removed => '-',
                };
                out.push_str(&format!("{m}{}\n", l.content));
                if l.no_newline_at_eof {
                    out.push_str("\\ No newline at end of file\n");
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(files: &[FileDiff]) -> String {
        render_unified_diff(files)
    }

    /// Builds a hunk from lines written as in a diff (`+x`, `-x`, ` x`, and `\` to mark the
    /// previous line as lacking a final newline), numbering them from the starts.
    fn hunk(old_start: u32, new_start: u32, section: &str, spec: &[&str]) -> Hunk {
        let mut lines: Vec<HunkLine> = Vec::new();
        let (mut o, mut n) = (old_start, new_start);
        for s in spec {
            if *s == "\\" {
                if let Some(last) = lines.last_mut() {
                    last.no_newline_at_eof = true;
                }
                continue;
            }
            let content = s.get(1..).unwrap_or_default().to_owned();
            let (kind, old_line, new_line) = match s.chars().next() {
                Some('+') => (LineKind::Added, None, Some(n)),
                Some('-') => (LineKind::Removed, Some(o), None),
                _ => (LineKind::Context, Some(o), Some(n)),
            };
            if old_line.is_some() {
                o += 1;
            }
            if new_line.is_some() {
                n += 1;
            }
            lines.push(HunkLine { kind, old_line, new_line, content, no_newline_at_eof: false });
        }
        let old_count = lines.iter().filter(|l| l.old_line.is_some()).count() as u32;
        let new_count = lines.iter().filter(|l| l.new_line.is_some()).count() as u32;
        let old_start = if old_count == 0 { old_start.saturating_sub(1) } else { old_start };
        let new_start = if new_count == 0 { new_start.saturating_sub(1) } else { new_start };
        Hunk { old_start, old_count, new_start, new_count, section: section.to_owned(), lines }
    }

    fn file(old: Option<&str>, new: Option<&str>) -> FileDiff {
        FileDiff { old_path: old.map(str::to_owned), new_path: new.map(str::to_owned), ..FileDiff::default() }
    }

    fn parse(text: &str) -> Vec<FileDiff> {
        match parse_unified_diff(text) {
            Ok(files) => files,
            Err(e) => panic!("diff should parse: {e}"),
        }
    }

    fn parse_err(text: &str) -> DiffError {
        match parse_unified_diff(text) {
            Ok(files) => panic!("diff should not parse, got {files:?}"),
            Err(e) => e,
        }
    }

    fn find<'a>(files: &'a [FileDiff], path: &str) -> &'a FileDiff {
        match files.iter().find(|f| f.path() == Some(path)) {
            Some(f) => f,
            None => panic!("no file {path} in {files:?}"),
        }
    }

    fn kinds_and_contents(h: &Hunk) -> Vec<(LineKind, Option<u32>, Option<u32>, &str)> {
        h.lines.iter().map(|l| (l.kind, l.old_line, l.new_line, l.content.as_str())).collect()
    }

    /// `git diff --cached -M -C -C` of a commit touching many kinds of files.
    const MULTI: &str = r#"diff --git "a/caf\303\251.txt" "b/caf\303\251.txt"
index 1cd909e..bd61b2c 100644
--- "a/caf\303\251.txt"
+++ "b/caf\303\251.txt"
@@ -1 +1,2 @@
 bonjour
+salut
diff --git a/copied_src.txt b/copied_dst.txt
similarity index 87%
copy from copied_src.txt
copy to copied_dst.txt
index e484b15..ebbb648 100644
--- a/copied_src.txt
+++ b/copied_dst.txt
@@ -7,3 +7,4 @@ k6
 k7
 k8
 k9
+k10
diff --git a/logo.png b/logo.png
index 2b379ce..f10ec9f 100644
Binary files a/logo.png and b/logo.png differ
diff --git a/moved.txt b/moved2.txt
similarity index 100%
rename from moved.txt
rename to moved2.txt
diff --git a/nonl.txt b/nonl.txt
index 66455a1..04ec35a 100644
--- a/nonl.txt
+++ b/nonl.txt
@@ -1,3 +1,3 @@
 x
 y
-z
\ No newline at end of file
+z
diff --git a/removed.txt b/removed.txt
deleted file mode 100644
index 4cb29ea..0000000
--- a/removed.txt
+++ /dev/null
@@ -1,3 +0,0 @@
-one
-two
-three
diff --git a/renamed_changed.txt b/renamed2.txt
similarity index 80%
rename from renamed_changed.txt
rename to renamed2.txt
index 600d48a..0414cb3 100644
--- a/renamed_changed.txt
+++ b/renamed2.txt
@@ -1,5 +1,5 @@
 alpha
 beta
 gamma
-delta
+DELTA
 epsilon
diff --git a/run.sh b/run.sh
old mode 100644
new mode 100755
diff --git a/src/main.rs b/src/main.rs
index aa12343..e646105 100644
--- a/src/main.rs
+++ b/src/main.rs
@@ -1,6 +1,6 @@
 fn main() {
-    println!("hello");
+    println!("hello, world");
     let x = 1;
-    let y = 2;
     let z = 3;
+    let w = 4;
 }
diff --git a/src/new.rs b/src/new.rs
new file mode 100644
index 0000000..d64abd3
--- /dev/null
+++ b/src/new.rs
@@ -0,0 +1,3 @@
+new
+file
+here
"#;

    #[test]
    fn an_empty_diff_has_no_files() {
        assert_eq!(parse(""), vec![]);
        assert_eq!(parse("\n\n"), vec![]);
    }

    #[test]
    fn a_multi_file_git_diff_yields_every_file_in_order() {
        let files = parse(MULTI);
        let paths: Vec<_> = files.iter().map(|f| f.path().unwrap_or_default()).collect();
        assert_eq!(
            paths,
            [
                "café.txt",
                "copied_dst.txt",
                "logo.png",
                "moved2.txt",
                "nonl.txt",
                "removed.txt",
                "renamed2.txt",
                "run.sh",
                "src/main.rs",
                "src/new.rs"
            ]
        );
    }

    #[test]
    fn a_modification_numbers_old_and_new_lines() {
        let files = parse(MULTI);
        let f = find(&files, "src/main.rs");
        assert_eq!(f.old_path.as_deref(), Some("src/main.rs"));
        assert!(!f.is_rename && !f.is_copy && !f.is_binary && !f.is_new() && !f.is_deleted());
        assert_eq!(f.hunks.len(), 1);
        let h = &f.hunks[0];
        assert_eq!((h.old_start, h.old_count, h.new_start, h.new_count), (1, 6, 1, 6));
        assert_eq!(h.section, "");
        use LineKind::*;
        assert_eq!(
            kinds_and_contents(h),
            vec![
                (Context, Some(1), Some(1), "fn main() {"),
                (Removed, Some(2), None, "    println!(\"hello\");"),
                (Added, None, Some(2), "    println!(\"hello, world\");"),
                (Context, Some(3), Some(3), "    let x = 1;"),
                (Removed, Some(4), None, "    let y = 2;"),
                (Context, Some(5), Some(4), "    let z = 3;"),
                (Added, None, Some(5), "    let w = 4;"),
                (Context, Some(6), Some(6), "}"),
            ]
        );
    }

    #[test]
    fn a_new_file_has_no_old_path_and_a_zero_count_old_range() {
        let files = parse(MULTI);
        let f = find(&files, "src/new.rs");
        assert_eq!(f.old_path, None);
        assert_eq!(f.new_mode.as_deref(), Some("100644"));
        assert!(f.is_new());
        let h = &f.hunks[0];
        assert_eq!((h.old_start, h.old_count, h.new_start, h.new_count), (0, 0, 1, 3));
        assert!(h.lines.iter().all(|l| l.kind == LineKind::Added && l.old_line.is_none()));
        assert_eq!(h.lines.iter().map(|l| l.new_line).collect::<Vec<_>>(), [Some(1), Some(2), Some(3)]);
    }

    #[test]
    fn a_deleted_file_has_no_new_path_and_keeps_its_old_path() {
        let files = parse(MULTI);
        let f = find(&files, "removed.txt");
        assert_eq!(f.new_path, None);
        assert_eq!(f.old_path.as_deref(), Some("removed.txt"));
        assert_eq!(f.old_mode.as_deref(), Some("100644"));
        assert!(f.is_deleted());
        let h = &f.hunks[0];
        assert_eq!((h.old_start, h.old_count, h.new_start, h.new_count), (1, 3, 0, 0));
    }

    #[test]
    fn a_rename_without_content_change_has_no_hunks() {
        let files = parse(MULTI);
        let f = find(&files, "moved2.txt");
        assert_eq!(f.old_path.as_deref(), Some("moved.txt"));
        assert!(f.is_rename && !f.is_copy);
        assert!(f.hunks.is_empty());
    }

    #[test]
    fn a_rename_with_a_change_has_both_paths_and_its_hunk() {
        let files = parse(MULTI);
        let f = find(&files, "renamed2.txt");
        assert_eq!(f.old_path.as_deref(), Some("renamed_changed.txt"));
        assert!(f.is_rename);
        assert_eq!(f.hunks.len(), 1);
        assert_eq!(f.hunks[0].lines.len(), 6);
    }

    #[test]
    fn a_copy_is_marked_and_keeps_its_source_path() {
        let files = parse(MULTI);
        let f = find(&files, "copied_dst.txt");
        assert_eq!(f.old_path.as_deref(), Some("copied_src.txt"));
        assert!(f.is_copy && !f.is_rename);
        assert_eq!(f.hunks[0].section, "k6");
        assert_eq!(f.hunks[0].lines.last().map(|l| (l.new_line, l.content.as_str())), Some((Some(10), "k10")));
    }

    #[test]
    fn a_mode_change_alone_has_modes_and_no_hunks() {
        let files = parse(MULTI);
        let f = find(&files, "run.sh");
        assert_eq!(f.old_path.as_deref(), Some("run.sh"));
        assert_eq!((f.old_mode.as_deref(), f.new_mode.as_deref()), (Some("100644"), Some("100755")));
        assert!(f.hunks.is_empty());
    }

    #[test]
    fn a_binary_file_is_marked_and_has_no_hunks() {
        let files = parse(MULTI);
        let f = find(&files, "logo.png");
        assert!(f.is_binary);
        assert!(f.hunks.is_empty());
        assert_eq!(f.old_path.as_deref(), Some("logo.png"));
    }

    #[test]
    fn a_git_binary_patch_payload_is_skipped() {
        let text = "diff --git a/logo.png b/logo.png
index 2b379ce81f2230ff320409a535467df2b3f06cc0..f10ec9fe58d6689edbd8147edce7a4b07f2afc04 100644
GIT binary patch
literal 18
ZcmeAS@N?(olHy`uU`Wc$ODw810stm61YrOG

literal 17
YcmeAS@N?(olHy`uU`Wc$ODw7c03p%@F8}}l

diff --git a/zero.txt b/zero.txt
index a52ef27..9811b09 100644
--- a/zero.txt
+++ b/zero.txt
@@ -5,2 +4,0 @@ l4
-l5
-l6
";
        let files = parse(text);
        assert_eq!(files.len(), 2);
        assert!(files[0].is_binary && files[0].hunks.is_empty());
        assert_eq!(files[1].path(), Some("zero.txt"));
        assert_eq!(files[1].hunks.len(), 1);
    }

    #[test]
    fn a_new_binary_file_has_no_old_path() {
        let text = "diff --git a/img.png b/img.png
new file mode 100644
index 0000000..2b379ce
Binary files /dev/null and b/img.png differ
";
        let files = parse(text);
        assert_eq!(files.len(), 1);
        assert_eq!((files[0].old_path.as_deref(), files[0].new_path.as_deref()), (None, Some("img.png")));
        assert!(files[0].is_binary);
    }

    #[test]
    fn a_no_newline_marker_flags_the_previous_line() {
        let files = parse(MULTI);
        let h = &find(&files, "nonl.txt").hunks[0];
        let flagged: Vec<_> = h.lines.iter().map(|l| (l.kind, l.no_newline_at_eof)).collect();
        use LineKind::*;
        assert_eq!(flagged, [(Context, false), (Context, false), (Removed, true), (Added, false)]);
    }

    #[test]
    fn a_no_newline_marker_after_the_last_line_of_a_hunk_is_kept() {
        let text = "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-old\n+new\n\\ No newline at end of file\n";
        let files = parse(text);
        let h = &files[0].hunks[0];
        assert_eq!(h.lines.iter().map(|l| l.no_newline_at_eof).collect::<Vec<_>>(), [false, true]);
    }

    #[test]
    fn crlf_line_endings_are_stripped_from_the_terminator_only() {
        let text = "diff --git a/win.txt b/win.txt\r\n\
                    index 2e11fe5..a69c767 100644\r\n\
                    --- a/win.txt\r\n\
                    +++ b/win.txt\r\n\
                    @@ -1,3 +1,3 @@ sec\r\n \
                    first\r\n\
                    -second\r\n\
                    +second\rchanged\r\n \
                    third\r\n";
        let files = parse(text);
        assert_eq!(files[0].path(), Some("win.txt"));
        let h = &files[0].hunks[0];
        assert_eq!(h.section, "sec");
        let contents: Vec<_> = h.lines.iter().map(|l| l.content.as_str()).collect();
        assert_eq!(contents, ["first", "second", "second\rchanged", "third"]);
    }

    #[test]
    fn a_quoted_non_ascii_path_is_decoded_as_utf8() {
        let files = parse(MULTI);
        let f = &files[0];
        assert_eq!(f.old_path.as_deref(), Some("café.txt"));
        assert_eq!(f.new_path.as_deref(), Some("café.txt"));
    }

    #[test]
    fn quoted_paths_decode_c_escapes() {
        assert_eq!(parse_quoted(r#""a\tb\"c\\d\303\251" rest"#), Some(("a\tb\"c\\dé".to_owned(), " rest")));
        assert_eq!(parse_quoted(r#""unterminated"#), None);
        assert_eq!(parse_quoted(r#""bad \q escape""#), None);
        assert_eq!(parse_quoted(r#""\777""#), None);
        let text =
            "diff --git \"a/tab\\there.txt\" \"b/tab\\there.txt\"\nnew file mode 100644\nindex 0000000..e69de29\n";
        let files = parse(text);
        assert_eq!(files[0].new_path.as_deref(), Some("tab\there.txt"));
        assert_eq!(files[0].old_path, None);
    }

    #[test]
    fn an_empty_new_file_takes_its_path_from_the_git_header() {
        let text =
            "diff --git a/dir with space/empty b/dir with space/empty\nnew file mode 100644\nindex 0000000..e69de29\n";
        let files = parse(text);
        assert_eq!(files.len(), 1);
        assert_eq!((files[0].old_path.as_deref(), files[0].new_path.as_deref()), (None, Some("dir with space/empty")));
        assert!(files[0].hunks.is_empty());
    }

    #[test]
    fn paths_with_spaces_end_at_the_tab_git_appends() {
        let text = "diff --git a/my file.txt b/my file.txt\nindex 1..2 100644\n--- a/my file.txt\t\n+++ b/my file.txt\t\n@@ -1 +1 @@\n-a\n+b\n";
        let files = parse(text);
        assert_eq!(files[0].old_path.as_deref(), Some("my file.txt"));
        assert_eq!(files[0].new_path.as_deref(), Some("my file.txt"));
    }

    #[test]
    fn zero_count_hunks_number_lines_from_the_other_side() {
        let text = "diff --git a/zero.txt b/zero.txt
index a52ef27..9811b09 100644
--- a/zero.txt
+++ b/zero.txt
@@ -5,2 +4,0 @@ l4
-l5
-l6
@@ -0,0 +1,3 @@
+a
+b
+c
";
        let files = parse(text);
        let hunks = &files[0].hunks;
        assert_eq!((hunks[0].old_start, hunks[0].old_count, hunks[0].new_start, hunks[0].new_count), (5, 2, 4, 0));
        assert_eq!(hunks[0].section, "l4");
        assert_eq!(hunks[0].lines.iter().map(|l| l.old_line).collect::<Vec<_>>(), [Some(5), Some(6)]);
        assert_eq!((hunks[1].old_start, hunks[1].old_count, hunks[1].new_start, hunks[1].new_count), (0, 0, 1, 3));
        let changed = changed_lines(&files);
        let summary: Vec<_> = changed.iter().map(|c| (c.change_type, c.line_number, c.content.as_str())).collect();
        assert_eq!(
            summary,
            [
                (ChangeType::Deleted, 5, "l5"),
                (ChangeType::Deleted, 6, "l6"),
                (ChangeType::Added, 1, "a"),
                (ChangeType::Added, 2, "b"),
                (ChangeType::Added, 3, "c"),
            ]
        );
    }

    #[test]
    fn omitted_hunk_counts_mean_one() {
        let text = "--- a/one.txt\n+++ b/one.txt\n@@ -3 +3 @@ fn f() {\n-x\n+y\n";
        let files = parse(text);
        let h = &files[0].hunks[0];
        assert_eq!((h.old_start, h.old_count, h.new_start, h.new_count), (3, 1, 3, 1));
        assert_eq!(h.section, "fn f() {");
        assert_eq!((h.lines[0].old_line, h.lines[1].new_line), (Some(3), Some(3)));
    }

    #[test]
    fn a_plain_diff_without_git_header_is_parsed() {
        let text = "--- old/a.c\t2024-01-01 10:00:00.000000000 +0000
+++ new/a.c\t2024-01-02 10:00:00.000000000 +0000
@@ -1,3 +1,3 @@
 int main() {
-  return 1;
+  return 0;
 }
--- /dev/null
+++ b/b.c
@@ -0,0 +1 @@
+int b;
";
        let files = parse(text);
        assert_eq!(files.len(), 2);
        assert_eq!((files[0].old_path.as_deref(), files[0].new_path.as_deref()), (Some("old/a.c"), Some("new/a.c")));
        assert_eq!(files[0].hunks[0].lines.len(), 4);
        assert_eq!((files[1].old_path.as_deref(), files[1].new_path.as_deref()), (None, Some("b.c")));
        assert_eq!(files[1].hunks[0].lines[0].new_line, Some(1));
    }

    #[test]
    fn a_removed_line_starting_with_dashes_is_content_not_a_header() {
        let text = "--- a/notes.md\n+++ b/notes.md\n@@ -1 +1 @@\n--- a/x\n+++ b/x\n";
        let files = parse(text);
        assert_eq!(files.len(), 1);
        let contents: Vec<_> = files[0].hunks[0].lines.iter().map(|l| (l.kind, l.content.as_str())).collect();
        assert_eq!(contents, [(LineKind::Removed, "-- a/x"), (LineKind::Added, "++ b/x")]);
    }

    #[test]
    fn a_truncated_hunk_is_an_error_naming_the_line() {
        let text = "diff --git a/src/main.rs b/src/main.rs
index aa12343..e646105 100644
--- a/src/main.rs
+++ b/src/main.rs
@@ -1,6 +1,6 @@
 fn main() {
-    println!(\"hello\");
+    println!(\"hello, world\");
diff --git a/src/new.rs b/src/new.rs
new file mode 100644
";
        let err = parse_err(text);
        assert_eq!(err.line, 9);
        assert!(err.message.contains("line 5"), "{err}");
        assert!(err.to_string().starts_with("diff line 9: "), "{err}");

        // Cut at the end of the text: the missing line is the one after the last.
        let err = parse_err("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n");
        assert_eq!(err.line, 6);
        assert!(err.message.contains("0 old and 1 new"), "{err}");
    }

    #[test]
    fn an_overlong_hunk_is_an_error_naming_the_line() {
        let err = parse_err("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n+d\n");
        assert_eq!(err.line, 7);
        let err = parse_err("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-b\n+c\n context\n");
        assert_eq!(err.line, 6);
        let err = parse_err("--- a/f\n+++ b/f\n@@ -1,2 +1 @@\n a\n b\n");
        assert_eq!(err.line, 5);
    }

    #[test]
    fn malformed_hunk_headers_are_errors() {
        for header in ["@@ -1,2 +1,x @@", "@@ -1 @@", "@@ -+1 +1 @@", "@@ -0,2 +1 @@", "@@ -4294967295,2 +1 @@"] {
            let err = parse_err(&format!("--- a/f\n+++ b/f\n{header}\n-a\n-b\n+c\n"));
            assert_eq!(err.line, 3, "{header}: {err}");
        }
    }

    #[test]
    fn a_hunk_without_file_lines_is_an_error() {
        let err = parse_err("diff --git a/f b/f\nindex 1..2 100644\n@@ -1 +1 @@\n-a\n+b\n");
        assert_eq!(err.line, 3);
    }

    #[test]
    fn combined_merge_diffs_are_rejected() {
        let err =
            parse_err("diff --cc file.txt\nindex 1,2..3\n--- a/file.txt\n+++ b/file.txt\n@@@ -1,1 -1,1 +1,1 @@@\n");
        assert_eq!(err.line, 1);
    }

    #[test]
    fn an_empty_line_inside_a_hunk_is_an_empty_context_line() {
        let text = "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n";
        let files = parse(text);
        let h = &files[0].hunks[0];
        assert_eq!(h.lines[1].kind, LineKind::Context);
        assert_eq!(h.lines[1].content, "");
        assert_eq!((h.lines[1].old_line, h.lines[1].new_line), (Some(2), Some(2)));
    }

    #[test]
    fn leading_mail_headers_and_a_trailing_signature_are_ignored() {
        let text = "From c095bea437eea72ddd0f08b6ae965d5200b4f302 Mon Sep 17 00:00:00 2001
From: t <a@b>
Date: Sun, 22 Nov 2026 12:57:08 +0000
Subject: [PATCH] Remove two lines from zero.txt

Longer body explaining the change.
---
 zero.txt | 2 --
 1 file changed, 2 deletions(-)

diff --git a/zero.txt b/zero.txt
index a52ef27..9811b09 100644
--- a/zero.txt
+++ b/zero.txt
@@ -2,7 +2,5 @@ l1
 l2
 l3
 l4
-l5
-l6
 l7
 l8
-- 
2.47.3

";
        let files = parse(text);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path(), Some("zero.txt"));
        assert_eq!(files[0].hunks[0].lines.len(), 7);
        let deleted: Vec<_> = changed_lines(&files).iter().map(|c| (c.change_type, c.line_number)).collect();
        assert_eq!(deleted, [(ChangeType::Deleted, 5), (ChangeType::Deleted, 6)]);
    }

    #[test]
    fn changed_lines_pair_removed_and_added_runs_with_exact_line_numbers() {
        let files = parse(MULTI);
        let main: Vec<_> = changed_lines(&files)
            .into_iter()
            .filter(|c| c.path == "src/main.rs")
            .map(|c| (c.change_type, c.line_number, c.content))
            .collect();
        assert_eq!(
            main,
            [
                (ChangeType::Modified, 2, "    println!(\"hello, world\");".to_owned()),
                (ChangeType::Deleted, 4, "    let y = 2;".to_owned()),
                (ChangeType::Added, 5, "    let w = 4;".to_owned()),
            ]
        );
    }

    #[test]
    fn changed_lines_mark_surplus_removals_deleted_and_surplus_additions_added() {
        let text = "diff --git a/lib.rs b/lib.rs
index 1111111..2222222 100644
--- a/lib.rs
+++ b/lib.rs
@@ -10,7 +10,7 @@ impl Thing {
 keep
-r1
-r2
-r3
+m1
 keep
-r4
+m2
+a1
+a2
 keep
";
        let got: Vec<_> =
            changed_lines(&parse(text)).into_iter().map(|c| (c.change_type, c.line_number, c.content)).collect();
        let want = [
            (ChangeType::Deleted, 12, "r2"),
            (ChangeType::Deleted, 13, "r3"),
            (ChangeType::Modified, 11, "m1"),
            (ChangeType::Modified, 13, "m2"),
            (ChangeType::Added, 14, "a1"),
            (ChangeType::Added, 15, "a2"),
        ];
        assert_eq!(got, want.map(|(t, n, c)| (t, n, c.to_owned())));
    }

    #[test]
    fn changed_lines_of_deleted_renamed_and_binary_files_use_the_right_path() {
        let files = parse(MULTI);
        let changed = changed_lines(&files);
        let for_path = |p: &str| changed.iter().filter(|c| c.path == p).count();
        assert_eq!(for_path("removed.txt"), 3);
        assert!(changed.iter().filter(|c| c.path == "removed.txt").all(|c| c.change_type == ChangeType::Deleted));
        assert_eq!(for_path("renamed2.txt"), 1);
        assert_eq!(for_path("renamed_changed.txt"), 0);
        assert_eq!(for_path("logo.png"), 0);
        assert_eq!(for_path("moved2.txt"), 0);
        assert_eq!(for_path("src/new.rs"), 3);
        assert_eq!(changed.len(), 1 + 1 + 1 + 3 + 1 + 3 + 3);
    }

    #[test]
    fn rendering_and_parsing_round_trips_hand_built_files() {
        let cases = vec![
            vec![{
                let mut f = file(Some("src/lib.rs"), Some("src/lib.rs"));
                f.hunks = vec![
                    hunk(1, 1, "", &[" use std::fmt;", "-old", "+new", "+more", " end"]),
                    hunk(40, 41, "fn tail() {", &["-gone", " kept", "+last", "\\"]),
                ];
                f
            }],
            vec![
                {
                    let mut f = file(None, Some("docs/new file.md"));
                    f.new_mode = Some("100644".to_owned());
                    f.hunks = vec![hunk(1, 1, "", &["+# Title", "+", "+body"])];
                    f
                },
                {
                    let mut f = file(Some("old.txt"), None);
                    f.old_mode = Some("100755".to_owned());
                    f.hunks = vec![hunk(1, 1, "", &["-a", "-b", "\\"])];
                    f
                },
            ],
            vec![
                {
                    let mut f = file(Some("from dir/é.txt"), Some("to \"dir\"/ü.txt"));
                    f.is_rename = true;
                    f
                },
                {
                    let mut f = file(Some("a.bin"), Some("a.bin"));
                    f.is_binary = true;
                    f
                },
                {
                    let mut f = file(Some("tool.sh"), Some("tool.sh"));
                    f.old_mode = Some("100644".to_owned());
                    f.new_mode = Some("100755".to_owned());
                    f
                },
                {
                    let mut f = file(Some("base.rs"), Some("copy.rs"));
                    f.is_copy = true;
                    f.hunks = vec![hunk(5, 5, "mod x", &["-x", "+y"])];
                    f
                },
            ],
        ];
        for files in cases {
            let text = render(&files);
            assert_eq!(parse(&text), files, "{text}");
        }
        // And the realistic fixture is stable through one render.
        let files = parse(MULTI);
        assert_eq!(parse(&render(&files)), files);
    }

    #[test]
    fn the_parser_never_panics_on_truncated_or_mangled_input() {
        let inputs =
            [MULTI, "@@ -1 +1 @@\n", "\"", "diff --git \"a/\\", "Binary files  and  differ", "--- \"\n+++ x\n"];
        for input in inputs {
            for (i, _) in input.char_indices() {
                let prefix = input.get(..i).unwrap_or_default();
                let _ = parse_unified_diff(prefix);
                let suffix = input.get(i..).unwrap_or_default();
                let _ = parse_unified_diff(suffix);
            }
        }
        let lines: Vec<&str> = MULTI.lines().collect();
        for skip in 0..lines.len() {
            let mangled: Vec<&str> = lines.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, l)| *l).collect();
            let _ = parse_unified_diff(&mangled.join("\n"));
        }
    }
}
