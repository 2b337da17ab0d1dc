"""The training recipe of a catalogue, written beside its models: what data (circuits, frames,
seeds, the looks drawn), which training settings and augmentations, which trims — read from
its `manifest.yaml`, so it can never disagree with it.

    python -m pilotnet_factory.recipe --models models     # writes models/RECIPE.md
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from .binary import ROOT


def _num(x) -> str:
    """A number as written in the recorder's settings: the recorder keeps them as 32-bit
    floats, so 0.8 arrives as 0.800000011920929; six significant digits give it back."""
    return f"{x:.6g}" if isinstance(x, float) else str(x)


def _range(pair) -> str:
    return f"{_num(pair[0])}–{_num(pair[1])}"


def recipe(manifest: dict) -> str:
    data, training = manifest["dataset"], manifest["training"]
    c = training["config"]
    lines = ["# Training recipe", "",
             "Written by `pilotnet_factory.recipe` from `manifest.yaml` (never by hand).", "",
             "## Data (`pilotnet-brain dataset`)", ""]
    # The looks the datasets were drawn in: the first set's; a set drawn in a narrower light
    # says so on its own line.
    looks = next((d.get("looks") for d in data.values() if d.get("looks")), None)
    for split, d in data.items():
        s = d["summary"]
        own = d.get("looks") or {}
        narrowed = [f"{what} {_range(own[key])}"
                    for key, what in (("ambient", "ambient light"),
                                      ("texture_diffuse", "textures lit at"))
                    if key in own and own[key] != (looks or {}).get(key)]
        lines.append(f"- **{split}**: {d['frames']} frames, seed {d['seed']}, circuits "
                     f"{', '.join(d['circuits'])} (each both ways); {s['perturbed_frames']} "
                     f"taken while a disturbance pushed the car off the line (up to "
                     f"{s['max_abs_lateral_m']:.2f} m); {s['runs']} runs, {s['runs_off_road']} "
                     "off the road"
                     + (f"; looks narrowed to {' and '.join(narrowed)}" if narrowed else "")
                     + (f"; driven by {d['driver']}, labelled by the expert." if d.get("driver")
                        else "."))
    if looks:
        every = next(d.get("look_every_s") for d in data.values() if d.get("looks"))
        walls = ", ".join(w["name"] for w in looks["walls"])
        held = looks.get("held_out")
        lines += ["", f"Looks (`dataset --looks`), a new one every {every} s of simulated driving:",
                  f"ambient light {_range(looks['ambient'])}, textures lit at "
                  f"{_range(looks['texture_diffuse'])}; the line along "
                  f"{' → '.join(str(tuple(c)) for c in looks['line_colours'])}; walls {walls}"
                  + (f" ({held[0]} never beside the line past {held[1]} of the way: held out)"
                     if held else "")
                  + f"; ground ×{_range(looks['ground_gain'])}; a flat grey sky "
                  f"({_range(looks['flat_sky_grey'])}) with odds {looks['flat_sky']}; camera "
                  f"{_range(looks['camera_height'])} m high, pitch {_range(looks['camera_pitch'])} "
                  f"rad, roll {_range(looks['camera_roll'])} rad; exposure "
                  f"{_range(looks['brightness'])}, white balance ±{_num(looks['tint'])}, noise "
                  f"{_range(looks['noise'])}; JPEG with odds {looks['jpeg']} at quality "
                  f"{_range(looks['jpeg_quality'])}."]
    else:
        lines += ["", "Looks: Behavior Metrics' calibrated look only (light level, white balance, "
                      "noise and ground texture varied per run)."]
    lines += ["", "## Training (`pilotnet_factory.train`)", "",
              f"DeepLearningStudio's PilotNet, {c['epochs']} epochs, batch {c['batch_size']}, "
              f"Adam at {c['learning_rate']}" + (" with cosine decay" if c.get("cosine") else "")
              + f", weight decay {c['weight_decay']}, seed {c['seed']}, {c['threads']} threads; "
              f"labels min-max normalised with |w| ≤ {c['w_limit']} rad/s; augmentations: "
              + ", ".join(a for a, on in (("half the images mirrored with w negated", c.get("flip")),
                                          ("strong turns oversampled", c.get("oversample_turns")),
                                          ("image and mirror paired", c.get("mirror_pairs")))
                          if on)
              + f". Test MSE {training['test_mse']:.5f}"
              + (f", {training['seconds'] / 60:.0f} min." if training.get("seconds") else ".")]
    rounds = training.get("onpolicy") or []
    if rounds:
        lines += ["", "## On-policy refinement (`pilotnet_factory.onpolicy`)", "",
                  "The trained, trimmed network drove the training circuits while the expert "
                  "labelled every frame (`dataset --driver`, the on-policy sets above); it was "
                  "then trained further on the training set and every on-policy set so far, "
                  "round after round (DAgger):", ""]
        for k, onp in enumerate(rounds, start=1):
            lines.append(f"- round {k}: {onp['epochs']} more epochs on {onp['samples']} frames, "
                         f"Adam from {onp['learning_rate']} with cosine decay, seed {onp['seed']}: "
                         f"test MSE {onp['test_mse_before']:.5f} → {onp['test_mse']:.5f}, "
                         f"{onp['seconds'] / 60:.0f} min.")
    lines += ["", "## Trims (`pilotnet_factory.trim`)", "",
              f"The network's steering trim: {training['steering_trim_rad_s']:+.4f} rad/s, "
              f"measured on {', '.join(training['steering_trim']['circuits'])}. Each variant's:", ""]
    lines += ["| variant | trim (rad/s) | test MSE |", "|---|---|---|"]
    for v in manifest["variants"]:
        if v.get("shipped"):
            trim = v.get("steering_trim_rad_s")
            lines.append(f"| {v['name']} | {trim:+.4f} | {v['test_mse']:.5f} |" if trim is not None
                         else f"| {v['name']} | (the network's) | {v['test_mse']:.5f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    args = parser.parse_args()
    manifest = yaml.safe_load((args.models / "manifest.yaml").read_text())
    (args.models / "RECIPE.md").write_text(recipe(manifest))
    print(f"wrote {args.models / 'RECIPE.md'}")


if __name__ == "__main__":
    main()
