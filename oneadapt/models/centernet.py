"""The network shape both built-in detectors share: CenterNet heads on a small pyramid.

The camera detector (:class:`~oneadapt.models.builtin.CenterNet`) and the LiDAR one
(:class:`~oneadapt.models.builtin_lidar.BevNet`) differ only in their input channels,
their stages' widths and strides and how many levels they fuse; the wiring is this one
class. The stage and fusion names are the committed weight files' state_dict keys, and
the layers are built in the order the trainers always built them (stages, then each
fusion's lateral and fuse convs from the deepest level up, then the heads), so the
seeded initialisation and the shipped weights are those of before.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from oneadapt.errors import ModelError
from oneadapt.tasks.detection import Detections, nms


def cbr(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    """3x3 convolution (no bias: the batch norm has one), batch norm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class PyramidCenterNet(nn.Module):
    """Backbone ``stages`` run in order; from the last stage's output, each of ``fusions``
    (deepest first) adds a 1x1 lateral projection, upsampled, to the output of the stage
    one level shallower and fuses the sum; three 1x1 heads on the last fused map predict
    per-class centre heat logits, log size and centre offset (two channels each).
    """

    def __init__(
        self,
        stages: Mapping[str, nn.Module],
        fusions: Mapping[str, tuple[nn.Module, nn.Module]],
        channels: int,
        num_classes: int,
    ) -> None:
        """``stages`` by attribute name (``s4``); ``fusions`` by level (``16`` registers
        ``lat16`` and ``fuse16``), each a (lateral, fuse) pair; ``channels`` the width of
        the last fused map."""
        super().__init__()
        for name, stage in stages.items():
            self.add_module(name, stage)
        for level, (lateral, fuse) in fusions.items():
            self.add_module(f"lat{level}", lateral)
            self.add_module(f"fuse{level}", fuse)
        self._stages = tuple(stages.values())
        self._fusions = tuple(fusions.values())
        self.heat = nn.Conv2d(channels, num_classes, 1)
        self.size = nn.Conv2d(channels, 2, 1)
        self.offset = nn.Conv2d(channels, 2, 1)
        nn.init.constant_(self.heat.bias, -2.19)  # prior 0.1: stable focal-loss start

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Input [N, C, H, W] -> heat logits, log size, offset at the output stride."""
        features = []
        for stage in self._stages:
            x = stage(x)
            features.append(x)
        skips = features[-len(self._fusions) - 1 : -1]
        fused = features[-1]
        for (lateral, fuse), skip in zip(self._fusions, reversed(skips), strict=True):
            fused = fuse(skip + F.interpolate(lateral(fused), size=skip.shape[-2:]))
        return self.heat(fused), self.size(fused), self.offset(fused)


def focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss, normalized by the number of objects."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    pos_loss = torch.log(p) * (1 - p) ** 2 * pos
    neg_loss = torch.log(1 - p) * p**2 * (1 - target) ** 4 * (1 - pos)
    return -(pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp(min=1.0)


def centre_loss(
    heads: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    targets: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
) -> torch.Tensor:
    """Focal loss on the heatmaps plus L1 on log size and offset at object centres.

    ``heads`` as the network returns them; ``targets`` the heatmaps and, per object, its
    flat cell index over the batch, log size and offset.
    """
    heat_logits, log_size, offset = heads
    heat_t, index, size_t, offset_t = targets
    loss = focal_loss(heat_logits, heat_t)
    if len(index):
        flat_size = log_size.permute(1, 0, 2, 3).reshape(2, -1)[:, index].T
        flat_off = offset.permute(1, 0, 2, 3).reshape(2, -1)[:, index].T
        loss = loss + F.l1_loss(flat_size, size_t) + F.l1_loss(flat_off, offset_t)
    return loss


def corners(cx: torch.Tensor, cy: torch.Tensor, size: torch.Tensor) -> torch.Tensor:
    """[N, 4] x1, y1, x2, y2 boxes around centres ``cx``, ``cy`` of ``size`` [2, N] (w, h)."""
    return torch.stack([cx - size[0] / 2, cy - size[1] / 2, cx + size[0] / 2, cy + size[1] / 2], 1)


def decode_peaks(
    heat_logits: torch.Tensor,
    log_size: torch.Tensor,
    offset: torch.Tensor,
    *,
    top_k: int,
    min_score: float,
    nms_iou: float,
    max_log_size: float,
    place: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
) -> list[Detections]:
    """Both detectors' heads to detections: heatmap peaks (3x3 max-pool), the ``top_k`` best
    at or above ``min_score``, class-wise NMS at ``nms_iou``. ``place(cx, cy, size)`` gives
    the boxes from the peaks' output-cell coordinates (offsets added) and their sizes
    (``exp`` of the log size, clamped at ``max_log_size``), in the detector's own units.
    Differentiable in the scores and boxes (the peak picking is not)."""
    heat = torch.sigmoid(heat_logits)
    n, c, h, w = heat.shape
    peaks = heat.detach() == F.max_pool2d(heat.detach(), 3, 1, 1)
    flat = (heat * peaks).reshape(n, -1)
    k = min(top_k, flat.shape[1])
    out: list[Detections] = []
    for i in range(n):
        _, idx = torch.topk(flat[i].detach(), k)
        scores = flat[i][idx]
        keep = scores.detach() >= min_score
        idx, scores = idx[keep], scores[keep]
        cls, cell = idx // (h * w), idx % (h * w)
        off = offset[i].reshape(2, -1)[:, cell]
        size = log_size[i].reshape(2, -1)[:, cell].clamp(max=max_log_size).exp()
        boxes = place((cell % w).float() + off[0], (cell // w).float() + off[1], size)
        kept = nms(boxes, scores, cls, nms_iou)
        out.append(Detections(boxes[kept], scores[kept], cls[kept]))
    return out


def load_weights(net: nn.Module, path: Path, what: str, fix: str) -> str:
    """Load committed weights from ``path`` into ``net``; returns their short content hash
    (the model id, so caches never mix weights). A missing, unreadable or corrupt file is a
    :class:`ModelError` naming ``what`` and the ``fix``."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(
            f"{what} weights {path} cannot be read ({exc.strerror or exc}).", fix
        ) from None
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        net.load_state_dict(state)
    except Exception as exc:  # any unpickling/shape error means the file is unusable
        raise ModelError(f"{what} weights {path} are corrupt ({exc}).", fix) from None
    return hashlib.sha256(data).hexdigest()[:12]
