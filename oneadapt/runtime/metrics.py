"""Prometheus metrics of the server and the camera, each in its own registry (so both can
live in one test process) and served over HTTP on ``--metrics-port``.

Per stream (label ``stream``): kbit/s and knob values of the last second, inference
latency, backward passes, feedback bytes; on the camera also queue depth, retries and
outcomes. Server-wide: DNN seconds per second of wall time and streams connected.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from oneadapt.knobs import knob_types
from oneadapt.protocol import oneadapt_pb2 as pb

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONNECTED_WINDOW = 30.0
"""A stream counts as connected while it sent a segment within this many seconds."""


class _Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Expose ``/metrics`` on ``host:port`` (a daemon thread)."""
        start_http_server(port, addr=host, registry=self.registry)


class ServerMetrics(_Metrics):
    def __init__(self) -> None:
        super().__init__()
        r = self.registry
        self.segments = Counter(
            "oneadapt_server_segments",
            "Segments answered, by status.",
            ["stream", "status"],
            registry=r,
        )
        self.kbps = Gauge(
            "oneadapt_server_stream_kbps", "Kbit/s of the last segment.", ["stream"], registry=r
        )
        self.knob = Gauge(
            "oneadapt_server_stream_knob",
            "Knob value of the last segment.",
            ["stream", "knob"],
            registry=r,
        )
        self.latency = Histogram(
            "oneadapt_server_inference_seconds",
            "DNN seconds (forward and backward) per segment.",
            ["stream"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.backward = Counter(
            "oneadapt_server_backward_passes", "DNNGrad backward passes.", ["stream"], registry=r
        )
        self.feedback = Counter(
            "oneadapt_server_feedback_bytes", "DNNGrad feedback bytes sent.", ["stream"], registry=r
        )
        self.dnn_seconds = Counter("oneadapt_server_dnn_seconds", "DNN seconds spent.", registry=r)
        self.dnn_rate = Gauge(
            "oneadapt_server_dnn_seconds_per_second",
            "DNN seconds per second of wall time since the server started.",
            registry=r,
        )
        self.streams = Gauge(
            "oneadapt_server_streams_connected",
            f"Streams that sent a segment in the last {CONNECTED_WINDOW:.0f} s.",
            registry=r,
        )
        self._started = time.monotonic()
        self._seen: dict[str, float] = {}
        self._dnn_total = 0.0
        self._lock = threading.Lock()

    def segment(
        self, message: pb.Segment, status: str, dnn_seconds: float, passes: int, feedback: int
    ) -> None:
        stream = message.stream_id or "?"
        self.segments.labels(stream, status).inc()
        now = time.monotonic()
        with self._lock:
            self._seen[stream] = now
            self._seen = {s: t for s, t in self._seen.items() if now - t <= CONNECTED_WINDOW}
            self.streams.set(len(self._seen))
            self._dnn_total += dnn_seconds
            self.dnn_rate.set(self._dnn_total / max(now - self._started, 1e-9))
        self.dnn_seconds.inc(dnn_seconds)
        if status != "OK":
            return
        self.kbps.labels(stream).set(len(message.payload) * 8 / 1000)
        for knob, value in message.config.knobs.items():
            self.knob.labels(stream, knob).set(float(value))
        self.latency.labels(stream).observe(dnn_seconds)
        self.backward.labels(stream).inc(passes)
        self.feedback.labels(stream).inc(feedback)


class CameraMetrics(_Metrics):
    def __init__(self, stream: str) -> None:
        super().__init__()
        r = self.registry
        self.stream = stream
        label = ["stream"]
        self.kbps = Gauge("oneadapt_camera_kbps", "Kbit/s of the last second.", label, registry=r)
        self.knob = Gauge(
            "oneadapt_camera_knob", "Knob value of the last second.", [*label, "knob"], registry=r
        )
        self.latency = Histogram(
            "oneadapt_camera_inference_seconds",
            "Server DNN seconds per delivered second.",
            label,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.round_trip = Histogram(
            "oneadapt_camera_round_trip_seconds",
            "Last send to ack, per delivered second.",
            label,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.backward = Counter(
            "oneadapt_camera_backward_passes", "Server backward passes.", label, registry=r
        )
        self.feedback = Counter(
            "oneadapt_camera_feedback_bytes", "Feedback bytes received.", label, registry=r
        )
        self.queue = Gauge(
            "oneadapt_camera_queue_depth", "Unsent segments queued.", label, registry=r
        )
        self.retries = Counter("oneadapt_camera_retries", "Send retries.", label, registry=r)
        self.outcomes = Counter(
            "oneadapt_camera_seconds", "Seconds by outcome.", [*label, "outcome"], registry=r
        )

    def second(self, row: dict[str, Any], queue_depth: int) -> None:
        s = self.stream
        self.outcomes.labels(s, row["outcome"]).inc()
        self.queue.labels(s).set(queue_depth)
        self.retries.labels(s).inc(row["retries"])
        self.kbps.labels(s).set(row["kbps"])
        for knob in knob_types():
            if knob in row:
                self.knob.labels(s, knob).set(row[knob])
        if row["outcome"] == "dropped":
            return
        self.latency.labels(s).observe(row["dnn_seconds"] + row["backward_seconds"])
        self.round_trip.labels(s).observe(row["ack_time"] - row["send_time"])
        self.backward.labels(s).inc(row["backward_passes"])
        self.feedback.labels(s).inc(row["feedback_bytes"])
