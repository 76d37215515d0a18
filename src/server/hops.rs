//! The status page's hop tables: where the path to a failing port breaks.

use std::fmt::Write as _;

use super::pages::html_escape;
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
                hop.answer.words()
            );
        }
        body.push_str("</tbody></table>\n");
    }
}
