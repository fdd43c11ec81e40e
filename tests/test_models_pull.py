"""``oneadapt models pull``: verified, atomic downloads, against a local HTTP server."""

from __future__ import annotations

import functools
import hashlib
import socket
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from oneadapt.errors import OneAdaptError
from oneadapt.models.pull import KNOWN_WEIGHTS, pull

SHARED_FILE = "FastestDet_352.onnx"
"""A file name served; the bytes are the tests' own ONNX export (any file serves)."""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
        pass


def _serve(directory: Path) -> Iterator[str]:
    """Base URL of an HTTP server on 127.0.0.1 serving ``directory`` in place."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(scope="module")
def models(builtin_onnx: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the exported built-in detector as ``SHARED_FILE`` and under the
    YOLOX-Nano file name."""
    directory = tmp_path_factory.mktemp("served")
    for name in (SHARED_FILE, "yolox_nano_416x416.onnx"):
        (directory / name).write_bytes(builtin_onnx.read_bytes())
    return directory


@pytest.fixture(scope="module")
def server(models: Path) -> Iterator[str]:
    yield from _serve(models)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pull_verifies_and_saves(server: str, models: Path, tmp_path: Path):
    expected = _sha256(models / SHARED_FILE)
    dest = tmp_path / "models"
    path = pull("fastestdet", dest, url=f"{server}/{SHARED_FILE}", sha256=expected)
    assert path == dest / SHARED_FILE
    assert _sha256(path) == expected
    assert [p.name for p in dest.iterdir()] == [SHARED_FILE]


def test_known_name_keeps_its_file_name(server: str, tmp_path: Path):
    path = pull("yolox-nano", tmp_path, url=f"{server}/yolox_nano_416x416.onnx", progress=True)
    assert path == tmp_path / KNOWN_WEIGHTS["yolox-nano"].filename and path.stat().st_size > 0


def test_checksum_mismatch_leaves_nothing(server: str, tmp_path: Path):
    with pytest.raises(OneAdaptError, match="checksum mismatch"):
        pull("fastestdet", tmp_path, url=f"{server}/{SHARED_FILE}", sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_http_404(server: str, tmp_path: Path):
    with pytest.raises(OneAdaptError, match="HTTP 404"):
        pull("nothing", tmp_path, url=f"{server}/nothing.onnx")
    assert list(tmp_path.iterdir()) == []


def test_connection_refused(tmp_path: Path):
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(OneAdaptError, match="download of .* failed") as info:
        pull("yolox-nano", tmp_path, url=f"http://127.0.0.1:{port}/yolox_nano.onnx")
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_unknown_name_without_url(tmp_path: Path):
    with pytest.raises(OneAdaptError, match="yolox-nano"):
        pull("no-such-model", tmp_path)
