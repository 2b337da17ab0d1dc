//! Soak benchmark: an hour of simulated driving with the shipped network on one loaded
//! session (laps of Behavior Metrics' SimpleCircuit world repeated, alternating direction),
//! resident memory and the heap in use (glibc's counters) sampled after every lap, compute
//! time bucketed per simulated minute. Prints a row per minute (laps ended, RSS, heap in use,
//! compute p50/p99/max) and a summary: memory at start, after warm-up and at the end, and the
//! p99 of the first minutes against the last. A leak grows the heap in use; RSS growth with a
//! flat heap is the allocator keeping freed pages.
//! Asserts nothing (the figures and their reading live in docs/reliability.md).
//!
//! Run: `cargo bench --bench soak` (`-- --minutes M` for another length, `--model NAME` for
//! another network, `--world SDF` for another circuit, `--csv FILE` to keep the rows).

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hdrhistogram::Histogram;
use pilotnet_brain::base::control::Command;
use pilotnet_brain::base::sensor::{Frame, Odometry};
use pilotnet_brain::driving::pilot::{Engine, NetworkPilot, Pilot, PilotError, StageTimings};
use pilotnet_brain::inference::backend::BackendConfig;
use pilotnet_brain::inference::manifest::resolve_model;
use pilotnet_brain::sim::{self, SimConfig, Track};

/// Minutes counted as warm-up: memory after them is the baseline growth is measured from.
const WARM_UP_MIN: usize = 2;
/// Minutes compared at the start and the end for latency drift.
const DRIFT_WINDOW_MIN: usize = 5;

/// One network pilot driving lap after lap: each lap's run borrows it.
struct Shared {
    name: String,
    inner: Arc<Mutex<NetworkPilot>>,
}

impl Pilot for Shared {
    fn name(&self) -> &str {
        &self.name
    }
    fn engine(&self) -> Option<Engine> {
        self.inner.lock().unwrap().engine()
    }
    fn drive(&mut self, frame: &Frame, odometry: Option<&Odometry>) -> Result<Command, PilotError> {
        self.inner.lock().unwrap().drive(frame, odometry)
    }
    fn stage_timings(&self) -> Option<StageTimings> {
        self.inner.lock().unwrap().stage_timings()
    }
}

/// Resident set size of this process, MiB (`VmRSS` of /proc/self/status).
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// glibc's `struct mallinfo2`: what the allocator holds and what of it is in use.
#[repr(C)]
#[derive(Default)]
struct MallInfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

extern "C" {
    fn mallinfo2() -> MallInfo2;
}

/// Bytes of the heap in use (allocated, not yet freed: `uordblks` + `hblkhd`), MiB. A leak
/// grows this; fragmentation grows the RSS alone.
fn heap_in_use_mib() -> f64 {
    // SAFETY: mallinfo2 only reads the allocator's counters (glibc ≥ 2.33).
    let m = unsafe { mallinfo2() };
    (m.uordblks + m.hblkhd) as f64 / (1024.0 * 1024.0)
}

/// One simulated minute.
struct Minute {
    compute_us: Histogram<u64>,
    laps_ended: usize,
    completed: usize,
    rss_mib: f64,
    heap_mib: f64,
}

