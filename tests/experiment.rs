//! `pilotnet-brain experiment` end to end: a sharded run merged with `--collect` equals the
//! whole run, an interrupted run resumes without redoing finished cells, a changed condition
//! is run again, a bad file is refused naming its line, and the report's page shows every
//! figure in a real headless browser (Chromium, `scripts/setup-browser.sh`).

mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pilotnet-brain"))
}

/// A small experiment: the expert and the fp32 network, two circuits (a built-in and a
/// reference lap), both ways, lockstep and a fixed 40 ms latency — deterministic cells, so
/// two runs drive alike — each cut to a few simulated seconds.
fn write_spec(dir: &Path, timeout_s: f64, fixed_ms: u32) -> PathBuf {
    let spec = dir.join("small.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: small\n\
             description: two pilots, two circuits, two conditions\n\
             models:\n  - expert\n  - fp32\n\
             circuits:\n  - {{name: lakeside, circuit: lakeside, timeout_s: {timeout_s}}}\n  \
             - {{name: simple, circuit: {}, timeout_s: {timeout_s}}}\n\
             conditions:\n  - {{name: ideal}}\n  - {{name: laggy, latency: {fixed_ms}}}\n",
            util::reference("simple_circuit")
        ),
    )
    .unwrap();
    spec
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    let out = bin()
        .arg("experiment")
        .args(args)
        .arg("--no-progress")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The results table without the columns that are wall-clock measurements (brain
/// frequency, inference time, real-time factor): what two runs of deterministic cells share.
fn driving_columns(csv: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let keep: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            !["brain_hz", "inference_ms", "real_time_factor"]
                .iter()
                .any(|m| h.starts_with(m))
        })
        .map(|(i, _)| i)
        .collect();
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            keep.iter().map(|&i| f[i].to_string()).collect()
        })
        .collect()
}

#[test]
fn shards_collected_equal_the_whole_run() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = write_spec(tmp.path(), 3.0, 40);
    let whole = tmp.path().join("whole");
    let o = run(&[spec.as_os_str(), "--out".as_ref(), whole.as_os_str()]);
    assert!(
        stdout(&o).contains("16 cells, 0 kept, 16 run"),
        "{}",
        stdout(&o)
    );
    let mut shards = Vec::new();
    for i in 1..=3 {
        let dir = tmp.path().join(format!("shard{i}"));
        let o = run(&[
            spec.as_os_str(),
            "--out".as_ref(),
            dir.as_os_str(),
            "--shard".as_ref(),
            format!("{i}/3").as_ref(),
        ]);
        // 16 cells over 3 shards: 6, 5, 5.
        let n = if i == 1 { 6 } else { 5 };
        assert!(
            stdout(&o).contains(&format!("{n} cells in shard {i}/3")),
            "{}",
            stdout(&o)
        );
        assert!(!dir.join("report").exists(), "a shard reports nothing");
        shards.push(dir);
    }
    // Collecting two of three shards is refused, naming what is missing.
    let merged = tmp.path().join("merged");
    let partial = bin()
        .args(["experiment", "--collect"])
        .args(&shards[..2])
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(partial.status.code(), Some(2));
    let err = String::from_utf8_lossy(&partial.stderr);
    assert!(
        err.contains("5 of 16 cells are in none of the folders"),
        "{err}"
    );
    let mut args: Vec<&std::ffi::OsStr> = vec!["--collect".as_ref()];
    args.extend(shards.iter().map(|s| s.as_os_str()));
    args.extend(["--out".as_ref(), merged.as_os_str()]);
    let o = run(&args);
    assert!(stdout(&o).contains("collected 16 cells"), "{}", stdout(&o));
    let a = driving_columns(&whole.join("report/results.csv"));
    let b = driving_columns(&merged.join("report/results.csv"));
    assert_eq!(a.len(), 16, "{a:?}");
    assert_eq!(a, b);
    // Every cell drove the same path.
    for entry in std::fs::read_dir(whole.join("cells")).unwrap() {
        let id = entry.unwrap().file_name();
        let t = |root: &Path| {
            std::fs::read(root.join("cells").join(&id).join("trajectory.csv")).unwrap()
        };
        assert_eq!(t(&whole), t(&merged), "{id:?}");
    }
    // A table per circuit.
    let table = std::fs::read_to_string(whole.join("report/tables.md")).unwrap();
    assert!(
        table.contains("### lakeside") && table.contains("### simple"),
        "{table}"
    );
}

/// Finished cell folders (not `.partial`) under an experiment folder.
fn finished(out: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(out.join("cells")) else {
        return Vec::new();
    };
    let mut v: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".partial"))
        .collect();
    v.sort();
    v
}

