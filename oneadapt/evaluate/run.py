"""Stream a source through a policy second by second, as camera and server would, and
record what every second cost and achieved.

Per second: the policy decides a configuration; the camera encodes it; if the policy wants
DNNGrad the server runs its last sent frame forward and backward, and that forward pass is
also the frame's inference; the server infers the other sent frames (:func:`measure`,
scored against the same second at the reference configuration) and returns the compact
map; the policy observes. Adaptation work (here the backward pass) is charged to the policy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

from oneadapt.adapt.gradients import DNNGradServer, DNNGradSettings
from oneadapt.adapt.policy import Feedback, Overhead, Policy
from oneadapt.console import Progress
from oneadapt.evaluate.measure import measure
from oneadapt.evaluate.plots import plot_run
from oneadapt.inference_cache import Detector
from oneadapt.knobs import ConfigSpace
from oneadapt.media.codec import encode
from oneadapt.media.sources import Source
from oneadapt.storage import atomic_path, atomic_write_text
from oneadapt.tasks.detection import DetectionTask

COLUMNS = (
    "second",
    "qp",
    "height",
    "fps",
    "accuracy",
    "bytes",
    "kbps",
    "frames_inferred",
    "dnn_seconds",
    "encode_seconds",
    "backward_passes",
    "backward_seconds",
    "camera_encodes",
    "camera_seconds",
    "profiling_inferences",
    "profiling_seconds",
    "feedback_bytes",
)


def run_policy(
    source: Source,
    policy: Policy,
    detector: Detector,
    task: DetectionTask,
    space: ConfigSpace,
    seconds: int | None = None,
    progress: bool = True,
    grad_settings: DNNGradSettings | None = None,
) -> pd.DataFrame:
    """One row per second (columns :data:`COLUMNS`): the configuration used, its accuracy
    against the reference, bytes, DNN work, and the policy's adaptation overhead."""
    server = DNNGradServer(detector.model, task, grad_settings) if policy.wants_dnn_grad else None
    rows = []
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
        disable=not progress,
        transient=True,
    ) as bar:
        job = bar.add_task(f"{source.name}", total=seconds, status="")
        for segment in source.segments(seconds):
            config = space.validate(policy.decide(segment.index, segment))
            encoded = encode(segment, config)
            grad_map, known = None, None
            if server:
                grad_map = server.feedback(segment.index, encoded)
                known = server.last_inferred
                policy.charge(
                    Overhead(
                        backward_passes=server.last_passes,
                        backward_seconds=server.last_backward_seconds,
                    )
                )
            if config == space.reference:
                ref = here = measure(segment, config, detector, task, None, encoded, known)
            else:
                ref = measure(segment, space.reference, detector, task, None)
                here = measure(segment, config, detector, task, ref.detections, encoded, known)
            if server:
                server.record(segment.index, encoded, here.detections)
            policy.observe(Feedback(segment.index, config, segment, encoded, grad_map))
            spent = policy.take_overhead()
            row = {"second": segment.index, **here.row()}
            row.update(
                kbps=here.bytes * 8 / 1000,
                backward_passes=spent.backward_passes,
                backward_seconds=spent.backward_seconds,
                camera_encodes=spent.camera_encodes,
                camera_seconds=spent.camera_seconds,
                profiling_inferences=spent.profiling_inferences,
                profiling_seconds=spent.profiling_seconds,
                feedback_bytes=grad_map.nbytes if server and server.last_passes else 0,
            )
            rows.append(row)
            bar.update(job, advance=1, status=f"{config.label()}  acc {here.accuracy:.2f}")
    return pd.DataFrame(rows, columns=list(COLUMNS))


def write_run_outputs(
    df: pd.DataFrame,
    out_dir: Path,
    title: str = "",
    regimes: Sequence[tuple[int, int, str]] = (),
    max_kbps: float | None = None,
) -> None:
    """``run.parquet`` (per second), ``run.png`` (over time, content ``regimes`` shaded where
    known, the bandwidth budget drawn when there is one) and ``summary.json`` (column means),
    each written atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "run.parquet") as tmp:
        df.to_parquet(tmp, index=False)
    plot_run(df, out_dir / "run.png", title, regimes, max_kbps)
    summary = {c: float(df[c].mean()) for c in df.columns if c != "second"}
    summary["seconds"] = len(df)
    if max_kbps is not None:
        summary["max_kbps"] = max_kbps
    atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=2))
