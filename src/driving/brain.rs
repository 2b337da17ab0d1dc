//! The brain loop: a [`Pipeline`] served from a camera, on any [`Clock`].
//!
//! Frames wait in a latest-wins [`Mailbox`]; the brain takes the newest when it is free, runs
//! the pipeline, and sends the command once the frame's compute time has passed on its clock
//! ([`Latency`]). No frame for the stall timeout → a stop, repeated every half timeout until
//! frames return. This is the only implementation of that policy: the real-time brain
//! ([`crate::driving::realtime`]) runs it on the wall clock on its own thread, the embedded
//! simulator runs it on simulated time, and its tests step a simulated clock by hand.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::base::clock::Clock;
use crate::base::control::Command;
use crate::base::sensor::{Frame, Odometry};
use crate::base::settings::{positive, within, InvalidSetting};
use crate::base::timing::TimingStats;
use crate::driving::mailbox::MailboxCounts;
use crate::driving::pilot::StageTimings;
use crate::driving::pipeline::{Pipeline, SafetyCounters};

/// How a frame's compute time shows on the brain's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Latency {
    /// Not at all: the command is sent as soon as the pipeline returns. On a wall clock that
    /// is the real latency (the pilot's time has passed); on simulated time the world waits
    /// for the brain (lockstep: every frame is processed, runs are reproducible).
    None,
    /// The command is sent this many seconds after the brain takes the frame.
    Fixed(f64),
    /// The command is sent after the wall time the pipeline took (for simulated time).
    Measured,
    /// The command is sent after the wall time the pipeline took times this factor: a
    /// slower target emulated on this machine (×20 for an embedded CPU, say), its compute
    /// time varying frame to frame as this machine's does.
    Scaled(f64),
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Latency::None => f.write_str("none"),
            Latency::Fixed(s) => write!(f, "{}ms", s * 1e3),
            Latency::Measured => f.write_str("measured"),
            Latency::Scaled(k) => write!(f, "measured*{k}"),
        }
    }
}

impl FromStr for Latency {
    type Err = String;
    /// `none`, `measured`, `measured*F` (measured times F) or milliseconds (`30`, `30ms`).
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "none" | "0" => Ok(Latency::None),
            "measured" => Ok(Latency::Measured),
            scaled if scaled.starts_with("measured*") => scaled["measured*".len()..]
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|k| k.is_finite() && *k > 0.0)
                .map(Latency::Scaled)
                .ok_or_else(|| {
                    format!("'{s}': the factor after 'measured*' must be a positive number")
                }),
            ms => ms
                .trim_end_matches("ms")
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .map(|v| Latency::Fixed(v / 1e3))
                .ok_or_else(|| {
                    format!(
                        "'{s}' is not 'none', 'measured', 'measured*FACTOR' or a number of \
                         milliseconds"
                    )
                }),
        }
    }
}

/// Settings of the brain loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BrainConfig {
    /// No frame for this long → stop commands.
    pub stall_timeout: Duration,
    /// How compute time shows on the clock.
    pub latency: Latency,
}

impl Default for BrainConfig {
    fn default() -> Self {
        BrainConfig {
            stall_timeout: Duration::from_millis(250),
            latency: Latency::None,
        }
    }
}

impl BrainConfig {
    /// A stall timeout given in milliseconds, as the command line and ROS parameters give it.
    pub fn stall_timeout_from_ms(ms: f64) -> Result<Duration, InvalidSetting> {
        positive("stall_timeout_ms", ms)?;
        Duration::try_from_secs_f64(ms / 1e3)
            .map_err(|_| InvalidSetting::new("stall_timeout_ms", format!("{ms} is too long")))
    }

