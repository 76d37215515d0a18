//! HTML pieces the pages share: escaping, pasteable commands as `<code>`, and the hop tables of
//! where the path to a failing port breaks.

use std::fmt::Write as _;

use crate::diagnosis::TargetView;

/// Where the path breaks, for each failing step a trace explains: the sentence, then the hops.
pub(super) fn hop_tables(body: &mut String, view: &TargetView) {
    for path in &view.paths {
        let _ = writeln!(
            body,
            "<p class=\"path\"><strong>Path {}:</strong> {}</p>\n<table class=\"hops\"><thead><tr><th>Hop</th><th>Answered by</th><th>Answer</th><th>Time</th></tr></thead><tbody>",
            html_escape(&path.step),
            html_escape(&path.summary)
        );
        for hop in &path.trace.hops {
            let from = hop.from.map_or_else(|| "*".to_string(), |a| a.to_string());
            let rtt = hop
                .rtt
                .map(|d| format!("{:.1} ms", d.as_secs_f64() * 1000.0))
                .unwrap_or_default();
            let _ = writeln!(
                body,
                "<tr><td>{}</td><td>{from}</td><td>{}</td><td>{rtt}</td></tr>",
                hop.ttl,
                crate::diagnosis::hop_words(hop.answer)
            );
        }
        body.push_str("</tbody></table>\n");
    }
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped text with its `backtick` spans (commands to paste) as `<code>` elements.
pub(super) fn with_code(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len() + 32);
    for (i, part) in escaped.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// Escapes a query parameter value.
pub(super) fn url_escape(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            html_escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
