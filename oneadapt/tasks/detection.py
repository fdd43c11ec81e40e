"""Object detection as an analytics task: outputs, accuracy against a reference, proxy.

Accuracy needs no human labels: a configuration's detections are compared with the
same model's detections on the reference configuration (per-frame F1 at IoU >= 0.5,
same class, score >= 0.5, over the classes of interest). The built-in LiDAR detector's
BEV boxes are scored by the same task (:mod:`oneadapt.tasks.lidar_detection`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from oneadapt.errors import ConfigurationError
from oneadapt.tasks.base import Task
from oneadapt.tasks.rows import DETECTION_FIELDS, detection_table

# Vehicles and persons, by COCO name; models with other vocabularies map onto these names.
DEFAULT_CLASSES = ("person", "bicycle", "car", "motorcycle", "bus", "truck")


ROW_FIELDS = DETECTION_FIELDS
"""x1, y1, x2, y2, score, class: float32 each."""


@dataclass
class Detections:
    """One frame's detections: ``boxes`` [N, 4] x1 y1 x2 y2 in frame pixels, ``scores`` [N],
    ``classes`` [N] (indices into the model's class names). Scores may carry gradients."""

    boxes: torch.Tensor
    scores: torch.Tensor
    classes: torch.Tensor
    row_kind: ClassVar[str] = "detections"
    """The name of these rows on the wire (:mod:`oneadapt.tasks.rows`)."""

    @classmethod
    def empty(cls) -> Detections:
        return cls(torch.zeros((0, 4)), torch.zeros(0), torch.zeros(0, dtype=torch.long))

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def detach(self) -> Detections:
        return Detections(self.boxes.detach(), self.scores.detach(), self.classes.detach())

    def to_array(self) -> np.ndarray:
        """[N, 6] float32 rows (x1, y1, x2, y2, score, class) for caching."""
        d = self.detach()
        return (
            torch.cat([d.boxes.float(), d.scores[:, None].float(), d.classes[:, None].float()], 1)
            .cpu()
            .numpy()
            .astype(np.float32)
        )

    @classmethod
    def from_array(cls, rows: np.ndarray) -> Detections:
        """Detections from :meth:`to_array`'s rows (flat or [N, 6]); anything that is not
        whole, finite rows with integer classes >= 0 raises :class:`ProtocolError`."""
        t = torch.from_numpy(detection_table(rows).copy())
        return cls(t[:, :4].clone(), t[:, 4].clone(), t[:, 5].long())

    def select(self, classes: Sequence[int], min_score: float = 0.0) -> Detections:
        """Only detections of ``classes`` with score >= ``min_score``."""
        keep = torch.isin(self.classes, torch.as_tensor(list(classes), dtype=torch.long))
        keep &= self.scores.detach() >= min_score
        return Detections(self.boxes[keep], self.scores[keep], self.classes[keep])


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU of xyxy boxes, [len(a), len(b)]."""
    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    return inter / (area_a[:, None] + area_b[None, :] - inter).clamp(min=1e-9)


def nms(
    boxes: torch.Tensor, scores: torch.Tensor, classes: torch.Tensor, iou_threshold: float
) -> torch.Tensor:
    """Class-aware greedy non-maximum suppression; indices kept, best score first."""
    if len(scores) == 0:
        return torch.zeros(0, dtype=torch.long)
    order = torch.argsort(scores.detach(), descending=True)
    b = boxes.detach()[order]
    # Offsetting boxes per class keeps classes from suppressing each other.
    b = b + classes[order, None].to(b.dtype) * (b.max() + 1.0)
    iou = box_iou(b, b)
    keep = torch.ones(len(order), dtype=torch.bool)
    for i in range(len(order)):
        if keep[i]:
            suppressed = iou[i] > iou_threshold
            suppressed[: i + 1] = False
            keep &= ~suppressed
    return order[keep]


def greedy_match(pred: Detections, ref: Detections, iou_threshold: float) -> list[tuple[int, int]]:
    """(pred, ref) index pairs: each prediction, best score first, takes the free reference
    of its class it overlaps most, if by IoU >= ``iou_threshold``."""
    if len(pred) == 0 or len(ref) == 0:
        return []
    iou = box_iou(pred.boxes.detach().float(), ref.boxes.detach().float())
    iou[pred.classes[:, None] != ref.classes[None, :]] = 0.0
    pairs = []
    order = torch.argsort(pred.scores.detach(), descending=True)
    taken = torch.zeros(len(ref), dtype=torch.bool)
    for i in order.tolist():
        row = iou[i].clone()
        row[taken] = -1.0
        j = int(torch.argmax(row))
        if row[j] >= iou_threshold:
            taken[j] = True
            pairs.append((i, j))
    return pairs


def f1(matched: float, predicted: float, reference: float) -> float:
    """F1 of ``matched`` items among ``predicted`` and ``reference`` ones (1 when both are
    empty)."""
    if predicted == 0 and reference == 0:
        return 1.0
    if matched == 0:
        return 0.0
    precision, recall = matched / predicted, matched / reference
    return 2 * precision * recall / (precision + recall)


def frame_f1(pred: Detections, ref: Detections, iou_threshold: float = 0.5) -> float:
    """F1 of ``pred`` against ``ref`` (both already filtered): greedy matching by IoU,
    same class; a frame with nothing in either scores 1."""
    return f1(len(greedy_match(pred, ref, iou_threshold)), len(pred), len(ref))


@dataclass(frozen=True)
class DetectionTask(Task[Detections]):
    """What counts as correct (classes, thresholds) and the differentiable accuracy proxy."""

    output_type = Detections

    classes: tuple[int, ...]
    """Class indices of interest in the model's vocabulary."""
    score_threshold: float = 0.5
    iou_threshold: float = 0.5
    proxy_sharpness: float = 20.0

    @classmethod
    def for_model(
        cls, class_names: Sequence[str], wanted: Sequence[str] = DEFAULT_CLASSES
    ) -> DetectionTask:
        ids = tuple(i for i, n in enumerate(class_names) if n in set(wanted))
        if not ids:
            raise ConfigurationError(
                f"the model knows none of the classes {list(wanted)}.",
                f"Choose --classes among {list(class_names)[:20]}.",
            )
        return cls(ids)

    def relevant(self, dets: Detections) -> Detections:
        return dets.select(self.classes, self.score_threshold)

    def informative(self, refs: Sequence[Detections]) -> bool:
        """Whether any frame holds an object of interest."""
        return any(len(self.relevant(d)) > 0 for d in refs)

    def frame_accuracy(self, pred: Detections, ref: Detections) -> float:
        """Per-frame F1 (greedy matching, same class, IoU at least the threshold)."""
        return frame_f1(self.relevant(pred), self.relevant(ref), self.iou_threshold)

    def proxy_units(self, outputs: Sequence[Detections]) -> float:
        """``2 * max(objects, 1)`` with ``objects`` the mean count of objects of interest per
        item: losing one of N matched objects costs about ``1 / (2N)`` of F1."""
        objects = float(np.mean([len(self.relevant(d)) for d in outputs]))
        return 2.0 * max(objects, 1.0)

    def proxy(self, dets: Detections) -> torch.Tensor:
        """Differentiable stand-in for accuracy: sum of sigmoid(k (score - threshold))."""
        d = dets.select(self.classes)
        return torch.sigmoid(self.proxy_sharpness * (d.scores - self.score_threshold)).sum()
