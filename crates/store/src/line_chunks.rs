//! How both stores keep an analysis' changed lines: in chunks of [`LINES_PER_CHUNK`] lines, each
//! chunk one row holding a JSON array of [`ChangedLine`]s in submission order.
//!
//! Lines are written twice per analysis (at submission, then again with their resolved
//! attribution) and read whole by the worker; nothing queries them by their contents. One row
//! per line made each of those writes hundreds of row versions, index entries and foreign-key
//! checks — the largest share of database time per decision in the round-trip benchmark. A line's
//! sequence number (its position in the submission, from 0) is `chunk * LINES_PER_CHUNK + index`,
//! so paging by sequence number reads only the chunks a page touches.
//!
//! The JSON is `ChangedLine`'s serde form, as with the other stored documents (decisions,
//! bundles): a change to that form which stored rows can no longer read needs a migration.

use provenance_core::ChangedLine;

use crate::error::StoreResult;
use crate::page::Page;
use crate::row_codec::{from_json, to_json};

/// Lines per stored chunk. Changing it needs a migration that re-chunks the stored lines.
pub(crate) const LINES_PER_CHUNK: usize = 1_000;

/// The chunks of `lines` as `(chunk number, JSON array)`, in order.
pub(crate) fn encode(lines: &[ChangedLine]) -> StoreResult<Vec<(i64, String)>> {
    lines.chunks(LINES_PER_CHUNK).enumerate().map(|(n, chunk)| Ok((n as i64, to_json(chunk)?))).collect()
}

/// The lines of consecutive chunks, in order.
pub(crate) fn decode<'a>(chunks: impl IntoIterator<Item = &'a str>) -> StoreResult<Vec<ChangedLine>> {
    let mut lines = Vec::new();
    for chunk in chunks {
        lines.extend(from_json::<Vec<ChangedLine>>("changed lines", chunk)?);
    }
    Ok(lines)
}

/// The first and last chunk numbers holding a page of `limit` lines after sequence number
/// `after` (-1 for the first page), including the one line past the page that tells whether a
/// next page exists.
pub(crate) fn chunk_range(after: i64, limit: u32) -> (i64, i64) {
    let per_chunk = LINES_PER_CHUNK as i64;
    let first = after.saturating_add(1).max(0);
    let last = first.saturating_add(i64::from(limit));
    (first / per_chunk, last / per_chunk)
}

/// The page of lines after sequence number `after` from the chunks of [`chunk_range`], given as
/// `(chunk number, JSON array)` in chunk order. The cursor names the last line's sequence number.
pub(crate) fn page(chunks: &[(i64, String)], after: i64, limit: u32) -> StoreResult<Page<ChangedLine>> {
    let mut keyed = Vec::with_capacity(limit as usize + 1);
    'chunks: for (chunk, text) in chunks {
        let base = chunk * LINES_PER_CHUNK as i64;
        for (i, line) in from_json::<Vec<ChangedLine>>("changed lines", text)?.into_iter().enumerate() {
            let seq = base + i as i64;
            if seq <= after {
                continue;
            }
            keyed.push((seq, line));
            if keyed.len() > limit as usize {
                break 'chunks;
            }
        }
    }
    let Page { items, next_cursor } = Page::from_rows(keyed, limit, |(seq, _)| seq.to_string());
    Ok(Page { items: items.into_iter().map(|(_, line)| line).collect(), next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;
    use provenance_core::{Attribution, ChangeType, RepoPath};

    fn lines(n: usize) -> Vec<ChangedLine> {
        (0..n)
            .map(|i| ChangedLine {
                file_path: RepoPath::parse(&format!("src/f{}.py", i % 7)).unwrap(),
                line_number: i as u32 + 1,
                change_type: ChangeType::Added,
                content: Some(format!("x = {i}")),
                language: None,
                author_identity: None,
                declared: None,
                content_sha256: None,
                attestation_signature: None,
                attribution: Attribution::unknown(),
            })
            .collect()
    }

    /// Walk every page the way a client does, cursor by cursor, fetching only the chunks that
    /// `chunk_range` names.
    fn walk(all: &[(i64, String)], limit: u32) -> Vec<ChangedLine> {
        let mut seen = Vec::new();
        let mut after = -1;
        loop {
            let (first, last) = chunk_range(after, limit);
            let fetched: Vec<_> = all.iter().filter(|(c, _)| (first..=last).contains(c)).cloned().collect();
            let p = page(&fetched, after, limit).unwrap();
            assert!(p.items.len() <= limit as usize);
            seen.extend(p.items);
            match p.next_cursor {
                Some(cursor) => after = crate::page::decode_cursor(&cursor).unwrap().parse().unwrap(),
                None => return seen,
            }
        }
    }

    #[test]
    fn chunks_round_trip_in_order() {
        let original = lines(2_345);
        let chunks = encode(&original).unwrap();
        assert_eq!(chunks.iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(decode(chunks.iter().map(|(_, t)| t.as_str())).unwrap(), original);
    }

    #[test]
    fn paging_across_chunk_boundaries_returns_every_line_once() {
        for n in [0, 1, 2, 999, 1_000, 1_001, 2_345] {
            let original = lines(n);
            let chunks = encode(&original).unwrap();
            // Every page decodes a whole chunk: keep one-line pages to the small cases.
            let limits: &[u32] = if n <= 2 { &[1, 2, 500] } else { &[97, 500, 999, 1_000] };
            for &limit in limits {
                assert_eq!(walk(&chunks, limit), original, "{n} lines, pages of {limit}");
            }
        }
    }

    #[test]
    fn a_cursor_past_the_end_gives_an_empty_last_page() {
        let chunks = encode(&lines(10)).unwrap();
        let p = page(&chunks, 9, 50).unwrap();
        assert!(p.items.is_empty());
        assert_eq!(p.next_cursor, None);
    }
}
