//! The brain's health, judged once a period from its counters: camera rate against the rate
//! expected, time since the last frame (a stall), inference time against a budget, frames
//! dropped or malformed, non-finite outputs. Levels follow ROS's `diagnostic_msgs`
//! (OK / WARN / ERROR); the ROS node publishes the report on `/diagnostics`, but nothing here
//! knows ROS.

use std::time::Duration;

use crate::base::settings::{within, InvalidSetting};
use crate::driving::brain::BrainStats;

/// How bad things are, ordered: the report's level is its worst finding's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Everything as expected.
    Ok,
    /// Working, but outside what was asked for (a slow camera, slow inference).
    Warn,
    /// Not driving from the camera (it stalled).
    Error,
}

impl Level {
    /// `diagnostic_msgs/DiagnosticStatus`'s byte for the level.
    pub fn as_byte(self) -> u8 {
        match self {
            Level::Ok => 0,
            Level::Warn => 1,
            Level::Error => 2,
        }
    }
}

/// What the brain is expected to do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthConfig {
    /// The camera's nominal rate, Hz; 0: the rate is reported, not judged.
    pub expected_camera_hz: f64,
    /// WARN when the camera runs below this fraction of the expected rate.
    pub min_rate_fraction: f64,
    /// No frame for this long is a stall (ERROR): the brain's stall timeout.
    pub stall_timeout: Duration,
    /// WARN when the inference's 99th percentile exceeds this, ms; 0: not judged.
    pub inference_budget_ms: f64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            // Behavior Metrics' F1 camera runs at 20 Hz (its model.sdf's update_rate).
            expected_camera_hz: 20.0,
            min_rate_fraction: 0.75,
            stall_timeout: Duration::from_millis(250),
            inference_budget_ms: 50.0,
        }
    }
}

impl HealthConfig {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        within("expected_camera_hz", self.expected_camera_hz, 0.0, 10_000.0)?;
        within("min_rate_fraction", self.min_rate_fraction, 0.0, 1.0)?;
        within(
            "inference_budget_ms",
            self.inference_budget_ms,
            0.0,
            60_000.0,
        )?;
        Ok(())
    }
}

/// What the node knows at the moment of a report, besides the brain's statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// Now, on the clock the brain stamps arrivals with, seconds.
    pub now: f64,
    /// When the last frame reached the brain, same clock; `None` before the first.
    pub last_frame_at: Option<f64>,
    /// Camera messages dropped because they could not be decoded.
    pub malformed_frames: u64,
    /// Whether the brain is driving (its enable switch).
    pub enabled: bool,
}

/// One report: the level, a one-line message (every finding, worst first) and the figures
/// behind it as key/value pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The worst finding's level.
    pub level: Level,
    /// The findings, `; `-separated, or "driving" when there are none.
    pub message: String,
    /// Named figures, as `diagnostic_msgs/KeyValue` carries them.
    pub values: Vec<(String, String)>,
}

/// Judges the brain's health from one report to the next: rates are over the time between
/// two reports.
#[derive(Debug, Clone)]
pub struct HealthMonitor {
    config: HealthConfig,
    started: f64,
    previous: Option<(f64, u64, u64)>,
}

impl HealthMonitor {
    /// A monitor whose run starts at `now`.
    pub fn new(config: HealthConfig, now: f64) -> Self {
        HealthMonitor {
            config,
            started: now,
            previous: None,
        }
    }

