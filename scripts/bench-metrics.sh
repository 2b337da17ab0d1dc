#!/usr/bin/env bash
# How fast `pilotnet-brain metrics` scores a long recording: writes an hour of 50 Hz odometry
# (with /clock and /cmd_vel, a 20.5 m circle driven at 5 m/s: 139 laps) as MCAP (mcap +
# mcap-ros2-support), as SQLite3 (rosbags) and as a ROS 1 bag (rosbags) with the factory's bag
# writer, then times the release binary on each against a 20 m circle. Needs scripts/setup.sh and a release build.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bin="target/release/pilotnet-brain"
[[ -x "$bin" ]] || { echo "bench-metrics: build first: cargo build --release" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$work/circle.csv" <<'PY'
import math, sys
with open(sys.argv[1], "w") as f:
    f.write("x,y\n")
    for i in range(400):
        a = 2 * math.pi * i / 400
        f.write(f"{20 * math.cos(a)},{20 * math.sin(a)}\n")
PY
drive=(--circle 20.5 --seconds 3600 --hz 50 --speed 5)
.venv/bin/python -m pilotnet_factory.bags "${drive[@]}" --writer mcap --out "$work/hour.mcap"
.venv/bin/python -m pilotnet_factory.bags "${drive[@]}" --writer rosbags-sqlite3 --out "$work/hour_db3"
.venv/bin/python -m pilotnet_factory.bags "${drive[@]}" --writer rosbags-ros1 --out "$work/hour.bag"
for bag in "$work/hour.mcap" "$work/hour_db3" "$work/hour.bag"; do
    size="$(du -sm "$bag" | cut -f1)"
    /usr/bin/time -f "$(basename "$bag"): ${size} MB, %e s wall, %M KB peak" \
        "$bin" metrics "$bag" --reference "$work/circle.csv" --json >"$work/out.json"
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print('  laps', r['laps_completed'], 'odometry', r['odometry_samples'], 'commands', r['commands'])" "$work/out.json"
done
