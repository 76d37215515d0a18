//! The one failure type every stage returns: a reason from the checklist's table and the typed
//! facts of what happened ([`Detail`]). Stages classify their own errors by type (hickory's
//! variants, `io::ErrorKind`, rustls' enums), never by message text; the words are the renderers'.

use super::detail::Detail;
use crate::checklist::Reason;

/// A failed stage: why, in the table's words, and what happened (never a secret).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StageError {
    pub(crate) reason: Reason,
    pub(crate) detail: Detail,
}

impl StageError {
    pub(crate) fn new(reason: Reason, detail: impl Into<Detail>) -> Self {
        StageError {
            reason,
            detail: detail.into(),
        }
    }
}
