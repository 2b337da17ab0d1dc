"""The embedded simulator as a ROS node plus the brain, over ROS 2 topics:
ros2 launch pilotnet_brain sim.launch.py [circuit:=lakeside] [model:=fp32] [stats_dir:=...]"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description():
    share = get_package_share_directory("pilotnet_brain")
    circuit = LaunchConfiguration("circuit")
    return LaunchDescription([
        DeclareLaunchArgument("circuit", default_value="lakeside"),
        DeclareLaunchArgument("model", default_value="fp32"),
        DeclareLaunchArgument("stats_dir", default_value="/tmp/pilotnet_brain_stats"),
        Node(package="pilotnet_brain", executable="pilotnet-brain", name="sim", arguments=["sim-node"],
             parameters=[os.path.join(share, "config", "sim.yaml"), {"circuit": circuit}],
             output="screen"),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(os.path.join(share, "launch", "brain.launch.py")),
            launch_arguments={"model": LaunchConfiguration("model"), "reference_lap": circuit,
                              "stats_dir": LaunchConfiguration("stats_dir"),
                              "use_sim_time": "true"}.items()),
    ])
