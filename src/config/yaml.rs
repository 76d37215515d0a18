//! The one loader for the exporter's files (the configuration, the web configuration,
//! `connector.properties`): a bounded read of a regular file, YAML parsed with the field path and
//! line of any error, relative paths taken from the file's folder, and one error type that names
//! the file, the field and what was expected, with echoed values cut short.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// The largest file read; a larger one is refused before it is read whole.
pub(crate) const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The longest message an error carries: a value quoted from the file is cut, never echoed whole.
const MAX_MESSAGE_CHARS: usize = 400;

/// A file that cannot be used: where it is, the field, and what was expected.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {field}: {message}")]
pub struct ConfigError {
    pub source_name: String,
    pub field: String,
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(
        source_name: impl Into<String>,
        field: impl Into<String>,
        message: impl AsRef<str>,
    ) -> Self {
        ConfigError {
            source_name: source_name.into(),
            field: field.into(),
            message: clip(message.as_ref(), MAX_MESSAGE_CHARS),
        }
    }
}

/// How much of a value from the file an error quotes.
pub(crate) const QUOTE_CHARS: usize = 80;

/// `text` cut to `max` characters, with `…` where it was cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// A file being loaded: its name for messages and its folder for the relative paths inside it.
pub(crate) struct FileContext {
    pub(crate) name: String,
    base_dir: Option<PathBuf>,
}

impl FileContext {
    /// Text that did not come from a file (the embedded defaults).
    pub(crate) fn embedded(name: impl Into<String>) -> Self {
        FileContext {
            name: name.into(),
            base_dir: None,
        }
    }

    /// Reads `path` (`what` names it in errors): regular files only, at most
    /// [`MAX_FILE_BYTES`], so a FIFO or `/dev/zero` is refused at once instead of blocking a reload
    /// or filling memory.
    pub(crate) fn read(path: &Path, what: &str) -> Result<(FileContext, String), ConfigError> {
        let name = path.display().to_string();
        let fail = |message: String| ConfigError::new(name.clone(), "(file)", message);
        let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read {what}: {e}")))?;
        if !meta.is_file() {
            return Err(fail(format!("{what} must be a regular file")));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(fail(format!(
                "{what} is {} bytes; the limit is {MAX_FILE_BYTES}",
                meta.len()
            )));
        }
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|e| fail(format!("cannot read {what}: {e}")))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(fail(format!(
                "{what} grew past {MAX_FILE_BYTES} bytes while read"
            )));
        }
        let text =
            String::from_utf8(bytes).map_err(|_| fail(format!("{what} is not UTF-8 text")))?;
        let context = FileContext {
            name,
            base_dir: path.parent().map(Path::to_path_buf),
        };
        Ok((context, text))
    }

    /// An error about `field` of this file.
    pub(crate) fn err(&self, field: impl Into<String>, message: impl AsRef<str>) -> ConfigError {
        ConfigError::new(self.name.clone(), field, message)
    }

    /// `p` as written in the file, taken from the file's folder when relative.
    pub(crate) fn path(&self, p: &str) -> PathBuf {
        let p = PathBuf::from(p);
        match &self.base_dir {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p,
        }
    }

    /// Parses YAML `text` into `T`; an error names the field path and the line.
    pub(crate) fn parse<T: DeserializeOwned>(&self, text: &str) -> Result<T, ConfigError> {
        let text = if text.trim().is_empty() { "{}" } else { text };
        let deserializer = serde_yaml_ng::Deserializer::from_str(text);
        serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let field = err.path().to_string();
            let inner = err.into_inner();
            let location = inner
                .location()
                .map(|l| format!(" (line {}, column {})", l.line(), l.column()))
                .unwrap_or_default();
            let error_line = inner.location().map(|l| l.line());
            // The parser stops where it gave up; a mis-indented key at or before that point is
            // the cause, named on its own line.
            if let Some(key) = super::indent::misindented(text)
                .filter(|m| error_line.is_none_or(|line| m.line <= line + 1))
            {
                return self.err(
                    key.path,
                    format!(
                        "line {}: `{}` is indented {} space{}: {}",
                        key.line,
                        key.key,
                        key.indent,
                        if key.indent == 1 { "" } else { "s" },
                        key.why
                    ),
                );
            }
            let message = inner.to_string();
            // serde_yaml_ng prefixes the field path and appends " at line L column C": both are
            // shown once, by this error.
            let message = message
                .find(" at line ")
                .map_or(message.as_str(), |i| &message[..i]);
            // The prefix is the field's path or that of the mapping holding it.
            let message = match message.split_once(": ") {
                Some((head, rest))
                    if field == head
                        || field.starts_with(&format!("{head}."))
                        || field.starts_with(&format!("{head}[")) =>
                {
                    rest
                }
                _ => message,
            };
            let hint = if message.ends_with("expected a duration") {
                " such as `3s`, `500ms` or `1m`"
            } else {
                ""
            };
            let field = if field == "." {
                "(top level)".into()
            } else {
                field
            };
            self.err(
                field,
                format!("{}{hint}{location}", clip(message, MAX_MESSAGE_CHARS)),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_files_are_refused_without_reading_them() {
        for path in ["/dev/zero", "/dev/null", "/"] {
            let err = FileContext::read(Path::new(path), "the configuration")
                .err()
                .expect("refused");
            assert!(err.message.contains("regular file"), "{path}: {err}");
        }
    }

    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("config.yml");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        let err = FileContext::read(&fifo, "the configuration")
            .err()
            .expect("refused");
        assert!(err.message.contains("regular file"), "{err}");
    }

    #[test]
    fn a_huge_value_is_cut_in_the_message() {
        let value = "x".repeat(100_000);
        let err = FileContext::embedded("t.yml")
            .parse::<std::collections::BTreeMap<String, u16>>(&format!("a: {value}\n"))
            .expect_err("not a number");
        assert!(
            err.to_string().len() < 1000,
            "{} bytes",
            err.to_string().len()
        );
    }
}
