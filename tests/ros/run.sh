#!/usr/bin/env bash
# ROS 2 tests: builds the `ros2` feature against ROS 2 Jazzy (the PyPI wheels of
# scripts/setup-ros.sh here; a sourced /opt/ros/jazzy works the same), runs the ROS adapter's
# unit tests (parameters: the params files hold the defaults, bad values are named), then
# tests/ros/test_ros.py, whose rclpy nodes are the independent peers, inside a private network
# namespace with only loopback, so no DDS traffic leaves this machine. The binary is built with
# the `testing` feature, whose test pilot lets a test slow the brain down.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
if [[ "${1:-}" != "--in-netns" ]]; then
    bash scripts/setup-ort.sh
    if [[ -z "${ROS_DISTRO:-}" ]]; then
        bash scripts/setup-ros.sh
    fi
    # shellcheck disable=SC1091
    [[ -n "${ROS_DISTRO:-}" ]] || source .venv-ros/env.sh
    cargo build --release --locked --features ros2,testing
    cargo test --release --locked --features ros2,testing --lib ros::
    # The launch files need ROS's launch package, which has no wheel: they are only compiled.
    python3 -m py_compile launch/*.launch.py
    exec unshare -n bash -c 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && exec "$0" --in-netns' "$0"
fi
# shellcheck disable=SC1091
if [[ -f .venv-ros/env.sh && "${AMENT_PREFIX_PATH:-}" == *venv-ros* ]]; then source .venv-ros/env.sh; fi
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_DOMAIN_ID=42 RUST_LOG=${RUST_LOG:-info}
# Camera-sized messages over shared memory (Fast DDS's default segment is too small for them).
export FASTRTPS_DEFAULT_PROFILES_FILE="$root/tests/ros/fastdds.xml"
exec python3 tests/ros/test_ros.py
