"""3D object detection from point clouds, scored in bird's-eye view (BEV).

Outputs are :class:`~oneadapt.tasks.detection.Detections` whose boxes are axis-aligned
BEV footprints in metres (x0, y0, x1, y1; x forward, y left), so matching, F1 and the
sigmoid proxy are the video detection task's, unchanged: one definition of "agrees with
the reference output". Exact 3D boxes (the procedural scene's labels) are kept in
:class:`Boxes3D` and projected to the same footprints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from oneadapt.tasks.detection import Detections, DetectionTask

LIDAR_CLASSES = ("car", "person")
"""COCO names, so :data:`~oneadapt.tasks.detection.DEFAULT_CLASSES` picks both up."""
CAR, PERSON = range(2)


@dataclass(frozen=True)
class Boxes3D:
    """Exact 3D boxes: ``centers`` [N, 3] and ``sizes`` [N, 3] (length along the heading,
    width, height) in metres, ``yaw`` [N] radians from +x, ``classes`` [N] indices into
    :data:`LIDAR_CLASSES`, ``points`` [N] LiDAR returns on each object."""

    centers: np.ndarray
    sizes: np.ndarray
    yaw: np.ndarray
    classes: np.ndarray
    points: np.ndarray

    def __len__(self) -> int:
        return int(len(self.classes))

    def within(self, half_extent_m: float) -> Boxes3D:
        """The boxes whose centre lies within +-``half_extent_m`` in x and y: what a
        detector covering that square can be expected to find."""
        keep = (np.abs(self.centers[:, :2]) < half_extent_m).all(1)
        return Boxes3D(
            self.centers[keep],
            self.sizes[keep],
            self.yaw[keep],
            self.classes[keep],
            self.points[keep],
        )

    def bev(self) -> Detections:
        """Axis-aligned footprints (the rotated rectangle's bounds), score 1."""
        c, s = np.abs(np.cos(self.yaw)), np.abs(np.sin(self.yaw))
        half_x = (self.sizes[:, 0] * c + self.sizes[:, 1] * s) / 2
        half_y = (self.sizes[:, 0] * s + self.sizes[:, 1] * c) / 2
        x, y = self.centers[:, 0], self.centers[:, 1]
        boxes = np.stack([x - half_x, y - half_y, x + half_x, y + half_y], 1)
        return Detections(
            torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            torch.ones(len(self)),
            torch.tensor(self.classes, dtype=torch.long),
        )


def lidar_task() -> DetectionTask:
    """Both classes, score >= 0.5, BEV IoU >= 0.5, proxy sum of sigmoid(20 (score - 0.5))."""
    return DetectionTask.for_model(LIDAR_CLASSES, LIDAR_CLASSES)


def bev_saliency(task: DetectionTask, detections: Detections, grid: torch.Tensor) -> torch.Tensor:
    """DNNGrad on the BEV grid: |d proxy / d grid| summed over channels, [H, W].

    ``detections`` must come from a forward pass on ``grid`` (a leaf with gradients);
    their scores are heatmap peaks, so the proxy is the sum over the detected BEV cells
    of sigmoid(20 (score - 0.5)), and the map is non-zero where objects are.
    """
    proxy = task.proxy(detections)
    if not proxy.requires_grad:  # nothing detected: the proxy does not depend on the input
        return torch.zeros(grid.shape[-2:])
    (grad,) = torch.autograd.grad(proxy, grid, allow_unused=True)
    return torch.zeros(grid.shape[-2:]) if grad is None else grad.abs().sum(0)