fn arg(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let minutes: f64 = arg(&args, "--minutes").map_or(60.0, |m| m.parse().expect("--minutes"));
    let model = resolve_model(&PathBuf::from(
        arg(&args, "--model").unwrap_or("fp32".into()),
    ))
    .expect("--model");
    let world = arg(&args, "--world").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/gazebo-f1/simple_circuit/model.sdf")
        },
        PathBuf::from,
    );
    let tracks = [
        Track::world(&world, false).expect("--world loads"),
        Track::world(&world, true).expect("--world loads reversed"),
    ];
    let rss_start = rss_mib();
    let pilot = NetworkPilot::open(&model, &BackendConfig::default()).expect("the model opens");
    let name = pilot.name().to_string();
    let shared = Arc::new(Mutex::new(pilot));

    let mut config = SimConfig {
        timeout_s: 75.0,
        ..SimConfig::default()
    };
    config.world.camera = tracks[0].camera();
    let frame_dt = 1.0 / config.world.camera.rate_hz;
    let budget_s = minutes * 60.0;
    let new_minute = || Minute {
        compute_us: Histogram::new_with_bounds(1, 60_000_000, 3).unwrap(),
        laps_ended: 0,
        completed: 0,
        rss_mib: f64::NAN,
        heap_mib: f64::NAN,
    };
    // Every minute's row made before driving (the last lap may run two minutes over), so
    // that the heap grows by nothing of the benchmark's own while it measures.
    let mut rows: Vec<Minute> = (0..minutes.ceil() as usize + 3)
        .map(|_| new_minute())
        .collect();
    let minute = |rows: &mut Vec<Minute>, m: usize| {
        while rows.len() <= m {
            rows.push(new_minute());
        }
    };
    let rss_loaded = rss_mib();
    let heap_loaded = heap_in_use_mib();
    let (mut sim_s, mut laps, mut frames) = (0.0f64, 0usize, 0u64);
    let wall = Instant::now();
    println!(
        "soak: {name} on {}, {minutes} simulated minutes",
        world.display()
    );
    while sim_s < budget_s {
        let track = &tracks[laps % 2];
        let pilot = Box::new(Shared {
            name: name.clone(),
            inner: Arc::clone(&shared),
        });
        let run = sim::run(track, pilot, &config).expect("a lap runs");
        for (k, ms) in run.compute_ms.iter().enumerate() {
            let m = ((sim_s + k as f64 * frame_dt) / 60.0) as usize;
            minute(&mut rows, m);
            rows[m]
                .compute_us
                .saturating_record((f64::from(*ms) * 1e3).max(1.0) as u64);
        }
        frames += run.compute_ms.len() as u64;
        sim_s += run.record.laps.sim_seconds;
        laps += 1;
        let m = (sim_s / 60.0) as usize;
        minute(&mut rows, m);
        rows[m].laps_ended += 1;
        rows[m].completed += usize::from(run.record.laps.laps_completed >= 1);
        rows[m].rss_mib = rss_mib();
        rows[m].heap_mib = heap_in_use_mib();
    }
    let wall_s = wall.elapsed().as_secs_f64();
    // The rows made for minutes the drive did not reach.
    rows.truncate((sim_s / 60.0) as usize + 1);

    // Minutes without a lap end carry the last figures seen.
    let mut last = (rss_loaded, heap_loaded);
    for r in &mut rows {
        if r.rss_mib.is_nan() {
            (r.rss_mib, r.heap_mib) = last;
        }
        last = (r.rss_mib, r.heap_mib);
    }
    let mut csv = arg(&args, "--csv").map(|p| std::fs::File::create(p).expect("--csv"));
    if let Some(f) = csv.as_mut() {
        writeln!(
            f,
            "minute,laps_ended,laps_completed,rss_mib,heap_in_use_mib,compute_p50_ms,compute_p99_ms,compute_max_ms"
        )
        .unwrap();
    }
    println!("minute  laps  complete  RSS MiB  heap MiB  compute p50 ms  p99 ms  max ms");
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1e3;
    for (i, r) in rows.iter().enumerate() {
        let h = &r.compute_us;
        let (p50, p99, max) = (ms(h, 0.5), ms(h, 0.99), h.max() as f64 / 1e3);
        let (minute, laps, done) = (i + 1, r.laps_ended, r.completed);
        let (rss, heap) = (r.rss_mib, r.heap_mib);
        println!(
            "{minute:>6}  {laps:>4}  {done:>8}  {rss:>7.1}  {heap:>8.2}  {p50:>14.3}  {p99:>6.3}  {max:>6.3}"
        );
        if let Some(f) = csv.as_mut() {
            writeln!(
                f,
                "{minute},{laps},{done},{rss:.2},{heap:.3},{p50:.4},{p99:.4},{max:.4}"
            )
            .unwrap();
        }
    }
    let warm_row = rows.get(WARM_UP_MIN.min(rows.len().saturating_sub(1)));
    let warm = warm_row.map_or(rss_loaded, |r| r.rss_mib);
    let end = rows.last().map_or(rss_loaded, |r| r.rss_mib);
    let heap_warm = warm_row.map_or(heap_loaded, |r| r.heap_mib);
    let heap_end = rows.last().map_or(heap_loaded, |r| r.heap_mib);
    let window = |range: &[Minute]| {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
        for r in range {
            h.add(&r.compute_us).unwrap();
        }
        (ms(&h, 0.5), ms(&h, 0.99))
    };
    let n = DRIFT_WINDOW_MIN.min(rows.len());
    let (first, last_w) = (window(&rows[..n]), window(&rows[rows.len() - n..]));
    let completed: usize = rows.iter().map(|r| r.completed).sum();
    println!(
        "summary: {laps} laps ({completed} completed), {frames} frames, {:.1} simulated min in {:.1} wall min",
        sim_s / 60.0,
        wall_s / 60.0
    );
    println!(
        "memory: {rss_start:.1} MiB at start, {rss_loaded:.1} MiB with the model loaded, {warm:.1} MiB after {WARM_UP_MIN} min warm-up, {end:.1} MiB at the end ({:+.1} MiB after warm-up)",
        end - warm
    );
    println!(
        "heap in use: {heap_loaded:.2} MiB with the model loaded, {heap_warm:.2} MiB after warm-up, {heap_end:.2} MiB at the end ({:+.2} MiB after warm-up)",
        heap_end - heap_warm
    );
    println!(
        "compute: first {n} min p50 {:.3} ms p99 {:.3} ms; last {n} min p50 {:.3} ms p99 {:.3} ms (p99 ratio {:.2})",
        first.0,
        first.1,
        last_w.0,
        last_w.1,
        last_w.1 / first.1
    );
}
