//! The brain as a ROS 2 node: camera and odometry in, Twist out, lap statistics recorded.
//!
//! A thin adapter around the core: subscriptions feed a [`Brain`] (latest frame wins, stall
//! watchdog, the pipeline on its own thread), its commands go out on `cmd_vel`, odometry also
//! feeds a [`LiveLap`] against the reference lap, timed by the node's ROS clock (simulated
//! time from `/clock` under `use_sim_time`). rcl is spun on a blocking task; SIGINT and SIGTERM
//! stop it, and the statistics are written when the run ends (lap completed, stuck, off the
//! road) or, failing that, on shutdown.

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

use super::params::{BrainParams, ParamError};
use super::{convert, NodeError};
use crate::brain::{Brain, BrainConfig, BrainTimings, Output};
use crate::circuit::{Circuit, RoadGeometry};
use crate::manifest::resolve_model;
use crate::metrics::EndReason;
use crate::pilot::{NetworkPilot, Pilot, PilotError, StageTimings};
use crate::pipeline::Pipeline;
use crate::report::live::LiveLap;
use crate::sensor::{Frame, Odometry};

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

/// Frame-to-command latency, for the summary topic (the brain keeps the pilot's timings).
struct Latency(Histogram<u64>);

impl Latency {
    fn new() -> Self {
        Latency(Histogram::new(3).expect("histogram"))
    }

    /// Answers to frames only: a stall stop answers no frame.
    fn record(&mut self, out: &Output) {
        if out.reason == crate::brain::Reason::Frame {
            let lat = out.received.elapsed().as_micros() as u64;
            let _ = self.0.record(lat.max(1));
        }
    }

    fn ms(&self, quantile: f64) -> f64 {
        self.0.value_at_quantile(quantile) as f64 / 1e3
    }
}

/// The summary topic's JSON; `processed_hz` is measured over the last period.
fn summary(b: &BrainTimings, latency: &Latency, processed_hz: f64) -> serde_json::Value {
    let c = b.counters;
    serde_json::json!({
        "frames_received": c.frames_received,
        "frames_processed": c.frames_processed,
        "frames_dropped": c.frames_dropped,
        "stall_stops": c.stall_stops,
        "pilot_errors": c.safety.pilot_errors,
        "non_finite_commands": c.safety.non_finite_commands,
        "processed_hz": processed_hz,
        "brain_iteration_frequency_hz": b.step.frequency_hz,
        "step_ms_p50": b.step.p50_ms,
        "step_ms_p99": b.step.p99_ms,
        "inference_ms_p50": b.stages.map(|s| s.inference.p50_ms),
        "inference_ms_p99": b.stages.map(|s| s.inference.p99_ms),
        "latency_ms_p50": latency.ms(0.5),
        "latency_ms_p99": latency.ms(0.99),
    })
}

/// The lap statistics of this node, when a reference lap is set.
type Laps = Option<Arc<Mutex<LiveLap>>>;

/// Writes the lap statistics once (a blocking file write and plot, off the async workers).
fn write_stats(lap: &mut LiveLap, end: EndReason, brain: &Brain) {
    let b = brain.timings();
    match tokio::task::block_in_place(|| lap.write(end, &b)) {
        Ok(Some(dir)) => {
            tracing::info!(dir = %dir.display(), end = end.as_str(), "statistics written")
        }
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "cannot write the statistics"),
    }
}

/// The node's ROS time in seconds: simulated time from `/clock` under `use_sim_time`, the
/// system clock otherwise. `None` while simulated time has not started.
fn ros_now(clock: &Mutex<r2r::Clock>) -> Option<f64> {
    let now = clock.lock().ok()?.get_now().ok()?;
    (!now.is_zero()).then_some(now.as_secs_f64())
}

