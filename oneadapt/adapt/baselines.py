"""The methods OneAdapt is compared against (method.md section 6), behind the same
:class:`Policy` interface and the same measurement code path (:func:`measure`).

Every policy maximises the same objective as the gradient policy,
``accuracy - lambda * resource`` with ``resource = bytes / reference_bytes +
gpu_weight * frames / reference_frames`` (:func:`objective`), so one lambda means one
trade-off for every method. Profiling baselines learn the true accuracy of a configuration
only by encoding it and running the DNN on it; every profiled configuration (and the
reference, whose detections score the others) is charged in full as profiling work,
whether or not its frames were in the inference cache: the cache saves our wall time,
not the method's cost.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from oneadapt.adapt.objective import DEFAULT_GPU_WEIGHT, objective
from oneadapt.adapt.policy import FixedPolicy, Overhead, Policy, PolicyContext
from oneadapt.errors import OneAdaptError
from oneadapt.evaluate.measure import measure
from oneadapt.inference_cache import Detector
from oneadapt.knobs import ConfigSpace, Configuration, Knob
from oneadapt.media.sources import Segment, Source
from oneadapt.tasks.detection import Detections, DetectionTask

POLICY_NAMES = ("oneadapt", "fixed:QP/HEIGHT/FPS", "best-fixed", "awstream", "chameleon", "oracle")


@dataclass(frozen=True)
class Profiled:
    """One configuration measured on one segment, without its decoded frames (thousands
    of these stay in memory)."""

    accuracy: float
    bytes: int
    frames: int
    dnn_seconds: float
    encode_seconds: float


def segment_key(segment: Segment) -> tuple[int, str]:
    """Identity of a segment's content, so memoised results never cross videos."""
    digest = hashlib.blake2b(np.ascontiguousarray(segment.frames).data, digest_size=16)
    return segment.index, digest.hexdigest()


class Profiler:
    """Measures configurations through :func:`measure`, memoised per (segment, configuration).

    One instance shared by every profiling policy and lambda on a video makes the whole
    benchmark profile each (second, configuration) at most once in this process; the
    reference measurement of a second is likewise computed once and shared.
    """

    def __init__(self, detector: Detector, task: DetectionTask, reference: Configuration) -> None:
        self.detector = detector
        self.task = task
        self.reference_config = reference
        self._references: dict[tuple[int, str], tuple[Profiled, list[Detections]]] = {}
        self._measured: dict[tuple[tuple[int, str], Configuration], Profiled] = {}
        self._last: tuple[Segment, tuple[int, str]] | None = None

    def _key(self, segment: Segment) -> tuple[int, str]:
        """:func:`segment_key`, hashed once for consecutive calls on the same segment."""
        if self._last is None or self._last[0] is not segment:
            self._last = (segment, segment_key(segment))
        return self._last[1]

    @classmethod
    def for_context(cls, context: PolicyContext) -> Profiler:
        if context.detector is None or context.task is None:
            raise OneAdaptError(
                "a profiling policy needs the server's detector and task.",
                "Build its PolicyContext with detector= and task=.",
            )
        return cls(context.detector, context.task, context.space.reference)

    def _reference_entry(self, segment: Segment) -> tuple[Profiled, list[Detections]]:
        key = self._key(segment)
        if key not in self._references:
            m = measure(segment, self.reference_config, self.detector, self.task, None)
            slim = Profiled(1.0, m.bytes, m.frames_inferred, m.dnn_seconds, m.encode_seconds)
            self._references[key] = (slim, m.detections)
        return self._references[key]

    def reference(self, segment: Segment) -> Profiled:
        return self._reference_entry(segment)[0]

    def reference_detections(self, segment: Segment) -> list[Detections]:
        return self._reference_entry(segment)[1]

    def measure(self, segment: Segment, config: Configuration) -> Profiled:
        if config == self.reference_config:
            return self.reference(segment)
        key = (self._key(segment), config)
        if key not in self._measured:
            reference = self.reference_detections(segment)
            m = measure(segment, config, self.detector, self.task, reference)
            self._measured[key] = Profiled(
                m.accuracy, m.bytes, m.frames_inferred, m.dnn_seconds, m.encode_seconds
            )
        return self._measured[key]

    def cost(self, segment: Segment, configs: Iterable[Configuration]) -> Overhead:
        """The work of profiling ``configs`` (plus the reference) on ``segment`` from scratch."""
        overhead = Overhead()
        for config in {*configs, self.reference_config}:
            p = self.measure(segment, config)
            overhead += Overhead(
                camera_encodes=1,
                camera_seconds=p.encode_seconds,
                profiling_inferences=p.frames,
                profiling_seconds=p.dnn_seconds,
            )
        return overhead

    def objective(
        self, segment: Segment, config: Configuration, lam: float, gpu_weight: float
    ) -> float:
        p, ref = self.measure(segment, config), self.reference(segment)
        return objective(p.accuracy, p.bytes, p.frames, ref.bytes, ref.frames, lam, gpu_weight)