    /// Checks the settings; the error names `stall_timeout_ms` or `latency`.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let ms = self.stall_timeout.as_secs_f64() * 1e3;
        if ms <= 0.0 {
            return Err(InvalidSetting::new(
                "stall_timeout_ms",
                format!("{ms} must be a positive number"),
            ));
        }
        within("stall_timeout_ms", ms, 0.0, 60_000.0)?;
        if let Latency::Fixed(s) = self.latency {
            within("latency", s * 1e3, 0.0, 5_000.0)?;
        }
        if let Latency::Scaled(k) = self.latency {
            within("latency", k, 1e-3, 10_000.0)?;
        }
        Ok(())
    }
}

/// Why a command was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The pipeline's answer to a frame (a stop if the pilot failed or returned NaN).
    Frame,
    /// No frame for the stall timeout.
    Stalled,
    /// The brain is switched off: a stop instead of the network's answer.
    Disabled,
}

/// One command and where it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Output {
    /// The command.
    pub cmd: Command,
    /// Why it was sent.
    pub reason: Reason,
    /// The frame's sequence number (the last frame's when stalled; 0 before any).
    pub frame_seq: u64,
    /// Stamp of that frame, seconds.
    pub frame_stamp: f64,
    /// When that frame reached the brain, on the brain's clock (frame-to-command latency =
    /// the clock when the command is sent − this).
    pub received: f64,
    /// Pilot compute time for this command (zero when stalled).
    pub compute: Duration,
}

/// What a brain has counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrainCounters {
    /// Frames handed to the brain (in the simulator: every frame the camera took).
    pub frames_received: u64,
    /// Frames the pipeline processed.
    pub frames_processed: u64,
    /// Frames replaced by a newer one before the brain was free to take them.
    pub frames_dropped: u64,
    /// Stop commands sent because no frame came for the stall timeout.
    pub stall_stops: u64,
    /// The pipeline's safety counters.
    #[serde(flatten)]
    pub safety: SafetyCounters,
}

/// A brain's counters and timings as one flat record: the keys of `stats.json`'s brain part
/// and of the ROS node's summary topic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BrainStats {
    /// Counters.
    #[serde(flatten)]
    pub counters: BrainCounters,
    /// 1 / mean wall time of a pipeline step, Hz (Behavior Metrics' brain iteration
    /// frequency).
    pub brain_iteration_frequency_hz: f64,
    /// Mean pipeline step, milliseconds.
    pub step_ms_mean: f64,
    /// Median pipeline step, milliseconds.
    pub step_ms_p50: f64,
    /// 90th percentile pipeline step, milliseconds.
    pub step_ms_p90: f64,
    /// 99th percentile pipeline step, milliseconds.
    pub step_ms_p99: f64,
    /// Longest pipeline step, milliseconds.
    pub step_ms_max: f64,
    /// Median preprocessing time of a network pilot, milliseconds (null for other pilots).
    pub preprocess_ms_p50: Option<f64>,
    /// 99th percentile preprocessing time, milliseconds.
    pub preprocess_ms_p99: Option<f64>,
    /// Mean inference time of a network pilot, milliseconds.
    pub inference_ms_mean: Option<f64>,
    /// Median inference time, milliseconds.
    pub inference_ms_p50: Option<f64>,
    /// 99th percentile inference time, milliseconds.
    pub inference_ms_p99: Option<f64>,
    /// Mean distance between consecutive commands answered to frames, √(Δv² + Δw²) in
    /// m/s and rad/s (Behavior Metrics' `suddenness_distance`, on the commands sent rather
    /// than the network's raw outputs); null before two commands.
    pub command_suddenness: Option<f64>,
}

impl BrainStats {
    /// The record of `counters`, pipeline step timing `step` and the pilot's `stages`.
    pub fn new(counters: BrainCounters, step: &TimingStats, stages: Option<&StageTimings>) -> Self {
        BrainStats {
            counters,
            brain_iteration_frequency_hz: step.frequency_hz,
            step_ms_mean: step.mean_ms,
            step_ms_p50: step.p50_ms,
            step_ms_p90: step.p90_ms,
            step_ms_p99: step.p99_ms,
            step_ms_max: step.max_ms,
            preprocess_ms_p50: stages.map(|s| s.preprocess.p50_ms),
            preprocess_ms_p99: stages.map(|s| s.preprocess.p99_ms),
            inference_ms_mean: stages.map(|s| s.inference.mean_ms),
            inference_ms_p50: stages.map(|s| s.inference.p50_ms),
            inference_ms_p99: stages.map(|s| s.inference.p99_ms),
            command_suddenness: None,
        }
    }
}

