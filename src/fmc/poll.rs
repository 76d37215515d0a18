//! One reading of the management center: the domain's device records, the health alerts of the
//! modules the exporter speaks for, and the cloud integration settings, every list followed across
//! its pages (on the same management center only).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::api::{
    self, AlertRecord, CloudEventsConfig, Device, DeviceRecord, Integration,
    MANAGEMENT_CENTER_UUID, MAX_DEVICES, Page, SecurexConfig, cloud_events_sent, health, records,
    securex_enabled, uninterpreted,
};
use super::client::Client;
use super::{Fmc, FmcError, FmcView, Reading};
use crate::config::FmcSettings;

/// Pages followed per list at most (a list longer than this many pages of 1 000 is cut).
const MAX_PAGES: usize = 50;
/// Items asked for per page.
const PAGE_LIMIT: usize = 1000;

/// One poll for `check`, bounded by `budget`.
pub(crate) async fn read_once(settings: Arc<FmcSettings>, budget: Duration) -> FmcView {
    let shared = Fmc::default();
    shared.configure(Some(&settings));
    match Client::new(settings.clone()) {
        Ok(mut client) => {
            let result = tokio::time::timeout(budget, poll(&mut client, &settings))
                .await
                .unwrap_or(Err(FmcError::Timeout(budget)));
            shared.record(result, Some(&mut client), None);
        }
        Err(err) => shared.record(Err(err), None, None),
    }
    shared.view().unwrap_or_else(|| FmcView::new(&settings))
}

pub(super) async fn poll(client: &mut Client, settings: &FmcSettings) -> Result<Reading, FmcError> {
    let domain = client.domain().await?;
    let base = format!("/api/fmc_config/v1/domain/{domain}");
    let mut skipped = 0;
    let (items, bad) = list(
        client,
        settings,
        &format!("{base}/devices/devicerecords?expanded=true&limit={PAGE_LIMIT}"),
    )
    .await?;
    skipped += bad;
    let (devices, unread) = records::<DeviceRecord>(items);
    skipped += unread;
    let mut devices: Vec<Device> = devices.into_iter().map(Device::from).collect();
    let mut devices_not_found = Vec::new();
    if !settings.devices.is_empty() {
        devices_not_found = settings
            .devices
            .iter()
            .filter(|name| !devices.iter().any(|d| &&d.name == name))
            .cloned()
            .collect();
        devices.retain(|d| settings.devices.contains(&d.name));
    }
    devices.truncate(MAX_DEVICES);

    // Every module: those this exporter interprets, and the others, listed as not interpreted
    // (the management center's own, device "0", included).
    // The alerts of the last ALERT_WINDOW only (`startTime` and `endTime`, Unix seconds, given
    // together as the specification asks), so the newest per device and module is current.
    let now = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let mut filter = format!(
        "startTime:{};endTime:{}",
        now.saturating_sub(ALERT_WINDOW.as_secs()),
        now + 60
    );
    if !settings.devices.is_empty() {
        let mut uuids: Vec<&str> = devices.iter().map(|d| d.uuid.as_str()).collect();
        uuids.push(MANAGEMENT_CENTER_UUID);
        filter += &format!(";deviceUUIDs:{}", uuids.join(","));
    }
    let filter: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
    let query = format!("filter={filter}&");
    let (alerts, others) = if devices.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let (items, bad) = list(
            client,
            settings,
            &format!("{base}/health/alerts?{query}expanded=true&limit={PAGE_LIMIT}"),
        )
        .await?;
        skipped += bad;
        // Unreadable items are counted; readable ones are kept, interpreted or not.
        let (records, unread) = records::<AlertRecord>(items);
        skipped += unread;
        let mut alerts = Vec::new();
        let mut others = Vec::new();
        for record in records {
            match record.alert() {
                Ok(alert) => alerts.push(alert),
                Err(other) => others.push(other),
            }
        }
        (alerts, others)
    };

    let integration = Integration {
        securex: optional_list(
            client,
            settings,
            &format!("{base}/integration/securexconfigs?expanded=true"),
        )
        .await?
        .and_then(|items| securex_enabled(records::<SecurexConfig>(items).0)),
        cloud_events: optional_list(
            client,
            settings,
            &format!("{base}/integration/cloudeventsconfigs?expanded=true"),
        )
        .await?
        .and_then(|items| cloud_events_sent(records::<CloudEventsConfig>(items).0)),
    };
    Ok(Reading {
        at: SystemTime::now(),
        health: health(alerts, &devices),
        uninterpreted: uninterpreted(others, &devices),
        devices,
        integration,
        skipped_items: skipped,
        devices_not_found,
    })
}

/// How far back health alerts are read: an alert older than this no longer says how a module is.
const ALERT_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// A list that older management centers do not have: `None` on 404.
async fn optional_list(
    client: &mut Client,
    settings: &FmcSettings,
    path: &str,
) -> Result<Option<Vec<Value>>, FmcError> {
    match list(client, settings, path).await {
        Ok((items, _)) => Ok(Some(items)),
        Err(FmcError::Status(404, _)) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Every item of a list, following `paging.next` (on the same management center only), with the
/// count of pages' items that were not objects.
async fn list(
    client: &mut Client,
    settings: &FmcSettings,
    first: &str,
) -> Result<(Vec<Value>, usize), FmcError> {
    let mut items = Vec::new();
    let mut path = first.to_string();
    for _ in 0..MAX_PAGES {
        let body = client.get(&path).await?;
        let page: Page = serde_json::from_slice(&body).map_err(|e| {
            FmcError::Malformed(format!(
                "{}: {}",
                path.split('?').next().unwrap_or_default(),
                api::clean(&e.to_string(), 120)
            ))
        })?;
        items.extend(page.items);
        match page.paging.and_then(|p| p.next.into_iter().next()) {
            Some(next) => path = same_origin(&next, settings)?,
            None => break,
        }
    }
    let bad = items.iter().filter(|i| !i.is_object()).count();
    items.retain(Value::is_object);
    Ok((items, bad))
}

/// The path and query of a `paging.next` link, refused if it leads anywhere but the management
/// center (the exporter never follows a peer elsewhere).
fn same_origin(next: &str, settings: &FmcSettings) -> Result<String, FmcError> {
    let base = url::Url::parse(&format!("{}/", settings.base))
        .map_err(|e| FmcError::Malformed(e.to_string()))?;
    let url = base
        .join(next)
        .map_err(|_| FmcError::Malformed("paging.next is not a URL".into()))?;
    if url.scheme() != "https"
        || url.host_str() != base.host_str()
        || url.port_or_known_default() != base.port_or_known_default()
    {
        return Err(FmcError::Malformed(
            "paging.next leads away from the management center".into(),
        ));
    }
    Ok(match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    })
}
