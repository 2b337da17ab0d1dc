"""Bags of a drive, written by libraries independent of the Rust reader: rosbag2 bags with
`rosbags` (SQLite3 or MCAP storage) or `mcap` with `mcap-ros2-support` (MCAP), and ROS 1 bags
with `rosbags` (Noetic's message types, on Behavior Metrics' topics `/F1ROS/odom`, `/clock`,
`/F1ROS/cmd_vel`). The tests score them with `pilotnet-brain metrics` and compare against what
is known of the drive.

    python -m pilotnet_factory.bags --trajectory OUT/trajectory.csv --out lap.bag --writer rosbags-sqlite3
    python -m pilotnet_factory.bags --circle 20.5 --seconds 3600 --hz 50 --out hour --writer mcap
    python -m pilotnet_factory.bags --trajectory OUT/trajectory.csv --out lap.bag --writer rosbags-ros1

The drive is either a `trajectory.csv` as `pilotnet-brain sim --out` writes it (t, x, y, yaw,
v, w) or a circle of the given radius about the origin, driven counter-clockwise at `--speed`
from angle 0. Written on `/odom` (nav_msgs/msg/Odometry, header stamp = the drive's time), with
`/clock` (rosgraph_msgs/msg/Clock) at each odometry message and `/cmd_vel`
(geometry_msgs/msg/Twist: the drive's v and w) unless `--no-clock` / `--no-cmd`. The recorder's
receive time is 1.7e9 s plus the drive's time divided by `--rtf` (a real-time factor).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

import numpy as np

BASE_NS = 1_700_000_000 * 10**9


def trajectory_rows(path: Path) -> np.ndarray:
    """t, x, y, yaw, v, w of a trajectory.csv."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return np.array([[float(r[k]) for k in ("t", "x", "y", "yaw", "v", "w")] for r in rows])


def circle_rows(radius: float, seconds: float, hz: float, speed: float) -> np.ndarray:
    t = np.arange(0.0, seconds + 1e-9, 1.0 / hz)
    a = speed * t / radius
    return np.stack([t, radius * np.cos(a), radius * np.sin(a), a + math.pi / 2,
                     np.full_like(t, speed), np.full_like(t, speed / radius)], axis=1)


def stamp(t: float) -> dict:
    sec = math.floor(t)
    return {"sec": int(sec), "nanosec": int(round((t - sec) * 1e9)) % 1_000_000_000}


def messages(rows: np.ndarray, rtf: float, clock: bool, cmd: bool):
    """(topic, receive time ns, fields) in time order."""
    for t, x, y, yaw, v, w in rows:
        ns = BASE_NS + int(round(t / rtf * 1e9))
        if clock:
            yield "/clock", ns, {"clock": stamp(t)}
        yield "/odom", ns, {
            "header": {"stamp": stamp(t), "frame_id": "odom"},
            "child_frame_id": "base_link",
            "pose": {"pose": {"position": {"x": x, "y": y, "z": 0.0},
                              "orientation": {"x": 0.0, "y": 0.0, "z": math.sin(yaw / 2), "w": math.cos(yaw / 2)}},
                     "covariance": [0.0] * 36},
            "twist": {"twist": {"linear": {"x": v, "y": 0.0, "z": 0.0}, "angular": {"x": 0.0, "y": 0.0, "z": w}},
                      "covariance": [0.0] * 36},
        }
        if cmd:
            yield "/cmd_vel", ns, {"linear": {"x": v, "y": 0.0, "z": 0.0}, "angular": {"x": 0.0, "y": 0.0, "z": w}}


TYPES = {"/odom": "nav_msgs/msg/Odometry", "/clock": "rosgraph_msgs/msg/Clock", "/cmd_vel": "geometry_msgs/msg/Twist"}

# Behavior Metrics' topics on ROS Noetic (its F1 car's namespace).
ROS1_TOPICS = {"/odom": "/F1ROS/odom", "/clock": "/clock", "/cmd_vel": "/F1ROS/cmd_vel"}


def write_rosbags(out: Path, rows: np.ndarray, storage: str, rtf: float, clock: bool, cmd: bool) -> None:
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS2_JAZZY)
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    builders = {
        "/clock": lambda f: ts.types["rosgraph_msgs/msg/Clock"](clock=ts.types["builtin_interfaces/msg/Time"](**f["clock"])),
        "/cmd_vel": lambda f: twist(ts, f),
        "/odom": lambda f: odometry(ts, f),
    }
    with Writer(out, version=9, storage_plugin=plugin) as writer:
        conns = {}
        for topic, ns, fields in messages(rows, rtf, clock, cmd):
            if topic not in conns:
                conns[topic] = writer.add_connection(topic, TYPES[topic], typestore=ts)
            msg = builders[topic](fields)
            writer.write(conns[topic], ns, ts.serialize_cdr(msg, TYPES[topic]))


def twist(ts, f):
    V = ts.types["geometry_msgs/msg/Vector3"]
    return ts.types["geometry_msgs/msg/Twist"](linear=V(**f["linear"]), angular=V(**f["angular"]))


