"""Benchmark: every policy at every lambda over every video, through the same run loop.

All policies stream through :func:`oneadapt.evaluate.run.run_policy`, so accuracy and
resources are measured by one code path. Per video one :class:`Profiler` is shared by every
profiling policy and lambda (each (second, configuration) is measured at most once in this
process, the reference once per second), and the on-disk inference cache makes repeated
decoded frames free; charged costs are counted as if nothing were cached.

DNN work is reported in frame-equivalents: frames inferred for streaming, plus profiling
inferences, plus backward passes (DNNGrad) weighted by the measured time of one backward
pass over one forward pass of the same detector, same framework, same frame
(:func:`backward_frame_ratio`; the forward pass is the frame's inference).

The ``@budget`` variants of the profiling baselines get a spare-GPU budget of inferences per
second: the one given, or by default oneadapt's own measured extra server work (its
overhead frames per second) on the same video at the same lambda, so both methods are
compared at equal adaptation compute. oneadapt therefore runs before them.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow

from oneadapt.adapt.baselines import is_budgeted, make_policy
from oneadapt.adapt.gradients import DNNGradSettings, pixel_grad
from oneadapt.adapt.objective import DEFAULT_GPU_WEIGHT, objective
from oneadapt.adapt.policy import PolicyContext
from oneadapt.adapt.profiler import Profiler
from oneadapt.console import make_console
from oneadapt.errors import ConfigurationError
from oneadapt.evaluate.profile import pareto_mask
from oneadapt.evaluate.report import mean_curves, render_report
from oneadapt.evaluate.run import run_policy
from oneadapt.inference_cache import Detector, InferenceCache
from oneadapt.inputs import check_policy
from oneadapt.knobs import KnobLists
from oneadapt.media.modality import modality_of
from oneadapt.media.sources import Source, open_source
from oneadapt.models.base import Model
from oneadapt.models.registry import load_model
from oneadapt.storage import OutputDir, atomic_path, atomic_write_text
from oneadapt.tasks.base import Task

TARGET_ACCURACIES = (0.85, 0.9, 0.95)
UNBUDGETED_BASELINES = ("awstream", "chameleon", "best-fixed", "reducto", "accmpeg", "dds")
BUDGETED_BASELINES = ("awstream@budget", "chameleon@budget", "reducto@budget")
BUDGET_MODE = "oneadapt@max-kbps"
"""The gradient policy in bandwidth-budget mode; its rows' ``lambda`` holds the budget."""
BUDGET_START_LAMBDA = 0.1
"""Where the budget mode's dual variable starts."""
PROFILING_BASELINES = ("awstream", "chameleon", "reducto", "accmpeg")


def open_video(spec: str | Path | Any, fps: int, seconds: int | None) -> Any:
    """A source from a spec (:func:`open_source`: a path, URL, ``scene[:SEED]``,
    ``speech[:SEED]``, ``lidar[:SEED]``); an opened source of any kind passes through."""
    if not isinstance(spec, str | Path):
        return spec
    return open_source(spec, fps=fps, scene_seconds=seconds or 60)


def backward_frame_ratio(model: Model, task: Task, items: Sequence[np.ndarray]) -> float:
    """Seconds of one DNNGrad backward pass over those of its forward pass (PyTorch, same
    item, median of three after a warm-up): how many inferred items one backward pass
    is worth. The forward pass itself is the frame's inference (:class:`DNNGradServer`), so
    only the backward is extra. Comparing like with like keeps the choice of inference
    backend (onnxruntime is faster than PyTorch here) out of the method's cost. Timed on
    the first of ``items`` with something to back-propagate (a frame with no face has no
    backward pass to time, and would charge the passes of the others nothing); 0 when none
    has."""
    warm = next((i for i in items if pixel_grad(model, task, [i]).backward_seconds > 0), None)
    if warm is None:
        return 0.0
    passes = [pixel_grad(model, task, [warm]) for _ in range(3)]
    ratios = [p.backward_seconds / max(p.forward_seconds, 1e-9) for p in passes]
    return float(np.median(ratios))


def cost_at_accuracy(cost: np.ndarray, accuracy: np.ndarray, target: float) -> float | None:
    """Least cost reaching ``target`` on the upper envelope (Pareto front) of a curve,
    interpolated linearly between its points; None when the curve never reaches it."""
    keep = pareto_mask(cost, accuracy)
    order = np.argsort(cost[keep], kind="stable")
    c, a = cost[keep][order], accuracy[keep][order]
    if len(a) == 0 or target > a.max():
        return None
    i = int(np.argmax(a >= target))
    if i == 0:
        return float(c[0])
    t = (target - a[i - 1]) / (a[i] - a[i - 1])
    return float(c[i - 1] + t * (c[i] - c[i - 1]))


