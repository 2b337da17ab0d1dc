//! The cells of an experiment — every model × circuit × direction × condition × repetition,
//! in one fixed order, each with its folder name — and the deterministic slice of them that
//! a shard (`--shard I/N`) runs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::spec::{CircuitSetup, Condition, Experiment, ModelSetup};

/// One run of the experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// Its position in the experiment's order (what shards split).
    pub index: usize,
    /// Index into the experiment's models.
    pub model: usize,
    /// Index into its circuits.
    pub circuit: usize,
    /// Against the circuit's own direction.
    pub reverse: bool,
    /// Index into its conditions.
    pub condition: usize,
    /// Repetition, from 0.
    pub repetition: u32,
}

/// What a cell runs, in full: a finished cell whose settings differ from these (the file
/// changed since) is run again rather than kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellSettings {
    /// The folder name.
    pub id: String,
    /// The model.
    pub model: ModelSetup,
    /// The circuit.
    pub circuit: CircuitSetup,
    /// Reversed.
    pub reverse: bool,
    /// The condition.
    pub condition: Condition,
    /// The repetition.
    pub repetition: u32,
    /// Laps.
    pub laps: u32,
    /// Seed of the picture's noise and texture.
    pub seed: u64,
    /// Look of built-in circuits and lap files.
    pub look: String,
}

impl Cell {
    /// `fwd` or `rev`.
    pub fn direction(&self) -> &'static str {
        direction_name(self.reverse)
    }

    /// The folder name: `model--circuit--dir--condition--rN`.
    pub fn id(&self, e: &Experiment) -> String {
        format!(
            "{}--{}--{}--{}--r{}",
            e.models[self.model].name,
            e.circuits[self.circuit].name,
            self.direction(),
            e.conditions[self.condition].name,
            self.repetition
        )
    }

    /// Everything the cell runs.
    pub fn settings(&self, e: &Experiment) -> CellSettings {
        CellSettings {
            id: self.id(e),
            model: e.models[self.model].clone(),
            circuit: e.circuits[self.circuit].clone(),
            reverse: self.reverse,
            condition: e.conditions[self.condition].clone(),
            repetition: self.repetition,
            laps: e.laps,
            seed: e.seed.wrapping_add(self.repetition as u64),
            look: e.look.clone(),
        }
    }
}

/// `fwd` or `rev`.
pub fn direction_name(reverse: bool) -> &'static str {
    if reverse {
        "rev"
    } else {
        "fwd"
    }
}

/// Every cell of `e`, in order: circuit, direction, condition, model, repetition.
pub fn cells(e: &Experiment) -> Vec<Cell> {
    let mut out = Vec::new();
    for circuit in 0..e.circuits.len() {
        for &reverse in &e.directions {
            for condition in 0..e.conditions.len() {
                for model in 0..e.models.len() {
                    for repetition in 0..e.repetitions {
                        out.push(Cell {
                            index: out.len(),
                            model,
                            circuit,
                            reverse,
                            condition,
                            repetition,
                        });
                    }
                }
            }
        }
    }
    out
}

/// Slice `index` (from 1) of `count`: the cells whose position modulo `count` is
/// `index - 1`, so every shard gets a share of every model, circuit and condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which slice, from 1.
    pub index: usize,
    /// Slices in all.
    pub count: usize,
}

impl Shard {
    /// The whole experiment.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Whether the cell at `position` is in this slice.
    pub fn contains(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;
    /// `I/N`, 1 ≤ I ≤ N ≤ 100000.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("'{s}' is not a shard I/N with 1 <= I <= N <= 100000 (e.g. 2/3)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count || count > 100_000 {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn experiment() -> Experiment {
        Experiment::parse(
            "name: t\nmodels: [expert, fp32]\ncircuits: [lakeside, highland]\n\
             repetitions: 2\nconditions: [{name: a}, {name: b, latency: 30}]\n",
            Path::new("t.yaml"),
        )
        .unwrap()
    }

    #[test]
    fn cells_cover_the_matrix_once_in_order() {
        let e = experiment();
        let all = cells(&e);
        assert_eq!(all.len(), 2 * 2 * 2 * 2 * 2);
        assert!(all.iter().enumerate().all(|(i, c)| c.index == i));
        let ids: std::collections::BTreeSet<_> = all.iter().map(|c| c.id(&e)).collect();
        assert_eq!(ids.len(), all.len());
        assert_eq!(all[0].id(&e), "expert--lakeside--fwd--a--r0");
        assert_eq!(all[1].id(&e), "expert--lakeside--fwd--a--r1");
        assert_eq!(all[31].id(&e), "fp32--highland--rev--b--r1");
        assert_eq!(all[1].settings(&e).seed, 1);
    }

    #[test]
    fn shards_partition_the_cells() {
        let n = cells(&experiment()).len();
        let shards: Vec<Shard> = ["1/3", "2/3", "3/3"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        for position in 0..n {
            assert_eq!(shards.iter().filter(|s| s.contains(position)).count(), 1);
        }
        assert!((0..n).all(|p| Shard::ALL.contains(p)));
        for bad in ["0/3", "4/3", "1", "a/b", "1/0", "1/1000000"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!("2/3".parse::<Shard>().unwrap().to_string(), "2/3");
    }
}
