"""The embedded simulator as a ROS node plus the brain, over ROS 2 topics:
ros2 launch pilotnet_brain sim.launch.py [circuit:=lakeside] [model:=fp32] [stats_dir:=...]
    [real_time_factor:=2.0] [exit_on_end:=true]

`real_time_factor` overrides config/sim.yaml's only when given; with `exit_on_end:=true` both
nodes end once the lap's statistics are written."""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def sim(context):
    share = get_package_share_directory("pilotnet_brain")
    overrides = {"circuit": LaunchConfiguration("circuit").perform(context)}
    rtf = LaunchConfiguration("real_time_factor").perform(context)
    if rtf:
        overrides["real_time_factor"] = float(rtf)
    return [Node(package="pilotnet_brain", executable="pilotnet-brain", name="sim", arguments=["sim-node"],
                 parameters=[os.path.join(share, "config", "sim.yaml"), overrides], output="screen")]


def generate_launch_description():
    share = get_package_share_directory("pilotnet_brain")
    circuit = LaunchConfiguration("circuit")
    return LaunchDescription([
        DeclareLaunchArgument("circuit", default_value="lakeside"),
        DeclareLaunchArgument("model", default_value="fp32"),
        DeclareLaunchArgument("stats_dir", default_value="/tmp/pilotnet_brain_stats"),
        DeclareLaunchArgument("exit_on_end", default_value="false"),
        DeclareLaunchArgument("real_time_factor", default_value=""),
        OpaqueFunction(function=sim),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(os.path.join(share, "launch", "brain.launch.py")),
            launch_arguments={"model": LaunchConfiguration("model"), "reference_lap": circuit,
                              "stats_dir": LaunchConfiguration("stats_dir"),
                              "exit_on_end": LaunchConfiguration("exit_on_end"),
                              "use_sim_time": "true"}.items()),
    ])
