//! The glossary: the words every surface uses for the same things (the FMC's rows, the checklist's
//! steps, the teams that own a fix, and the names of what a failure shows). The status page,
//! `check`, the metrics (`firepower_cloud_reason_info{team}`), the alerts and the dashboards read
//! them from here or from the tables beside it (`Reason`, `Owner`, `Service`); `docs/glossary.md`
//! is generated from it, and a test checks each surface against it.

use super::{Module, Owner, Service, Stage};

/// What a failure shows, by the name every surface gives it.
pub(crate) const WHO_FIXES_IT: &str = "Who fixes it";
/// The short form in a one-line summary (the status page's and `check`'s first line, a row
/// alert's summary): `fix: DNS`.
pub(crate) const FIX: &str = "fix";
pub(crate) const NEXT_STEP: &str = "Next step";
pub(crate) const EVIDENCE: &str = "Evidence";
pub(crate) const WHAT_CHANGED: &str = "What changed";
pub(crate) const NOT_PROBED: &str = "Not probed";

/// The terms, with what each means.
const TERMS: [(&str, &str); 6] = [
    (
        WHO_FIXES_IT,
        "the team that owns the fix, from the owners below; in a one-line summary `fix: <team>`; the `owner` label of the verdict series and of every alert",
    ),
    (
        NEXT_STEP,
        "the remedy: what to do, with this failure's host, port, DNS server and proxy in its commands (`remedy` label and annotation)",
    ),
    (
        EVIDENCE,
        "the one fact a failure rests on, in words that stay the same between scrapes: the resolver and its answer, the proxy and its status, the certificate's issuer, the last hop that answered (`evidence` label and annotation)",
    ),
    (
        WHAT_CHANGED,
        "what differs from the target's last success: new DNS answers or server, a new issuer, a new proxy status, a path that now goes silent, or the step that now fails (`firepower_cloud_target_change_info`, the `changed` annotation)",
    ),
    (
        NOT_PROBED,
        "an FMC row no Cisco host the device reaches decides (threat intelligence the management center pushes), or one no configured target stands for",
    ),
    (
        "Failure / Success / Disabled",
        "an FMC row's status, in the FMC's own words; Disabled while cloud integration is off on purpose",
    ),
];

/// Each checklist step: its label and the manual step it automates.
const STEPS: [(Stage, &str); 6] = [
    (Stage::Dns, "the nslookup step: does the name resolve?"),
    (
        Stage::Tcp,
        "the telnet step (`tcp/443`, `tcp/8989`): does a TCP connection open?",
    ),
    (
        Stage::Proxy,
        "the CONNECT tunnel through the configured HTTP proxy (`proxy/443`)",
    ),
    (
        Stage::Tls,
        "the curl -v -k step: the TLS handshake and the certificate (`tls/443`)",
    ),
    (
        Stage::Http,
        "the HTTPS request; a healthy path to api-sse.cisco.com answers 403",
    ),
    (Stage::Clock, "the server's Date against this host's clock"),
];

/// The glossary as Markdown (`docs/glossary.md` is this text; a test keeps them equal).
pub fn glossary_markdown() -> String {
    let mut out = String::from(
        "# Glossary\n\n\
         Generated from `src/checklist/glossary.rs` and the tables beside it, the one source of \
         these words: the status page, `check`, the metrics, the alerts, the dashboards and the \
         runbook use them as written here, and a test checks each surface. Regenerate with \
         `UPDATE_DOCS=1 cargo test --test it docs`.\n\n\
         ## What a failure shows\n\n| term | meaning |\n|---|---|\n",
    );
    for (term, meaning) in TERMS {
        out.push_str(&format!("| {term} | {meaning} |\n"));
    }
    out.push_str(
        "\n## The FMC's rows\n\nIn the management center's words: the row of its health table \
         and the module it belongs to (`service` and `module` labels).\n\n\
         | row | module | `service` |\n|---|---|---|\n",
    );
    for service in Service::ALL {
        let module = service.module();
        out.push_str(&format!(
            "| {} | {} | `{}` |\n",
            service.title(),
            module.title(),
            service.as_str()
        ));
    }
    out.push_str(&format!(
        "\nThe other rows of {} are not probed (threat intelligence the management center \
         pushes to the device).\n",
        Module::ThreatDataUpdates.title()
    ));
    out.push_str("\n## The checklist's steps\n\n| `stage` | step |\n|---|---|\n");
    for (stage, words) in STEPS {
        out.push_str(&format!("| `{}` | {words} |\n", stage.as_str()));
    }
    out.push_str(
        "\nEach failure reason, with what was observed and the next step, is in \
         [reasons.md](reasons.md).\n\n## Who fixes it\n\n| `owner` | team |\n|---|---|\n",
    );
    for owner in Owner::ALL {
        out.push_str(&format!("| `{}` | {} |\n", owner.as_str(), owner.title()));
    }
    out
}
