"""Behavior Metrics' lap scores computed with SciPy, the way its `metrics_gazebo.py` does, as
an independent check of the Rust port (`src/evaluation/laps/behavior_metrics.rs`).

    python -m pilotnet_factory.bm_reference --trajectory OUT/trajectory.csv \\
        --reference ../shared/circuits/simple_circuit.csv [--reverse]

Behavior Metrics' procedure, restated: the driven positions become two natural cubic splines
(`scipy.interpolate.CubicSpline`, `bc_type='natural'`) over their sample index; the reference
points are rotated to start at the one nearest the first position; each reference point in
turn is matched to the spline by `scipy.optimize.fmin` started at the previous parameter, and
by `scipy.optimize.dual_annealing` over the next 100 samples when that lands more than 1 m
away and for the first three points; `1000 ** distance` is collected until the parameter
passes the last sample but one or stays put (|change| < 0.01) more than three times in a row.
The completion walks the reference both ways from the point nearest the start, counting a
reference point while the current position is within 5 m of it.

`--reverse` walks the reference file backwards (a lap driven against its direction).
`--lap-ends I,J` scores each lap's positions as their own path, as the port does past one lap.
`dual_annealing` is random; `--seed` fixes it. Prints one JSON object:
`position_deviation_mae`, `position_deviation_total_err`, `percentage_completed` and
`lap_index` (the position at which the reference had been walked whole, or null).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.optimize import dual_annealing, fmin


def read_xy(path: Path) -> np.ndarray:
    """x, y of a CSV with `x,y` columns or Behavior Metrics' `pose.pose.position.x/y`."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path}: no rows")
    for xk, yk in (("x", "y"), ("pose.pose.position.x", "pose.pose.position.y")):
        if xk in rows[0] and yk in rows[0]:
            return np.array([[float(r[xk]), float(r[yk])] for r in rows])
    raise ValueError(f"{path}: no x,y or pose.pose.position.x/y columns")


def nearest(points: np.ndarray, p: np.ndarray, within: float = 100.0) -> int | None:
    d = np.hypot(*(points - p).T)
    i = int(np.argmin(d))
    return i if d[i] < within else None


def position_deviation(reference: np.ndarray, path: np.ndarray, seed: int) -> tuple[float, float]:
    """Behavior Metrics' `position_deviation_mae` and `position_deviation_total_err`."""
    terms = deviation_terms(reference, path, seed)
    mae = sum(terms) / len(terms) if terms else 0.0
    return mae, float(sum(terms))


def deviation_terms(reference: np.ndarray, path: np.ndarray, seed: int) -> list[float]:
    """The `1000 ** distance` of each reference point Behavior Metrics' walk visits."""
    t_knots = np.arange(len(path))
    sx = CubicSpline(t_knots, path[:, 0], bc_type="natural")
    sy = CubicSpline(t_knots, path[:, 1], bc_type="natural")
    start = nearest(reference, path[0])
    start = len(reference) - 1 if start is None else start
    ref = np.concatenate([reference[start:], reference[:start]])
    rng = np.random.default_rng(seed)
    terms: list[float] = []
    prev_t, same, k = 0.0, 0, 0
    while True:
        px, py = ref[k]

        def dist(t, px=px, py=py):
            return np.sqrt((px - sx(t)) ** 2 + (py - sy(t)) ** 2)

        t = fmin(dist, np.array([prev_t]), disp=False)[0]
        d = float(dist(t))
        if d > 1 or k in (0, 1, 2):
            t = dual_annealing(dist, bounds=[(prev_t, prev_t + 100)], rng=rng).x[0]
            d = float(dist(t))
        if t > t_knots[-1] - 1:
            break
        if abs(t - prev_t) < 0.01:
            same += 1
            if same > 3:
                break
        else:
            same = 0
        prev_t = t
        terms.append(1000.0 ** d)
        k = (k + 1) % len(ref)
    return terms


def position_deviation_by_lap(reference: np.ndarray, path: np.ndarray, lap_ends: list[int],
                              seed: int) -> tuple[float, float]:
    """The deviation of a path of several laps as the Rust port scores it past one lap: each
    lap (the positions from one lap end to the next, sharing the boundary position, and what
    follows the last) scored as its own path by Behavior Metrics' procedure, the terms of all
    laps summed and averaged together. With no lap end inside the path it is the whole path."""
    bounds = [0] + [i for i in lap_ends if 0 < i < len(path)] + [len(path) - 1]
    bounds = [b for k, b in enumerate(bounds) if k == 0 or b != bounds[k - 1]]
    terms: list[float] = []
    for a, b in zip(bounds, bounds[1:]):
        if b - a >= 1:
            terms += deviation_terms(reference, path[a:b + 1], seed)
    return (sum(terms) / len(terms) if terms else 0.0), float(sum(terms))


def percentage_completed(reference: np.ndarray, path: np.ndarray) -> float:
    return completion(reference, path)[0]


def completion(reference: np.ndarray, path: np.ndarray) -> tuple[float, int | None]:
    """Behavior Metrics' `percentage_completed` and its `lap_checkpoint`: the index of the
    position at which a walk had reached every reference point (the last walk's, as its loop
    overwrites it), or None."""
    n = len(reference)
    start = nearest(reference, path[0])
    start = 0 if start is None else start
    best, lap = 0.0, None
    for step in (1, -1):
        reached, i, j = 1, 1, start + step
        if j >= n:
            j = 0
        while i < len(path):
            if np.hypot(*(reference[j] - path[i])) < 5:
                reached += 1
                j += step
                if reached == n:
                    lap = i
                if step > 0 and j >= n:
                    j = 0
                elif step < 0 and j <= 0:
                    j = n - 1
            else:
                i += 1
        best = max(best, 100.0 * reached / n)
    return best, lap


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trajectory", type=Path, required=True, help="CSV with x,y columns (trajectory.csv)")
    ap.add_argument("--reference", type=Path, required=True, help="reference lap CSV")
    ap.add_argument("--reverse", action="store_true", help="walk the reference backwards")
    ap.add_argument("--seed", type=int, default=0, help="dual_annealing's random seed")
    ap.add_argument("--lap-ends", default="", help="indices of the positions at which laps end "
                    "(comma-separated): each lap's deviation scored on its own, as the port does")
    args = ap.parse_args(argv)
    try:
        path = read_xy(args.trajectory)
        reference = read_xy(args.reference)
    except (OSError, ValueError) as e:
        print(f"bm_reference: {e}", file=sys.stderr)
        return 2
    if args.reverse:
        reference = reference[::-1].copy()
    try:
        lap_ends = [int(i) for i in args.lap_ends.split(",") if i.strip()]
    except ValueError:
        print(f"bm_reference: --lap-ends '{args.lap_ends}' is not a list of integers", file=sys.stderr)
        return 2
    mae, total = position_deviation_by_lap(reference, path, lap_ends, args.seed)
    percentage, lap_index = completion(reference, path)
    print(json.dumps({
        "position_deviation_mae": mae,
        "position_deviation_total_err": total,
        "percentage_completed": percentage,
        "lap_index": lap_index,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
