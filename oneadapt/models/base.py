"""The :class:`Model` interface every detector implements (built-in, ONNX, PyTorch).

``forward`` is the differentiable path used for DNNGrad: float RGB frames in, detections
whose scores carry gradients with respect to the input pixels out. ``infer`` is the fast
no-gradient path used for accuracy measurement; it may run another backend (onnxruntime)
on the same weights.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

import numpy as np
import torch

from oneadapt.tasks.detection import Detections


class Model(abc.ABC):
    """A detector. Frames are RGB in 0..255 at any size; boxes come back in frame pixels."""

    id: str
    """Stable identity (family and weights hash) used to key cached inference results."""
    class_names: Sequence[str]

    @abc.abstractmethod
    def forward(self, frames: torch.Tensor) -> list[Detections]:
        """Differentiable detection on float frames [N, 3, H, W] (RGB, 0..255)."""

    def infer(self, frames: np.ndarray) -> list[Detections]:
        """Detections on uint8 RGB frames [N, H, W, 3], without gradients."""
        with torch.no_grad():
            return [d.detach() for d in self.forward(to_tensor(frames))]


def to_tensor(frames: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    """uint8 RGB [N, H, W, 3] -> float [N, 3, H, W] in 0..255 (a leaf when grad is wanted)."""
    t = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float().contiguous()
    return t.requires_grad_(requires_grad)