def overhead_frames(df: pd.DataFrame, backward_ratio: float) -> pd.Series:
    """Adaptation work per row in frame-equivalents: profiling inferences plus backward
    passes weighted by :func:`backward_frame_ratio`."""
    return df["profiling_inferences"] + df["backward_passes"] * backward_ratio


def summarize(
    df: pd.DataFrame, offline: dict[tuple[str, str, float], int], backward_ratio: float
) -> dict:
    """``points`` (per video, policy, lambda) and ``matched`` (per target accuracy, policy)."""
    work = df.assign(overhead_frames=overhead_frames(df, backward_ratio))
    work["dnn_frames"] = work["frames_inferred"] + work["overhead_frames"]
    grouped = work.groupby(["video", "policy", "lambda"], sort=False)
    means = grouped[
        ["accuracy", "kbps", "dnn_frames", "overhead_frames", "camera_encodes", "objective"]
    ].mean()
    points = [
        {
            "video": video,
            "policy": policy,
            "lambda": float(lam),
            "accuracy": float(r.accuracy),
            "kbps": float(r.kbps),
            "dnn_frames_per_s": float(r.dnn_frames),
            "overhead_frames_per_s": float(r.overhead_frames),
            "camera_encodes_per_s": float(r.camera_encodes),
            "objective": float(r.objective),
            "offline_profiling_inferences": offline.get((video, policy, lam), 0),
            "seconds": int(grouped.size()[(video, policy, lam)]),
        }
        for (video, policy, lam), r in means.iterrows()
    ]
    curves = mean_curves(pd.DataFrame(points))
    matched = []
    for target in TARGET_ACCURACIES:
        costs = {}
        for policy, g in curves.groupby("policy", sort=False):
            acc = g["accuracy"].to_numpy()
            costs[policy] = {
                "kbps": cost_at_accuracy(g["kbps"].to_numpy(), acc, target),
                "dnn_frames_per_s": cost_at_accuracy(g["dnn_frames_per_s"].to_numpy(), acc, target),
            }
        base = costs.get("oneadapt", {})
        for policy, c in costs.items():
            ratios = {
                f"{short}_ratio_to_oneadapt": (
                    c[key] / base[key] if c[key] is not None and base.get(key) else None
                )
                for key, short in (("kbps", "kbps"), ("dnn_frames_per_s", "dnn"))
            }
            if policy == "oneadapt":
                ratios.update(against_best(c, costs))
            matched.append({"target_accuracy": target, "policy": policy, **c, **ratios})
    return {"points": points, "matched": matched}


def against_best(own: dict, costs: dict[str, dict]) -> dict[str, float | None]:
    """oneadapt's matched cost over the least of a group of baselines at the same accuracy
    (below 1: oneadapt is cheaper than the best of them): kbit/s against the unbudgeted
    baselines (:data:`UNBUDGETED_BASELINES`) and against the budgeted ones, DNN frames/s
    against the profiling baselines, unbudgeted and budgeted. None where oneadapt or every
    baseline of the group misses the accuracy, or the group was not run."""

    def ratio(key: str, group: Sequence[str]) -> float | None:
        theirs = [costs[p][key] for p in group if p in costs and costs[p][key] is not None]
        if own[key] is None or not theirs or min(theirs) <= 0:
            return None
        return own[key] / min(theirs)

    return {
        "kbps_ratio_to_best_baseline": ratio("kbps", UNBUDGETED_BASELINES),
        "kbps_ratio_to_best_budgeted": ratio("kbps", BUDGETED_BASELINES),
        "dnn_ratio_to_best_profiling": ratio("dnn_frames_per_s", PROFILING_BASELINES),
        "dnn_ratio_to_best_budgeted": ratio("dnn_frames_per_s", BUDGETED_BASELINES),
    }


def run_order(policies: Sequence[str]) -> list[str]:
    """``policies`` with the budgeted variants last (otherwise in the given order), so that
    oneadapt, whose measured overhead is their default budget, runs before them."""
    return [p for p in policies if not is_budgeted(p)] + [p for p in policies if is_budgeted(p)]


