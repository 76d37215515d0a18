//! Finds the key whose indentation broke a YAML file. A parser reports where it gave up, which is
//! often not the mis-indented line: a key indented deeper than the one above it becomes part of
//! that key's value (the error is then about the value, a line earlier), and a key between two
//! indentation levels is reported wherever the scanner stops. This walk follows the block
//! structure the way a reader does and names the first line that fits no open mapping.

/// A key at an indentation no open mapping has.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Misindented {
    /// 1-based line of the key.
    pub(crate) line: usize,
    pub(crate) key: String,
    /// Its indentation, in spaces.
    pub(crate) indent: usize,
    /// The key path it most likely belongs under (the previous key's mapping), `.`-joined.
    pub(crate) path: String,
    pub(crate) why: String,
}

/// One line's shape: where its sequence dash and its key start, and what follows the key.
struct Line<'a> {
    dash: Option<usize>,
    key: Option<(usize, &'a str)>,
    /// The text after `key:`, trimmed (empty when the key opens a block).
    value: &'a str,
}

fn shape(raw: &str) -> Option<Line<'_>> {
    let indent = raw.len() - raw.trim_start_matches(' ').len();
    let mut rest = &raw[indent..];
    if rest.is_empty() || rest.starts_with('#') {
        return None;
    }
    let mut column = indent;
    let mut dash = None;
    if rest == "-" || rest.starts_with("- ") {
        dash = Some(indent);
        let after = rest[1..].trim_start_matches(' ');
        column += rest.len() - after.len();
        rest = after;
    }
    let key_end = rest.find(':').filter(|&i| {
        i > 0
            && rest[..i]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
            && rest[i + 1..].chars().next().is_none_or(|c| c == ' ')
    });
    let (key, value) = match key_end {
        Some(i) => (Some((column, &rest[..i])), strip_comment(&rest[i + 1..])),
        None => (None, rest),
    };
    Some(Line { dash, key, value })
}

fn strip_comment(value: &str) -> &str {
    let value = value.trim();
    match value.find(" #") {
        Some(i) if !value.starts_with(['"', '\'']) => value[..i].trim_end(),
        _ if value.starts_with('#') => "",
        _ => value,
    }
}

/// An open mapping or sequence: its indentation and the key that opened it.
struct Level {
    indent: usize,
    name: String,
}

/// The first mis-indented key of `text`, if any.
pub(crate) fn misindented(text: &str) -> Option<Misindented> {
    let mut levels: Vec<Level> = Vec::new();
    // The previous key line: its indentation, name and whether it holds a scalar value.
    let mut previous: Option<(usize, String, bool)> = None;
    // Lines deeper than this belong to a block scalar (`|`, `>`) and are skipped.
    let mut block_scalar: Option<usize> = None;
    let mut open_brackets = 0i32;
    for (index, raw) in text.lines().enumerate() {
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        if let Some(depth) = block_scalar {
            if raw.trim().is_empty() || indent > depth {
                continue;
            }
            block_scalar = None;
        }
        if open_brackets > 0 {
            open_brackets += brackets(raw);
            continue;
        }
        let Some(line) = shape(raw) else { continue };
        // The dash of a sequence item is placed like a key.
        for (column, is_dash) in line
            .dash
            .map(|d| (d, true))
            .into_iter()
            .chain(line.key.map(|(c, _)| (c, false)))
        {
            let top = levels.last().map(|l| l.indent);
            let opens = previous.as_ref().is_some_and(|p| !p.2) || is_dash_key(&line, is_dash);
            match top {
                None => levels.push(Level {
                    indent: column,
                    name: String::new(),
                }),
                Some(top) if column == top => {}
                Some(top) if column > top => {
                    let scalar_above = previous.as_ref().filter(|p| p.2 && p.0 < column);
                    if let (Some((_, above, _)), false, Some((_, key))) =
                        (scalar_above, is_dash, line.key)
                    {
                        let parent = path(&levels);
                        return Some(Misindented {
                            line: index + 1,
                            key: key.to_string(),
                            indent: column,
                            path: join(&parent, key),
                            why: format!(
                                "it is indented deeper than `{above}` above it, so YAML reads it as part of the value of `{above}`; indent it like `{above}`"
                            ),
                        });
                    }
                    if opens || is_dash {
                        let name = previous.as_ref().map(|p| p.1.clone()).unwrap_or_default();
                        levels.push(Level {
                            indent: column,
                            name,
                        });
                    }
                }
                Some(_) => {
                    let meant = path(&levels);
                    while levels.last().is_some_and(|l| l.indent > column) {
                        levels.pop();
                    }
                    if levels.last().map(|l| l.indent) != Some(column) {
                        let key = line.key.map_or("-", |(_, k)| k).to_string();
                        let mut around: Vec<usize> = levels
                            .iter()
                            .map(|l| l.indent)
                            .chain(previous.as_ref().map(|p| p.0))
                            .collect();
                        around.sort_unstable();
                        around.dedup();
                        return Some(Misindented {
                            line: index + 1,
                            path: join(&meant, &key),
                            key,
                            indent: column,
                            why: format!(
                                "no mapping around it is indented that way (the keys around it are at {} spaces); indent it like the other keys of the mapping it belongs to",
                                either(&around)
                            ),
                        });
                    }
                }
            }
            if is_dash {
                previous = None;
            }
        }
        if let Some((column, key)) = line.key {
            let value = line.value;
            if value.starts_with(['|', '>']) {
                block_scalar = Some(column);
            }
            open_brackets = brackets(value).max(0);
            previous = Some((column, key.to_string(), !value.is_empty()));
        }
    }
    None
}

