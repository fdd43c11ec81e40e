"""Atomic writes and the well-known directories (shared data, models, cache).

Results are written to a temporary file beside the target and renamed into place,
so an interrupted run never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from oneadapt.errors import OneAdaptError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    """``$ONEADAPT_DATA``, else ``../shared/data`` beside the project checkout."""
    return Path(os.environ.get("ONEADAPT_DATA", PROJECT_ROOT.parent / "shared" / "data"))


def models_dir() -> Path:
    """Where models load by name: ``$ONEADAPT_MODELS``, else ``~/.cache/oneadapt/models``."""
    default = Path.home() / ".cache" / "oneadapt" / "models"
    return Path(os.environ.get("ONEADAPT_MODELS", default))


def cache_dir() -> Path:
    """Where inference results are cached: ``$ONEADAPT_CACHE``, else ``~/.cache/oneadapt``."""
    return Path(os.environ.get("ONEADAPT_CACHE", Path.home() / ".cache" / "oneadapt" / "inference"))


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path to write; rename it onto ``target`` only on success."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results should read like files
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(target: Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: Path, text: str) -> None:
    atomic_write_bytes(target, text.encode())


def prepare_output_dir(path: Path) -> Path:
    """Create ``path`` if needed and check it is writable before any work starts."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".probe.", delete=True)
        probe.close()
    except OSError as exc:
        raise OneAdaptError(
            f"output directory {path} is not writable ({exc.strerror or exc}).",
            "Choose another --out directory or fix its permissions.",
        ) from None
    return path