class PointStore:
    """Each finished (video, policy, lambda) point saved as it completes, in
    ``out/points/``, so an interrupted benchmark keeps them and a resumed one skips them.
    Points are only reused under the settings they were measured with; a benchmark that
    does not resume starts over."""

    def __init__(self, out: OutputDir, settings: dict, resume: bool) -> None:
        self.out = out
        self.dir = out.path / "points"
        self.settings = settings
        self.files: dict[str, Path] = {}
        saved = self.dir / "settings.json"
        if resume and saved.is_file():
            try:
                same = json.loads(saved.read_text()) == settings
            except (OSError, ValueError):
                same = False
            if not same:
                raise ConfigurationError(
                    f"the points in {self.dir} were measured with other settings.",
                    "Resume with the same model, knob grid, seconds and classes, or drop "
                    "--resume to start over.",
                )
            self.files = {p.name: p for p in self.dir.glob("*.parquet")}

    @staticmethod
    def _name(video: str, policy: str, lam: float) -> str:
        key = json.dumps([video, policy, float(lam)]).encode()
        return f"{hashlib.sha256(key).hexdigest()[:20]}.parquet"

    def load(self, video: str, policy: str, lam: float) -> tuple[pd.DataFrame, int] | None:
        """A saved point's rows and its offline profiling inferences, or None."""
        path = self.files.get(self._name(video, policy, lam))
        if path is None:
            return None
        try:
            df = pd.read_parquet(path)
        except (OSError, ValueError, pyarrow.ArrowException):
            return None  # damaged (not written by atomic_path): measured again
        return df, int(df.attrs.get("offline_profiling_inferences", 0))

    def save(self, df: pd.DataFrame, offline_inferences: int) -> None:
        """Write one finished point atomically; the results directory is then kept even
        if the benchmark fails later."""
        if not self.out.keep:
            self.out.keep = True
            self.dir.mkdir(parents=True, exist_ok=True)
            for stale in set(self.dir.glob("*.parquet")) - set(self.files.values()):
                stale.unlink()
            atomic_write_text(self.dir / "settings.json", json.dumps(self.settings))
        video, policy, lam = df["video"].iloc[0], df["policy"].iloc[0], df["lambda"].iloc[0]
        df = df.copy()
        df.attrs["offline_profiling_inferences"] = int(offline_inferences)
        with atomic_path(self.dir / self._name(video, policy, lam)) as tmp:
            df.to_parquet(tmp, index=False)


