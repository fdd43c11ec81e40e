"""How good is the AccGrad estimate? Compare, per second and knob, the accuracy change that
InputGrad x DNNGrad predicts for one step along the knob with the change measured by
actually encoding and inferring that neighbouring configuration.

This runs at several operating points (not only the reference), because the policy spends
most of its time away from the reference. Cosine and Pearson are invariant to the
accuracy scale, yet the scale is what the step weighs against ``lambda`` times the resource
change, so two scale-aware figures come with them:

- ``decision_agreement``: per lambda, the fraction of (second, point, knob) pairs where the
  estimated objective change ``estimated - lambda * resource_change`` has the sign of the
  measured one (the decision the step takes);
- ``scale_ratio``: sum of |estimated| over sum of |measured| accuracy changes (1 = right
  scale on average).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from oneadapt.adapt.gradient_policy import probe_knobs
from oneadapt.adapt.gradients import DNNGradServer, DNNGradSettings
from oneadapt.adapt.objective import resource
from oneadapt.console import Progress
from oneadapt.evaluate.measure import measure
from oneadapt.evaluate.plots import plot_gradcheck
from oneadapt.inference_cache import Detector
from oneadapt.knobs import ConfigSpace, Configuration
from oneadapt.media.modality import Modality, modality
from oneadapt.media.sources import Source
from oneadapt.storage import atomic_write_text
from oneadapt.tasks.base import Task


def operating_points(space: ConfigSpace) -> list[Configuration]:
    """The reference, and every knob a third and two thirds of the way down its list."""
    points = []
    for fraction in (0.0, 1 / 3, 2 / 3):
        values = {k.name: k.values[int(fraction * (len(k.values) - 1) + 0.5)] for k in space.knobs}
        points.append(Configuration(values))
    return list(dict.fromkeys(points))


def _cosine(a: np.ndarray, b: np.ndarray) -> float | None:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return None if na == 0 or nb == 0 else float(a @ b / (na * nb))


def _pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


DECISION_LAMBDAS = (0.1, 0.3, 1.0)


def decision_agreement(
    estimated: np.ndarray, measured: np.ndarray, resource_change: np.ndarray, lam: float
) -> float | None:
    """Fraction of pairs whose estimated objective change has the measured one's sign."""
    if len(estimated) == 0:
        return None
    est = np.sign(estimated - lam * resource_change)
    return float(np.mean(est == np.sign(measured - lam * resource_change)))


def _scale_ratio(estimated: np.ndarray, measured: np.ndarray) -> float | None:
    total = float(np.abs(measured).sum())
    return float(np.abs(estimated).sum()) / total if total > 0 else None


def _figures(
    est: np.ndarray, meas: np.ndarray, d_res: np.ndarray, lambdas: Sequence[float]
) -> dict:
    return {
        "decision_agreement": {
            f"{lam:g}": decision_agreement(est, meas, d_res, lam) for lam in lambdas
        },
        "scale_ratio": _scale_ratio(est, meas),
    }


def summarize(records: list[dict], lambdas: Sequence[float] = DECISION_LAMBDAS) -> dict:
    """Agreement figures over gradcheck records (one per second, operating point and knob)."""
    est = np.array([r["estimated"] for r in records], float)
    meas = np.array([r["measured"] for r in records], float)
    d_res = np.array([r["resource_change"] for r in records], float)
    cosines = []
    groups: dict[tuple[str, int], list[int]] = {}
    for i, r in enumerate(records):
        groups.setdefault((r["point"], r["second"]), []).append(i)
    for idx in groups.values():
        c = _cosine(est[idx], meas[idx])
        if c is not None:
            cosines.append(c)
    per_knob = {}
    for knob in sorted({r["knob"] for r in records}):
        sel = [i for i, r in enumerate(records) if r["knob"] == knob]
        per_knob[knob] = {
            "pairs": len(sel),
            "pearson": _pearson(est[sel], meas[sel]),
            "mean_estimated": float(est[sel].mean()),
            "mean_measured": float(meas[sel].mean()),
            "sign_agreement": float(np.mean(np.sign(est[sel]) == np.sign(meas[sel]))),
            **_figures(est[sel], meas[sel], d_res[sel], lambdas),
        }
    return {
        "mean_cosine": float(np.mean(cosines)) if cosines else None,
        "cosine_seconds": len(cosines),
        "seconds_total": len(groups),
        "pearson": _pearson(est, meas),
        "pairs": len(records),
        **_figures(est, meas, d_res, lambdas),
        "per_knob": per_knob,
    }


def gradcheck(
    source: Source,
    detector: Detector,
    task: Task,
    space: ConfigSpace,
    configs: Sequence[Configuration] | None = None,
    seconds: int | None = None,
    settings: DNNGradSettings | None = None,
    progress: bool = True,
    lambdas: Sequence[float] = DECISION_LAMBDAS,
    sensor: Modality | None = None,
) -> dict:
    """Estimated vs measured accuracy change of one step along each knob, at each operating
    point in ``configs`` (default :func:`operating_points`) for every second of ``source``.

    Returns the :func:`summarize` figures (decision agreement at ``lambdas``) plus
    ``records`` and the points used. ``sensor`` codes the segments (default video).
    """
    sensor = sensor or modality("video")
    points = [space.validate(c) for c in (configs or operating_points(space))]
    servers = {p: DNNGradServer(detector.model, task, settings) for p in points}
    records: list[dict] = []
    with Progress(disable=not progress, transient=True) as bar:
        job = bar.add_task("gradcheck", total=seconds)
        for segment in source.segments(seconds):
            ref = measure(segment, space.reference, detector, task, None, sensor=sensor)
            for point in points:
                here = measure(segment, point, detector, task, ref.detections, sensor=sensor)
                servers[point].feedback(segment.index, here.encoded)
                servers[point].record(segment.index, here.encoded, here.detections)
                grad_map = servers[point].message
                assert grad_map is not None
                probes, _ = probe_knobs(segment, here.encoded, space.knobs, grad_map, sensor=sensor)
                for probe in probes:
                    there = measure(
                        segment,
                        point.with_knob(probe.knob, probe.neighbour),
                        detector,
                        task,
                        ref.detections,
                        sensor=sensor,
                    )
                    d_res = resource(
                        there.bytes, there.frames_inferred, ref.bytes, ref.frames_inferred
                    ) - resource(here.bytes, here.frames_inferred, ref.bytes, ref.frames_inferred)
                    records.append(
                        {
                            "second": segment.index,
                            "point": point.label(),
                            "knob": probe.knob,
                            "value": probe.value,
                            "neighbour": probe.neighbour,
                            "cheaper": probe.cheaper,
                            "estimated": probe.accuracy_change,
                            "resource_change": float(d_res),
                            "measured": there.accuracy - here.accuracy,
                            "accuracy": here.accuracy,
                        }
                    )
            bar.advance(job)
    result = summarize(records, lambdas)
    result["points"] = [p.label() for p in points]
    result["records"] = records
    return result


def write_gradcheck_outputs(result: dict, out_dir: Path) -> None:
    """``gradcheck.json`` (figures and records) and ``gradcheck.png`` (scatter), atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "gradcheck.json", json.dumps(result, indent=2))
    plot_gradcheck(result, out_dir / "gradcheck.png")
