//! Pages for people: the status page (the FMC table, then every target stage by stage), the
//! per-target step-by-step view, and the project's documents. Server-rendered HTML, no JavaScript,
//! readable on a phone. Every piece of text that came from a peer or the configuration is escaped.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};

use super::html::{hop_tables, html_escape, url_escape, with_code};
use super::{AppState, bad_request, page_budget, select_targets};
use crate::checklist::{Module, NEXT_STEP, Reason, RowStatus, WHAT_CHANGED, WHO_FIXES_IT};
use crate::config::Config;
use crate::diagnosis::{Report, RowScope, RowView, TargetView, configured_ca_only, format_unix};
use crate::probe::{Freshness, Prober, TargetOutcome, unix_seconds};

pub(crate) const RUNBOOK: &str = include_str!("../../docs/runbook.md");
pub(crate) const ENDPOINTS: &str = include_str!("../../docs/endpoints.md");

/// Shared page style: readable on a phone, no JavaScript.
pub(crate) const PAGE_CSS: &str = "body{font-family:system-ui,-apple-system,sans-serif;max-width:64rem;margin:0 auto;padding:0 .75rem 2rem;line-height:1.45;color:#1b1b1b}\
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:1.6rem}h3{font-size:1rem;margin:.2rem 0}\
table{border-collapse:collapse;width:100%;display:block;overflow-x:auto;margin:.4rem 0}td,th{border:1px solid #d0d0d0;padding:.3rem .5rem;text-align:left;vertical-align:top}\
p.common{background:#fde2e1;color:#7f1d1d;padding:.4rem .6rem;border-radius:.3rem}p.note{background:#eef1f8;padding:.4rem .6rem;border-radius:.3rem}tr.fmc td{padding-left:1.4rem;border-top:0}th{background:#f3f3f3}pre{background:#f4f4f4;padding:.5rem;overflow-x:auto;font-size:.85rem}code{background:#f4f4f4}\
.status{display:inline-block;padding:.05rem .45rem;border-radius:.25rem;font-weight:600}\
.success{background:#dff3e2;color:#14532d}tr.unobserved{color:#6b6b6b}.failure{background:#fde2e1;color:#7f1d1d}.disabled,.skipped{background:#ececec;color:#444}\
section.target{border:1px solid #d0d0d0;border-radius:.4rem;padding:.5rem .75rem;margin:.8rem 0}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .8rem;margin:.4rem 0}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}\
nav{display:flex;flex-wrap:wrap;gap:.2rem .9rem}small{color:#555}\
@media (max-width:40rem){table.rows,table.stages{display:block;border:0}table.rows thead,table.stages thead{display:none}\
table.rows tr,table.stages tr{display:block;border:1px solid #d0d0d0;border-radius:.3rem;margin:.4rem 0;padding:.2rem .4rem}\
table.rows td,table.stages td{display:block;border:0;padding:.1rem 0}td[data-label]:not(:empty)::before{content:attr(data-label) \": \";font-weight:600}}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{} · firepower-cloud-exporter</title><style>{PAGE_CSS}</style></head><body>\n{body}</body></html>\n",
        html_escape(title)
    )
}

fn nav(telemetry: &str) -> String {
    format!(
        "<nav><a href=\"/\">Status</a><a href=\"/probe\">/probe</a><a href=\"{t}\">{t}</a><a href=\"/runbook\">Runbook</a><a href=\"/reasons\">Reasons</a><a href=\"/endpoints\">Endpoints</a></nav>\n",
        t = html_escape(telemetry)
    )
}

fn status_badge(status: RowStatus) -> String {
    format!(
        "<span class=\"status {}\">{}</span>",
        status.as_str(),
        status.title()
    )
}

fn reason_cell(reason: Reason) -> String {
    let class = match reason {
        Reason::Ok => "success",
        r if r.is_failure() => "failure",
        _ => "skipped",
    };
    format!(
        "<a class=\"status {class}\" href=\"/reasons#{0}\">{0}</a>",
        reason.as_str()
    )
}

