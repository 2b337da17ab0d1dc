//! Model files: a small ONNX network (and its TorchScript twin with `--features tch`) from the
//! project's test network, mutated and opened by every engine that runs its format, then run
//! once: a model either loads and answers or is refused with a reason.

use std::path::{Path, PathBuf};

use pilotnet_brain::inference::backend::{self, BackendConfig, BackendKind};
use pilotnet_brain::inference::model::Model;

use crate::harness::{error_says_something, run, Bytes};
use crate::mutate;

/// Opens the model file `name` in `dir` (its description beside it) with `kind` and runs it.
fn open_and_run(dir: &Path, name: &str, kind: BackendKind) -> Result<(), String> {
    let model = Model::open(&dir.join(name));
    error_says_something(&model)?;
    let Ok(model) = model else { return Ok(()) };
    let config = BackendConfig {
        kind: Some(kind),
        ..BackendConfig::default()
    };
    let engine = backend::open(&model, &config);
    error_says_something(&engine)?;
    if let Ok(mut engine) = engine {
        error_says_something(&engine.infer())?;
    }
    Ok(())
}

fn fuzz_model(target: &str, file: &str, kinds: &[BackendKind], cases: u32) {
    let testnet = crate::util::testnet();
    let seed = std::fs::read(testnet.join(file)).unwrap();
    let description = std::fs::read(testnet.join("nan.yaml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stem = PathBuf::from(file);
    std::fs::write(dir.path().join(stem.with_extension("yaml")), description).unwrap();
    run(
        target,
        cases,
        mutate::inputs(vec![seed], 1024),
        |Bytes(data)| {
            std::fs::write(dir.path().join(file), &data).unwrap();
            kinds
                .iter()
                .try_for_each(|&kind| open_and_run(dir.path(), file, kind))
        },
    );
}

#[test]
fn onnx_models() {
    // Every ONNX engine compiled in (none: the description and file checks alone).
    let kinds: &[BackendKind] = &[
        #[cfg(feature = "tract")]
        BackendKind::Tract,
        #[cfg(feature = "ort")]
        BackendKind::Ort,
    ];
    fuzz_model("onnx_models", "nan.onnx", kinds, 128);
}

#[cfg(feature = "tch")]
#[test]
fn torchscript_models() {
    fuzz_model("torchscript_models", "nan.pt", &[BackendKind::Tch], 64);
}

/// Found by `onnx_models`: a Flatten whose axis is past the input's rank made tract panic
/// while typing the graph; it is an error naming the model.
#[cfg(feature = "tract")]
#[test]
fn a_graph_tract_cannot_analyse_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = dir.path().join("flat.onnx");
    let script = "import onnx, sys\n\
        from onnx import helper, TensorProto as T\n\
        x = helper.make_tensor_value_info('input', T.FLOAT, [1, 3, 66, 200])\n\
        y = helper.make_tensor_value_info('output', T.FLOAT, None)\n\
        g = helper.make_graph([helper.make_node('Flatten', ['input'], ['output'], axis=5)], 'flat', [x], [y])\n\
        m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])\n\
        open(sys.argv[1], 'wb').write(m.SerializeToString())\n";
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let status = std::process::Command::new(python)
        .args(["-c", script])
        .arg(&onnx)
        .status()
        .unwrap();
    assert!(status.success(), "the factory's Python writes the model");
    std::fs::copy(
        crate::util::testnet().join("nan.yaml"),
        dir.path().join("flat.yaml"),
    )
    .unwrap();
    let model = Model::open(&onnx).unwrap();
    let config = BackendConfig {
        kind: Some(BackendKind::Tract),
        ..BackendConfig::default()
    };
    let e = backend::open(&model, &config)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        e.contains("flat.onnx") && e.contains("tract failed on this model's graph"),
        "{e}"
    );
}
