"""Export the built-in detector as an ONNX file in the YOLOX output layout, so the ONNX
path (onnxruntime, onnx2torch, :class:`OnnxDetector`) runs on a model of the project's own."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from oneadapt.media.scene import SCENE_CLASSES
from oneadapt.models.builtin import CenterNet, load_builtin
from oneadapt.models.onnx_detectors import COCO_CLASSES, NUM_CLASSES, STRIDES

INPUT = 1280
"""Square input: halved inside the graph, the network sees 640 pixels wide (its training
width) and its stride-4 cells are YOLOX's stride-8 cells of the input."""


class YoloxLayout(nn.Module):
    """BGR 0..255 [1, 3, INPUT, INPUT] -> ``output`` [1, A, 85] as YOLOX writes it: stride-8
    rows from the CenterNet heads (offset, log size, peak score on the scene classes' COCO
    ids), stride-16/32 rows all zero."""

    def __init__(self, net: CenterNet) -> None:
        super().__init__()
        self.net = net
        columns = torch.zeros(len(SCENE_CLASSES), NUM_CLASSES)
        for i, name in enumerate(SCENE_CLASSES):
            columns[i, COCO_CLASSES.index(name)] = 1.0
        self.register_buffer("columns", columns)
        cells = sum((INPUT // s) ** 2 for s in STRIDES[1:])
        self.register_buffer("empty", torch.zeros(1, cells, 5 + NUM_CLASSES))

    def forward(self, bgr: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(bgr.flip(1), 2) / 255.0 - 0.5
        heat_logits, log_size, offset = self.net(x)
        heat = torch.sigmoid(heat_logits)
        peaks = (heat == F.max_pool2d(heat, 3, 1, 1)).float()
        scores = (heat * peaks).flatten(2).transpose(1, 2) @ self.columns
        rows = torch.cat(
            [
                offset.flatten(2).transpose(1, 2),
                log_size.clamp(-16.0, 8.0).flatten(2).transpose(1, 2),
                torch.ones_like(scores[..., :1]),
                scores,
            ],
            2,
        )
        return torch.cat([rows, self.empty], 1)


def export_builtin_onnx(path: Path) -> Path:
    """Write the built-in detector's committed weights as a YOLOX-layout ONNX file."""
    module = YoloxLayout(load_builtin().net).eval()
    export(module, torch.zeros(1, 3, INPUT, INPUT), path, "images", "output")
    return path


def export(module: nn.Module, example: torch.Tensor, path: Path, source: str, out: str) -> None:
    """``torch.onnx.export`` with the TorchScript exporter (the dynamo one needs onnxscript,
    not a dependency of this project), opset 13."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=[source],
            output_names=[out],
            opset_version=13,
            dynamo=False,
        )
