"""The built-in detector: a small CenterNet-style network trained on the procedural scene.

It ships with the package (``weights/builtin.pt``, a plain state_dict) so the main job
runs with no download. Frames are resized to 640 pixels wide, a strided conv backbone
with a light feature pyramid predicts, at stride 4, a per-class centre heatmap, the box
size (log, in cells) and the sub-cell centre offset. Scores are heatmap peak values, so
they keep gradients with respect to the input pixels (what DNNGrad back-propagates).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from oneadapt.media.scene import SCENE_CLASSES
from oneadapt.models.base import DetectionModel
from oneadapt.models.centernet import PyramidCenterNet, cbr, corners, decode_peaks, load_weights
from oneadapt.tasks.detection import Detections

WEIGHTS_PATH = Path(__file__).resolve().parent / "weights" / "builtin.pt"
INPUT_WIDTH = 640
STRIDE = 4
TOP_K = 100
MIN_SCORE = 0.01
NMS_IOU = 0.7


class CenterNet(PyramidCenterNet):
    """Backbone to stride 32, top-down fusion back to stride 4, three 1x1 heads; log size
    and offset in output cells."""

    def __init__(self, num_classes: int = len(SCENE_CLASSES)) -> None:
        super().__init__(
            stages={
                "s4": nn.Sequential(cbr(3, 16, 2), cbr(16, 24, 2), cbr(24, 24)),
                "s8": nn.Sequential(cbr(24, 48, 2), cbr(48, 48), cbr(48, 48)),
                "s16": nn.Sequential(cbr(48, 96, 2), cbr(96, 96), cbr(96, 96)),
                "s32": nn.Sequential(cbr(96, 128, 2), cbr(128, 128)),
            },
            fusions={
                "16": (nn.Conv2d(128, 96, 1), cbr(96, 96)),
                "8": (nn.Conv2d(96, 48, 1), cbr(48, 48)),
                "4": (nn.Conv2d(48, 24, 1), nn.Sequential(cbr(24, 32), cbr(32, 32))),
            },
            channels=32,
            num_classes=num_classes,
        )


def input_size(width: int, height: int) -> tuple[int, int]:
    """Network input (width, height): 640 wide, aspect kept."""
    return INPUT_WIDTH, max(32, round(height * INPUT_WIDTH / width))


def prepare(frames: torch.Tensor) -> torch.Tensor:
    """Float RGB 0..255 [N, 3, H, W] -> resized, normalized network input (differentiable)."""
    w, h = input_size(frames.shape[-1], frames.shape[-2])
    if (frames.shape[-1], frames.shape[-2]) != (w, h):
        frames = F.interpolate(frames, size=(h, w), mode="bilinear", antialias=True)
    return frames / 255.0 - 0.5


def decode(
    heat_logits: torch.Tensor, log_size: torch.Tensor, offset: torch.Tensor, scale: float
) -> list[Detections]:
    """Detections in frame pixels: box coordinates in output cells times ``STRIDE * scale``."""
    return decode_peaks(
        heat_logits,
        log_size,
        offset,
        top_k=TOP_K,
        min_score=MIN_SCORE,
        nms_iou=NMS_IOU,
        max_log_size=8.0,
        place=lambda cx, cy, size: corners(cx, cy, size) * (STRIDE * scale),
    )


class BuiltinModel(DetectionModel):
    """The committed CenterNet weights behind the :class:`DetectionModel` interface."""

    class_names = SCENE_CLASSES

    def __init__(self, net: CenterNet, weights_id: str) -> None:
        self.net = net.eval()
        self.id = f"builtin-{weights_id}"

    def forward(self, frames: torch.Tensor) -> list[Detections]:
        """Boxes in the frames' pixels; scores carry gradients w.r.t. ``frames``."""
        x = prepare(frames)
        heat, size, offset = self.net(x)
        scale = frames.shape[-1] / x.shape[-1]
        dets = decode(heat, size, offset, scale)
        width, height = frames.shape[-1], frames.shape[-2]
        for d in dets:
            d.boxes = torch.stack(
                [
                    d.boxes[:, 0].clamp(0, width),
                    d.boxes[:, 1].clamp(0, height),
                    d.boxes[:, 2].clamp(0, width),
                    d.boxes[:, 3].clamp(0, height),
                ],
                1,
            )
        return dets


def load_builtin(path: Path | None = None) -> BuiltinModel:
    """The built-in detector from its committed weights (no download)."""
    path = Path(path) if path is not None else WEIGHTS_PATH
    fix = "Reinstall oneadapt, or recreate the weights with `oneadapt train-builtin`."
    net = CenterNet()
    return BuiltinModel(net, load_weights(net, path, "built-in model", fix))
