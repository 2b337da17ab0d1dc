//! Preprocessing time per frame (crop + bilinear resize + scale into NCHW f32), on the test
//! image the Python reference path times too (`scripts/bench-preprocess.sh` runs both).
//! With `--jpeg FILE`, each frame is that JPEG decoded first, as the ROS node decodes a
//! `CompressedImage`.
//!
//!     cargo bench --bench preprocess -- [--frames N] [--image PATH] [--jpeg FILE]
//!
//! Prints one JSON line: p50, p99 and mean in ms over N frames after a warm-up, one thread.

use std::path::PathBuf;
use std::time::Instant;

use pilotnet_brain::base::raw_image::decode_compressed;
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
    let mut jpeg: Option<Vec<u8>> = None;
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
            "--jpeg" => {
                let path = args.next().expect("--jpeg FILE");
                jpeg = Some(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")));
            }
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    let frame = read_image(&image).unwrap_or_else(|e| panic!("{e} (run scripts/setup.sh)"));
    let spec = InputSpec::behavior_metrics();
    let mut pre = Preprocessor::new(&spec);
    let mut out = vec![0.0f32; spec.len()];
    // Decoded into the previous frame's buffer, as the ROS node does.
    let mut spare = Vec::new();
    let mut one = |out: &mut [f32]| match &jpeg {
        Some(bytes) => {
            let decoded =
                decode_compressed(0.0, 0, "jpeg", bytes, &mut spare).expect("the JPEG decodes");
            pre.run(&decoded, out).unwrap();
            spare = decoded.data;
        }
        None => pre.run(&frame, out).unwrap(),
    };
    for _ in 0..100 {
        one(&mut out);
    }
    let mut timer = StepTimer::new();
    for _ in 0..frames {
        let start = Instant::now();
        one(&mut out);
        timer.record(start.elapsed());
        std::hint::black_box(&out);
    }
    let s = timer.stats();
    let path = if jpeg.is_some() { "rust-jpeg" } else { "rust" };
    println!(
        "{{\"path\": \"{path}\", \"frames\": {frames}, \"preprocess_ms_p50\": {}, \
         \"preprocess_ms_p99\": {}, \"preprocess_ms_mean\": {}}}",
        s.p50_ms, s.p99_ms, s.mean_ms
    );
}
