//! The brain as a ROS 2 node: camera and odometry in, Twist out, lap statistics recorded.
//!
//! A thin adapter around the core: subscriptions feed a [`Brain`] (latest frame wins, stall
//! watchdog, the pipeline on its own thread), its commands go out on `cmd_vel`, odometry also
//! feeds a [`LapRecorder`] against the reference lap. rcl is spun on a blocking task; SIGINT
//! and SIGTERM stop it, and the statistics are written on lap completion and on shutdown.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hdrhistogram::Histogram;
use r2r::geometry_msgs::msg::Twist;
use r2r::nav_msgs::msg::Odometry as OdometryMsg;
use r2r::sensor_msgs::msg::Image;
use r2r::QosProfile;
use thiserror::Error;

use super::convert;
use super::params::{BrainParams, ParamError};
use crate::brain::{Brain, BrainConfig, Output};
use crate::circuit::{Circuit, RoadGeometry};
use crate::manifest::Manifest;
use crate::metrics::StepTimer;
use crate::metrics::{EndReason, LapRecorder, LapRules};
use crate::pilot::{NetworkPilot, Pilot, PilotError, StageTimings};
use crate::pipeline::Pipeline;
use crate::report::RunReport;
use crate::sensor::{Frame, Odometry};
use crate::sim::camera::CameraConfig;
use crate::sim::{Latency, RunOutcome, SimConfig};

