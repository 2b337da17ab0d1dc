"""The brain node with its parameters:
ros2 launch pilotnet_brain brain.launch.py [params_file:=...] [use_sim_time:=true]
    [model:=static_int8] [reference_lap:=/path/lap.csv] [stats_dir:=/tmp/stats]

`model`, `reference_lap` and `stats_dir` override the params file only when given. The other
launch files include this one, so the brain is declared once."""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

OVERRIDES = ("model", "reference_lap", "stats_dir")


def brain(context):
    overrides = {"use_sim_time": LaunchConfiguration("use_sim_time").perform(context).lower() == "true"}
    for name in OVERRIDES:
        value = LaunchConfiguration(name).perform(context)
        if value:
            overrides[name] = value
    return [Node(package="pilotnet_brain", executable="pilotnet-brain", name="brain", arguments=["node"],
                 parameters=[LaunchConfiguration("params_file"), overrides], output="screen")]


def generate_launch_description():
    share = get_package_share_directory("pilotnet_brain")
    return LaunchDescription([
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "brain.yaml")),
        DeclareLaunchArgument("use_sim_time", default_value="false"),
        *[DeclareLaunchArgument(name, default_value="") for name in OVERRIDES],
        OpaqueFunction(function=brain),
    ])
