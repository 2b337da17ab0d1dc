//! Preprocessing time per frame (crop + bilinear resize + scale into NCHW f32), on the test
//! image the Python reference path times too (`scripts/bench-preprocess.sh` runs both).
//!
//!     cargo bench --bench preprocess -- [--frames N] [--image PATH]
//!
//! Prints one JSON line: p50, p99 and mean in ms over N frames after a warm-up, one thread.

use std::path::PathBuf;
use std::time::Instant;

use pilotnet_brain::base::timing::StepTimer;
use pilotnet_brain::inference::model::InputSpec;
use pilotnet_brain::inference::preprocess::Preprocessor;
use pilotnet_brain::tools::dataset::read_image;

fn main() {
    let mut frames = 2000usize;
    let mut image = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/generated/testnet/frame.png"
    ));
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--frames" => {
                frames = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--frames N")
            }
            "--image" => image = args.next().map(PathBuf::from).expect("--image PATH"),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    let frame = read_image(&image).unwrap_or_else(|e| panic!("{e} (run scripts/setup.sh)"));
    let spec = InputSpec::behavior_metrics();
    let mut pre = Preprocessor::new(&spec);
    let mut out = vec![0.0f32; spec.len()];
    for _ in 0..100 {
        pre.run(&frame, &mut out).unwrap();
    }
    let mut timer = StepTimer::new();
    for _ in 0..frames {
        let start = Instant::now();
        pre.run(&frame, &mut out).unwrap();
        timer.record(start.elapsed());
        std::hint::black_box(&out);
    }
    let s = timer.stats();
    println!(
        "{{\"path\": \"rust\", \"frames\": {frames}, \"preprocess_ms_p50\": {}, \
         \"preprocess_ms_p99\": {}, \"preprocess_ms_mean\": {}}}",
        s.p50_ms, s.p99_ms, s.mean_ms
    );
}
