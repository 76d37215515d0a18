//! One reading of the management center: the domain's device records, the health alerts of the
//! modules the exporter speaks for, and the cloud integration settings, every list followed across
//! its pages (on the same management center only).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::api::{
    Alert, AlertRecord, CloudEventsConfig, Device, DeviceRecord, Integration,
    MANAGEMENT_CENTER_UUID, MAX_DEVICES, Page, SecurexConfig, Uninterpreted, cloud_events_sent,
    records, securex_enabled,
};
use super::client::Client;
use super::health::{health, uninterpreted};
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
    let domains = client.domains().await?;
    let mut skipped = 0;
    let mut devices: Vec<Device> = Vec::new();
    let mut health_read = Vec::new();
    let mut others_read = Vec::new();
    for (index, (name, uuid)) in domains.iter().enumerate() {
        let base = format!("/api/fmc_config/v1/domain/{uuid}");
        let (mut found, bad) = domain_devices(client, settings, &base, name).await?;
        skipped += bad;
        if !settings.devices.is_empty() {
            found.retain(|d| settings.devices.contains(&d.name));
        }
        found.truncate(MAX_DEVICES.saturating_sub(devices.len()));
        // The management center's own record (device "0") once, with the first domain.
        let (alerts, others, bad) =
            domain_alerts(client, settings, &base, &found, index == 0).await?;
        skipped += bad;
        health_read.extend(health(alerts, &found));
        others_read.extend(uninterpreted(others, &found));
        devices.extend(found);
    }
    let devices_not_found = settings
        .devices
        .iter()
        .filter(|name| !devices.iter().any(|d| &&d.name == name))
        .cloned()
        .collect();

    // The cloud integration settings are the management center's, read in the first domain.
    let base = format!(
        "/api/fmc_config/v1/domain/{}",
        domains.first().map_or("", |(_, uuid)| uuid.as_str())
    );
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
        health: health_read,
        uninterpreted: others_read,
        domains: domains.into_iter().map(|(name, _)| name).collect(),
        devices,
        integration,
        skipped_items: skipped,
        devices_not_found,
    })
}

/// A domain's device records, each with the domain's name; and how many items were unreadable.
async fn domain_devices(
    client: &mut Client,
    settings: &FmcSettings,
    base: &str,
    domain: &str,
) -> Result<(Vec<Device>, usize), FmcError> {
    let (items, bad) = list(
        client,
        settings,
        &format!("{base}/devices/devicerecords?expanded=true&limit={PAGE_LIMIT}"),
    )
    .await?;
    let (records, unread) = records::<DeviceRecord>(items);
    let devices = records
        .into_iter()
        .map(|r| {
            let mut device = Device::from(r);
            device.domain = domain.to_string();
            device
        })
        .collect();
    Ok((devices, bad + unread))
}

/// A domain's health alerts of the last [`ALERT_WINDOW`] (`startTime` and `endTime`, Unix
/// seconds, given together as the specification asks, so the newest per device and module is
/// current), for `devices` (and the management center's own, device "0", when `own`): those this
/// exporter interprets, and the others, kept as not interpreted.
async fn domain_alerts(
    client: &mut Client,
    settings: &FmcSettings,
    base: &str,
    devices: &[Device],
    own: bool,
) -> Result<(Vec<Alert>, Vec<Uninterpreted>, usize), FmcError> {
    if devices.is_empty() {
        return Ok((Vec::new(), Vec::new(), 0));
    }
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
        if own {
            uuids.push(MANAGEMENT_CENTER_UUID);
        }
        filter += &format!(";deviceUUIDs:{}", uuids.join(","));
    }
    let filter: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
    let (items, bad) = list(
        client,
        settings,
        &format!("{base}/health/alerts?filter={filter}&expanded=true&limit={PAGE_LIMIT}"),
    )
    .await?;
    // Unreadable items are counted; readable ones are kept, interpreted or not.
    let (records, unread) = records::<AlertRecord>(items);
    let mut alerts = Vec::new();
    let mut others = Vec::new();
    for record in records {
        match record.alert() {
            Ok(alert) if own || alert.device_uuid != MANAGEMENT_CENTER_UUID => alerts.push(alert),
            Ok(_) => {}
            Err(other) if own || other.device != MANAGEMENT_CENTER_UUID => others.push(other),
            Err(_) => {}
        }
    }
    Ok((alerts, others, bad + unread))
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
                super::text::clean(&e.to_string(), 120)
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
