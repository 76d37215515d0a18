//! The one failure type every stage returns: a reason from the checklist's table and the text a
//! person reads. Stages classify their own errors by type (hickory's variants, `io::ErrorKind`,
//! rustls' enums), never by message text.

use crate::checklist::Reason;

/// A failed stage: why, in the table's words, and what happened, for a person (never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StageError {
    pub(crate) reason: Reason,
    pub(crate) detail: String,
}

impl StageError {
    pub(crate) fn new(reason: Reason, detail: impl Into<String>) -> Self {
        StageError {
            reason,
            detail: detail.into(),
        }
    }
}
