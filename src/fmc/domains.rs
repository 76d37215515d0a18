//! Which domains a poll reads: the names (or `all`) the configuration gives, found in the login
//! answer's `DOMAINS` list, each as (name, UUID).

use serde::Deserialize;

use super::FmcError;
use super::text::clean;

/// `DOMAINS` of the login answer: `[{"name": "Global", "uuid": "…"}, …]`.
pub(super) fn domain_list(domains: &str) -> Vec<(String, String)> {
    #[derive(Deserialize)]
    struct Domain {
        name: String,
        uuid: String,
    }
    let list: Vec<Domain> = serde_json::from_str(domains).unwrap_or_default();
    list.into_iter()
        .map(|d| (clean(&d.name, 64), clean(&d.uuid, 64)))
        .collect()
}

/// The domains `wanted` names, (name, UUID), from the login answer's `DOMAINS` list (and its
/// `DOMAIN_UUID`, the user's own, when an older release sends no list and Global is wanted);
/// `all`: every domain listed.
pub(super) fn resolve_domains(
    wanted: &[String],
    listed: Option<&str>,
    own: Option<&str>,
) -> Result<Vec<(String, String)>, FmcError> {
    let list = listed.map(domain_list).unwrap_or_default();
    if wanted.iter().any(|w| w.eq_ignore_ascii_case("all")) && !list.is_empty() {
        return Ok(list);
    }
    let known = || {
        list.iter()
            .map(|(name, _)| name.clone())
            .collect::<Vec<_>>()
    };
    let mut out = Vec::new();
    for w in wanted {
        let name = w.trim().trim_end_matches('/');
        let found = list.iter().find(|(n, _)| {
            n.eq_ignore_ascii_case(name) || n.eq_ignore_ascii_case(&format!("Global/{name}"))
        });
        match (found, &own) {
            (Some(domain), _) => out.push(domain.clone()),
            (None, Some(uuid)) if name.eq_ignore_ascii_case("Global") => {
                out.push(("Global".to_string(), (*uuid).to_string()));
            }
            _ => {
                return Err(FmcError::DomainUnknown {
                    wanted: w.clone(),
                    known: known(),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTED: &str = r#"[{"name":"Global","uuid":"g"},{"name":"Global/Branches","uuid":"b"}]"#;

    #[test]
    fn the_login_answers_domain_list_is_read() {
        assert_eq!(
            domain_list(LISTED),
            [
                ("Global".to_string(), "g".to_string()),
                ("Global/Branches".to_string(), "b".to_string())
            ]
        );
        assert!(domain_list("not json").is_empty());
    }

    #[test]
    fn domains_are_found_by_name_short_name_or_all() {
        let wanted = |w: &[&str]| w.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        let pair = |n: &str, u: &str| (n.to_string(), u.to_string());
        assert_eq!(
            resolve_domains(&wanted(&["Global", "branches"]), Some(LISTED), None).ok(),
            Some(vec![pair("Global", "g"), pair("Global/Branches", "b")])
        );
        assert_eq!(
            resolve_domains(&wanted(&["all"]), Some(LISTED), None).ok(),
            Some(vec![pair("Global", "g"), pair("Global/Branches", "b")])
        );
        // An older release without a list: Global is the user's own domain.
        assert_eq!(
            resolve_domains(&wanted(&["Global"]), None, Some("g")).ok(),
            Some(vec![pair("Global", "g")])
        );
        match resolve_domains(&wanted(&["Lab"]), Some(LISTED), None) {
            Err(FmcError::DomainUnknown { wanted, known }) => {
                assert_eq!(wanted, "Lab");
                assert_eq!(known, ["Global", "Global/Branches"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