/// Slack in time comparisons, seconds: simulated time is a sum of steps, and its rounding
/// must not move an event by a whole step.
const TOLERANCE: f64 = 1e-9;

/// The last frame answered: sequence number, stamp, arrival.
#[derive(Debug, Clone, Copy)]
struct Answered {
    seq: u64,
    stamp: f64,
    received: f64,
}

/// A pipeline served from a mailbox of frames, on a clock the caller passes in.
pub struct Brain {
    pipeline: Pipeline,
    config: BrainConfig,
    started: f64,
    in_flight: Option<(f64, Output)>,
    /// The arrival the stall watch counts from, and the stops sent since.
    quiet: (f64, u32),
    last: Option<Answered>,
    processed: u64,
    stall_stops: u64,
    previous_cmd: Option<Command>,
    suddenness: (f64, u64),
}

impl Brain {
    /// A brain around `pipeline`, starting at `now` on its clock (the stall watch counts from
    /// here until the first frame).
    pub fn new(pipeline: Pipeline, config: BrainConfig, now: f64) -> Self {
        Brain {
            pipeline,
            config,
            started: now,
            in_flight: None,
            quiet: (now, 0),
            last: None,
            processed: 0,
            stall_stops: 0,
            previous_cmd: None,
            suddenness: (0.0, 0),
        }
    }

    /// Latest odometry, handed to the pilot with the next frame.
    pub fn on_odometry(&mut self, odom: Odometry) {
        self.pipeline.on_odometry(odom);
    }

    /// Whether the brain can take a frame (no command is waiting for its compute time).
    pub fn is_free(&self) -> bool {
        self.in_flight.is_none()
    }

    /// Does what is due at `clock.now()`: sends a command whose compute time has passed;
    /// when free, takes the newest frame from `take` (the newest frame and its arrival) and
    /// runs the pipeline on it; when free with no frame, and none has arrived for the stall
    /// timeout (`last_arrival`, else since the start), sends a stop. Commands go to `publish`.
    pub fn step<F: Borrow<Frame>>(
        &mut self,
        clock: &dyn Clock,
        last_arrival: Option<f64>,
        take: impl FnOnce() -> Option<(F, f64)>,
        publish: &mut dyn FnMut(Output),
    ) {
        let now = clock.now();
        self.deliver(now, publish);
        if !self.is_free() {
            return;
        }
        if let Some((frame, received)) = take() {
            self.process(frame.borrow(), received, now);
            // On a wall clock the pipeline's time has passed by now.
            self.deliver(clock.now(), publish);
            return;
        }
        let base = last_arrival.unwrap_or(self.started);
        if base != self.quiet.0 {
            self.quiet = (base, 0);
        }
        if now + TOLERANCE >= self.stall_deadline() {
            self.stall(now, publish);
        }
    }

    /// When [`Brain::step`] next has something to do if no frame comes: a command's compute
    /// time ends, or the stall timeout passes.
    pub fn deadline(&self, last_arrival: Option<f64>) -> f64 {
        if let Some((at, _)) = self.in_flight {
            return at;
        }
        let base = last_arrival.unwrap_or(self.started);
        if base != self.quiet.0 {
            base + self.config.stall_timeout.as_secs_f64()
        } else {
            self.stall_deadline()
        }
    }

    fn stall_deadline(&self) -> f64 {
        let timeout = self.config.stall_timeout.as_secs_f64();
        self.quiet.0 + timeout + self.quiet.1 as f64 * timeout / 2.0
    }

    fn deliver(&mut self, now: f64, publish: &mut dyn FnMut(Output)) {
        if let Some((at, out)) = self.in_flight {
            if now + TOLERANCE >= at {
                self.in_flight = None;
                publish(out);
            }
        }
    }

