//! The brain as a ROS 2 node: camera and odometry in, Twist or TwistStamped out, laps recorded.
//!
//! A thin adapter around the core: subscriptions feed a [`RealtimeBrain`] (latest frame wins,
//! stall watchdog, the pipeline on its own thread), its commands go out on `cmd_vel`, odometry
//! also feeds a [`LiveLap`] against the reference lap, timed by the node's ROS clock
//! (simulated time from `/clock` under `use_sim_time`). rcl is spun on a blocking task; SIGINT
//! and SIGTERM stop it, and the run record is written when the run ends (lap completed, stuck,
//! off the road) or, failing that, on shutdown.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hdrhistogram::Histogram;
use r2r::builtin_interfaces::msg::Time;
use r2r::geometry_msgs::msg::{Twist, TwistStamped};
use r2r::nav_msgs::msg::Odometry as OdometryMsg;
use r2r::sensor_msgs::msg::{CompressedImage, Image};
use r2r::QosProfile;
use serde::Serialize;

use super::params::{BrainParams, ParamError};
use super::{convert, NodeError};
use crate::base::clock::{Clock, WallClock};
use crate::base::sensor::{Frame, FrameError};
use crate::driving::brain::{BrainStats, Output, Reason};
use crate::driving::pilot::{NetworkPilot, Pilot};
use crate::driving::pipeline::Pipeline;
use crate::driving::realtime::RealtimeBrain;
use crate::evaluation::laps::EndReason;
use crate::evaluation::live::LiveLap;
use crate::evaluation::record::{Producer, RunInfo, TimeSource, REAL_TIME};
use crate::inference::manifest::resolve_model;
use crate::sim::{Look, Track};

/// The header stamps of the last few camera frames by sequence number: a stamped command
/// carries its frame's stamp exactly (the core's f64 seconds hold it only to ~0.2 µs).
#[derive(Default)]
struct FrameStamps(VecDeque<(u64, Time)>);

impl FrameStamps {
    /// More than the frames that can wait for the brain (one) or be answered meanwhile.
    const KEPT: usize = 8;

    fn push(&mut self, seq: u64, stamp: Time) {
        if self.0.len() == Self::KEPT {
            self.0.pop_front();
        }
        self.0.push_back((seq, stamp));
    }

    fn get(&self, seq: u64) -> Option<Time> {
        self.0
            .iter()
            .find(|(s, _)| *s == seq)
            .map(|(_, t)| t.clone())
    }
}

/// The camera subscription, by transport.
enum Camera<R, C> {
    Raw(R),
    Compressed(C),
}

/// Feeds camera messages to the brain, each decoded into a frame (a malformed one is counted,
/// dropped and logged), keeping its exact stamp in `stamps` when commands are stamped.
async fn feed<M>(
    mut messages: impl futures::Stream<Item = M> + Unpin,
    stamp: impl Fn(&M) -> Time,
    decode: impl Fn(M, u64) -> Result<Frame, FrameError>,
    brain: Arc<RealtimeBrain>,
    stamps: Option<Arc<Mutex<FrameStamps>>>,
) {
    let (mut seq, mut bad) = (0u64, 0u64);
    while let Some(msg) = messages.next().await {
        seq += 1;
        if let Some(stamps) = &stamps {
            stamps
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(seq, stamp(&msg));
        }
        match decode(msg, seq) {
            Ok(frame) => brain.on_frame(frame),
            Err(e) => {
                bad += 1;
                if bad <= 5 || bad % 100 == 0 {
                    tracing::warn!(error = %e, bad, "dropping a malformed camera image");
                }
            }
        }
    }
}

/// The command publisher: `Twist`, or `TwistStamped` with the answered frame's stamp.
enum CommandPublisher {
    Plain(r2r::Publisher<Twist>),
    Stamped {
        publisher: r2r::Publisher<TwistStamped>,
        frame_id: String,
        stamps: Arc<Mutex<FrameStamps>>,
    },
}

impl CommandPublisher {
    fn publish(&self, out: &Output) -> Result<(), r2r::Error> {
        match self {
            CommandPublisher::Plain(p) => p.publish(&convert::twist(out.cmd)),
            CommandPublisher::Stamped {
                publisher,
                frame_id,
                stamps,
            } => {
                let mut msg = convert::twist_stamped(out.cmd, out.frame_stamp, frame_id);
                let exact = stamps
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(out.frame_seq);
                if let Some(stamp) = exact {
                    msg.header.stamp = stamp;
                }
                publisher.publish(&msg)
            }
        }
    }
}

/// Frame-to-command latency on the brain's clock, for the summary topic.
struct Latency(Histogram<u64>);

impl Latency {
    fn new() -> Self {
        // Three significant digits: a constant valid for hdrhistogram.
        Latency(Histogram::new(3).expect("histogram"))
    }

    /// Answers to frames only: a stall stop answers no frame.
    fn record(&mut self, out: &Output, now: f64) {
        if out.reason == Reason::Frame {
            let micros = ((now - out.received) * 1e6).max(1.0) as u64;
            let _ = self.0.record(micros);
        }
    }

    fn ms(&self, quantile: f64) -> f64 {
        self.0.value_at_quantile(quantile) as f64 / 1e3
    }
}

/// The summary topic's JSON: the brain's record keys, plus what only the node measures.
#[derive(Serialize)]
struct Summary {
    #[serde(flatten)]
    brain: BrainStats,
    /// Frames processed per second over the last period.
    processed_hz: f64,
    /// Median frame-receipt-to-command latency, ms.
    latency_ms_p50: f64,
    /// 99th percentile of it, ms.
    latency_ms_p99: f64,
}

