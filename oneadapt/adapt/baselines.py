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

Two guards make the profiling baselines as strong as a careful implementation would be:
a second whose reference output holds no object of interest is not profiled (every
configuration would score 1.0 on it, so the cheapest would win for no reason); and the
``@budget`` variants model the original comparison's spare-GPU budget, under which a
re-profile takes time during which the old configuration stays in use.
"""

from __future__ import annotations

import abc
import math
from collections import deque
from collections.abc import Iterable
from typing import Any

import numpy as np

from oneadapt.adapt.objective import DEFAULT_GPU_WEIGHT
from oneadapt.adapt.policy import FixedPolicy, Overhead, Policy, PolicyContext
from oneadapt.adapt.profiler import Profiler
from oneadapt.errors import ConfigurationError, OneAdaptError
from oneadapt.knobs import ConfigSpace, Configuration, Knob, Stage, Value, parse_fixed
from oneadapt.media.sources import Segment, Source

BUDGET_SUFFIX = "@budget"
"""Appended to a periodic profiling policy's name: the same method under a profiling budget."""

POLICY_NAMES = (
    "oneadapt",
    "fixed:NAME=VALUE,...",
    "best-fixed",
    "awstream",
    "chameleon",
    "reducto",
    "accmpeg",
    "dds",
    "awstream" + BUDGET_SUFFIX,
    "chameleon" + BUDGET_SUFFIX,
    "reducto" + BUDGET_SUFFIX,
    "oracle",
)


BUDGETABLE = ("awstream", "chameleon", "reducto")
"""The baselines that re-profile periodically, so a spare-GPU budget can slow them down."""


def is_budgeted(name: str) -> bool:
    """Whether policy ``name`` is a budgeted variant (it needs ``budget=``)."""
    return name.endswith(BUDGET_SUFFIX)


def downsample(knob: Knob, levels: int) -> tuple[Value, ...]:
    """``levels`` evenly spaced values of a knob, always keeping both ends."""
    n = len(knob.values)
    picks = np.unique(np.rint(np.linspace(0, n - 1, min(max(levels, 1), n))).astype(int))
    return tuple(knob.values[i] for i in picks)


def downsampled_grid(space: ConfigSpace, levels: int) -> list[Configuration]:
    """The Cartesian product of every knob's :func:`downsample`."""
    return list(
        ConfigSpace(tuple(k.with_values(downsample(k, levels)) for k in space.knobs)).grid()
    )


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
        """The configuration with the highest objective on ``segment`` (cheaper wins ties),
        each coded by region with the policy's own :meth:`saliency`, as the camera would."""
        sal = self.saliency()
        return max(
            configs,
            key=lambda c: (
                self.profiler.objective(segment, c, self.lam, self.gpu_weight, sal),
                -self.profiler.measure(segment, c, sal).bytes,
            ),
        )

    def fixed_encoding(
        self,
        context: PolicyContext,
        own: list[Knob],
        source: Source,
        seconds: int,
        scan: int | None,
    ) -> Configuration:
        """best-fixed's configuration over the space with the policy's ``own`` knobs held at
        their first value (:class:`BestFixedPolicy` on the source's first ``seconds``, scanning
        up to ``scan``); its work is added to ``offline_overhead``. For baselines that adapt
        only their own knobs on top of a static encoding (Reducto, AccMPEG): one that kept the
        reference encoding would compare against bandwidth it never tried to save."""
        held = ConfigSpace(
            tuple(k.with_values(k.values[:1]) if k in own else k for k in context.space.knobs)
        )
        encoding = BestFixedPolicy(
            PolicyContext(held, context.detector, context.task, context.sensor),
            self.lam,
            source,
            seconds=seconds,
            profiler=self.profiler,
            gpu_weight=self.gpu_weight,
            scan_seconds=scan,
        )
        self.offline_overhead += encoding.offline_overhead
        return encoding.config


def spread(cost: Overhead, budget: float | None) -> list[Overhead]:
    """``cost`` split into the per-second charges of a profile done at ``budget`` inferences
    per second (None: unlimited, all in one second). The profile lasts
    ``ceil(inferences / budget)`` seconds (at least one); through second k (from 0) it has
    charged ``min(inferences, floor(budget * (k + 1)))`` inferences, so every second but the
    last is charged the budget (whole inferences: a fractional budget alternates between its
    floor and ceiling) and the total is exact. Server seconds follow the inferences; the
    camera's encodes are charged in the first second (camera CPU is not what the budget
    limits)."""
    total = cost.profiling_inferences
    if budget is None or total <= budget:
        return [cost]
    seconds = math.ceil(total / budget - 1e-9)
    done = [min(total, math.floor(budget * k + 1e-9)) for k in range(seconds + 1)]
    done[-1] = total
    shares = []
    for k in range(seconds):
        inferences = done[k + 1] - done[k]
        shares.append(
            Overhead(
                profiling_inferences=inferences,
                profiling_seconds=cost.profiling_seconds * inferences / total,
            )
        )
    shares[0].camera_encodes, shares[0].camera_seconds = cost.camera_encodes, cost.camera_seconds
    return shares


