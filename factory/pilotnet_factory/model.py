"""The PilotNet network of DeepLearningStudio (Formula1-FollowLine, PyTorch), layer for layer.

BatchNorm(3) -> conv 24-5s2, 36-5s2, 48-5s2, 64-3s1, 64-3s1 (ReLU) -> flatten 1152
-> FC 1164, 100, 50, 10 (ReLU) -> 2 outputs. 1,595,528 parameters for a 66x200 RGB input.
"""

from __future__ import annotations

import torch
from torch import nn

#: Input the network takes: channels, height, width (a 66x200 RGB crop in [0, 1]).
INPUT_SHAPE = (3, 66, 200)

#: Parameter count of the DeepLearningStudio network for INPUT_SHAPE and 2 outputs.
PARAMETERS = 1_595_528


def he_init(model: nn.Module) -> nn.Module:
    """He (Kaiming) initialisation for a ReLU network: normal weights with variance 2/fan_in,
    zero biases; the last layer (no ReLU after it) gets variance 1/fan_in.

    PyTorch's default initialisation shrinks the signal layer by layer, so PilotNet's ten
    `fc_4` units are decided by the sign of their random biases: about half are dead for every
    input from the start (with seed 1, all ten are, and training cannot move at all). He
    initialisation keeps the activations' scale through the nine layers, so every unit starts
    alive on some inputs."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        nn.init.kaiming_normal_(layer.weight, nonlinearity="linear" if last else "relu")
        nn.init.zeros_(layer.bias)
    return model


class PilotNet(nn.Module):
    """DeepLearningStudio's PilotNet: image in, two normalised labels (v, w) out."""

    def __init__(self, num_outputs: int = 2) -> None:
        super().__init__()
        channels, height, width = INPUT_SHAPE
        self.ln_1 = nn.BatchNorm2d(channels, eps=1e-3)
        self.cn_1 = nn.Conv2d(channels, 24, kernel_size=5, stride=2)
        self.relu1 = nn.ReLU()
        self.cn_2 = nn.Conv2d(24, 36, kernel_size=5, stride=2)
        self.relu2 = nn.ReLU()
        self.cn_3 = nn.Conv2d(36, 48, kernel_size=5, stride=2)
        self.relu3 = nn.ReLU()
        self.cn_4 = nn.Conv2d(48, 64, kernel_size=3, stride=1)
        self.relu4 = nn.ReLU()
        self.cn_5 = nn.Conv2d(64, 64, kernel_size=3, stride=1)
        self.relu5 = nn.ReLU()
        self.fc_1 = nn.Linear(1 * 18 * 64, 1164)
        self.relu_fc1 = nn.ReLU()
        self.fc_2 = nn.Linear(1164, 100)
        self.relu_fc2 = nn.ReLU()
        self.fc_3 = nn.Linear(100, 50)
        self.relu_fc3 = nn.ReLU()
        self.fc_4 = nn.Linear(50, 10)
        self.relu_fc4 = nn.ReLU()
        self.fc_5 = nn.Linear(10, num_outputs)
        # Where quantized execution starts and ends (QuantPilotNet); no-ops here.
        self.quant: nn.Module = nn.Identity()
        self.dequant: nn.Module = nn.Identity()

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        out = self.quant(self.ln_1(img))
        out = self.relu1(self.cn_1(out))
        out = self.relu2(self.cn_2(out))
        out = self.relu3(self.cn_3(out))
        out = self.relu4(self.cn_4(out))
        out = self.relu5(self.cn_5(out))
        out = out.reshape(out.size(0), -1)
        out = self.relu_fc1(self.fc_1(out))
        out = self.relu_fc2(self.fc_2(out))
        out = self.relu_fc3(self.fc_3(out))
        out = self.relu_fc4(self.fc_4(out))
        return self.dequant(self.fc_5(out))


def parameter_count(model: nn.Module) -> int:
    """Trainable parameters of `model`."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class QuantPilotNet(PilotNet):
    """PilotNet arranged for eager-mode quantization (fbgemm): the input BatchNorm stays in
    float, a QuantStub follows it, each conv/linear is fused with its ReLU (`FUSE`), a
    DeQuantStub ends the network. Same layers and parameter names, so a PilotNet state dict
    loads unchanged; the forward pass is PilotNet's."""

    def __init__(self, num_outputs: int = 2) -> None:
        super().__init__(num_outputs)
        from torch.ao.quantization import DeQuantStub, QuantStub

        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    #: Conv/linear + ReLU pairs fused before quantization.
    FUSE = [["cn_1", "relu1"], ["cn_2", "relu2"], ["cn_3", "relu3"], ["cn_4", "relu4"],
            ["cn_5", "relu5"], ["fc_1", "relu_fc1"], ["fc_2", "relu_fc2"],
            ["fc_3", "relu_fc3"], ["fc_4", "relu_fc4"]]
