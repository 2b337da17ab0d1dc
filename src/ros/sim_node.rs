//! The embedded simulator as a ROS 2 node, a stand-in for Gazebo: the simulator's [`World`]
//! with ROS topics as its driver. It publishes the camera (`sensor_msgs/Image`, sensor-data
//! QoS), odometry and `/clock` of the simulated car and drives it from `cmd_vel`, with Behavior
//! Metrics' F1 topic names by default. Simulated time runs at `real_time_factor` × wall time;
//! the world is the one `pilotnet-brain sim` drives.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use r2r::geometry_msgs::msg::Twist;
use r2r::nav_msgs::msg::Odometry as OdometryMsg;
use r2r::rosgraph_msgs::msg::Clock;
use r2r::sensor_msgs::msg::Image;
use r2r::{Publisher, QosProfile};

use super::params::{ParamError, SimNodeParams};
use super::{convert, topics, NodeError};
use crate::base::camera::CameraConfig;
use crate::base::control::Command;
use crate::base::sensor::Frame;
use crate::sim::world::{Driver, Sensors, World};
use crate::sim::Track;

/// How often `/clock` is published, simulated seconds.
const CLOCK_PERIOD: f64 = 0.01;

/// The world's sensors out to ROS, `cmd_vel` in, simulated time paced to the wall clock.
struct Bridge {
    camera: Publisher<Image>,
    odometry: Publisher<OdometryMsg>,
    clock: Option<Publisher<Clock>>,
    command: Arc<Mutex<Command>>,
    running: Arc<AtomicBool>,
    frame: Frame,
    next_clock: f64,
    start: Instant,
    real_time_factor: f64,
}

impl Driver for Bridge {
    type Stop = ();

    fn step(&mut self, s: Sensors<'_>) -> ControlFlow<(), Option<Command>> {
        if !self.running.load(Ordering::Relaxed) {
            return ControlFlow::Break(());
        }
        // Pace simulated time to the wall clock.
        let due = Duration::from_secs_f64(s.t / self.real_time_factor);
        let now = self.start.elapsed();
        if due > now {
            std::thread::sleep(due - now);
        }
        if let Some(clock) = &self.clock {
            if s.t + 1e-9 >= self.next_clock {
                let _ = clock.publish(&Clock {
                    clock: convert::stamp(s.t),
                });
                self.next_clock += CLOCK_PERIOD;
            }
        }
        if let Some(odom) = s.odometry {
            let _ = self
                .odometry
                .publish(&convert::msg_from_odometry(&odom, "odom", "base_link"));
        }
        if let Some(capture) = s.capture {
            s.camera.render(&capture, &mut self.frame);
            let _ = self
                .camera
                .publish(&convert::image_from_frame(&self.frame, "camera"));
        }
        ControlFlow::Continue(Some(
            *self.command.lock().unwrap_or_else(|p| p.into_inner()),
        ))
    }
}

/// Runs the simulator node until SIGINT/SIGTERM.
pub fn run() -> Result<(), NodeError> {
    let (mut node, p, handler) = super::node_with_params::<SimNodeParams>("sim")?;
    let mut settings = p.validate()?;
    let track = if p.world.is_empty() {
        Track::open(&p.circuit, None, p.reverse, settings.look)
    } else {
        Track::world_in(Path::new(&p.world), p.reverse, settings.light)
    }
    .map_err(|e| ParamError::Invalid {
        name: if p.world.is_empty() {
            "circuit"
        } else {
            "world"
        }
        .into(),
        what: e.to_string(),
    })?;
    let circuit = &track.circuit;
    // A world's car brings its own camera; the node's `camera_hz` still sets the rate.
    settings.world.camera = CameraConfig {
        rate_hz: settings.world.camera.rate_hz,
        ..track.camera()
    };
    let mut world = World::new(&track, &settings.world).map_err(|e| ParamError::Invalid {
        name: e.name.into(),
        what: e.problem,
    })?;

    let camera = node.create_publisher::<Image>(&p.topics.camera, QosProfile::sensor_data())?;
    let odometry = node
        .create_publisher::<OdometryMsg>(&p.topics.odometry, QosProfile::default().keep_last(10))?;
    let clock = if p.publish_clock {
        Some(node.create_publisher::<Clock>(topics::CLOCK, QosProfile::default().keep_last(1))?)
    } else {
        None
    };
    let commands =
        node.subscribe::<Twist>(&p.topics.cmd_vel, QosProfile::default().keep_last(1))?;

    let command = Arc::new(Mutex::new(Command::STOP));
    let running = Arc::new(AtomicBool::new(true));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    tracing::info!(circuit = %circuit.name, camera = %p.topics.camera, "simulator node running");

    let mut bridge = Bridge {
        camera,
        odometry,
        clock,
        command: command.clone(),
        running: running.clone(),
        frame: world.camera().new_frame(),
        next_clock: 0.0,
        start: Instant::now(),
        real_time_factor: settings.real_time_factor,
    };
    runtime.block_on(async move {
        tokio::spawn(handler);
        tokio::spawn(async move {
            let mut commands = commands;
            while let Some(msg) = commands.next().await {
                let cmd = convert::command(&msg);
                // A NaN command stops the car, as the pipeline's limiter would.
                *command.lock().unwrap_or_else(|p| p.into_inner()) =
                    if cmd.is_finite() { cmd } else { Command::STOP };
            }
        });
        let spin = super::spin(node, running.clone(), Duration::from_millis(2));
        let stepping = tokio::task::spawn_blocking(move || {
            bridge.start = Instant::now();
            world.run(&mut bridge)
        });
        super::wait_for_shutdown().await;
        running.store(false, Ordering::Relaxed);
        let _ = stepping.await;
        let _ = spin.await;
    });
    Ok(())
}
