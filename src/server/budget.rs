//! What one scrape may take and what it may probe: its time budget from Prometheus' header, and
//! the configured targets a request names (never a host the request chose).

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use tokio::time::Instant;

use super::AppState;
use crate::checklist::Service;
use crate::config::{Config, Target, clip};

/// The header Prometheus sends with its scrape timeout.
const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";
/// The budget of a scrape that does not say its timeout (Prometheus' default scrape timeout).
const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest budget honoured, whatever the header says.
const MAX_SCRAPE_TIMEOUT: Duration = Duration::from_secs(120);
/// The time this scrape may take, from Prometheus' header minus the offset.
pub(crate) fn budget(headers: &HeaderMap, offset: Duration) -> Duration {
    let timeout = headers
        .get(SCRAPE_TIMEOUT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(DEFAULT_SCRAPE_TIMEOUT, |s| {
            Duration::from_secs_f64(s.min(MAX_SCRAPE_TIMEOUT.as_secs_f64()))
        });
    // Keep at least half of a very short timeout rather than nothing.
    timeout.saturating_sub(offset).max(timeout / 2)
}

/// The deadline of a page (`/`, `/debug`): a scrape's default budget from now.
pub(crate) fn page_budget(state: &AppState) -> Instant {
    Instant::now() + DEFAULT_SCRAPE_TIMEOUT.saturating_sub(state.options.timeout_offset)
}

/// How many configured names an error lists before it stops.
const LISTED_NAMES: usize = 20;

/// Which configured targets a request names; `Err` is the message of a 400. Anything else is
/// refused, and so is a repeated parameter: the exporter never probes a host a request chose.
pub(crate) fn select_targets(
    config: &Config,
    params: &[(String, String)],
) -> Result<Vec<Arc<Target>>, String> {
    let mut target = None;
    let mut service = None;
    for (key, value) in params {
        let slot = match key.as_str() {
            "target" => &mut target,
            "service" => &mut service,
            other => {
                return Err(format!(
                    "unknown parameter `{}`: /probe takes `target=NAME` or `service=NAME`, both from the configuration",
                    clip(other, 64)
                ));
            }
        };
        if slot.replace(value).is_some() {
            return Err(format!(
                "`{key}` given more than once: one scrape probes one target or one service"
            ));
        }
    }
    match (target, service) {
        (Some(_), Some(_)) => Err("give `target` or `service`, not both".into()),
        (Some(name), None) => match config.targets.iter().find(|t| &t.name == name) {
            Some(t) => Ok(vec![t.clone()]),
            None => Err(format!(
                "unknown target `{}`: only configured targets are probed; configured: {}",
                clip(name, 64),
                listed(config.targets.iter().map(|t| t.name.as_str()))
            )),
        },
        (None, Some(name)) => {
            let service = Service::from_name(name);
            let members: Vec<_> = config
                .targets
                .iter()
                .filter(|t| Some(t.service) == service)
                .cloned()
                .collect();
            if members.is_empty() {
                return Err(format!(
                    "unknown or empty service `{}`: expected one of {}",
                    clip(name, 64),
                    listed(Service::ALL.iter().map(|s| s.as_str()))
                ));
            }
            Ok(members)
        }
        (None, None) => Ok(config.targets.clone()),
    }
}

/// `a, b, c` for the first [`LISTED_NAMES`] names, then how many more.
fn listed<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = names.len();
    let shown: Vec<&str> = names.take(LISTED_NAMES).collect();
    match total - shown.len() {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_follows_the_header_minus_the_offset() {
        let offset = Duration::from_millis(500);
        let mut headers = HeaderMap::new();
        assert_eq!(budget(&headers, offset), Duration::from_millis(9500));
        headers.insert(SCRAPE_TIMEOUT_HEADER, "2".parse().expect("header"));
        assert_eq!(budget(&headers, offset), Duration::from_millis(1500));
        headers.insert(SCRAPE_TIMEOUT_HEADER, "0.4".parse().expect("header"));
        assert_eq!(budget(&headers, offset), Duration::from_millis(200));
        headers.insert(SCRAPE_TIMEOUT_HEADER, "nonsense".parse().expect("header"));
        assert_eq!(budget(&headers, offset), Duration::from_millis(9500));
        headers.insert(SCRAPE_TIMEOUT_HEADER, "100000".parse().expect("header"));
        assert_eq!(
            budget(&headers, offset),
            MAX_SCRAPE_TIMEOUT.saturating_sub(offset)
        );
    }
}
