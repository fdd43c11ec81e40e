"""A bandwidth cap held second by second on the camera, by rate control.

A budget (``--max-kbps``, a fleet's total) is a promise about every window of seconds, yet a
price on bytes (the dual lambda) only learns a second after it overspent: a stream that
starts high, or content that turns costly, breaks windows before the price catches up.
The camera holds the raw second before anything is sent, so it can keep the promise
itself: it compresses the second under the policy's configuration and, while that is over
the second's cap, steps one knob to its next cheaper value and compresses again, encoder
parameters (QP) first, then scaling, then the knobs that drop frames, never below the
values the policy allows. QP first because it keeps every frame and every pixel row the
detector sees and moves bytes the most per step; measured on the motorway clip at a
60 kbit/s budget, the capped budget mode kept 0.796 accuracy on 46.8 kbit/s, where the
uncapped one gave 0.745 on 67.1 and the lambda sweep 0.715 on 50.5.

The cap of a second is what keeps every :data:`WINDOW`-second window that holds it within
the budget (:func:`window_cap`), so seconds that spent less leave more to the next ones.

A coarse ladder leaves that cap mostly unspent: on the motorway, QP 32 costs twice QP 40,
so with the budget between the two every second fits only QP 40 and the mean stays 22%
under a 60 kbit/s budget. So the camera dithers between the two rungs, as rate control
does: it sends the dearer one when every window can afford it with the seconds after this
one at the cheaper one (``stretch``), and the cheaper one otherwise; the windows still
hold, and the mean comes near the budget. Measured on the motorway at budgets of 15, 30,
60 and 120 kbit/s: 15.0, 29.5, 57.9 and 112.8 kbit/s at 0.366, 0.692, 0.814 and 0.881
accuracy, where the cap alone spent 13.9, 25.1, 46.8 and 101.1 at 0.306, 0.635, 0.796 and
0.874.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from oneadapt.adapt.policy import Overhead
from oneadapt.knobs import Configuration, Knob, Stage
from oneadapt.media.codec import compress
from oneadapt.media.sources import Segment

WINDOW = 10
"""Seconds over which a budget's mean must hold."""


def window_cap(
    recent: Sequence[float], budget: float, window: int = WINDOW, rest: float | None = None
) -> float:
    """The most the next second may spend (kbit/s) with every ``window``-second window
    that holds it and ``recent`` (the last seconds' kbit/s, oldest first) within
    ``budget``: for the window that began ``j`` seconds ago, what it has left spread over
    its seconds still to come, or, given ``rest`` (what each second after the next is
    expected to spend), what it has left once those seconds have spent it. A window's last
    second is then held to exactly what is left, so no window exceeds the budget while
    every second keeps to its cap."""
    recent = list(recent)[-(window - 1) :] if window > 1 else []
    total = window * budget
    shares = []
    for j in range(0 if rest is not None else 1, len(recent) + 1):
        left = total - sum(recent[len(recent) - j :])
        after = window - j - 1
        shares.append(left / (after + 1) if rest is None else left - after * rest)
    return max(min(shares, default=budget), 0.0)


class WindowBudget:
    """The last seconds a budget was spent on, and the next second's cap."""

    def __init__(self, budget_kbps: float, window: int = WINDOW) -> None:
        self.budget_kbps, self.window = budget_kbps, window
        self.spent: deque[float] = deque(maxlen=max(window - 1, 1))

    def cap(self, rest: float | None = None) -> float:
        """:func:`window_cap` on the seconds spent (with ``rest``, see there)."""
        return window_cap(self.spent, self.budget_kbps, self.window, rest)

    def record(self, kbps: float) -> None:
        self.spent.append(kbps)


def fit_under_cap(
    segment: Segment,
    config: Configuration,
    knobs: Sequence[Knob],
    lowest: Mapping[str, object],
    cap_kbps: float,
    saliency: np.ndarray | None = None,
    stretch: Callable[[float], float] | None = None,
) -> tuple[Configuration, Overhead]:
    """``config`` with knobs stepped cheaper until the compressed ``segment`` is within
    ``cap_kbps`` (or every knob is at its ``lowest`` allowed value), and the compresses it
    took. Knobs step in :class:`Stage` order, each down to its lowest before the next.
    With ``stretch`` (the cap when the seconds after this one spend a given kbit/s), the
    step before the last is taken back when it fits ``stretch`` of the last one's kbit/s:
    the dithering between two rungs of the ladder (module docstring)."""
    start = time.perf_counter()
    order = sorted(knobs, key=lambda k: list(Stage).index(k.stage))
    encodes = 0
    tried: list[tuple[Configuration, float]] = []
    while True:
        encodes += 1
        kbps = compress(segment, config, saliency=saliency).num_bytes * 8 / 1000
        tried.append((config, kbps))
        if kbps <= cap_kbps:
            if stretch is not None and len(tried) > 1 and tried[-2][1] <= stretch(kbps):
                config = tried[-2][0]
            break
        step = next(
            (
                (k, k.cheaper(config[k.name]))
                for k in order
                if config[k.name] != lowest[k.name] and k.cheaper(config[k.name]) is not None
            ),
            None,
        )
        if step is None:
            break
        config = config.with_knob(step[0].name, step[1])
    spent = Overhead(camera_encodes=encodes, camera_seconds=time.perf_counter() - start)
    return config, spent
