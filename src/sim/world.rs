//! The simulated world: the car on a circuit, its camera and odometry, stepped in simulated
//! time — the one schedule of physics, camera and odometry in the project.
//!
//! Each step, at time `t = step × physics_dt`, the world says which sensors are due (odometry
//! at its rate, a camera capture at the camera's), hands them to its [`Driver`], applies the
//! command the driver returns, and integrates the car over one physics step. A capture is only
//! a pose and a stamp; the driver renders it ([`SimCamera::render`]) when it wants the
//! picture, so frames nobody looks at cost nothing. The simulated run (the brain), the
//! simulator node (ROS topics) and dataset recording (the expert) are drivers of this world.

use std::ops::ControlFlow;

use crate::base::camera::CameraConfig;
use crate::base::control::Command;
use crate::base::geometry::Pose2;
use crate::base::sensor::{Frame, Odometry};
use crate::base::settings::{within, InvalidSetting};
use crate::sim::raster::Raster;
use crate::sim::render::{Appearance, Renderer};
use crate::sim::track::{Scenery, Spawn, Track};
use crate::sim::vehicle::Vehicle;

/// Slack in the schedules, seconds: simulated time is a sum of steps, and its rounding must
/// not move a sensor sample by a whole step.
const TOLERANCE: f64 = 1e-9;

/// Settings of the world.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorldConfig {
    /// Physics step, seconds.
    pub physics_dt: f64,
    /// Odometry rate, Hz.
    pub odometry_hz: f64,
    /// The camera (its rate included).
    pub camera: CameraConfig,
    /// Picture variation.
    pub appearance: Appearance,
    /// Where the car starts.
    pub spawn: Spawn,
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig {
            physics_dt: 0.001,
            odometry_hz: 20.0,
            camera: CameraConfig::default(),
            appearance: Appearance::default(),
            spawn: Spawn::default(),
        }
    }
}

impl WorldConfig {
    /// Checks every setting; the error names the one that is wrong.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        within("physics_dt", self.physics_dt, 1e-4, 0.02)?;
        within("odometry_hz", self.odometry_hz, 0.1, 1000.0)?;
        self.camera.validate()?;
        self.appearance.validate()?;
        self.spawn.validate()
    }
}

/// A camera frame the world took: when, which, and from where. [`SimCamera::render`] draws it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capture {
    /// Simulated time it was taken, seconds.
    pub stamp: f64,
    /// Sequence number, from 1.
    pub seq: u64,
    /// The car's pose then.
    pub pose: Pose2,
}

/// How the camera draws: the classic renderer, or the scene renderer.
enum View {
    Classic(Box<Renderer>),
    Scene(Box<Raster>),
}

/// The world's camera: renders captures.
pub struct SimCamera {
    view: View,
    appearance: Appearance,
}

impl SimCamera {
    /// A frame buffer of the camera's size and encoding.
    pub fn new_frame(&self) -> Frame {
        match &self.view {
            View::Classic(r) => r.new_frame(),
            View::Scene(r) => r.new_frame(),
        }
    }

    /// Draws `capture` into `frame` (its stamp and sequence number included).
    pub fn render(&self, capture: &Capture, frame: &mut Frame) {
        match &self.view {
            View::Classic(r) => r.render(&capture.pose, &self.appearance, capture.seq, frame),
            View::Scene(r) => r.render(&capture.pose, &self.appearance, capture.seq, frame),
        }
        frame.stamp = capture.stamp;
        frame.seq = capture.seq;
    }
}

/// What is due at one step of the world.
pub struct Sensors<'a> {
    /// Simulated time, seconds.
    pub t: f64,
    /// An odometry sample, when one is due.
    pub odometry: Option<Odometry>,
    /// A camera capture, when one is due.
    pub capture: Option<Capture>,
    /// The camera, to render captures with.
    pub camera: &'a SimCamera,
}

/// Whoever drives the simulated car: given what is due at each step, returns the command to
/// apply from this step on (`None`: keep the one in effect), or why the run ends.
pub trait Driver {
    /// Why a run ends.
    type Stop;