def odometry(ts, f):
    T = ts.types
    pose = f["pose"]["pose"]
    return T["nav_msgs/msg/Odometry"](
        header=T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](**f["header"]["stamp"]),
                                       frame_id=f["header"]["frame_id"]),
        child_frame_id=f["child_frame_id"],
        pose=T["geometry_msgs/msg/PoseWithCovariance"](
            pose=T["geometry_msgs/msg/Pose"](position=T["geometry_msgs/msg/Point"](**pose["position"]),
                                            orientation=T["geometry_msgs/msg/Quaternion"](**pose["orientation"])),
            covariance=np.zeros(36)),
        twist=T["geometry_msgs/msg/TwistWithCovariance"](twist=twist(ts, f["twist"]["twist"]), covariance=np.zeros(36)),
    )


def write_ros1(out: Path, rows: np.ndarray, rtf: float, clock: bool, cmd: bool) -> None:
    """A ROS 1 bag (format 2.0) as `rosbag record` writes it, with Noetic's message types:
    headers carry a `seq`, times are unsigned."""
    from rosbags.rosbag1 import Writer
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS1_NOETIC)
    T = ts.types
    seq = iter(range(1, 1 << 31))

    def header(f):
        return T["std_msgs/msg/Header"](seq=next(seq), stamp=T["builtin_interfaces/msg/Time"](**f["stamp"]),
                                        frame_id=f["frame_id"])

    def odometry1(f):
        pose = f["pose"]["pose"]
        return T["nav_msgs/msg/Odometry"](
            header=header(f["header"]),
            child_frame_id=f["child_frame_id"],
            pose=T["geometry_msgs/msg/PoseWithCovariance"](
                pose=T["geometry_msgs/msg/Pose"](position=T["geometry_msgs/msg/Point"](**pose["position"]),
                                                orientation=T["geometry_msgs/msg/Quaternion"](**pose["orientation"])),
                covariance=np.zeros(36)),
            twist=T["geometry_msgs/msg/TwistWithCovariance"](twist=twist(ts, f["twist"]["twist"]),
                                                            covariance=np.zeros(36)),
        )

    builders = {
        "/clock": lambda f: T["rosgraph_msgs/msg/Clock"](clock=T["builtin_interfaces/msg/Time"](**f["clock"])),
        "/cmd_vel": lambda f: twist(ts, f),
        "/odom": odometry1,
    }
    with Writer(out) as writer:
        conns = {}
        for topic, ns, fields in messages(rows, rtf, clock, cmd):
            if topic not in conns:
                conns[topic] = writer.add_connection(ROS1_TOPICS[topic], TYPES[topic], typestore=ts)
            writer.write(conns[topic], ns, ts.serialize_ros1(builders[topic](fields), TYPES[topic]))


def write_mcap(out: Path, rows: np.ndarray, rtf: float, clock: bool, cmd: bool) -> None:
    from mcap_ros2.writer import Writer
    from rosbags.typesys import Stores, get_typestore

    # Message definitions as ROS 2 ships them (rosbags' copy of the .msg files).
    ts = get_typestore(Stores.ROS2_JAZZY)
    with out.open("wb") as f:
        writer = Writer(f)
        schemas = {}
        for topic, ns, fields in messages(rows, rtf, clock, cmd):
            if topic not in schemas:
                text, _ = ts.generate_msgdef(TYPES[topic], ros_version=2)
                schemas[topic] = writer.register_msgdef(TYPES[topic], text)
            writer.write_message(topic, schemas[topic], fields, log_time=ns, publish_time=ns)
        writer.finish()


def write(writer: str, out: Path, rows: np.ndarray, rtf: float, clock: bool, cmd: bool) -> None:
    if writer == "mcap":
        write_mcap(out, rows, rtf, clock, cmd)
    elif writer == "rosbags-ros1":
        write_ros1(out, rows, rtf, clock, cmd)
    else:
        write_rosbags(out, rows, writer.removeprefix("rosbags-"), rtf, clock, cmd)


WRITERS = ["rosbags-sqlite3", "rosbags-mcap", "mcap", "rosbags-ros1"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--trajectory", type=Path, help="trajectory.csv of a run")
    src.add_argument("--circle", type=float, help="radius of a circle to drive, metres")
    src.add_argument("--batch", type=Path, help="a JSON list of {trajectory, writer, out}: "
                     "many bags in one process")
    ap.add_argument("--seconds", type=float, default=60.0, help="with --circle: duration")
    ap.add_argument("--hz", type=float, default=50.0, help="with --circle: odometry rate")
    ap.add_argument("--speed", type=float, default=5.0, help="with --circle: speed, m/s")
    ap.add_argument("--out", type=Path, help="bag folder (rosbags), .mcap file (mcap) or .bag file (ROS 1)")
    ap.add_argument("--writer", choices=WRITERS)
    ap.add_argument("--rtf", type=float, default=1.0, help="real-time factor of the receive times")
    ap.add_argument("--no-clock", action="store_true")
    ap.add_argument("--no-cmd", action="store_true")
    args = ap.parse_args(argv)
    clock, cmd = not args.no_clock, not args.no_cmd
    if args.batch:
        for job in json.loads(args.batch.read_text()):
            if job["writer"] not in WRITERS:
                print(f"bags: {args.batch}: unknown writer {job['writer']!r}", file=sys.stderr)
                return 2
            write(job["writer"], Path(job["out"]), trajectory_rows(Path(job["trajectory"])),
                  args.rtf, clock, cmd)
        return 0
    if args.out is None or args.writer is None:
        ap.error("--out and --writer are needed with --trajectory or --circle")
    rows = (trajectory_rows(args.trajectory) if args.trajectory
            else circle_rows(args.circle, args.seconds, args.hz, args.speed))
    write(args.writer, args.out, rows, args.rtf, clock, cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