class PeriodicProfilingPolicy(ProfilingPolicy):
    """Re-profiles every ``period`` seconds on the segment at hand; the old configuration
    stays in use while profiling runs, the new one applies from the second after it ends.

    Without a ``budget`` a profile ends within its second (the new configuration applies
    from the next) and its work is charged in that second. With a ``budget`` of B spare
    inferences per second, a profile of P inferences started at second s ends after
    ``ceil(P / B)`` seconds: the new configuration applies from ``s + ceil(P / B)`` and the
    work is charged B per second over those seconds (:func:`spread`). The next profile starts
    no earlier than both the end of this one and ``s + period``.

    A second whose reference holds no object of interest is not profiled (nor charged): the
    configuration in use (the reference at the start) stays, and profiling is tried again on
    the next second."""

    def __init__(
        self,
        context: PolicyContext,
        lam: float,
        period: int,
        levels: int = 3,
        profiler: Profiler | None = None,
        gpu_weight: float = DEFAULT_GPU_WEIGHT,
        budget: float | None = None,
    ) -> None:
        super().__init__(context, lam, profiler, gpu_weight)
        if period < 1 or levels < 1:
            raise OneAdaptError(
                f"invalid profiling period {period} s or {levels} levels per knob.",
                "Use a period >= 1 and levels >= 1.",
            )
        if budget is not None and not budget > 0:
            raise OneAdaptError(
                f"invalid profiling budget {budget} inferences per second.",
                "Use a budget > 0 (or None for unlimited profiling).",
            )
        self.period, self.levels, self.budget = period, levels, budget
        self.current = self.space.reference
        self._next_profile = 0
        self._pending: tuple[Configuration, int] | None = None
        """The result of the profile in progress and the second it applies from."""
        self._owed: deque[Overhead] = deque()
        """Per-second charges still due for the profile in progress."""

    def decide(self, second: int, segment: Segment) -> Configuration:
        if self._pending is not None and second >= self._pending[1]:
            self.current, self._pending = self._pending[0], None
        in_force = self.current
        if (
            self._pending is None
            and second >= self._next_profile
            and self.profiler.informative(segment)
        ):
            found, profiled = self.search(segment)
            cost = self.profiler.cost(segment, profiled, self.saliency())
            self._owed.extend(spread(cost, self.budget))
            self._pending = (found, second + len(self._owed))
            self._next_profile = max(second + self.period, self._pending[1])
        if self._owed:
            self.charge(self._owed.popleft())
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
        budget: float | None = None,
    ) -> None:
        super().__init__(context, lam, period, levels, profiler, gpu_weight, budget)

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
        budget: float | None = None,
    ) -> None:
        super().__init__(context, lam, period, levels, profiler, gpu_weight, budget)
        self.passes = max(passes, 1)

    def search(self, segment: Segment) -> tuple[Configuration, set[Configuration]]:
        lists = {k.name: downsample(k, self.levels) for k in self.space.knobs}
        best = self.current
        for knob in self.space.knobs:  # snap the start onto the downsampled space
            here = knob.index(best[knob.name])
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


class OwnKnobsPolicy(PeriodicProfilingPolicy):
    """A method that adapts only its own knobs (:meth:`own_knobs`), re-profiling every
    combination of their values with the true accuracy every ``period`` seconds, charged like
    the other periodic baselines', on top of a fixed encoding: the best static configuration
    for lambda with its own knobs at their dearest (:meth:`ProfilingPolicy.fixed_encoding`,
    chosen offline on the source's first ``offline_seconds``)."""

    missing: tuple[str, str]
    """The one-line error (problem, fix) when the space has none of its knobs."""

    @abc.abstractmethod
    def own_knobs(self, space: ConfigSpace) -> list[Knob]:
        """The knobs this method adapts."""

    def __init__(
        self,
        context: PolicyContext,
        lam: float,
        source: Source,
        period: int = 5,
        offline_seconds: int = 5,
        profiler: Profiler | None = None,
        gpu_weight: float = DEFAULT_GPU_WEIGHT,
        scan_seconds: int | None = None,
        budget: float | None = None,
    ) -> None:
        super().__init__(
            context, lam, period, profiler=profiler, gpu_weight=gpu_weight, budget=budget
        )
        self.own = self.own_knobs(self.space)
        if not self.own:
            raise ConfigurationError(*self.missing)
        self.current = self.fixed_encoding(context, self.own, source, offline_seconds, scan_seconds)

    def search(self, segment: Segment) -> tuple[Configuration, set[Configuration]]:
        combinations = ConfigSpace(tuple(self.own)).grid()
        configs = [Configuration({**self.current, **c}) for c in combinations]
        return self.best(segment, configs), set(configs)


