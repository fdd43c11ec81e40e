"""Download pretrained detector weights into the models directory.

A download goes to a temporary file beside its destination, is checked against its
sha256 where one is known, and only then renamed into place: an interrupted or
corrupted download never leaves a file that :func:`load_model` would pick up.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from oneadapt.errors import OneAdaptError
from oneadapt.storage import atomic_path, models_dir

CHUNK = 1 << 16
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
    known = KNOWN_WEIGHTS.get(name)
    if known is None and url is None:
        raise OneAdaptError(
            f"no download is known for model {name!r}.",
            f"Pull one of {sorted(KNOWN_WEIGHTS)}, or pass --url for the ONNX file.",
        )
    url = url or known.url
    sha256 = (sha256 or (known.sha256 if known else None) or "").lower() or None
    filename = known.filename if known else Path(urllib.parse.urlparse(url).path).name
    if not filename.endswith(".onnx"):
        filename = f"{name}.onnx"
    dest_dir = Path(dest_dir) if dest_dir is not None else models_dir()
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OneAdaptError(
            f"cannot create models directory {dest_dir} ({exc.strerror or exc}).",
            "Set ONEADAPT_MODELS to a writable directory.",
        ) from None
    target = dest_dir / filename
    with atomic_path(target) as tmp:
        digest = _download(url, tmp, progress)
        if sha256 is not None and digest != sha256:
            raise OneAdaptError(
                f"checksum mismatch for {url}: got sha256 {digest}, expected {sha256}.",
                "The download is corrupt or the file changed upstream; retry, or pass the "
                "expected --sha256.",
            )
    return target


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
                console=Console(stderr=True),
                disable=not progress,
                transient=True,
            ) as bar:
                task = bar.add_task(Path(urllib.parse.urlparse(url).path).name, total=total)
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.advance(task, len(chunk))
    except urllib.error.HTTPError as exc:
        raise OneAdaptError(
            f"download of {url} failed: HTTP {exc.code} {exc.reason}.",
            "Check the model name or --url.",
        ) from None
    except urllib.error.URLError as exc:
        raise OneAdaptError(
            f"download of {url} failed: {exc.reason}.",
            "Check the network connection and the URL.",
        ) from None
    except (OSError, ValueError) as exc:  # timeouts, resets mid-transfer, malformed URLs
        raise OneAdaptError(
            f"download of {url} failed: {exc}.", "Check the network connection and the URL."
        ) from None
    return digest.hexdigest()
