"""The deployed camera: every second, the policy decides, the encoder encodes, the segment
goes to the server, and the server's answer (the task's outputs, DNNGrad) goes back to the
policy.

It drives the same :class:`Policy` and :func:`encode` as ``run_policy`` in the same order,
so against a server it makes the decisions ``oneadapt run`` makes. It imports no torch.

One call is in flight at a time, on a worker thread. Reading a file flat out, the camera
waits for each second's answer before deciding the next, as ``run_policy`` does; in real
time (a file with ``realtime``, or any live stream, which paces itself) it captures on
schedule: a second captured while an answer is outstanding keeps the last configuration,
and the answer is learnt from when it comes (answers for older queued seconds are only
recorded, their raw frames are not kept).

Faults: a segment the server did not take stays in a bounded on-disk queue (``DIR/queue``)
and is retried with exponential backoff, oldest first, while capture goes on under the
last configuration (the policy learns only from the second it just sent). Every captured
second ends in ``DIR/camera.parquet`` as delivered (``late`` when it needed retries or
waited behind others) or dropped with the reason: ``queue_full`` (the oldest goes),
``too_old``, ``unreachable`` (still queued when the camera stopped), or the server's
status (e.g. ``INVALID_ARGUMENT``). A camera restarted on the same ``DIR`` resumes: it
sends what its queue holds and continues the stream after the last second recorded.

Outputs of any task: the camera is not told the server's task. Every ``Analysis`` names the
container its rows are (``output``: detections, keypoints, segmentation, speech; the
server's ``task.output_type.row_kind``), and the camera checks and records each item's rows
as that container's through :mod:`oneadapt.tasks.rows`, the numpy half of the containers'
own ``from_array`` (so it still imports no torch). The policy needs only the DNNGrad map,
which is the same for every task, so nothing else depends on the task: no flag to keep in
step with the server, no handshake, and a server restarted with another model is recorded
correctly from its first answer. Each item's rows go to ``DIR/outputs.parquet`` (second,
frame, output, rows: ``Task.from_array`` reads them back); outputs of fixed-width records
also go to a table of their own (detections: ``DIR/detections.parquet``, one row per
box). An answer whose outputs or DNNGrad map do not decode drops its second
(``BAD_REPLY``) and stops the camera with :class:`~oneadapt.errors.ProtocolError`: the
server is another version or broken, which retrying will not change.
"""

from __future__ import annotations

import math
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from oneadapt.adapt.policy import Feedback, Overhead, Policy
from oneadapt.errors import OneAdaptError, ProtocolError
from oneadapt.knobs import ConfigSpace
from oneadapt.media.codec import EncodedSegment, encode
from oneadapt.media.sources import Segment, Source
from oneadapt.protocol import oneadapt_pb2 as pb
from oneadapt.protocol.feedback import FeedbackMap
from oneadapt.protocol.messages import checked_outputs, configuration, segment_message
from oneadapt.runtime.transport import Transport, TransportError
from oneadapt.storage import atomic_path
from oneadapt.tasks.rows import KINDS

METRICS = (
    "bytes",
    "kbps",
    "frames_inferred",
    "dnn_seconds",
    "encode_seconds",
    "backward_passes",
    "backward_seconds",
    "camera_encodes",
    "camera_seconds",
    "feedback_bytes",
    "detections",
    "capture_time",
    "send_time",
    "ack_time",
    "retries",
    "outcome",
    "reason",
)
"""After the second and the knobs, ``oneadapt run``'s columns that a camera can know (not
accuracy: it has no reference),
the number of output records (``detections``: detections, keypoint instances, speech
windows, or labelled pixels of a segmentation map), and delivery: wall-clock capture, last
send and ack times, retries, outcome (``delivered``, ``late`` or ``dropped``) and the drop
reason."""

FATAL = {"UNAUTHENTICATED", "PERMISSION_DENIED", "UNIMPLEMENTED"}
"""Statuses that will not change however long the camera keeps going."""


