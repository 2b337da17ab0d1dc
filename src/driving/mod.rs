//! Driving: pilots (camera frame → command), the pipeline that times them and makes their
//! commands safe, and the brain that serves a pipeline from a camera — latest frame wins, a
//! stall watchdog — on a wall clock (a robot) or a simulated one (the embedded simulator) — and its health.

pub mod brain;
pub mod health;
pub mod mailbox;
pub mod pilot;
pub mod pipeline;
pub mod realtime;
