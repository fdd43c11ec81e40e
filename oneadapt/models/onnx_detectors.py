"""Pretrained COCO detectors from ONNX files, differentiable in PyTorch.

One :class:`OnnxDetector` serves every supported family (YOLOX, FastestDet, NanoDet);
a small :class:`FamilySpec` holds what differs between them: colour normalisation,
resize mode, output decoding and NMS IoU. The network itself runs either as an
onnx2torch-converted ``nn.Module`` (``forward``: scores keep gradients with respect to
the input pixels, which DNNGrad needs) or through onnxruntime (``infer``: fast, no
gradients). Pre- and post-processing are the same torch code for both, so the two
paths differ only in the network backend.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from oneadapt.errors import ModelError
from oneadapt.models.base import DetectionModel, to_tensor
from oneadapt.models.onnx_graph import OnnxGraph, Outputs
from oneadapt.tasks.detection import Detections, nms

COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
    "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
    "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush",
)  # fmt: skip
"""The 80 COCO class names in the standard (contiguous id) order all these models use."""

STRIDES = (8, 16, 32)
NUM_CLASSES = len(COCO_CLASSES)

Network = Callable[[torch.Tensor], Outputs]
"""A network backend: preprocessed input [1, 3, h, w] -> raw outputs."""
Decoder = Callable[[Outputs, tuple[int, int]], tuple[torch.Tensor, torch.Tensor]]
"""Raw outputs and input size (h, w) -> boxes [A, 4] xyxy in input pixels, scores [A, 80]."""


@dataclass(frozen=True)
class FamilySpec:
    """What differs between detector families; everything else is shared."""

    name: str
    letterbox: bool
    """Keep-ratio resize padded with 114 at bottom/right (else stretch to the input size)."""
    mean: tuple[float, float, float]
    """Subtracted per channel, BGR order (all these models take BGR)."""
    std: tuple[float, float, float]
    decode: Decoder
    iou_threshold: float
    """The family's usual NMS IoU."""


