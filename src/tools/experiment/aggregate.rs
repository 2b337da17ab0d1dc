//! The experiment's tables: for each circuit, direction, condition and model, the mean and
//! standard deviation over repetitions of the study's columns, as Markdown (a table per
//! circuit) and as one CSV.

use std::fmt::Write;

use crate::evaluation::record::RunRecord;

use super::matrix::direction_name;
use super::store::{CellResult, Index};

/// One column of the tables.
pub struct Metric {
    /// CSV column stem.
    pub key: &'static str,
    /// Markdown header.
    pub header: &'static str,
    /// Decimals shown.
    pub digits: usize,
    /// The value of a run (`None` where the run has none, e.g. no lap time).
    pub value: fn(&RunRecord) -> Option<f64>,
}

/// The columns, in the study's order: how far and how fast it drove, how close to the
/// line, how fast the brain was.
pub const METRICS: &[Metric] = &[
    Metric {
        key: "completed_pct",
        header: "completed %",
        digits: 1,
        value: |r| Some(r.laps.percentage_completed),
    },
    Metric {
        key: "laps_completed",
        header: "laps",
        digits: 2,
        value: |r| Some(r.laps.laps_completed as f64),
    },
    Metric {
        key: "lap_s",
        header: "lap s",
        digits: 2,
        value: |r| r.laps.lap_seconds,
    },
    Metric {
        key: "average_speed_mps",
        header: "avg speed m/s",
        digits: 2,
        value: |r| Some(r.laps.average_speed_mps),
    },
    Metric {
        key: "deviation_m",
        header: "deviation m",
        digits: 3,
        value: |r| Some(r.laps.position_deviation_mae_m),
    },
    Metric {
        key: "deviation_bm",
        header: "BM deviation",
        digits: 3,
        value: |r| r.laps.bm.position_deviation_bm,
    },
    Metric {
        key: "brain_hz",
        header: "brain Hz",
        digits: 0,
        value: |r| r.brain.map(|b| b.brain_iteration_frequency_hz),
    },
    Metric {
        key: "commands_hz",
        header: "commands Hz (sim)",
        digits: 1,
        value: |r| {
            let b = r.brain?;
            (r.laps.sim_seconds > 0.0)
                .then(|| b.counters.frames_processed as f64 / r.laps.sim_seconds)
        },
    },
    Metric {
        key: "inference_ms",
        header: "inference ms",
        digits: 3,
        value: |r| r.brain.and_then(|b| b.inference_ms_mean),
    },
    Metric {
        key: "real_time_factor",
        header: "RTF",
        digits: 1,
        value: |r| r.real_time_factor,
    },
];

/// Mean and sample standard deviation of the runs that have a value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    /// Runs with a value.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Their sample standard deviation (`None` below two runs).
    pub std: Option<f64>,
}

impl Stat {
    /// Over `values` (`None` when empty).
    pub fn of(values: &[f64]) -> Option<Stat> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let std = (n > 1).then(|| {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        });
        Some(Stat { n, mean, std })
    }
}

/// One line of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Circuit name.
    pub circuit: String,
    /// `fwd` or `rev`.
    pub direction: &'static str,
    /// Condition name.
    pub condition: String,
    /// Model name.
    pub model: String,
    /// Runs.
    pub runs: usize,
    /// One per [`METRICS`] column.
    pub values: Vec<Option<Stat>>,
}

/// The rows of `results` in the experiment's order: circuit, direction, condition, model.
pub fn rows(index: &Index, results: &[CellResult]) -> Vec<Row> {
    let e = &index.experiment;
    let mut out = Vec::new();
    for circuit in &e.circuits {
        for &reverse in &e.directions {
            for condition in &e.conditions {
                for model in &e.models {
                    let runs: Vec<&RunRecord> = results
                        .iter()
                        .filter(|r| {
                            r.settings.circuit.name == circuit.name
                                && r.settings.reverse == reverse
                                && r.settings.condition.name == condition.name
                                && r.settings.model.name == model.name
                        })
                        .map(|r| &r.record)
                        .collect();
                    if runs.is_empty() {
                        continue;
                    }
                    let values = METRICS
                        .iter()
                        .map(|m| {
                            Stat::of(&runs.iter().filter_map(|r| (m.value)(r)).collect::<Vec<_>>())
                        })
                        .collect();
                    out.push(Row {
                        circuit: circuit.name.clone(),
                        direction: direction_name(reverse),
                        condition: condition.name.clone(),
                        model: model.name.clone(),
                        runs: runs.len(),
                        values,
                    });
                }
            }
        }
    }
    out
}

/// `mean ± std` (`mean` alone for one run, `–` for none) with `digits` decimals, the
/// plus-minus written as `pm`.
pub fn format_stat(stat: &Option<Stat>, digits: usize, pm: &str) -> String {
    match stat {
        None => "–".into(),
        Some(Stat {
            mean, std: None, ..
        }) => format!("{mean:.digits$}"),
        Some(Stat {
            mean, std: Some(s), ..
        }) => format!("{mean:.digits$}{pm}{s:.digits$}"),
    }
}

fn cell(stat: &Option<Stat>, digits: usize) -> String {
    format_stat(stat, digits, " ± ")
}

/// A Markdown table per circuit.
pub fn markdown(index: &Index, rows: &[Row]) -> String {
    let e = &index.experiment;
    let mut out = String::new();
    for circuit in &e.circuits {
        let mine: Vec<&Row> = rows.iter().filter(|r| r.circuit == circuit.name).collect();
        if mine.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### {}\n", circuit.name);
        out.push_str("| model | dir | condition | runs |");
        for m in METRICS {
            let _ = write!(out, " {} |", m.header);
        }
        out.push_str("\n|---|---|---|---:|");
        for _ in METRICS {
            out.push_str("---:|");
        }
        out.push('\n');
        for r in mine {
            let _ = write!(
                out,
                "| {} | {} | {} | {} |",
                r.model, r.direction, r.condition, r.runs
            );
            for (m, v) in METRICS.iter().zip(&r.values) {
                let _ = write!(out, " {} |", cell(v, m.digits));
            }
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// One CSV of every row: `circuit,direction,condition,model,runs`, then `<key>_mean`,
/// `<key>_std` and `<key>_n` per column (empty where there is no value).
pub fn csv(rows: &[Row]) -> String {
    let mut out = String::from("circuit,direction,condition,model,runs");
    for m in METRICS {
        let _ = write!(out, ",{0}_mean,{0}_std,{0}_n", m.key);
    }
    out.push('\n');
    for r in rows {
        let _ = write!(
            out,
            "{},{},{},{},{}",
            r.circuit, r.direction, r.condition, r.model, r.runs
        );
        for v in &r.values {
            match v {
                Some(s) => {
                    let std = s.std.map(|x| x.to_string()).unwrap_or_default();
                    let _ = write!(out, ",{},{std},{}", s.mean, s.n);
                }
                None => out.push_str(",,,0"),
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_deviation() {
        let s = Stat::of(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!((s.n, s.mean), (3, 2.0));
        assert!((s.std.unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(Stat::of(&[4.0]).unwrap().std, None);
        assert_eq!(Stat::of(&[]), None);
        assert_eq!(cell(&Stat::of(&[1.0, 2.0, 3.0]), 2), "2.00 ± 1.00");
        assert_eq!(cell(&Stat::of(&[4.0]), 1), "4.0");
        assert_eq!(cell(&None, 1), "–");
    }
}
