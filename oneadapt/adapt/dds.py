"""DDS (Du et al., SIGCOMM 2020; method.md section 6): server-driven two-round streaming.

Every second the camera first streams the whole segment at low quality; the server runs
the DNN on it and feeds back the regions its answer is unsure of; the camera re-sends those
regions at high quality; the server pastes them onto the low-quality frames, runs the DNN
again on the frames that got any, and its final output merges both rounds. Both rounds'
bytes and inferences are charged (:class:`oneadapt.adapt.policy.SecondPass`).

Both rounds use the region-of-interest coding of :mod:`oneadapt.media.roi` at the
encoding's QP: the first with every block coarse (``roi`` 0, the QP plus ``QP_DELTA`` = 12;
the published runs used 10 and 14), the second with the fed-back blocks at the QP and, as
in DDS, everything else blacked out, which costs next to nothing. The encoding (resolution,
frame rate, QP) is best-fixed's for lambda with every block at quality, chosen offline
(:meth:`ProfilingPolicy.fixed_encoding`, as for AccMPEG); DDS adapts nothing else.

The fed-back regions follow the published code's rules. YOLOX has no region proposal
network, so its boxes below the score threshold (down to the model's 0.05) stand for the
proposals: every box that is not a confident detection of a class of interest, at most
:data:`LARGEST` of the frame (larger ones the low-quality round sees well), overlapping no
confident detection by more than :data:`OVERLAP` IoU. The server computes them from its
first answer; the camera needs only their blocks.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from oneadapt.adapt.baselines import ProfilingPolicy
from oneadapt.adapt.objective import DEFAULT_GPU_WEIGHT
from oneadapt.adapt.policy import PolicyContext, SecondPass
from oneadapt.adapt.profiler import Profiler
from oneadapt.errors import ConfigurationError
from oneadapt.knobs import Configuration, Stage
from oneadapt.media.codec import EncodedSegment, encode, frame_owner
from oneadapt.media.roi import BLOCK
from oneadapt.media.sources import Segment, Source
from oneadapt.tasks.detection import Detections, DetectionTask, box_iou

LARGEST = 0.01
"""Largest fed-back region, as a share of the frame's area (the published ``size_obj``)."""

OVERLAP = 0.3
"""IoU with a confident detection above which a box is not fed back (``objfilter_iou``)."""

SAME_OBJECT = 0.5
"""IoU at which a first-round detection and a second-round one of the same class are one
object when the rounds are merged (the accuracy's own matching threshold)."""


def feedback_regions(dets: Detections, task: DetectionTask, area: float) -> torch.Tensor:
    """The boxes [N, 4] of one frame's first-round ``dets`` that DDS re-sends at high
    quality (see the module's docstring); ``area``: the frame's, in pixels."""
    boxes = dets.boxes.detach().float()
    confident = torch.isin(dets.classes, torch.as_tensor(task.classes, dtype=torch.long))
    confident &= dets.scores.detach() >= task.score_threshold
    size = (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)
    keep = ~confident & (size <= LARGEST * area)
    if confident.any():
        keep &= box_iou(boxes, boxes[confident]).max(dim=1).values <= OVERLAP
    return boxes[keep]


