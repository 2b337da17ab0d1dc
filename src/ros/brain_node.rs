//! The brain as a ROS 2 node: camera and odometry in, Twist or TwistStamped out, laps
//! recorded, health on `/diagnostics`, an enable switch.
//!
//! A thin adapter around the core: subscriptions feed a [`RealtimeBrain`] (latest frame wins,
//! stall watchdog, the pipeline on its own thread), its commands go out on `cmd_vel`, odometry
//! also feeds a [`LiveLap`] against the reference lap, timed by the node's ROS clock
//! (simulated time from `/clock` under `use_sim_time`); a [`HealthMonitor`] judges the brain
//! once a second. rcl is spun on a blocking task; SIGINT and SIGTERM stop it, and the run
//! record is written when the run ends (lap completed, stuck, off the road) — the node then
//! ends too under `exit_on_end` — or, failing that, on shutdown.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use r2r::builtin_interfaces::msg::Time;
use r2r::diagnostic_msgs::msg::DiagnosticArray;
use r2r::geometry_msgs::msg::{Twist, TwistStamped};
use r2r::nav_msgs::msg::Odometry as OdometryMsg;
use r2r::sensor_msgs::msg::{CompressedImage, Image};
use r2r::std_srvs::srv::SetBool;
use r2r::{NativeMsg, QosProfile};
use serde::Serialize;

use super::params::{BrainParams, ParamError};
use super::timing::{FrameLog, StageFigures, Stages};
use super::{convert, topics, NodeError};
use crate::base::clock::{Clock, WallClock};
use crate::base::out_dir::ensure_writable;
use crate::base::sensor::{Frame, FrameError};
use crate::driving::brain::{BrainStats, Output, Reason};
use crate::driving::health::{HealthMonitor, Observation};
use crate::driving::pilot::{NetworkPilot, Pilot};
use crate::driving::pipeline::Pipeline;
use crate::driving::realtime::RealtimeBrain;
use crate::evaluation::laps::EndReason;
use crate::evaluation::live::LiveLap;
use crate::evaluation::record::{Producer, RunInfo, TimeSource, REAL_TIME};
use crate::inference::manifest::resolve_model;
use crate::sim::{Look, Track};

/// The camera subscription, by transport.
enum Camera<R, C> {
    Raw(R),
    Compressed(C),
}

/// What the camera feed shares with the rest of the node.
struct FeedShared {
    brain: Arc<RealtimeBrain>,
    frames: Arc<Mutex<FrameLog>>,
    stages: Arc<Mutex<Stages>>,
    malformed: Arc<AtomicU64>,
}

/// Feeds camera messages to the brain, each decoded into a frame (a malformed one is counted,
/// dropped and logged) in a buffer the brain is done with, logging its receipt time and exact
/// stamp.
async fn feed<M>(
    mut messages: impl futures::Stream<Item = M> + Unpin,
    stamp: impl Fn(&M) -> Time,
    decode: impl Fn(M, u64, &mut Vec<u8>) -> Result<Frame, FrameError>,
    shared: FeedShared,
) {
    let clock = *shared.brain.clock();
    let mut seq = 0u64;
    let mut spare = Vec::new();
    while let Some(msg) = messages.next().await {
        seq += 1;
        let receipt = clock.now();
        lock(&shared.frames).push(seq, receipt, stamp(&msg));
        if spare.capacity() == 0 {
            spare = shared.brain.spare_buffer();
        }
        let decoded = decode(msg, seq, &mut spare);
        lock(&shared.stages).decoded(clock.now() - receipt);
        match decoded {
            Ok(frame) => shared.brain.on_frame(frame),
            Err(e) => {
                let bad = shared.malformed.fetch_add(1, Ordering::Relaxed) + 1;
                if bad <= 5 || bad.is_multiple_of(100) {
                    tracing::warn!(error = %e, bad, "dropping a malformed camera image");
                }
            }
        }
    }
}

