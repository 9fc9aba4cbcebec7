//! Property tests of the unified diff parser: any set of files git could print — new, deleted,
//! modified, renamed, copied, mode-changed, binary; paths with spaces, quotes, backslashes and
//! non-ASCII; hunks with zero counts; a missing newline at the end — renders to text that parses
//! back to exactly those files, and the changed lines derived from it are consistent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use provenance_core::diff::{
    FileDiff, Hunk, HunkLine, LineKind, changed_lines, parse_unified_diff, render_unified_diff,
};
use provenance_core::line::ChangeType;

fn segment() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_. \"\\\\é日-]{1,8}".prop_filter("not . or ..", |s| s != "." && s != "..")
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..=3).prop_map(|parts| parts.join("/"))
}

fn content() -> impl Strategy<Value = String> {
    "[^\r\n]{0,24}"
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Modified,
    New,
    Deleted,
    Renamed,
    Copied,
    ModeChange,
    Binary,
}

fn kind() -> impl Strategy<Value = LineKind> {
    prop_oneof![Just(LineKind::Context), Just(LineKind::Added), Just(LineKind::Removed)]
}

/// Hunks with consistent counts and line numbers: `(gap before the hunk, lines, section)`.
fn hunks(only: Option<LineKind>) -> impl Strategy<Value = Vec<Hunk>> {
    let line_kind = match only {
        Some(k) => Just(k).boxed(),
        None => kind().boxed(),
    };
    let hunk = (1u32..30, prop::collection::vec((line_kind, content()), 1..8), "[a-zA-Z(){}_ ]{0,12}");
    let count = if only.is_some() { 1..=1 } else { 1..=3 };
    (prop::collection::vec(hunk, count), any::<bool>()).prop_map(move |(specs, no_newline)| {
        let (mut old_next, mut new_next) = (1u32, 1u32);
        let mut out = Vec::new();
        for (gap, lines, section) in specs {
            let (old_start, new_start) = match only {
                Some(LineKind::Added) => (0, 1),
                Some(LineKind::Removed) => (1, 0),
                _ => (old_next + gap, new_next + gap),
            };
            let (mut old_line, mut new_line) = (old_start, new_start);
            let mut hunk = Hunk { old_start, new_start, section, ..Hunk::default() };
            for (kind, content) in lines {
                let (old, new) = match kind {
                    LineKind::Context => (Some(old_line), Some(new_line)),
                    LineKind::Removed => (Some(old_line), None),
                    LineKind::Added => (None, Some(new_line)),
                };
                old_line += u32::from(old.is_some());
                new_line += u32::from(new.is_some());
                hunk.lines.push(HunkLine { kind, old_line: old, new_line: new, content, no_newline_at_eof: false });
            }
            hunk.old_count = old_line - old_start;
            hunk.new_count = new_line - new_start;
            (old_next, new_next) = (old_line, new_line);
            out.push(hunk);
        }
        if no_newline && let Some(last) = out.last_mut().and_then(|h| h.lines.last_mut()) {
            last.no_newline_at_eof = true;
        }
        out
    })
}

fn mode() -> impl Strategy<Value = String> {
    prop_oneof![Just("100644".to_string()), Just("100755".to_string())]
}

fn file() -> impl Strategy<Value = FileDiff> {
    let shape = prop_oneof![
        4 => Just(Shape::Modified),
        2 => Just(Shape::New),
        2 => Just(Shape::Deleted),
        1 => Just(Shape::Renamed),
        1 => Just(Shape::Copied),
        1 => Just(Shape::ModeChange),
        1 => Just(Shape::Binary),
    ];
    (
        shape,
        path(),
        path(),
        mode(),
        hunks(None),
        hunks(Some(LineKind::Added)),
        hunks(Some(LineKind::Removed)),
        any::<bool>(),
    )
        .prop_filter("a rename or copy changes the path", |(shape, a, b, ..)| {
            !matches!(shape, Shape::Renamed | Shape::Copied) || a != b
        })
        .prop_map(|(shape, a, b, mode, mixed, added, removed, with_hunks)| {
            let mut f = FileDiff { old_path: Some(a.clone()), new_path: Some(a.clone()), ..FileDiff::default() };
            match shape {
                Shape::Modified => f.hunks = mixed,
                Shape::New => {
                    f.old_path = None;
                    f.new_mode = Some(mode);
                    f.hunks = added;
                }
                Shape::Deleted => {
                    f.new_path = None;
                    f.old_mode = Some(mode);
                    f.hunks = removed;
                }
                Shape::Renamed | Shape::Copied => {
                    f.new_path = Some(b);
                    f.is_rename = shape == Shape::Renamed;
                    f.is_copy = shape == Shape::Copied;
                    if with_hunks {
                        f.hunks = mixed;
                    }
                }
                Shape::ModeChange => {
                    f.old_mode = Some("100644".into());
                    f.new_mode = Some("100755".into());
                    if with_hunks {
                        f.hunks = mixed;
                    }
                }
                Shape::Binary => f.is_binary = true,
            }
            f
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn rendering_then_parsing_gives_back_the_same_files(files in prop::collection::vec(file(), 1..4)) {
        let text = render_unified_diff(&files);
        let parsed = parse_unified_diff(&text);
        prop_assert_eq!(parsed.as_ref(), Ok(&files), "{}", text);
    }

    #[test]
    fn crlf_line_endings_parse_like_lf(files in prop::collection::vec(file(), 1..3)) {
        let text = render_unified_diff(&files);
        let crlf = text.replace('\n', "\r\n");
        prop_assert_eq!(parse_unified_diff(&crlf), parse_unified_diff(&text));
    }

    #[test]
    fn changed_lines_account_for_every_added_and_removed_line(files in prop::collection::vec(file(), 1..4)) {
        let changed = changed_lines(&files);
        let added: usize = files.iter().filter(|f| !f.is_binary).flat_map(|f| &f.hunks).flat_map(|h| &h.lines)
            .filter(|l| l.kind == LineKind::Added).count();
        let at_head = changed.iter().filter(|c| c.change_type != ChangeType::Deleted).count();
        prop_assert_eq!(at_head, added, "every added line is reported once, as added or modified");
        for c in &changed {
            let file = files.iter().find(|f| f.path() == Some(c.path.as_str()));
            prop_assert!(file.is_some(), "{} is a path of the diff", c.path);
            prop_assert!(c.line_number >= 1);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "(diff --git |--- |\\+\\+\\+ |@@ -|[-+ \\\\]|Binary files |rename from |\"|[^\n]{0,12}|\n){0,40}") {
        let _ = parse_unified_diff(&text).map(|files| changed_lines(&files));
    }
}
