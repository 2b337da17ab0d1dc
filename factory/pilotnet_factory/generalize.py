"""Where the shipped networks never trained: closed-loop laps on Behavior Metrics' four Gazebo
worlds in each calibrated look and in looks held out of training, against the expert.

    python -m pilotnet_factory.generalize --models ../models [--variants fp32,qat] \
        [--worlds simple_circuit,montreal_line] [--jobs 2] --out ../docs/results/generalization

Looks: the three lights of `sim --light` (`first`, the look the models before were trained
in; `world`, Gazebo's light from each world file; `sun`, Gazebo's without ambient light), and
two the recorder never drew: the salmon line (255, 102, 102) beside teal walls (a pair
`LookRange::gazebo` holds out), and the pre-2021 car's camera height (0.144 m) in the world's
light. The worlds are Behavior Metrics' `.world` files (`../shared/gazebo-f1/worlds`): their
light, their car's camera, their spawn pose. Each (world, direction, look) is driven once by
the expert and once by each variant, lockstep (`--latency none`), from where the world spawns
the car.

The judgement, per lap: fp32 completes the lap with MAE ≤ max(1.5 × the expert's, the
expert's + 1 cm); every other variant completes it with MAE ≤ 1.5 × fp32's (the issue's bar on
SimpleCircuit and Montreal). Writes OUT.json (every lap's statistics) and OUT.md (the tables)
and prints the Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from .binary import ROOT, WORLDS

WORLD_NAMES = ["simple_circuit", "montmelo_line", "montreal_line", "nurburgring_line"]
#: The worlds the variants' bar is set on (the others are shown, judged the same way).
VARIANT_BAR_WORLDS = {"simple_circuit", "montreal_line"}

#: look name -> sim flags
LOOKS = {
    "first": ["--light", "first"],
    "world": ["--light", "world"],
    "sun": ["--light", "sun"],
    "held-out colours": ["--light", "world", "--line-rgb", "255,102,102", "--wall", "teal"],
    "camera 0.144 m": ["--light", "world", "--camera-height", "0.144"],
}


def lap(binary: Path, world: str, reverse: bool, look: str, model: Path | None) -> dict:
    """One lap's statistics (`sim --json`); a failure to run is recorded, not raised."""
    args = [str(binary), "sim", "--world", str(WORLDS / "worlds" / f"{world}.world"), "--json",
            "--latency", "none", *LOOKS[look]]
    args += ["--reverse"] if reverse else []
    args += ["--model", str(model)] if model else ["--pilot", "expert"]
    env = dict(os.environ, GAZEBO_MODEL_PATH=str(WORLDS))
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else
                f"exit {done.returncode}"}
    s = json.loads(done.stdout)
    keep = ("lap_completed", "percentage_completed", "completed_distance_m", "lap_seconds",
            "position_deviation_mae_m", "position_deviation_max_m", "average_speed_mps",
            "end_reason")
    return {k: s.get(k) for k in keep}


def judge_fp32(expert: dict, net: dict) -> bool:
    if not (net.get("lap_completed") and expert.get("lap_completed")):
        return False
    e = expert["position_deviation_mae_m"]
    return net["position_deviation_mae_m"] <= max(1.5 * e, e + 0.01)


def judge_variant(fp32: dict, net: dict) -> bool:
    if not (net.get("lap_completed") and fp32.get("lap_completed")):
        return False
    return net["position_deviation_mae_m"] <= 1.5 * fp32["position_deviation_mae_m"]


def cell(r: dict) -> str:
    if "error" in r:
        return f"error: {r['error']}"
    if r.get("lap_completed"):
        return f"{r['position_deviation_mae_m']:.4f}"
    return f"off after {r.get('completed_distance_m') or 0:.0f} m"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    parser.add_argument("--variants", default="fp32",
                        help="comma-separated variant names (manifest) or NAME=MODEL_FILE; 'all' for "
                             "every shipped one")
    parser.add_argument("--worlds", default=",".join(WORLD_NAMES))
    parser.add_argument("--looks", default=",".join(LOOKS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--binary", type=Path, default=ROOT / "target" / "release" / "pilotnet-brain")
    parser.add_argument("--out", type=Path, required=True, help="OUT.json and OUT.md are written")
    args = parser.parse_args()

    files: dict[str, Path] = {}
    if (args.models / "manifest.yaml").exists():
        manifest = yaml.safe_load((args.models / "manifest.yaml").read_text())
        files = {v["name"]: args.models / v["file"] for v in manifest["variants"] if v.get("shipped")}
    names = list(files) if args.variants == "all" else []
    for spec in ([] if args.variants == "all" else args.variants.split(",")):
        name, _, path = spec.partition("=")
        if path:
            files[name] = Path(path)
        names.append(name)
    if "fp32" in names:
        names = ["fp32"] + [n for n in names if n != "fp32"]
    for n in names:
        if n not in files or not files[n].exists():
            parser.error(f"variant {n} is not shipped in {args.models}")
    worlds, looks = args.worlds.split(","), args.looks.split(",")
    for look in looks:
        if look not in LOOKS:
            parser.error(f"unknown look {look!r} (expected one of {', '.join(LOOKS)})")

    jobs = [(w, rev, look, pilot) for look in looks for w in worlds for rev in (False, True)
            for pilot in ["expert", *names]]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(
            lambda j: lap(args.binary, j[0], j[1], j[2], None if j[3] == "expert" else files[j[3]]),
            jobs))
    laps = [{"world": w, "direction": "reverse" if rev else "forward", "look": look,
             "pilot": pilot, **r} for (w, rev, look, pilot), r in zip(jobs, results)]
    by = {(x["world"], x["direction"], x["look"], x["pilot"]): x for x in laps}

    lines = [f"Laps: `python -m pilotnet_factory.generalize --variants {','.join(names)} "
             f"--worlds {args.worlds} --looks '{args.looks}'` (MAE in m from the world's line; "
             "'off after' = left the road; ✓ meets the bar)", ""]
    header = "| look | world | direction | expert | " + " | ".join(names) + " |"
    lines += [header, "|" + "---|" * (4 + len(names))]
    passed = {n: [0, 0] for n in names}
    bar = {n: [0, 0] for n in names}
    for look in looks:
        for w in worlds:
            for d in ("forward", "reverse"):
                e = by[(w, d, look, "expert")]
                f = by[(w, d, look, "fp32")] if "fp32" in names else None
                row = [look, w, d, cell(e)]
                for n in names:
                    r = by[(w, d, look, n)]
                    ok = judge_fp32(e, r) if n == "fp32" else (f is not None and judge_variant(f, r))
                    passed[n][0] += ok
                    passed[n][1] += 1
                    if n == "fp32" or w in VARIANT_BAR_WORLDS:
                        bar[n][0] += ok
                        bar[n][1] += 1
                    row.append(cell(r) + (" ✓" if ok else ""))
                lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Laps meeting the bar where it is set (fp32: every lap; the other variants: "
              "SimpleCircuit and Montreal): " + ", ".join(f"{n} {p}/{t}" for n, (p, t) in bar.items()),
              "", "On every lap shown: " + ", ".join(f"{n} {p}/{t}" for n, (p, t) in passed.items())]
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"laps": laps, "passed": passed, "bar": bar}, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
