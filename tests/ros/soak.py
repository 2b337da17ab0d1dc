"""ROS soak of the brain node: 30 Hz 640x480 rgb8 camera frames and odometry around Behavior
Metrics' SimpleCircuit for MINUTES minutes, the node recording laps and checkpointing its
statistics every second. Per minute: the node's resident memory (sampled every 5 s), the
frame-to-command latency the peer sees (p50/p99), commands per frame, the frames the node
dropped, and the checkpoint on disk. Run by scripts/ros-soak.sh (inside run.sh's private
network namespace); writes a CSV of the minutes to ROS_SOAK_CSV.

Exit status 1 when a minute answered fewer than 99 % of its frames, the node died, or the
checkpoint on disk stopped being a whole, growing record.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rclpy

from test_ros import BINARY, REFERENCE, Peer, Route, latencies, spin_for, stop, wait_connected


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def main() -> int:
    minutes = int(os.environ.get("ROS_SOAK_MINUTES", "10"))
    csv = Path(os.environ.get("ROS_SOAK_CSV", "target/ros-soak.csv"))
    rclpy.init()
    node = Peer("soak_peer")
    stats = Path(tempfile.mkdtemp()) / "stats"
    log_path = Path(tempfile.mkdtemp()) / "brain.log"
    route = Route(REFERENCE, 5.0)
    # ROS_SOAK_LAPS=0: no reference lap, so no lap record (what the node's memory does without).
    laps = os.environ.get("ROS_SOAK_LAPS", "1") != "0"
    lap_args = ["-p", f"reference_lap:={REFERENCE}", "-p", "laps:=1000", "-p", f"stats_dir:={stats}"] if laps else []
    with open(log_path, "w") as log:
        brain = subprocess.Popen(
            [str(BINARY), "node", "--ros-args", "-p", "model:=fp32", *lap_args, "-p", "summary_period_s:=1.0"],
            stdout=log, stderr=subprocess.STDOUT, text=True)
    rows = []
    failed = []
    try:
        wait_connected(node)
        began = time.monotonic()

        def frame() -> None:
            node.position = route.at(time.monotonic() - began)
            node.frame()

        spin_for(node, 2.0, 1 / 30, frame)
        rss0 = rss_mib(brain.pid)
        print(f"ROS soak: {minutes} min of 30 Hz 640x480 rgb8 frames; node RSS after 2 s {rss0:.1f} MiB",
              flush=True)
        print("minute  frames  commands  answered%  latency_p50_ms  latency_p99_ms  dropped  "
              "rss_min_MiB  rss_max_MiB  checkpoint_sim_s", flush=True)
        last_dropped = node.summaries[-1]["frames_dropped"] if node.summaries else 0
        last_sim = 0.0
        for minute in range(1, minutes + 1):
            node.twists.clear(); node.sent.clear()
            rss = []
            for _ in range(12):
                spin_for(node, 5.0, 1 / 30, frame)
                rss.append(rss_mib(brain.pid))
            spin_for(node, 0.2)
            lat = latencies(node)
            n, got = len(node.sent), len(node.twists)
            dropped = node.summaries[-1]["frames_dropped"]
            # Without a lap there is no record: its checks are skipped, its column left empty.
            checkpoint = json.loads((stats / "stats.json").read_text()) if laps else None
            row = {
                "minute": minute, "frames": n, "commands": got, "answered_pct": 100 * got / n,
                "latency_p50_ms": float(np.median(lat)), "latency_p99_ms": float(np.percentile(lat, 99)),
                "dropped": dropped - last_dropped, "rss_min_mib": min(rss), "rss_max_mib": max(rss),
                "checkpoint_sim_s": checkpoint["sim_seconds"] if checkpoint else "",
            }
            last_dropped = dropped
            rows.append(row)
            print(f"{minute:>6}  {n:>6}  {got:>8}  {row['answered_pct']:>9.1f}  {row['latency_p50_ms']:>14.2f}  "
                  f"{row['latency_p99_ms']:>14.2f}  {row['dropped']:>7}  {row['rss_min_mib']:>11.1f}  "
                  f"{row['rss_max_mib']:>11.1f}  {row['checkpoint_sim_s']:>16}", flush=True)
            if row["answered_pct"] < 99:
                failed.append(f"minute {minute}: {row['answered_pct']:.1f} % answered")
            if checkpoint and (checkpoint["end_reason"] != "in_progress" or checkpoint["sim_seconds"] <= last_sim):
                failed.append(f"minute {minute}: checkpoint {checkpoint['end_reason']}, "
                              f"{checkpoint['sim_seconds']} s")
            last_sim = checkpoint["sim_seconds"] if checkpoint else 0.0
            if brain.poll() is not None:
                failed.append(f"the node exited with {brain.returncode}")
                break
        s = node.summaries[-1]
        print(f"node's own figures over the whole soak: latency p50 {s['latency_ms_p50']:.3f} ms, "
              f"p99 {s['latency_ms_p99']:.3f} ms, inference p50 {s['inference_ms_p50']:.3f} ms, "
              f"frames received {s['frames_received']}, dropped {s['frames_dropped']}, "
              f"malformed {s['frames_malformed']}, stall stops {s['stall_stops']}", flush=True)
    finally:
        stop(brain, timeout=20)
        node.destroy_node()
        rclpy.shutdown()
    final = json.loads((stats / "stats.json").read_text()) if laps else None
    if final:
        print(f"on SIGINT stats.json says {final['end_reason']}, {final['laps_completed']} laps, "
              f"{final['sim_seconds']:.1f} s, {final['odometry_samples']} odometry samples", flush=True)
    if rows:
        csv.parent.mkdir(parents=True, exist_ok=True)
        with open(csv, "w") as f:
            f.write(",".join(rows[0]) + "\n")
            for r in rows:
                f.write(",".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r.values()) + "\n")
        print(f"minutes written to {csv}", flush=True)
        first, last = rows[0], rows[-1]
        print(f"RSS minute 1 {first['rss_max_mib']:.1f} MiB -> minute {last['minute']} "
              f"{last['rss_max_mib']:.1f} MiB; latency p99 {first['latency_p99_ms']:.2f} -> "
              f"{last['latency_p99_ms']:.2f} ms", flush=True)
    if final and final["end_reason"] != "shutdown":
        failed.append(f"final record: {final['end_reason']}")
    for f in failed:
        print(f"FAIL {f}", flush=True)
    print(f"brain log: {log_path}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
