"""A face-landmark model from an ONNX file (YuNet layout), differentiable in PyTorch like the
detectors (:mod:`oneadapt.models.onnx_graph`).

YuNet takes BGR 0..255 [1, 3, H, W] and writes, per stride s in 8/16/32, ``cls_s`` and
``obj_s`` [1, N, 1] (sigmoid), ``bbox_s`` [1, N, 4] and ``kps_s`` [1, N, 2K]: score =
sqrt(cls obj), centre = (cell + d) s, size = exp(.) s, landmark = (cell + k) s. A graph
with a dynamic input sees the frame padded to a multiple of 32 (no resize, so small faces
keep their pixels); a fixed-size one sees it stretched to its size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from oneadapt.errors import ModelError
from oneadapt.models.base import Model, to_tensor
from oneadapt.models.onnx_graph import OnnxGraph, Outputs
from oneadapt.tasks.detection import Detections, nms
from oneadapt.tasks.keypoints import Keypoints, KeypointTask

STRIDES = (8, 16, 32)
HEADS = ("cls", "obj", "bbox", "kps")
MIN_SCORE = 0.05
"""Candidates kept before NMS (the task's threshold, 0.5, decides what counts)."""
NMS_IOU = 0.3
"""YuNet's usual NMS IoU."""


def is_landmark_model(graph: OnnxGraph) -> bool:
    """Whether the graph has YuNet's outputs (every head at every stride)."""
    return {f"{h}_{s}" for h in HEADS for s in STRIDES} <= set(graph.outputs)


def _cells(h: int, w: int, stride: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Column and row of every cell of a stride's grid, row-major, as float [h*w]."""
    rows, cols = torch.meshgrid(
        torch.arange(math.ceil(h / stride)), torch.arange(math.ceil(w / stride)), indexing="ij"
    )
    return cols.reshape(-1).float(), rows.reshape(-1).float()


def decode(out: Outputs, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Boxes [A, 4] xyxy, scores [A] and landmarks [A, K, 2] in input pixels."""
    boxes, scores, points = [], [], []
    for s in STRIDES:
        col, row = _cells(*size, s)
        cls, obj = out[f"cls_{s}"][0, :, 0], out[f"obj_{s}"][0, :, 0]
        box, kps = out[f"bbox_{s}"][0], out[f"kps_{s}"][0]
        # Clamped away from 0 so the square root keeps a finite gradient everywhere.
        scores.append((cls.clamp(1e-9, 1.0) * obj.clamp(1e-9, 1.0)).sqrt())
        cx, cy = (col + box[:, 0]) * s, (row + box[:, 1]) * s
        w, h = torch.exp(box[:, 2]) * s, torch.exp(box[:, 3]) * s
        boxes.append(torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1))
        k = kps.reshape(len(kps), -1, 2)
        points.append((k + torch.stack([col, row], 1)[:, None, :]) * s)
    return torch.cat(boxes), torch.cat(scores), torch.cat(points)


class OnnxLandmarks(Model[Keypoints]):
    """YuNet as a :class:`Model`: face instances with 5 landmarks each; ``forward`` through
    onnx2torch (scores keep gradients w.r.t. the frames), ``infer`` through onnxruntime."""

    output_type = Keypoints

    def __init__(self, path: str | Path | OnnxGraph) -> None:
        graph = path if isinstance(path, OnnxGraph) else OnnxGraph(path)
        shape = graph.input_shape
        if not is_landmark_model(graph) or len(shape) != 4 or shape[1] != 3:
            raise ModelError(
                f"{graph.path} is not a YuNet face-landmark model (input {shape}, outputs "
                f"{', '.join(graph.outputs)}).",
                "Pass a YuNet export (e.g. yunet_s_dynamic.onnx).",
            )
        if min(shape[2:]) > 0 and (shape[2] % STRIDES[-1] or shape[3] % STRIDES[-1]):
            raise ModelError(
                f"{graph.path} has input {shape}; YuNet's grids need sides that are "
                f"multiples of {STRIDES[-1]}.",
                "Export it with such a size, or with a dynamic input.",
            )
        self.input_size = (shape[2], shape[3]) if min(shape[2:]) > 0 else None
        """Fixed (height, width), or None for a dynamic input (frames padded to 32)."""
        self.points = graph.outputs[f"kps_{STRIDES[0]}"][-1] // 2
        self.id = f"yunet-{graph.digest}"
        graph.load()
        self.graph = graph

    def task(self, classes: Sequence[str] | None = None) -> KeypointTask:
        """Faces and their landmarks (one class: ``classes`` does not apply)."""
        return KeypointTask()

    def input_tensor(self, items: Sequence[np.ndarray]) -> torch.Tensor:
        """uint8 RGB frames [N, H, W, 3] -> float [N, 3, H, W] in 0..255."""
        return to_tensor(np.asarray(items))

    def forward(self, x: torch.Tensor) -> list[Keypoints]:
        """Faces and landmarks in frame pixels; scores carry gradients w.r.t. ``x``."""
        return [self._frame(x[i : i + 1].float(), self.graph.run_torch) for i in range(len(x))]

    def infer(self, items: Sequence[np.ndarray]) -> list[Keypoints]:
        """Same pre- and post-processing as :meth:`forward`, network through onnxruntime."""
        with torch.no_grad():
            x = self.input_tensor(items)
            return [self._frame(x[i : i + 1], self.graph.run_onnxruntime) for i in range(len(x))]

    def _frame(self, frame: torch.Tensor, network: Callable[[torch.Tensor], Outputs]) -> Keypoints:
        height, width = frame.shape[2:]
        bgr = frame.flip(1)
        if self.input_size is None:
            size = (math.ceil(height / 32) * 32, math.ceil(width / 32) * 32)
            x = F.pad(bgr, (0, size[1] - width, 0, size[0] - height))
            sx = sy = 1.0
        else:
            size = self.input_size
            x = F.interpolate(bgr, size=size, mode="bilinear", align_corners=False)
            sx, sy = size[1] / width, size[0] / height
        boxes, scores, points = decode(network(x.contiguous()), size)
        keep = torch.nonzero(scores.detach() >= MIN_SCORE).squeeze(1)
        if len(keep) == 0:
            return Keypoints.empty(self.points)
        scale = torch.tensor([sx, sy])
        boxes = boxes[keep] / scale.repeat(2)
        points = points[keep] / scale
        classes = torch.zeros(len(keep), dtype=torch.long)
        kept = nms(boxes, scores[keep], classes, NMS_IOU)
        return Keypoints(Detections(boxes[kept], scores[keep][kept], classes[kept]), points[kept])
