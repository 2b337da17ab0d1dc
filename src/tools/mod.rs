//! Tools built on the layers below: the offline model benchmark (size, timing, dataset MSE),
//! labelled datasets (reading them, and recording them in the simulator with the expert),
//! pilots' answers to pictures, real camera images compared with the simulator's pictures,
//! and experiments (sweeps of models × circuits × conditions, with tables and figures).

pub mod bench;
pub mod compare;
pub mod dataset;
pub mod experiment;
pub mod predict;
