"""Content regimes along a procedural scene's timeline (camera and LiDAR scenes).

A scene's content switches between named regimes so that the adaptation has something to
adapt to. The timeline is drawn as if endless and then cut at the scene's end: no draw
depends on the scene's length, so a shorter scene of a seed is exactly the start of a
longer one (only its last regime may be cut short).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

MIN_SECONDS, MAX_SECONDS = 10, 30
"""Length of a regime in whole seconds (inclusive range)."""


@dataclass(frozen=True)
class Regime:
    start: int
    end: int
    name: str


def draw_regimes(
    rng: np.random.Generator, seconds: int, names: Sequence[str], not_first: str
) -> Iterator[Regime]:
    """Regimes of 10 to 30 s from ``rng`` until they cover ``seconds``: never the same
    name twice in a row, and the scene does not open with ``not_first``.

    Each regime draws its length, then its name. The regimes come one at a time, so a
    scene that draws more per regime from the same ``rng`` (the LiDAR ego speed) does so
    between them, in the order its timeline always had.
    """
    start, previous = 0, ""
    while start < seconds:
        length = int(rng.integers(MIN_SECONDS, MAX_SECONDS + 1))
        choices = [n for n in names if n != previous and (start > 0 or n != not_first)]
        name = str(rng.choice(choices))
        yield Regime(start, min(start + length, seconds), name)
        start, previous = start + length, name


def regime_at(regimes: Sequence[Regime], second: float) -> tuple[int, Regime]:
    """Index and regime at ``second``; past the end, the last one."""
    for i, r in enumerate(regimes):
        if second < r.end:
            return i, r
    return len(regimes) - 1, regimes[-1]
