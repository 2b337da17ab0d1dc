"""Integer-only quantisation: the static int8 network with integer input and output tensors,
as TensorFlow Lite's "integer only" converter makes it (`inference_input_type=uint8`,
`inference_output_type=int8`).

From the static QDQ model (`variants.onnx_static_int8`):

- input: the graph's first QuantizeLinear goes; the image enters as 8-bit pixels, cast to
  uint8 and dequantised with scale 1/255, zero point 0, so the network sees x/255 exactly as
  the float model does. The preprocessing writes the pixels directly (description `scaling:
  raw`): the quantised input is the camera's own 8-bit value, no float scaling on the way.
- output: the last DequantizeLinear goes; the network returns its int8 codes q (as floats, so
  every engine reads them). The description dequantises them (`output.dequantize: {scale,
  zero_point}`: p = (q - zero_point) * scale) before the float model's (v, w) mapping, so the
  bench's MSE is in the same normalised units as every other variant's.

A consumer that reads the integer outputs as if they were the network's normalised (v, w) —
no dequantisation — sees values in the tens to hundreds against labels in [0, 1]; `raw_mse`
measures that error for the int8 codes and for the uint8 codes TensorFlow Lite's converter
writes with `inference_output_type=uint8` (the same steps from zero: q - zero_point), the
failure the study reports for its integer-only model:

    python -m pilotnet_factory.integer_only --model OUT/integer_only.onnx --dataset TEST_DIR
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class IntegerOnlyError(Exception):
    """A model that is not the static QDQ form this rewrite expects."""


def rewrite(src: Path, dst: Path) -> tuple[float, int]:
    """Writes the integer-I/O form of QDQ model `src` to `dst`; returns the output's
    (scale, zero_point), which the description folds into the (v, w) mapping."""
    model = onnx.load(str(src))
    graph = model.graph
    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    image = graph.input[0].name
    output = graph.output[0].name
    q_in = next((n for n in graph.node if n.op_type == "QuantizeLinear" and n.input[0] == image),
                None)
    dq_out = next((n for n in graph.node
                   if n.op_type == "DequantizeLinear" and n.output[0] == output), None)
    if q_in is None or dq_out is None:
        raise IntegerOnlyError(f"{src}: no QuantizeLinear on input '{image}' or no "
                               f"DequantizeLinear giving output '{output}' (not a QDQ model)")
    scale = float(values[dq_out.input[1]])
    zero_point = int(values[dq_out.input[2]])

    graph.initializer.extend([
        numpy_helper.from_array(np.array(1.0 / 255.0, np.float32), "image_u8_scale"),
        numpy_helper.from_array(np.array(0, np.uint8), "image_u8_zero_point"),
    ])
    cast_in = helper.make_node("Cast", [image], ["image_u8"], to=TensorProto.UINT8,
                               name="image_to_uint8")
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0] == q_in.output[0]:
            node.input[0], node.input[1], node.input[2] = (
                "image_u8", "image_u8_scale", "image_u8_zero_point")
    graph.node.remove(q_in)
    graph.node.insert(0, cast_in)
    unused = set(q_in.input[1:]) - {n for node in graph.node for n in node.input}
    for init in [i for i in graph.initializer if i.name in unused]:
        graph.initializer.remove(init)

    index = list(graph.node).index(dq_out)
    graph.node.remove(dq_out)
    graph.node.insert(index, helper.make_node("Cast", [dq_out.input[0]], [output],
                                              to=TensorProto.FLOAT, name="codes_to_float"))
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return scale, zero_point


def description(float_description: str, scale: float, zero_point: int) -> str:
    """The float model's description with raw 8-bit input and the output's dequantisation."""
    import yaml

    spec = yaml.safe_load(float_description)
    spec["input"]["scaling"] = "raw"
    spec["output"]["dequantize"] = {"scale": float(scale), "zero_point": int(zero_point)}
    header = "".join(line + "\n" for line in float_description.splitlines()
                     if line.startswith("#"))
    return (header + "# Integer-only: 8-bit pixels in (scaling raw), int8 codes out, dequantised "
            f"here\n# (output scale {scale!r}, zero point {zero_point}).\n"
            + yaml.safe_dump(spec, sort_keys=False, default_flow_style=None))


def raw_mse(path: Path, images: np.ndarray, labels: np.ndarray,
            zero_point: int) -> dict[str, float]:
    """MSE of the integer model's codes read as normalised (v, w), without dequantisation,
    against normalised `labels`, for its int8 codes and for the uint8 codes of the same
    steps (q - zero_point); (n, H, W, 3) uint8 `images` fed as raw pixels."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    x = images.transpose(0, 3, 1, 2).astype(np.float32)
    codes = np.concatenate([session.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))])
    return {"int8_codes": float(np.mean((codes - labels) ** 2)),
            "uint8_codes": float(np.mean((codes - zero_point - labels) ** 2))}


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json
    import sys

    from .data import DatasetError, load_images, read_labels
    from .export import read_description

    p = argparse.ArgumentParser(description="MSE of an integer-only model's undequantised codes")
    p.add_argument("--model", required=True, type=Path, help="integer_only.onnx with its .yaml")
    p.add_argument("--dataset", required=True, type=Path)
    p.add_argument("--frames", type=int, default=500, help="evenly spaced test frames")
    a = p.parse_args(argv)
    try:
        r, pre, spec = read_description(a.model.with_suffix(".yaml").read_text())
        dq = spec["output"]["dequantize"]
        cols = read_labels(a.dataset)
        keep = slice(None, None, max(1, -(-len(cols["v"]) // a.frames)))
        images = load_images(cols["image"][keep], size=(pre.width, pre.height), crop=pre.crop)
        labels = r.normalise(cols["v"][keep], cols["w"][keep])
    except (OSError, KeyError, TypeError, DatasetError) as e:
        print(f"error: {a.model} / {a.dataset}: {e}", file=sys.stderr)
        return 2
    result = raw_mse(a.model, images, labels, int(dq["zero_point"]))
    print(json.dumps({"frames": len(images), "output_scale": dq["scale"],
                      "output_zero_point": dq["zero_point"], **result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
