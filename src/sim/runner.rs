//! A simulated run: the [`World`] driven by the [`Brain`] on simulated time, measured against
//! the circuit's reference line, until the laps are done or the run ends otherwise.
//!
//! Camera captures go into the brain's latest-wins mailbox and are rendered only when the
//! brain takes one. How long the brain takes shows as its [`Latency`](crate::driving::brain::Latency):
//! `None` — the world waits for the brain (lockstep: every frame is processed, runs are
//! reproducible); `Fixed`, `Measured` or `Scaled` (measured × a factor, a slower target
//! emulated) — the command reaches the car that long after the brain
//! took its frame, frames arriving meanwhile wait in the mailbox and all but the newest are
//! dropped, exactly as on a robot.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use thiserror::Error;

use crate::base::clock::SimClock;
use crate::base::control::{Command, CommandLimits};
use crate::base::sensor::Frame;
use crate::base::settings::{within, InvalidSetting};
use crate::driving::brain::{Brain, BrainConfig, Reason};
use crate::driving::mailbox::Mailbox;
use crate::driving::pilot::Pilot;
use crate::driving::pipeline::Pipeline;
use crate::evaluation::laps::{Direction, EndReason, LapRecorder, Sample};
use crate::evaluation::record::{Producer, RunInfo, RunRecord, TimeSource};
use crate::sim::track::Track;
use crate::sim::world::{Capture, Driver, Sensors, SimCamera, World, WorldConfig};

/// Settings of a simulated run.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Laps to drive.
    pub laps: u32,
    /// Simulated-time limit, seconds.
    pub timeout_s: f64,
    /// The world: physics step, odometry and camera, picture variation.
    pub world: WorldConfig,
    /// The brain: stall timeout, latency model.
    pub brain: BrainConfig,
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
            world: WorldConfig::default(),
            brain: BrainConfig::default(),
            limits: CommandLimits::default(),
            save_frames: None,
        }
    }
}

/// Why a run could not start or failed.
#[derive(Debug, Error)]
pub enum SimError {
    /// A setting is out of range.
    #[error("simulator setting {0}")]
    Setting(#[from] InvalidSetting),
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
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        within("laps", self.laps, 1, 1_000_000)?;
        within("timeout", self.timeout_s, 1e-3, 1e7)?;
        self.world.validate()?;
        self.brain.validate()?;
        self.limits.validate()?;
        let period_ms = 1e3 / self.world.camera.rate_hz;
        let stall_ms = self.brain.stall_timeout.as_secs_f64() * 1e3;
        if stall_ms <= period_ms {
            return Err(InvalidSetting::new(
                "stall_timeout_ms",
                format!(
                    "{stall_ms} ms is not longer than the camera's frame period {period_ms} ms: \
                     the brain would stop the car between frames"
                ),
            ));
        }
        if let Some((_, 0)) = self.save_frames {
            return Err(InvalidSetting::new("save_every", "0 must be at least 1"));
        }
        Ok(())
    }
}

/// What a run produced: its record and the odometry trajectory.
#[derive(Debug, Clone)]
pub struct SimRun {
    /// What ran, how it drove, how fast the brain was.
    pub record: RunRecord,
    /// The recorded odometry, at the odometry rate.
    pub trajectory: Vec<Sample>,
    /// The brain's wall-clock compute time for each frame it answered (preprocessing,
    /// inference, output mapping), milliseconds, in order.
    pub compute_ms: Vec<f32>,
}

/// The brain and the lap statistics, as the world's driver.
struct BrainDriver<'a> {
    config: &'a SimConfig,
    clock: SimClock,
    brain: Brain,
    mailbox: Mailbox<Capture>,
    recorder: LapRecorder,
    frame: Frame,
    taken: u64,
    compute_ms: Vec<f32>,
    error: Option<SimError>,
}

impl Driver for BrainDriver<'_> {
    type Stop = Result<EndReason, SimError>;

    fn step(&mut self, s: Sensors<'_>) -> ControlFlow<Self::Stop, Option<Command>> {
        self.clock.set(s.t);
        if let Some(odom) = s.odometry {
            self.brain.on_odometry(odom);
            if let Some(end) = self.recorder.record(&odom) {
                return ControlFlow::Break(Ok(end));
            }
        }
        if s.t >= self.config.timeout_s {
            return ControlFlow::Break(Ok(EndReason::Timeout));
        }
        if let Some(capture) = s.capture {
            self.mailbox.put(capture, s.t);
        }
        let mut cmd = None;
        let (mailbox, frame, taken, error) = (
            &mut self.mailbox,
            &mut self.frame,
            &mut self.taken,
            &mut self.error,
        );
        let save = self.config.save_frames.as_ref();
        let compute_ms = &mut self.compute_ms;
        let camera: &SimCamera = s.camera;
        self.brain.step(
            &self.clock,
            mailbox.last_arrival(),
            move || {
                let (capture, received) = mailbox.take()?;
                camera.render(&capture, frame);
                if let Some((dir, every)) = save {
                    if *taken % *every as u64 == 0 {
                        let path = dir.join(format!("frame_{:06}.png", capture.seq));
                        if let Err(source) = frame.save_png(&path) {
                            *error = Some(SimError::SaveFrame { path, source });
                        }
                    }
                }
                *taken += 1;
                Some((&*frame, received))
            },
            &mut |out| {
                if out.reason == Reason::Frame {
                    compute_ms.push((out.compute.as_secs_f64() * 1e3) as f32);
                }
                cmd = Some(out.cmd);
            },
        );
        match self.error.take() {
            Some(e) => ControlFlow::Break(Err(e)),
            None => ControlFlow::Continue(cmd),
        }
    }
}

