"""How good is the AccGrad estimate? Compare, per second and knob, the accuracy change that
InputGrad x DNNGrad predicts for one step along the knob with the change measured by
actually encoding and inferring that neighbouring configuration.

This runs at several operating points (not only the reference), because the policy spends
most of its time away from the reference. Cosine and Pearson are invariant to the
accuracy scale; the least-squares slope of measured change on weighted distortion change
(``fitted_w_acc``, over all knobs and per knob) is what calibrates ``w_acc``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from oneadapt.adapt.gradient_policy import DEFAULT_W_ACC, probe_knobs
from oneadapt.adapt.gradients import DNNGradServer, DNNGradSettings
from oneadapt.console import Progress
from oneadapt.evaluate.measure import measure
from oneadapt.evaluate.plots import plot_gradcheck
from oneadapt.inference_cache import Detector
from oneadapt.knobs import ConfigSpace, Configuration
from oneadapt.media.sources import Source
from oneadapt.storage import atomic_write_text
from oneadapt.tasks.detection import DetectionTask


def operating_points(space: ConfigSpace) -> list[Configuration]:
    """The reference, and every knob a third and two thirds of the way down its list."""
    points = []
    for fraction in (0.0, 1 / 3, 2 / 3):
        values = {k.name: k.values[int(fraction * (len(k.values) - 1) + 0.5)] for k in space.knobs}
        points.append(Configuration(**values, preset=space.preset))
    return list(dict.fromkeys(points))


def _cosine(a: np.ndarray, b: np.ndarray) -> float | None:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return None if na == 0 or nb == 0 else float(a @ b / (na * nb))


def _pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def _slope(delta_d: np.ndarray, measured: np.ndarray) -> float | None:
    """w_acc that best maps distortion change to measured accuracy change: least squares of
    ``measured = -w_acc * delta_d`` through the origin."""
    return float(-(delta_d @ measured) / (delta_d @ delta_d)) if delta_d.any() else None


def summarize(records: list[dict], w_acc: Mapping[str, float]) -> dict:
    """Agreement figures over gradcheck records (one per second, operating point and knob)."""
    est = np.array([r["estimated"] for r in records], float)
    meas = np.array([r["measured"] for r in records], float)
    delta_d = np.array([r["distortion_change"] for r in records], float)
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
            "fitted_w_acc": _slope(delta_d[sel], meas[sel]),
        }
    return {
        "mean_cosine": float(np.mean(cosines)) if cosines else None,
        "cosine_seconds": len(cosines),
        "seconds_total": len(groups),
        "pearson": _pearson(est, meas),
        "pairs": len(records),
        "w_acc": dict(w_acc),
        "fitted_w_acc": _slope(delta_d, meas),
        "per_knob": per_knob,
    }


def gradcheck(
    source: Source,
    detector: Detector,
    task: DetectionTask,
    space: ConfigSpace,
    configs: Sequence[Configuration] | None = None,
    seconds: int | None = None,
    settings: DNNGradSettings | None = None,
    w_acc: Mapping[str, float] = DEFAULT_W_ACC,
    progress: bool = True,
) -> dict:
    """Estimated vs measured accuracy change of one step along each knob, at each operating
    point in ``configs`` (default :func:`operating_points`) for every second of ``source``.

    Returns the :func:`summarize` figures plus ``records`` and the points used.
    """
    points = [space.validate(c) for c in (configs or operating_points(space))]
    servers = {p: DNNGradServer(detector.model, task, settings) for p in points}
    records: list[dict] = []
    with Progress(disable=not progress, transient=True) as bar:
        job = bar.add_task("gradcheck", total=seconds)
        for segment in source.segments(seconds):
            ref = measure(segment, space.reference, detector, task, None)
            for point in points:
                here = measure(segment, point, detector, task, ref.detections)
                grad_map = servers[point].feedback(segment.index, here.encoded)
                probes, _ = probe_knobs(segment, here.encoded, space.knobs, grad_map)
                for probe in probes:
                    there = measure(
                        segment,
                        point.with_knob(probe.knob, probe.neighbour),
                        detector,
                        task,
                        ref.detections,
                    )
                    records.append(
                        {
                            "second": segment.index,
                            "point": point.label(),
                            "knob": probe.knob,
                            "value": probe.value,
                            "neighbour": probe.neighbour,
                            "cheaper": probe.cheaper,
                            "distortion_change": probe.distortion_change,
                            "estimated": probe.accuracy_change(w_acc[probe.knob]),
                            "measured": there.accuracy - here.accuracy,
                            "accuracy": here.accuracy,
                        }
                    )
            bar.advance(job)
    result = summarize(records, w_acc)
    result["points"] = [p.label() for p in points]
    result["records"] = records
    return result


def write_gradcheck_outputs(result: dict, out_dir: Path) -> None:
    """``gradcheck.json`` (figures and records) and ``gradcheck.png`` (scatter), atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "gradcheck.json", json.dumps(result, indent=2))
    plot_gradcheck(result, out_dir / "gradcheck.png")