/// Why the node could not start or stopped with an error.
#[derive(Debug, Error)]
pub enum NodeError {
    /// rcl or r2r refused something.
    #[error("ROS: {0}")]
    Ros(#[from] r2r::Error),
    /// A parameter is wrong.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// The model could not be found or loaded.
    #[error("model: {0}")]
    Model(String),
    /// The reference lap could not be loaded.
    #[error("reference lap: {0}")]
    Reference(String),
    /// Writing the statistics failed.
    #[error("writing statistics: {0}")]
    Stats(String),
}

/// Adds a fixed delay to every inference (parameter `extra_inference_ms`), so tests can make
/// the brain slower than the camera.
struct Delayed {
    inner: NetworkPilot,
    delay: Duration,
}

impl Pilot for Delayed {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn drive(
        &mut self,
        frame: &Frame,
        odom: Option<&Odometry>,
    ) -> Result<crate::control::Command, PilotError> {
        std::thread::sleep(self.delay);
        self.inner.drive(frame, odom)
    }
    fn stage_timings(&self) -> Option<StageTimings> {
        self.inner.stage_timings()
    }
}

/// Reads `--params-file PATH` from the process's ROS arguments and checks the file exists and
/// is YAML (rcl aborts the process on a missing file).
fn check_params_files() -> Result<(), ParamError> {
    let args: Vec<String> = std::env::args().collect();
    for pair in args.windows(2) {
        if pair[0] == "--params-file" {
            let path = PathBuf::from(&pair[1]);
            let text = std::fs::read_to_string(&path).map_err(|e| ParamError::File {
                path: path.clone(),
                what: e.to_string(),
            })?;
            serde_yaml::from_str::<serde_yaml::Value>(&text).map_err(|e| ParamError::File {
                path: path.clone(),
                what: format!("not valid YAML: {e}"),
            })?;
        }
    }
    Ok(())
}

/// Every name the node holds must be one of `params`' (r2r accepts unknown names silently).
fn reject_unknown(node: &r2r::Node, params: &Arc<Mutex<BrainParams>>) -> Result<(), ParamError> {
    use r2r::RosParams;
    let names: Vec<String> = node
        .params
        .lock()
        .expect("params")
        .keys()
        .cloned()
        .collect();
    let mut p = params.lock().expect("params");
    let known: Vec<&String> = names
        .iter()
        .filter(|n| p.get_parameter(n).is_ok())
        .collect::<Vec<_>>();
    let known_list = known
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    for name in &names {
        if name == "use_sim_time" {
            continue;
        }
        if p.get_parameter(name).is_err() {
            return Err(ParamError::Unknown {
                name: name.clone(),
                known: known_list,
            });
        }
    }
    Ok(())
}

fn resolve_model(model: &str) -> Result<PathBuf, NodeError> {
    let path = Path::new(model);
    if path.exists() || path.extension().is_some() || path.components().count() > 1 {
        return Ok(path.to_path_buf());
    }
    let manifest =
        Manifest::read(&Manifest::default_dir()).map_err(|e| NodeError::Model(e.to_string()))?;
    manifest
        .path_of(model)
        .map_err(|e| NodeError::Model(e.to_string()))
}

/// Frame-to-command latency and pilot compute time, for the summary topic and the stats.
struct Timings {
    latency_us: Histogram<u64>,
    compute: StepTimer,
}

impl Timings {
    fn new() -> Self {
        Timings {
            latency_us: Histogram::new(3).expect("histogram"),
            compute: StepTimer::new(),
        }
    }
    /// Answers to frames only: a stall stop answers no frame.
    fn record(&mut self, out: &Output) {
        if out.reason == crate::brain::Reason::Frame {
            let lat = out.received.elapsed().as_micros() as u64;
            let _ = self.latency_us.record(lat.max(1));
            self.compute.record(out.compute);
        }
    }
}

/// Runs the brain node until SIGINT/SIGTERM.
pub fn run() -> Result<(), NodeError> {
    check_params_files()?;
    let ctx = r2r::Context::create()?;
    let mut node = r2r::Node::create(ctx, "brain", "")?;
    let params = Arc::new(Mutex::new(BrainParams::default()));
    let (handler, _events) = node.make_derived_parameter_handler(params.clone())?;
    reject_unknown(&node, &params)?;
    let p = params.lock().expect("params").clone();
    let settings = p.validate()?;

    let model = resolve_model(&settings.model)?;
    let pilot = NetworkPilot::open(&model, &settings.backend)
        .map_err(|e| NodeError::Model(e.to_string()))?;
    let pilot: Box<dyn Pilot> = if settings.extra_inference.is_zero() {
        Box::new(pilot)
    } else {
        Box::new(Delayed {
            inner: pilot,
            delay: settings.extra_inference,
        })
    };
    let pilot_name = pilot.name().to_string();
    let pipeline = Pipeline::new(pilot, settings.limits);

    let reference = if p.reference_lap.is_empty() {
        None
    } else {
        Some(
            Circuit::load(&p.reference_lap, RoadGeometry::default(), p.reverse)
                .map_err(|e| NodeError::Reference(e.to_string()))?,
        )
    };

    let cmd_pub = node.create_publisher::<Twist>(
        &p.topics.cmd_vel,
        QosProfile::default().keep_last(1).reliable(),
    )?;
    let summary_pub = node.create_publisher::<r2r::std_msgs::msg::String>(
        &p.topics.summary,
        QosProfile::default().keep_last(1),
    )?;
    let camera_qos = if p.qos.camera_reliable {
        QosProfile::default()
            .keep_last(p.qos.camera_depth as usize)
            .reliable()
    } else {
        QosProfile::sensor_data().keep_last(p.qos.camera_depth as usize)
    };
    let images = node.subscribe::<Image>(&p.topics.camera, camera_qos)?;
    let odometry = node.subscribe::<OdometryMsg>(&p.topics.odometry, QosProfile::sensor_data())?;
    let mut summary_timer = node.create_wall_timer(settings.summary_period)?;

    let timings = Arc::new(Mutex::new(Timings::new()));
    let t = timings.clone();
    let brain = Arc::new(Brain::spawn(
        pipeline,
        BrainConfig {
            stall_timeout: settings.stall_timeout,
        },
        move |out| {
            if let Err(e) = cmd_pub.publish(&convert::twist(out.cmd)) {
                tracing::warn!(error = %e, "cannot publish the command");
            }
            t.lock().expect("timings").record(&out);
        },
    ));
    tracing::info!(model = %model.display(), pilot = %pilot_name, camera = %p.topics.camera,
        cmd_vel = %p.topics.cmd_vel, "brain node running");

    let laps = reference.as_ref().map(|c| {
        Arc::new(Mutex::new(LapRecorder::new(
            c.centre.clone(),
            LapRules {
                laps: p.laps as u32,
                half_road: c.road.road_width / 2.0,
                ..LapRules::default()
            },
        )))
    });
    let stats = StatsWriter {
        dir: (!p.stats_dir.is_empty()).then(|| PathBuf::from(&p.stats_dir)),
        circuit: reference,
        pilot: pilot_name,
        laps_requested: p.laps as u32,
        started: Instant::now(),
        written: AtomicBool::new(false),
    };
    let stats = Arc::new(stats);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| NodeError::Stats(e.to_string()))?;
    runtime.block_on(async move {
        tokio::spawn(handler);
        let running = Arc::new(AtomicBool::new(true));
        let spin_flag = running.clone();
        let spin = tokio::task::spawn_blocking(move || {
            while spin_flag.load(Ordering::Relaxed) {
                node.spin_once(Duration::from_millis(5));
            }
            drop(node);
        });

        let b = brain.clone();
        tokio::spawn(async move {
            let mut seq = 0u64;
            let mut bad = 0u64;
            let mut images = images;
            while let Some(msg) = images.next().await {
                seq += 1;
                match convert::frame_from_image(msg, seq) {
                    Ok(frame) => b.on_frame(frame),
                    Err(e) => {
                        bad += 1;
                        if bad <= 5 || bad % 100 == 0 {
                            tracing::warn!(error = %e, bad, "dropping a malformed camera image");
                        }
                    }
                }
            }
        });

        let (b, l, s, tm) = (brain.clone(), laps.clone(), stats.clone(), timings.clone());
        tokio::spawn(async move {
            let mut odometry = odometry;
            while let Some(msg) = odometry.next().await {
                let odom = convert::odometry_from_msg(&msg);
                b.on_odometry(odom);
                if let Some(l) = &l {
                    let mut rec = l.lock().expect("laps");
                    if let Some(end) = rec.record(&odom) {
                        if end == EndReason::LapCompleted {
                            s.write(&rec, end, &b, &tm.lock().expect("timings").compute);
                        }
                    }
                }
            }
        });

        let (b, t) = (brain.clone(), timings.clone());
        tokio::spawn(async move {
            loop {
                if summary_timer.tick().await.is_err() {
                    break;
                }
                let c = b.counters();
                let t = t.lock().expect("timings");
                let q = |h: &Histogram<u64>, p: f64| h.value_at_quantile(p) as f64 / 1e3;
                let step = t.compute.stats();
                let summary = serde_json::json!({
                    "frames_received": c.frames_received,
                    "frames_processed": c.frames_processed,
                    "frames_dropped": c.frames_dropped,
                    "stall_stops": c.stall_stops,
                    "pilot_errors": c.safety.pilot_errors,
                    "non_finite_commands": c.safety.non_finite_commands,
                    "brain_iteration_frequency_hz": step.frequency_hz,
                    "inference_ms_p50": step.p50_ms,
                    "inference_ms_p99": step.p99_ms,
                    "latency_ms_p50": q(&t.latency_us, 0.5),
                    "latency_ms_p99": q(&t.latency_us, 0.99),
                });
                let msg = r2r::std_msgs::msg::String {
                    data: summary.to_string(),
                };
                if let Err(e) = summary_pub.publish(&msg) {
                    tracing::warn!(error = %e, "cannot publish the summary");
                }
            }
        });

        wait_for_shutdown().await;
        tracing::info!("shutting down");
        running.store(false, Ordering::Relaxed);
        let _ = spin.await;
        if let Some(l) = &laps {
            let rec = l.lock().expect("laps");
            stats.write(
                &rec,
                EndReason::Timeout,
                &brain,
                &timings.lock().expect("timings").compute,
            );
        }
    });
    Ok(())
}

