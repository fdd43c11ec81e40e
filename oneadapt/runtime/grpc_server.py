"""The deployed server: the :class:`Analyzer` behind gRPC, with a bearer-token check, TLS,
the standard health service, a size limit, per-segment structured logs and a drain on
SIGTERM.

The Analyze method is registered by hand with a pass-through request deserializer, so that
bytes which are not a Segment are answered INVALID_ARGUMENT (gRPC's own deserializer would
answer INTERNAL), like a Segment whose H.264 is truncated.
"""

from __future__ import annotations

import hmac
import json
import signal
import sys
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from oneadapt.errors import OneAdaptError
from oneadapt.protocol import oneadapt_pb2 as pb
from oneadapt.protocol.messages import InvalidMessage, parse_segment
from oneadapt.runtime.analyzer import Analyzer
from oneadapt.runtime.metrics import ServerMetrics

SERVICE = "oneadapt.v1.Analytics"
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""Larger requests get RESOURCE_EXHAUSTED from gRPC itself (a 1-second segment at 1080p and
QP 20 is about 1 MB)."""


@dataclass(frozen=True)
class ServerSettings:
    address: str = "127.0.0.1:50051"
    token: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    metrics_port: int | None = None
    workers: int = 16
    grace: float = 30.0
    """Seconds in-flight calls get to finish after SIGTERM."""


class Unavailable(Exception):
    """The analyzer cannot answer now (a Ray replica died, none is ready): UNAVAILABLE,
    which cameras retry."""


class TokenInterceptor(grpc.ServerInterceptor):
    """Rejects calls without ``authorization: Bearer <token>`` (health checks stay open, so
    orchestrators can probe without the secret)."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()
        self._deny = grpc.unary_unary_rpc_method_handler(
            lambda request, context: context.abort(
                grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token"
            )
        )

    def intercept_service(self, continuation: Callable, details: Any) -> Any:
        if details.method.startswith("/grpc.health.v1."):
            return continuation(details)
        given = dict(details.invocation_metadata).get("authorization", "")
        if hmac.compare_digest(str(given).encode(), self._expected):
            return continuation(details)
        return self._deny


class AnalyticsService:
    def __init__(self, analyzer: Analyzer, metrics: ServerMetrics) -> None:
        self.analyzer, self.metrics = analyzer, metrics

    def analyze(self, request: bytes, context: grpc.ServicerContext) -> pb.Analysis:
        start = time.perf_counter()
        message = pb.Segment()
        status, detail, reply, work = "OK", "", None, None
        try:
            message = parse_segment(request)
            remaining = context.time_remaining()
            if remaining is not None and remaining <= 0:
                status, detail = "DEADLINE_EXCEEDED", "deadline passed before the work began"
            else:
                reply, work = self.analyzer.analyze(message)
        except InvalidMessage as exc:
            status, detail = "INVALID_ARGUMENT", str(exc)
        except Unavailable as exc:
            status, detail = "UNAVAILABLE", str(exc)
        except Exception as exc:  # a bug must cost one call, not the server
            status, detail = "INTERNAL", f"{type(exc).__name__}: {exc}"
        dnn = work.dnn_seconds if work else 0.0
        passes = reply.backward_passes if reply else 0
        feedback = work.feedback_bytes if work else 0
        self.metrics.segment(message, status, dnn, passes, feedback)
        log = {
            "time": round(time.time(), 3),
            "stream": message.stream_id,
            "second": message.second,
            "status": status,
            **message.config.knobs,
            "bytes": len(message.payload),
            "frames_inferred": reply.frames_inferred if reply else 0,
            "backward_passes": passes,
            "feedback_bytes": feedback,
            "decode_ms": round(1000 * work.decode_seconds, 1) if work else 0.0,
            "dnn_ms": round(1000 * dnn, 1),
            "total_ms": round(1000 * (time.perf_counter() - start), 1),
        }
        if detail:
            log["detail"] = detail
        print(json.dumps(log), file=sys.stderr, flush=True)
        if reply is None:
            context.abort(getattr(grpc.StatusCode, status), detail)
        return reply


def build_server(
    analyzer: Analyzer, settings: ServerSettings, metrics: ServerMetrics
) -> tuple[grpc.Server, health.HealthServicer, int]:
    """A started server, its health servicer and the port it bound."""
    interceptors = [TokenInterceptor(settings.token)] if settings.token else []
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.workers),
        interceptors=interceptors,
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    service = AnalyticsService(analyzer, metrics)
    handler = grpc.unary_unary_rpc_method_handler(
        service.analyze, response_serializer=pb.Analysis.SerializeToString
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE, {"Analyze": handler}),)
    )
    checks = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checks, server)
    try:
        if settings.tls_cert and settings.tls_key:
            credentials = grpc.ssl_server_credentials(
                [(settings.tls_key.read_bytes(), settings.tls_cert.read_bytes())]
            )
            port = server.add_secure_port(settings.address, credentials)
        else:
            port = server.add_insecure_port(settings.address)
    except RuntimeError as exc:
        raise OneAdaptError(
            f"cannot listen on {settings.address} ({exc}).", "Choose another --host/--port."
        ) from None
    server.start()
    for name in ("", SERVICE):
        checks.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, checks, port


def run_server(analyzer: Analyzer, settings: ServerSettings) -> None:
    """Serve until SIGTERM or SIGINT, then report NOT_SERVING, refuse new calls and give
    in-flight ones ``settings.grace`` seconds to finish."""
    metrics = ServerMetrics()
    if settings.metrics_port is not None:
        metrics.serve(settings.metrics_port, settings.address.rpartition(":")[0])
    server, checks, port = build_server(analyzer, settings, metrics)
    scheme = "tls" if settings.tls_cert else "plaintext"
    print(
        json.dumps(
            {"event": "serving", "address": settings.address, "port": port, "transport": scheme}
        ),
        file=sys.stderr,
        flush=True,
    )

    def drain(signum: int, frame: object) -> None:
        checks.enter_graceful_shutdown()
        server.stop(settings.grace)

    signal.signal(signal.SIGTERM, drain)
    signal.signal(signal.SIGINT, drain)
    server.wait_for_termination()
    print(json.dumps({"event": "stopped"}), file=sys.stderr, flush=True)
