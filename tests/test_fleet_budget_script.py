"""benchmarks/fleet_budget.py's bandwidth-at-equal-accuracy figure, on summaries whose answer
is known: the cheapest equal-split run that reaches the shared price's F1, a lower bound when
none does, and nothing when the runs bound nothing."""

from __future__ import annotations

import pytest
from benchmark_helpers import benchmark_script


def run(f1: float, kbps: float) -> dict:
    return {"mean_f1": f1, "mean_total_kbps": kbps}


def test_the_saving_is_read_off_measured_runs_only() -> None:
    equal = [run(0.75, 80.0), run(0.84, 160.0), run(0.85, 225.0), run(0.88, 300.0)]
    with benchmark_script("fleet_budget") as fb:
        reached = fb.bandwidth_at_equal_accuracy(run(0.84, 120.0), equal)
        assert reached["equal_split_kbps_at_same_f1"] == 160.0  # the cheapest that reaches it
        assert reached["bandwidth_saved"] == pytest.approx(0.25) and not reached["at_least"]
        beyond = fb.bandwidth_at_equal_accuracy(run(0.90, 150.0), equal)
        assert beyond["equal_split_kbps_at_same_f1"] == 300.0 and beyond["at_least"]
        assert beyond["bandwidth_saved"] == pytest.approx(0.5)
        unbounded = fb.bandwidth_at_equal_accuracy(run(0.90, 320.0), equal)
        assert unbounded["at_least"] and unbounded["bandwidth_saved"] is None
