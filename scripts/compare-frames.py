#!/usr/bin/env python3
"""Gazebo's own F1 camera frames (../shared/gazebo-frames) against the simulator's pictures of
the same places, as Markdown tables for docs/gazebo.md.

    python3 scripts/compare-frames.py [--binary target/release/pilotnet-brain]
                                      [--before OLD_BINARY] [--out DIR]

Each raw 640x480 frame is matched in each of Behavior Metrics' four worlds
(../shared/gazebo-f1/worlds) by `pilotnet-brain compare` (the pose searched from the red
line); a row of the grid of frames is one circuit, so the world of a row is the one whose
matches put the line nearest the image's, over the row's frames. Then it prints, per frame,
the region colours (real, rendered, difference) and the line's centre and width at rows
300-470, and writes the side-by-side pictures to --out. With --before, an older binary renders
the same poses and its region differences are printed beside.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
WORLDS = ["simple_circuit", "montmelo_line", "montreal_line", "nurburgring_line"]


def compare(binary: str, image: Path, world: str, pose: str | None = None, out: Path | None = None) -> dict | None:
    cmd = [binary, "compare", str(image), "--world", str(SHARED / "gazebo-f1" / "worlds" / f"{world}.world"), "--json"]
    if pose:
        cmd += ["--pose", pose]
    if out:
        cmd += ["--out", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)


def line_error(c: dict) -> tuple[int, float]:
    """Rows where both pictures show the line, and the mean |centre difference| there."""
    pairs = [(a, b) for a, b in zip(c["real_line"], c["rendered_line"])
             if a["centre"] is not None and b["centre"] is not None]
    if not pairs:
        return 0, float("inf")
    return len(pairs), sum(abs(b["centre"] - a["centre"]) for a, b in pairs) / len(pairs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=str(ROOT / "target" / "release" / "pilotnet-brain"))
    ap.add_argument("--before", help="an older binary to render the same poses with")
    ap.add_argument("--out", type=Path, help="folder for the side-by-side pictures")
    args = ap.parse_args()
    frames = sorted((SHARED / "gazebo-frames").glob("bm_first_image_r*.png"))
    frames.append(SHARED / "gazebo-frames" / "rlstudio_montreal_cameraL_rescaled.png")
    # Each frame in each world; a grid row's world is the one fitting its frames best.
    fits = {f: {w: compare(args.binary, f, w) for w in WORLDS} for f in frames}
    groups: dict[str, list[Path]] = {}
    for f in frames:
        key = f.stem[:-2] if f.stem.startswith("bm_first_image_r") else f.stem
        groups.setdefault(key, []).append(f)
    chosen: dict[Path, str] = {}
    for key, members in groups.items():
        if "montreal" in key:
            world = "montreal_line"
        else:
            def score(w: str) -> float:
                errs = [line_error(fits[f][w]) for f in members if fits[f][w]]
                errs = [e for n, e in errs if n >= 2]
                return sum(errs) / len(errs) if errs else float("inf")
            world = min(WORLDS, key=score)
        for f in members:
            chosen[f] = world
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    print("| frame | world | pose (along, left, heading) | region | real RGB | rendered RGB | difference |"
          + (" before |" if args.before else ""))
    print("|---|---|---|---|---|---|---|" + ("---|" if args.before else ""))
    geometry = []
    for f in frames:
        w = chosen[f]
        c = fits[f][w]
        if c is None:
            print(f"| {f.name} | {w} | no match (the line shows on too few rows) | | | | |")
            continue
        p = c["pose"]
        pose = f"{p['x']},{p['y']},{p['yaw']}"
        if args.out:
            compare(args.binary, f, w, pose, args.out / f"{f.stem}.png")
        old = compare(args.before, f, w, pose) if args.before else None
        where = f"{p['along_m']:.1f} m, {p['lateral_m']:+.2f} m, {p['heading_offset_rad']:+.2f} rad"
        for i, r in enumerate(c["regions"]):
            rgb = lambda v: " ".join(f"{x:.0f}" for x in v)
            before = ""
            if old:
                o = next((x for x in old["regions"] if x["region"] == r["region"]), None)
                before = f" {rgb(o['difference'])} |" if o else " - |"
            head = f"| {f.name} | {w} | {where} |" if i == 0 else "| | | |"
            print(f"{head} {r['region']} | {rgb(r['real'])} | {rgb(r['rendered'])} | {rgb(r['difference'])} |{before}")
        cells = []
        for a, b in zip(c["real_line"], c["rendered_line"]):
            if a["centre"] is None or b["centre"] is None:
                cells.append("-" if a["centre"] is None and b["centre"] is None else "line in one only")
            else:
                cells.append(f"{b['centre'] - a['centre']:+.1f} px, {100 * (b['width'] / a['width'] - 1):+.0f} %")
        geometry.append(f"| {f.name} | {w} | " + " | ".join(cells) + " |")
    print("\n| frame | world | row 300 | row 360 | row 420 | row 470 |\n|---|---|---|---|---|---|")
    print("\n".join(geometry))
    return 0


if __name__ == "__main__":
    sys.exit(main())
