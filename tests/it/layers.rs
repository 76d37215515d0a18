//! The module structure stays a one-way street: each module of `src/` imports only modules of a
//! lower layer (`checklist` → `config` → `probe`, `fmc` → `diagnosis` → views), so no import circle can
//! form. A new `use crate::…` that points upwards fails here with the file and the line.

use std::path::{Path, PathBuf};

/// Layers from the bottom; a module may use its own layer's module and any lower one.
const LAYERS: &[(&str, u8)] = &[
    ("checklist", 0),
    ("handshake", 0),
    ("heap", 0),
    ("config", 1),
    ("cli", 2),
    ("fmc", 2),
    ("probe", 2),
    ("diagnosis", 3),
    ("metrics", 4),
    ("check", 5),
    ("server", 5),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
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
        let own = layer(&module).unwrap_or_else(|| {
            panic!("src/{module} has no layer: add it to LAYERS in tests/it/layers.rs")
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
                match layer(&name) {
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
        LAYERS.len(),
        "every layer names a module that exists"
    );
}
