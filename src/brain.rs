//! The real-time brain: the [`Pipeline`] on its own thread, fed by a camera and odometry that
//! run on their own schedule (the ROS node's subscriptions, or any other source).
//!
//! Latest frame wins: a frame that arrives while the previous one waits is replaced, never
//! queued, and counted as dropped, so the command always answers the newest picture and its
//! latency stays bounded by one inference. No frame for `stall_timeout` → a stop command,
//! repeated every `stall_timeout / 2` until frames return. Pilot errors and NaN outputs are
//! turned into stops by the pipeline. Commands leave through a callback, so the thread knows
//! nothing about where they go.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::control::Command;
use crate::metrics::TimingStats;
use crate::pilot::StageTimings;
use crate::pipeline::{Pipeline, SafetyCounters};
use crate::sensor::{Frame, Odometry};

/// Why a command was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The pipeline's answer to a frame (a stop if the pilot failed or returned NaN).
    Frame,
    /// No frame for the stall timeout.
    Stalled,
}

/// One command and where it came from.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// The command.
    pub cmd: Command,
    /// Why it was sent.
    pub reason: Reason,
    /// The frame's sequence number and stamp (the last frame's when stalled).
    pub frame_seq: u64,
    /// Stamp of that frame, seconds.
    pub frame_stamp: f64,
    /// When the frame was handed to the brain (frame-to-command latency = now − this).
    pub received: Instant,
    /// Pilot compute time for this command (zero when stalled).
    pub compute: Duration,
}

/// Live counters of a running brain.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct BrainCounters {
    /// Frames handed to the brain.
    pub frames_received: u64,
    /// Frames the pipeline processed.
    pub frames_processed: u64,
    /// Frames replaced by a newer one before the pipeline got to them.
    pub frames_dropped: u64,
    /// Stop commands sent because the camera stalled.
    pub stall_stops: u64,
    /// The pipeline's safety counters.
    #[serde(flatten)]
    pub safety: SafetyCounters,
}

/// What the brain has measured so far: its counters and the pilot's timings.
#[derive(Debug, Clone, Copy)]
pub struct BrainTimings {
    /// The brain's counters.
    pub counters: BrainCounters,
    /// Pilot step time.
    pub step: TimingStats,
    /// Preprocessing and inference, for network pilots.
    pub stages: Option<StageTimings>,
}

/// Settings of the real-time loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BrainConfig {
    /// No frame for this long → stop commands.
    pub stall_timeout: Duration,
}

impl Default for BrainConfig {
    fn default() -> Self {
        BrainConfig {
            stall_timeout: Duration::from_millis(250),
        }
    }
}

#[derive(Default)]
struct Slot {
    frame: Option<(Frame, Instant)>,
    odometry: Option<Odometry>,
    closed: bool,
}

struct Shared {
    slot: Mutex<Slot>,
    ready: Condvar,
    received: AtomicU64,
    dropped: AtomicU64,
    running: AtomicBool,
}

/// What the brain thread reports back after each command.
#[derive(Default)]
struct Status {
    processed: u64,
    stall_stops: u64,
    safety: SafetyCounters,
    step: Option<TimingStats>,
    stages: Option<StageTimings>,
}

/// How often the thread refreshes its timings (percentiles cost a few microseconds).
const STAGES_EVERY: Duration = Duration::from_millis(200);

/// A running brain; dropping it (or [`Brain::stop`]) ends the thread.
pub struct Brain {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<Pipeline>>,
    status: Arc<Mutex<Status>>,
}

