"""The in-process pair: a :class:`Transport` whose server is an :class:`Analyzer` in the same
process, so no network and no serialisation, and errors are those gRPC would give.

``run_policy`` (and with it ``run``, ``bench`` and ``demo``) streams through it, so the
measured loop exchanges exactly the Segment and Analysis messages the deployed camera and
server exchange over gRPC (:class:`oneadapt.runtime.grpc_client.GrpcTransport`), and the
server's work is the same code (:meth:`Analyzer.analyze`) on both.
"""

from __future__ import annotations

from oneadapt.protocol import oneadapt_pb2 as pb
from oneadapt.protocol.messages import InvalidMessage
from oneadapt.runtime.analyzer import Analyzer
from oneadapt.runtime.transport import Transport, TransportError


class InProcessTransport(Transport):
    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer

    def analyze(self, segment: pb.Segment) -> pb.Analysis:
        """The Analysis; a segment the server rejects raises INVALID_ARGUMENT, as over gRPC."""
        try:
            reply, _ = self.analyzer.analyze(segment)
        except InvalidMessage as exc:
            raise TransportError("INVALID_ARGUMENT", str(exc), retryable=False) from None
        return reply