/// A lock that outlives a panicked holder (its data are counters and logs).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The command publisher: `Twist`, or `TwistStamped` with the answered frame's stamp.
enum CommandPublisher {
    Plain(r2r::Publisher<Twist>),
    Stamped {
        publisher: r2r::Publisher<TwistStamped>,
        frame_id: String,
    },
}

impl CommandPublisher {
    /// Publishes `out`, stamped with `exact` (its frame's header stamp) when known.
    fn publish(&self, out: &Output, exact: Option<Time>) -> Result<(), r2r::Error> {
        match self {
            CommandPublisher::Plain(p) => p.publish(&convert::twist(out.cmd)),
            CommandPublisher::Stamped {
                publisher,
                frame_id,
            } => {
                let mut msg = convert::twist_stamped(out.cmd, out.frame_stamp, frame_id);
                if let Some(stamp) = exact {
                    msg.header.stamp = stamp;
                }
                publisher.publish(&msg)
            }
        }
    }
}

/// The summary topic's JSON: the brain's record keys, plus what only the node measures.
#[derive(Serialize)]
struct Summary {
    #[serde(flatten)]
    brain: BrainStats,
    /// Frames processed per second over the last period.
    processed_hz: f64,
    /// Camera messages dropped because they could not be decoded.
    frames_malformed: u64,
    /// Writes of the statistics (checkpoints, the final record) that failed: a full or
    /// vanished stats folder. Driving goes on; the last whole record stays on disk.
    stats_write_errors: u64,
    /// Whether the brain is switched on.
    enabled: bool,
    /// The node's stages.
    #[serde(flatten)]
    stages: StageFigures,
}

/// The lap statistics of this node, when a reference lap is set.
type Laps = Option<Arc<Mutex<LiveLap>>>;

