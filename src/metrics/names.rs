//! Metric names, the one copy that tests, dashboards and alerts follow: a rename breaks a test,
//! not a dashboard silently. Counters are registered without `_total`; the encoder appends it.
//! Always-1 series are named `…_info` when they carry facts and `…_verdict` when they carry a
//! verdict (target, stage, FMC row).

pub const BUILD_INFO: &str = "firepower_cloud_build_info";
pub const RUNBOOK_INFO: &str = "firepower_cloud_runbook_info";
pub const PROBES: &str = "firepower_cloud_probes";
pub const STAGE_FAILURES: &str = "firepower_cloud_stage_failures";
pub const PROBE_RESULTS: &str = "firepower_cloud_probe_results";
pub const PROBE_REQUEST_DURATION: &str = "firepower_cloud_probe_request_duration_seconds";
pub const PROBES_IN_FLIGHT: &str = "firepower_cloud_probes_in_flight";
pub const TARGETS_CONFIGURED: &str = "firepower_cloud_targets_configured";
pub const CONFIG_RELOAD_SUCCESS: &str = "firepower_cloud_config_last_reload_successful";
pub const CONFIG_RELOAD_TIMESTAMP: &str =
    "firepower_cloud_config_last_reload_success_timestamp_seconds";
pub const CONFIG_RELOADS: &str = "firepower_cloud_config_reloads";
pub const REASON_INFO: &str = "firepower_cloud_reason_info";
pub const PROBE_SUCCESS: &str = "firepower_cloud_probe_success";
pub const PROBE_DURATION: &str = "firepower_cloud_probe_duration_seconds";
pub const TARGET_INFO: &str = "firepower_cloud_target_info";
pub const TARGET_SUCCESS: &str = "firepower_cloud_target_success";
pub const TARGET_VERDICT: &str = "firepower_cloud_target_verdict";
pub const TARGET_RESULT_AGE: &str = "firepower_cloud_target_result_age_seconds";
pub const TARGET_CHANGE_INFO: &str = "firepower_cloud_target_change_info";
pub const STAGE_SUCCESS: &str = "firepower_cloud_stage_success";
pub const STAGE_VERDICT: &str = "firepower_cloud_stage_verdict";
pub const STAGE_DURATION: &str = "firepower_cloud_stage_duration_seconds";
pub const STAGE_LATENCY: &str = "firepower_cloud_stage_latency_seconds";
pub const ADDRESSES: &str = "firepower_cloud_addresses";
pub const DNS_INFO: &str = "firepower_cloud_dns_info";
pub const DNS_ANSWERS: &str = "firepower_cloud_dns_answers";
pub const TLS_INFO: &str = "firepower_cloud_tls_info";
pub const TLS_CERT_NOT_AFTER: &str = "firepower_cloud_tls_cert_not_after_timestamp_seconds";
pub const HTTP_STATUS_CODE: &str = "firepower_cloud_http_status_code";
pub const CLOCK_SKEW: &str = "firepower_cloud_clock_skew_seconds";
pub const PATH_HOPS: &str = "firepower_cloud_path_hops";
pub const PATH_LAST_HOP: &str = "firepower_cloud_path_last_responding_hop";
pub const PATH_INFO: &str = "firepower_cloud_path_info";
pub const PATH_TRACED_AT: &str = "firepower_cloud_path_traced_timestamp_seconds";
pub const PATH_MTU_HOP: &str = "firepower_cloud_path_mtu_drop_hop";
pub const SERVICE_SUCCESS: &str = "firepower_cloud_service_success";
pub const SERVICE_STATUS: &str = "firepower_cloud_service_status";
pub const SERVICE_VERDICT: &str = "firepower_cloud_service_verdict";
pub const FMC_UP: &str = "firepower_cloud_fmc_up";
pub const FMC_LAST_ERROR_INFO: &str = "firepower_cloud_fmc_last_error_info";
pub const FMC_LOGIN_HELD_UNTIL: &str = "firepower_cloud_fmc_login_held_until_timestamp_seconds";
pub const FMC_API_ERRORS: &str = "firepower_cloud_fmc_api_errors";
pub const FMC_AUTHENTICATIONS: &str = "firepower_cloud_fmc_authentications";
pub const FMC_REQUESTS: &str = "firepower_cloud_fmc_requests";
pub const FMC_LAST_SUCCESS: &str = "firepower_cloud_fmc_last_success_timestamp_seconds";
pub const FMC_DEVICES: &str = "firepower_cloud_fmc_devices";
pub const FMC_CLOUD_INTEGRATION: &str = "firepower_cloud_fmc_cloud_integration_enabled";
pub const FMC_HEALTH_STATUS: &str = "firepower_cloud_fmc_health_status";
pub const FMC_HEALTH_TIMESTAMP: &str = "firepower_cloud_fmc_health_alert_timestamp_seconds";
