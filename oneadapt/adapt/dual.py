"""The price of a kbit/s under a bandwidth budget: one dual variable, raised after every
second that spends above its target and lowered after every second below it. The
per-stream budget mode (:class:`oneadapt.adapt.gradient_policy.GradientPolicy` with
``max_kbps``) and the fleet's shared price (:class:`oneadapt.fleet.coordinator.SharedPrice`)
both move their price with it.

The step on ``log(price)`` is :data:`BUDGET_RATE` times ``spent / target - 1``: linear in
kbit/s, so the price settles where the *arithmetic* mean meets the target. A step in
``log(spent / target)`` settles where the geometric mean does, which on a coarse knob ladder
(45 and 250 kbit/s alternating on the motorway) left the mean 33% over every budget.
Measured and not kept: a rate of 0.2 (the motorway at 60 kbit/s ended 31% over, the budget
reached too slowly from the start), a proportional term on top of this integral one, and
the error on a smoothed bandwidth (both: worse accuracy at the same bandwidth). The rate
was 0.5 until the budget mode started at the reference (its first second then spends what
the cap allows, and the price has to fall fast from there): 1.0 instead brought 30 s of
``scene:7`` at 240 kbit/s from 212.2 to 222.5 (-7.3%), the bikes montage at 240 from 165.4
to 217.8, and held the motorway, the dashcam and the fleet (README, budget mode).
"""

from __future__ import annotations

import math

import numpy as np

from oneadapt.errors import ConfigurationError

BUDGET_RATE = 1.0
"""A second at twice the target raises log(price) by 1 (the most a step may), one at half
of it lowers it by 0.5."""


class DualPrice:
    """A positive price (never below ``floor``) that follows the spending against a target."""

    def __init__(self, start: float, floor: float = 0.0) -> None:
        if not (math.isfinite(start) and start > 0):
            raise ConfigurationError(
                f"a bandwidth price must start positive, not at {start}.",
                "Start it at a finite lambda > 0.",
            )
        self.floor = floor
        self.value = start

    def update(self, spent: float, target: float) -> float:
        """The price for the next second, after one that spent ``spent`` kbit/s against
        ``target`` kbit/s."""
        step = float(np.clip(BUDGET_RATE * (spent / target - 1.0), -1.0, 1.0))
        self.value = max(self.value * math.exp(step), self.floor)
        return self.value
