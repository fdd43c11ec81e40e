"""The built-in LiDAR detector: a small bird's-eye-view CenterNet trained on procedural scans.

It ships with the package (``weights/builtin_lidar.pt``, a plain state_dict) so LiDAR
analytics run with no download (``--model builtin-lidar``). Points within +-40 m are
splatted trilinearly into a 0.4-m BEV grid of height slices (log point counts); the
splat weights are smooth in the coordinates, so the accuracy proxy has a gradient with
respect to every point as well as to every grid cell (what DNNGrad back-propagates).
A strided conv backbone with top-down fusion predicts, at 0.8-m cells, a per-class
centre heatmap, the footprint size (log metres) and the sub-cell centre offset; scores
are heatmap peaks. Boxes are axis-aligned BEV footprints in metres (x0, y0, x1, y1).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product
from pathlib import Path

import numpy as np
import torch
from torch import nn

from oneadapt.models.base import DetectionModel
from oneadapt.models.centernet import PyramidCenterNet, cbr, corners, decode_peaks, load_weights
from oneadapt.tasks.detection import Detections
from oneadapt.tasks.lidar_detection import LIDAR_CLASSES

WEIGHTS_PATH = Path(__file__).resolve().parent / "weights" / "builtin_lidar.pt"
RANGE_M = 40.0
"""The grid covers x and y in [-RANGE_M, RANGE_M)."""
CELL_M = 0.4
GRID = int(round(2 * RANGE_M / CELL_M))
Z_MIN_M, Z_BIN_M, Z_BINS = -2.4, 0.7, 5
"""Height slices in the sensor frame: the ground (about -1.7 m) up to 1.1 m."""
CHANNELS = Z_BINS + 1
STRIDE = 2
OUT_CELL_M = CELL_M * STRIDE
TOP_K = 100
MIN_SCORE = 0.01
NMS_IOU = 0.5


class BevNet(PyramidCenterNet):
    """Backbone to stride 8, top-down fusion back to stride 2, three 1x1 heads; log size
    in metres, offset in output cells."""

    def __init__(self, num_classes: int = len(LIDAR_CLASSES)) -> None:
        super().__init__(
            stages={
                "s1": cbr(CHANNELS, 24),
                "s2": nn.Sequential(cbr(24, 48, 2), cbr(48, 48)),
                "s4": nn.Sequential(cbr(48, 64, 2), cbr(64, 64), cbr(64, 64)),
                "s8": nn.Sequential(cbr(64, 96, 2), cbr(96, 96), cbr(96, 96)),
            },
            fusions={
                "4": (nn.Conv2d(96, 64, 1), cbr(64, 64)),
                "2": (nn.Conv2d(64, 48, 1), nn.Sequential(cbr(48, 48), cbr(48, 48))),
            },
            channels=48,
            num_classes=num_classes,
        )


def _range_channel() -> torch.Tensor:
    """Horizontal distance of each cell centre / RANGE_M: point density falls with range,
    and the network needs to know how many returns to expect where."""
    centres = -RANGE_M + (torch.arange(GRID, dtype=torch.float32) + 0.5) * CELL_M
    return torch.hypot(centres[:, None], centres[None, :]) / RANGE_M


RANGE_CHANNEL = _range_channel()


def bev_grid(points: torch.Tensor) -> torch.Tensor:
    """xyz [N, 3] -> BEV grid [CHANNELS, GRID, GRID] (rows y, columns x), differentiable
    in the points: each point spreads over its 8 neighbouring (y, x, height) cell centres
    with trilinear weights, and a cell holds log(1 + weight sum) per height slice."""
    gx = (points[:, 0] + RANGE_M) / CELL_M - 0.5
    gy = (points[:, 1] + RANGE_M) / CELL_M - 0.5
    gz = (points[:, 2] - Z_MIN_M) / Z_BIN_M - 0.5
    base = [torch.floor(g.detach()) for g in (gx, gy, gz)]
    frac = [g - b for g, b in zip((gx, gy, gz), base, strict=True)]
    counts = points.new_zeros(Z_BINS * GRID * GRID)
    for corner in product((0, 1), repeat=3):
        weight = points.new_ones(len(points))
        index = []
        for d, b, f in zip(corner, base, frac, strict=True):
            weight = weight * (f if d else 1 - f)
            index.append(b.long() + d)
        ix, iy, iz = index
        ok = (ix >= 0) & (ix < GRID) & (iy >= 0) & (iy < GRID) & (iz >= 0) & (iz < Z_BINS)
        flat = (iz * GRID + iy) * GRID + ix
        counts = counts.index_add(0, flat[ok], weight[ok])
    slices = torch.log1p(counts.reshape(Z_BINS, GRID, GRID))
    return torch.cat([slices, RANGE_CHANNEL.to(slices)[None]], 0)


def decode(
    heat_logits: torch.Tensor, log_size: torch.Tensor, offset: torch.Tensor
) -> list[Detections]:
    """Detections in metres in the sensor frame (sizes are predicted in metres)."""
    return decode_peaks(
        heat_logits,
        log_size,
        offset,
        top_k=TOP_K,
        min_score=MIN_SCORE,
        nms_iou=NMS_IOU,
        max_log_size=3.0,
        place=lambda cx, cy, size: corners(
            -RANGE_M + cx * OUT_CELL_M, -RANGE_M + cy * OUT_CELL_M, size
        ),
    )


class BuiltinLidarModel(DetectionModel):
    """The committed BEV weights: point clouds in, BEV detections out.

    Its input tensor is the BEV grid of each scan (:func:`bev_grid`), so DNNGrad's map lies
    on the grid (``detect_grids`` is the differentiable path); ``detect_scans`` also
    differentiates through the splatting to the points; ``infer`` is the fast path.
    """

    class_names = LIDAR_CLASSES
    modality = "lidar"

    def __init__(self, net: BevNet, weights_id: str) -> None:
        self.net = net.eval()
        self.id = f"builtin-lidar-{weights_id}"

    def detect_grids(self, grids: torch.Tensor) -> list[Detections]:
        """Detections on BEV grids [N, CHANNELS, GRID, GRID]; scores carry gradients."""
        return decode(*self.net(grids))

    def detect_scans(self, scans: Sequence[torch.Tensor]) -> list[Detections]:
        """Detections on float xyz scans [N_i, 3]; scores carry gradients w.r.t. them."""
        return self.detect_grids(torch.stack([bev_grid(s) for s in scans]))

    def input_tensor(self, items: Sequence[np.ndarray]) -> torch.Tensor:
        """xyz scans -> their BEV grids [N, CHANNELS, GRID, GRID]."""
        with torch.no_grad():
            return torch.stack(
                [bev_grid(torch.from_numpy(np.ascontiguousarray(s, np.float32))) for s in items]
            )

    def forward(self, x: torch.Tensor) -> list[Detections]:
        """Detections on BEV grids (:meth:`input_tensor`)."""
        return self.detect_grids(x)


def load_builtin_lidar(path: Path | None = None) -> BuiltinLidarModel:
    """The built-in LiDAR detector from its committed weights (no download)."""
    path = Path(path) if path is not None else WEIGHTS_PATH
    fix = (
        "Reinstall oneadapt, or recreate the weights with "
        "`python -m oneadapt.models.train_builtin_lidar OUT`."
    )
    net = BevNet()
    return BuiltinLidarModel(net, load_weights(net, path, "built-in LiDAR model", fix))