@dataclass(frozen=True)
class CameraSettings:
    stream_id: str
    realtime: bool = False
    """Capture at the source's own pace (one second per second) rather than flat out."""
    queue_size: int = 30
    """Unsent segments kept on disk; beyond it the oldest is dropped."""
    max_age: float = 120.0
    """Seconds after capture a segment is still worth delivering."""
    backoff: float = 0.25
    """First retry delay; it doubles on every consecutive failure up to ``max_backoff``."""
    max_backoff: float = 4.0
    drain: float = 30.0
    """After the last capture, how long to keep trying to deliver the queue."""

    def __post_init__(self) -> None:
        if not self.stream_id or self.queue_size < 1 or self.max_age <= 0 or self.backoff <= 0:
            raise OneAdaptError(
                f"invalid camera settings {self}.",
                "Use a stream id, a queue of at least 1 and positive ages and backoff.",
            )


class CameraMetrics(Protocol):
    """What the camera reports per second (``oneadapt.runtime.metrics`` implements it)."""

    def second(self, row: dict[str, Any], queue_depth: int) -> None: ...


@dataclass
class Pending:
    """A captured second not yet resolved; ``row`` becomes its line of the record."""

    message: pb.Segment
    row: dict[str, Any]
    captured: float
    live: tuple[Segment, EncodedSegment] | None = field(default=None, repr=False)
    """The raw and encoded segment while it is the current second (the policy needs them)."""


