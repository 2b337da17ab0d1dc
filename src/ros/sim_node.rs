//! The embedded simulator as a ROS 2 node, a stand-in for Gazebo: it publishes the camera
//! (`sensor_msgs/Image`, sensor-data QoS), odometry and `/clock` of the simulated car and
//! drives it from `cmd_vel`, with Behavior Metrics' F1 topic names by default. Simulated time
//! runs at `real_time_factor` × wall time; the world is the one `pilotnet-brain sim` drives.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use r2r::geometry_msgs::msg::Twist;
use r2r::nav_msgs::msg::Odometry as OdometryMsg;
use r2r::rosgraph_msgs::msg::Clock;
use r2r::sensor_msgs::msg::Image;
use r2r::{QosProfile, RosParams};

use super::params::{positive, ParamError};
use super::{convert, NodeError};
use crate::circuit::{Circuit, RoadGeometry};
use crate::control::Command;
use crate::sim::camera::CameraConfig;
use crate::sim::render::{Appearance, Renderer};
use crate::sim::vehicle::Vehicle;

/// Topic names of the simulator node.
#[derive(RosParams, Debug, Clone)]
pub struct SimTopics {
    /// Camera images out.
    pub camera: String,
    /// Odometry out.
    pub odometry: String,
    /// Velocity commands in.
    pub cmd_vel: String,
}

/// Parameters of the simulator node.
#[derive(RosParams, Debug, Clone)]
pub struct SimNodeParams {
    /// Built-in circuit name or CSV path.
    pub circuit: String,
    /// Drive it the other way round.
    pub reverse: bool,
    /// Camera rate, Hz.
    pub camera_hz: f64,
    /// Odometry rate, Hz.
    pub odometry_hz: f64,
    /// Simulated seconds per wall second.
    pub real_time_factor: f64,
    /// Publish /clock.
    pub publish_clock: bool,
    /// Topic names.
    pub topics: SimTopics,
}

impl Default for SimNodeParams {
    fn default() -> Self {
        SimNodeParams {
            circuit: "lakeside".into(),
            reverse: false,
            camera_hz: 20.0,
            odometry_hz: 20.0,
            real_time_factor: 1.0,
            publish_clock: true,
            topics: SimTopics {
                camera: "/F1ROS/cameraL/image_raw".into(),
                odometry: "/F1ROS/odom".into(),
                cmd_vel: "/F1ROS/cmd_vel".into(),
            },
        }
    }
}

/// Runs the simulator node until SIGINT/SIGTERM.
pub fn run() -> Result<(), NodeError> {
    let (mut node, p, handler) = super::node_with_params::<SimNodeParams>("sim")?;
    let camera_hz = positive("camera_hz", p.camera_hz)?;
    let odometry_hz = positive("odometry_hz", p.odometry_hz)?;
    let rtf = positive("real_time_factor", p.real_time_factor)?;
    let circuit = Circuit::load(&p.circuit, RoadGeometry::default(), p.reverse).map_err(|e| {
        ParamError::Invalid {
            name: "circuit",
            what: e.to_string(),
        }
    })?;

    let camera_pub = node.create_publisher::<Image>(&p.topics.camera, QosProfile::sensor_data())?;
    let odom_pub = node
        .create_publisher::<OdometryMsg>(&p.topics.odometry, QosProfile::default().keep_last(10))?;
    let clock_pub = node.create_publisher::<Clock>("/clock", QosProfile::default().keep_last(1))?;
    let commands =
        node.subscribe::<Twist>(&p.topics.cmd_vel, QosProfile::default().keep_last(1))?;

    let command = Arc::new(Mutex::new(Command::STOP));
    let running = Arc::new(AtomicBool::new(true));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    tracing::info!(circuit = %circuit.name, camera = %p.topics.camera, "simulator node running");

    runtime.block_on(async move {
        tokio::spawn(handler);
        let c = command.clone();
        tokio::spawn(async move {
            let mut commands = commands;
            while let Some(msg) = commands.next().await {
                let cmd = convert::command(&msg);
                // A NaN command stops the car, as the pipeline's limiter would.
                *c.lock().expect("command") = if cmd.v.is_finite() && cmd.w.is_finite() {
                    cmd
                } else {
                    Command::STOP
                };
            }
        });
        let spin = super::spin(node, running.clone(), Duration::from_millis(2));
        let flag = running.clone();
        let world = tokio::task::spawn_blocking(move || {
            let renderer = Renderer::new(
                &circuit,
                CameraConfig {
                    rate_hz: camera_hz,
                    ..CameraConfig::default()
                },
            );
            let mut frame = renderer.new_frame();
            let appearance = Appearance::default();
            let mut car = Vehicle::new(circuit.start_pose());
            let dt = 0.001;
            let (frame_period, odom_period) = (1.0 / camera_hz, 1.0 / odometry_hz);
            let (mut next_frame, mut next_odom, mut next_clock) = (0.0, 0.0, 0.0);
            let (mut step, mut seq) = (0u64, 0u64);
            let start = Instant::now();
            while flag.load(Ordering::Relaxed) {
                let t = step as f64 * dt;
                if t + 1e-9 >= next_clock && p.publish_clock {
                    let _ = clock_pub.publish(&Clock {
                        clock: convert::stamp(t),
                    });
                    next_clock += 0.01;
                }
                if t + 1e-9 >= next_odom {
                    let odom = car.odometry(t);
                    let _ =
                        odom_pub.publish(&convert::msg_from_odometry(&odom, "odom", "base_link"));
                    next_odom += odom_period;
                }
                if t + 1e-9 >= next_frame {
                    seq += 1;
                    frame.stamp = t;
                    frame.seq = seq;
                    renderer.render(&car.pose, &appearance, seq, &mut frame);
                    let _ = camera_pub.publish(&convert::image_from_frame(&frame, "camera"));
                    next_frame += frame_period;
                }
                car.cmd = *command.lock().expect("command");
                car.step(dt);
                step += 1;
                // Pace simulated time to the wall clock.
                let due = Duration::from_secs_f64(step as f64 * dt / rtf);
                let now = start.elapsed();
                if due > now {
                    std::thread::sleep(due - now);
                }
            }
        });
        super::wait_for_shutdown().await;
        running.store(false, Ordering::Relaxed);
        let _ = world.await;
        let _ = spin.await;
    });
    Ok(())
}
