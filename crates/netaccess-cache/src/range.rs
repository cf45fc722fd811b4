//! Serving a `Range` request from a complete stored response (RFC 9110 14).
//!
//! # Design
//!
//! Only a single byte range is sliced (`bytes=a-b`, `bytes=a-`, `bytes=-n`); anything else (
//! several ranges, other units, a range that does not fit) goes to the origin, whose answer is
//! passed through and not stored.

/// The inclusive byte range a `Range` header asks of a body of `len` bytes, when it is one
/// satisfiable range.
///
/// ```
/// use netaccess_cache::range::single_range;
/// assert_eq!(single_range("bytes=0-4", 10), Some((0, 4)));
/// assert_eq!(single_range("bytes=5-", 10), Some((5, 9)));
/// assert_eq!(single_range("bytes=-3", 10), Some((7, 9)));
/// assert_eq!(single_range("bytes=0-1,4-5", 10), None);
/// assert_eq!(single_range("bytes=10-", 10), None);
/// ```
pub fn single_range(value: &str, len: u64) -> Option<(u64, u64)> {
    let spec = value.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let number = |text: &str| -> Option<u64> {
        let text = text.trim();
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok()).flatten()
    };
    if first.trim().is_empty() {
        let suffix = number(last)?;
        return (suffix > 0).then(|| (len.saturating_sub(suffix), len - 1));
    }
    let start = number(first)?;
    let end = if last.trim().is_empty() { len - 1 } else { number(last)?.min(len - 1) };
    (start <= end && start < len).then_some((start, end))
}
