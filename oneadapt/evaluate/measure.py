"""Measure one configuration on one segment: accuracy against the reference, bytes, DNN work.

This is the single place where a configuration is turned into the three numbers every
policy and baseline is judged by, so all comparisons share one code path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic

from oneadapt.inference_cache import Detector
from oneadapt.knobs import Configuration
from oneadapt.media.codec import EncodedSegment, frame_owner
from oneadapt.media.modality import Modality, modality
from oneadapt.media.sources import Segment
from oneadapt.tasks.base import OutputT, Task


@dataclass
class Measurement(Generic[OutputT]):
    config: Configuration
    accuracy: float
    bytes: int
    frames_inferred: int
    dnn_seconds: float
    encode_seconds: float
    cached_frames: int
    detections: list[OutputT]
    """Per item of the segment (unsent items carry over a sent one's, :meth:`Task.carry_over`)."""
    encoded: EncodedSegment

    def row(self) -> dict[str, float | int]:
        """The configuration's knob values, then the figures measured under it."""
        return {
            **self.config,
            "accuracy": self.accuracy,
            "bytes": self.bytes,
            "frames_inferred": self.frames_inferred,
            "dnn_seconds": self.dnn_seconds,
            "encode_seconds": self.encode_seconds,
            "cached_frames": self.cached_frames,
        }


def infer_encoded(
    encoded: EncodedSegment,
    detector: Detector[OutputT],
    task: Task[OutputT],
    known: Mapping[int, tuple[OutputT, float]] | None = None,
) -> tuple[list[OutputT], float, int]:
    """Server side: infer the sent items only; the task carries their outputs over to the
    unsent ones.

    ``known`` holds outputs the server already has for some decoded items (keyed by
    index into ``encoded.decoded``, as :class:`DNNGradServer` gives them)."""
    sent_items = [encoded.decoded[int(i)] for i in encoded.sent]
    position = {int(item): i for i, item in enumerate(encoded.sent)}
    already = {position[i]: v for i, v in (known or {}).items() if i in position}
    result = detector.detect(sent_items, already)
    owner = frame_owner(encoded.sent, len(encoded.decoded))
    return task.carry_over(result.outputs, owner), result.seconds, result.cached


def measure(
    segment: Segment,
    config: Configuration,
    detector: Detector[OutputT],
    task: Task[OutputT],
    reference: list[OutputT] | None,
    encoded: EncodedSegment | None = None,
    known: Mapping[int, tuple[OutputT, float]] | None = None,
    sensor: Modality | None = None,
) -> Measurement[OutputT]:
    """Encode, decode and infer ``segment`` under ``config``; score it against ``reference``
    (``None`` means this is the reference itself, which scores 1). ``encoded`` is the
    segment already encoded under ``config``; ``known`` as in :func:`infer_encoded`;
    ``sensor`` codes the segment (default video)."""
    if encoded is None:
        encoded = (sensor or modality("video")).encode(segment, config)
    dets, seconds, cached = infer_encoded(encoded, detector, task, known)
    accuracy = 1.0 if reference is None else task.accuracy(dets, reference)
    return Measurement(
        config,
        accuracy,
        encoded.num_bytes,
        len(encoded.sent),
        seconds,
        encoded.encode_seconds,
        cached,
        dets,
        encoded,
    )
