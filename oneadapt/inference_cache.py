"""On-disk cache of per-item model outputs keyed by (hash of the decoded item, model id).

Profiling baselines run the DNN on many configurations of the same seconds; identical
decoded items (repeated or overlapping grids, the reference, held frames) must cost
no inference. An item is whatever the model takes (a frame, a second of audio, a LiDAR
scan); its output is stored as the rows of the model's output container
(:class:`~oneadapt.tasks.base.Output`), which the model id determines. Outputs are the
model's, before any task filters them, so one entry serves every task and class choice.
SQLite gives atomic, crash-safe writes in a single file (its table keeps the name it had
when only detections were stored, so existing caches stay valid).
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np

from oneadapt.errors import ConfigurationError, ProtocolError
from oneadapt.models.base import Model
from oneadapt.storage import cache_dir
from oneadapt.tasks.base import OutputT

T = TypeVar("T")


def frame_key(frame: np.ndarray, model_id: str) -> str:
    """The cache key of one model input item (any array: frame, samples, points)."""
    h = hashlib.blake2b(digest_size=20)
    h.update(model_id.encode())
    h.update(np.asarray(frame.shape, np.int64).tobytes())
    h.update(np.ascontiguousarray(frame).data)
    return h.hexdigest()


def decode_row(blob: object, seconds: object, output_type: type[OutputT]) -> tuple[OutputT, float]:
    """A cached row back to an output of ``output_type`` and its seconds; anything that is
    not what :meth:`InferenceCache.put` writes raises :class:`ProtocolError`."""
    if not isinstance(blob, bytes) or len(blob) % 4:
        raise ProtocolError("an inference-cache row is not whole float32 values.", _REPAIR)
    if not isinstance(seconds, float | int) or not 0.0 <= seconds < float("inf"):
        raise ProtocolError(f"an inference-cache row has invalid seconds {seconds!r}.", _REPAIR)
    return output_type.from_array(np.frombuffer(blob, np.float32)), float(seconds)


_REPAIR = "Delete the inference cache ($ONEADAPT_CACHE) to rebuild it."
_CORRUPT = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


class InferenceCache:
    """Outputs and their measured inference seconds, per decoded item and model.

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

    def get(self, key: str, output_type: type[OutputT]) -> tuple[OutputT, float] | None:
        """The cached entry as ``output_type``, or None (also for a row that does not
        decode: it is redone)."""
        row = self._guard(
            lambda: self._db.execute(
                "SELECT rows, seconds FROM detections WHERE key = ?", (key,)
            ).fetchone()
        )
        if row is None:
            return None
        try:
            return decode_row(*row, output_type)
        except ProtocolError:
            return None

    def put(self, key: str, output: OutputT, seconds: float) -> None:
        def write() -> None:
            with self._db:
                self._db.execute(
                    "INSERT OR REPLACE INTO detections VALUES (?, ?, ?)",
                    (key, np.asarray(output.to_array(), np.float32).tobytes(), seconds),
                )

        self._guard(write)

    def close(self) -> None:
        self._db.close()


class CacheWarning(UserWarning):
    """The inference cache was corrupt and has been replaced by a new one."""


@dataclass
class InferenceResult(Generic[OutputT]):
    outputs: list[OutputT]
    """One output per item."""
    seconds: float
    """Inference compute time of these items (as measured when each was first inferred)."""
    cached: int
    """How many items came from the cache."""


class Detector(Generic[OutputT]):
    """A model behind the cache: the server's no-gradient inference path."""

    def __init__(self, model: Model[OutputT], cache: InferenceCache | None = None) -> None:
        self.model = model
        self.cache = cache

    def detect(
        self,
        frames: Sequence[np.ndarray],
        known: Mapping[int, tuple[OutputT, float]] | None = None,
    ) -> InferenceResult[OutputT]:
        """Outputs for model input items (uint8 RGB frames [N, H, W, 3], audio seconds,
        scans), inferring only uncached ones.

        ``known`` maps item positions to outputs (and their seconds) the server already
        has from another pass over the same item (DNNGrad's forward); they are used, and
        cached, instead of inferring the item again.
        """
        kind = self.model.output_type
        keys = [frame_key(f, self.model.id) for f in frames] if self.cache else []
        out: list[OutputT | None] = [None] * len(frames)
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
            hit = self.cache.get(key, kind)
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