/// The whole-row report pages show, with the management center's last reading.
fn whole_report(
    state: &AppState,
    config: &Config,
    outcomes: Vec<(Arc<TargetOutcome>, Freshness)>,
    prober: &Prober,
) -> Report {
    let mut report = Report::build(
        config,
        outcomes,
        &RowScope::Whole,
        prober,
        state.fmc.integration(),
    );
    if let Some(view) = state.fmc.view() {
        report.describe_fmc(&view);
    }
    report
}

/// `/`: probes every target (results younger than `min_interval` are reused) and shows the FMC
/// table, then each target's stages and facts.
pub(crate) async fn status(State(state): State<Arc<AppState>>) -> Html<String> {
    let prober = state.prober();
    let config = prober.config().clone();
    let outcomes = prober.probe_all(page_budget(&state)).await;
    let report = whole_report(&state, &config, outcomes, &prober);

    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>firepower-cloud-exporter</h1>\n{}<p><small>Configuration: {} · {} targets · version {}</small></p>\n",
        nav(&state.options.telemetry_path),
        html_escape(&report.source),
        config.targets.len(),
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        body,
        "<p class=\"headline {}\"><strong>{}</strong></p>",
        if report.success { "success" } else { "failure" },
        html_escape(&report.headline())
    );
    if let Some(cause) = &report.common_cause {
        let _ = writeln!(
            body,
            "<p class=\"common\"><strong>One cause:</strong> {}</p>",
            with_code(&html_escape(cause))
        );
    }
    super::fmc::integration_note(&mut body, &report);
    for table in report.fmc_tables() {
        let first = if table.module == Module::ThreatDataUpdates {
            "Data Update"
        } else {
            "Health module"
        };
        let _ = writeln!(
            body,
            "<h2>{}</h2>\n<table class=\"rows\"><thead><tr><th>{first}</th><th>Status</th><th>Reason</th><th>{NEXT_STEP}</th></tr></thead><tbody>",
            table.module.title()
        );
        for line in &table.lines {
            let Some(row) = line.row else { continue };
            status_row(&mut body, line.title, row);
        }
        for folded in table.folded_lines() {
            let _ = writeln!(
                body,
                "<tr class=\"row unobserved\"><td colspan=\"4\"><small>{}</small></td></tr>",
                html_escape(&folded)
            );
        }
        body.push_str("</tbody></table>\n");
    }
    super::fmc::section(&mut body, &report);
    body.push_str("<h2>Targets</h2>\n");
    for t in report.targets_failing_first() {
        target_section(&mut body, t);
    }
    Html(page("Status", &body))
}

/// One probed row of the FMC's table: its status, why, the next step, and what the management
/// center says beside it.
fn status_row(body: &mut String, title: &str, row: &RowView) {
    let why = match (&row.decided_by, row.every_failing()) {
        (Some(_), Some(every)) if row.status == RowStatus::Failure => html_escape(&every),
        (Some(c), _) if row.status == RowStatus::Failure => format!(
            "{} at <a href=\"#target-{t}\">{t}</a> ({})",
            reason_cell(c.reason),
            c.step(),
            t = html_escape(&c.target)
        ),
        _ if row.status == RowStatus::Disabled => reason_cell(row.reason()),
        _ => String::new(),
    };
    let remedy = if row.status == RowStatus::Success {
        String::new()
    } else {
        with_code(&html_escape(&row.remedy()))
    };
    let _ = writeln!(
        body,
        "<tr class=\"row {}\"><td>{}</td><td data-label=\"Status\">{}</td><td data-label=\"Reason\">{why}</td><td data-label=\"{NEXT_STEP}\">{remedy}</td></tr>",
        row.status.as_str(),
        html_escape(title),
        status_badge(row.status)
    );
    super::fmc::beside_row(body, row);
}