    fn process(&mut self, frame: &Frame, received: f64, now: f64) {
        let step = self.pipeline.on_frame(frame);
        self.processed += 1;
        if let Some(prev) = self.previous_cmd {
            self.suddenness.0 += (step.cmd.v - prev.v).hypot(step.cmd.w - prev.w);
            self.suddenness.1 += 1;
        }
        self.previous_cmd = Some(step.cmd);
        self.last = Some(Answered {
            seq: frame.seq,
            stamp: frame.stamp,
            received,
        });
        let delay = match self.config.latency {
            Latency::None => 0.0,
            Latency::Fixed(s) => s,
            Latency::Measured => step.elapsed.as_secs_f64(),
            Latency::Scaled(k) => step.elapsed.as_secs_f64() * k,
        };
        let out = Output {
            cmd: step.cmd,
            reason: Reason::Frame,
            frame_seq: frame.seq,
            frame_stamp: frame.stamp,
            received,
            compute: step.elapsed,
        };
        self.in_flight = Some((now + delay, out));
    }

    /// A stop while the brain is switched off, answering `frame` (arrived at `received`) when
    /// one came, or sent as the switch turns off. The frame is not processed and the rate
    /// limits start again from standstill, as after a stall.
    pub fn hold(
        &mut self,
        frame: Option<(&Frame, f64)>,
        now: f64,
        publish: &mut dyn FnMut(Output),
    ) {
        self.in_flight = None;
        self.pipeline.on_stall();
        let (frame_seq, frame_stamp, received) = match frame {
            Some((f, received)) => (f.seq, f.stamp, received),
            None => (0, 0.0, now),
        };
        publish(Output {
            cmd: Command::STOP,
            reason: Reason::Disabled,
            frame_seq,
            frame_stamp,
            received,
            compute: Duration::ZERO,
        });
    }

    fn stall(&mut self, now: f64, publish: &mut dyn FnMut(Output)) {
        self.stall_stops += 1;
        self.quiet.1 += 1;
        self.pipeline.on_stall();
        if self.stall_stops == 1 || self.stall_stops.is_multiple_of(20) {
            tracing::warn!(
                timeout_ms = self.config.stall_timeout.as_millis() as u64,
                stops = self.stall_stops,
                "no camera frame within the stall timeout; commanding a stop"
            );
        }
        let last = self.last.unwrap_or(Answered {
            seq: 0,
            stamp: 0.0,
            received: now,
        });
        publish(Output {
            cmd: Command::STOP,
            reason: Reason::Stalled,
            frame_seq: last.seq,
            frame_stamp: last.stamp,
            received: last.received,
            compute: Duration::ZERO,
        });
    }

    /// The counters, with the frame mailbox's arrivals and drops.
    pub fn counters(&self, mailbox: MailboxCounts) -> BrainCounters {
        BrainCounters {
            frames_received: mailbox.received,
            frames_processed: self.processed,
            frames_dropped: mailbox.dropped,
            stall_stops: self.stall_stops,
            safety: self.pipeline.counters(),
        }
    }

    /// Counters and timings so far (percentiles cost a few microseconds).
    pub fn stats(&self, mailbox: MailboxCounts) -> BrainStats {
        let mut stats = BrainStats::new(
            self.counters(mailbox),
            &self.pipeline.timer().stats(),
            self.pipeline.stage_timings().as_ref(),
        );
        let (sum, n) = self.suddenness;
        stats.command_suddenness = (n > 0).then(|| sum / n as f64);
        stats
    }

    /// The pipeline.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The settings.
    pub fn config(&self) -> &BrainConfig {
        &self.config
    }

