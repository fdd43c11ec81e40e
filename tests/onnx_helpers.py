"""Export the built-in detector as ONNX files in the YOLOX, DeepLab (VOC segmentation) and
YuNet (face landmarks) output layouts, so the ONNX paths (onnxruntime, onnx2torch,
:class:`OnnxDetector`, :class:`OnnxSegmenter`, :class:`OnnxLandmarks`) run on models of the
project's own: its heatmaps become class logits, its person centres "faces"."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from oneadapt.media.scene import PERSON, SCENE_CLASSES
from oneadapt.models.builtin import CenterNet, load_builtin
from oneadapt.models.onnx_detectors import COCO_CLASSES, NUM_CLASSES, STRIDES
from oneadapt.models.onnx_segmenter import VOC_CLASSES

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


SEGMENTER_INPUT = 129
"""The segmenter's square input and output grid (DeepLab's is 257)."""
NETWORK_SIZE = (480, 640)
"""What the built-in network sees inside the segmenter graph: 640 wide (its training
width), 4:3 like the test clip."""


class DeepLabLayout(nn.Module):
    """RGB NHWC -1..1 [1, S, S, 3] -> VOC logits NHWC [1, S, S, 21]: the scene classes' heatmap
    logits on their VOC ids (truck on car), background -6 (so an object's pixels are those
    of its centre's heatmap peak above sigmoid(-6)), the other classes -10."""

    def __init__(self, net: CenterNet) -> None:
        super().__init__()
        self.net = net
        columns = torch.zeros(len(VOC_CLASSES), len(SCENE_CLASSES))
        for i, name in enumerate(SCENE_CLASSES):
            columns[VOC_CLASSES.index("car" if name == "truck" else name), i] = 1.0
        bias = torch.full((len(VOC_CLASSES),), -10.0)
        bias[0] = -6.0
        bias[columns.sum(1) > 0] = 0.0
        self.register_buffer("columns", columns)
        self.register_buffer("bias", bias)

    def forward(self, nhwc: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(nhwc.permute(0, 3, 1, 2) / 2.0, size=NETWORK_SIZE, mode="bilinear")
        heat_logits = self.net(x)[0]
        heat = F.interpolate(heat_logits, size=nhwc.shape[1:3], mode="bilinear")
        logits = torch.einsum("vc,nchw->nhwv", self.columns, heat) + self.bias
        return logits.contiguous()


def export_segmenter_onnx(path: Path) -> Path:
    """Write the built-in detector's weights as a DeepLab-layout VOC segmenter."""
    module = DeepLabLayout(load_builtin().net).eval()
    example = torch.zeros(1, SEGMENTER_INPUT, SEGMENTER_INPUT, 3)
    export(module, example, path, "sub_7", ["ResizeBilinear_3"])
    return path


LANDMARK_INPUT = (256, 320)
"""The landmark graph's fixed input (multiples of 32, as YuNet needs)."""
FACE_POINTS = ((-0.2, -0.25), (0.2, -0.25), (0.0, 0.0), (-0.15, 0.25), (0.15, 0.25))
"""Landmarks at fixed fractions of the box (eyes, nose, mouth corners), from its centre."""


class YuNetLayout(nn.Module):
    """BGR 0..255 [1, 3, H, W] -> YuNet's 12 outputs: stride-8 cells from the person heatmap
    (cls = its sigmoid, obj 1, box from the size head, landmarks at :data:`FACE_POINTS`),
    strides 16 and 32 empty."""

    def __init__(self, net: CenterNet) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("points", torch.tensor(FACE_POINTS))

    def forward(self, bgr: torch.Tensor) -> tuple[torch.Tensor, ...]:
        network_size = (LANDMARK_INPUT[0] * 2, LANDMARK_INPUT[1] * 2)
        x = F.interpolate(bgr.flip(1), size=network_size, mode="bilinear") / 255.0 - 0.5
        heat_logits, log_size, _ = self.net(x)
        # Network cells are 4 of its pixels, 2 input pixels here: 4 per stride-8 cell.
        heat = torch.sigmoid(F.max_pool2d(heat_logits[:, PERSON : PERSON + 1], 4))
        heat = heat * (heat == F.max_pool2d(heat, 3, 1, 1)).float()  # one cell per peak
        size = F.avg_pool2d(log_size, 4) + math.log(2.0 / 8.0)
        cls = heat.flatten(2).transpose(1, 2)
        wh = size.flatten(2).transpose(1, 2).clamp(-8.0, 4.0)
        box = torch.cat([torch.full_like(wh, 0.5), wh], 2)
        extent = torch.exp(wh)[:, :, None, :]  # box size in cells, [1, N, 1, 2]
        kps = (0.5 + self.points[None, None] * extent).flatten(2)
        outs = {"cls": cls, "obj": torch.ones_like(cls), "bbox": box, "kps": kps}
        heads = []
        for name in ("cls", "obj", "bbox", "kps"):
            width = outs[name].shape[2]
            heads.append(outs[name])
            for s in (16, 32):
                n = (LANDMARK_INPUT[0] // s) * (LANDMARK_INPUT[1] // s)
                heads.append(torch.zeros(1, n, width))
        return tuple(heads)


def export_landmarks_onnx(path: Path) -> Path:
    """Write the built-in detector's weights as a YuNet-layout face-landmark model."""
    module = YuNetLayout(load_builtin().net).eval()
    names = [f"{h}_{s}" for h in ("cls", "obj", "bbox", "kps") for s in (8, 16, 32)]
    export(module, torch.zeros(1, 3, *LANDMARK_INPUT), path, "input", names)
    return path


def export(
    module: nn.Module, example: torch.Tensor, path: Path, source: str, out: str | list[str]
) -> None:
    """``torch.onnx.export`` with the TorchScript exporter (the dynamo one needs onnxscript,
    not a dependency of this project), opset 13."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=[source],
            output_names=[out] if isinstance(out, str) else out,
            opset_version=13,
            dynamo=False,
        )
