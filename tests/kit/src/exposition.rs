//! A parser for the Prometheus text exposition format, so tests assert values, not substrings.

use std::collections::BTreeMap;

/// One sample of the text exposition format.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed exposition: samples plus HELP and TYPE per family.
#[derive(Debug, Default)]
pub struct Exposition {
    pub samples: Vec<Sample>,
    pub help: BTreeMap<String, String>,
    pub types: BTreeMap<String, String>,
}

impl Exposition {
    pub fn parse(text: &str) -> Exposition {
        let mut out = Exposition::default();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
                out.help.insert(name.into(), help.into());
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, ty) = rest.split_once(' ').expect("TYPE line");
                out.types.insert(name.into(), ty.into());
            } else if !line.starts_with('#') && !line.is_empty() {
                out.samples.push(parse_sample(line));
            }
        }
        out
    }

    /// Samples of `name` whose labels include all of `labels`.
    pub fn all(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        // As in PromQL: `label=""` matches a series without the label.
                        .all(|(k, v)| s.labels.get(*k).map_or("", String::as_str) == *v)
            })
            .collect()
    }

    /// The one sample of `name` with `labels`; panics with the exposition when absent or ambiguous.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found = self.all(name, labels);
        assert_eq!(
            found.len(),
            1,
            "expected one {name}{labels:?}, found {found:#?}"
        );
        found[0].value
    }

    /// The value of `label` on the one sample of `name` with `labels`.
    pub fn label(&self, name: &str, labels: &[(&str, &str)], label: &str) -> String {
        let found = self.all(name, labels);
        assert_eq!(
            found.len(),
            1,
            "expected one {name}{labels:?}, found {found:#?}"
        );
        found[0].labels.get(label).cloned().unwrap_or_default()
    }
}

fn parse_sample(line: &str) -> Sample {
    let (head, value) = line.rsplit_once(' ').expect("sample has a value");
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
    };
    let (name, labels) = match head.split_once('{') {
        None => (head.to_string(), BTreeMap::new()),
        Some((name, rest)) => (
            name.to_string(),
            parse_labels(rest.strip_suffix('}').expect("closing brace")),
        ),
    };
    Sample {
        name,
        labels,
        value,
    }
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        assert_eq!(chars.next(), Some('"'));
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => break,
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(key.trim_start_matches(',').to_string(), value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    labels
}