pub(crate) async fn wait_for_shutdown() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Writes stats.json (the simulator's keys), trajectory.csv and path.png, once.
struct StatsWriter {
    dir: Option<PathBuf>,
    circuit: Option<Circuit>,
    pilot: String,
    laps_requested: u32,
    started: Instant,
    written: AtomicBool,
}

impl StatsWriter {
    fn write(&self, rec: &LapRecorder, end: EndReason, brain: &Brain, compute: &StepTimer) {
        let (Some(dir), Some(circuit)) = (&self.dir, &self.circuit) else {
            return;
        };
        if self.written.swap(true, Ordering::SeqCst) {
            return;
        }
        let laps = rec.finish(end);
        let c = brain.counters();
        let wall_seconds = self.started.elapsed().as_secs_f64();
        let outcome = RunOutcome {
            pilot: self.pilot.clone(),
            real_time_factor: laps.sim_seconds / wall_seconds.max(1e-9),
            timing: compute.stats(),
            stages: None,
            frames: c.frames_received,
            frames_dropped: c.frames_dropped,
            safety: c.safety,
            wall_seconds,
            trajectory: Vec::new(),
            laps,
        };
        let config = SimConfig {
            laps: self.laps_requested,
            latency: Latency::Measured,
            camera: CameraConfig {
                rate_hz: c.frames_received as f64 / outcome.laps.sim_seconds.max(1e-9),
                ..CameraConfig::default()
            },
            ..SimConfig::default()
        };
        let report = RunReport::new(circuit, &config, &outcome);
        match report.write_dir(dir, circuit, rec.samples()) {
            Ok(()) => {
                tracing::info!(dir = %dir.display(), end = end.as_str(), "statistics written")
            }
            Err(e) => tracing::error!(error = %e, "cannot write the statistics"),
        }
    }
}
