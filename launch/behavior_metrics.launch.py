"""The brain against a Behavior Metrics Gazebo follow-line circuit (F1 car):
ros2 launch pilotnet_brain behavior_metrics.launch.py reference_lap:=/path/simple_circuit.csv

Gazebo and the circuit world are started by Behavior Metrics. The brain's default topics are
the F1 car's (/F1ROS/cameraL/image_raw, /F1ROS/odom, /F1ROS/cmd_vel); for another robot give
`params_file:=` with its topics, or remap. Sim time is on: lap times are Gazebo's.
`exit_on_end:=true` ends the launch once the lap's statistics are written."""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration


def generate_launch_description():
    share = get_package_share_directory("pilotnet_brain")
    return LaunchDescription([
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "brain.yaml")),
        DeclareLaunchArgument("model", default_value="fp32"),
        DeclareLaunchArgument("reference_lap", default_value=""),
        DeclareLaunchArgument("stats_dir", default_value="/tmp/pilotnet_brain_stats"),
        DeclareLaunchArgument("exit_on_end", default_value="false"),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(os.path.join(share, "launch", "brain.launch.py")),
            launch_arguments=[*[(name, LaunchConfiguration(name))
                                for name in ("params_file", "model", "reference_lap", "stats_dir",
                                             "exit_on_end")],
                              ("use_sim_time", "true")]),
    ])
