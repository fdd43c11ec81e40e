"""The server's work on one received segment, independent of the transport: decode, infer
the sent frames, and back-propagate when the stream's policy wants DNNGrad. The answer
carries every item's output as its container's rows and names the container
(``Analysis.output``), so any task's outputs travel.

It drives the same :class:`DNNGradServer` and :func:`infer_encoded` as ``run_policy``, in
the same order, so a deployed server returns what the bench measured. DNNGrad state (the
previous map for the EMA, the pass interval) is kept per stream id; DNN work is serialised
by one lock, since the model is one shared device.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from oneadapt.adapt.gradients import DNNGradServer, DNNGradSettings
from oneadapt.evaluate.measure import infer_encoded
from oneadapt.inference_cache import Detector
from oneadapt.protocol import oneadapt_pb2 as pb
from oneadapt.protocol.messages import received_segment
from oneadapt.tasks.base import Task


@dataclass
class Work:
    """What one segment cost the server, for logs and metrics."""

    decode_seconds: float
    dnn_seconds: float
    """Forward and backward seconds actually spent on this segment."""
    feedback_bytes: int


class Analyzer:
    """Answers Segment messages with Analysis messages; one instance serves every stream."""

    def __init__(
        self, detector: Detector, task: Task, settings: DNNGradSettings | None = None
    ) -> None:
        self.detector = detector
        self.task = task
        self.settings = settings or DNNGradSettings()
        self._streams: dict[str, DNNGradServer] = {}
        self._lock = threading.Lock()

    def analyze(self, message: pb.Segment) -> tuple[pb.Analysis, Work]:
        """Raises :class:`oneadapt.protocol.messages.InvalidMessage` for a bad segment."""
        start = time.perf_counter()
        encoded = received_segment(message)
        decode_seconds = time.perf_counter() - start
        with self._lock:
            dnn_start = time.perf_counter()
            reply = pb.Analysis(stream_id=message.stream_id, second=message.second)
            known = None
            if message.want_feedback:
                server = self._streams.get(message.stream_id)
                if server is None:
                    server = DNNGradServer(self.detector.model, self.task, self.settings)
                    self._streams[message.stream_id] = server
                server.feedback(message.second, encoded)
                known = server.last_inferred
                reply.backward_passes = server.last_passes
                reply.backward_seconds = server.last_backward_seconds
            detections, seconds, _ = infer_encoded(encoded, self.detector, self.task, known)
            if message.want_feedback:
                server.record(message.second, encoded, detections)
                if server.last_passes and server.message is not None:
                    reply.feedback = server.message.to_bytes()  # with this second's staleness
            dnn_seconds = time.perf_counter() - dnn_start
        reply.dnn_seconds = seconds
        reply.frames_inferred = len(encoded.sent)
        reply.output = self.task.output_type.row_kind
        for d in detections:
            reply.frames.add(rows=d.to_array().ravel().tolist())
        return reply, Work(decode_seconds, dnn_seconds, len(reply.feedback))