class Camera:
    def __init__(
        self,
        source: Source,
        policy: Policy,
        space: ConfigSpace,
        transport: Transport,
        out_dir: Path,
        settings: CameraSettings,
        metrics: CameraMetrics | None = None,
    ) -> None:
        self.source, self.policy, self.space = source, policy, space
        self.transport, self.settings, self.metrics = transport, settings, metrics
        self.out_dir = Path(out_dir)
        self.queue_dir = self.out_dir / "queue"
        self.queue_dir.mkdir(parents=True, exist_ok=True)
        self.rows: dict[int, dict[str, Any]] = {}
        self.outputs: list[tuple] = []
        """Rows of ``DIR/outputs.parquet``: second, frame, output (kind), rows (float32)."""
        self.tables: dict[str, list[tuple]] = {}
        """Per kind of fixed-width records, the rows of ``DIR/<kind>.parquet``: second,
        frame, then the record's fields (detections: x1, y1, x2, y2, score, class)."""
        self.queue: deque[Pending] = deque()
        self.grad_map: FeedbackMap | None = None
        self.failures = 0
        self.next_attempt = 0.0
        self._sender = ThreadPoolExecutor(1, thread_name_prefix="camera-send")
        self._inflight: tuple[Pending, Future[pb.Analysis]] | None = None
        self.newest = -1
        """The second captured last."""
        self._resume()

    @property
    def record_path(self) -> Path:
        return self.out_dir / "camera.parquet"

    @property
    def outputs_path(self) -> Path:
        return self.out_dir / "outputs.parquet"

    def table_path(self, kind: str) -> Path:
        return self.out_dir / f"{kind}.parquet"

    def _resume(self) -> None:
        """Reload the record and the queue a previous run on this directory left."""
        if self.record_path.exists():
            for row in pd.read_parquet(self.record_path).to_dict("records"):
                self.rows[int(row["second"])] = row
        if self.outputs_path.exists():
            self.outputs = list(pd.read_parquet(self.outputs_path).itertuples(index=False))
        for name, kind in KINDS.items():
            if kind.table is not None and self.table_path(name).exists():
                table = pd.read_parquet(self.table_path(name))
                self.tables[name] = list(table.itertuples(index=False))
        for path in sorted(self.queue_dir.glob("*.pb")):
            message = pb.Segment.FromString(path.read_bytes())
            captured = message.capture_times[-1] if message.capture_times else time.time()
            row = self.rows.get(message.second) or self._row(message, captured, None)
            self.queue.append(Pending(message, row, row["capture_time"]))

    def run(self, seconds: int | None = None) -> pd.DataFrame:
        """Capture, send and adapt until the source ends (or ``seconds``), then deliver what
        is queued for at most ``settings.drain`` seconds; returns the record."""
        done = max([*self.rows, *(p.message.second for p in self.queue)], default=-1) + 1
        live = getattr(self.source, "is_stream", False)
        offset = done if live else 0
        start = time.monotonic()
        paced = 0
        try:
            for segment in self.source.segments(seconds):
                if segment.index + offset < done:
                    continue  # a restarted camera on a replayable source resumes after them
                paced += 1
                if live:  # the stream paces itself: its next second is due a second from now
                    due = time.monotonic() + 1.0
                elif self.settings.realtime:
                    time.sleep(max(0.0, start + paced - time.monotonic()))
                    due = start + paced + 1
                self._capture(segment, segment.index + offset)
                if live or self.settings.realtime:  # answers may come during the next capture
                    self._flush(due, wait=False, back_off=True)
                else:  # the next decision waits for this second's answer, as in run_policy
                    self._flush(math.inf, wait=True, back_off=False)
            self._flush(time.monotonic() + self.settings.drain, wait=True, back_off=True)
            for pending in list(self.queue):
                self._drop(pending, "unreachable")
        finally:
            self._sender.shutdown(wait=False, cancel_futures=True)
            self._write()
        return self.record()

    def record(self) -> pd.DataFrame:
        rows = [self.rows[s] for s in sorted(self.rows)]
        return pd.DataFrame(rows, columns=["second", *self.space.names, *METRICS])

    def _capture(self, segment: Segment, second: int) -> None:
        captured = time.time()
        config = self.space.validate(self.policy.decide(second, segment))
        encoded = encode(segment, config, saliency=self.policy.saliency())
        times = captured - (segment.timestamps[-1] - segment.timestamps) - 1.0 / segment.fps
        message = segment_message(
            self.settings.stream_id,
            second,
            encoded,
            (segment.width, segment.height),
            times.tolist(),
            self.policy.wants_dnn_grad,
        )
        pending = Pending(message, self._row(message, captured, encoded), captured)
        pending.live = (segment, encoded)
        self.newest = second
        for older in self.queue:  # only the newest answer is learnt from: drop older raw data
            if self._inflight is None or older is not self._inflight[0]:
                older.live = None
        waiting = [p for p in self.queue if self._inflight is None or p is not self._inflight[0]]
        if len(waiting) >= self.settings.queue_size:
            self._drop(waiting[0], "queue_full")
        self.queue.append(pending)
        (self.queue_dir / f"{second:010d}.pb").write_bytes(message.SerializeToString())

    @staticmethod
    def _row(message: pb.Segment, captured: float, encoded: EncodedSegment | None) -> dict:
        return {
            "second": int(message.second),
            **configuration(message.config),
            "bytes": len(message.payload),
            "kbps": len(message.payload) * 8 / 1000,
            "frames_inferred": 0,
            "dnn_seconds": 0.0,
            "encode_seconds": encoded.encode_seconds if encoded else 0.0,
            "backward_passes": 0,
            "backward_seconds": 0.0,
            "camera_encodes": 0,
            "camera_seconds": 0.0,
            "feedback_bytes": 0,
            "detections": 0,
            "capture_time": captured,
            "send_time": float("nan"),
            "ack_time": float("nan"),
            "retries": 0,
            "outcome": "pending",
            "reason": "",
        }

    def _flush(self, until: float, wait: bool, back_off: bool) -> None:
        """Send queued segments, oldest first, with one call in flight (on a worker thread,
        so a slow server never holds up real-time capture), until the queue is empty or
        ``until`` (monotonic) has passed. ``wait``: wait for the answer in flight past
        ``until`` (its deadline bounds it); ``back_off``: sleep out a retry delay that ends
        before ``until`` (else return when one is pending)."""
        while self.queue:
            if self._inflight is None:
                head = self.queue[0]
                if time.time() - head.captured > self.settings.max_age:
                    self._drop(head, "too_old")
                    continue
                now = time.monotonic()
                if now >= until:
                    return
                if now < self.next_attempt:
                    if not back_off or self.next_attempt > until:
                        return
                    time.sleep(self.next_attempt - now)
                head.row["send_time"] = time.time()
                self._inflight = (head, self._sender.submit(self.transport.analyze, head.message))
            head, call = self._inflight
            try:
                reply = call.result(None if wait else max(0.0, until - time.monotonic()))
            except TimeoutError:
                return
            except TransportError as exc:
                self._inflight = None
                if not exc.retryable:
                    self._drop(head, exc.code)
                    if exc.code in FATAL:
                        raise OneAdaptError(
                            f"the server refused the camera ({exc.code}).",
                            "Pass the server's --token (and --tls-ca when it uses TLS).",
                        ) from None
                    continue
                head.row["retries"] += 1
                delay = self.settings.backoff * 2.0**self.failures
                self.next_attempt = time.monotonic() + min(delay, self.settings.max_backoff)
                self.failures += 1
                if time.monotonic() >= until:
                    return
                continue
            self._inflight = None
            self.failures = 0
            self.queue.remove(head)
            self._deliver(head, reply)

    def _deliver(self, pending: Pending, reply: pb.Analysis) -> None:
        row = pending.row
        row["ack_time"] = time.time()
        try:  # check the whole answer before anything learns from it
            kind, outputs = checked_outputs(reply)
            grad_map = FeedbackMap.from_bytes(reply.feedback) if reply.feedback else None
        except ProtocolError as exc:
            row.update(outcome="dropped", reason="BAD_REPLY")  # already out of the queue
            self._resolve(pending)
            raise ProtocolError(
                f"the server's answer for second {row['second']}: {exc.problem}",
                "Run camera and server from the same oneadapt version, or check the server.",
            ) from None
        if grad_map is not None:
            self.grad_map = grad_map
        late = row["retries"] > 0 or row["second"] != self.newest
        if pending.live is not None:  # the current second: the policy learns from it
            segment, encoded = pending.live
            self.policy.charge(
                Overhead(
                    backward_passes=reply.backward_passes,
                    backward_seconds=reply.backward_seconds,
                )
            )
            if self.grad_map is not None or not self.policy.wants_dnn_grad:
                config = configuration(pending.message.config)
                self.policy.observe(
                    Feedback(row["second"], config, segment, encoded, self.grad_map)
                )
            spent = self.policy.take_overhead()
            row.update(camera_encodes=spent.camera_encodes, camera_seconds=spent.camera_seconds)
        row.update(
            frames_inferred=reply.frames_inferred,
            dnn_seconds=reply.dnn_seconds,
            backward_passes=reply.backward_passes,
            backward_seconds=reply.backward_seconds,
            feedback_bytes=len(reply.feedback),
            detections=sum(kind.count(rows) for rows in outputs),
            outcome="late" if late else "delivered",
        )
        for f, rows in enumerate(outputs):
            self.outputs.append((row["second"], f, kind.name, rows))
            if kind.table is not None:
                table = self.tables.setdefault(kind.name, [])
                table.extend((row["second"], f, *r) for r in kind.table(rows).tolist())
        self._resolve(pending)

    def _drop(self, pending: Pending, reason: str) -> None:
        self.queue.remove(pending)
        pending.row.update(outcome="dropped", reason=reason)
        self._resolve(pending)

    def _resolve(self, pending: Pending) -> None:
        pending.live = None
        second = int(pending.message.second)
        self.rows[second] = pending.row
        (self.queue_dir / f"{second:010d}.pb").unlink(missing_ok=True)
        if self.metrics is not None:
            self.metrics.second(pending.row, len(self.queue))
        self._write()

    def _write(self) -> None:
        """The record so far (atomically, so a killed camera leaves a readable one)."""
        with atomic_path(self.record_path) as tmp:
            self.record().to_parquet(tmp, index=False)
        with atomic_path(self.outputs_path) as tmp:
            columns = ["second", "frame", "output", "rows"]
            pd.DataFrame(self.outputs, columns=columns).to_parquet(tmp, index=False)
        for name, rows in self.tables.items():
            with atomic_path(self.table_path(name)) as tmp:
                columns = ["second", "frame", *KINDS[name].columns]
                pd.DataFrame(rows, columns=columns).to_parquet(tmp, index=False)