impl Brain {
    /// Starts the loop: every command goes to `publish`, on the brain's thread.
    pub fn spawn<F>(mut pipeline: Pipeline, config: BrainConfig, mut publish: F) -> Brain
    where
        F: FnMut(Output) + Send + 'static,
    {
        let shared = Arc::new(Shared {
            slot: Mutex::new(Slot::default()),
            ready: Condvar::new(),
            received: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            running: AtomicBool::new(true),
        });
        let status = Arc::new(Mutex::new(Status::default()));
        let (s, st) = (shared.clone(), status.clone());
        let worker = std::thread::Builder::new()
            .name("brain".into())
            .spawn(move || {
                let mut last: Option<(u64, f64, Instant)> = None;
                let mut waiting_since = Instant::now();
                let (mut processed, mut stall_stops) = (0u64, 0u64);
                let mut stages_at: Option<Instant> = None;
                let stall = config.stall_timeout;
                loop {
                    let next = {
                        let mut slot = s.slot.lock().unwrap_or_else(|p| p.into_inner());
                        loop {
                            if slot.closed {
                                return pipeline;
                            }
                            if let Some(odom) = slot.odometry.take() {
                                pipeline.on_odometry(odom);
                            }
                            if let Some(f) = slot.frame.take() {
                                break Some(f);
                            }
                            let waited = waiting_since.elapsed();
                            if waited >= stall {
                                break None;
                            }
                            slot = s
                                .ready
                                .wait_timeout(slot, stall - waited)
                                .unwrap_or_else(|p| p.into_inner())
                                .0;
                        }
                    };
                    match next {
                        Some((frame, received)) => {
                            let step = pipeline.on_frame(&frame);
                            processed += 1;
                            last = Some((frame.seq, frame.stamp, received));
                            waiting_since = Instant::now();
                            publish(Output {
                                cmd: step.cmd,
                                reason: Reason::Frame,
                                frame_seq: frame.seq,
                                frame_stamp: frame.stamp,
                                received,
                                compute: step.elapsed,
                            });
                        }
                        None => {
                            stall_stops += 1;
                            pipeline.on_stall();
                            if stall_stops == 1 || stall_stops % 20 == 0 {
                                tracing::warn!(
                                    timeout_ms = stall.as_millis() as u64,
                                    "no camera frame within the stall timeout; commanding a stop"
                                );
                            }
                            let (seq, stamp, received) = last.unwrap_or((0, 0.0, waiting_since));
                            // Repeat the stop every half timeout until frames return.
                            waiting_since = Instant::now() - stall / 2;
                            publish(Output {
                                cmd: Command::STOP,
                                reason: Reason::Stalled,
                                frame_seq: seq,
                                frame_stamp: stamp,
                                received,
                                compute: Duration::ZERO,
                            });
                        }
                    }
                    let mut status = st.lock().unwrap_or_else(|p| p.into_inner());
                    status.processed = processed;
                    status.stall_stops = stall_stops;
                    status.safety = pipeline.counters();
                    if stages_at.is_none_or(|t| t.elapsed() >= STAGES_EVERY) {
                        status.step = Some(pipeline.timer().stats());
                        status.stages = pipeline.stage_timings();
                        stages_at = Some(Instant::now());
                    }
                }
            })
            .expect("spawning the brain thread");
        Brain {
            shared,
            worker: Some(worker),
            status,
        }
    }

    /// A camera frame: replaces a frame still waiting (counted as dropped).
    pub fn on_frame(&self, frame: Frame) {
        self.shared.received.fetch_add(1, Ordering::Relaxed);
        let mut slot = self.shared.slot.lock().unwrap_or_else(|p| p.into_inner());
        if slot.frame.replace((frame, Instant::now())).is_some() {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
        drop(slot);
        self.shared.ready.notify_one();
    }

    /// Odometry: the newest is handed to the pilot with the next frame.
    pub fn on_odometry(&self, odom: Odometry) {
        let mut slot = self.shared.slot.lock().unwrap_or_else(|p| p.into_inner());
        slot.odometry = Some(odom);
    }

    /// Counters so far.
    pub fn counters(&self) -> BrainCounters {
        let status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        BrainCounters {
            frames_received: self.shared.received.load(Ordering::Relaxed),
            frames_processed: status.processed,
            frames_dropped: self.shared.dropped.load(Ordering::Relaxed),
            stall_stops: status.stall_stops,
            safety: status.safety,
        }
    }

    /// The counters, and the pilot's step, preprocessing and inference timings as the brain
    /// thread last refreshed them (every 200 ms).
    pub fn timings(&self) -> BrainTimings {
        let counters = self.counters();
        let status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        BrainTimings {
            counters,
            step: status
                .step
                .unwrap_or_else(|| crate::metrics::StepTimer::new().stats()),
            stages: status.stages,
        }
    }

    /// Whether the thread is still running.
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Relaxed)
            && self.worker.as_ref().is_some_and(|w| !w.is_finished())
    }

    /// Ends the thread and returns the pipeline (for its timing statistics).
    pub fn stop(mut self) -> Option<Pipeline> {
        self.close()
    }

    fn close(&mut self) -> Option<Pipeline> {
        self.shared.running.store(false, Ordering::Relaxed);
        self.shared
            .slot
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .closed = true;
        self.shared.ready.notify_one();
        self.worker.take().and_then(|w| w.join().ok())
    }
}

