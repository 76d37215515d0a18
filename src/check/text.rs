//! `check`'s text for a person: one function per section (the heading, the management center,
//! the FMC's table, each target), each writing its lines.

use std::fmt::Write as _;

use crate::checklist::{Module, NEXT_STEP, Reason, RowStatus, WHAT_CHANGED, WHO_FIXES_IT};
use crate::diagnosis::{
    FmcSummary, Report, RowView, TargetView, configured_ca_only, format_unix, plain,
    uninterpreted_words,
};

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn good(&self, t: &str) -> String {
        self.wrap("32", t)
    }
    fn bad(&self, t: &str) -> String {
        self.wrap("31;1", t)
    }
    fn dim(&self, t: &str) -> String {
        self.wrap("2", t)
    }
}

/// The report for a person: the FMC table first, then each target stage by stage.
pub(super) fn render_text(report: &Report, colour: bool) -> String {
    let p = Paint { on: colour };
    let mut out = String::new();
    heading(&mut out, &p, report);
    if let Some(fmc) = &report.fmc {
        management_center(&mut out, &p, fmc);
    }
    if let Some(note) = &report.integration_note {
        let _ = writeln!(out);
        let _ = writeln!(out, "{note}");
    }
    fmc_table(&mut out, &p, report);
    for t in report.targets_failing_first() {
        target(&mut out, &p, t);
    }
    out
}

/// The first line (how many rows fail and why, or that all succeed), where the targets came from,
/// and the one cause when several rows share it.
fn heading(out: &mut String, p: &Paint, report: &Report) {
    let headline = report.headline();
    let headline = if report.success {
        p.good(&headline)
    } else {
        p.bad(&headline)
    };
    let _ = writeln!(out, "{headline}");
    let _ = writeln!(out);
    let _ = writeln!(out, "Threat Data Updates on Devices  ({})", report.source);
    if let Some(cause) = &report.common_cause {
        let _ = writeln!(out);
        let _ = writeln!(out, "{} {cause}", p.bad("One cause:"));
    }
}

/// What the management center says: read or not, its integration settings, devices it does not
/// know, the other modules' alerts.
fn management_center(out: &mut String, p: &Paint, fmc: &FmcSummary) {
    let _ = writeln!(out);
    let state = if fmc.up {
        p.good("read")
    } else {
        p.bad("not read")
    };
    let _ = writeln!(out, "Management center: {state}  {}", fmc.headline());
    if let Some(integration) = &fmc.integration {
        let _ = writeln!(out, "  cloud integration in its settings: {integration}");
    }
    if !fmc.devices_not_found.is_empty() {
        let _ = writeln!(
            out,
            "  {} {}",
            p.bad("devices in fmc.devices it does not know:"),
            fmc.devices_not_found.join(", ")
        );
    }
    if !fmc.not_interpreted.is_empty() {
        let each: Vec<String> = fmc
            .not_interpreted
            .iter()
            .map(uninterpreted_words)
            .collect();
        let _ = writeln!(
            out,
            "  {} {}",
            p.dim("not interpreted here:"),
            each.join("; ")
        );
    }
    for h in &fmc.other {
        let _ = writeln!(
            out,
            "  {} {}: {}  {}",
            h.device,
            h.module.title(),
            h.status.title(),
            p.dim(&h.text.replace('\n', "\n      "))
        );
    }
}

/// The FMC's tables: failing rows first, each with its status and why, then the rows not probed
/// folded into one line.
fn fmc_table(out: &mut String, p: &Paint, report: &Report) {
    for table in report.fmc_tables() {
        let first = if table.module == Module::ThreatDataUpdates {
            "Data Update"
        } else {
            "Health module"
        };
        let _ = writeln!(out);
        let _ = writeln!(out, "  {first:<36} Status");
        for line in &table.lines {
            if let Some(row) = line.row {
                fmc_row(out, p, line.title, row);
            }
        }
        for folded in table.folded_lines() {
            let _ = writeln!(out, "  {}", p.dim(&folded));
        }
    }
}

/// One probed row: its status, why, and what the management center says beside it.
fn fmc_row(out: &mut String, p: &Paint, title: &str, row: &RowView) {
    let status = match row.status {
        RowStatus::Success => p.good(&format!("{:<8}", row.status.title())),
        RowStatus::Failure => p.bad(&format!("{:<8}", row.status.title())),
        RowStatus::Disabled => p.dim(&format!("{:<8}", row.status.title())),
    };
    let why = match (&row.decided_by, row.every_failing()) {
        (Some(_), Some(every)) if row.status == RowStatus::Failure => format!("  {every}"),
        (Some(c), None) if row.status == RowStatus::Failure => {
            format!("  {} at {} ({})", c.reason, c.target, c.step())
        }
        _ if row.status == RowStatus::Disabled => format!("  {}", row.reason()),
        _ => String::new(),
    };
    let _ = writeln!(out, "  {title:<36} {status}{why}");
    for says in &row.fmc {
        let line = format!("      {}", says.beside);
        let _ = writeln!(
            out,
            "{}",
            if says.status.is_failure() {
                p.bad(&line)
            } else {
                line
            }
        );
    }
}

