//! The simulated car: a kinematic planar body driven the way Gazebo's planar-move plugin
//! drives Behavior Metrics' F1 car.
//!
//! The plugin sets the body's velocity to the last `cmd_vel` in its own frame — forward speed
//! `linear.x` and yaw rate `angular.z` — with no dynamics, so a command takes effect at once and
//! holds until the next. Each physics step integrates that motion exactly (an arc of a circle).

use crate::base::control::Command;
use crate::base::geometry::{wrap_angle, Pose2, Vec2};
use crate::base::sensor::Odometry;

/// The car's state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vehicle {
    /// Pose in the world frame.
    pub pose: Pose2,
    /// Command in effect.
    pub cmd: Command,
}

impl Vehicle {
    /// A car standing still at `pose`.
    pub fn new(pose: Pose2) -> Self {
        Self {
            pose,
            cmd: Command::STOP,
        }
    }

    /// Advances the car by `dt` seconds under the command in effect.
    pub fn step(&mut self, dt: f64) {
        let Command { v, w } = self.cmd;
        let yaw = self.pose.yaw;
        let dyaw = w * dt;
        let (dx, dy) = if dyaw.abs() < 1e-9 {
            (v * dt * yaw.cos(), v * dt * yaw.sin())
        } else {
            let r = v / w;
            (
                r * ((yaw + dyaw).sin() - yaw.sin()),
                -r * ((yaw + dyaw).cos() - yaw.cos()),
            )
        };
        self.pose.p = self.pose.p + Vec2::new(dx, dy);
        self.pose.yaw = wrap_angle(yaw + dyaw);
    }

    /// Odometry as the planar-move plugin publishes it: true pose and commanded twist.
    pub fn odometry(&self, stamp: f64) -> Odometry {
        Odometry {
            stamp,
            pose: self.pose,
            v: self.cmd.v,
            w: self.cmd.w,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    #[test]
    fn straight_line() {
        let mut car = Vehicle::new(Pose2::default());
        car.cmd = Command::new(2.0, 0.0);
        for _ in 0..1000 {
            car.step(0.001);
        }
        assert!((car.pose.p.x - 2.0).abs() < 1e-9 && car.pose.p.y.abs() < 1e-12);
    }

    #[test]
    fn full_circle_returns_home() {
        let mut car = Vehicle::new(Pose2::default());
        // Radius 5 m at 5 m/s: one turn takes 2π seconds.
        car.cmd = Command::new(5.0, 1.0);
        let steps = 6283;
        let dt = 2.0 * PI / steps as f64;
        let mut max_y: f64 = 0.0;
        for _ in 0..steps {
            car.step(dt);
            max_y = max_y.max(car.pose.p.y);
        }
        assert!(car.pose.p.norm() < 1e-6, "ended at {:?}", car.pose.p);
        assert!((max_y - 10.0).abs() < 1e-4);
    }
}