    /// The report for `stats` and `seen`; the next report's rates start here.
    pub fn report(&mut self, stats: &BrainStats, seen: &Observation) -> Report {
        let c = &self.config;
        let counters = &stats.counters;
        let (since, frames_before, non_finite_before) =
            self.previous.unwrap_or((self.started, 0, 0));
        let window = (seen.now - since).max(1e-9);
        let camera_hz = counters.frames_received.saturating_sub(frames_before) as f64 / window;
        let new_non_finite = counters
            .safety
            .non_finite_commands
            .saturating_sub(non_finite_before);
        self.previous = Some((
            seen.now,
            counters.frames_received,
            counters.safety.non_finite_commands,
        ));
        let quiet = seen.now - seen.last_frame_at.unwrap_or(self.started);

        let mut findings: Vec<(Level, String)> = Vec::new();
        if !seen.enabled {
            findings.push((Level::Ok, "disabled: sending zero commands".into()));
        }
        if quiet > c.stall_timeout.as_secs_f64() {
            let what = if seen.last_frame_at.is_some() {
                format!("camera stalled: no frame for {quiet:.1} s")
            } else {
                format!("no camera frame yet ({quiet:.1} s)")
            };
            findings.push((Level::Error, what));
        } else if c.expected_camera_hz > 0.0
            && camera_hz < c.min_rate_fraction * c.expected_camera_hz
        {
            findings.push((
                Level::Warn,
                format!(
                    "camera at {camera_hz:.1} Hz, expected {:.1} Hz",
                    c.expected_camera_hz
                ),
            ));
        }
        if let Some(p99) = stats.inference_ms_p99 {
            if c.inference_budget_ms > 0.0 && p99 > c.inference_budget_ms {
                findings.push((
                    Level::Warn,
                    format!(
                        "inference p99 {p99:.1} ms over its {:.1} ms budget",
                        c.inference_budget_ms
                    ),
                ));
            }
        }
        if new_non_finite > 0 {
            findings.push((
                Level::Warn,
                format!("{new_non_finite} non-finite network outputs replaced by stops"),
            ));
        }
        findings.sort_by_key(|f| std::cmp::Reverse(f.0));
        let level = findings.first().map_or(Level::Ok, |f| f.0);
        let message = if findings.is_empty() {
            "driving".to_string()
        } else {
            findings
                .iter()
                .map(|f| f.1.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        };
        let ms = |v: Option<f64>| v.map_or_else(|| "none".to_string(), |v| format!("{v:.3}"));
        let values = vec![
            ("camera rate (Hz)", format!("{camera_hz:.2}")),
            (
                "expected camera rate (Hz)",
                format!("{:.2}", c.expected_camera_hz),
            ),
            ("time since last frame (s)", format!("{quiet:.3}")),
            (
                "stalled",
                (quiet > c.stall_timeout.as_secs_f64()).to_string(),
            ),
            ("inference p99 (ms)", ms(stats.inference_ms_p99)),
            (
                "inference budget (ms)",
                format!("{:.3}", c.inference_budget_ms),
            ),
            ("frames received", counters.frames_received.to_string()),
            ("frames processed", counters.frames_processed.to_string()),
            ("frames dropped", counters.frames_dropped.to_string()),
            ("malformed frames", seen.malformed_frames.to_string()),
            ("stall stops", counters.stall_stops.to_string()),
            (
                "non-finite outputs",
                counters.safety.non_finite_commands.to_string(),
            ),
            ("pilot errors", counters.safety.pilot_errors.to_string()),
            ("enabled", seen.enabled.to_string()),
        ];
        Report {
            level,
            message,
            values: values
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::timing::StepTimer;
    use crate::driving::brain::BrainCounters;

    fn stats(frames: u64, non_finite: u64, p99: Option<f64>) -> BrainStats {
        let mut counters = BrainCounters {
            frames_received: frames,
            frames_processed: frames,
            ..BrainCounters::default()
        };
        counters.safety.non_finite_commands = non_finite;
        let mut s = BrainStats::new(counters, &StepTimer::new().stats(), None);
        s.inference_ms_p99 = p99;
        s
    }

    fn seen(now: f64, last: Option<f64>) -> Observation {
        Observation {
            now,
            last_frame_at: last,
            malformed_frames: 0,
            enabled: true,
        }
    }

    fn value<'a>(r: &'a Report, key: &str) -> &'a str {
        &r.values.iter().find(|(k, _)| k == key).unwrap().1
    }

    #[test]
    fn the_expected_rate_is_ok_a_halved_one_warns_a_stall_errs_and_recovery_clears_it() {
        let mut m = HealthMonitor::new(HealthConfig::default(), 0.0);
        let r = m.report(&stats(20, 0, Some(3.0)), &seen(1.0, Some(0.99)));
        assert_eq!((r.level, r.message.as_str()), (Level::Ok, "driving"));
        assert_eq!(value(&r, "camera rate (Hz)"), "20.00");
        let r = m.report(&stats(30, 0, Some(3.0)), &seen(2.0, Some(1.95)));
        assert_eq!(r.level, Level::Warn, "{r:?}");
        assert_eq!(r.message, "camera at 10.0 Hz, expected 20.0 Hz");
        let r = m.report(&stats(30, 0, Some(3.0)), &seen(3.0, Some(1.95)));
        assert_eq!(r.level, Level::Error, "{r:?}");
        assert_eq!(r.message, "camera stalled: no frame for 1.1 s");
        assert_eq!(value(&r, "stalled"), "true");
        let r = m.report(&stats(50, 0, Some(3.0)), &seen(4.0, Some(3.98)));
        assert_eq!(r.level, Level::Ok, "{r:?}");
    }

    #[test]
    fn no_frame_at_all_is_an_error_once_the_stall_timeout_passes() {
        let mut m = HealthMonitor::new(HealthConfig::default(), 10.0);
        let r = m.report(&stats(0, 0, None), &seen(11.0, None));
        assert_eq!(
            (r.level, r.message.as_str()),
            (Level::Error, "no camera frame yet (1.0 s)")
        );
        assert_eq!(value(&r, "inference p99 (ms)"), "none");
    }

    #[test]
    fn slow_inference_and_new_non_finite_outputs_warn_worst_first() {
        let mut m = HealthMonitor::new(HealthConfig::default(), 0.0);
        let r = m.report(&stats(20, 2, Some(80.0)), &seen(1.0, Some(0.99)));
        assert_eq!(r.level, Level::Warn);
        assert_eq!(
            r.message,
            "inference p99 80.0 ms over its 50.0 ms budget; \
             2 non-finite network outputs replaced by stops"
        );
        // The same two outputs are not news a second later.
        let r = m.report(&stats(40, 2, Some(3.0)), &seen(2.0, Some(1.99)));
        assert_eq!(r.level, Level::Ok, "{r:?}");
        assert_eq!(value(&r, "non-finite outputs"), "2");
    }

    #[test]
    fn an_unjudged_rate_and_budget_and_a_disabled_brain_are_ok() {
        let config = HealthConfig {
            expected_camera_hz: 0.0,
            inference_budget_ms: 0.0,
            ..HealthConfig::default()
        };
        let mut m = HealthMonitor::new(config, 0.0);
        let mut s = seen(1.0, Some(0.99));
        s.enabled = false;
        let r = m.report(&stats(2, 0, Some(900.0)), &s);
        assert_eq!(r.level, Level::Ok);
        assert_eq!(r.message, "disabled: sending zero commands");
        assert_eq!(Level::Error.as_byte(), 2);
    }

    #[test]
    fn out_of_range_settings_are_named() {
        let bad = HealthConfig {
            min_rate_fraction: 1.5,
            ..HealthConfig::default()
        };
        assert_eq!(bad.validate().unwrap_err().name, "min_rate_fraction");
        assert!(HealthConfig::default().validate().is_ok());
    }
}