/// Drives `track` with `pilot` until the laps are done or the run ends otherwise.
pub fn run(track: &Track, pilot: Box<dyn Pilot>, config: &SimConfig) -> Result<SimRun, SimError> {
    let circuit = &track.circuit;
    config.validate()?;
    if let Some((dir, _)) = &config.save_frames {
        std::fs::create_dir_all(dir).map_err(|source| SimError::FrameDir {
            path: dir.clone(),
            source,
        })?;
    }
    let mut info = RunInfo::new(
        Producer::Simulator,
        circuit,
        pilot.as_ref(),
        config.laps,
        Some(config.world.camera.rate_hz),
        config.brain.latency.to_string(),
        TimeSource::Simulator,
    );
    info.physics_hz = Some(1.0 / config.world.physics_dt);
    let mut world = World::new(track, &config.world)?;
    let mut driver = BrainDriver {
        config,
        clock: SimClock::new(),
        brain: Brain::new(Pipeline::new(pilot, config.limits), config.brain, 0.0),
        mailbox: Mailbox::new(),
        recorder: LapRecorder::for_circuit(circuit, config.laps, Direction::Auto),
        frame: world.camera().new_frame(),
        taken: 0,
        compute_ms: Vec::new(),
        error: None,
    };
    let wall = Instant::now();
    let end = world.run(&mut driver)?;
    let wall_seconds = wall.elapsed().as_secs_f64();
    let record = RunRecord::new(
        info,
        driver.recorder.finish(end),
        driver.brain.stats(driver.mailbox.counts()),
        wall_seconds,
    );
    Ok(SimRun {
        record,
        trajectory: driver.recorder.samples().to_vec(),
        compute_ms: driver.compute_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::sensor::Odometry;
    use crate::driving::brain::Latency;
    use crate::driving::pilot::PilotError;
    use crate::evaluation::circuit::{Circuit, RoadGeometry};

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

    fn short_run(latency: Latency, sleep_ms: u64) -> RunRecord {
        short_sim(latency, sleep_ms).record
    }

    fn short_sim(latency: Latency, sleep_ms: u64) -> SimRun {
        let track = Track::from(Circuit::load("lakeside", RoadGeometry::default(), false).unwrap());
        let pilot = Box::new(Sleepy(std::time::Duration::from_millis(sleep_ms)));
        let config = SimConfig {
            timeout_s: 2.0,
            brain: BrainConfig {
                latency,
                ..BrainConfig::default()
            },
            ..SimConfig::default()
        };
        run(&track, pilot, &config).unwrap()
    }

    #[test]
    fn lockstep_processes_every_frame() {
        let sim = short_sim(Latency::None, 0);
        assert_eq!(sim.compute_ms.len(), 40);
        let r = sim.record;
        assert_eq!(r.laps.end_reason, EndReason::Timeout);
        let c = r.brain.unwrap().counters;
        assert_eq!(c.frames_received, 40); // 2 s at 20 Hz (t = 0 .. 1.95)
        assert_eq!((c.frames_processed, c.frames_dropped), (40, 0));
        // The car moved from the first step on: 2 s at 1 m/s to the last odometry sample.
        assert!((r.laps.completed_distance_m - 2.0).abs() < 1e-9, "{r:?}");
        assert_eq!(r.run.camera_hz, Some(20.0));
        assert_eq!(r.run.latency, "none");
    }

    #[test]
    fn slow_brain_drops_frames_and_lags() {
        // A 120 ms brain with 50 ms frames: it is free again every 120 ms and takes the
        // newest frame waiting; the older one waiting with it is dropped.
        let r = short_run(Latency::Fixed(0.12), 0);
        let c = r.brain.unwrap().counters;
        assert_eq!(c.frames_received, 40);
        assert_eq!(c.frames_processed, 17); // t = 0, 0.12, ..., 1.92
                                            // The frame of 1.95 s still waits for the brain at the end.
        assert_eq!(c.frames_processed + c.frames_dropped + 1, c.frames_received);
        // The first command arrives 120 ms in: the car covered 2 − 0.12 s at 1 m/s.
        let d = r.laps.completed_distance_m;
        assert!((d - 1.88).abs() < 1e-6, "{d}");
        let measured = short_run(Latency::Measured, 120);
        assert!(
            measured.brain.unwrap().counters.frames_dropped > 10,
            "{measured:?}"
        );
        // A 12 ms brain on a target ten times slower lags as the 120 ms one does.
        let scaled = short_run(Latency::Scaled(10.0), 12).brain.unwrap().counters;
        assert!(scaled.frames_processed <= 17, "{scaled:?}");
        assert!(scaled.frames_dropped > 10, "{scaled:?}");
    }

    #[test]
    fn invalid_settings_are_refused_naming_the_setting() {
        let track = Track::from(Circuit::load("lakeside", RoadGeometry::default(), false).unwrap());
        let bad = |config: SimConfig, name: &str| {
            let pilot = Box::new(Sleepy(std::time::Duration::ZERO));
            match run(&track, pilot, &config) {
                Err(SimError::Setting(e)) => assert_eq!(e.name, name, "{e}"),
                other => panic!("{name}: {other:?}"),
            }
        };
        let world = |w: WorldConfig| SimConfig {
            world: w,
            ..SimConfig::default()
        };
        bad(
            world(WorldConfig {
                physics_dt: 0.5,
                ..WorldConfig::default()
            }),
            "physics_dt",
        );
        bad(
            SimConfig {
                laps: 0,
                ..SimConfig::default()
            },
            "laps",
        );
        let mut slow_camera = WorldConfig::default();
        slow_camera.camera.rate_hz = 2.0;
        bad(world(slow_camera), "stall_timeout_ms");
    }
}
