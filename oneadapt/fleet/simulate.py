"""A fleet in one process: every stream through ``run_policy`` (camera encode, server
inference and DNNGrad, accuracy against the reference) under one coordinator.

Each stream runs in its own thread with a :class:`FleetPolicy`; the coordinator serializes
them (one stream's second at a time, in join order, then the next round), so the run shares
one detector and inference cache safely and gives the same result every time: what the
fleet benchmark compares is the rules, not thread timing. Streams join at a given round
and leave when their source ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from oneadapt.adapt.gradients import DNNGradSettings
from oneadapt.adapt.policy import PolicyContext
from oneadapt.console import status_progress
from oneadapt.evaluate.run import run_policy
from oneadapt.fleet.coordinator import WINDOW, Fleet, Rule
from oneadapt.fleet.member import FleetPolicy
from oneadapt.inference_cache import Detector
from oneadapt.knobs import ConfigSpace
from oneadapt.media.sources import Source
from oneadapt.tasks.base import Task


@dataclass(frozen=True)
class Stream:
    """One member of a simulated fleet."""

    source: Source
    space: ConfigSpace
    join: int = 0
    """The round of its first second."""
    seconds: int | None = None
    """At most this many seconds (None: the whole source)."""

    @property
    def name(self) -> str:
        return self.source.name


def simulate_fleet(
    streams: Sequence[Stream],
    rule: Rule,
    detector: Detector,
    task: Task,
    lam: float = 0.3,
    grad_settings: DNNGradSettings | None = None,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per stream-second rows (``run_policy``'s columns plus ``stream``, ``round``,
    ``lambda``, ``reference_kbps``, ``price``, ``share_kbps``, ``cap_kbps`` and
    ``accuracy_at_stake``)
    and per round rows (``round``, ``total_kbps``, ``streams``, ``window_kbps``: the mean
    total over the last :data:`WINDOW` rounds)."""
    fleet = Fleet(rule, serialize=True)
    results: dict[str, pd.DataFrame] = {}
    errors: list[BaseException] = []

    def run(stream: Stream) -> None:
        try:
            policy = FleetPolicy(PolicyContext(stream.space), stream.name, fleet, lam)
            results[stream.name] = run_policy(
                stream.source,
                policy,
                detector,
                task,
                stream.space,
                stream.seconds,
                progress=False,
                grad_settings=grad_settings,
            )
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)
        finally:
            fleet.leave(stream.name)

    for stream in streams:
        fleet.join(stream.name, stream.join)
    threads = [threading.Thread(target=run, args=(s,), daemon=True) for s in streams]
    with status_progress(f"fleet {rule.name}", disable=not progress) as bar:
        job = bar.add_task("fleet", total=None, status="")
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            time.sleep(0.2)
            last = fleet.history[-1] if fleet.history else None
            status = f"round {fleet.round}" + (f", {last.total_kbps:.0f} kbit/s" if last else "")
            bar.update(job, completed=len(fleet.entries), status=status)
    if errors:
        raise errors[0]
    return stream_rows(fleet, results), round_rows(fleet)


def stream_rows(fleet: Fleet, results: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``run_policy``'s rows of every stream with the coordinator's view of each second."""
    frames = []
    for name, df in results.items():
        entries = [e for e in fleet.entries if e.report.stream == name]
        df = df.copy()
        df.insert(0, "stream", name)
        df.insert(1, "round", [e.round for e in entries])
        df["lambda"] = [e.report.lam for e in entries]
        df["reference_kbps"] = [e.report.reference_kbps for e in entries]
        df["price"] = [e.directive.price for e in entries]
        df["share_kbps"] = [e.directive.max_kbps for e in entries]
        df["cap_kbps"] = [e.directive.cap_kbps for e in entries]
        df["accuracy_at_stake"] = [e.report.accuracy_at_stake for e in entries]
        frames.append(df)
    return pd.concat(frames, ignore_index=True).sort_values(["round", "stream"], kind="stable")


def round_rows(fleet: Fleet) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "round": [r.round for r in fleet.history],
            "total_kbps": [r.total_kbps for r in fleet.history],
            "streams": [r.streams for r in fleet.history],
        }
    )
    df["window_kbps"] = df["total_kbps"].rolling(WINDOW, min_periods=1).mean()
    return df