    /// Gives the pipeline back.
    pub fn into_pipeline(self) -> Pipeline {
        self.pipeline
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::clock::SimClock;
    use crate::base::control::CommandLimits;
    use crate::driving::mailbox::Mailbox;
    use crate::driving::pilot::{Pilot, PilotError};

    /// Answers v = 1 + seq / 1000, instantly.
    struct Echo;

    impl Pilot for Echo {
        fn name(&self) -> &str {
            "echo"
        }
        fn drive(&mut self, frame: &Frame, _: Option<&Odometry>) -> Result<Command, PilotError> {
            Ok(Command::new(1.0 + frame.seq as f64 * 1e-3, 0.0))
        }
    }

    fn frame(seq: u64, stamp: f64) -> Frame {
        let mut f = Frame::new_rgb8(8, 8);
        f.seq = seq;
        f.stamp = stamp;
        f
    }

    /// A brain on a simulated clock, a mailbox, and the commands sent (with the clock then).
    struct Rig {
        clock: SimClock,
        brain: Brain,
        mailbox: Mailbox<Frame>,
        sent: Vec<(f64, Output)>,
    }

    impl Rig {
        fn new(latency: Latency, stall_ms: u64) -> Rig {
            let pipeline = Pipeline::new(Box::new(Echo), CommandLimits::default());
            let config = BrainConfig {
                stall_timeout: Duration::from_millis(stall_ms),
                latency,
            };
            Rig {
                clock: SimClock::new(),
                brain: Brain::new(pipeline, config, 0.0),
                mailbox: Mailbox::new(),
                sent: Vec::new(),
            }
        }

        /// Runs time forward in 1 ms steps to `until`, a frame every `period` seconds.
        fn run(&mut self, until: f64, period: Option<f64>) {
            let mut seq = self.mailbox.received();
            let mut next = self.clock.now();
            let steps = ((until - self.clock.now()) / 1e-3).round() as u64;
            for _ in 0..steps {
                let t = self.clock.now();
                if let Some(p) = period {
                    if t + 1e-9 >= next {
                        seq += 1;
                        self.mailbox.put(frame(seq, t), t);
                        next += p;
                    }
                }
                let (mailbox, sent) = (&mut self.mailbox, &mut self.sent);
                self.brain.step(
                    &self.clock,
                    mailbox.last_arrival(),
                    || mailbox.take(),
                    &mut |o| sent.push((t, o)),
                );
                self.clock.advance(1e-3);
            }
        }
    }

    #[test]
    fn lockstep_answers_every_frame_at_once() {
        let mut r = Rig::new(Latency::None, 250);
        r.run(1.0, Some(0.05));
        let c = r.brain.counters(r.mailbox.counts());
        assert_eq!(
            (c.frames_received, c.frames_processed, c.frames_dropped),
            (20, 20, 0)
        );
        assert_eq!(c.stall_stops, 0);
        for (t, o) in &r.sent {
            assert_eq!(o.reason, Reason::Frame);
            assert!(
                (t - o.received).abs() < 1e-12,
                "sent at {t}, received {}",
                o.received
            );
        }
    }

    #[test]
    fn suddenness_is_the_mean_step_between_consecutive_commands() {
        // Echo answers frame n with v = 1 + n/1000, w = 0: every step is 1e-3.
        let mut r = Rig::new(Latency::None, 250);
        assert_eq!(r.brain.stats(r.mailbox.counts()).command_suddenness, None);
        r.run(1.0, Some(0.05));
        let s = r
            .brain
            .stats(r.mailbox.counts())
            .command_suddenness
            .unwrap();
        assert!((s - 1e-3).abs() < 1e-12, "suddenness {s}");
    }

    #[test]
    fn a_slow_brain_drops_stale_frames_and_answers_the_newest() {
        // 120 ms per frame, a frame every 50 ms: the brain takes frames at 0, 120, 240, ...
        // ms, each time the newest; the one waiting before it is dropped.
        let mut r = Rig::new(Latency::Fixed(0.12), 10_000);
        r.run(1.0, Some(0.05));
        let c = r.brain.counters(r.mailbox.counts());
        assert_eq!(c.frames_received, 20);
        // Taken at t = 0, 0.12, ..., 0.96: frames 1, 3, 5, 8, 10, 13, 15, 17, 20.
        assert_eq!(c.frames_processed, 9);
        assert_eq!(c.frames_dropped, 11);
        assert!(r.mailbox.is_empty());
        let sent: Vec<(f64, u64)> = r.sent.iter().map(|(t, o)| (*t, o.frame_seq)).collect();
        // Each command leaves 120 ms after its frame was taken; the last is still computing.
        let expected = [1, 3, 5, 8, 10, 13, 15, 17];
        assert_eq!(sent.len(), expected.len(), "{sent:?}");
        for (i, ((t, seq), want)) in sent.iter().zip(expected).enumerate() {
            assert!((t - 0.12 * (i + 1) as f64).abs() < 1e-9, "{sent:?}");
            assert_eq!(*seq, want, "{sent:?}");
        }
        assert!(r.sent.iter().all(|(_, o)| o.reason == Reason::Frame));
    }

    #[test]
    fn a_stalled_camera_gets_stops_every_half_timeout_until_frames_return() {
        let mut r = Rig::new(Latency::None, 100);
        r.run(0.5, Some(0.05));
        r.sent.clear();
        // The camera stops after the frame at 0.45 s.
        r.run(0.8, None);
        let stops: Vec<f64> = r.sent.iter().map(|(t, _)| *t).collect();
        // First stop 100 ms after the last frame, then every 50 ms.
        assert_eq!(stops.len(), 5, "{stops:?}");
        for (i, t) in stops.iter().enumerate() {
            let expected = 0.55 + 0.05 * i as f64;
            assert!((t - expected).abs() < 1e-9, "stop {i} at {t}");
        }
        assert!(r.sent.iter().all(|(_, o)| o.reason == Reason::Stalled
            && o.cmd == Command::STOP
            && o.frame_seq == 10));
        // Frames return: answered at once, no more stops.
        r.sent.clear();
        r.run(1.0, Some(0.05));
        assert!(r.sent.iter().all(|(_, o)| o.reason == Reason::Frame));
        assert_eq!(r.brain.counters(r.mailbox.counts()).stall_stops, 5);
    }

    #[test]
    fn no_frame_at_all_stalls_from_the_start() {
        let mut r = Rig::new(Latency::None, 100);
        r.run(0.2, None);
        let stops: Vec<f64> = r.sent.iter().map(|(t, _)| *t).collect();
        assert_eq!(stops.len(), 2, "{stops:?}"); // 0.10 and 0.15
        assert!((stops[0] - 0.1).abs() < 1e-9 && (stops[1] - 0.15).abs() < 1e-9);
        assert!((r.brain.deadline(None) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn latency_parses_and_validates() {
        assert_eq!("none".parse(), Ok(Latency::None));
        assert_eq!("measured".parse(), Ok(Latency::Measured));
        assert_eq!("25".parse(), Ok(Latency::Fixed(0.025)));
        assert_eq!("40ms".parse(), Ok(Latency::Fixed(0.04)));
        assert_eq!("measured*20".parse(), Ok(Latency::Scaled(20.0)));
        assert_eq!(Latency::Scaled(2.5).to_string(), "measured*2.5");
        assert!("measured*0"
            .parse::<Latency>()
            .unwrap_err()
            .contains("positive"));
        assert!("measured*x".parse::<Latency>().is_err());
        assert!("-3".parse::<Latency>().is_err());
        assert!("soon".parse::<Latency>().unwrap_err().contains("soon"));
        assert_eq!(Latency::Fixed(0.03).to_string(), "30ms");
        let slow = BrainConfig {
            latency: Latency::Fixed(6.0),
            ..BrainConfig::default()
        };
        assert_eq!(slow.validate().unwrap_err().name, "latency");
        let never = BrainConfig {
            stall_timeout: Duration::ZERO,
            ..BrainConfig::default()
        };
        assert_eq!(never.validate().unwrap_err().name, "stall_timeout_ms");
    }
}