/// Runs the brain node until SIGINT/SIGTERM.
pub fn run() -> Result<(), NodeError> {
    let (mut node, p, handler) = super::node_with_params::<BrainParams>("brain")?;
    let settings = p.validate()?;
    let sim_time = super::uses_sim_time(&node);
    let clock = node.get_ros_clock();

    let model =
        resolve_model(Path::new(&settings.model)).map_err(|e| NodeError::Model(e.to_string()))?;
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

    let laps: Laps =
        if p.reference_lap.is_empty() {
            None
        } else {
            let circuit = Circuit::load(&p.reference_lap, RoadGeometry::default(), p.reverse)
                .map_err(|e| ParamError::Invalid {
                    name: "reference_lap",
                    what: e.to_string(),
                })?;
            let dir = (!p.stats_dir.is_empty()).then(|| PathBuf::from(&p.stats_dir));
            Some(Arc::new(Mutex::new(LiveLap::new(
                circuit,
                p.laps as u32,
                &pilot_name,
                dir,
            ))))
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

    let latency = Arc::new(Mutex::new(Latency::new()));
    let t = latency.clone();
    let brain = Arc::new(Brain::spawn(
        pipeline,
        BrainConfig {
            stall_timeout: settings.stall_timeout,
        },
        move |out| {
            if let Err(e) = cmd_pub.publish(&convert::twist(out.cmd)) {
                tracing::warn!(error = %e, "cannot publish the command");
            }
            t.lock().expect("latency").record(&out);
        },
    ));
    tracing::info!(model = %model.display(), pilot = %pilot_name, camera = %p.topics.camera,
        cmd_vel = %p.topics.cmd_vel, use_sim_time = sim_time, "brain node running");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        tokio::spawn(handler);
        let running = Arc::new(AtomicBool::new(true));
        let spin = super::spin(node, running.clone(), Duration::from_millis(5));

        let b = brain.clone();
        tokio::spawn(async move {
            let (mut seq, mut bad) = (0u64, 0u64);
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

        let (b, l) = (brain.clone(), laps.clone());
        tokio::spawn(async move {
            let mut odometry = odometry;
            let mut waiting_for_clock = false;
            while let Some(msg) = odometry.next().await {
                let mut odom = convert::odometry_from_msg(&msg);
                b.on_odometry(odom);
                let Some(l) = &l else { continue };
                // Lap times in the node's ROS time, as Behavior Metrics keeps them: simulated
                // under use_sim_time.
                let Some(now) = ros_now(&clock) else {
                    if !waiting_for_clock && sim_time {
                        tracing::warn!(
                            "use_sim_time is set and nothing has come on /clock yet; \
                             odometry is not recorded for the lap statistics until it does"
                        );
                    } else if !waiting_for_clock {
                        tracing::error!(
                            "cannot read the node's ROS clock; odometry is not \
                             recorded for the lap statistics"
                        );
                    }
                    waiting_for_clock = true;
                    continue;
                };
                odom.stamp = now;
                let mut lap = l.lock().expect("laps");
                if let Some(end) = lap.record(&odom, Instant::now()) {
                    write_stats(&mut lap, end, &b);
                }
            }
        });

        let (b, t) = (brain.clone(), latency.clone());
        tokio::spawn(async move {
            let mut last = (Instant::now(), 0u64);
            loop {
                if summary_timer.tick().await.is_err() {
                    break;
                }
                let timings = b.timings();
                let processed = timings.counters.frames_processed;
                let hz = (processed - last.1) as f64 / last.0.elapsed().as_secs_f64().max(1e-9);
                last = (Instant::now(), processed);
                let msg = r2r::std_msgs::msg::String {
                    data: summary(&timings, &t.lock().expect("latency"), hz).to_string(),
                };
                if let Err(e) = summary_pub.publish(&msg) {
                    tracing::warn!(error = %e, "cannot publish the summary");
                }
            }
        });

        super::wait_for_shutdown().await;
        tracing::info!("shutting down");
        running.store(false, Ordering::Relaxed);
        let _ = spin.await;
        if let Some(l) = &laps {
            write_stats(&mut l.lock().expect("laps"), EndReason::Shutdown, &brain);
        }
    });
    Ok(())
}
