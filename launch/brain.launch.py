"""The brain node with its parameters: ros2 launch pilotnet_brain brain.launch.py [params_file:=...]"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description():
    share = get_package_share_directory("pilotnet_brain")
    return LaunchDescription([
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "brain.yaml")),
        DeclareLaunchArgument("use_sim_time", default_value="false"),
        Node(
            package="pilotnet_brain",
            executable="pilotnet-brain",
            name="brain",
            arguments=["node"],
            parameters=[LaunchConfiguration("params_file"),
                        {"use_sim_time": LaunchConfiguration("use_sim_time")}],
            output="screen",
        ),
    ])