/// Writes the run record once (a blocking file write and plot: on a runtime worker, wrap it
/// in `block_in_place`).
fn write_stats(lap: &mut LiveLap, end: EndReason, brain: &RealtimeBrain, errors: &AtomicU64) {
    let stats = brain.stats();
    match lap.write(end, &stats) {
        Ok(Some(dir)) => {
            tracing::info!(dir = %dir.display(), end = end.as_str(), "statistics written")
        }
        Ok(None) => {}
        Err(e) => {
            errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "cannot write the statistics; the last whole record \
                stays on disk and the next checkpoint tries again")
        }
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

/// Runs the brain node until SIGINT/SIGTERM (or, under `exit_on_end`, the run's end).
pub fn run() -> Result<(), NodeError> {
    let (mut node, p, handler) = super::node_with_params::<BrainParams>("brain")?;
    let settings = p.validate()?;
    // A stats folder that cannot be written is refused before the model loads, not at the
    // end of the run.
    if !p.stats_dir.is_empty() {
        ensure_writable("stats_dir", Path::new(&p.stats_dir))?;
    }
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
        let circuit = Track::open(&p.reference_lap, None, false, Look::default())
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
        Some(Arc::new(Mutex::new(LiveLap::new(
            circuit,
            settings.direction,
            info,
            dir,
        ))))
    };
    let pipeline = Pipeline::new(pilot, settings.limits);

    let cmd_qos = QosProfile::default().keep_last(1).reliable();
    let cmd_pub = if p.command.stamped {
        CommandPublisher::Stamped {
            publisher: node.create_publisher::<TwistStamped>(&p.topics.cmd_vel, cmd_qos)?,
            frame_id: p.command.frame_id.clone(),
        }
    } else {
        CommandPublisher::Plain(node.create_publisher::<Twist>(&p.topics.cmd_vel, cmd_qos)?)
    };
    let summary_pub = node.create_publisher::<r2r::std_msgs::msg::String>(
        &p.topics.summary,
        QosProfile::default().keep_last(1),
    )?;
    let diagnostics_pub =
        node.create_publisher::<DiagnosticArray>(topics::DIAGNOSTICS, QosProfile::default())?;
    let mut enable_requests =
        node.create_service::<SetBool::Service>(&p.topics.enable, QosProfile::default())?;
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
        // rcl's own message, read in place: one copy into the frame, not two.
        Camera::Raw(node.subscribe_native::<Image>(&p.topics.camera, camera_qos)?)
    };
    let odometry = node.subscribe::<OdometryMsg>(&p.topics.odometry, QosProfile::sensor_data())?;
    let mut summary_timer = node.create_wall_timer(settings.summary_period)?;
    // diagnostic_updater's period.
    let mut diagnostics_timer = node.create_wall_timer(Duration::from_secs(1))?;

    let frames = Arc::new(Mutex::new(FrameLog::default()));
    let stages = Arc::new(Mutex::new(Stages::default()));
    let malformed = Arc::new(AtomicU64::new(0));
    let stats_errors = Arc::new(AtomicU64::new(0));
    let wall = WallClock::new();
    let (f, st) = (frames.clone(), stages.clone());
    let brain = Arc::new(RealtimeBrain::spawn(
        pipeline,
        settings.stall_timeout,
        wall,
        move |out| {
            let known = lock(&f).get(out.frame_seq);
            let start = wall.now();
            if let Err(e) = cmd_pub.publish(&out, known.as_ref().map(|k| k.1.clone())) {
                tracing::warn!(error = %e, "cannot publish the command");
            }
            // Answers to frames only: a stall or a switched-off brain answers no network.
            if out.reason == Reason::Frame {
                lock(&st).published(known.map(|k| k.0), out.received, start, wall.now());
            }
        },
    )?);
    tracing::info!(model = %model.display(), pilot = %pilot_name, camera = %p.topics.camera,
        cmd_vel = %p.topics.cmd_vel, use_sim_time = sim_time, "brain node running");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let ended = Arc::new(tokio::sync::Notify::new());
    let exit_on_end = p.exit_on_end;
    let (laps_at_end, brain_at_end, errors_at_end) =
        (laps.clone(), brain.clone(), stats_errors.clone());
    // The camera feed holds rcl's native messages, which stay on the thread that takes them:
    // it runs on this thread, beside the signal wait, the rest on the runtime's workers.
    let local = tokio::task::LocalSet::new();
    runtime.block_on(local.run_until(async move {
        tokio::spawn(handler);
        let running = Arc::new(AtomicBool::new(true));
        let spin = super::spin(node, running.clone(), Duration::from_millis(5));

        let shared = FeedShared {
            brain: brain.clone(),
            frames,
            stages: stages.clone(),
            malformed: malformed.clone(),
        };
        tokio::task::spawn_local(async move {
            match camera {
                Camera::Raw(images) => {
                    let decode = |m: NativeMsg<Image>, seq, spare: &mut Vec<u8>| {
                        convert::frame_from_native_image(&m, seq, spare)
                    };
                    feed(images, convert::native_image_stamp, decode, shared).await
                }
                Camera::Compressed(images) => {
                    let stamp = |m: &CompressedImage| m.header.stamp.clone();
                    feed(images, stamp, convert::frame_from_compressed, shared).await
                }
            }
        });

        let (b, l, e, c, se) = (
            brain.clone(),
            laps.clone(),
            ended.clone(),
            clock.clone(),
            stats_errors.clone(),
        );
        tokio::spawn(async move {
            let mut odometry = odometry;
            let mut waiting_for_clock = false;
            while let Some(msg) = odometry.next().await {
                let mut odom = convert::odometry_from_msg(&msg);
                b.on_odometry(odom);
                let Some(l) = &l else { continue };
                // Lap times in the node's ROS time, as Behavior Metrics keeps them: simulated
                // under use_sim_time.
                let Some(now) = ros_now(&c) else {
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
                let mut lap = lock(l);
                if let Some(end) = lap.record(&odom, Instant::now()) {
                    tokio::task::block_in_place(|| write_stats(&mut lap, end, &b, &se));
                    if exit_on_end {
                        tracing::info!(end = end.as_str(), "the run ended; exit_on_end is set");
                        e.notify_one();
                    }
                }
            }
        });

        let (b, l) = (brain.clone(), laps.clone());
        tokio::spawn(async move {
            while let Some(request) = enable_requests.next().await {
                let on = request.message.data;
                b.set_enabled(on);
                if let Some(l) = &l {
                    lock(l).set_paused(!on);
                }
                tracing::info!(enabled = on, "enable switch");
                let response = SetBool::Response {
                    success: true,
                    message: if on {
                        "driving"
                    } else {
                        "disabled: zero commands"
                    }
                    .into(),
                };
                if let Err(e) = request.respond(response) {
                    tracing::warn!(error = %e, "cannot answer the enable request");
                }
            }
        });

        let (b, st, m, l, se) = (
            brain.clone(),
            stages.clone(),
            malformed.clone(),
            laps.clone(),
            stats_errors.clone(),
        );
        tokio::spawn(async move {
            let mut last = (Instant::now(), 0u64);
            loop {
                if summary_timer.tick().await.is_err() {
                    break;
                }
                let stats = b.stats();
                // The statistics on disk as they stand: a node killed outright leaves the
                // last period's record, whole.
                if let Some(l) = &l {
                    let lap = lock(l);
                    if let Err(e) = tokio::task::block_in_place(|| lap.checkpoint(&stats)) {
                        let failed = se.fetch_add(1, Ordering::Relaxed) + 1;
                        if failed <= 5 || failed.is_multiple_of(100) {
                            tracing::error!(error = %e, failed, "cannot checkpoint the \
                                statistics; driving goes on, the last whole record stays");
                        }
                    }
                }
                let processed = stats.counters.frames_processed;
                let hz = (processed - last.1) as f64 / last.0.elapsed().as_secs_f64().max(1e-9);
                last = (Instant::now(), processed);
                let summary = Summary {
                    brain: stats,
                    processed_hz: hz,
                    frames_malformed: m.load(Ordering::Relaxed),
                    stats_write_errors: se.load(Ordering::Relaxed),
                    enabled: b.is_enabled(),
                    stages: lock(&st).figures(),
                };
                let msg = r2r::std_msgs::msg::String {
                    data: serde_json::to_string(&summary).unwrap_or_default(),
                };
                if let Err(e) = summary_pub.publish(&msg) {
                    tracing::warn!(error = %e, "cannot publish the summary");
                }
            }
        });

        let (b, m) = (brain.clone(), malformed.clone());
        let name = format!("brain: {pilot_name}");
        let hardware_id = format!("{} on {}", model.display(), settings.backend.device);
        let mut health = HealthMonitor::new(settings.health, wall.now());
        tokio::spawn(async move {
            loop {
                if diagnostics_timer.tick().await.is_err() {
                    break;
                }
                let seen = Observation {
                    now: wall.now(),
                    last_frame_at: b.last_frame_at(),
                    malformed_frames: m.load(Ordering::Relaxed),
                    enabled: b.is_enabled(),
                };
                let report = health.report(&b.stats(), &seen);
                let now = ros_now(&clock).map_or_else(Time::default, convert::stamp);
                let msg = convert::diagnostics(&report, &name, &hardware_id, now);
                if let Err(e) = diagnostics_pub.publish(&msg) {
                    tracing::warn!(error = %e, "cannot publish diagnostics");
                }
            }
        });

        tokio::select! {
            _ = super::wait_for_shutdown() => tracing::info!("shutting down"),
            _ = ended.notified() => tracing::info!("ending: the run record is written"),
        }
        running.store(false, Ordering::Relaxed);
        let _ = spin.await;
    }));
    // Off the runtime: the record of a run that did not end by itself.
    if let Some(l) = &laps_at_end {
        write_stats(
            &mut lock(l),
            EndReason::Shutdown,
            &brain_at_end,
            &errors_at_end,
        );
    }
    Ok(())
}