impl Drop for Brain {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::CommandLimits;
    use crate::pilot::{Pilot, PilotError};
    use std::sync::mpsc;

    /// Answers v = frame seq after sleeping `delay`, and times that sleep as its inference.
    struct Slow {
        delay: Duration,
        inference: crate::metrics::StepTimer,
    }

    impl Pilot for Slow {
        fn name(&self) -> &str {
            "slow"
        }
        fn drive(&mut self, frame: &Frame, _: Option<&Odometry>) -> Result<Command, PilotError> {
            std::thread::sleep(self.delay);
            self.inference.record(self.delay);
            Ok(Command::new(1.0 + frame.seq as f64 * 1e-3, 0.0))
        }
        fn stage_timings(&self) -> Option<StageTimings> {
            let s = self.inference.stats();
            Some(StageTimings {
                preprocess: s,
                inference: s,
            })
        }
    }

    fn brain(delay_ms: u64, stall_ms: u64) -> (Brain, mpsc::Receiver<Output>) {
        let limits = CommandLimits::default();
        let pipeline = Pipeline::new(
            Box::new(Slow {
                delay: Duration::from_millis(delay_ms),
                inference: crate::metrics::StepTimer::new(),
            }),
            limits,
        );
        let (tx, rx) = mpsc::channel();
        let config = BrainConfig {
            stall_timeout: Duration::from_millis(stall_ms),
        };
        let b = Brain::spawn(pipeline, config, move |o| {
            let _ = tx.send(o);
        });
        (b, rx)
    }

    fn frame(seq: u64) -> Frame {
        let mut f = Frame::new_rgb8(8, 8);
        f.seq = seq;
        f.stamp = seq as f64 * 0.01;
        f
    }

    #[test]
    fn a_slow_pilot_drops_stale_frames_instead_of_queueing_them() {
        let (b, rx) = brain(30, 10_000);
        for seq in 0..30 {
            b.on_frame(frame(seq));
            std::thread::sleep(Duration::from_millis(3));
        }
        std::thread::sleep(Duration::from_millis(100));
        let outs: Vec<Output> = rx.try_iter().collect();
        let c = b.counters();
        assert_eq!(c.frames_received, 30);
        assert_eq!(c.frames_processed as usize, outs.len());
        assert_eq!(c.frames_processed + c.frames_dropped, 30, "{c:?}");
        assert!(c.frames_dropped >= 20, "{c:?}");
        // The last frame sent is always answered.
        assert_eq!(outs.last().unwrap().frame_seq, 29);
        assert!(outs.iter().all(|o| o.reason == Reason::Frame));
        // The stage timings reach the caller (refreshed every 200 ms, so the first is there).
        let timings = b.timings();
        assert!(timings.step.count >= 1 && timings.step.count <= c.frames_processed);
        let stages = timings.stages.expect("stage timings");
        assert!(stages.inference.count >= 1);
        assert!((stages.inference.p50_ms - 30.0).abs() < 1.0, "{stages:?}");
    }

    #[test]
    fn a_stalled_camera_gets_stops_until_frames_return() {
        let (b, rx) = brain(0, 50);
        b.on_frame(frame(1));
        let first = rx.recv_timeout(Duration::from_secs(1)).unwrap();
        assert_eq!(first.reason, Reason::Frame);
        assert!(first.cmd.v > 0.0);
        let start = Instant::now();
        let stop = rx.recv_timeout(Duration::from_secs(1)).unwrap();
        assert_eq!(stop.reason, Reason::Stalled);
        assert_eq!(stop.cmd, Command::STOP);
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(40) && waited < Duration::from_millis(500),
            "{waited:?}"
        );
        let again = rx.recv_timeout(Duration::from_secs(1)).unwrap();
        assert_eq!(again.reason, Reason::Stalled);
        b.on_frame(frame(2));
        let back = rx.iter().find(|o| o.reason == Reason::Frame).unwrap();
        assert_eq!(back.frame_seq, 2);
        assert!(b.counters().stall_stops >= 2);
        let pipeline = b.stop().expect("pipeline back");
        assert_eq!(pipeline.timer().count(), 2);
    }
}
