"""The deployed fleet: one :class:`Camera` per source, each with its own gRPC channel to
``oneadapt serve``, all under one coordinator in this process.

Each camera is the same program as ``oneadapt camera`` (same queue, retries and record in
``DIR/STREAM/``), with a :class:`FleetPolicy` in place of the lone gradient policy. The
cameras run in threads and are not serialized; a round stays open at most ``wait``
seconds for a camera that has not reported (retrying against a server that is down), so
one stuck camera holds the others up by no more than that. Streams join (:meth:`add`)
and leave (:meth:`remove`, or their source ends) while the others run.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from oneadapt.adapt.policy import PolicyContext
from oneadapt.errors import ConfigurationError
from oneadapt.fleet.coordinator import WINDOW, Entry, Fleet
from oneadapt.fleet.member import FleetPolicy
from oneadapt.knobs import ConfigSpace
from oneadapt.media.sources import Segment, Source, open_source
from oneadapt.runtime.camera import Camera, CameraSettings
from oneadapt.runtime.grpc_client import GrpcTransport
from oneadapt.storage import atomic_path, atomic_write_text


class Stoppable(Source):
    """A source that ends after the segment in hand once :attr:`stop` is set (a stream
    asked to leave): the camera then delivers its queue and writes its record as at the
    end of any source."""

    def __init__(self, inner: Source) -> None:
        self.inner = inner
        self.stop = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def segments(self, max_seconds: int | None = None) -> Iterator[Segment]:
        for segment in self.inner.segments(max_seconds):
            if self.stop.is_set():
                return
            yield segment


@dataclass(frozen=True)
class CameraOptions:
    """What every camera of the fleet shares."""

    server: str
    token: str | None = None
    tls_ca: Path | None = None
    deadline: float = 30.0
    realtime: bool = False
    seconds: int | None = None
    analysis_fps: int = 10
    lam: float = 0.3
    """Starting lambda of each stream's policy (under a price, only until the first round
    closes)."""
    queue_size: int = 30


class Tap:
    """Collects every camera's resolved seconds for the dashboard (it is what
    :class:`Camera` calls its metrics with)."""

    def __init__(self, stream: str, board: Board) -> None:
        self.stream, self.board = stream, board

    def second(self, row: dict[str, Any], queue_depth: int) -> None:
        self.board.camera_row(self.stream, row, queue_depth)


class Board:
    """The live record of the fleet the dashboard shows: camera rows per stream (bounded)
    next to the coordinator's reports and rounds."""

    KEEP = 600
    """Seconds of history kept per stream (the dashboard shows the last minutes)."""

    def __init__(self, fleet: Fleet, budget_kbps: float) -> None:
        self.fleet, self.budget_kbps = fleet, budget_kbps
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.queue_depth: dict[str, int] = {}
        self._lock = threading.Lock()

    def camera_row(self, stream: str, row: dict[str, Any], queue_depth: int) -> None:
        with self._lock:
            rows = self.rows.setdefault(stream, [])
            rows.append(dict(row))
            del rows[: -self.KEEP]
            self.queue_depth[stream] = queue_depth

    def share(self, entry: Entry, counts: dict[int, int]) -> float:
        """The stream's budget share that second: its directive's under an equal split,
        else what an equal split would have given it (the line to compare against)."""
        if entry.directive.max_kbps is not None:
            return entry.directive.max_kbps
        return self.budget_kbps / max(counts.get(entry.round, 1), 1)

    def snapshot(self) -> dict[str, Any]:
        """Everything the page draws, as JSON-ready lists (times: seconds since the epoch)."""
        with self._lock:
            rows = {s: list(r) for s, r in self.rows.items()}
            depth = dict(self.queue_depth)
        members, history, entries = self.fleet.view()
        present = set(members)
        history = history[-self.KEEP :]
        entries = entries[-self.KEEP * max(len(rows), 1) :]
        counts = {r.round: r.streams for r in history}
        streams = []
        for name in sorted(set(rows) | present):
            mine = rows.get(name, [])
            done = [r for r in mine if r["outcome"] != "dropped"]
            reports = [e for e in entries if e.report.stream == name]
            latest = reports[-1].report if reports else None
            streams.append(
                {
                    "stream": name,
                    "present": name in present,
                    "knobs": latest.knobs if latest else {},
                    "lambda": latest.lam if latest else None,
                    "queue": depth.get(name, 0),
                    "dropped": sum(r["outcome"] == "dropped" for r in mine),
                    "time": [r["capture_time"] for r in done],
                    "qp": [r["qp"] for r in done],
                    "height": [r["height"] for r in done],
                    "fps": [r["fps"] for r in done],
                    "latency_ms": [1000 * (r["ack_time"] - r["send_time"]) for r in done],
                    "dnn_ms": [1000 * r["dnn_seconds"] for r in done],
                    "report_time": [e.time for e in reports],
                    "kbps": [e.report.kbps for e in reports],
                    "stake": [e.report.accuracy_at_stake for e in reports],
                    "share_kbps": [self.share(e, counts) for e in reports],
                }
            )
        return {
            "rule": self.fleet.rule.name,
            "budget_kbps": self.budget_kbps,
            "window": WINDOW,
            "round": self.fleet.round,
            "rounds": {
                "time": [r.time for r in history],
                "total_kbps": [r.total_kbps for r in history],
                "streams": [r.streams for r in history],
                "price": [r.directive.price for r in history],
            },
            "split": {
                e.report.stream: e.report.kbps for e in entries if e.report.stream in present
            },
            "streams": streams,
        }


