//! What in an HTTP answer says a middlebox wrote it, not the Cisco cloud.

use crate::probe::http::HttpFacts;

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

/// What in an HTTP answer says a middlebox wrote it, not the Cisco cloud (whose answer is a plain
/// `403` with `text/plain` and `Forbidden`, the seed's `curl -v -k` transcript): a proxy's own
/// headers (`X-Squid-Error`, `Via`, `Proxy-*`), a filter product in `Server`, an HTML page.
pub(crate) fn marks(http: &HttpFacts) -> Vec<String> {
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
            marks.push(format!("{}: {value}", header_case(name)));
        }
    }
    let html = http
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("text/html"))
        || http.body.trim_start().starts_with('<');
    if html {
        marks.push(match html_title(&http.body) {
            Some(title) => format!("an HTML page titled \u{201c}{title}\u{201d}"),
            None => "an HTML page".to_string(),
        });
    }
    marks
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
