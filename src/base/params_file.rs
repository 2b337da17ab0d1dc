//! The ROS 2 parameters file (`--ros-args --params-file FILE`), checked ROS-free before rcl
//! reads it: rcl's own parser ends the process on a file it cannot read, and accepts shapes
//! that then set nothing. A file is a mapping of node names (`brain`, `/ns/brain`, `/**`, or
//! namespaces as nested mappings) to `ros__parameters:` mappings, nested by dotted name, whose
//! values are booleans, integers, floats, strings, or non-empty lists of one of those.

use std::path::{Path, PathBuf};

use serde_yaml::Value;
use thiserror::Error;

/// The key under a node name that holds its parameters.
pub const PARAMETERS_KEY: &str = "ros__parameters";

/// Why a params file cannot be used.
#[derive(Debug, Error)]
#[error("params file {path}: {what}")]
pub struct ParamsFileError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub what: String,
}

/// Reads and checks the params file at `path`.
pub fn check_file(path: &Path) -> Result<(), ParamsFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| ParamsFileError {
        path: path.to_path_buf(),
        what: e.to_string(),
    })?;
    check(&text, path)
}

/// Checks params file text read from `path` (which names it in errors).
pub fn check(text: &str, path: &Path) -> Result<(), ParamsFileError> {
    let fail = |what: String| ParamsFileError {
        path: path.to_path_buf(),
        what,
    };
    let doc: Value =
        serde_yaml::from_str(text).map_err(|e| fail(format!("not valid YAML: {e}")))?;
    let Value::Mapping(nodes) = doc else {
        return Err(fail(format!(
            "expected a mapping of node names to their {PARAMETERS_KEY}, found {}",
            kind(&doc)
        )));
    };
    if nodes.is_empty() {
        return Err(fail("names no node".into()));
    }
    for (node, body) in &nodes {
        let node = node
            .as_str()
            .ok_or_else(|| fail(format!("a node name is {}, not a string", kind(node))))?;
        check_node(node, body, &fail)?;
    }
    Ok(())
}

/// A node's entry: its `ros__parameters:` mapping, and (as rcl reads namespaces written as
/// nested mappings) the nodes below it.
fn check_node(
    node: &str,
    body: &Value,
    fail: &impl Fn(String) -> ParamsFileError,
) -> Result<(), ParamsFileError> {
    let Value::Mapping(entries) = body else {
        return Err(fail(format!(
            "node '{node}' is {}, not a mapping holding '{PARAMETERS_KEY}:'",
            kind(body)
        )));
    };
    if entries.is_empty() {
        return Err(fail(format!("node '{node}' holds no '{PARAMETERS_KEY}:'")));
    }
    for (key, value) in entries {
        let key = key.as_str().ok_or_else(|| {
            fail(format!(
                "under '{node}' a name is {}, not a string",
                kind(key)
            ))
        })?;
        if key == PARAMETERS_KEY {
            let Value::Mapping(params) = value else {
                return Err(fail(format!(
                    "'{node}.{PARAMETERS_KEY}' is {}, not a mapping",
                    kind(value)
                )));
            };
            check_values(params, node, fail)?;
        } else {
            check_node(&format!("{node}/{key}"), value, fail)?;
        }
    }
    Ok(())
}

fn check_values(
    map: &serde_yaml::Mapping,
    prefix: &str,
    fail: &impl Fn(String) -> ParamsFileError,
) -> Result<(), ParamsFileError> {
    for (key, value) in map {
        let key = key.as_str().ok_or_else(|| {
            fail(format!(
                "under '{prefix}' a name is {}, not a string",
                kind(key)
            ))
        })?;
        let name = format!("{prefix}.{key}");
        match value {
            Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
            Value::Mapping(m) => check_values(m, &name, fail)?,
            Value::Sequence(items) => {
                let first = items.first().ok_or_else(|| {
                    fail(format!("'{name}' is an empty list (ROS cannot type it)"))
                })?;
                if !matches!(first, Value::Bool(_) | Value::Number(_) | Value::String(_))
                    || items.iter().any(|v| kind(v) != kind(first))
                {
                    return Err(fail(format!(
                        "'{name}' must list booleans, integers, floats or strings, all of one type"
                    )));
                }
            }
            Value::Null => return Err(fail(format!("'{name}' has no value"))),
            Value::Tagged(_) => return Err(fail(format!("'{name}' is a tagged value"))),
        }
    }
    Ok(())
}

/// What a YAML value is, as the messages say it.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a float",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        check(text, Path::new("p.yaml")).unwrap_err().to_string()
    }

    #[test]
    fn the_shipped_files_pass() {
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut checked = 0;
        for entry in std::fs::read_dir(config).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                check_file(&path).unwrap_or_else(|e| panic!("{e}"));
                checked += 1;
            }
        }
        assert!(checked >= 2, "config/ holds the nodes' params files");
        check(
            "/**:\n  ros__parameters:\n    a: [1, 2]\n    b: {c: x}\n",
            Path::new("p"),
        )
        .unwrap();
        // A namespace as a nested mapping, as rcl reads it.
        check(
            "robot:\n  brain:\n    ros__parameters:\n      a: 1\n",
            Path::new("p"),
        )
        .unwrap();
    }

    #[test]
    fn shapes_rcl_would_refuse_or_ignore_are_errors_naming_the_parameter() {
        assert!(err("a: [").starts_with("params file p.yaml: not valid YAML"));
        assert!(err("- brain").contains("found a list"));
        assert!(err("{}").contains("names no node"));
        assert!(err("model: fp32").contains("node 'model' is a string, not a mapping"));
        assert!(err("brain: {v_max: 3.0}").contains("node 'brain/v_max' is a float"));
        assert!(err("brain: {}").contains("node 'brain' holds no 'ros__parameters:'"));
        assert!(err("brain: {ros__parameters: 3}").contains("is an integer, not a mapping"));
        assert!(err("brain: {ros__parameters: {limits: {v_max: }}}")
            .contains("'brain.limits.v_max' has no value"));
        assert!(err("brain: {ros__parameters: {a: []}}").contains("'brain.a' is an empty list"));
        assert!(err("brain: {ros__parameters: {a: [1, x]}}").contains("all of one type"));
        assert!(err("brain: {ros__parameters: {a: [[1]]}}").contains("all of one type"));
        assert!(err("brain: {ros__parameters: {1: 2}}").contains("a name is an integer"));
        assert!(err("brain: {ros__parameters: {a: !x 1}}").contains("tagged"));
    }
}