class ReductoPolicy(OwnKnobsPolicy):
    """Reducto: it filters frames and leaves the encoding alone, so it adapts the
    frame-filter thresholds only."""

    missing = (
        "reducto needs a frame-filter knob in the space.",
        "Add one, e.g. --knob filter_pixel=0,0.02,0.04,0.06,0.1.",
    )

    def own_knobs(self, space: ConfigSpace) -> list[Knob]:
        return [k for k in space.knobs if k.stage is Stage.FRAME_FILTER]


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
    grid on the first ``seconds`` of the source (mean objective over those of them that are
    informative, :meth:`Profiler.informative`). When none of them is, it looks further, up to
    ``scan_seconds`` of the source (None: all of it), and profiles the first informative
    second found; with none at all it keeps the reference, which an empty road cannot fault.
    Every second scanned costs its reference inference, every informative one the grid; that
    one-time work is recorded in ``offline_overhead``, not charged to the streamed seconds."""

    def __init__(
        self,
        context: PolicyContext,
        lam: float,
        source: Source,
        seconds: int = 5,
        profiler: Profiler | None = None,
        gpu_weight: float = DEFAULT_GPU_WEIGHT,
        scan_seconds: int | None = None,
    ) -> None:
        super().__init__(context, lam, profiler, gpu_weight)
        configs = list(self.space.grid())
        totals = {c: np.zeros(2) for c in configs}  # summed (objective, -bytes): cheaper wins ties
        informative = 0
        limit = None if scan_seconds is None else max(scan_seconds, seconds)
        for i, segment in enumerate(source.segments(limit)):
            if i >= seconds and informative:
                break
            if not self.profiler.informative(segment):
                self.offline_overhead += self.profiler.cost(segment, [])
                continue
            informative += 1
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
        self.config = (
            max(configs, key=lambda c: tuple(totals[c])) if informative else self.space.reference
        )

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
    scan_seconds: int | None = None,
    budget: float | None = None,
    **options: Any,
) -> Policy:
    """A policy by name (see :data:`POLICY_NAMES`). ``profiler`` shares measurements between
    profiling policies; ``source``, ``offline_seconds`` and ``scan_seconds`` are what
    ``best-fixed`` chooses its configuration on (:class:`BestFixedPolicy`), and ``reducto``,
    ``accmpeg`` and ``dds`` their encoding (:meth:`ProfilingPolicy.fixed_encoding`);
    ``budget`` is the spare inferences per second of the ``@budget`` variants (required by
    them, ignored by the others); ``options`` go to the policy's constructor (e.g.
    ``period=``, ``levels=``, ``gpu_weight=``, ``lr=``; ignored by ``fixed:``)."""
    if name == "oneadapt":
        from oneadapt.adapt.gradient_policy import GradientPolicy

        return GradientPolicy(context, lam, **options)
    if name.startswith("fixed:"):
        return FixedPolicy(context.space.fixed(parse_fixed(name)))
    base = name.removesuffix(BUDGET_SUFFIX)
    if not is_budgeted(name):
        budget = None
    elif base not in BUDGETABLE:
        raise OneAdaptError(f"unknown policy {name!r}.", f"Use one of {', '.join(POLICY_NAMES)}.")
    elif budget is None:
        raise OneAdaptError(
            f"{name} needs a profiling budget.",
            "Pass budget= (spare inferences per second) to make_policy.",
        )
    periodic: dict[str, type[PeriodicProfilingPolicy]] = {
        "awstream": AWStreamPolicy,
        "chameleon": ChameleonPolicy,
    }
    if base in periodic:
        return periodic[base](context, lam, profiler=profiler, budget=budget, **options)
    if name == "oracle":
        return OraclePolicy(context, lam, profiler=profiler, **options)
    if base in ("best-fixed", "reducto", "accmpeg", "dds"):
        if source is None:
            raise OneAdaptError(
                f"{name} needs the source to choose its configuration offline.",
                "Pass source= to make_policy.",
            )
        if base in ("reducto", "accmpeg", "dds"):
            from oneadapt.adapt.accmpeg import AccMPEGPolicy
            from oneadapt.adapt.dds import DDSPolicy

            chosen = {"reducto": ReductoPolicy, "accmpeg": AccMPEGPolicy, "dds": DDSPolicy}[base]
            if budget is not None:  # only a budgeted variant (reducto@budget) has one
                options["budget"] = budget
            return chosen(
                context,
                lam,
                source,
                offline_seconds=offline_seconds,
                profiler=profiler,
                scan_seconds=scan_seconds,
                **options,
            )
        return BestFixedPolicy(
            context,
            lam,
            source,
            seconds=offline_seconds,
            profiler=profiler,
            scan_seconds=scan_seconds,
            **options,
        )
    raise OneAdaptError(f"unknown policy {name!r}.", f"Use one of {', '.join(POLICY_NAMES)}.")
