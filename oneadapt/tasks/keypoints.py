"""Keypoints (face landmarks) as an analytics task: instances with points, PCK-style F1.

Each instance is a box, a score and K points (YuNet: eyes, nose tip, mouth corners). As for
detection, accuracy needs no human labels: a configuration's instances are matched to the
reference output's (same model, reference input) by box IoU, and a matched instance's
point counts when it lies within ``tolerance`` of the reference point, scaled to the
reference box's size (sqrt of its area), as PCK does. The frame's accuracy is the F1 of
matched points among the predicted and the reference points, so a lost face and a false
one both cost. The proxy is the detection proxy on the instance scores: a keypoint's fate
hinges on whether its instance is found, and that decision is the sharp one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch

from oneadapt.tasks.base import Task
from oneadapt.tasks.detection import ROW_FIELDS, Detections, DetectionTask, f1, greedy_match
from oneadapt.tasks.rows import keypoint_table


@dataclass
class Keypoints:
    """One frame's instances (:class:`Detections`, frame pixels) and their points
    [N, K, 2] (x, y in frame pixels)."""

    instances: Detections
    points: torch.Tensor
    row_kind: ClassVar[str] = "keypoints"
    """The name of these rows on the wire (:mod:`oneadapt.tasks.rows`)."""

    @classmethod
    def empty(cls, k: int) -> Keypoints:
        return cls(Detections.empty(), torch.zeros((0, k, 2)))

    def __len__(self) -> int:
        return len(self.instances)

    def detach(self) -> Keypoints:
        return Keypoints(self.instances.detach(), self.points.detach())

    def to_array(self) -> np.ndarray:
        """K, then one row per instance: the detection row, then the K points' x, y."""
        rows = np.concatenate(
            [self.instances.to_array(), self.points.detach().flatten(1).numpy()], 1
        )
        return np.r_[self.points.shape[1], rows.reshape(-1)].astype(np.float32)

    @classmethod
    def from_array(cls, rows: np.ndarray) -> Keypoints:
        """From :meth:`to_array`'s values; anything else raises :class:`ProtocolError`."""
        k, table = keypoint_table(rows)
        instances = Detections.from_array(table[:, :ROW_FIELDS])
        points = torch.from_numpy(table[:, ROW_FIELDS:].reshape(-1, k, 2).copy())
        return cls(instances, points)


@dataclass(frozen=True)
class KeypointTask(Task[Keypoints]):
    """Instance decisions (score, IoU: :class:`DetectionTask` over the one class) and the
    point tolerance as a fraction of the reference instance's size."""

    output_type = Keypoints

    detection: DetectionTask = field(default_factory=lambda: DetectionTask((0,)))
    tolerance: float = 0.1

    def relevant(self, output: Keypoints) -> Keypoints:
        """The instances scoring at least the threshold, with their points."""
        keep = output.instances.scores.detach() >= self.detection.score_threshold
        return Keypoints(
            Detections(
                output.instances.boxes[keep],
                output.instances.scores[keep],
                output.instances.classes[keep],
            ),
            output.points[keep],
        )

    def frame_accuracy(self, pred: Keypoints, ref: Keypoints) -> float:
        """F1 of points within tolerance of their matched reference instance's points."""
        pred, ref = self.relevant(pred), self.relevant(ref)
        k = ref.points.shape[1] if len(ref) else pred.points.shape[1]
        matched = 0
        for i, j in greedy_match(pred.instances, ref.instances, self.detection.iou_threshold):
            box = ref.instances.boxes[j].detach()
            size = float(((box[2] - box[0]) * (box[3] - box[1])).clamp_min(1.0).sqrt())
            distance = (pred.points[i].detach() - ref.points[j].detach()).norm(dim=-1)
            matched += int((distance <= self.tolerance * size).sum())
        return f1(matched, k * len(pred), k * len(ref))

    def proxy(self, output: Keypoints) -> torch.Tensor:
        """The detection proxy on the instances: sum of sigmoid(k (score - threshold))."""
        return self.detection.proxy(output.instances)

    def proxy_units(self, outputs: Sequence[Keypoints]) -> float:
        """As for detection: losing one of N instances loses its K of the N K points, about
        ``1 / (2N)`` of the F1."""
        return self.detection.proxy_units([o.instances for o in outputs])

    def informative(self, refs: Sequence[Keypoints]) -> bool:
        """Whether any reference frame has an instance."""
        return self.detection.informative([r.instances for r in refs])