/// One target: its verdict, each step, the facts, where the path breaks, and why.
fn target(out: &mut String, p: &Paint, t: &TargetView) {
    let o = &t.outcome;
    let _ = writeln!(out);
    let verdict = if t.success {
        p.good("OK")
    } else {
        p.bad(&format!("FAILURE: {}", t.reason))
    };
    let _ = writeln!(
        out,
        "{} ({}) [{}]  {verdict}  in {:.0} ms",
        t.name,
        t.host,
        o.target.service.title(),
        o.duration.as_secs_f64() * 1000.0
    );
    steps(out, p, t);
    facts(out, t);
    paths(out, t);
    if !t.success {
        let _ = writeln!(out, "  Reason: {}", t.reason.summary());
        if let Some(cause) = &t.cause {
            let _ = writeln!(out, "  Why: {}", plain(&cause.detail));
            if let Some(changed) = &t.changed {
                let _ = writeln!(out, "  {WHAT_CHANGED}: {}", changed.line());
            }
            if let Some(owner) = cause.owner {
                let _ = writeln!(
                    out,
                    "  {WHO_FIXES_IT}: {} (owner={})",
                    owner.title(),
                    owner.as_str()
                );
            }
        }
        let _ = writeln!(out, "  {NEXT_STEP}: {}", plain(&t.remedy));
    }
}

/// Each step of a target: its result, how long it took and its own account.
fn steps(out: &mut String, p: &Paint, t: &TargetView) {
    let steps = t.steps();
    // Columns as wide as their longest entry; padded before colouring, so escape codes do not
    // count as width.
    let label_width = steps.iter().map(|s| s.label.len()).max().unwrap_or(0);
    let reason_width = steps
        .iter()
        .map(|s| s.reason.as_str().len())
        .max()
        .unwrap_or(0);
    for s in &steps {
        let padded = format!("{:<reason_width$}", s.reason.as_str());
        let result = match s.reason {
            Reason::Ok => p.good(&padded),
            r if r.is_failure() => p.bad(&padded),
            _ => p.dim(&padded),
        };
        let took = match s.took {
            Some(d) => format!("{:>8.1} ms", d.as_secs_f64() * 1000.0),
            None => format!("{:>11}", ""),
        };
        let _ = writeln!(
            out,
            "  {:<label_width$}  {result}  {took}  {}",
            s.label, s.detail
        );
    }
}

/// What the DNS, TLS and HTTP steps showed.
fn facts(out: &mut String, t: &TargetView) {
    let o = &t.outcome;
    if let Some(dns) = &o.dns {
        let mut line = format!("  dns: resolver {}", dns.resolver);
        if let Some(server) = &dns.server {
            let _ = write!(line, ", answered by {server}");
        }
        if let Some(rcode) = &dns.rcode {
            let _ = write!(line, ", {rcode}");
        }
        if !dns.cname_chain.is_empty() {
            let _ = write!(line, ", CNAME {}", dns.cname_chain.join(" -> "));
        }
        let _ = writeln!(out, "{line}");
    }
    if let Some(tls) = &o.tls {
        let _ = writeln!(
            out,
            "  tls: {} {}, ALPN {}",
            tls.version,
            tls.cipher,
            tls.alpn.as_deref().unwrap_or("none")
        );
        let _ = writeln!(out, "  tls: subject {}", tls.subject);
        let _ = writeln!(out, "  tls: issuer  {}", tls.issuer);
        if let Some(na) = tls.not_after {
            let _ = writeln!(out, "  tls: expires {}", format_unix(na));
        }
        let _ = writeln!(out, "  tls: verify  {}", tls.verify);
        if let Some(words) = configured_ca_only(tls.trusted_via) {
            let _ = writeln!(out, "  tls: {words}");
        }
    }
    if let Some(http) = &o.http {
        let skew = http
            .clock_skew_seconds
            .map(|s| format!(", clock skew {s:+.0} s"))
            .unwrap_or_default();
        let _ = writeln!(out, "  http: status {}{skew}", http.status);
    }
}

/// Where the path breaks, hop by hop, for each failing step a trace explains.
fn paths(out: &mut String, t: &TargetView) {
    for path in &t.paths {
        let _ = writeln!(out, "  path {}: {}", path.step, path.summary);
        let rows: Vec<(String, &str, String)> = path
            .trace
            .hops
            .iter()
            .map(|hop| {
                let rtt = hop
                    .rtt
                    .map(|d| format!("{:.1} ms", d.as_secs_f64() * 1000.0))
                    .unwrap_or_default();
                let from = hop.from.map_or_else(|| "*".to_string(), |a| a.to_string());
                (from, crate::diagnosis::hop_words(hop.answer), rtt)
            })
            .collect();
        let from_width = rows.iter().map(|r| r.0.len()).max().unwrap_or(1);
        let answer_width = rows.iter().map(|r| r.1.len()).max().unwrap_or(1);
        for (hop, (from, answer, rtt)) in path.trace.hops.iter().zip(&rows) {
            let line = format!(
                "    {:>2}  {from:<from_width$}  {answer:<answer_width$}  {rtt}",
                hop.ttl
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
}
