//! The library's layers: each top folder of `src/` is one, and a module refers only to the
//! layers below its own and, inside its layer, to the modules before it in [`LAYERS`]. Every
//! `crate::` and `super::` path in the code (comments and strings aside) is checked, tests
//! included, so an import that runs upward fails here naming the file and the path.

use std::path::{Path, PathBuf};

/// The layers, bottom first, each with its modules in the order they may import each other.
/// `""` is the layer's own `mod.rs` where it holds code.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "base",
        &[
            "settings", "geometry", "clock", "timing", "sensor", "control", "camera",
        ],
    ),
    ("inference", &["model", "preprocess", "backend", "manifest"]),
    (
        "driving",
        &["pilot", "pipeline", "mailbox", "brain", "realtime"],
    ),
    ("recording", &["error", "messages", "storage", "ros1", ""]),
    (
        "evaluation",
        &[
            "circuit",
            "laps",
            "live_events",
            "record",
            "report",
            "live",
            "replay",
        ],
    ),
    (
        "sim",
        &[
            "field",
            "vehicle",
            "render",
            "scene",
            "raster",
            "gazebo",
            "procedural",
            "track",
            "world",
            "runner",
        ],
    ),
    (
        "tools",
        &["dataset", "predict", "compare", "bench", "experiment"],
    ),
    (
        "ros",
        &["topics", "convert", "params", "", "brain_node", "sim_node"],
    ),
];

/// Where a module sits: (layer index, position in its layer). The layer root is before all
/// of its modules.
fn rank(layer: &str, unit: &str) -> Option<(usize, Option<usize>)> {
    let (i, (_, units)) = LAYERS.iter().enumerate().find(|(_, (l, _))| *l == layer)?;
    Some((i, units.iter().position(|u| *u == unit)))
}

/// The code of a Rust file without its comments and string literals.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    match (escaped, c) {
                        (false, '\\') => escaped = true,
                        (false, '"') => break,
                        _ => escaped = false,
                    }
                }
                out.push_str("\"\"");
            }
            _ => out.push(c),
        }
    }
    out
}

/// Every path that starts with `root::` in `code`, braces expanded, as its segments.
fn paths(code: &str, root: &str) -> Vec<Vec<String>> {
    fn ident(s: &str) -> (&str, &str) {
        let end = s
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        (&s[..end], &s[end..])
    }
    /// Parses `a::b::{c, d::e}` from the start of `s`, each path prefixed by `prefix`.
    fn tree(s: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
        let s0 = s.len();
        let mut s = s.trim_start();
        let mut path = prefix;
        loop {
            if let Some(rest) = s.strip_prefix('{') {
                s = rest;
                loop {
                    s = s.trim_start();
                    if let Some(rest) = s.strip_prefix('}') {
                        s = rest;
                        break;
                    }
                    let used = tree(s, path.clone(), out);
                    s = s[used..].trim_start();
                    match s.strip_prefix(',') {
                        Some(rest) => s = rest,
                        None => {
                            s = s.strip_prefix('}').unwrap_or(s);
                            break;
                        }
                    }
                }
                return s0 - s.len();
            }
            let (name, rest) = if let Some(rest) = s.strip_prefix('*') {
                ("*", rest)
            } else {
                ident(s)
            };
            if name.is_empty() {
                break;
            }
            path.push(name.to_string());
            s = rest;
            match s.strip_prefix("::") {
                Some(rest) => s = rest.trim_start(),
                None => break,
            }
        }
        out.push(path);
        s0 - s.len()
    }
    let mut out = Vec::new();
    let pattern = format!("{root}::");
    let mut from = 0;
    while let Some(at) = code[from..].find(&pattern) {
        let start = from + at;
        let before = code[..start].chars().next_back();
        from = start + pattern.len();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        tree(&code[from..], Vec::new(), &mut out);
    }
    out
}

/// The module path of a file under `src/`: `driving/pilot/mod.rs` → `[driving, pilot]`.
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The upward references of the file `rel` (relative to `src/`) with text `text`.
fn violations(rel: &Path, text: &str) -> Vec<String> {
    let module = module_of(rel);
    let Some(&(layer, units)) = LAYERS
        .iter()
        .find(|(l, _)| Some(*l) == module.first().map(String::as_str))
    else {
        return Vec::new();
    };
    let unit = module.get(1).map(String::as_str).unwrap_or("");
    let (mine, my_pos) = rank(layer, unit).unwrap_or_else(|| {
        panic!(
            "{}: module '{unit}' is not listed in layer '{layer}' of LAYERS",
            rel.display()
        )
    });
    let code = code_only(text);
    let mut targets: Vec<(Vec<String>, String)> = paths(&code, "crate")
        .into_iter()
        .map(|p| (p.clone(), format!("crate::{}", p.join("::"))))
        .collect();
    // `super::` from a file resolves against its parent module; inside an inline module (the
    // tests) it names the file itself, which the layer-root rule below lets through.
    for p in paths(&code, "super") {
        let mut base = module.clone();
        base.pop();
        let mut rest = p.as_slice();
        while rest.first().is_some_and(|s| s == "super") {
            base.pop();
            rest = &rest[1..];
        }
        let shown = format!("super::{}", p.join("::"));
        base.extend(rest.iter().cloned());
        targets.push((base, shown));
    }
    let mut out = Vec::new();
    for (target, shown) in targets {
        let Some(t_layer) = target.first() else {
            continue;
        };
        let Some((theirs, _)) = rank(t_layer, "") else {
            continue;
        };
        let t_unit = target.get(1).map(String::as_str).unwrap_or("");
        // An item of the layer root (or a glob of it) rather than one of its modules.
        let t_pos = if units.contains(&t_unit) || theirs != mine {
            rank(t_layer, t_unit).and_then(|(_, p)| p)
        } else {
            None
        };
        let upward = theirs > mine
            || (theirs == mine
                && t_unit != unit
                && matches!((t_pos, my_pos), (Some(t), Some(m)) if t > m));
        if upward {
            out.push(format!(
                "src/{} ({layer}::{unit}) refers to {shown}, which is above it",
                rel.display()
            ));
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src/") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut checked = 0;
    let mut found = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        // The crate root declares the layers; the binary sits on top of all of them.
        if ["lib.rs", "main.rs", "cli.rs"].contains(&rel.to_str().unwrap()) {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        found.extend(violations(rel, &text));
        checked += 1;
    }
    assert!(checked > 40, "only {checked} files under src/");
    assert!(
        found.is_empty(),
        "imports that run upward:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_catches_upward_and_sideways_imports() {
    let upward =
        "use crate::sim::world::World;\nfn f() { crate::base::geometry::Vec2::new(0.0, 0.0); }";
    let v = violations(Path::new("driving/pilot/expert.rs"), upward);
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].contains("crate::sim::world::World"), "{v:?}");
    // Braces, a later module of the same layer, and `super::` to a later sibling.
    let grouped = "use crate::driving::{pipeline::Pipeline, realtime::RealtimeBrain};";
    let v = violations(Path::new("driving/brain.rs"), grouped);
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].contains("crate::driving::realtime::RealtimeBrain"),
        "{v:?}"
    );
    let sibling = "use super::realtime::RealtimeBrain;";
    assert_eq!(violations(Path::new("driving/brain.rs"), sibling).len(), 1);
    // Comments and strings are not code; downward imports and the file's own tests pass.
    let fine = "// crate::ros::x\nlet s = \"crate::sim::y\";\nuse crate::base::clock::Clock;\n\
                mod tests { use super::*; }";
    assert!(violations(Path::new("driving/brain.rs"), fine).is_empty());
}
