"""On-disk cache of per-frame detections keyed by (hash of the decoded frame, model id).

Profiling baselines run the DNN on many configurations of the same seconds; identical
decoded frames (repeated or overlapping grids, the reference, held frames) must cost
no inference. SQLite gives atomic, crash-safe writes in a single file.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from oneadapt.errors import ConfigurationError, ProtocolError
from oneadapt.models.base import Model
from oneadapt.storage import cache_dir
from oneadapt.tasks.detection import Detections

T = TypeVar("T")


def frame_key(frame: np.ndarray, model_id: str) -> str:
    h = hashlib.blake2b(digest_size=20)
    h.update(model_id.encode())
    h.update(np.asarray(frame.shape, np.int64).tobytes())
    h.update(np.ascontiguousarray(frame).data)
    return h.hexdigest()


ROW_FIELDS = 6
"""x1, y1, x2, y2, score, class: float32 each."""


def decode_row(blob: object, seconds: object) -> tuple[Detections, float]:
    """A cached row back to detections and seconds; anything that is not what
    :meth:`InferenceCache.put` writes raises :class:`ProtocolError`."""
    if not isinstance(blob, bytes) or len(blob) % (4 * ROW_FIELDS):
        raise ProtocolError("an inference-cache row is not whole detection records.", _REPAIR)
    if not isinstance(seconds, float | int) or not 0.0 <= seconds < float("inf"):
        raise ProtocolError(f"an inference-cache row has invalid seconds {seconds!r}.", _REPAIR)
    rows = np.frombuffer(blob, np.float32).reshape(-1, ROW_FIELDS)
    classes = rows[:, 5]
    if not np.isfinite(rows).all() or (classes < 0).any() or (classes != np.round(classes)).any():
        raise ProtocolError("an inference-cache row holds invalid detections.", _REPAIR)
    return Detections.from_array(rows), float(seconds)


_REPAIR = "Delete the inference cache ($ONEADAPT_CACHE) to rebuild it."
_CORRUPT = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


class InferenceCache:
    """Detections and their measured inference seconds, per decoded frame and model.

    A corrupt cache file is set aside (renamed ``*.corrupt-TIME``) with a warning and a
    new one started: the cache only saves work, so losing it must not stop a run. A cache
    that cannot be opened or written at all is a :class:`ConfigurationError`.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else cache_dir() / "detections.sqlite"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._unusable(exc) from None
        self._db = self._guard(self._connect)

    def _connect(self) -> sqlite3.Connection:
        # The server calls it from gRPC worker threads, one at a time (Analyzer's lock).
        db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS detections "
                "(key TEXT PRIMARY KEY, rows BLOB, seconds REAL)"
            )
        except BaseException:
            db.close()
            raise
        return db

    def _unusable(self, exc: Exception) -> ConfigurationError:
        return ConfigurationError(
            f"the inference cache {self.path} cannot be used ({exc}).",
            "Set ONEADAPT_CACHE to a writable directory, or free space there.",
        )

    def _guard(self, operation: Callable[[], T]) -> T:
        """Run a database operation; a corrupt file is set aside once and the operation
        retried on a fresh cache; other failures become a one-line error."""
        try:
            return operation()
        except sqlite3.DatabaseError as exc:
            if not str(getattr(exc, "sqlite_errorname", "")).startswith(_CORRUPT):
                raise self._unusable(exc) from None
            self._set_aside(exc)
        try:
            return operation()
        except sqlite3.DatabaseError as exc:
            raise self._unusable(exc) from None

    def _set_aside(self, exc: sqlite3.DatabaseError) -> None:
        if getattr(self, "_db", None) is not None:
            self._db.close()
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):
            part = self.path.with_name(self.path.name + suffix)
            if part.exists():
                part.replace(aside.with_name(aside.name + suffix))
        warnings.warn(
            f"the inference cache {self.path} is corrupt ({exc}); set it aside as {aside} "
            "and started a new one (cached results are recomputed).",
            CacheWarning,
            stacklevel=3,
        )
        if getattr(self, "_db", None) is not None:
            self._db = self._connect()

    def get(self, key: str) -> tuple[Detections, float] | None:
        """The cached entry, or None (also for a row that does not decode: it is redone)."""
        row = self._guard(
            lambda: self._db.execute(
                "SELECT rows, seconds FROM detections WHERE key = ?", (key,)
            ).fetchone()
        )
        if row is None:
            return None
        try:
            return decode_row(*row)
        except ProtocolError:
            return None

    def put(self, key: str, dets: Detections, seconds: float) -> None:
        def write() -> None:
            with self._db:
                self._db.execute(
                    "INSERT OR REPLACE INTO detections VALUES (?, ?, ?)",
                    (key, dets.to_array().tobytes(), seconds),
                )

        self._guard(write)

    def close(self) -> None:
        self._db.close()


class CacheWarning(UserWarning):
    """The inference cache was corrupt and has been replaced by a new one."""


@dataclass
class InferenceResult:
    detections: list[Detections]
    seconds: float
    """Inference compute time of these frames (as measured when each was first inferred)."""
    cached: int
    """How many frames came from the cache."""


class Detector:
    """A model behind the cache: the server's no-gradient inference path."""

    def __init__(self, model: Model, cache: InferenceCache | None = None) -> None:
        self.model = model
        self.cache = cache

    def detect(
        self, frames: np.ndarray, known: Mapping[int, tuple[Detections, float]] | None = None
    ) -> InferenceResult:
        """Detections for uint8 RGB frames [N, H, W, 3], inferring only uncached ones.

        ``known`` maps frame positions to detections (and their seconds) the server already
        has from another pass over the same frame (DNNGrad's forward); they are used, and
        cached, instead of inferring the frame again.
        """
        keys = [frame_key(f, self.model.id) for f in frames] if self.cache else []
        out: list[Detections | None] = [None] * len(frames)
        seconds = 0.0
        cached = 0
        for i, (dets, elapsed) in (known or {}).items():
            out[i] = dets
            seconds += elapsed
            if self.cache:
                self.cache.put(keys[i], dets, elapsed)
        for i, key in enumerate(keys):
            if out[i] is not None:
                continue
            hit = self.cache.get(key)
            if hit is not None:
                out[i], s = hit
                seconds += s
                cached += 1
        for i in [i for i, d in enumerate(out) if d is None]:
            start = time.perf_counter()
            (dets,) = self.model.infer(frames[i : i + 1])
            elapsed = time.perf_counter() - start
            out[i] = dets
            seconds += elapsed
            if self.cache:
                self.cache.put(keys[i], dets, elapsed)
        return InferenceResult(out, seconds, cached)  # type: ignore[arg-type]