fn target_section(body: &mut String, view: &TargetView) {
    let o = &view.outcome;
    let name = html_escape(&view.name);
    let verdict = if view.success {
        "<span class=\"status success\">OK</span>".to_string()
    } else {
        format!(
            "<span class=\"status failure\">FAILURE: {}</span>",
            view.reason.as_str()
        )
    };
    let _ = writeln!(
        body,
        "<section class=\"target\" id=\"target-{name}\"><h3>{name} — {} <small>{}</small> {verdict}</h3>",
        html_escape(&view.host),
        html_escape(view.service.title())
    );
    body.push_str("<table class=\"stages\"><thead><tr><th>Stage</th><th>Result</th><th>Duration</th><th>Detail</th></tr></thead><tbody>\n");
    for s in view.steps() {
        let took = s
            .took
            .map(|d| format!("{:.1} ms", d.as_secs_f64() * 1000.0))
            .unwrap_or_default();
        let _ = writeln!(
            body,
            "<tr><td data-label=\"Stage\">{}</td><td data-label=\"Result\">{}</td><td data-label=\"Duration\">{took}</td><td data-label=\"Detail\">{}</td></tr>",
            s.label,
            reason_cell(s.reason),
            html_escape(&s.detail)
        );
    }
    body.push_str("</tbody></table>\n<dl>");
    if let Some(dns) = &o.dns {
        let addrs: Vec<String> = dns.addresses.iter().map(ToString::to_string).collect();
        let _ = write!(
            body,
            "<dt>DNS</dt><dd>{} from {}{}{}</dd>",
            html_escape(dns.rcode.as_deref().unwrap_or("no answer")),
            html_escape(dns.server.as_deref().unwrap_or(&dns.resolver)),
            if dns.cname_chain.is_empty() {
                String::new()
            } else {
                format!(", CNAME {}", html_escape(&dns.cname_chain.join(" → ")))
            },
            if addrs.is_empty() {
                String::new()
            } else {
                format!(", addresses {}", addrs.join(", "))
            }
        );
    }
    if let Some(tls) = &o.tls {
        let _ = write!(
            body,
            "<dt>TLS</dt><dd>{} {}{}</dd><dt>Subject</dt><dd>{}</dd><dt>Issuer</dt><dd>{}</dd><dt>Expires</dt><dd>{}</dd><dt>Verify</dt><dd>{}</dd>",
            html_escape(&tls.version),
            html_escape(&tls.cipher),
            tls.alpn
                .as_deref()
                .map(|a| format!(", ALPN {}", html_escape(a)))
                .unwrap_or_default(),
            html_escape(&tls.subject),
            html_escape(&tls.issuer),
            tls.not_after.map(format_unix).unwrap_or_default(),
            html_escape(&tls.verify)
        );
        if let Some(words) = configured_ca_only(tls.trusted_via) {
            let _ = write!(body, "<dt>Trusted</dt><dd class=\"warn\">{words}</dd>");
        }
    }
    if let Some(http) = &o.http {
        let _ = write!(
            body,
            "<dt>HTTPS</dt><dd>status {}{}</dd>",
            http.status,
            http.clock_skew_seconds
                .map(|s| format!(", clock skew {s:+.0} s"))
                .unwrap_or_default()
        );
    }
    #[allow(clippy::cast_possible_truncation)]
    let started = unix_seconds(o.started_at) as i64;
    let _ = writeln!(
        body,
        "<dt>Probed</dt><dd>{} in {:.0} ms</dd></dl>",
        format_unix(started),
        o.duration.as_secs_f64() * 1000.0
    );
    hop_tables(body, view);
    if !view.success {
        if let Some(cause) = &view.cause {
            let _ = writeln!(
                body,
                "<p><strong>Why:</strong> {}</p>",
                html_escape(&cause.detail)
            );
            if let Some(changed) = &view.changed {
                let _ = writeln!(
                    body,
                    "<p><strong>{WHAT_CHANGED}:</strong> {}</p>",
                    html_escape(&changed.line())
                );
            }
            if let Some(owner) = cause.owner {
                let _ = writeln!(
                    body,
                    "<p><strong>{WHO_FIXES_IT}:</strong> {} (<code>owner=\"{}\"</code>)</p>",
                    html_escape(owner.title()),
                    owner.as_str()
                );
            }
        }
        let _ = writeln!(
            body,
            "<p><strong>{NEXT_STEP}:</strong> {}</p>",
            with_code(&html_escape(&view.remedy))
        );
    }
    let q = url_escape(&view.name);
    let _ = writeln!(
        body,
        "<p><a href=\"/debug?target={q}\">Step by step</a> · <a href=\"/probe?target={q}\">/probe?target={name}</a></p></section>"
    );
}

