//! Cursor pagination: `?limit=&cursor=`, with an opaque cursor that encodes the last id seen.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    /// The id after which to continue (decoded from the opaque cursor).
    pub after: Option<String>,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 500;

    pub fn first(limit: u32) -> Self {
        Self { limit: limit.clamp(1, Self::MAX_LIMIT), after: None }
    }

    /// Build from query parameters; `Err` names what is wrong with the cursor.
    pub fn from_query(limit: Option<u32>, cursor: Option<&str>) -> Result<Self, String> {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(format!("must be between 1 and {}", Self::MAX_LIMIT));
        }
        let after = match cursor {
            None | Some("") => None,
            Some(c) => Some(decode_cursor(c).ok_or_else(|| "is not a valid cursor".to_string())?),
        };
        Ok(Self { limit, after })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Build a page from up to `limit + 1` rows fetched in id order: the extra row only tells
    /// that there is a next page.
    pub fn from_rows(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Self {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(|r| encode_cursor(&key(r))) } else { None };
        Self { items: rows, next_cursor }
    }
}

pub fn encode_cursor(last_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{last_key}"))
}

pub fn decode_cursor(cursor: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    String::from_utf8(bytes).ok()?.strip_prefix("v1:").map(str::to_string)
}

/// The sequence number to continue after in a list keyed by sequence number (lines, findings):
/// -1 for the first page, `None` for a cursor that is not one of ours (such a cursor points past
/// everything, so the page is empty).
pub(crate) fn seq_after(page: &PageRequest) -> Option<i64> {
    match &page.after {
        None => Some(-1),
        Some(after) => after.parse().ok(),
    }
}

/// A page of rows keyed by sequence number: up to `limit + 1` rows in, the cursor names the last
/// kept row's key.
pub(crate) fn keyed_page<R, T>(
    rows: Vec<R>,
    limit: u32,
    key: impl Fn(&R) -> i64,
    convert: impl Fn(R) -> crate::StoreResult<T>,
) -> crate::StoreResult<Page<T>> {
    let keyed = rows.into_iter().map(|r| Ok((key(&r), convert(r)?))).collect::<crate::StoreResult<Vec<(i64, T)>>>()?;
    let Page { items, next_cursor } = Page::from_rows(keyed, limit, |(k, _)| k.to_string());
    Ok(Page { items: items.into_iter().map(|(_, t)| t).collect(), next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_with_an_extra_row_has_a_cursor_to_the_last_item() {
        let p = Page::from_rows(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(p.items, vec![1, 2]);
        assert_eq!(decode_cursor(p.next_cursor.as_deref().unwrap()).as_deref(), Some("2"));
        assert!(Page::from_rows(vec![1, 2], 2, |n| n.to_string()).next_cursor.is_none());
    }

    #[test]
    fn bad_cursors_and_limits_are_rejected() {
        assert!(PageRequest::from_query(Some(0), None).is_err());
        assert!(PageRequest::from_query(None, Some("not base64!")).is_err());
        assert!(PageRequest::from_query(Some(10), Some(&encode_cursor("an_x"))).is_ok());
    }
}
