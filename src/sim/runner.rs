//! The simulation loop: physics at a fixed step, camera and odometry at their rates, the
//! pipeline in between, lap statistics on the side — all in simulated time.
//!
//! How long the brain takes is modelled by [`Latency`]. With `None` the world waits for the
//! brain (lockstep: every frame is processed, results are reproducible). With `Fixed` or
//! `Measured` a command reaches the car that long after the brain started on its frame, the
//! brain is busy meanwhile, and frames arriving while it is busy are dropped except the latest,
//! which it takes next — what a real-time node with a latest-frame-wins queue does.

use std::path::PathBuf;
use std::time::Instant;

use thiserror::Error;

use crate::circuit::Circuit;
use crate::control::{Command, CommandLimits};
use crate::geometry::Pose2;
use crate::metrics::{EndReason, LapRecorder, LapRules, LapStats, Sample, TimingStats};
use crate::pilot::StageTimings;
use crate::pipeline::{Pipeline, SafetyCounters};
use crate::sim::camera::CameraConfig;
use crate::sim::render::{Appearance, Renderer};
use crate::sim::vehicle::Vehicle;

/// How the brain's compute time shows up in simulated time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Latency {
    /// The world waits for the brain: commands apply at the frame's capture time.
    None,
    /// Commands apply this many seconds after the brain starts on a frame.
    Fixed(f64),
    /// Commands apply after the wall time the pilot actually took.
    Measured,
}

impl std::fmt::Display for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Latency::None => f.write_str("none"),
            Latency::Fixed(s) => write!(f, "{}ms", s * 1e3),
            Latency::Measured => f.write_str("measured"),
        }
    }
}

/// Settings of a simulated run.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Laps to drive.
    pub laps: u32,
    /// Simulated-time limit, seconds.
    pub timeout_s: f64,
    /// Physics step, seconds.
    pub physics_dt: f64,
    /// Odometry rate, Hz.
    pub odometry_hz: f64,
    /// Camera settings.
    pub camera: CameraConfig,
    /// Picture variation.
    pub appearance: Appearance,
    /// Brain latency model.
    pub latency: Latency,
    /// Limits on commands.
    pub limits: CommandLimits,
    /// Save every n-th processed frame as PNG into this folder.
    pub save_frames: Option<(PathBuf, u32)>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            laps: 1,
            timeout_s: 300.0,
            physics_dt: 0.001,
            odometry_hz: 20.0,
            camera: CameraConfig::default(),
            appearance: Appearance::default(),
            latency: Latency::None,
            limits: CommandLimits::default(),
            save_frames: None,
        }
    }
}

/// Why a run could not start or failed.
#[derive(Debug, Error)]
pub enum SimError {
    /// A setting is out of range.
    #[error("simulator setting: {0}")]
    Config(String),
    /// A frame could not be written.
    #[error("cannot save frame {path}: {source}")]
    SaveFrame {
        /// The PNG file.
        path: PathBuf,
        /// The underlying error.
        source: image::ImageError,
    },
    /// The frame folder could not be created.
    #[error("cannot create frame folder {path}: {source}")]
    FrameDir {
        /// The folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl SimConfig {
    /// Checks every setting; the error names the one that is wrong.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |s: String| Err(SimError::Config(s));
        if self.laps == 0 {
            return bad("laps must be at least 1".into());
        }
        if !(self.timeout_s > 0.0 && self.timeout_s.is_finite()) {
            return bad(format!("timeout {} s must be positive", self.timeout_s));
        }
        if !(1e-4..=0.02).contains(&self.physics_dt) {
            return bad(format!(
                "physics step {} s is outside [0.0001, 0.02]",
                self.physics_dt
            ));
        }
        if !(self.odometry_hz > 0.0 && self.odometry_hz <= 1000.0) {
            return bad(format!(
                "odometry rate {} Hz is outside (0, 1000]",
                self.odometry_hz
            ));
        }
        if let Latency::Fixed(s) = self.latency {
            if !(0.0..=5.0).contains(&s) {
                return bad(format!("latency {s} s is outside [0, 5]"));
            }
        }
        self.camera.validate().map_err(SimError::Config)?;
        self.appearance
            .validate()
            .map_err(|e| SimError::Config(format!("appearance: {e}")))?;
        self.limits
            .validate()
            .map_err(|e| SimError::Config(e.to_string()))?;
        if let Some((_, 0)) = self.save_frames {
            return bad("save-every must be at least 1".into());
        }
        Ok(())
    }
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Name of the pilot that drove.
    pub pilot: String,
    /// Lap statistics.
    pub laps: LapStats,
    /// Pilot step timing (wall clock).
    pub timing: TimingStats,
    /// Preprocessing and inference timing, for pilots with those stages.
    pub stages: Option<StageTimings>,
    /// Frames the camera produced.
    pub frames: u64,
    /// Frames dropped because the brain was busy.
    pub frames_dropped: u64,
    /// Safety counters of the pipeline.
    pub safety: SafetyCounters,
    /// Wall time of the whole loop, seconds.
    pub wall_seconds: f64,
    /// Simulated seconds per wall second.
    pub real_time_factor: f64,
    /// The recorded odometry trajectory.
    pub trajectory: Vec<Sample>,
}