/// `/debug?target=NAME`: what the probe did, step by step, like `curl -v`, from the recorded steps.
pub(crate) async fn debug(
    State(state): State<Arc<AppState>>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let prober = state.prober();
    let config = prober.config().clone();
    if !params.iter().any(|(k, _)| k == "target") {
        return bad_request("give `target=NAME`, a configured target".into());
    }
    let targets = match select_targets(&config, &params) {
        Ok(t) => t,
        Err(message) => return bad_request(message),
    };
    let outcomes = prober.probe_many(&targets, page_budget(&state)).await;
    let report = whole_report(&state, &config, outcomes, &prober);
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<h1>firepower-cloud-exporter: step by step</h1>\n{}",
        nav(&state.options.telemetry_path)
    );
    for view in &report.targets {
        let _ = writeln!(
            body,
            "<p><small>Result: {} (a result younger than the target's min_interval is shown again)</small></p>",
            view.freshness.as_str()
        );
        body.push_str("<pre>");
        for step in view.steps() {
            for line in view
                .trace(&step)
                .iter()
                .chain(std::iter::once(&step.summary()))
            {
                body.push_str(&html_escape(line));
                body.push('\n');
            }
        }
        body.push_str("</pre>\n");
        target_section(&mut body, view);
    }
    Html(page("Step by step", &body)).into_response()
}

/// Renders one of the project's Markdown documents as a page. Headings get GitHub-style ids (so
/// the alerts' `runbook_url` anchors work) and links to sibling `.md` files point at their route.
pub(crate) fn markdown_page(title: &str, markdown: &str) -> String {
    use pulldown_cmark::{CowStr, Event, Parser, Tag, TagEnd};
    let mut events: Vec<Event<'_>> =
        Parser::new_ext(markdown, pulldown_cmark::Options::ENABLE_TABLES).collect();
    for i in 0..events.len() {
        if let Event::Start(Tag::Heading { id: None, .. }) = &events[i] {
            let mut text = String::new();
            for e in &events[i + 1..] {
                match e {
                    Event::End(TagEnd::Heading(_)) => break,
                    Event::Text(t) | Event::Code(t) => text.push_str(t),
                    _ => {}
                }
            }
            if let Event::Start(Tag::Heading { id, .. }) = &mut events[i] {
                *id = Some(CowStr::from(slug(&text)));
            }
        }
        if let Event::Start(Tag::Link { dest_url, .. }) = &mut events[i]
            && !dest_url.contains("://")
        {
            let (file, anchor) = dest_url.split_once('#').unwrap_or((dest_url, ""));
            if let Some(name) = file.strip_suffix(".md") {
                let anchor = if anchor.is_empty() {
                    String::new()
                } else {
                    format!("#{anchor}")
                };
                *dest_url = CowStr::from(format!("/{name}{anchor}"));
            }
        }
    }
    let mut body = String::from("<p><a href=\"/\">firepower-cloud-exporter</a></p>\n");
    pulldown_cmark::html::push_html(&mut body, events.into_iter());
    page(title, &body)
}

/// A GitHub-style heading anchor: lower case, spaces to `-`, punctuation dropped.
fn slug(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runbook_headings_get_github_anchors_and_md_links_point_at_routes() {
        let page = markdown_page("Runbook", RUNBOOK);
        assert!(
            page.contains("<h2 id=\"firepowerciscocloudconfigurationfailure\">"),
            "{page}"
        );
        assert!(
            page.contains("href=\"/reasons\""),
            "links to reasons.md become /reasons"
        );
        assert!(page.contains("href=\"/endpoints#port-8989\""));
        assert_eq!(slug("Port 8989"), "port-8989");
    }
}
