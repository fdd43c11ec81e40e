"""Download pretrained detector weights into the models directory.

A download goes to a temporary file beside its destination, is checked against its
sha256 where one is known, and only then renamed into place: an interrupted or
corrupted download never leaves a file that :func:`load_model` would pick up.
"""

from __future__ import annotations

import hashlib
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from rich.progress import (
    BarColumn,
    DownloadColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from oneadapt.console import Progress
from oneadapt.errors import ConfigurationError, ModelError
from oneadapt.storage import OutputDir, atomic_path, models_dir

CHUNK = 1 << 16
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
SHA256_PATTERN = re.compile(r"[0-9a-fA-F]{64}")
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Weights:
    """Where a named model's ONNX file comes from and what it is saved as."""

    url: str
    filename: str
    sha256: str | None
    """None where the published file's hash is not known here (then it is not verified)."""


_YOLOX_RELEASE = "https://github.com/Megvii-BaseDetection/YOLOX/releases/download/0.1.1rc0"

# Official YOLOX ONNX exports (BGR, raw 0-255, output [1, A, 85]), the format of
# ../shared/data/models/yolox_nano_416x416.onnx; the published files were not byte-compared
# with the shared copy, so no checksum is pinned.
KNOWN_WEIGHTS: dict[str, Weights] = {
    "yolox-nano": Weights(f"{_YOLOX_RELEASE}/yolox_nano.onnx", "yolox_nano.onnx", None),
    "yolox-tiny": Weights(f"{_YOLOX_RELEASE}/yolox_tiny.onnx", "yolox_tiny.onnx", None),
    "yolox-s": Weights(f"{_YOLOX_RELEASE}/yolox_s.onnx", "yolox_s.onnx", None),
}


def pull(
    name: str,
    dest_dir: Path | None = None,
    url: str | None = None,
    sha256: str | None = None,
    progress: bool = True,
) -> Path:
    """Download ``name`` (or ``url`` saved under that name) into ``dest_dir``; its path.

    ``url`` and ``sha256`` override the table entry; an unknown name needs ``url``.
    """
    if not NAME_PATTERN.fullmatch(name):
        raise ConfigurationError(
            f"model name {name!r} is not a plain name.",
            "Use letters, digits, '.', '_' and '-' only (no path), e.g. my-detector.",
        )
    if sha256 is not None and not SHA256_PATTERN.fullmatch(sha256):
        raise ConfigurationError(
            f"--sha256 {sha256!r} is not a SHA-256 digest.", "Give its 64 hex digits."
        )
    known = KNOWN_WEIGHTS.get(name)
    if known is None and url is None:
        raise ConfigurationError(
            f"no download is known for model {name!r}.",
            f"Pull one of {sorted(KNOWN_WEIGHTS)}, or pass --url for the ONNX file.",
        )
    url = url or known.url
    sha256 = (sha256 or (known.sha256 if known else None) or "").lower() or None
    filename = known.filename if known else Path(urllib.parse.urlparse(url).path).name
    if not filename.endswith(".onnx"):
        filename = f"{name}.onnx"
    dest_dir = Path(dest_dir) if dest_dir is not None else models_dir()
    with (
        OutputDir(dest_dir, "models directory (set ONEADAPT_MODELS)") as directory,
        atomic_path(directory.create() / filename) as tmp,
    ):
        digest = _download(url, tmp, progress)
        if sha256 is not None and digest != sha256:
            raise ModelError(
                f"checksum mismatch for {url}: got sha256 {digest}, expected {sha256}.",
                "The download is corrupt or the file changed upstream; retry, or pass the "
                "expected --sha256.",
            )
        check_onnx(tmp, url)
    return dest_dir / filename


def check_onnx(path: Path, url: str) -> None:
    """Refuse a download that is not an ONNX model with a graph (an HTML error page, a
    truncated file) before it is renamed into the models directory."""
    import onnx

    try:
        nodes = len(onnx.load(str(path), load_external_data=False).graph.node)
    except Exception as exc:  # protobuf raises various decode errors on foreign bytes
        head = path.read_bytes()[:40]
        raise ModelError(
            f"the download from {url} is not an ONNX model ({type(exc).__name__}; it starts "
            f"with {head!r}).",
            "Check the --url: it must point at the .onnx file itself, not a web page.",
        ) from None
    if nodes == 0:
        raise ModelError(
            f"the download from {url} is an ONNX file without a graph.", "Check --url."
        )


def _download(url: str, path: Path, progress: bool) -> str:
    """Stream ``url`` into ``path``; its sha256. Network failures become one-line errors."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, path.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                disable=not progress,
                transient=True,
            ) as bar:
                task = bar.add_task(Path(urllib.parse.urlparse(url).path).name, total=total)
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.advance(task, len(chunk))
    except urllib.error.HTTPError as exc:
        raise ModelError(
            f"download of {url} failed: HTTP {exc.code} {exc.reason}.",
            "Check the model name or --url.",
        ) from None
    except urllib.error.URLError as exc:
        raise ModelError(
            f"download of {url} failed: {exc.reason}.",
            "Check the network connection and the URL.",
        ) from None
    except (OSError, ValueError) as exc:  # timeouts, resets mid-transfer, malformed URLs
        raise ModelError(
            f"download of {url} failed: {exc}.", "Check the network connection and the URL."
        ) from None
    return digest.hexdigest()
