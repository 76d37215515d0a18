//! Times in words: a UTC date and time from Unix seconds, for every renderer.

use std::time::Duration;

/// `2026-11-29T15:39:48Z` from Unix seconds.
pub(crate) fn format_unix(secs: i64) -> String {
    let secs = u64::try_from(secs).unwrap_or(0);
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}
