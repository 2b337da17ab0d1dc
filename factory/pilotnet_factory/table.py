"""The study's comparison tables for a built set of variants, measured by the Rust binary.

    python -m pilotnet_factory.table --models DIR --dataset TEST_DIR [--laps] [--frames N]

Offline: one `pilotnet-brain bench --dataset` per variant, in the seed's columns (Method |
Model size (MB) | MSE | Inference time (s) | Framework) and the yaw rate's error on the frames
that turn hardest (where a single MSE hides a network that answers turns short). With
`--laps`, closed loop: one `pilotnet-brain sim` lap per variant on Behavior Metrics' SimpleCircuit and Montreal Gazebo
worlds (average speed, position deviation MAE and Behavior Metrics' score, brain iteration
frequency, mean inference time, real-time factor). Variants whose file is missing (not
shipped, not built) are skipped and named. Prints Markdown.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from .binary import ROOT, bench, circuit_specs, run_binary

FRAMEWORK = {"ort": "ONNX Runtime", "tch": "libtorch"}


def variants(models: Path) -> list[dict]:
    return yaml.safe_load((models / "manifest.yaml").read_text())["variants"]


def offline(binary: Path, models: Path, dataset: Path, frames: int,
            measured: dict[str, dict] | None = None) -> str:
    """One `bench --dataset` per variant (`measured` holds benches already run, by name)."""
    rows = ["Method | Variant | Model size (MB) | MSE | Inference time (s) | p99 (s) | "
            "Strong turns: median abs(w - w_label) (rad/s), gain | Framework",
            "--- | --- | --- | --- | --- | --- | --- | ---"]
    for v in variants(models):
        path = models / v["file"]
        if not path.exists():
            rows.append(f"{v['method']} | {v['name']} | not built | | | | | "
                        f"{FRAMEWORK[v['backend']]}")
            continue
        b = (measured or {}).get(v["name"]) or bench(binary, path, dataset, frames)
        rows.append(f"{v['method']} | {v['name']} | {b['size_mb']:.2f} | {b['mse']:.5f} | "
                    f"{b['inference_ms_mean'] / 1e3:.5f} | {b['inference_ms_p99'] / 1e3:.5f} | "
                    f"{strong_turns(b)} | {FRAMEWORK[v['backend']]}")
    return "\n".join(rows)


def strong_turns(measured: dict) -> str:
    """The strongest band of `bench`'s `w_error_by_turn`: where a network answers short."""
    bands = measured.get("w_error_by_turn") or []
    if not bands or bands[-1]["median_abs_error_rad_s"] is None:
        return ""
    band = bands[-1]
    gain = "" if band["gain"] is None else f", {band['gain']:.2f}"
    return (f"{band['median_abs_error_rad_s']:.3f}{gain} "
            f"({band['samples']} frames from {band['abs_w_from']:g})")


def closed_loop(binary: Path, models: Path, circuit: str, timeout: float | None = None) -> str:
    """One lap per variant on `circuit` (at most `timeout` simulated seconds each)."""
    rows = ["Method | Variant | Lap | Average speed (m/s) | Position deviation MAE (m) | "
            "Position deviation (BM score) | Brain iteration frequency (Hz) | "
            "Mean inference time (s) | Real time factor | Framework",
            "--- | --- | --- | --- | --- | --- | --- | --- | --- | ---"]
    spec = circuit_specs([circuit])[0]
    limit = [] if timeout is None else ["--timeout", str(timeout)]

    def row(method: str, name: str, r: dict, inference: str, framework: str) -> str:
        score = r.get("position_deviation_bm")
        return (f"{method} | {name} | {r['end_reason']} | {r['average_speed_mps']:.2f} | "
                f"{r['position_deviation_mae_m']:.4f} | "
                f"{'' if score is None else f'{score:.3f}'} | "
                f"{r['brain_iteration_frequency_hz']:.0f} | {inference} | "
                f"{r['real_time_factor']:.1f} | {framework}")

    expert = json.loads(run_binary(binary, "sim", "--circuit", spec, "--pilot", "expert",
                                   "--json", *limit))
    rows.append(row("Expert (labels)", "expert", expert, "", "Rust"))
    for v in variants(models):
        path = models / v["file"]
        if not path.exists():
            continue
        r = json.loads(run_binary(binary, "sim", "--circuit", spec, "--model", str(path),
                                  "--json", *limit))
        rows.append(row(v["method"], v["name"], r, f"{r['inference_ms_mean'] / 1e3:.5f}",
                        FRAMEWORK[v["backend"]]))
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    parser.add_argument("--dataset", type=Path, required=True, help="held-out test set")
    parser.add_argument("--binary", type=Path, default=ROOT / "target" / "release" / "pilotnet-brain")
    parser.add_argument("--frames", type=int, default=1000, help="timed inferences per variant")
    parser.add_argument("--laps", action="store_true",
                        help="also drive the SimpleCircuit and Montreal Gazebo worlds")
    args = parser.parse_args()
    print("### Offline, held-out test set\n")
    print(offline(args.binary, args.models, args.dataset, args.frames), flush=True)
    if args.laps:
        for circuit in ("world:simple_circuit", "world:montreal_line"):
            print(f"\n### Closed loop, {circuit}\n")
            print(closed_loop(args.binary, args.models, circuit), flush=True)


if __name__ == "__main__":
    main()
