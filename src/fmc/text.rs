//! The management center's text made safe to keep and show: control characters out, bounded
//! lengths, the HTML of an alert's `details` read as lines.

/// Peer text made safe to keep and show: control characters become spaces, runs of spaces one,
/// at most `max` characters (an ellipsis marks a cut).
pub(crate) fn clean(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 4));
    let mut count = 0;
    let mut last_space = false;
    for c in text.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if c == ' ' && last_space {
            continue;
        }
        if count == max {
            out.push('…');
            return out;
        }
        last_space = c == ' ';
        out.push(c);
        count += 1;
    }
    out.trim().to_string()
}

/// [`clean`] line by line: an alert's text keeps its line breaks (at most `max` characters in
/// all).
pub(crate) fn clean_lines(text: &str, max: usize) -> String {
    let mut left = max;
    let mut out = Vec::new();
    for line in text.lines() {
        if left == 0 {
            break;
        }
        let line = clean(line, left);
        left = left.saturating_sub(line.chars().count());
        if !line.is_empty() {
            out.push(line);
        }
    }
    out.join("\n")
}

/// The text of an alert's HTML (`details` carries `<br>` between its lines): each `<br>` a line
/// break, other tags dropped, the five character entities read.
pub(crate) fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close]
            .trim_start_matches('/')
            .trim()
            .to_ascii_lowercase();
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or_default();
        if matches!(name, "br" | "p" | "li" | "div" | "tr") {
            out.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    let text = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_text_is_cut_and_cleaned() {
        assert_eq!(clean("a\u{0}\n\nb", 10), "a b");
        assert_eq!(clean(&"x".repeat(100), 5), "xxxxx…");
        assert_eq!(clean_lines("a  b\n\n c\u{0}d ", 10), "a b\nc d");
        assert_eq!(
            clean_lines(&format!("{}\nmore", "x".repeat(8)), 5),
            "xxxxx…"
        );
    }

    #[test]
    fn an_alerts_html_reads_as_lines() {
        assert_eq!(
            html_text("<b>Failed</b><br>Reason: DNS<br/>Host: a &amp; b<p>x &lt;y&gt;</p>"),
            "Failed\nReason: DNS\nHost: a & b\nx <y>"
        );
        // A tag that only begins like a line break is not one.
        assert_eq!(html_text("a<pre>b</pre>c<param>d"), "abcd");
        assert_eq!(html_text("no tags, 2 < 3"), "no tags, 2 < 3");
    }
}