class FleetRunner:
    """Starts, stops and waits for the fleet's cameras; writes the fleet's record."""

    def __init__(self, fleet: Fleet, options: CameraOptions, out_dir: Path, board: Board) -> None:
        self.fleet, self.options, self.out_dir, self.board = fleet, options, out_dir, board
        self.sources: dict[str, Stoppable] = {}
        self.threads: dict[str, threading.Thread] = {}
        self.errors: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(self, spec: str, stream_id: str | None = None) -> str:
        """Open ``spec`` and start its camera; the stream joins the round now open."""
        from oneadapt.runtime.commands import stream_name

        name = stream_id or stream_name(spec)
        o = self.options
        with self._lock:
            if name in self.threads:
                raise ConfigurationError(
                    f"stream {name!r} is already in the fleet.",
                    "Give the new stream another id (stream_id).",
                )
            source = Stoppable(open_source(spec, fps=o.analysis_fps, scene_seconds=o.seconds or 60))
            space = ConfigSpace.default(source.height, o.analysis_fps)
            self.fleet.join(name)
            self.sources[name] = source
            thread = threading.Thread(
                target=self._run, args=(name, source, space), name=f"camera-{name}", daemon=True
            )
            self.threads[name] = thread
        thread.start()
        return name

    def remove(self, name: str) -> None:
        """Ask a stream to leave after the second it is capturing."""
        if name not in self.sources:
            raise ConfigurationError(f"no stream {name!r} in the fleet.", "Name a stream it has.")
        self.sources[name].stop.set()

    def running(self) -> list[str]:
        return [n for n, t in self.threads.items() if t.is_alive()]

    def wait(self) -> None:
        """Until every camera has finished (new ones may join meanwhile)."""
        while True:
            alive = [t for t in list(self.threads.values()) if t.is_alive()]
            if not alive:
                return
            alive[0].join(0.5)

    def _run(self, name: str, source: Stoppable, space: ConfigSpace) -> None:
        o = self.options
        transport = GrpcTransport(o.server, o.token, o.tls_ca, o.deadline)
        try:
            policy = FleetPolicy(PolicyContext(space), name, self.fleet, o.lam)
            settings = CameraSettings(name, o.realtime, o.queue_size)
            camera = Camera(
                source, policy, space, transport, self.out_dir / name, settings,
                Tap(name, self.board),
            )  # fmt: skip
            camera.run(o.seconds)
        except Exception as exc:  # one camera's failure must not stop the fleet
            self.errors[name] = f"{type(exc).__name__}: {exc}"
        finally:
            transport.close()
            self.fleet.leave(name)

    def write(self) -> dict[str, Any]:
        """``DIR/fleet.parquet`` (one row per stream-second the coordinator saw),
        ``DIR/rounds.parquet`` and ``DIR/summary.json``; returns the summary."""
        entries = pd.DataFrame(
            [
                {
                    "stream": e.report.stream,
                    "round": e.round,
                    "time": e.time,
                    "kbps": e.report.kbps,
                    "lambda": e.report.lam,
                    "accuracy_at_stake": e.report.accuracy_at_stake,
                    "price": e.directive.price,
                    "share_kbps": e.directive.max_kbps,
                    **e.report.knobs,
                }
                for e in self.fleet.entries
            ]
        )
        rounds = pd.DataFrame(
            [
                {
                    "round": r.round,
                    "time": r.time,
                    "total_kbps": r.total_kbps,
                    "streams": r.streams,
                    "forced": r.forced,
                }
                for r in self.fleet.history
            ]
        )
        for name, df in (("fleet.parquet", entries), ("rounds.parquet", rounds)):
            with atomic_path(self.out_dir / name) as tmp:
                df.to_parquet(tmp, index=False)
        window = rounds["total_kbps"].rolling(WINDOW).mean() if len(rounds) else pd.Series()
        summary = {
            "rule": self.fleet.rule.name,
            "budget_kbps": self.board.budget_kbps,
            "rounds": len(rounds),
            "mean_total_kbps": float(rounds["total_kbps"].mean()) if len(rounds) else 0.0,
            "max_window_kbps": float(window.max()) if window.notna().any() else None,
            "streams": sorted(self.threads),
            "errors": self.errors,
        }
        atomic_write_text(self.out_dir / "summary.json", json.dumps(summary, indent=2))
        return summary
