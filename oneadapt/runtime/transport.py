"""The seam between camera and server: the camera hands a ``Segment`` message to a
:class:`Transport` and gets the server's ``Analysis`` back, whatever carries it.

Failures are one exception type whose ``retryable`` flag is all the camera's fault
handling needs: a server that is down, restarting or late may answer later; a message it
rejected will be rejected again.
"""

from __future__ import annotations

import abc

from oneadapt.protocol import oneadapt_pb2 as pb


class TransportError(Exception):
    """A call that got no Analysis: ``code`` names the status (gRPC's name where there is
    one), ``retryable`` says whether sending the same message again may succeed."""

    def __init__(self, code: str, detail: str, retryable: bool) -> None:
        super().__init__(f"{code}: {detail}")
        self.code, self.detail, self.retryable = code, detail, retryable


class Transport(abc.ABC):
    """Carries one segment to the server and its analysis back."""

    @abc.abstractmethod
    def analyze(self, segment: pb.Segment) -> pb.Analysis:
        """The server's answer; raises :class:`TransportError` when there is none."""

    def close(self) -> None:  # noqa: B027 (nothing to release by default)
        """Release connections."""
