"""DeepestLSTMTinyPilotNet, the network Behavior Metrics' authors trained in its Gazebo world,
layer for layer with the names of their state dict (`cn_1`, `clstm_n.cell_list.0.conv`, `fc_1`):

conv 8-3s2, 8-3s2, 8-3s2 (ReLU) on a 50x100 RGB crop -> a 3-cell ConvLSTM (hidden 8, 5x5,
padding 2) over a sequence of one frame from zero state -> the last cell's h (8x5x11 = 440)
-> FC 50, 10 (ReLU) -> 2 outputs, normalised: v = p0 * 6, w = (p1 - 0.5) * 6.
"""

from __future__ import annotations

import torch
from torch import nn

#: Input the network takes: channels, height, width (rows 240-480 resized to 100x50).
INPUT_SHAPE = (3, 50, 100)

#: Hidden channels of the ConvLSTM cells.
HIDDEN = 8


class ConvLSTMCell(nn.Module):
    """One ConvLSTM cell: the input and h concatenated on channels, one convolution split into
    the input, forget, output gates and the candidate, in that order."""

    def __init__(self, input_dim: int, hidden_dim: int = HIDDEN, kernel: int = 5) -> None:
        super().__init__()
        self.hidden_dim = hidden_dim
        self.conv = nn.Conv2d(input_dim + hidden_dim, 4 * hidden_dim, kernel_size=kernel,
                              padding=kernel // 2, bias=True)

    def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        i, f, o, g = torch.split(self.conv(torch.cat([x, h], dim=1)), self.hidden_dim, dim=1)
        c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c_next), c_next


class ConvLSTM(nn.Module):
    """Stacked cells; each frame of the sequence goes through all of them, from zero state."""

    def __init__(self, input_dim: int = 8, hidden_dim: int = HIDDEN, layers: int = 3) -> None:
        super().__init__()
        self.cell_list = nn.ModuleList(
            ConvLSTMCell(input_dim if k == 0 else hidden_dim, hidden_dim) for k in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The last cell's h after a sequence of one frame `x` (N, C, H, W)."""
        out = x
        for cell in self.cell_list:
            zero = torch.zeros(out.shape[0], cell.hidden_dim, out.shape[2], out.shape[3],
                               dtype=out.dtype, device=out.device)
            out, _ = cell(out, zero, zero)
        return out


class DeepestLSTMTinyPilotNet(nn.Module):
    """Image in (N, 3, 50, 100, RGB in [0, 1]), two normalised labels (v, w) out."""

    def __init__(self, num_outputs: int = 2) -> None:
        super().__init__()
        self.cn_1 = nn.Conv2d(3, 8, kernel_size=3, stride=2)
        self.cn_2 = nn.Conv2d(8, 8, kernel_size=3, stride=2)
        self.cn_3 = nn.Conv2d(8, 8, kernel_size=3, stride=2)
        self.clstm_n = ConvLSTM(8, HIDDEN, 3)
        self.fc_1 = nn.Linear(HIDDEN * 5 * 11, 50)
        self.fc_2 = nn.Linear(50, 10)
        self.fc_3 = nn.Linear(10, num_outputs)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.cn_1(img))
        out = torch.relu(self.cn_2(out))
        out = torch.relu(self.cn_3(out))
        # Dropout (0.2 in training) is the identity at inference.
        out = self.clstm_n(out)
        out = out.reshape(out.shape[0], -1)
        out = torch.relu(self.fc_1(out))
        out = torch.relu(self.fc_2(out))
        return self.fc_3(out)
