"""A Behavior Metrics-style brain in Python, the comparison for the Rust node's latency.

    python3 tests/ros/python_brain.py MODEL.onnx [--camera TOPIC] [--cmd TOPIC]

What Behavior Metrics' Python brains do per frame, in its fastest spelling: an rclpy camera
callback (sensor-data QoS), the image's bytes viewed as a NumPy array (no copy, as cv_bridge's
imgmsg_to_cv2 does for rgb8), the crop and `cv2.resize` of the model's description
(`MODEL.yaml` beside it), scaling to [0, 1] in NCHW, ONNX Runtime on one thread, the outputs
mapped to v and w as the description says, a Twist published. tests/ros/test_ros.py runs it and
the Rust node on the same camera stream, one after the other.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import rclpy
import yaml
from geometry_msgs.msg import Twist
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image


class PythonBrain(Node):
    def __init__(self, model: Path, camera: str, cmd: str) -> None:
        super().__init__("python_brain")
        description = yaml.safe_load(model.with_suffix(".yaml").read_text())
        inp, out = description["input"], description["output"]
        if (inp["color"], inp["scaling"], inp["layout"]) != ("rgb", "unit", "nchw"):
            raise SystemExit(f"python_brain: {model}: only rgb, unit scaling, nchw inputs")
        c = inp["crop"]
        self.rows, self.cols = slice(c["top"], c["bottom"]), slice(c["left"], c["right"])
        self.size = (inp["size"]["width"], inp["size"]["height"])
        self.v, self.w = out["v"], out["w"]
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        cv2.setNumThreads(1)
        self.pub = self.create_publisher(Twist, cmd, QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        self.create_subscription(Image, camera, self.on_image, qos_profile_sensor_data)

    def on_image(self, msg: Image) -> None:
        if msg.encoding != "rgb8":
            self.get_logger().warn(f"dropping a {msg.encoding} image: rgb8 only")
            return
        rgb = np.frombuffer(msg.data, dtype=np.uint8).reshape(msg.height, msg.step // 3, 3)
        small = cv2.resize(rgb[self.rows, self.cols], self.size, interpolation=cv2.INTER_LINEAR)
        x = np.ascontiguousarray((small.astype(np.float32) / 255.0).transpose(2, 0, 1))[np.newaxis]
        y = self.session.run(None, {self.input: x})[0].reshape(-1)
        twist = Twist()
        twist.linear.x = float(y[self.v["index"]] * self.v["scale"] + self.v["offset"])
        twist.angular.z = float(y[self.w["index"]] * self.w["scale"] + self.w["offset"])
        self.pub.publish(twist)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--camera", default="/F1ROS/cameraL/image_raw")
    parser.add_argument("--cmd", default="/F1ROS/cmd_vel")
    args = parser.parse_args()
    rclpy.init()
    node = PythonBrain(args.model, args.camera, args.cmd)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
