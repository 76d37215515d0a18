//! A middlebox's marks in an HTTP answer, in words: the header it added, the title of its page.

use serde::Serialize;

use crate::probe::Mark;

/// One middlebox mark in words: `X-Squid-Error: ERR_ACCESS_DENIED 0`, `an HTML page titled “…”`.
pub(crate) fn mark_words(mark: &Mark) -> String {
    match mark {
        Mark::Header { name, value } => format!("{}: {value}", header_case(name)),
        Mark::HtmlPage { title: Some(title) } => {
            format!("an HTML page titled \u{201c}{title}\u{201d}")
        }
        Mark::HtmlPage { title: None } => "an HTML page".to_string(),
    }
}

/// The JSON output names each mark in words.
impl Serialize for Mark {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&mark_words(self))
    }
}

/// `x-squid-error` as `X-Squid-Error`.
fn header_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
            })
        })
        .collect::<Vec<_>>()
        .join("-")
}