def bench(
    videos: Sequence[str | Source],
    model_spec: str | Model,
    policies: Sequence[str],
    lambdas: Sequence[float],
    out: Path | OutputDir,
    seconds: int | None = None,
    analysis_fps: int = 10,
    progress: bool = True,
    knobs: KnobLists | None = None,
    classes: Sequence[str] | None = None,
    gpu_weight: float = DEFAULT_GPU_WEIGHT,
    best_fixed_seconds: int = 5,
    grad_settings: DNNGradSettings | None = None,
    profiling_budget: float | None = None,
    max_kbps: Sequence[float] = (),
    resume: bool = False,
) -> dict:
    """Run every policy at every lambda on every video; write ``bench.parquet``, ``summary.json``,
    ``tradeoff_kbps.png``, ``tradeoff_dnn.png`` and ``report.md`` to ``out`` (atomically) and
    return the summary. ``knobs`` gives value lists by knob name (a default knob not named, or
    None: its defaults; any other knob named joins the space); ``best-fixed`` chooses on the
    first ``best_fixed_seconds`` of the benchmarked seconds; ``grad_settings`` is how the server
    computes DNNGrad for the gradient policy. ``profiling_budget`` is the spare inferences per
    second of the ``@budget`` baselines; None: oneadapt's measured overhead frames per second on
    the same video and lambda, or, when oneadapt is not benchmarked, one DNNGrad backward pass
    per ``grad_settings.interval`` seconds in frame-equivalents. The budgets used are in
    ``summary["meta"]["profiling_budgets"]``. ``max_kbps`` adds ``oneadapt@max-kbps``, the
    gradient policy in budget mode, one point per budget. Each finished point is saved in
    ``out/points`` as it completes; ``resume`` reuses those an earlier run with the same
    settings saved."""
    if profiling_budget is not None and not profiling_budget > 0:
        raise ConfigurationError(
            f"profiling budget {profiling_budget} is not positive.",
            "Give the spare inferences per second as a number > 0.",
        )
    start = time.perf_counter()
    grad_settings = grad_settings or DNNGradSettings()
    target = out if isinstance(out, OutputDir) else OutputDir(out)
    for name in policies:
        check_policy(name)
    sources = [open_video(v, analysis_fps, seconds) for v in videos]
    names = [s.name for s in sources]
    if len(set(names)) < len(names):
        raise ConfigurationError(
            f"two videos are named {sorted({n for n in names if names.count(n) > 1})}.",
            "Give each video once, under distinct names (their points would merge).",
        )
    model = load_model(model_spec) if isinstance(model_spec, str) else model_spec
    for source in sources:
        modality_of(source).check_model(model)
    task = model.task(classes)
    detector = Detector(model, InferenceCache())
    console = make_console(stderr=True)
    console.quiet = not progress

    first = next(sources[0].segments(1))
    ratio = backward_frame_ratio(model, task, modality_of(sources[0]).items(first))
    frames: list[pd.DataFrame] = []
    offline: dict[tuple[str, str, float], int] = {}
    budgets: list[dict] = []
    spaces = []
    points = PointStore(
        target,
        {
            "model": model.id,
            "seconds": seconds,
            "analysis_fps": analysis_fps,
            "knobs": {name: list(values or []) for name, values in (knobs or {}).items()},
            "task": repr(task),
            "gpu_weight": gpu_weight,
            "best_fixed_seconds": best_fixed_seconds,
            "dnngrad_every": grad_settings.interval,
            "profiling_budget": profiling_budget,
            "max_kbps": [float(b) for b in max_kbps],
        },
        resume,
    )
    for source in sources:
        sensor = modality_of(source)
        space = sensor.space(source, analysis_fps, knobs)
        described = ", ".join(f"{k.title} {list(k.values)}" for k in space.knobs)
        spaces.append(f"{source.name}: {described}")
        context = PolicyContext(space, detector, task, sensor)
        profiler = Profiler(detector, task, space.reference, sensor)
        references: dict | None = None
        own_overhead: dict[float, float] = {}  # oneadapt's overhead frames/s, per lambda
        runs = [(name, lam) for name in run_order(policies) for lam in lambdas]
        budget_runs = [(BUDGET_MODE, b) for b in max_kbps]  # objective at its final lambda
        for name, lam in budget_runs + runs:
            budget = None
            if is_budgeted(name):
                budget, basis = profiling_budget, "given"
                if budget is None and own_overhead.get(float(lam), 0) > 0:
                    budget, basis = own_overhead[float(lam)], "oneadapt overhead"
                elif budget is None:
                    budget, basis = ratio / grad_settings.interval, "DNNGrad interval"
                budgets.append(
                    {
                        "video": source.name,
                        "policy": name,
                        "lambda": float(lam),
                        "inferences_per_s": budget,
                        "basis": basis,
                    }
                )
            saved = points.load(source.name, name, lam)
            if saved is not None:
                console.print(f"{source.name}: {name} at lambda {lam:g} (saved point)")
                df, offline[(source.name, name, float(lam))] = saved
            else:
                if references is None:
                    references = {s.index: profiler.reference(s) for s in source.segments(seconds)}
                    reference_bytes = {i: r.bytes for i, r in references.items()}
                    reference_frames = {i: r.frames for i, r in references.items()}
                console.print(f"{source.name}: {name} at lambda {lam:g}")
                mode = {"max_kbps": lam} if name == BUDGET_MODE else {}
                policy = make_policy(
                    "oneadapt" if name == BUDGET_MODE else name,
                    context,
                    BUDGET_START_LAMBDA if name == BUDGET_MODE else lam,
                    profiler=profiler,
                    source=source,
                    offline_seconds=min(best_fixed_seconds, seconds or best_fixed_seconds),
                    scan_seconds=seconds,
                    budget=budget,
                    gpu_weight=gpu_weight,
                    **mode,
                )
                df = run_policy(
                    source, policy, detector, task, space, seconds, progress, grad_settings, sensor
                )
                df["reference_bytes"] = df["second"].map(reference_bytes)
                df["reference_frames"] = df["second"].map(reference_frames)
                df["objective"] = objective(
                    df["accuracy"],
                    df["bytes"],
                    df["frames_inferred"],
                    df["reference_bytes"],
                    df["reference_frames"],
                    policy.lam if name == BUDGET_MODE else lam,  # type: ignore[attr-defined]
                    gpu_weight,
                )
                df.insert(0, "lambda", float(lam))
                df.insert(0, "policy", name)
                df.insert(0, "video", source.name)
                extra = getattr(policy, "offline_overhead", None)
                offline[(source.name, name, float(lam))] = (
                    extra.profiling_inferences if extra else 0
                )
                points.save(df, offline[(source.name, name, float(lam))])
            frames.append(df)
            if name == "oneadapt":
                own_overhead[float(lam)] = float(overhead_frames(df, ratio).mean())

    df = pd.concat(frames, ignore_index=True)
    summary = summarize(df, offline, ratio)
    summary["meta"] = {
        "model": model.id,
        "videos": [s.name for s in sources],
        "policies": list(policies),
        "lambdas": [float(x) for x in lambdas],
        "max_kbps": [float(x) for x in max_kbps],
        "space": "; ".join(spaces),
        "gpu_weight": gpu_weight,
        "backward_frame_equivalents": ratio,
        "dnngrad_every": grad_settings.interval,
        "profiling_budget": profiling_budget,
        "profiling_budgets": budgets,
        "wall_seconds": time.perf_counter() - start,
    }
    out = target.create()
    with atomic_path(out / "bench.parquet") as tmp:
        df.to_parquet(tmp, index=False)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1, allow_nan=False))
    render_report(out)
    return summary
