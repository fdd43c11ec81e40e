"""``oneadapt serve --ray``: the same :class:`Analyzer` as a Ray Serve deployment, behind
the same gRPC front (token, TLS, health, size limit, logs, drain), so cameras cannot tell
the difference. Every call to Ray goes through this module; ``ray`` is an optional extra
(``pip install -e '.[ray]'``).

- **Replicas** each load the model and hold an :class:`Analyzer`; a fixed number
  (``--replicas N``) or Serve's autoscaler between MIN and MAX on ongoing requests
  (``--autoscale MIN..MAX``). A replica that dies is replaced by the Serve controller.
- **Batching.** ``serve.batch`` gathers segments that arrive within
  :data:`BATCH_WAIT` seconds, from any streams, into one replica call, amortising the
  per-call overhead; within the batch each segment is decoded and inferred as on the
  plain server (the ONNX exports have a fixed batch of 1, so the DNN itself still runs one
  frame at a time).
- **Per-stream DNNGrad state** (the previous map for the EMA, the pass interval) lives
  where a stream's segments land, by sticky routing: the stream id is the request's
  multiplexed model id, so Serve routes a stream's segments to the replica that already
  holds it. If that replica dies, the stream's state is rebuilt on another one from its
  next segment (the EMA restarts, exactly as when one server restarts).
- **Failures.** A replica that dies mid-call, or none being ready, is answered
  UNAVAILABLE, which cameras retry with backoff from their on-disk queue; so every second
  is delivered late or recorded as dropped with its reason, never silently lost.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from oneadapt.adapt.gradients import DNNGradSettings
from oneadapt.errors import ConfigurationError
from oneadapt.protocol import oneadapt_pb2 as pb
from oneadapt.protocol.messages import InvalidMessage
from oneadapt.runtime.analyzer import Work
from oneadapt.runtime.grpc_server import Unavailable

APP = "oneadapt"
BATCH_SIZE = 8
BATCH_WAIT = 0.01
"""Seconds a replica waits for more segments before running a partial batch: at 10 fps a
1-second segment takes tens of milliseconds to analyse, so 10 ms costs little latency."""
MAX_STREAMS_PER_REPLICA = 1024


@dataclass(frozen=True)
class Scaling:
    """``--replicas N`` or ``--autoscale MIN..MAX``."""

    replicas: int = 1
    autoscale: tuple[int, int] | None = None

    @classmethod
    def parse(cls, replicas: int | None, autoscale: str | None) -> Scaling:
        if replicas is not None and autoscale is not None:
            raise ConfigurationError(
                "--replicas and --autoscale exclude each other.", "Pass one of them."
            )
        if autoscale is None:
            return cls(replicas or 1)
        match = re.fullmatch(r"\s*(\d+)\s*\.\.\s*(\d+)\s*", autoscale)
        if not match or not 1 <= int(match[1]) <= int(match[2]):
            raise ConfigurationError(
                f"--autoscale {autoscale!r} is not MIN..MAX with 1 <= MIN <= MAX.",
                "Write e.g. --autoscale 1..4.",
            )
        return cls(autoscale=(int(match[1]), int(match[2])))

    def options(self) -> dict[str, Any]:
        if self.autoscale is None:
            return {"num_replicas": self.replicas}
        low, high = self.autoscale
        return {
            "autoscaling_config": {
                "min_replicas": low,
                "max_replicas": high,
                "target_ongoing_requests": 2,
            }
        }


def import_ray() -> Any:
    try:
        import ray
        from ray import serve  # noqa: F401 (the extra must include Serve)
    except ImportError:
        raise ConfigurationError(
            "--ray needs Ray Serve, which is not installed.",
            "Install the extra: pip install -e '.[ray]'.",
        ) from None
    return ray


Reply = tuple[str, str, bytes, float, float, int, int]
"""A replica's answer to one segment: status, detail, Analysis bytes, decode seconds, DNN
seconds, feedback bytes, the replica's process id."""


