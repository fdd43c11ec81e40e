"""Baseline policies on real encodes and the real YOLOX detector (tiny grid, 3 s at 5 fps)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from oneadapt.adapt.baselines import (
    AWStreamPolicy,
    BestFixedPolicy,
    ChameleonPolicy,
    OraclePolicy,
    ReductoPolicy,
    downsample,
    make_policy,
    parse_fixed,
    spread,
)
from oneadapt.adapt.policy import FixedPolicy, Overhead, PolicyContext
from oneadapt.adapt.profiler import Profiler
from oneadapt.errors import OneAdaptError
from oneadapt.inference_cache import Detector, InferenceCache
from oneadapt.knobs import ConfigSpace, Configuration
from oneadapt.knobs.fps import FrameRate
from oneadapt.knobs.qp import QP
from oneadapt.media.sources import Segment, Source, VideoSource
from oneadapt.models.registry import load_model
from oneadapt.tasks.detection import DetectionTask

SECONDS = 3
LAMBDAS = (0.05, 0.3, 1.0)
GRID_FRAMES = 4 * 5 + 4 * 2
"""Frames inferred to profile the 2 x 2 x 2 grid on one 5-frame second."""


@pytest.fixture(scope="module")
def setup(onnx_and_clip: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory):
    """YOLOX, the highway clip (320x240, 5 fps), a 2 x 2 x 2 grid, one profiler for all tests."""
    model_path, clip = onnx_and_clip
    model = load_model(str(model_path))
    task = DetectionTask.for_model(model.class_names)
    # The session's cache (conftest's ONEADAPT_CACHE), shared with the other test files.
    cache = InferenceCache(tmp_path_factory.getbasetemp() / "cache" / "detections.sqlite")
    detector = Detector(model, cache)
    source = VideoSource(clip, fps=5)
    space = ConfigSpace.default(240, 5, qp=(24, 40), height=(240, 120), fps=(5, 2))
    context = PolicyContext(space, detector, task)
    profiler = Profiler(detector, task, space.reference)
    return context, profiler, source, list(source.segments(SECONDS))


def run_decisions(policy, segments):
    """(configuration, charged overhead) per second, as the run loop would see them."""
    out = []
    for s in segments:
        config = policy.decide(s.index, s)
        out.append((config, policy.take_overhead()))
    return out


def test_oracle_bounds_every_policy_objective(setup) -> None:
    context, profiler, source, segments = setup
    for lam in LAMBDAS:
        oracle = OraclePolicy(context, lam, profiler=profiler)
        others = [
            AWStreamPolicy(context, lam, period=2, profiler=profiler),
            ChameleonPolicy(context, lam, period=2, profiler=profiler),
            BestFixedPolicy(context, lam, source, seconds=2, profiler=profiler),
            FixedPolicy(Configuration(qp=40, height=120, fps=2)),
            FixedPolicy(context.space.reference),
        ]
        bound = [
            profiler.objective(s, c, lam, 1.0)
            for s, (c, _) in zip(segments, run_decisions(oracle, segments), strict=True)
        ]
        for policy in others:
            for s, b, (config, _) in zip(
                segments, bound, run_decisions(policy, segments), strict=True
            ):
                assert profiler.objective(s, config, lam, 1.0) <= b + 1e-12, (policy, lam)


def test_profiling_is_charged_in_full_and_fixed_is_free(setup) -> None:
    context, profiler, _, segments = setup
    per_second = []
    for _ in range(2):  # the second policy finds everything memoised: still charged in full
        aw = run_decisions(AWStreamPolicy(context, 0.3, period=2, profiler=profiler), segments)
        per_second.append([o.profiling_inferences for _, o in aw])
    # 2 x 2 x 2 configurations profiled at seconds 0 and 2: four at 5 frames, four at 2.
    assert per_second[0] == per_second[1] == [GRID_FRAMES, 0, GRID_FRAMES]
    assert aw[0][0] == context.space.reference  # the old configuration stays in use
    assert all(o.camera_encodes == 8 for _, o in (aw[0], aw[2]))

    chameleon = run_decisions(ChameleonPolicy(context, 0.3, period=2, profiler=profiler), segments)
    charged = [o.profiling_inferences for _, o in chameleon]
    assert 0 < charged[0] <= GRID_FRAMES and charged[1] == 0 and charged[2] > 0

    fixed = run_decisions(make_policy("fixed:40/120/2", context, 0.3), segments)
    assert all(o.profiling_inferences == 0 and o.camera_encodes == 0 for _, o in fixed)

    oracle = OraclePolicy(context, 0.3, profiler=profiler)
    assert all(o.profiling_inferences == 0 for _, o in run_decisions(oracle, segments))
    assert oracle.offline_overhead.profiling_inferences == GRID_FRAMES * SECONDS
    assert oracle.deployable is False


def test_best_fixed_picks_the_best_static_configuration(setup) -> None:
    context, profiler, source, segments = setup
    for lam in LAMBDAS:
        policy = BestFixedPolicy(context, lam, source, seconds=2, profiler=profiler)
        chosen = {c for c, o in run_decisions(policy, segments)}
        assert chosen == {policy.config}
        assert policy.offline_overhead.profiling_inferences == GRID_FRAMES * 2
        assert policy.take_overhead().profiling_inferences == 0

        def mean_objective(config: Configuration, lam: float = lam) -> float:
            return sum(profiler.objective(s, config, lam, 1.0) for s in segments[:2]) / 2

        best = max(mean_objective(c) for c in context.space.grid())
        assert mean_objective(policy.config) == pytest.approx(best)
    # With bandwidth free, nothing beats the reference's accuracy.
    free = BestFixedPolicy(context, 0.0, source, seconds=2, profiler=profiler)
    assert all(profiler.measure(s, free.config).accuracy == 1.0 for s in segments[:2])


def test_make_policy_names_and_fixed_specs(setup) -> None:
    context, profiler, source, _ = setup
    assert make_policy("fixed:30/120/2", context, 0.1).config == Configuration(
        qp=30, height=120, fps=2
    )
    assert isinstance(make_policy("awstream", context, 0.1, profiler=profiler), AWStreamPolicy)
    assert isinstance(make_policy("chameleon", context, 0.1, period=4), ChameleonPolicy)
    assert isinstance(make_policy("oracle", context, 0.1), OraclePolicy)
    for name, kind in (("awstream@budget", AWStreamPolicy), ("chameleon@budget", ChameleonPolicy)):
        budgeted = make_policy(name, context, 0.1, profiler=profiler, budget=3.5)
        assert isinstance(budgeted, kind) and budgeted.budget == 3.5
        with pytest.raises(OneAdaptError, match="budget"):
            make_policy(name, context, 0.1, profiler=profiler)
    assert make_policy("awstream", context, 0.1, profiler=profiler, budget=3.5).budget is None
    for bad in ("best-fixed@budget", "oracle@budget"):  # nothing to slow down: not a policy
        with pytest.raises(OneAdaptError, match="unknown policy"):
            make_policy(bad, context, 0.1, profiler=profiler, source=source, budget=3.5)
    best = make_policy(
        "best-fixed", context, 0.1, profiler=profiler, source=source, offline_seconds=1
    )
    assert isinstance(best, BestFixedPolicy)
    assert make_policy("oneadapt", context, 0.1).wants_dnn_grad
    for bad in ("fixed:30/120", "fixed:x/120/5", "fixed:60/120/5", "nope"):
        with pytest.raises(OneAdaptError):
            make_policy(bad, context, 0.1)
    with pytest.raises(OneAdaptError, match="source"):
        make_policy("best-fixed", context, 0.1)
    with pytest.raises(OneAdaptError):
        make_policy("awstream", PolicyContext(context.space), 0.1)


def test_downsample_keeps_both_ends() -> None:
    knob = QP((20, 25, 30, 35, 40, 45, 50))
    assert downsample(knob, 3) == (20, 35, 50)
    assert downsample(knob, 2) == (20, 50)
    assert downsample(knob, 10) == knob.values
    assert downsample(FrameRate((10,)), 3) == (10,)
    assert parse_fixed("fixed:36/240/2") == Configuration(qp=36, height=240, fps=2)


def test_spread_charges_the_budget_per_second_and_the_total_exactly() -> None:
    cost = Overhead(
        camera_encodes=8, camera_seconds=0.8, profiling_inferences=28, profiling_seconds=2.8
    )
    assert spread(cost, None) == [cost]
    assert spread(cost, 28.0) == [cost]
    shares = spread(cost, 10.0)
    assert [s.profiling_inferences for s in shares] == [10, 10, 8]
    assert [s.camera_encodes for s in shares] == [8, 0, 0]
    assert sum(s.profiling_seconds for s in shares) == pytest.approx(2.8)
    assert [s.profiling_inferences for s in spread(cost, 2.5)][:4] == [2, 3, 2, 3]
    assert len(spread(cost, 2.5)) == 12  # ceil(28 / 2.5)
    assert sum(s.profiling_inferences for s in spread(cost, 2.5)) == 28


def test_budgeted_awstream_keeps_the_old_configuration_while_profiling(setup) -> None:
    context, profiler, _, segments = setup
    unlimited = run_decisions(AWStreamPolicy(context, 1.0, period=1, profiler=profiler), segments)
    found = unlimited[1][0]  # profiled on second 0, in use from second 1
    assert found != context.space.reference  # otherwise the test could not tell
    # 28 inferences at 14/s: two seconds of profiling, the result applies from second 2,
    # where the next profile (period 1) starts at once.
    budgeted = make_policy("awstream@budget", context, 1.0, profiler=profiler, budget=14, period=1)
    decisions = run_decisions(budgeted, segments)
    assert [c for c, _ in decisions] == [context.space.reference] * 2 + [found]
    assert [o.profiling_inferences for _, o in decisions] == [14, 14, 14]
    # 28 at 10/s: three seconds; nothing else starts meanwhile.
    slow = run_decisions(
        AWStreamPolicy(context, 1.0, period=1, profiler=profiler, budget=10), segments
    )
    assert [c for c, _ in slow] == [context.space.reference] * 3
    assert [o.profiling_inferences for _, o in slow] == [10, 10, 8]
    # Chameleon runs through the same mechanism: never more than the budget per second.
    chameleon = ChameleonPolicy(context, 1.0, period=1, profiler=profiler, budget=5)
    charged = [o.profiling_inferences for _, o in run_decisions(chameleon, segments)]
    assert charged == [5, 5, 5]
    with pytest.raises(OneAdaptError):
        AWStreamPolicy(context, 1.0, profiler=profiler, budget=0)


def blank(segment: Segment, index: int) -> Segment:
    """``segment`` as an empty grey second (no object of interest for any detector)."""
    return replace(segment, index=index, frames=np.full_like(segment.frames, 110))


class ListSource(Source):
    """Given segments, renumbered from 0, as a source."""

    def __init__(self, segments: list[Segment]) -> None:
        self.name, self.fps = "list", segments[0].fps
        self.height, self.width = segments[0].height, segments[0].width
        self._segments = [replace(s, index=i) for i, s in enumerate(segments)]

    def segments(self, max_seconds: int | None = None) -> Iterator[Segment]:
        yield from self._segments[:max_seconds]


def test_profiling_skips_seconds_without_objects_of_interest(setup) -> None:
    context, profiler, _, segments = setup
    empty = blank(segments[0], 0)
    assert not profiler.informative(empty) and profiler.informative(segments[0])
    grid = list(context.space.grid())
    naive = AWStreamPolicy(context, 1.0, profiler=profiler).best(empty, grid)
    assert naive != context.space.reference  # what an unguarded profile would pick
    stream = list(ListSource([empty, *segments[:2]]).segments())
    for policy in (
        AWStreamPolicy(context, 1.0, period=2, profiler=profiler),
        ChameleonPolicy(context, 1.0, period=2, profiler=profiler),
    ):
        decisions = run_decisions(policy, stream)
        # Second 0 is empty: reference kept, nothing charged; second 1 is profiled.
        assert decisions[0] == (context.space.reference, Overhead())
        assert decisions[1][0] == context.space.reference
        assert decisions[1][1].profiling_inferences > 0
        fresh = type(policy)(context, 1.0, period=2, profiler=profiler)  # starts at reference
        assert decisions[2][0] == fresh.search(stream[1])[0]

    # best-fixed: its one offline second is empty, so it looks further for one with objects.
    best = BestFixedPolicy(
        context, 1.0, ListSource([empty, *segments[:2]]), seconds=1, profiler=profiler
    )
    assert best.config == max(
        grid,
        key=lambda c: (
            profiler.objective(segments[0], c, 1.0, 1.0),
            -profiler.measure(segments[0], c).bytes,
        ),
    )
    assert best.offline_overhead.profiling_inferences == 5 + GRID_FRAMES  # reference + grid
    nothing = BestFixedPolicy(
        context, 1.0, ListSource([empty, blank(segments[1], 1)]), seconds=1, profiler=profiler
    )
    assert nothing.config == context.space.reference
    bounded = BestFixedPolicy(
        context,
        1.0,
        ListSource([empty, *segments[:2]]),
        seconds=1,
        profiler=profiler,
        scan_seconds=1,
    )
    assert bounded.config == context.space.reference


def test_reducto_profiles_only_the_thresholds_on_its_best_fixed_encoding(setup) -> None:
    context, _, source, segments = setup
    space = ConfigSpace.default(
        240, 5, qp=(24, 40), height=(240,), fps=(5,), filter_pixel=(0, 0.04, 0.1)
    )
    filtered = PolicyContext(space, context.detector, context.task)
    profiler = Profiler(context.detector, context.task, space.reference)
    policy = make_policy(
        "reducto", filtered, 1.0, profiler=profiler, source=source, offline_seconds=1, period=2
    )
    assert isinstance(policy, ReductoPolicy) and policy.budget is None
    encoding = policy.current
    assert encoding["filter_pixel"] == 0  # chosen offline with every frame sent
    assert policy.offline_overhead.profiling_inferences == 5 * 2  # qp24 (the reference), qp40
    decisions = run_decisions(policy, segments)
    assert decisions[0][0] == encoding  # the old configuration while profiling
    candidates = [encoding.with_knob("filter_pixel", t) for t in (0, 0.04, 0.1)]
    best = max(
        candidates,
        key=lambda c: (
            profiler.objective(segments[0], c, 1.0, 1.0),
            -profiler.measure(segments[0], c).bytes,
        ),
    )
    assert decisions[1][0] == best and decisions[2][0] == best
    assert {(c["qp"], c["height"], c["fps"]) for c, _ in decisions} == {
        (encoding["qp"], 240, 5)
    }  # the encoding never moves
    charged = [o.profiling_inferences for _, o in decisions]
    frames = {profiler.measure(segments[0], c).frames for c in candidates}
    profiled = {*candidates, space.reference}
    assert charged[0] == sum(profiler.measure(segments[0], c).frames for c in profiled)
    assert charged[1] == 0 and charged[2] > 0 and max(frames) == 5 and min(frames) < 5
    # Under a spare-GPU budget the same profile takes ceil(P / budget) seconds, charged the
    # budget each second, with the offline encoding in use meanwhile.
    budget = math.ceil(charged[0] / len(segments)) - 1
    slow = make_policy(
        "reducto@budget", filtered, 1.0, profiler=profiler, source=source, offline_seconds=1,
        period=2, budget=budget,
    )  # fmt: skip
    assert isinstance(slow, ReductoPolicy) and slow.budget == budget
    slowed = run_decisions(slow, segments)
    assert [c for c, _ in slowed] == [encoding] * len(segments)
    assert [o.profiling_inferences for _, o in slowed] == [budget] * len(segments)
    with pytest.raises(OneAdaptError, match="frame-filter"):
        make_policy("reducto", context, 1.0, profiler=profiler, source=source)
    with pytest.raises(OneAdaptError, match="source"):
        make_policy("reducto", filtered, 1.0, profiler=profiler)
