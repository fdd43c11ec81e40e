"""Stream a source through a policy second by second, as camera and server do, and record
what every second cost and achieved.

Camera and server are the deployed programs' halves joined by the in-process transport
(:class:`InProcessTransport`): per second the policy decides a configuration, the camera
encodes it and sends the Segment message; the server (:class:`Analyzer`) decodes it, runs
DNNGrad when the policy wants it (its forward pass is also the inference of those frames),
infers the other sent frames and answers with an Analysis (detections, the compact map
after a backward pass); a policy that streams a second round on the same second (DDS,
:meth:`Policy.second_pass`) does it then: its bytes and inferences add to the first
round's and its detections are the final output; the policy observes with the last map it
received. Only the evaluation is outside that flow: the final detections are scored
against the same second at the reference configuration (:func:`measure`). Adaptation work
(the backward pass, the camera's probes) is charged to the policy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from oneadapt.adapt.gradients import DNNGradSettings
from oneadapt.adapt.policy import Feedback, Overhead, Policy
from oneadapt.console import status_progress
from oneadapt.evaluate.measure import measure
from oneadapt.evaluate.plots import plot_run
from oneadapt.inference_cache import Detector
from oneadapt.knobs import ConfigSpace
from oneadapt.media.modality import Modality, modality
from oneadapt.media.sources import Source
from oneadapt.protocol.feedback import FeedbackMap
from oneadapt.protocol.messages import output_rows, segment_message
from oneadapt.runtime.analyzer import Analyzer
from oneadapt.runtime.in_process import InProcessTransport
from oneadapt.storage import atomic_path, atomic_write_text
from oneadapt.tasks.base import Task

METRICS = (
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
"""What every second of a run records besides its configuration."""


def columns(space: ConfigSpace) -> list[str]:
    """A run's columns: the second, the space's knobs, then :data:`METRICS`."""
    return ["second", *space.names, *METRICS]


def run_policy(
    source: Source,
    policy: Policy,
    detector: Detector,
    task: Task,
    space: ConfigSpace,
    seconds: int | None = None,
    progress: bool = True,
    grad_settings: DNNGradSettings | None = None,
    sensor: Modality | None = None,
) -> pd.DataFrame:
    """One row per second (:func:`columns`): the configuration used, its accuracy
    against the reference, bytes, DNN work, and the policy's adaptation overhead;
    ``sensor`` codes the segments (default video)."""
    sensor = sensor or modality("video")
    transport = InProcessTransport(Analyzer(detector, task, grad_settings))
    grad_map: FeedbackMap | None = None
    rows = []
    with status_progress(disable=not progress) as bar:
        job = bar.add_task(f"{source.name}", total=seconds, status="")
        for segment in source.segments(seconds):
            config = space.validate(policy.decide(segment.index, segment))
            encoded = sensor.encode(segment, config, saliency=policy.saliency())
            size, times = sensor.size(segment), sensor.times(segment)
            message = segment_message(
                "run", segment.index, encoded, size, times, policy.wants_dnn_grad, sensor.name
            )
            reply = transport.analyze(message)
            if reply.feedback:  # a backward pass ran; in between the camera keeps the last map
                grad_map = FeedbackMap.from_bytes(reply.feedback)
            policy.charge(
                Overhead(
                    backward_passes=reply.backward_passes,
                    backward_seconds=reply.backward_seconds,
                )
            )
            found = [task.from_array(rows) for rows in output_rows(reply)]
            sent, inferred = encoded.num_bytes, reply.frames_inferred
            dnn_seconds, encode_seconds = reply.dnn_seconds, encoded.encode_seconds
            second = policy.second_pass(segment, encoded, found)
            if second is not None:  # both rounds count: bytes, inferences, time
                found = second.detections
                sent, inferred = sent + second.bytes, inferred + second.frames_inferred
                dnn_seconds += second.dnn_seconds
                encode_seconds += second.encode_seconds
            accuracy = 1.0  # the reference scores itself 1
            if config != space.reference or second is not None:
                ref = measure(segment, space.reference, detector, task, None, sensor=sensor)
                accuracy = task.accuracy(found, ref.detections)
            policy.observe(Feedback(segment.index, config, segment, encoded, grad_map))
            spent = policy.take_overhead()
            rows.append(
                {
                    "second": segment.index,
                    **config,
                    "accuracy": accuracy,
                    "bytes": sent,
                    "kbps": sent * 8 / 1000,
                    "frames_inferred": inferred,
                    "dnn_seconds": dnn_seconds,
                    "encode_seconds": encode_seconds,
                    "backward_passes": spent.backward_passes,
                    "backward_seconds": spent.backward_seconds,
                    "camera_encodes": spent.camera_encodes,
                    "camera_seconds": spent.camera_seconds,
                    "profiling_inferences": spent.profiling_inferences,
                    "profiling_seconds": spent.profiling_seconds,
                    "feedback_bytes": len(reply.feedback),
                }
            )
            bar.update(job, advance=1, status=f"{config.label()}  acc {accuracy:.2f}")
    return pd.DataFrame(rows, columns=columns(space))


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