def _grid(h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Column and row index of every cell, row-major, as float [h*w]."""
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return cols.reshape(-1).float(), rows.reshape(-1).float()


def _decode_yolox(out: Outputs, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Cells over strides 8/16/32: xy = (d + grid) * s, wh = exp(.) * s, score = obj * cls."""
    pred = out["output"][0]
    cols, rows, strides = [], [], []
    for s in STRIDES:
        c, r = _grid(size[0] // s, size[1] // s)
        cols.append(c)
        rows.append(r)
        strides.append(torch.full_like(c, s))
    col, row, stride = torch.cat(cols), torch.cat(rows), torch.cat(strides)
    cx = (pred[:, 0] + col) * stride
    cy = (pred[:, 1] + row) * stride
    w = torch.exp(pred[:, 2]) * stride
    h = torch.exp(pred[:, 3]) * stride
    boxes = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    return boxes, pred[:, 4:5] * pred[:, 5:]


def _decode_fastestdet(out: Outputs, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """One grid: centre = (cell + tanh) / grid, wh = sigmoid * image, obj^0.6 * cls^0.4."""
    raw = next(iter(out.values()))[0]
    gh, gw = raw.shape[1:]
    p = raw.permute(1, 2, 0).reshape(gh * gw, -1)
    col, row = _grid(gh, gw)
    cx = (torch.tanh(p[:, 1]) + col) / gw * size[1]
    cy = (torch.tanh(p[:, 2]) + row) / gh * size[0]
    w = torch.sigmoid(p[:, 3]) * size[1]
    h = torch.sigmoid(p[:, 4]) * size[0]
    boxes = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    # Clamped away from 0 so the fractional powers keep a finite gradient everywhere.
    obj = p[:, 0:1].clamp_min(1e-9) ** 0.6
    return boxes, obj * p[:, 5:].clamp_min(1e-9) ** 0.4


def _decode_nanodet(out: Outputs, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """GFL head: per side an 8-bin distance distribution, expectation x stride from centre."""
    all_boxes, all_scores = [], []
    for s in STRIDES:
        cls = out[f"cls_pred_stride_{s}"][0]
        dis = out[f"dis_pred_stride_{s}"][0]
        col, row = _grid(math.ceil(size[0] / s), math.ceil(size[1] / s))
        bins = dis.reshape(dis.shape[0], 4, -1).softmax(-1)
        dist = (bins * torch.arange(bins.shape[-1], dtype=bins.dtype)).sum(-1) * s
        cx, cy = col * s + (s - 1) / 2, row * s + (s - 1) / 2
        all_boxes.append(
            torch.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], 1)
        )
        all_scores.append(cls)
    return torch.cat(all_boxes), torch.cat(all_scores)


YOLOX = FamilySpec("yolox", True, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), _decode_yolox, 0.45)
FASTESTDET = FamilySpec(
    "fastestdet", False, (0.0, 0.0, 0.0), (255.0, 255.0, 255.0), _decode_fastestdet, 0.45
)
NANODET = FamilySpec(
    "nanodet", False, (103.53, 116.28, 123.675), (57.375, 57.12, 58.395), _decode_nanodet, 0.6
)
FAMILIES = (YOLOX, FASTESTDET, NANODET)


def detect_family(outputs: dict[str, list[int]]) -> FamilySpec | None:
    """The family whose output signature (names, shapes) the graph has, if any."""
    shapes = list(outputs.values())
    if len(shapes) == 1 and len(shapes[0]) == 3 and shapes[0][2] == 5 + NUM_CLASSES:
        if "output" in outputs:
            return YOLOX
    if len(shapes) == 1 and len(shapes[0]) == 4 and shapes[0][1] == 5 + NUM_CLASSES:
        return FASTESTDET
    wanted = {f"{k}_pred_stride_{s}" for k in ("cls", "dis") for s in STRIDES}
    if wanted <= set(outputs) and all(
        outputs[f"cls_pred_stride_{s}"][-1] == NUM_CLASSES for s in STRIDES
    ):
        return NANODET
    return None


class OnnxDetector(DetectionModel):
    """A YOLOX / FastestDet / NanoDet ONNX file as a :class:`Model` with two backends."""

    def __init__(
        self, path: str | Path | OnnxGraph, score_threshold: float = 0.05, max_detections: int = 100
    ) -> None:
        graph = path if isinstance(path, OnnxGraph) else OnnxGraph(path)
        self.path = graph.path
        family = detect_family(graph.outputs)
        if family is None:
            described = ", ".join(f"{n} {s}" for n, s in graph.outputs.items())
            raise ModelError(
                f"{self.path} is not a supported detector: outputs {described} match no known "
                "family (YOLOX, FastestDet, NanoDet), nor a supported segmenter or landmark "
                "model.",
                "Pass one of those ONNX models or --model builtin.",
            )
        shape = graph.input_shape
        if len(shape) != 4 or shape[1] != 3 or min(shape) <= 0:
            raise ModelError(
                f"{self.path} has input shape {shape}; a fixed [1, 3, H, W] input is needed.",
                "Export the detector with a static input size.",
            )
        self.family = family
        self.input_size = (shape[2], shape[3])
        self.score_threshold = score_threshold
        self.max_detections = max_detections
        self.id = f"{family.name}-{graph.digest}"
        self.class_names = COCO_CLASSES
        self._mean = torch.tensor(family.mean).view(1, 3, 1, 1)
        self._std = torch.tensor(family.std).view(1, 3, 1, 1)
        graph.load()
        self.graph = graph
        self.module = graph.module

    def forward(self, frames: torch.Tensor) -> list[Detections]:
        """Differentiable detection through the onnx2torch module (see :class:`Model`)."""
        return self._detect(frames, self.graph.run_torch)

    def infer(self, frames: np.ndarray) -> list[Detections]:
        """Same pre/post-processing as :meth:`forward`, network through onnxruntime."""
        with torch.no_grad():
            return self._detect(to_tensor(frames), self.graph.run_onnxruntime)

    def _detect(self, frames: torch.Tensor, network: Network) -> list[Detections]:
        # The exported graphs have a fixed batch of 1.
        return [self._detect_frame(frames[i : i + 1].float(), network) for i in range(len(frames))]

    def _preprocess(self, frame: torch.Tensor) -> tuple[torch.Tensor, float, float]:
        """RGB [1, 3, H, W] 0..255 -> network input, and x/y scale from frame to input."""
        x = frame.flip(1)  # RGB -> BGR
        (height, width), (in_h, in_w) = frame.shape[2:], self.input_size
        if self.family.letterbox:
            ratio = min(in_h / height, in_w / width)
            size = (int(height * ratio), int(width * ratio))
            sx = sy = ratio
        else:
            size = (in_h, in_w)
            sx, sy = in_w / width, in_h / height
        if size != (height, width):
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        if self.family.letterbox:
            x = F.pad(x, (0, in_w - size[1], 0, in_h - size[0]), value=114.0)
        return (x - self._mean) / self._std, sx, sy

    def _detect_frame(self, frame: torch.Tensor, network: Network) -> Detections:
        x, sx, sy = self._preprocess(frame)
        boxes, class_scores = self.family.decode(network(x.contiguous()), self.input_size)
        scores, classes = class_scores.max(1)
        keep = torch.nonzero(scores.detach() >= self.score_threshold).squeeze(1)
        if len(keep) == 0:
            return Detections.empty()
        # Bound the O(n^2) NMS on cluttered frames; 10x the output cap loses nothing.
        top = torch.argsort(scores.detach()[keep], descending=True)[: 10 * self.max_detections]
        keep = keep[top]
        height, width = frame.shape[2:]
        scale = torch.tensor([sx, sy, sx, sy])
        limit = torch.tensor([width, height, width, height], dtype=torch.float32)
        boxes = torch.minimum((boxes[keep] / scale).clamp_min(0), limit)
        scores, classes = scores[keep], classes[keep]
        kept = nms(boxes, scores, classes, self.family.iou_threshold)[: self.max_detections]
        return Detections(boxes[kept], scores[kept], classes[kept])
