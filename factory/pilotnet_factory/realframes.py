"""Every shipped variant on Gazebo's real camera frames, open loop, against the expert.

    python -m pilotnet_factory.realframes --models ../models --out ../docs/results/realframes

The frames are `../shared/gazebo-frames`' raw camera pictures (640x480; the GUI capture is not
one): the nine tiles of Behavior Metrics' F1 camera and RL-Studio's Montreal frame, read through
the F1 camera, and the older dataset's frame, read through the pre-2021 car's camera in its
world (`f1_1_circuit.world`). `pilotnet-brain predict --json` answers each with the network and
with the expert (what a dataset labels the picture with). Where the expert finds the line, the
variant's w is compared with the expert's: whether its sign agrees, on the frames where the
expert turns (|w| of 0.1 rad/s or more: on a straight the sign of a near-zero w means
nothing), the median |w - w_expert| over all of them, and on the frames that turn hard
(|w_expert| of 2 rad/s or more, the band `bench` reports last) the slope of w on w_expert, with
the expert brought to the range the network was trained to answer: under 1 where the variant
answers those turns short. Writes OUT.json and OUT.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
from pathlib import Path

import yaml

from .binary import ROOT

FRAMES = ROOT.parent / "shared" / "gazebo-frames"
LEGACY = ROOT.parent / "shared" / "gazebo-f1-legacy"
OLD_WORLD = LEGACY / "worlds" / "f1_1_circuit.world"
#: An expert |w| below this is driving straight: its sign is not judged.
STRAIGHT = 0.1
#: An expert |w| from this on is a strong turn (`bench`'s last `w_error_by_turn` band).
STRONG = 2.0


def strong_turn_gain(pairs: list[tuple[float, float]], w_min: float, w_max: float) -> float | None:
    """Least-squares slope through the origin of the network's w on the expert's, over the
    (w, w_expert) pairs where |w_expert| >= STRONG, the expert limited to [w_min, w_max] (what
    the network can answer); None without such pairs."""
    strong = [(w, min(max(e, w_min), w_max)) for w, e in pairs if abs(e) >= STRONG]
    square = sum(e * e for _, e in strong)
    return sum(w * e for w, e in strong) / square if square > 0 else None


def frames() -> list[tuple[Path, Path | None]]:
    """(picture, world whose car's camera reads it) for every raw camera frame."""
    out = [(p, None) for p in sorted(FRAMES.glob("bm_first_image_*.png"))]
    out.append((FRAMES / "rlstudio_montreal_cameraL_rescaled.png", None))
    out.append((FRAMES / "dls_old_dataset_frame.png", OLD_WORLD))
    missing = [str(p) for p, _ in out if not p.exists()]
    if missing:
        raise FileNotFoundError(f"real frames not found (../shared beside the checkout): {missing}")
    return out


def predict(binary: Path, model: Path, picture: Path, world: Path | None) -> dict:
    args = [str(binary), "predict", str(picture), "--model", str(model), "--json"]
    args += ["--world", str(world)] if world else []
    env = dict(os.environ, GAZEBO_MODEL_PATH=f"{LEGACY}:{ROOT.parent / 'shared' / 'gazebo-f1'}")
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr}")
    return json.loads(lines[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    parser.add_argument("--binary", type=Path, default=ROOT / "target" / "release" / "pilotnet-brain")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    manifest = yaml.safe_load((args.models / "manifest.yaml").read_text())
    variants = [v for v in manifest["variants"] if v.get("shipped")]
    pictures = frames()
    answers: dict[str, list[dict]] = {}
    for v in variants:
        answers[v["name"]] = [predict(args.binary, args.models / v["file"], p, w)
                              for p, w in pictures]

    names = [p.name for p, _ in pictures]
    fp32 = answers[variants[0]["name"]]
    lines = ["| frame | expert v, w | " + " | ".join(v["name"] for v in variants) + " |",
             "|" + "---|" * (2 + len(variants))]
    for i, name in enumerate(names):
        e = fp32[i]["expert"]
        row = [name, f"{e['v']:.2f}, {e['w']:+.2f}" if e else "no line"]
        for v in variants:
            n = answers[v["name"]][i]["network"]
            row.append(f"{n['w']:+.2f}" if n else "refused")
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "| variant | frames with the line | w's sign agrees where the expert turns | "
                  f"median abs(w - w_expert) (rad/s) | strong turns (abs(w_expert) >= {STRONG:g}): "
                  "frames, gain |",
              "|---|---|---|---|---|"]
    label_range = manifest["training"]["label_range"]
    summary = {}
    for v in variants:
        pairs = [(a["network"]["w"], a["expert"]["w"]) for a in answers[v["name"]]
                 if a["network"] and a["expert"]]
        turns = [(w, e) for w, e in pairs if abs(e) >= STRAIGHT]
        agree = sum((w > 0) == (e > 0) for w, e in turns)
        median = statistics.median(abs(w - e) for w, e in pairs) if pairs else float("nan")
        gain = strong_turn_gain(pairs, label_range["w_min"], label_range["w_max"])
        strong = sum(abs(e) >= STRONG for _, e in pairs)
        summary[v["name"]] = {"frames": len(pairs), "turns": len(turns), "sign_agrees": agree,
                              "median_abs_dw": median, "strong_turns": strong,
                              "strong_turn_gain": gain}
        lines.append(f"| {v['name']} | {len(pairs)} | {agree}/{len(turns)} | {median:.2f} | "
                     f"{strong}, {'-' if gain is None else f'{gain:.2f}'} |")
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(
        {"frames": names, "answers": answers, "summary": summary}, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
