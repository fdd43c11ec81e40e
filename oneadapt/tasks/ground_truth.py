"""Accuracy against exact labels (procedural scene): COCO mAP@0.5 via ``faster_coco_eval``.

The adaptation itself needs no labels; this measures how good the built-in detector
is, and how it degrades with encoding quality, against the scene's true boxes.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

from faster_coco_eval import COCO, COCOeval_faster

from oneadapt.tasks.detection import Detections


def _xywh(d: Detections) -> list[list[float]]:
    """COCO boxes (x, y, width, height) from xyxy."""
    rows = d.boxes.detach().double().reshape(-1, 4).tolist()
    return [[x0, y0, x1 - x0, y1 - y0] for x0, y0, x1, y1 in rows]


def map50(
    predictions: Sequence[Detections], ground_truth: Sequence[Detections], class_ids: Sequence[int]
) -> float:
    """COCO mAP at IoU 0.5 over ``class_ids`` (classes absent from the labels are skipped).

    Frames pair up by position; returns 0.0 when no frame holds a labelled object.
    """
    if len(predictions) != len(ground_truth):
        raise ValueError(f"{len(predictions)} prediction frames for {len(ground_truth)} labelled")
    wanted = {int(c) for c in class_ids}
    images, annotations, results = [], [], []
    for image_id, (pred, gt) in enumerate(zip(predictions, ground_truth, strict=True), start=1):
        images.append({"id": image_id})
        for box, cls in zip(_xywh(gt), gt.classes.tolist(), strict=True):
            if cls in wanted:
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": image_id,
                        "category_id": int(cls),
                        "bbox": box,
                        "area": box[2] * box[3],
                        "iscrowd": 0,
                    }
                )
        scores = pred.scores.detach().tolist()
        for box, cls, score in zip(_xywh(pred), pred.classes.tolist(), scores, strict=True):
            if cls in wanted:
                results.append(
                    {"image_id": image_id, "category_id": int(cls), "bbox": box, "score": score}
                )
    if not annotations:
        return 0.0
    truth = COCO()
    truth.dataset = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": c} for c in sorted(wanted)],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        truth.createIndex()
        detected = truth.loadRes(results) if results else None
        if detected is None:
            return 0.0
        evaluation = COCOeval_faster(truth, detected, "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return float(evaluation.stats[1])  # AP at IoU 0.5, all areas, 100 detections
