//! A secret's file (a password, an API token): its first line is the secret, read as written (a
//! password may begin or end with a space; a CRLF's `\r` is not part of it). The configuration
//! reads it at load; the management center's poller reads it again while a refused one is held.

use std::path::Path;

/// The first line of the file at `path` (empty when the file is).
pub(crate) fn read_secret(path: &Path) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    Ok(text.lines().next().unwrap_or_default().to_string())
}
