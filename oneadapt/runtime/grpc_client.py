"""The camera's end of the gRPC transport: one channel (TLS when given a CA certificate),
the bearer token on every call, and a deadline on every call."""

from __future__ import annotations

from pathlib import Path

import grpc

from oneadapt.protocol import oneadapt_pb2 as pb
from oneadapt.runtime.transport import Transport, TransportError

METHOD = "/oneadapt.v1.Analytics/Analyze"
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
"""Server down, restarting, overloaded or late: the same message may succeed later."""


class GrpcTransport(Transport):
    def __init__(
        self,
        target: str,
        token: str | None = None,
        tls_ca: Path | None = None,
        deadline: float = 30.0,
    ) -> None:
        if tls_ca is not None:
            credentials = grpc.ssl_channel_credentials(root_certificates=Path(tls_ca).read_bytes())
            self._channel = grpc.secure_channel(target, credentials)
        else:
            self._channel = grpc.insecure_channel(target)
        self._call = self._channel.unary_unary(
            METHOD,
            request_serializer=pb.Segment.SerializeToString,
            response_deserializer=pb.Analysis.FromString,
        )
        self._metadata = (("authorization", f"Bearer {token}"),) if token else None
        self.deadline = deadline

    def analyze(self, segment: pb.Segment) -> pb.Analysis:
        try:
            return self._call(segment, timeout=self.deadline, metadata=self._metadata)
        except grpc.RpcError as exc:
            code = exc.code()
            raise TransportError(code.name, exc.details() or "", code in RETRYABLE) from None

    def close(self) -> None:
        self._channel.close()