/// A frame captured by the camera and waiting for the brain.
#[derive(Debug, Clone, Copy)]
struct Capture {
    stamp: f64,
    seq: u64,
    pose: Pose2,
}

/// Drives `circuit` with `pipeline` until the laps are done or the run ends otherwise.
pub fn run(
    circuit: &Circuit,
    pipeline: &mut Pipeline,
    config: &SimConfig,
) -> Result<RunOutcome, SimError> {
    config.validate()?;
    if let Some((dir, _)) = &config.save_frames {
        std::fs::create_dir_all(dir).map_err(|source| SimError::FrameDir {
            path: dir.clone(),
            source,
        })?;
    }
    let renderer = Renderer::new(circuit, config.camera);
    let mut frame = renderer.new_frame();
    let mut recorder = LapRecorder::new(
        circuit.centre.clone(),
        LapRules {
            laps: config.laps,
            half_road: circuit.road.road_width / 2.0,
            ..LapRules::default()
        },
    );
    let mut car = Vehicle::new(circuit.start_pose());

    let dt = config.physics_dt;
    let frame_period = 1.0 / config.camera.rate_hz;
    let odom_period = 1.0 / config.odometry_hz;
    let (mut next_frame, mut next_odom) = (0.0f64, 0.0f64);
    let mut seq = 0u64;
    let (mut frames, mut dropped, mut processed) = (0u64, 0u64, 0u64);
    let mut waiting: Option<Capture> = None;
    let mut busy_until = f64::NEG_INFINITY;
    let mut in_flight: Option<(f64, Command)> = None;

    let wall = Instant::now();
    let mut step = 0u64;
    let end = loop {
        let t = step as f64 * dt;
        // Tolerance against accumulated rounding in the schedules.
        let due = |next: f64| t + 1e-9 >= next;

        if due(next_odom) {
            let odom = car.odometry(t);
            pipeline.on_odometry(odom);
            if let Some(end) = recorder.record(&odom) {
                break end;
            }
            next_odom += odom_period;
        }
        if t >= config.timeout_s {
            break EndReason::Timeout;
        }
        if due(next_frame) {
            frames += 1;
            seq += 1;
            let capture = Capture {
                stamp: t,
                seq,
                pose: car.pose,
            };
            if waiting.replace(capture).is_some() {
                dropped += 1;
            }
            next_frame += frame_period;
        }
        if t >= busy_until {
            if let Some(c) = waiting.take() {
                frame.stamp = c.stamp;
                frame.seq = c.seq;
                renderer.render(&c.pose, &config.appearance, c.seq, &mut frame);
                if let Some((dir, every)) = &config.save_frames {
                    if processed % *every as u64 == 0 {
                        let path = dir.join(format!("frame_{:06}.png", c.seq));
                        frame
                            .save_png(&path)
                            .map_err(|source| SimError::SaveFrame { path, source })?;
                    }
                }
                let out = pipeline.on_frame(&frame);
                processed += 1;
                let delay = match config.latency {
                    Latency::None => 0.0,
                    Latency::Fixed(s) => s,
                    Latency::Measured => out.elapsed.as_secs_f64(),
                };
                busy_until = t + delay;
                in_flight = Some((t + delay, out.cmd));
            }
        }
        if let Some((at, cmd)) = in_flight {
            if t + 1e-9 >= at {
                car.cmd = cmd;
                in_flight = None;
            }
        }
        car.step(dt);
        step += 1;
    };
    let wall_seconds = wall.elapsed().as_secs_f64();
    let laps = recorder.finish(end);
    Ok(RunOutcome {
        pilot: pipeline.pilot_name().to_string(),
        real_time_factor: if wall_seconds > 0.0 {
            laps.sim_seconds / wall_seconds
        } else {
            f64::INFINITY
        },
        laps,
        timing: pipeline.timer().stats(),
        stages: pipeline.stage_timings(),
        frames,
        frames_dropped: dropped,
        safety: pipeline.counters(),
        wall_seconds,
        trajectory: recorder.samples().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuit::RoadGeometry;
    use crate::pilot::{Pilot, PilotError};
    use crate::sensor::{Frame, Odometry};

    /// Drives straight and sleeps a fixed wall time per frame.
    struct Sleepy(std::time::Duration);
    impl Pilot for Sleepy {
        fn name(&self) -> &str {
            "sleepy"
        }
        fn drive(&mut self, _: &Frame, _: Option<&Odometry>) -> Result<Command, PilotError> {
            std::thread::sleep(self.0);
            Ok(Command::new(1.0, 0.0))
        }
    }

    fn short_run(latency: Latency, sleep_ms: u64) -> RunOutcome {
        let circuit = Circuit::load("lakeside", RoadGeometry::default(), false).unwrap();
        let mut p = Pipeline::new(
            Box::new(Sleepy(std::time::Duration::from_millis(sleep_ms))),
            CommandLimits::default(),
        );
        let config = SimConfig {
            timeout_s: 2.0,
            latency,
            ..SimConfig::default()
        };
        run(&circuit, &mut p, &config).unwrap()
    }

    #[test]
    fn lockstep_processes_every_frame() {
        let out = short_run(Latency::None, 0);
        assert_eq!(out.laps.end_reason, EndReason::Timeout);
        assert_eq!(out.frames, 40); // 2 s at 20 Hz (t = 0 .. 1.95)
        assert_eq!(out.frames_dropped, 0);
        assert_eq!(out.timing.count, 40);
    }

    #[test]
    fn slow_brain_drops_frames_and_lags() {
        // A 120 ms brain with 50 ms frames: it is free again every 120 ms and takes the
        // latest frame waiting; the older one waiting with it is dropped.
        let out = short_run(Latency::Fixed(0.12), 0);
        assert_eq!(out.frames, 40);
        assert_eq!(out.timing.count, 17); // t = 0, 0.12, ..., 1.92
        let accounted = out.frames_dropped + out.timing.count;
        assert!(accounted == out.frames || accounted == out.frames - 1);
        // The first command arrives 120 ms in: the car covered less than 2 s at 1 m/s.
        assert!(out.laps.completed_distance_m < 1.9);
        let measured = short_run(Latency::Measured, 120);
        assert!(measured.frames_dropped > 10, "{}", measured.frames_dropped);
    }

    #[test]
    fn invalid_settings_are_refused() {
        let circuit = Circuit::load("lakeside", RoadGeometry::default(), false).unwrap();
        let mut p = Pipeline::new(
            Box::new(Sleepy(std::time::Duration::ZERO)),
            CommandLimits::default(),
        );
        let config = SimConfig {
            physics_dt: 0.5,
            ..SimConfig::default()
        };
        let e = run(&circuit, &mut p, &config).unwrap_err();
        assert!(e.to_string().contains("physics step"), "{e}");
    }
}
