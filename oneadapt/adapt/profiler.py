"""Measuring configurations on real segments, as the profiling baselines must: encode,
run the DNN, score against the reference configuration's output (:func:`measure`),
memoised per (segment, configuration, saliency map) so that a whole benchmark profiles each
at most once in a process. Kept apart from the policies that use it (the baselines, the
offline best-fixed and oracle choices, ``benchmarks/adaptation_headroom.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from oneadapt.adapt.objective import objective
from oneadapt.adapt.policy import Overhead, PolicyContext
from oneadapt.errors import OneAdaptError
from oneadapt.evaluate.measure import measure
from oneadapt.inference_cache import Detector
from oneadapt.knobs import Configuration
from oneadapt.media.modality import Modality, content_key, modality
from oneadapt.media.sources import Segment
from oneadapt.tasks.base import Output, Task


@dataclass(frozen=True)
class Profiled:
    """One configuration measured on one segment, without its decoded frames (thousands
    of these stay in memory)."""

    accuracy: float
    bytes: int
    frames: int
    dnn_seconds: float
    encode_seconds: float


def segment_key(segment: Segment, sensor: Modality | None = None) -> tuple[int, str]:
    """Identity of a segment's content (``sensor`` default video), so memoised results never
    cross sources."""
    return segment.index, content_key((sensor or modality("video")).items(segment))


class Profiler:
    """Measures configurations through :func:`measure`, memoised per (segment, configuration).

    One instance shared by every profiling policy and lambda on a video makes the whole
    benchmark profile each (second, configuration) at most once in this process; the
    reference measurement of a second is likewise computed once and shared.
    """

    def __init__(
        self,
        detector: Detector,
        task: Task,
        reference: Configuration,
        sensor: Modality | None = None,
    ) -> None:
        self.sensor = sensor or modality("video")
        self.detector = detector
        self.task = task
        self.reference_config = reference
        self._references: dict[tuple[int, str], tuple[Profiled, list[Output]]] = {}
        self._measured: dict[tuple[tuple[int, str], Configuration, str], Profiled] = {}
        self._last: tuple[Segment, tuple[int, str]] | None = None

    def _key(self, segment: Segment) -> tuple[int, str]:
        """:func:`segment_key`, hashed once for consecutive calls on the same segment."""
        if self._last is None or self._last[0] is not segment:
            self._last = (segment, segment_key(segment, self.sensor))
        return self._last[1]

    @classmethod
    def for_context(cls, context: PolicyContext) -> Profiler:
        if context.detector is None or context.task is None:
            raise OneAdaptError(
                "a profiling policy needs the server's detector and task.",
                "Build its PolicyContext with detector= and task=.",
            )
        return cls(context.detector, context.task, context.space.reference, context.sensor)

    def _reference_entry(self, segment: Segment) -> tuple[Profiled, list[Output]]:
        key = self._key(segment)
        if key not in self._references:
            m = measure(
                segment, self.reference_config, self.detector, self.task, None, sensor=self.sensor
            )
            slim = Profiled(1.0, m.bytes, m.frames_inferred, m.dnn_seconds, m.encode_seconds)
            self._references[key] = (slim, m.detections)
        return self._references[key]

    def reference(self, segment: Segment) -> Profiled:
        return self._reference_entry(segment)[0]

    def reference_detections(self, segment: Segment) -> list[Output]:
        return self._reference_entry(segment)[1]

    def measure(
        self, segment: Segment, config: Configuration, saliency: np.ndarray | None = None
    ) -> Profiled:
        """``config`` on ``segment``, coded by region with ``saliency`` (for the knobs that
        spend quality by region; memoised per map)."""
        if config == self.reference_config:
            return self.reference(segment)
        mark = "" if saliency is None else hashlib.blake2b(saliency.tobytes()).hexdigest()
        key = (self._key(segment), config, mark)
        if key not in self._measured:
            reference = self.reference_detections(segment)
            coded = self.sensor.encode(segment, config, saliency=saliency)
            m = measure(
                segment, config, self.detector, self.task, reference, coded, sensor=self.sensor
            )
            self._measured[key] = Profiled(
                m.accuracy, m.bytes, m.frames_inferred, m.dnn_seconds, m.encode_seconds
            )
        return self._measured[key]

    def informative(self, segment: Segment) -> bool:
        """Whether profiling on ``segment`` can teach anything: its reference output holds an
        object of interest (otherwise every configuration scores 1.0 against it)."""
        return self.task.informative(self.reference_detections(segment))

    def cost(
        self,
        segment: Segment,
        configs: Iterable[Configuration],
        saliency: np.ndarray | None = None,
    ) -> Overhead:
        """The work of profiling ``configs`` (plus the reference) on ``segment`` from scratch."""
        overhead = Overhead()
        for config in {*configs, self.reference_config}:
            p = self.measure(segment, config, saliency)
            overhead += Overhead(
                camera_encodes=1,
                camera_seconds=p.encode_seconds,
                profiling_inferences=p.frames,
                profiling_seconds=p.dnn_seconds,
            )
        return overhead

    def objective(
        self,
        segment: Segment,
        config: Configuration,
        lam: float,
        gpu_weight: float,
        saliency: np.ndarray | None = None,
    ) -> float:
        p, ref = self.measure(segment, config, saliency), self.reference(segment)
        return objective(p.accuracy, p.bytes, p.frames, ref.bytes, ref.frames, lam, gpu_weight)
