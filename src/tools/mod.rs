//! Tools built on the layers below: the offline model benchmark (size, timing, dataset MSE)
//! and labelled datasets (reading them, and recording them in the simulator with the expert).

pub mod bench;
pub mod dataset;
