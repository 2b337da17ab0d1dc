//! Where the brain node's time goes: each camera frame's receipt time and exact header stamp
//! by sequence number, and the latency of the node's stages (decode/convert, receipt to the
//! brain, receipt to the command published, publishing) as histograms for the summary topic.

use std::collections::VecDeque;

use hdrhistogram::Histogram;
use r2r::builtin_interfaces::msg::Time;
use serde::Serialize;

/// The last few camera frames by sequence number: when the node received each (on the
/// brain's clock) and its header stamp (the core's f64 seconds hold it only to ~0.2 µs, a
/// stamped command carries it exactly).
#[derive(Default)]
pub struct FrameLog(VecDeque<(u64, f64, Time)>);

impl FrameLog {
    /// More than the frames that can wait for the brain (one) or be answered meanwhile.
    const KEPT: usize = 8;

    /// Frame `seq`, received at `at`, stamped `stamp`.
    pub fn push(&mut self, seq: u64, at: f64, stamp: Time) {
        if self.0.len() == Self::KEPT {
            self.0.pop_front();
        }
        self.0.push_back((seq, at, stamp));
    }

    /// When frame `seq` was received and its stamp.
    pub fn get(&self, seq: u64) -> Option<(f64, Time)> {
        self.0
            .iter()
            .find(|(s, ..)| *s == seq)
            .map(|(_, at, t)| (*at, t.clone()))
    }
}

/// One stage's latency, microsecond resolution.
struct Stage(Histogram<u64>);

impl Stage {
    fn new() -> Self {
        // Three significant digits: a constant valid for hdrhistogram.
        Stage(Histogram::new(3).expect("histogram"))
    }

    fn record(&mut self, seconds: f64) {
        let _ = self.0.record((seconds * 1e6).max(1.0) as u64);
    }

    fn ms(&self, quantile: f64) -> Option<f64> {
        (!self.0.is_empty()).then(|| self.0.value_at_quantile(quantile) as f64 / 1e3)
    }
}

/// The node's stages, each from the moment the node got the camera message.
pub struct Stages {
    decode: Stage,
    to_command: Stage,
    receipt_to_publish: Stage,
    publish: Stage,
}

/// The stages' medians and 99th percentiles, ms (null before the first frame): the summary
/// topic's `stage_*` keys.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StageFigures {
    /// Decoding or converting the message into a frame.
    pub decode_ms_p50: Option<f64>,
    /// 99th percentile of it.
    pub decode_ms_p99: Option<f64>,
    /// From the frame reaching the brain to its command published (waiting, preprocessing,
    /// inference, safety, publishing).
    pub latency_ms_p50: Option<f64>,
    /// 99th percentile of it.
    pub latency_ms_p99: Option<f64>,
    /// From the message reaching the node to its command published: every stage.
    pub receipt_to_publish_ms_p50: Option<f64>,
    /// 99th percentile of it.
    pub receipt_to_publish_ms_p99: Option<f64>,
    /// Publishing the command (rcl's publish call).
    pub publish_ms_p50: Option<f64>,
    /// 99th percentile of it.
    pub publish_ms_p99: Option<f64>,
}

impl Default for Stages {
    fn default() -> Self {
        Stages {
            decode: Stage::new(),
            to_command: Stage::new(),
            receipt_to_publish: Stage::new(),
            publish: Stage::new(),
        }
    }
}

impl Stages {
    /// A message decoded in `seconds`.
    pub fn decoded(&mut self, seconds: f64) {
        self.decode.record(seconds);
    }

    /// A command answering a frame, published between `start` and `end`: the frame reached
    /// the brain at `at_brain` and the node at `receipt` (when known).
    pub fn published(&mut self, receipt: Option<f64>, at_brain: f64, start: f64, end: f64) {
        self.publish.record(end - start);
        self.to_command.record(end - at_brain);
        if let Some(receipt) = receipt {
            self.receipt_to_publish.record(end - receipt);
        }
    }

    /// The figures as of now.
    pub fn figures(&self) -> StageFigures {
        StageFigures {
            decode_ms_p50: self.decode.ms(0.5),
            decode_ms_p99: self.decode.ms(0.99),
            latency_ms_p50: self.to_command.ms(0.5),
            latency_ms_p99: self.to_command.ms(0.99),
            receipt_to_publish_ms_p50: self.receipt_to_publish.ms(0.5),
            receipt_to_publish_ms_p99: self.receipt_to_publish.ms(0.99),
            publish_ms_p50: self.publish.ms(0.5),
            publish_ms_p99: self.publish.ms(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_the_last_frames_and_stages_report_milliseconds() {
        let mut log = FrameLog::default();
        for seq in 1..=10 {
            let stamp = Time {
                sec: seq as i32,
                nanosec: 7,
            };
            log.push(seq, seq as f64 / 10.0, stamp);
        }
        assert!(log.get(2).is_none(), "only the last eight are kept");
        let (at, stamp) = log.get(9).unwrap();
        assert_eq!((at, stamp.sec, stamp.nanosec), (0.9, 9, 7));

        let mut stages = Stages::default();
        assert_eq!(stages.figures().decode_ms_p50, None);
        stages.decoded(0.002);
        stages.published(Some(1.0), 1.002, 1.006, 1.0065);
        let f = stages.figures();
        let near = |v: Option<f64>, want: f64| (v.unwrap() - want).abs() < 0.01;
        assert!(near(f.decode_ms_p50, 2.0), "{f:?}");
        assert!(near(f.latency_ms_p50, 4.5), "{f:?}");
        assert!(near(f.receipt_to_publish_ms_p50, 6.5), "{f:?}");
        assert!(near(f.publish_ms_p50, 0.5), "{f:?}");
    }
}