def downsample(knob: Knob, levels: int) -> tuple[int, ...]:
    """``levels`` evenly spaced values of a knob, always keeping both ends."""
    n = len(knob.values)
    picks = np.unique(np.rint(np.linspace(0, n - 1, min(max(levels, 1), n))).astype(int))
    return tuple(knob.values[i] for i in picks)


def downsampled_grid(space: ConfigSpace, levels: int) -> list[Configuration]:
    """The Cartesian product of every knob's :func:`downsample`."""
    qps, heights, rates = (downsample(k, levels) for k in space.knobs)
    return [Configuration(q, h, f, space.preset) for q in qps for h in heights for f in rates]


def parse_fixed(spec: str, preset: str = "veryfast") -> Configuration:
    """``fixed:QP/HEIGHT/FPS`` (e.g. ``fixed:30/240/5``) -> that configuration."""
    _, _, body = spec.partition(":")
    parts = body.split("/") if body.isascii() else []  # int() refuses e.g. "²"
    if not spec.startswith("fixed:") or len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise OneAdaptError(
            f"{spec!r} is not a fixed-configuration policy.",
            "Write fixed:QP/HEIGHT/FPS, e.g. fixed:30/240/5.",
        )
    qp, height, fps = (int(p) for p in parts)
    if not 0 <= qp <= 51 or height < 16 or height % 2 or fps < 1:
        raise OneAdaptError(
            f"{spec!r} has an invalid value.",
            "Use a QP in 0..51, an even height >= 16 and a frame rate >= 1.",
        )
    return Configuration(qp, height, fps, preset)


class ProfilingPolicy(Policy):
    """Chooses configurations by measuring them on real segments (through a :class:`Profiler`)."""

    def __init__(
        self,
        context: PolicyContext,
        lam: float,
        profiler: Profiler | None = None,
        gpu_weight: float = DEFAULT_GPU_WEIGHT,
    ) -> None:
        super().__init__()
        if lam < 0 or gpu_weight < 0:
            raise OneAdaptError(
                f"invalid objective (lambda {lam}, gpu_weight {gpu_weight}).",
                "Use lambda >= 0 and gpu_weight >= 0.",
            )
        self.space = context.space
        self.lam, self.gpu_weight = lam, gpu_weight
        self.profiler = profiler or Profiler.for_context(context)
        self.offline_overhead = Overhead()
        """Profiling work done but not charged per second (offline, or an upper bound's)."""

    def best(self, segment: Segment, configs: Iterable[Configuration]) -> Configuration:
        """The configuration with the highest objective on ``segment`` (cheaper wins ties)."""
        return max(
            configs,
            key=lambda c: (
                self.profiler.objective(segment, c, self.lam, self.gpu_weight),
                -self.profiler.measure(segment, c).bytes,
            ),
        )


class PeriodicProfilingPolicy(ProfilingPolicy):
    """Re-profiles every ``period`` seconds on the segment at hand; the old configuration
    stays in use for that second (profiling takes time), the new one applies from the next.
    Profiling work is charged in the second it happens."""

    def __init__(
        self,
        context: PolicyContext,
        lam: float,
        period: int,
        levels: int = 3,
        profiler: Profiler | None = None,
        gpu_weight: float = DEFAULT_GPU_WEIGHT,
    ) -> None:
        super().__init__(context, lam, profiler, gpu_weight)
        if period < 1 or levels < 1:
            raise OneAdaptError(
                f"invalid profiling period {period} s or {levels} levels per knob.",
                "Use a period >= 1 and levels >= 1.",
            )
        self.period, self.levels = period, levels
        self.current = self.space.reference
        self._next_profile = 0

    def decide(self, second: int, segment: Segment) -> Configuration:
        in_force = self.current
        if second >= self._next_profile:
            self.current, profiled = self.search(segment)
            self.charge(self.profiler.cost(segment, profiled))
            self._next_profile = second + self.period
        return in_force

    @abc.abstractmethod
    def search(self, segment: Segment) -> tuple[Configuration, set[Configuration]]:
        """The new configuration and every configuration profiled to find it."""


class AWStreamPolicy(PeriodicProfilingPolicy):
    """AWStream: profile the downsampled Cartesian space, keep the best point for lambda."""

    def __init__(
        self,
        context: PolicyContext,
        lam: float,
        period: int = 10,
        levels: int = 3,
        profiler: Profiler | None = None,
        gpu_weight: float = DEFAULT_GPU_WEIGHT,
    ) -> None:
        super().__init__(context, lam, period, levels, profiler, gpu_weight)

    def search(self, segment: Segment) -> tuple[Configuration, set[Configuration]]:
        configs = downsampled_grid(self.space, self.levels)
        return self.best(segment, configs), set(configs)


