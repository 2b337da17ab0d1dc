"""The Rust binary and the circuits, as the factory uses them.

Behavior Metrics' reference circuits are read from `../shared/circuits` beside the checkout,
never copied; the built-in circuits are the binary's own.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "circuits"
TRAIN_CIRCUITS = ["lakeside", "switchback", "highland", "simple_circuit.csv", "montmelo.csv"]
TEST_CIRCUITS = ["montreal.csv", "nurburgring.csv"]


def circuit_specs(names: list[str]) -> list[str]:
    """Built-in names as they are, reference circuits as paths under ../shared/circuits."""
    specs = []
    for n in names:
        if n.endswith(".csv"):
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
