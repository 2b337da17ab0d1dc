"""The brain against a Behavior Metrics Gazebo follow-line circuit (F1 car):
ros2 launch pilotnet_brain behavior_metrics.launch.py reference_lap:=/path/simple_circuit.csv

Gazebo and the circuit world are started by Behavior Metrics; this launches the brain with the
F1 car's topics remapped onto its own (edit the remaps for another robot) and sim time on."""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description():
    share = get_package_share_directory("pilotnet_brain")
    return LaunchDescription([
        DeclareLaunchArgument("model", default_value="fp32"),
        DeclareLaunchArgument("reference_lap", default_value=""),
        DeclareLaunchArgument("stats_dir", default_value="/tmp/pilotnet_brain_stats"),
        Node(package="pilotnet_brain", executable="pilotnet-brain", name="brain", arguments=["node"],
             parameters=[os.path.join(share, "config", "brain.yaml"),
                         {"model": LaunchConfiguration("model"),
                          "reference_lap": LaunchConfiguration("reference_lap"),
                          "stats_dir": LaunchConfiguration("stats_dir"),
                          "use_sim_time": True,
                          "topics.camera": "camera/image_raw",
                          "topics.odometry": "odom",
                          "topics.cmd_vel": "cmd_vel"}],
             remappings=[("camera/image_raw", "/F1ROS/cameraL/image_raw"),
                         ("odom", "/F1ROS/odom"),
                         ("cmd_vel", "/F1ROS/cmd_vel")],
             output="screen"),
    ])