def application(
    model: str, classes: tuple[str, ...], settings: DNNGradSettings, scaling: Scaling
) -> Any:
    """The Serve application: one deployment of replicas around :class:`Analyzer`."""
    from ray import serve

    @serve.deployment(
        name="Analyzer",
        ray_actor_options={"num_cpus": 1},
        max_ongoing_requests=2 * BATCH_SIZE,
        health_check_period_s=2,
    )
    class AnalyzerReplica:
        def __init__(self) -> None:
            import torch

            from oneadapt.inference_cache import Detector, InferenceCache
            from oneadapt.models.registry import load_model
            from oneadapt.runtime.analyzer import Analyzer

            torch.set_num_threads(1)  # one core per replica (num_cpus above)
            detector_model = load_model(model)
            task = detector_model.task(classes)
            self.analyzer = Analyzer(Detector(detector_model, InferenceCache()), task, settings)
            self.pid = os.getpid()

        @serve.multiplexed(max_num_models_per_replica=MAX_STREAMS_PER_REPLICA)
        async def place(self, stream_id: str) -> str:
            """Marks the stream as held here, so that Serve routes its next segments back."""
            return stream_id

        async def __call__(self, data: bytes) -> Reply:
            stream = serve.get_multiplexed_model_id()
            if stream:  # none for a message without one, which analyze() rejects
                await self.place(stream)
            return await self.analyze(data)

        @serve.batch(max_batch_size=BATCH_SIZE, batch_wait_timeout_s=BATCH_WAIT)
        async def analyze(self, batch: list[bytes]) -> list[Reply]:
            """One :data:`Reply` per segment; a bad segment fails alone, not its batch."""
            replies = []
            for data in batch:
                try:
                    reply, work = self.analyzer.analyze(pb.Segment.FromString(data))
                    replies.append(
                        (
                            "OK", "", reply.SerializeToString(), work.decode_seconds,
                            work.dnn_seconds, work.feedback_bytes, self.pid,
                        )
                    )  # fmt: skip
                except InvalidMessage as exc:
                    replies.append(("INVALID_ARGUMENT", str(exc), b"", 0.0, 0.0, 0, self.pid))
                await asyncio.sleep(0)  # let health checks through between segments
            return replies

    return AnalyzerReplica.options(**scaling.options()).bind()


class RayAnalyzer:
    """What the gRPC front calls instead of a local :class:`Analyzer`: the same
    ``analyze(message) -> (Analysis, Work)``, answered by the Serve deployment."""

    def __init__(
        self,
        model: str,
        classes: tuple[str, ...],
        settings: DNNGradSettings,
        scaling: Scaling,
        timeout: float = 60.0,
    ) -> None:
        ray = import_ray()
        from ray import serve

        if not ray.is_initialized():
            cpus = max(os.cpu_count() or 1, scaling.autoscale[1] if scaling.autoscale else 1,
                       scaling.replicas)  # fmt: skip
            ray.init(num_cpus=cpus, include_dashboard=False, logging_level="ERROR")
        serve.start(proxy_location="Disabled")
        app = application(model, classes, settings, scaling)
        self.handle = serve.run(app, name=APP, route_prefix=None)
        self.timeout = timeout
        self.last_replica: int | None = None
        """Process id of the replica that answered last (tests and logs)."""

    def analyze(self, message: pb.Segment) -> tuple[pb.Analysis, Work]:
        from ray import exceptions as ray_errors

        call = self.handle
        if message.stream_id:
            call = call.options(multiplexed_model_id=message.stream_id)
        try:
            status, detail, data, decode, dnn, feedback, pid = call.remote(
                message.SerializeToString()
            ).result(timeout_s=self.timeout)
        except ray_errors.RayTaskError as exc:  # a bug in the replica's code, not an outage
            raise RuntimeError(f"replica failed: {exc.cause!r}") from None
        except (ray_errors.RayError, TimeoutError) as exc:
            raise Unavailable(f"no replica answered ({type(exc).__name__})") from None
        self.last_replica = pid
        if status != "OK":
            raise InvalidMessage(detail)
        return pb.Analysis.FromString(data), Work(decode, dnn, feedback)

    def replicas(self) -> list[str]:
        """Actor names of the live replicas."""
        import ray

        return [
            a["name"]
            for a in ray.util.list_named_actors(all_namespaces=True)
            if "SERVE_REPLICA" in a["name"] and f"{APP}#" in a["name"]
        ]

    def shutdown(self) -> None:
        import ray
        from ray import serve

        serve.shutdown()
        ray.shutdown()


def wait_ready(analyzer: RayAnalyzer, replicas: int, timeout: float = 120.0) -> None:
    """Block until ``replicas`` replicas are up (Serve starts them in the background)."""
    deadline = time.monotonic() + timeout
    while len(analyzer.replicas()) < replicas:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {replicas} replicas after {timeout} s")
        time.sleep(0.5)