def region_blocks(boxes: torch.Tensor, grid: tuple[int, int]) -> np.ndarray:
    """The 16x16 blocks of a ``grid`` (rows, columns) that cover any pixel of ``boxes``."""
    blocks = np.zeros(grid, bool)
    for x0, y0, x1, y1 in boxes.tolist():
        c0, r0 = max(int(x0 // BLOCK), 0), max(int(y0 // BLOCK), 0)
        c1, r1 = min(int(-(-x1 // BLOCK)), grid[1]), min(int(-(-y1 // BLOCK)), grid[0])
        blocks[r0:r1, c0:c1] = True
    return blocks


def pixels(blocks: np.ndarray, height: int, width: int) -> np.ndarray:
    """Per-frame block maps [T, rows, columns] as pixel masks [T, height, width]."""
    return blocks.repeat(BLOCK, axis=1).repeat(BLOCK, axis=2)[:, :height, :width]


def merge(second: Detections, first: Detections, task: DetectionTask) -> Detections:
    """The second round's detections plus the first round's confident detections of a class
    of interest that none of them re-found (the published code's union of both rounds)."""
    first = task.relevant(first.detach())
    if len(second) and len(first):
        iou = box_iou(first.boxes.float(), second.boxes.detach().float())
        iou[first.classes[:, None] != second.classes[None, :]] = 0.0
        new = iou.max(dim=1).values < SAME_OBJECT
        first = Detections(first.boxes[new], first.scores[new], first.classes[new])
    return Detections(
        torch.cat([second.boxes.detach(), first.boxes]),
        torch.cat([second.scores.detach(), first.scores]),
        torch.cat([second.classes, first.classes]),
    )


class DDSPolicy(ProfilingPolicy):
    """DDS: a low-quality round, then the server's uncertain regions again at high quality."""

    def __init__(
        self,
        context: PolicyContext,
        lam: float,
        source: Source,
        offline_seconds: int = 5,
        profiler: Profiler | None = None,
        gpu_weight: float = DEFAULT_GPU_WEIGHT,
        scan_seconds: int | None = None,
    ) -> None:
        super().__init__(context, lam, profiler, gpu_weight)
        roi = [k for k in self.space.knobs if k.stage is Stage.ROI]
        if not roi or 0.0 not in roi[0].values:
            raise ConfigurationError(
                "dds needs the region-of-interest knob with share 0 (its low-quality round).",
                "Add it, e.g. --knob roi=1,0.5,0.25,0.1,0.",
            )
        if any(k.stage is Stage.FRAME_FILTER for k in self.space.knobs):
            raise ConfigurationError(
                "dds re-sends regions of the frames its first round sent; a frame filter "
                "would pick other frames from the blacked-out second round.",
                "Leave the filter_* knobs out of the space for dds.",
            )
        self.roi = roi[0].name
        self.task = self.profiler.task
        self.encoding = self.fixed_encoding(context, roi, source, offline_seconds, scan_seconds)
        self.map: np.ndarray | None = None

    def decide(self, second: int, segment: Segment) -> Configuration:
        self.map = np.zeros((-(-segment.height // BLOCK), -(-segment.width // BLOCK)))
        return self.encoding.with_knob(self.roi, 0.0)

    def saliency(self) -> np.ndarray | None:
        """Any map of the segment's grid: at share 0 it marks no block, so all are coarse."""
        return self.map

    def second_pass(
        self, segment: Segment, first: EncodedSegment, found: list[Detections]
    ) -> SecondPass | None:
        """Re-send the fed-back regions of every frame the first round sent; None when there
        are none (the first answer stands)."""
        grid = (-(-segment.height // BLOCK), -(-segment.width // BLOCK))
        area = float(segment.height * segment.width)
        blocks = np.zeros((len(segment), *grid), bool)
        for i in first.sent:
            blocks[i] = region_blocks(feedback_regions(found[i], self.task, area), grid)
        if not blocks.any():
            return None
        keep = pixels(blocks, segment.height, segment.width)[..., None]
        blacked = dataclasses.replace(segment, frames=np.where(keep, segment.frames, 0))
        union = blocks.any(axis=0)
        config = self.encoding.with_knob(self.roi, float(union.mean()))
        regions = encode(blacked, config, saliency=union.astype(np.float64))
        pasted = np.where(keep, regions.decoded, first.decoded)
        again = [int(i) for i in first.sent if blocks[i].any()]
        result = self.profiler.detector.detect(pasted[again])
        final = list(found)
        for i, dets in zip(again, result.outputs, strict=True):
            final[i] = merge(dets, found[i], self.task)
        shown = [final[first.sent[j]] for j in frame_owner(first.sent, len(segment))]
        return SecondPass(
            shown, regions.num_bytes, len(again), result.seconds, regions.encode_seconds
        )
