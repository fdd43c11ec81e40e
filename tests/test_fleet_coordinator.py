"""The fleet coordinator without any video: the rules' arithmetic and the round clock
(joins, leaves, turns, a straggler), with threads standing in for cameras."""

from __future__ import annotations

import threading
import time

import pytest

from oneadapt.errors import ConfigurationError
from oneadapt.fleet.coordinator import (
    PRICE_FLOOR,
    TARGET_FLOOR,
    WINDOW,
    Directive,
    EqualSplit,
    Fleet,
    Report,
    SharedPrice,
    make_rule,
)


def report(stream: str, kbps: float, reference: float = 100.0) -> Report:
    return Report(stream, kbps, reference, 0.3, {"qp": 30}, 0.0)


def test_shared_price_starts_from_lambda_and_follows_the_budget() -> None:
    rule = SharedPrice(total_kbps=100, start_lambda=0.3)
    streams = ["a", "b"]
    rule.update([report("a", 100, 50), report("b", 100, 150)])
    assert rule.price == pytest.approx(0.3 / 100)  # lambda over the mean reference kbit/s
    start = rule.price
    rule.update([report("a", 100), report("b", 100)])  # twice the budget
    assert rule.price > start
    high = rule.price
    for _ in range(50):  # far under the budget for long: the price falls, down to its floor
        rule.update([report("a", 1), report("b", 1)])
    assert rule.price < high
    assert rule.price == pytest.approx(PRICE_FLOOR * start)
    assert rule.directive(streams) == Directive(price=rule.price)


def test_shared_price_pays_back_an_overspent_window() -> None:
    """After one second at 5x the budget the seconds after it may spend only what keeps the
    window that began with it within the budget (never under the floor), and the budget
    once that window has room for it."""
    rule = SharedPrice(total_kbps=100, start_lambda=0.3)
    rule.update([report("a", 500)])
    assert rule.target == pytest.approx((1000 - 500) / 9)
    for spent in range(1, WINDOW - 1):
        rule.update([report("a", 50)])
        assert rule.target == pytest.approx((1000 - 500 - 50 * spent) / (9 - spent))
    rule.update([report("a", 800)])  # (1000 - 800) / 9 is below the floor
    assert rule.target == pytest.approx(TARGET_FLOOR * 100)


def test_equal_split_divides_among_streams_present() -> None:
    rule = EqualSplit(total_kbps=300)
    assert rule.directive(["a", "b", "c"]) == Directive(max_kbps=100)
    assert rule.directive(["a"]) == Directive(max_kbps=300)


def test_unknown_rule_names_the_choices() -> None:
    with pytest.raises(ConfigurationError, match="shared-price, equal-split"):
        make_rule("greedy", 100, 0.3)


def camera(fleet: Fleet, name: str, seconds: int, order: list, kbps: float = 10.0) -> None:
    """A stand-in camera: ``seconds`` seconds of begin/report, then leave."""
    try:
        for _ in range(seconds):
            fleet.begin(name)
            order.append((fleet.round, name))
            fleet.end(name, report(name, kbps), Directive())
    finally:
        fleet.leave(name)


def test_rounds_with_joins_and_leaves_run_in_turn() -> None:
    fleet = Fleet(EqualSplit(90), serialize=True)
    order: list = []
    plan = {"a": (0, 4), "b": (0, 2), "c": (2, 3)}  # name: (joins at round, seconds)
    for name, (join, _) in plan.items():
        fleet.join(name, join)
    threads = [
        threading.Thread(target=camera, args=(fleet, n, s, order)) for n, (_, s) in plan.items()
    ]
    for t in reversed(threads):  # started in any order, served in join order
        t.start()
    for t in threads:
        t.join(10)
    assert order == [
        (0, "a"), (0, "b"),
        (1, "a"), (1, "b"),
        (2, "a"), (2, "c"),
        (3, "a"), (3, "c"),
        (4, "c"),
    ]  # fmt: skip
    assert [r.streams for r in fleet.history] == [2, 2, 2, 2, 1]  # a left after round 3
    assert [r.total_kbps for r in fleet.history] == [20, 20, 20, 20, 10]
    assert [r.directive.max_kbps for r in fleet.history] == [45, 45, 45, 45, 90]
    with pytest.raises(ConfigurationError, match="already in the fleet"):
        fleet.join("a")
        fleet.join("a")


def test_a_straggler_holds_a_round_only_for_wait_seconds() -> None:
    fleet = Fleet(EqualSplit(100), wait=0.3)
    fleet.join("fast")
    fleet.join("stuck")
    fleet.begin("stuck")  # it decided its first second and never reports
    start = time.monotonic()
    for _ in range(3):
        fleet.begin("fast")
        fleet.end("fast", report("fast", 10), Directive())
    elapsed = time.monotonic() - start
    assert 0.5 < elapsed < 3
    assert [r.forced for r in fleet.history] == [True, True]
    fleet.end("stuck", report("stuck", 10), Directive())  # late: counts in the open round
    assert fleet.entries[-1].round == 2
    assert fleet.history[-1].round == 2 and not fleet.history[-1].forced
