//! Evaluation: circuits and the reference laps runs are measured against, the lap statistics
//! of Behavior Metrics, the run record (what ran, how it drove, how fast the brain was) that
//! every producer writes alike, its reports (table, JSON, trajectory, plot), and the steering
//! error by turn a dataset shows.

pub mod circuit;
pub mod laps;
pub mod live;
pub mod live_events;
pub mod record;
pub mod replay;
pub mod report;
pub mod steering;
