"""The Rust binary and the circuits, as the factory uses them, and the checksums the catalogue
records of the files the binary loads.

Behavior Metrics' Gazebo circuits (`world:NAME`, its `model.sdf` with meshes and textures) are
read from `../shared/gazebo-f1` and its reference laps (`NAME.csv`) from `../shared/circuits`
beside the checkout, never copied; the built-in circuits are the binary's own, in Behavior
Metrics' look.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "circuits"
WORLDS = ROOT.parent / "shared" / "gazebo-f1"
TRAIN_CIRCUITS = ["lakeside", "switchback", "highland", "world:simple_circuit", "world:montmelo_line"]
TEST_CIRCUITS = ["world:montreal_line", "world:nurburgring_line"]


def circuit_specs(names: list[str]) -> list[str]:
    """Built-in names as they are, reference laps as paths under ../shared/circuits, worlds as
    their model.sdf under ../shared/gazebo-f1."""
    specs = []
    for n in names:
        if n.startswith("world:"):
            path = WORLDS / n.removeprefix("world:") / "model.sdf"
            if not path.exists():
                raise FileNotFoundError(f"Gazebo world {path} not found (../shared beside the checkout)")
            specs.append(str(path))
        elif n.endswith(".csv"):
            path = SHARED / n
            if not path.exists():
                raise FileNotFoundError(f"reference circuit {path} not found (../shared beside the checkout)")
            specs.append(str(path))
        else:
            specs.append(n)
    return specs


def run_binary(binary: Path, *args: str) -> str:
    """Runs pilotnet-brain, returns stdout; its error output is shown when it fails."""
    done = subprocess.run([str(binary), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{binary} {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def bench(binary: Path, model: Path, dataset: Path, frames: int = 200) -> dict:
    """`pilotnet-brain bench --dataset` of one model: size, inference time, test MSE."""
    return json.loads(run_binary(binary, "bench", "--model", str(model), "--dataset",
                                 str(dataset), "--frames", str(frames), "--json"))


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
