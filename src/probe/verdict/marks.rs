//! What in an HTTP answer says a middlebox wrote it, not the Cisco cloud.

use crate::probe::facts::HttpFacts;

/// Web filters and proxies that name themselves in `Server` (lower case, matched anywhere).
const FILTER_PRODUCTS: [&str; 22] = [
    "squid",
    "bluecoat",
    "proxysg",
    "zscaler",
    "fortigate",
    "fortiguard",
    "fortiproxy",
    "forcepoint",
    "websense",
    "mcafee web gateway",
    "skyhigh",
    "barracuda",
    "sophos",
    "netskope",
    "iboss",
    "lightspeed",
    "smoothwall",
    "untangle",
    "contentkeeper",
    "ironport",
    "cisco wsa",
    "pan-os",
];

/// One thing in an HTTP answer that says a middlebox wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mark {
    /// A header a proxy or web filter writes (`X-Squid-Error`, `Via`, `Proxy-*`, a filter
    /// product's `Server`), as received (its name in lower case).
    Header { name: String, value: String },
    /// An HTML page, with its `<title>` when it has one.
    HtmlPage { title: Option<String> },
}

/// What in an HTTP answer says a middlebox wrote it, not the Cisco cloud (whose answer is a plain
/// `403` with `text/plain` and `Forbidden`, the seed's `curl -v -k` transcript): a proxy's own
/// headers (`X-Squid-Error`, `Via`, `Proxy-*`), a filter product in `Server`, an HTML page.
pub(crate) fn marks(http: &HttpFacts) -> Vec<Mark> {
    let mut marks = Vec::new();
    for (name, value) in &http.headers {
        let named = name.eq_ignore_ascii_case("x-squid-error")
            || name.eq_ignore_ascii_case("via")
            || name.to_ascii_lowercase().starts_with("proxy-")
            || (name.eq_ignore_ascii_case("server")
                && FILTER_PRODUCTS
                    .iter()
                    .any(|p| value.to_ascii_lowercase().contains(p)));
        if named {
            marks.push(Mark::Header {
                name: name.to_ascii_lowercase(),
                value: value.clone(),
            });
        }
    }
    let html = http
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("text/html"))
        || http.body.trim_start().starts_with('<');
    if html {
        marks.push(Mark::HtmlPage {
            title: html_title(&http.body),
        });
    }
    marks
}

/// The text of an HTML page's `<title>`, cut to 80 characters.
fn html_title(body: &str) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = start + lower[start..].find('>')? + 1;
    let close = open_end + lower[open_end..].find("</title")?;
    let title: String = body[open_end..close]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!title.is_empty()).then(|| title.chars().take(80).collect())
}
