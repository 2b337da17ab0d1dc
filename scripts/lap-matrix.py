#!/usr/bin/env python3
"""Drives the expert and a network on Behavior Metrics' four reference circuits, both ways, with
one `pilotnet-brain` binary, and prints a Markdown table of the lap figures (the record a
before/after comparison of the simulator is made from).

    scripts/lap-matrix.py [--binary target/release/pilotnet-brain] [--model fp32]
                          [--latency none] [--circuits ../shared/circuits] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CIRCUITS = ("simple_circuit", "montmelo", "montreal", "nurburgring")


def lap(binary: str, circuit: Path, reverse: bool, pilot: list[str], latency: str) -> dict:
    args = [binary, "sim", "--circuit", str(circuit), "--json", "--latency", latency, *pilot]
    if reverse:
        args.append("--reverse")
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{out.stderr}")
    return json.loads(out.stdout)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--binary", default=str(ROOT / "target" / "release" / "pilotnet-brain"))
    p.add_argument("--model", default="fp32", help="the network next to the expert")
    p.add_argument("--latency", default="none")
    p.add_argument("--circuits", default=str(ROOT.parent / "shared" / "circuits"))
    p.add_argument("--json", help="also write every run's statistics to this file")
    a = p.parse_args()
    rows, runs = [], []
    print("| pilot | circuit | dir | end | MAE m | lap s | frames | dropped | BM dev |")
    print("|---|---|---|---|---|---|---|---|---|")
    for pilot, flags in (("expert", ["--pilot", "expert"]), (a.model, ["--model", a.model])):
        for name in CIRCUITS:
            for reverse in (False, True):
                s = lap(a.binary, Path(a.circuits) / f"{name}.csv", reverse, flags, a.latency)
                runs.append(s)
                # Records name the frames the brain was handed `frames_received`; older
                # binaries called them `frames`.
                frames = s.get("frames_received", s.get("frames"))
                lap_s = s["lap_seconds"]
                bm = s.get("position_deviation_bm")
                print(f"| {pilot} | {name} | {'rev' if reverse else 'fwd'} | {s['end_reason']} "
                      f"| {s['position_deviation_mae_m']:.4f} | {lap_s:.2f} | {frames} "
                      f"| {s['frames_dropped']} | {bm:.3f} |" if lap_s is not None else
                      f"| {pilot} | {name} | {'rev' if reverse else 'fwd'} | {s['end_reason']} "
                      f"| {s['position_deviation_mae_m']:.4f} | - | {frames} | {s['frames_dropped']} "
                      f"| {bm} |", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(runs, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
