"""The brain node with its parameters:
ros2 launch pilotnet_brain brain.launch.py [params_file:=...] [use_sim_time:=true]
    [model:=static_int8] [reference_lap:=/path/lap.csv] [stats_dir:=/tmp/stats]
    [exit_on_end:=true]

`model`, `reference_lap` and `stats_dir` override the params file only when given. With
`exit_on_end:=true` the brain ends once its run record is written (lap completed, stuck, off
the road) and the whole launch shuts down with it, as a scripted run needs. The other launch
files include this one, so the brain is declared once."""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

OVERRIDES = ("model", "reference_lap", "stats_dir")


def flag(context, name):
    return LaunchConfiguration(name).perform(context).lower() == "true"


def brain(context):
    overrides = {"use_sim_time": flag(context, "use_sim_time")}
    for name in OVERRIDES:
        value = LaunchConfiguration(name).perform(context)
        if value:
            overrides[name] = value
    ending = {}
    if flag(context, "exit_on_end"):
        overrides["exit_on_end"] = True
        ending["on_exit"] = [Shutdown(reason="the brain's run ended")]
    return [Node(package="pilotnet_brain", executable="pilotnet-brain", name="brain", arguments=["node"],
                 parameters=[LaunchConfiguration("params_file"), overrides], output="screen", **ending)]


def generate_launch_description():
    share = get_package_share_directory("pilotnet_brain")
    return LaunchDescription([
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "brain.yaml")),
        DeclareLaunchArgument("use_sim_time", default_value="false"),
        DeclareLaunchArgument("exit_on_end", default_value="false"),
        *[DeclareLaunchArgument(name, default_value="") for name in OVERRIDES],
        OpaqueFunction(function=brain),
    ])
