"""Servers, certificates and segments for the runtime tests (loopback only)."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from oneadapt.runtime.analyzer import Analyzer
from oneadapt.runtime.grpc_server import ServerSettings, build_server
from oneadapt.runtime.metrics import ServerMetrics

ROOT = Path(__file__).resolve().parents[1]


def child_env() -> dict[str, str]:
    """The environment of a subprocess: the oneadapt of this checkout, whatever is installed,
    and the environment as it is now, so the test session's own inference cache
    (``ONEADAPT_CACHE``, set per test) reaches it: with the user's cache a server answers
    content it has seen in earlier runs at once."""
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(analyzer: Analyzer, **settings) -> Iterator[tuple[int, ServerMetrics]]:
    """A gRPC server on a free loopback port, in this process: (port, metrics)."""
    metrics = ServerMetrics()
    server, _, port = build_server(analyzer, ServerSettings("127.0.0.1:0", **settings), metrics)
    try:
        yield port, metrics
    finally:
        server.stop(0)


def start_server(port: int, log: Path, model: str = "builtin") -> subprocess.Popen:
    """``oneadapt serve`` with ``model`` (the built-in detector), once its health check says
    SERVING."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "oneadapt", "serve", "--model", model, "--port", str(port)],
        stderr=log.open("a"),
        env=child_env(),
    )
    deadline = time.monotonic() + 90
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                    return proc
            except grpc.RpcError:
                time.sleep(0.3)
    proc.kill()
    raise AssertionError(f"server did not start: {log.read_text()}")


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for localhost and 127.0.0.1: (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
