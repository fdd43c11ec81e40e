"""Atomic writes and the well-known directories (shared data, models, cache).

Results are written to a temporary file beside the target and renamed into place,
so an interrupted run never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from oneadapt.errors import ConfigurationError

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


def check_output_dir(path: Path, what: str = "--out directory") -> Path | None:
    """Check, creating nothing, that ``path`` is or can become a writable directory;
    returns the outermost directory a run would have to create (None if it exists).
    ``what`` names the setting to change in the error's fix."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigurationError(
            f"output directory {path} is an existing file.",
            f"Choose another {what}, or move the file away.",
        )
    missing = None
    existing = path
    while not existing.exists() and existing != existing.parent:
        missing, existing = existing, existing.parent
    if not existing.is_dir():
        raise ConfigurationError(
            f"output directory {path} cannot be created: {existing} is a file.",
            f"Choose another {what}.",
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigurationError(
            f"output directory {path} is not writable (no write permission on {existing}).",
            f"Choose another {what} or fix its permissions.",
        )
    return missing


def check_output_file(path: Path) -> Path:
    """Check, creating nothing, that a file can be written at ``path``; returns it."""
    path = Path(path)
    if path.is_dir():
        raise ConfigurationError(
            f"output file {path} is a directory.", "Name a file, e.g. --out weights.pt."
        )
    check_output_dir(path.parent)
    return path


def prepare_output_dir(path: Path) -> Path:
    """Create ``path`` if needed, after checking it can be."""
    check_output_dir(path)
    Path(path).mkdir(parents=True, exist_ok=True)
    return Path(path)


class OutputDir:
    """Owns one run's output directory: checked when made (before any work), created only
    when something is written, and removed again if this run created it and then fails,
    so a failed or interrupted run leaves no empty or half-filled folder behind. Results a
    run wants to survive a failure (a benchmark's finished points) set :attr:`keep`."""

    def __init__(self, path: Path, what: str = "--out directory") -> None:
        self.path = Path(path)
        self._new_root = check_output_dir(self.path, what)
        self.keep = False

    def create(self) -> Path:
        """The directory, created if needed."""
        self.path.mkdir(parents=True, exist_ok=True)
        return self.path

    def __enter__(self) -> OutputDir:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is not None and self._new_root is not None and not self.keep:
            shutil.rmtree(self._new_root, ignore_errors=True)
