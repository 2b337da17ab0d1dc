"""The QAT variants of an existing catalogue, fine-tuned again from its fp32 network: the
shipped catalogue's QAT rows without rebuilding the whole of it.

    python -m pilotnet_factory.retune --models models --train-data DIR --epochs 3 [--seed 1]

Reads the fp32 network's weights from the catalogue's `pilotnet_fp32.onnx` (`load_onnx`, by
initializer name), fine-tunes QAT (ONNX QDQ, TorchScript fbgemm) and prune + QAT on the
training set exactly as `build.py` does (`make_qat_variants`), writes the files over the
catalogue's, and rewrites their manifest entries (sha256, size, sparsity, `qat_epochs`) with
their descriptions reset to the network's own. Their steering is then trimmed and their test
MSE measured again with `pilotnet_factory.trim --models DIR --variants ...`, which this
command prints.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import torch
import yaml

from .binary import sha256
from .build import VARIANTS, TrainingSet, make_qat_variants
from .data import LabelRange
from .import_model import load_onnx

#: The variants make_qat_variants writes.
QAT_VARIANTS = ("qat", "ts_qat", "ts_prune_qat")


def retune(models: Path, train_dir: Path, epochs: int, seed: int) -> list[str]:
    """Re-makes the QAT variants in `models`; returns their names."""
    path = models / "manifest.yaml"
    manifest = yaml.safe_load(path.read_text())
    label_range = LabelRange(**manifest["training"]["label_range"])
    entries = {e["name"]: e for e in manifest["variants"]}
    missing = [n for n in ("fp32", *QAT_VARIANTS) if n not in entries]
    if missing:
        raise ValueError(f"{path}: no entries for {missing}")
    model = load_onnx("pilotnet", models / entries["fp32"]["file"])
    model.eval()
    data = TrainingSet([train_dir], label_range)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(False)  # quantised kernels have no deterministic flag
    extras = make_qat_variants(model, models, data, epochs=epochs, seed=seed)
    network = models / entries["fp32"]["description"]
    for name in QAT_VARIANTS:
        entry = entries[name]
        file = models / VARIANTS[name][0]
        shutil.copyfile(network, models / entry["description"])
        entry.update({"sha256": sha256(file), "size_bytes": file.stat().st_size,
                      "size_mb": round(file.stat().st_size / 1e6, 3),
                      "description_sha256": sha256(models / entry["description"]),
                      **extras[name]})
        entry.pop("steering_trim_rad_s", None)
        entry.pop("steering_trim", None)
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return list(QAT_VARIANTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, required=True, help="a catalogue's folder")
    parser.add_argument("--train-data", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.time()
    names = retune(args.models, args.train_data, args.epochs, args.seed)
    print(f"retune: {', '.join(names)} fine-tuned for {args.epochs} epoch(s) in "
          f"{time.time() - started:.0f} s; now trim them:\n"
          f"  python -m pilotnet_factory.trim --models {args.models} --test-data TEST_DIR "
          f"--variants {','.join(names)}")


if __name__ == "__main__":
    main()
