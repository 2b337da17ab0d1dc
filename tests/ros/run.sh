#!/usr/bin/env bash
# ROS 2 tests: builds the package as ROS users do, with colcon, against ROS 2 Jazzy (the PyPI
# wheels of scripts/setup-ros.sh here; a sourced /opt/ros/jazzy works the same), runs the ROS
# adapter's unit tests (parameters: the params files hold the defaults, bad values are named),
# then tests/ros/test_ros.py, whose rclpy nodes are the independent peers and which runs
# `ros2 launch` on the installed launch files, inside a private network namespace with only
# loopback, so no DDS traffic leaves this machine, and a private mount namespace, so the small
# file system a test fills up is its own. The binary is built with the `testing`
# feature, whose test pilot lets a test slow the brain down.
#
# The colcon workspace is target/ros-ws; its package build folder is target/ itself, so colcon's
# cargo build and the release build share their output (one build, not two).
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
    ws="$root/target/ros-ws"
    mkdir -p "$ws/build"
    ln -sfn "$root/target" "$ws/build/pilotnet_brain"
    # colcon's cargo support prints the package's whole cargo metadata: kept in a log.
    if ! (cd "$ws" && colcon build --base-paths "$root" --build-base build --install-base install \
        --cargo-args --release --locked --features ros2,testing) >"$ws/colcon-build.log" 2>&1; then
        tail -n 40 "$ws/colcon-build.log" >&2
        echo "colcon build failed; its log: $ws/colcon-build.log" >&2
        exit 1
    fi
    echo "colcon build: installed into $ws/install"
    cargo test --release --locked --features ros2,testing --lib ros::
    exec unshare -n -m bash -c 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && exec "$0" --in-netns' "$0"
fi
# shellcheck disable=SC1091
if [[ -f .venv-ros/env.sh && "${AMENT_PREFIX_PATH:-}" == *venv-ros* ]]; then source .venv-ros/env.sh; fi
# The installed package, as `ros2 launch` finds it.
# (colcon's setup script reads unset variables.)
set +u
# shellcheck disable=SC1091
source "$root/target/ros-ws/install/setup.sh"
set -u
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_DOMAIN_ID=42 RUST_LOG=${RUST_LOG:-info}
# Camera-sized messages over shared memory (Fast DDS's default segment is too small for them).
export FASTRTPS_DEFAULT_PROFILES_FILE="$root/tests/ros/fastdds.xml"
exec python3 "${ROS_SCRIPT:-tests/ros/test_ros.py}"
