//! The ONNX engines side by side: tract (pure Rust, compiled in) against ONNX Runtime, on the
//! same shipped variants, the same input (a frame of the test network's golden data, through
//! the project's preprocessing) and one thread each.
//!
//!     cargo bench --bench engines -- [--frames N] [--rounds R] [--threads T]
//!
//! Rounds alternate between the engines (R rounds of N frames each), so both see the same
//! machine state; the figure per engine is the median over rounds of each round's mean. Also
//! reports the largest difference between the two engines' raw outputs. Prints a Markdown
//! table. Needs ONNX Runtime (`scripts/setup-ort.sh`) for the comparison; without it only
//! tract is timed.

use std::path::PathBuf;
use std::time::Instant;

use pilotnet_brain::inference::backend::{self, Backend, BackendConfig, BackendKind};
use pilotnet_brain::inference::manifest::Manifest;
use pilotnet_brain::inference::model::{Model, ModelFormat};
use pilotnet_brain::inference::preprocess::Preprocessor;
use pilotnet_brain::tools::dataset::read_image;

const ENGINES: [BackendKind; 2] = [BackendKind::Ort, BackendKind::Tract];

fn main() {
    let (mut frames, mut rounds, mut threads) = (300usize, 8usize, 1usize);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut number = || {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{a} needs a number"))
        };
        match a.as_str() {
            "--frames" => frames = number(),
            "--rounds" => rounds = number(),
            "--threads" => threads = number(),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    let image = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/generated/testnet/frame.png"
    ));
    let frame = read_image(&image).unwrap_or_else(|e| panic!("{e} (run scripts/setup.sh)"));
    let manifest = Manifest::read(&Manifest::default_dir()).expect("models/manifest.yaml");
    println!(
        "{frames} frames x {rounds} rounds per engine, alternating, {threads} thread(s); \
         ms per frame, median of round means\n"
    );
    println!("| variant | ONNX Runtime | tract | tract / ORT | largest output difference |");
    println!("|---|---|---|---|---|");
    for variant in manifest.shipped() {
        let path = manifest.path_of(&variant.name).expect("shipped variant");
        let model = Model::open(&path).expect("shipped description");
        if model.format != ModelFormat::Onnx {
            continue;
        }
        let config = |kind| BackendConfig {
            kind: Some(kind),
            threads,
            ..BackendConfig::default()
        };
        let mut opened: Vec<Result<Box<dyn Backend>, String>> = ENGINES
            .iter()
            .map(|&k| backend::open(&model, &config(k)).map_err(|e| e.to_string()))
            .collect();
        let mut pre = Preprocessor::new(&model.input);
        let mut outputs: Vec<Option<Vec<f32>>> = vec![None; ENGINES.len()];
        for (engine, out) in opened.iter_mut().zip(&mut outputs) {
            if let Ok(b) = engine {
                pre.run(&frame, b.input()).expect("preprocess");
                *out = Some(b.infer().expect("inference").to_vec());
            }
        }
        let mut means: Vec<Vec<f64>> = vec![Vec::new(); ENGINES.len()];
        for _ in 0..rounds {
            for (engine, m) in opened.iter_mut().zip(&mut means) {
                let Ok(b) = engine else { continue };
                let start = Instant::now();
                for _ in 0..frames {
                    std::hint::black_box(b.infer().expect("inference"));
                }
                m.push(start.elapsed().as_secs_f64() * 1e3 / frames as f64);
            }
        }
        let medians: Vec<f64> = means.iter_mut().map(|m| median(m)).collect();
        let cell = |i: usize| match &opened[i] {
            Ok(_) => format!("{:.3}", medians[i]),
            Err(e) => format!("cannot run: {}", first_clause(e)),
        };
        let ratio = match (&opened[0], &opened[1]) {
            (Ok(_), Ok(_)) => format!("{:.2}", medians[1] / medians[0]),
            _ => "-".into(),
        };
        let difference = match (&outputs[0], &outputs[1]) {
            (Some(a), Some(b)) => format!(
                "{:.1e}",
                a.iter()
                    .zip(b)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0f32, f32::max)
            ),
            _ => "-".into(),
        };
        println!(
            "| {} | {} | {} | {ratio} | {difference} |",
            variant.name,
            cell(0),
            cell(1)
        );
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The start of an engine's refusal, short enough for a table cell.
fn first_clause(message: &str) -> String {
    let short: String = message.chars().take(110).collect();
    short.replace('|', "/")
}
