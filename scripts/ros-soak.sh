#!/usr/bin/env bash
# The brain node's ROS soak: MINUTES (default 10) of 30 Hz camera frames and odometry from an
# rclpy peer, the node's memory and the peer's frame-to-command latency per minute
# (tests/ros/soak.py), built and run as tests/ros/run.sh runs the ROS tests (ROS_SOAK_LAPS=0: no
# reference lap, so no lap record). The minutes go to
# CSV (default target/ros-soak.csv).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export ROS_SOAK_MINUTES="${1:-10}"
if [[ ! "$ROS_SOAK_MINUTES" =~ ^[1-9][0-9]*$ ]]; then
    echo "ros-soak.sh: MINUTES must be a whole number of minutes above 0, not '$ROS_SOAK_MINUTES'" >&2
    exit 2
fi
export ROS_SOAK_CSV="$(realpath -m "${2:-$root/target/ros-soak.csv}")"
export ROS_SCRIPT=tests/ros/soak.py
exec bash "$root/tests/ros/run.sh"
