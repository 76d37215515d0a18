//! The module structure stays a one-way street, as docs/architecture.md draws it: each module of
//! `src/` imports only modules of its own or a lower layer, the layers being the table in that
//! document; and its map names every folder and file of `src/`, and nothing that is gone. A new
//! `use crate::…` that points upwards, or a module the document does not know, fails here.

use std::path::{Path, PathBuf};

fn architecture() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md"))
        .expect("docs/architecture.md")
}

/// The layer table of docs/architecture.md: `| 2 | `probe` | … |` rows.
fn layers() -> Vec<(String, u8)> {
    architecture()
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let layer = cells.get(1)?.parse::<u8>().ok()?;
            let module = cells.get(2)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((module.to_string(), layer))
        })
        .collect()
}

fn layer(layers: &[(String, u8)], module: &str) -> Option<u8> {
    layers.iter().find(|(m, _)| m == module).map(|(_, l)| *l)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn modules_import_only_lower_layers() {
    let layers = layers();
    assert!(
        layers.len() >= 10,
        "the layer table of docs/architecture.md: {layers:?}"
    );
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut upward = Vec::new();
    let mut seen_modules = std::collections::BTreeSet::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let first = relative.components().next().expect("component");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let own = layer(&layers, &module).unwrap_or_else(|| {
            panic!("src/{module} has no layer: add it to the table in docs/architecture.md")
        });
        seen_modules.insert(module.clone());
        let text = std::fs::read_to_string(file).expect("read");
        for (n, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(i) = rest.find("crate::") {
                let name: String = rest[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                rest = &rest[i + 7..];
                if name == module {
                    continue;
                }
                match layer(&layers, &name) {
                    Some(l) if l < own => {}
                    _ => upward.push(format!(
                        "src/{}:{}: `{module}` (layer {own}) uses `crate::{name}`",
                        relative.display(),
                        n + 1
                    )),
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that run upwards:\n{}",
        upward.join("\n")
    );
    assert_eq!(
        seen_modules.len(),
        layers.len(),
        "every layer names a module that exists"
    );
}

/// Every folder and file of `src/` (two levels down) is in the map of docs/architecture.md, and
/// every `src/` path the map names exists.
#[test]
fn the_architecture_map_names_every_module_and_only_those() {
    let doc = architecture();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&src).expect("src") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        if path.is_dir() {
            if !doc.contains(&format!("`{name}/`")) {
                missing.push(format!("{name}/"));
            }
            for inner in std::fs::read_dir(&path).expect("folder") {
                let inner = inner.expect("entry").path();
                let leaf = inner
                    .file_name()
                    .expect("name")
                    .to_string_lossy()
                    .to_string();
                if leaf == "mod.rs" && !doc.contains(&format!("`{name}/mod.rs`")) {
                    continue;
                }
                let shown = if inner.is_dir() {
                    format!("{name}/{leaf}/")
                } else {
                    format!("{name}/{leaf}")
                };
                if !doc.contains(&format!("`{shown}`")) {
                    missing.push(shown);
                }
            }
        } else if !doc.contains(&format!("`{name}`")) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "docs/architecture.md does not name: {missing:?}"
    );
    // And each path it names is there.
    let map = &doc[doc.find("## Map").expect("a Map section")..];
    let map = &map[..map[6..].find("\n## ").map_or(map.len(), |i| i + 6)];
    let mut gone = Vec::new();
    for (i, _) in map.match_indices('`').step_by(2) {
        let Some(end) = map[i + 1..].find('`') else {
            break;
        };
        let path = &map[i + 1..i + 1 + end];
        let looks_like_path = path.ends_with(".rs") || path.ends_with('/');
        if looks_like_path && !src.join(path.trim_end_matches('/')).exists() {
            gone.push(path.to_string());
        }
    }
    assert!(
        gone.is_empty(),
        "docs/architecture.md names what is gone: {gone:?}"
    );
}
