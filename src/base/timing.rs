//! Wall-clock timing of pilot steps, in an HDR histogram.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Records step durations with 3 significant digits from 1 µs to 60 s.
#[derive(Debug, Clone)]
pub struct StepTimer {
    hist: Histogram<u64>,
    total: Duration,
}

/// Summary of the recorded steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TimingStats {
    /// Steps recorded.
    pub count: u64,
    /// Mean step time, milliseconds.
    pub mean_ms: f64,
    /// Median, milliseconds.
    pub p50_ms: f64,
    /// 90th percentile, milliseconds.
    pub p90_ms: f64,
    /// 99th percentile, milliseconds.
    pub p99_ms: f64,
    /// Longest step, milliseconds.
    pub max_ms: f64,
    /// 1 / mean step time, Hz (0 when nothing was recorded).
    pub frequency_hz: f64,
}

impl Default for StepTimer {
    fn default() -> Self {
        Self::new()
    }
}

impl StepTimer {
    /// An empty timer.
    pub fn new() -> Self {
        Self {
            // Bounds are constants known to be valid for hdrhistogram (low ≥ 1, high ≥ 2·low).
            hist: Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds"),
            total: Duration::ZERO,
        }
    }

    /// Records one step.
    pub fn record(&mut self, d: Duration) {
        let ns = (d.as_nanos() as u64).clamp(1, self.hist.high());
        self.hist.saturating_record(ns);
        self.total += d;
    }

    /// Steps recorded.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// The summary.
    pub fn stats(&self) -> TimingStats {
        let n = self.hist.len();
        let ms = |ns: u64| ns as f64 / 1e6;
        if n == 0 {
            return TimingStats {
                count: 0,
                mean_ms: 0.0,
                p50_ms: 0.0,
                p90_ms: 0.0,
                p99_ms: 0.0,
                max_ms: 0.0,
                frequency_hz: 0.0,
            };
        }
        let mean_s = self.total.as_secs_f64() / n as f64;
        TimingStats {
            count: n,
            mean_ms: mean_s * 1e3,
            p50_ms: ms(self.hist.value_at_quantile(0.5)),
            p90_ms: ms(self.hist.value_at_quantile(0.9)),
            p99_ms: ms(self.hist.value_at_quantile(0.99)),
            max_ms: ms(self.hist.max()),
            frequency_hz: if mean_s > 0.0 { 1.0 / mean_s } else { 0.0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_frequency() {
        let mut t = StepTimer::new();
        for i in 1..=100u64 {
            t.record(Duration::from_micros(i * 100));
        }
        let s = t.stats();
        assert_eq!(s.count, 100);
        assert!((s.p50_ms - 5.0).abs() < 0.01, "{}", s.p50_ms);
        assert!((s.p99_ms - 9.9).abs() < 0.01, "{}", s.p99_ms);
        assert!((s.max_ms - 10.0).abs() < 0.01);
        assert!((s.mean_ms - 5.05).abs() < 1e-9);
        assert!((s.frequency_hz - 1000.0 / 5.05).abs() < 1e-6);
    }

    #[test]
    fn empty_timer_reports_zeros() {
        assert_eq!(StepTimer::new().stats().frequency_hz, 0.0);
    }
}
