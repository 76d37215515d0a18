//! `firepower-cloud-exporter check`: the checklist done once for a person in a hurry, or for a
//! script with `--output json`. Exit 0 when every row succeeds, 1 when one fails, 2 when the
//! configuration cannot be used.

use std::io::{IsTerminal, Write as _};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::cli::{Cli, Command, OutputFormat};
use crate::config::Config;
use crate::diagnosis::{Discard, Logged, Report, RowScope};
use crate::fmc::FmcView;
use crate::probe::{Clients, History, Prober};

mod text;

use text::render_text;

/// Exit code when a row fails.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code when the exporter could not run (bad configuration).
pub const EXIT_UNUSABLE: u8 = 2;

/// Runs the `check` command.
pub async fn main(cli: &Cli) -> ExitCode {
    let (output, timeout, state, fmc_verdict) = match &cli.command {
        Some(Command::Check {
            output,
            timeout,
            state,
            fmc_verdict,
        }) => (*output, *timeout, state.as_deref(), *fmc_verdict),
        None => (OutputFormat::Text, Duration::from_secs(10), None, false),
    };
    let config = match cli.source().load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: invalid configuration: {e}");
            return ExitCode::from(EXIT_UNUSABLE);
        }
    };
    let history = match state.map(History::load).transpose() {
        Ok(history) => Arc::new(history.unwrap_or_default()),
        Err(e) => {
            eprintln!(
                "error: cannot read the state file {}: {e} (remove it to start afresh)",
                state.map(|p| p.display().to_string()).unwrap_or_default()
            );
            return ExitCode::from(EXIT_UNUSABLE);
        }
    };
    let report = run(config, timeout, history.clone()).await;
    if let Some(path) = state
        && let Err(e) = history.save(path)
    {
        eprintln!(
            "warning: cannot write the state file {}: {e}",
            path.display()
        );
    }
    let text = match output {
        OutputFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
        OutputFormat::Text => {
            let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            render_text(&report, colour)
        }
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    if report.success && !(fmc_verdict && fmc_fails(&report)) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILURE)
    }
}

/// With `--fmc-verdict`: the management center says a row it replicates fails on a device, or
/// was configured and could not be read (a script asking for its verdict cannot pass without it).
fn fmc_fails(report: &Report) -> bool {
    let unread = report.fmc.as_ref().is_some_and(|f| !f.up);
    let red = report
        .rows
        .iter()
        .any(|r| r.fmc.iter().any(|says| says.status.is_failure()));
    unread || red
}

/// Probes every target once within `timeout`.
async fn run(config: Config, timeout: Duration, history: Arc<History>) -> Report {
    let config = Arc::new(config);
    let prober = Prober::new(
        config.clone(),
        Arc::new(Clients::default()),
        Arc::new(Logged(Discard)),
    )
    .keeping(history);
    // The management center is read once, beside the probes, within the same time.
    let fmc = async {
        match &config.fmc {
            Some(settings) => Some(crate::fmc::read_once(settings.clone(), timeout).await),
            None => None,
        }
    };
    let (outcomes, fmc) = tokio::join!(prober.probe_all(Instant::now() + timeout), fmc);
    // Where the path breaks, for the failures a trace explains: run now, since there is no next
    // scrape to show it.
    let tracer = prober.tracer();
    let failures = outcomes
        .iter()
        .map(|(o, _)| tracer.traceable_count(o))
        .sum();
    let patience = tracer.patience(failures);
    futures_util::future::join_all(outcomes.iter().map(|(o, _)| tracer.wait_for(o, patience)))
        .await;
    let integration = fmc.as_ref().and_then(FmcView::integration);
    let mut report = Report::build(&config, outcomes, &RowScope::Whole, &prober, integration);
    if let Some(view) = &fmc {
        report.describe_fmc(view);
    }
    report
}
