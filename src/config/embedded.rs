//! Which targets a configuration has: the ones it lists, or the region's embedded list with
//! `targets_disabled` left out and `targets_extra` added (so a moved Cisco name does not mean
//! copying the whole list).

use super::model::Region;
use super::raw::{RawConfig, RawTarget};
use super::yaml::{ConfigError, FileContext, QUOTE_CHARS, clip};

/// The targets to validate, and where the added ones (`targets_extra`) start in the list.
pub(super) fn target_list(
    ctx: &FileContext,
    region: Region,
    targets: Option<Vec<RawTarget>>,
    disabled: Option<&[String]>,
    extra: Option<Vec<RawTarget>>,
) -> Result<(Vec<RawTarget>, Option<usize>), ConfigError> {
    if let Some(listed) = targets {
        for (field, given) in [
            ("targets_disabled", disabled.is_some()),
            ("targets_extra", extra.is_some()),
        ] {
            if given {
                return Err(ctx.err(
                    field,
                    "only applies to the embedded list: with `targets`, edit that list instead",
                ));
            }
        }
        return Ok((listed, None));
    }
    let embedded: RawConfig = FileContext::embedded("embedded targets").parse(region.embedded())?;
    let mut list = embedded.targets.unwrap_or_default();
    let known: Vec<String> = list.iter().map(|t| t.name.clone()).collect();
    for (i, name) in disabled.into_iter().flatten().enumerate() {
        let before = list.len();
        list.retain(|t| &t.name != name);
        if list.len() == before {
            return Err(ctx.err(
                format!("targets_disabled[{i}]"),
                format!(
                    "`{}` is not an embedded target of this region; they are: {}",
                    clip(name, QUOTE_CHARS),
                    known.join(", ")
                ),
            ));
        }
    }
    let extra_from = list.len();
    list.extend(extra.into_iter().flatten());
    Ok((list, Some(extra_from)))
}