/// A `- key: value` line opens the item's mapping at the key's column.
fn is_dash_key(line: &Line<'_>, is_dash: bool) -> bool {
    !is_dash && line.dash.is_some()
}

/// `0, 2 or 4`.
fn either(numbers: &[usize]) -> String {
    let words: Vec<String> = numbers.iter().map(ToString::to_string).collect();
    match words.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => words.join(""),
    }
}

/// The key path of the open levels, `.`-joined.
fn path(levels: &[Level]) -> String {
    levels
        .iter()
        .map(|l| l.name.as_str())
        .filter(|n| !n.is_empty())
        .collect::<Vec<_>>()
        .join(".")
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Opening minus closing flow brackets on a line (a flow collection spanning lines).
fn brackets(text: &str) -> i32 {
    text.chars()
        .map(|c| match c {
            '[' | '{' => 1,
            ']' | '}' => -1,
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_deeper_than_a_scalar_above_it_is_named_on_its_own_line() {
        let found = misindented("region: us\ndefaults:\n  timeout: 3s\n    min_interval: 5s\n")
            .expect("found");
        assert_eq!(found.line, 4);
        assert_eq!(found.key, "min_interval");
        assert_eq!(found.path, "defaults.min_interval");
        assert!(found.why.contains("`timeout`"), "{}", found.why);
    }

    #[test]
    fn a_key_between_two_levels_is_named() {
        let text =
            "defaults:\n  timeout: 3s\n  dns:\n    protocol: udp\n   servers: [192.0.2.53]\n";
        let found = misindented(text).expect("found");
        assert_eq!((found.line, found.indent), (5, 3));
        assert_eq!(found.path, "defaults.dns.servers");
        let text = "region: us\ndefaults:\n  timeout: 3s\n min_interval: 5s\n";
        assert_eq!(misindented(text).expect("found").line, 4);
    }

    #[test]
    fn well_indented_files_pass() {
        let example = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/deploy/config.example.yml"
        ))
        .expect("example");
        for text in [
            example.as_str(),
            "targets:\n  - name: a\n    host: a.example\n    http: { path: /,\n      expected_status: [403] }\n  - name: b\n    host: b.example\n",
            "targets:\n- name: a\n  host: a.example\nregion: us\n",
            "note: |\n  free text\n    indented more: still text\nregion: us\n",
            "# comment\n\nregion: us   # trailing\ndefaults:\n  dns:\n    servers:\n      - 192.0.2.53\n  timeout: 3s\n",
        ] {
            assert_eq!(misindented(text), None, "{text}");
        }
    }
}
