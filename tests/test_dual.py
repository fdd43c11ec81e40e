"""The bandwidth price shared by the per-stream budget mode and the fleet."""

from __future__ import annotations

import math

import pytest

from oneadapt.adapt.dual import BUDGET_RATE, DualPrice
from oneadapt.errors import ConfigurationError


def test_the_price_rises_above_the_target_and_falls_below_it() -> None:
    price = DualPrice(0.1)
    assert price.update(200.0, 100.0) == pytest.approx(0.1 * math.exp(BUDGET_RATE))
    assert price.update(50.0, 100.0) == pytest.approx(0.1 * math.exp(BUDGET_RATE * 0.5))
    assert price.update(100.0, 100.0) == pytest.approx(0.1 * math.exp(BUDGET_RATE * 0.5))


def test_a_step_is_at_most_one_and_the_floor_holds() -> None:
    price = DualPrice(1.0, floor=0.5)
    assert price.update(1e6, 1.0) == pytest.approx(math.e)
    for _ in range(10):
        price.update(0.0, 1.0)
    assert price.value == 0.5


def test_alternating_spend_settles_where_the_arithmetic_mean_meets_the_target() -> None:
    """45 and 250 kbit/s in turn: the price returns to its start after each pair when the
    target is their arithmetic mean (a log step would need the geometric mean, 106)."""
    price = DualPrice(0.3)
    for _ in range(20):
        price.update(45.0, 147.5)
        price.update(250.0, 147.5)
    assert price.value == pytest.approx(0.3)


@pytest.mark.parametrize("start", [0.0, -1.0, math.inf, math.nan])
def test_a_price_starts_positive(start: float) -> None:
    with pytest.raises(ConfigurationError, match="start positive"):
        DualPrice(start)
