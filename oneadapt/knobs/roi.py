"""Per-macroblock quality (method.md section 4): the share of 16x16 blocks that keep the
encoder's quality, the most salient ones; the rest are coded coarser
(:mod:`oneadapt.media.roi`). A detector needs sharp pixels only where the objects it is
unsure of are, so the rest of the frame is where bytes can go.

Which blocks are salient is the camera's to say (for OneAdapt the server's last DNNGrad
map, for AccMPEG a cheap camera-side model): the plan carries it as ``saliency``. Without
a map nothing is known to be unimportant, and every block keeps quality.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from oneadapt.knobs.base import EncodePlan, Knob, Stage, StreamShape, Value, out_of_range


def most_salient(saliency: np.ndarray, share: float) -> np.ndarray:
    """The ``share`` of blocks (rounded up) with the largest ``saliency``, as a bool map;
    ties go to the earlier block in raster order, so the choice is deterministic."""
    count = math.ceil(share * saliency.size - 1e-9)
    chosen = np.zeros(saliency.size, bool)
    chosen[np.argsort(-saliency.ravel(), kind="stable")[:count]] = True
    return chosen.reshape(saliency.shape)


class ROIShare(Knob):
    """Fraction of blocks at full quality (1.0: all, the plain encode's picture; 0.0: every
    block coarser). Off by default: a region-coded segment uses another rate control
    (:func:`oneadapt.media.roi.rate_control`), so even 1.0 is not the plain encode's bytes."""

    name = "roi"
    stage = Stage.ROI
    title = "high-quality block share"
    example = "1,0.5,0.25,0.1"
    convert = float
    cheaper_upward = False

    @classmethod
    def defaults(cls, stream: StreamShape) -> tuple[Value, ...]:
        return (1.0, 0.5, 0.25, 0.1, 0.0)

    @classmethod
    def problem(cls, value: Value, stream: StreamShape | None) -> str | None:
        return out_of_range(value, 0, 1, " (a share of the frame's blocks)")

    @classmethod
    def apply(cls, value: Value, plan: EncodePlan) -> EncodePlan:
        if plan.saliency is None:
            high = np.ones(plan.blocks, bool)
        else:
            high = most_salient(plan.saliency, float(value))
        return dataclasses.replace(plan, high_quality=high)

    @classmethod
    def label(cls, value: Value) -> str:
        return f"roi{value:g}"