class ChameleonPolicy(PeriodicProfilingPolicy):
    """Chameleon: greedy one-knob-at-a-time search (coordinate ascent) over the downsampled
    space, starting from the configuration in use, repeated until nothing changes."""

    def __init__(
        self,
        context: PolicyContext,
        lam: float,
        period: int = 5,
        levels: int = 3,
        passes: int = 2,
        profiler: Profiler | None = None,
        gpu_weight: float = DEFAULT_GPU_WEIGHT,
    ) -> None:
        super().__init__(context, lam, period, levels, profiler, gpu_weight)
        self.passes = max(passes, 1)

    def search(self, segment: Segment) -> tuple[Configuration, set[Configuration]]:
        lists = {k.name: downsample(k, self.levels) for k in self.space.knobs}
        best = self.current
        for knob in self.space.knobs:  # snap the start onto the downsampled space
            here = knob.index(getattr(best, knob.name))
            nearest = min(lists[knob.name], key=lambda v, k=knob: abs(k.index(v) - here))
            best = best.with_knob(knob.name, nearest)
        tried: set[Configuration] = set()
        for _ in range(self.passes):
            start = best
            for name, values in lists.items():
                candidates = [best.with_knob(name, v) for v in values]
                tried.update(candidates)
                best = self.best(segment, candidates)
            if best == start:
                break
        return best, tried


class OraclePolicy(ProfilingPolicy):
    """Per-second exhaustive search with the true accuracy of the current segment: an upper
    bound on the objective, not deployable. Its search work is recorded in
    ``offline_overhead`` and not charged."""

    deployable = False

    def decide(self, second: int, segment: Segment) -> Configuration:
        configs = list(self.space.grid())
        self.offline_overhead += self.profiler.cost(segment, configs)
        return self.best(segment, configs)


class BestFixedPolicy(ProfilingPolicy):
    """The best static configuration for lambda, chosen once, offline, by profiling the full
    grid on the first ``seconds`` of the source (mean objective). That one-time work is
    recorded in ``offline_overhead``, not charged to the streamed seconds."""

    def __init__(
        self,
        context: PolicyContext,
        lam: float,
        source: Source,
        seconds: int = 5,
        profiler: Profiler | None = None,
        gpu_weight: float = DEFAULT_GPU_WEIGHT,
    ) -> None:
        super().__init__(context, lam, profiler, gpu_weight)
        configs = list(self.space.grid())
        totals = {c: np.zeros(2) for c in configs}  # summed (objective, -bytes): cheaper wins ties
        for segment in source.segments(seconds):
            self.offline_overhead += self.profiler.cost(segment, configs)
            for c in configs:
                totals[c] += (
                    self.profiler.objective(segment, c, lam, gpu_weight),
                    -self.profiler.measure(segment, c).bytes,
                )
        if self.offline_overhead.camera_encodes == 0:
            raise OneAdaptError(
                f"best-fixed found no segment in the first {seconds} s of {source.name}.",
                "Use a longer source or more offline seconds.",
            )
        self.config = max(configs, key=lambda c: tuple(totals[c]))

    def decide(self, second: int, segment: Segment) -> Configuration:
        return self.config


def make_policy(
    name: str,
    context: PolicyContext,
    lam: float,
    *,
    profiler: Profiler | None = None,
    source: Source | None = None,
    offline_seconds: int = 5,
    **options: Any,
) -> Policy:
    """A policy by name (see :data:`POLICY_NAMES`). ``profiler`` shares measurements between
    profiling policies; ``source`` and ``offline_seconds`` are what ``best-fixed`` chooses its
    configuration on; ``options`` go to the policy's constructor (e.g. ``period=``,
    ``levels=``, ``gpu_weight=``, ``lr=``; ignored by ``fixed:``)."""
    if name == "oneadapt":
        from oneadapt.adapt.gradient_policy import GradientPolicy

        return GradientPolicy(context, lam, **options)
    if name.startswith("fixed:"):
        return FixedPolicy(parse_fixed(name, context.space.preset))
    profiling: dict[str, type[ProfilingPolicy]] = {
        "awstream": AWStreamPolicy,
        "chameleon": ChameleonPolicy,
        "oracle": OraclePolicy,
    }
    if name in profiling:
        return profiling[name](context, lam, profiler=profiler, **options)
    if name == "best-fixed":
        if source is None:
            raise OneAdaptError(
                "best-fixed needs the source to choose its configuration offline.",
                "Pass source= to make_policy.",
            )
        return BestFixedPolicy(
            context, lam, source, seconds=offline_seconds, profiler=profiler, **options
        )
    raise OneAdaptError(f"unknown policy {name!r}.", f"Use one of {', '.join(POLICY_NAMES)}.")