    /// One step of the world.
    fn step(&mut self, sensors: Sensors<'_>) -> ControlFlow<Self::Stop, Option<Command>>;
}

/// The car, its camera and odometry on a circuit.
pub struct World {
    camera: SimCamera,
    car: Vehicle,
    dt: f64,
    frame_period: f64,
    odometry_period: f64,
    step: u64,
    next_frame: f64,
    next_odometry: f64,
    seq: u64,
}

impl World {
    /// The car where `config` spawns it on `track`, standing still.
    pub fn new(track: &Track, config: &WorldConfig) -> Result<World, InvalidSetting> {
        config.validate()?;
        let view = match &track.scenery {
            Scenery::Classic => {
                View::Classic(Box::new(Renderer::new(&track.circuit, config.camera)))
            }
            Scenery::Scene(scene) => {
                View::Scene(Box::new(Raster::new(scene.clone(), config.camera)))
            }
        };
        Ok(World {
            camera: SimCamera {
                view,
                appearance: config.appearance,
            },
            car: Vehicle::new(track.start_pose(&config.spawn)),
            dt: config.physics_dt,
            frame_period: 1.0 / config.camera.rate_hz,
            odometry_period: 1.0 / config.odometry_hz,
            step: 0,
            next_frame: 0.0,
            next_odometry: 0.0,
            seq: 0,
        })
    }

    /// Simulated time, seconds.
    pub fn time(&self) -> f64 {
        self.step as f64 * self.dt
    }

    /// The car.
    pub fn car(&self) -> &Vehicle {
        &self.car
    }

    /// The camera.
    pub fn camera(&self) -> &SimCamera {
        &self.camera
    }

    /// One physics step: the due sensors to `driver`, its command to the car, the car moved.
    pub fn step<D: Driver>(&mut self, driver: &mut D) -> ControlFlow<D::Stop> {
        let t = self.time();
        let odometry = (t + TOLERANCE >= self.next_odometry).then(|| {
            self.next_odometry += self.odometry_period;
            self.car.odometry(t)
        });
        let capture = (t + TOLERANCE >= self.next_frame).then(|| {
            self.next_frame += self.frame_period;
            self.seq += 1;
            Capture {
                stamp: t,
                seq: self.seq,
                pose: self.car.pose,
            }
        });
        let sensors = Sensors {
            t,
            odometry,
            capture,
            camera: &self.camera,
        };
        if let Some(cmd) = driver.step(sensors)? {
            self.car.cmd = cmd;
        }
        self.car.step(self.dt);
        self.step += 1;
        ControlFlow::Continue(())
    }

    /// Steps until `driver` ends the run; returns why.
    pub fn run<D: Driver>(&mut self, driver: &mut D) -> D::Stop {
        loop {
            if let ControlFlow::Break(stop) = self.step(driver) {
                return stop;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::circuit::{Circuit, RoadGeometry};

    /// Counts what the world delivers and drives at 2 m/s.
    #[derive(Default)]
    struct Counter {
        odometry: Vec<f64>,
        captures: Vec<(f64, u64)>,
    }

    impl Driver for Counter {
        type Stop = f64;
        fn step(&mut self, s: Sensors<'_>) -> ControlFlow<f64, Option<Command>> {
            if s.t >= 1.0 {
                return ControlFlow::Break(s.t);
            }
            if let Some(o) = s.odometry {
                self.odometry.push(o.stamp);
            }
            if let Some(c) = s.capture {
                self.captures.push((c.stamp, c.seq));
            }
            ControlFlow::Continue(Some(Command::new(2.0, 0.0)))
        }
    }

    #[test]
    fn sensors_come_at_their_rates_and_the_car_moves_under_the_command() {
        let track = Track::from(Circuit::load("lakeside", RoadGeometry::default(), false).unwrap());
        let config = WorldConfig {
            odometry_hz: 50.0,
            ..WorldConfig::default()
        };
        let mut world = World::new(&track, &config).unwrap();
        let start = world.car().pose.p;
        let mut counter = Counter::default();
        let end = world.run(&mut counter);
        assert!((end - 1.0).abs() < 1e-9);
        assert_eq!(counter.odometry.len(), 50);
        assert_eq!(counter.captures.len(), 20);
        assert_eq!(counter.captures[19].1, 20);
        assert!((counter.captures[19].0 - 0.95).abs() < 1e-9);
        // One second at 2 m/s along the start straight.
        assert!((world.car().pose.p.dist(start) - 2.0).abs() < 1e-6);
    }

    #[test]
    fn bad_settings_name_the_setting() {
        let track = Track::from(Circuit::load("lakeside", RoadGeometry::default(), false).unwrap());
        let bad = WorldConfig {
            physics_dt: 0.5,
            ..WorldConfig::default()
        };
        let e = World::new(&track, &bad).err().unwrap();
        assert_eq!(e.name, "physics_dt");
    }
}
