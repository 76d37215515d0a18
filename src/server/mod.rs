//! The HTTP side: routes (`routes.rs`), the shared state and reloads (`state.rs`), each scrape's
//! budget and targets (`budget.rs`), the pages, listening and authentication. Only this module
//! knows HTTP.

mod auth;
mod budget;
mod fmc;
mod html;
mod listen;
mod pages;
mod probe;
mod routes;
mod state;
mod web_config;

pub(crate) use budget::{budget, page_budget, select_targets};
pub use listen::Limits;
pub(crate) use listen::serve;
pub(crate) use routes::{bad_request, router};
pub use state::{AppState, WebOptions};
pub use web_config::WebConfig;

/// Paths answered without authentication: they say nothing but "alive" (orchestrators probe them).
pub(crate) const UNAUTHENTICATED_PATHS: [&str; 2] = ["/-/healthy", "/-/ready"];