/// The lap statistics of this node, when a reference lap is set.
type Laps = Option<Arc<Mutex<LiveLap>>>;

/// Writes the run record once (a blocking file write and plot, off the async workers).
fn write_stats(lap: &mut LiveLap, end: EndReason, brain: &RealtimeBrain) {
    let stats = brain.stats();
    match tokio::task::block_in_place(|| lap.write(end, &stats)) {
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

/// In test builds, `PILOTNET_TEST_INFERENCE_DELAY_MS` slows every inference down, so the
/// ROS tests can make the brain slower than its camera.
#[cfg(feature = "testing")]
fn test_delay(pilot: Box<dyn Pilot>) -> Result<Box<dyn Pilot>, NodeError> {
    const VAR: &str = "PILOTNET_TEST_INFERENCE_DELAY_MS";
    let Ok(text) = std::env::var(VAR) else {
        return Ok(pilot);
    };
    let ms: f64 = text
        .parse()
        .ok()
        .filter(|ms: &f64| ms.is_finite() && *ms >= 0.0)
        .ok_or_else(|| NodeError::Environment(format!("{VAR}={text} is not a number of ms")))?;
    tracing::warn!(ms, "test build: every inference is delayed");
    let delay = Duration::from_secs_f64(ms / 1e3);
    Ok(Box::new(crate::driving::pilot::testing::Delayed::new(
        pilot, delay,
    )))
}

#[cfg(not(feature = "testing"))]
fn test_delay(pilot: Box<dyn Pilot>) -> Result<Box<dyn Pilot>, NodeError> {
    Ok(pilot)
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
    let pilot = test_delay(Box::new(pilot))?;
    let pilot_name = pilot.name().to_string();

    let laps: Laps = if p.reference_lap.is_empty() {
        None
    } else {
        // A CSV lap, a built-in circuit, or a Gazebo world's traced red line.
        let circuit = Track::open(&p.reference_lap, None, p.reverse, Look::default())
            .map_err(|e| ParamError::Invalid {
                name: "reference_lap".into(),
                what: e.to_string(),
            })?
            .circuit;
        let info = RunInfo::new(
            Producer::RosNode,
            &circuit,
            pilot.as_ref(),
            settings.laps,
            None,
            REAL_TIME.into(),
            if sim_time {
                TimeSource::RosSimTime
            } else {
                TimeSource::RosSystemTime
            },
        );
        let dir = (!p.stats_dir.is_empty()).then(|| PathBuf::from(&p.stats_dir));
        Some(Arc::new(Mutex::new(LiveLap::new(circuit, info, dir))))
    };
    let pipeline = Pipeline::new(pilot, settings.limits);

    let cmd_qos = QosProfile::default().keep_last(1).reliable();
    let stamps = p
        .command
        .stamped
        .then(|| Arc::new(Mutex::new(FrameStamps::default())));
    let cmd_pub = if let Some(stamps) = &stamps {
        CommandPublisher::Stamped {
            publisher: node.create_publisher::<TwistStamped>(&p.topics.cmd_vel, cmd_qos)?,
            frame_id: p.command.frame_id.clone(),
            stamps: stamps.clone(),
        }
    } else {
        CommandPublisher::Plain(node.create_publisher::<Twist>(&p.topics.cmd_vel, cmd_qos)?)
    };
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
    let camera = if settings.compressed_camera {
        let topic = format!("{}/compressed", p.topics.camera.trim_end_matches('/'));
        Camera::Compressed(node.subscribe::<CompressedImage>(&topic, camera_qos)?)
    } else {
        Camera::Raw(node.subscribe::<Image>(&p.topics.camera, camera_qos)?)
    };
    let odometry = node.subscribe::<OdometryMsg>(&p.topics.odometry, QosProfile::sensor_data())?;
    let mut summary_timer = node.create_wall_timer(settings.summary_period)?;

    let latency = Arc::new(Mutex::new(Latency::new()));
    let t = latency.clone();
    let wall = WallClock::new();
    let brain = Arc::new(RealtimeBrain::spawn(
        pipeline,
        settings.stall_timeout,
        wall,
        move |out| {
            if let Err(e) = cmd_pub.publish(&out) {
                tracing::warn!(error = %e, "cannot publish the command");
            }
            t.lock()
                .unwrap_or_else(|p| p.into_inner())
                .record(&out, wall.now());
        },
    )?);
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
            match camera {
                Camera::Raw(images) => {
                    let stamp = |m: &Image| m.header.stamp.clone();
                    feed(images, stamp, convert::frame_from_image, b, stamps).await
                }
                Camera::Compressed(images) => {
                    let stamp = |m: &CompressedImage| m.header.stamp.clone();
                    feed(images, stamp, convert::frame_from_compressed, b, stamps).await
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
                let mut lap = l.lock().unwrap_or_else(|p| p.into_inner());
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
                let stats = b.stats();
                let processed = stats.counters.frames_processed;
                let hz = (processed - last.1) as f64 / last.0.elapsed().as_secs_f64().max(1e-9);
                last = (Instant::now(), processed);
                let summary = {
                    let latency = t.lock().unwrap_or_else(|p| p.into_inner());
                    Summary {
                        brain: stats,
                        processed_hz: hz,
                        latency_ms_p50: latency.ms(0.5),
                        latency_ms_p99: latency.ms(0.99),
                    }
                };
                let msg = r2r::std_msgs::msg::String {
                    data: serde_json::to_string(&summary).unwrap_or_default(),
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
            let mut lap = l.lock().unwrap_or_else(|p| p.into_inner());
            write_stats(&mut lap, EndReason::Shutdown, &brain);
        }
    });
    Ok(())
}