#[test]
fn an_interrupted_run_resumes_without_redoing_finished_cells() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = write_spec(tmp.path(), 6.0, 40);
    let out = tmp.path().join("out");
    let mut child = bin()
        .arg("experiment")
        .arg(&spec)
        .args(["--workers", "1", "--no-progress", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while finished(&out).len() < 3 {
        assert!(start.elapsed().as_secs() < 120, "no cell finished");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = finished(&out);
    assert!(before.len() < 16, "the run ended before it was interrupted");
    let stamps: Vec<_> = before
        .iter()
        .map(|id| {
            std::fs::metadata(out.join("cells").join(id).join("stats.json"))
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect();
    let o = run(&[spec.as_os_str(), "--out".as_ref(), out.as_os_str()]);
    let text = stdout(&o);
    let kept = before.len();
    assert!(
        text.contains(&format!("16 cells, {kept} kept, {} run", 16 - kept)),
        "{text}"
    );
    assert_eq!(finished(&out).len(), 16);
    for (id, stamp) in before.iter().zip(stamps) {
        let now = std::fs::metadata(out.join("cells").join(id).join("stats.json"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(now, stamp, "{id} was driven again");
    }
    // Run again: everything is kept. Change one condition: its cells run again.
    let o = run(&[spec.as_os_str(), "--out".as_ref(), out.as_os_str()]);
    assert!(stdout(&o).contains("16 kept, 0 run"), "{}", stdout(&o));
    let spec = write_spec(tmp.path(), 6.0, 60);
    let o = run(&[spec.as_os_str(), "--out".as_ref(), out.as_os_str()]);
    assert!(stdout(&o).contains("8 kept, 8 run"), "{}", stdout(&o));
}

#[test]
fn bad_files_are_refused_naming_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = write_spec(tmp.path(), 3.0, 40);
    let text = std::fs::read_to_string(&spec).unwrap();
    let cases = [
        (
            text.replace("latency: 40", "latency: soon"),
            ":11: ",
            "'soon' is not",
        ),
        (
            text.replace("description", "descripton"),
            ":2: ",
            "unknown field `descripton`",
        ),
        (
            text.replace("  - fp32\n", "  - fp32\n  - {model: missing.onnx}\n"),
            ":6: ",
            "model 'missing.onnx': ",
        ),
        (
            format!("{text}repetitions: -1\n"),
            ":12: ",
            "repetitions: -1 is not in [1, 10000]",
        ),
    ];
    for (content, line, fault) in cases {
        std::fs::write(&spec, &content).unwrap();
        let o = bin().arg("experiment").arg(&spec).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{content}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(&format!("small.yaml{line}")), "{err}");
        assert!(err.contains(fault), "{err}");
    }
}

/// Chromium's executable, installed by `scripts/setup-browser.sh`.
fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome", "chrome"] {
        if let Ok(out) = Command::new("which").arg(name).output() {
            if out.status.success() {
                return PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            }
        }
    }
    panic!("no headless browser found: run scripts/setup-browser.sh (installs Chromium)");
}

#[test]
fn the_page_shows_every_figure_in_a_headless_browser() {
    let browser = chromium();
    let tmp = tempfile::tempdir().unwrap();
    let spec = write_spec(tmp.path(), 3.0, 40);
    let out = tmp.path().join("out");
    let o = run(&[spec.as_os_str(), "--out".as_ref(), out.as_os_str()]);
    // 2 circuits × 2 conditions × (boxplots, trajectories, deviation) + compute time.
    assert!(stdout(&o).contains("13 figures"), "{}", stdout(&o));
    let page = out.join("report/index.html");
    let dom = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("data-figures=\"13/13\"") && dom.contains("data-broken=\"\""),
        "{}",
        dom.lines().find(|l| l.contains("<body")).unwrap_or(&dom)
    );
    assert!(dom.contains("<h2>lakeside</h2>") && dom.contains("<td class=\"k\">fp32</td>"));
    for figure in [
        "boxplot-simple-laggy",
        "trajectories-lakeside-ideal",
        "compute-time",
    ] {
        for ext in ["png", "svg"] {
            let path = out.join(format!("report/figures/{figure}.{ext}"));
            let bytes = std::fs::read(&path).unwrap();
            let head: &[u8] = if ext == "png" { b"\x89PNG" } else { b"<svg" };
            assert!(
                bytes.starts_with(head) && bytes.len() > 2_000,
                "{} ({} bytes)",
                path.display(),
                bytes.len()
            );
        }
    }
}

#[test]
fn the_shipped_study_reads_and_names_every_shipped_variant() {
    use pilotnet_brain::tools::experiment::{matrix, Experiment};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let e = Experiment::read(&root.join("experiments/study.yaml")).unwrap();
    let manifest =
        pilotnet_brain::inference::manifest::Manifest::read(&root.join("models")).unwrap();
    for v in manifest.variants.iter().filter(|v| v.shipped) {
        assert!(
            e.models.iter().any(|m| m.name == v.name),
            "{} is not in the study",
            v.name
        );
    }
    assert_eq!(e.circuits.len(), 4);
    assert_eq!(matrix::cells(&e).len(), 12 * 4 * 2 * 3 * 2);
}
