"""One uplink budget for a fleet of streams: every second a coordinator tells each stream
how to trade accuracy against bytes, so that the fleet's total stays within the budget.

Each stream runs its own gradient policy (:mod:`oneadapt.fleet.member`); the coordinator
only sets the knob every such policy already has. Two rules, measured against each other
by ``benchmarks/fleet_budget.py``:

- :class:`SharedPrice`: one dual variable ``price`` (accuracy per kbit/s) for the whole
  fleet. A stream's policy weighs resource as a fraction of its own reference bandwidth,
  so its lambda is ``price * reference_kbps``: then every stream pays the same for a kbit/s,
  and bytes go where the gradient says they buy the most accuracy. The price moves like the
  per-stream budget mode's lambda (:class:`oneadapt.adapt.dual.DualPrice`),
  on the fleet's total against a target that keeps every :data:`WINDOW`-second window of
  the total within the budget.
- :class:`EqualSplit`: the budget divided evenly among the streams present, each stream
  holding its share with the per-stream budget mode (``--max-kbps``): the baseline.

:class:`Fleet` is the clock: a *round* is one second of every stream present. Each
stream's k-th second after it joined belongs to round ``joined + k``; a round closes when
every stream present has reported it (or, in deployment, when ``wait`` seconds passed, so
a camera stuck retrying does not stall the others: its last report stands in), and then
the rule computes the next round's directives. Streams join and leave at any round.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from oneadapt.adapt.dual import DualPrice
from oneadapt.adapt.rate_cap import WINDOW, window_cap
from oneadapt.errors import ConfigurationError

PRICE_FLOOR = 1 / 5
"""The lowest price, as a fraction of the starting one (lambda 0.06 on an average stream at
the default start 0.3). A fleet that cannot spend its budget (streams whose detections are
already perfect at the cheapest settings) would otherwise lower the price every second
without anyone buying more; when a busy stream then joins, a price wound down a hundredfold
needs many seconds to climb back, and the fleet overspends all that time. Measured on the
five-clip fleet at 200 kbit/s (``benchmarks/fleet_budget.py``, streams joining at QP 20):
with the floor at 1/30
of the start, mean F1 0.841 on 192 kbit/s and the worst 10-s window at 1.33x the budget;
at 1/5, F1 0.845 on 168 kbit/s and 1.15x."""
TARGET_FLOOR = 0.5
"""The lowest per-second target, as a fraction of the budget, when earlier seconds of the
window overspent: catching up faster than this starves every stream at once."""


@dataclass(frozen=True)
class Directive:
    """What a stream's policy takes from the coordinator before deciding a second: either a
    price (its lambda becomes ``price * reference_kbps``) or a budget share (its own dual
    lambda holds ``max_kbps``); None leaves the policy as it is."""

    price: float | None = None
    max_kbps: float | None = None
    cap_kbps: float | None = None
    """The most the stream's next second may spend (:mod:`oneadapt.adapt.rate_cap`)."""


@dataclass(frozen=True)
class Report:
    """What a stream tells the coordinator after each second it streamed."""

    stream: str
    kbps: float
    reference_kbps: float
    """Bandwidth of the stream's reference (most expensive) configuration."""
    lam: float
    """The lambda its policy used for this second."""
    knobs: dict[str, int]
    accuracy_at_stake: float
    """Estimated accuracy (F1) lost by one step cheaper on the knob where it costs most."""


class Rule:
    """The coordinator's policy: what every stream present is told, updated once a round."""

    name: str

    def update(self, spent: list[Report]) -> None:
        """Learn from a closed round: one report per stream that streamed in it (a stream
        that left after its second included, a straggler by its latest report)."""

    def directive(self, present: list[str]) -> Directive:
        """What every stream present in the open round decides under."""
        raise NotImplementedError

    def cap(self, stream: str, present: list[str]) -> float | None:
        """The most ``stream``'s next second may spend; None: no cap from the fleet."""
        return None


class EqualSplit(Rule):
    """Each stream present holds ``total / n`` with its own dual lambda."""

    name = "equal-split"

    def __init__(self, total_kbps: float) -> None:
        self.total_kbps = total_kbps

    def directive(self, present: list[str]) -> Directive:
        return Directive(max_kbps=self.total_kbps / max(len(present), 1))


class SharedPrice(Rule):
    """One price for a kbit/s across the fleet (see the module docstring).

    The price starts where the streams' starting lambda puts it on an average stream
    (``lam / mean reference kbit/s``) and then follows the multiplicative dual update on
    ``total / target - 1``, never below :data:`PRICE_FLOOR`. ``target`` is what keeps
    every :data:`WINDOW`-second window within the budget (:func:`window_cap`, never under
    :data:`TARGET_FLOOR` of the budget), so that overspending (a joining stream's first
    second at its reference configuration, a burst) is paid back within the window rather
    than averaged away. The same window rule caps every stream's next second
    (:meth:`cap`), so no window breaks while the price catches up.
    """

    name = "shared-price"

    def __init__(self, total_kbps: float, start_lambda: float) -> None:
        self.total_kbps, self.start_lambda = total_kbps, start_lambda
        self.price: float | None = None
        self.dual: DualPrice | None = None
        self.totals: deque[float] = deque(maxlen=WINDOW - 1)
        self.target = total_kbps
        self.last: dict[str, float] = {}
        """Each stream's kbit/s in the last round it streamed."""

    def update(self, spent: list[Report]) -> None:
        if not spent:
            return
        total = sum(r.kbps for r in spent)
        if self.dual is None:
            start = self.start_lambda / float(np.mean([r.reference_kbps for r in spent]))
            self.dual = DualPrice(start, floor=PRICE_FLOOR * start)
        else:
            self.dual.update(total, self.target)
        self.price = self.dual.value
        self.totals.append(total)
        self.last.update({r.stream: r.kbps for r in spent})
        self.target = float(
            np.clip(
                window_cap(self.totals, self.total_kbps),
                TARGET_FLOOR * self.total_kbps,
                self.total_kbps,
            )
        )

    def cap(self, stream: str, present: list[str]) -> float | None:
        """The fleet's cap for the next second (:func:`window_cap` on its totals), split in
        proportion to what each stream present spent last (a joining stream as the mean of
        the others), so a stream that needs more bytes keeps them."""
        known = [self.last[s] for s in present if s in self.last]
        usual = float(np.mean(known)) if known else 1.0
        weights = {s: max(self.last.get(s, usual), 1e-6) for s in present}
        share = weights.get(stream, usual) / sum(weights.values())
        return window_cap(self.totals, self.total_kbps) * share

    def directive(self, present: list[str]) -> Directive:
        return Directive(price=self.price)


RULES = ("shared-price", "equal-split")


def make_rule(name: str, total_kbps: float, start_lambda: float) -> Rule:
    if name == "shared-price":
        return SharedPrice(total_kbps, start_lambda)
    if name == "equal-split":
        return EqualSplit(total_kbps)
    raise ConfigurationError(f"unknown fleet rule {name!r}.", f"Use one of: {', '.join(RULES)}.")


@dataclass
class Member:
    joined: int
    """The round of the stream's first second."""
    seconds: int = 0
    """Seconds reported so far."""


@dataclass(frozen=True)
class RoundRecord:
    """One closed round: what the fleet spent, under which directive."""

    round: int
    total_kbps: float
    streams: int
    directive: Directive
    forced: bool
    """Closed by the wait limit rather than by every stream reporting."""
    time: float
    """When it closed (seconds since the epoch)."""


@dataclass(frozen=True)
class Entry:
    """One stream's second as the coordinator saw it."""

    round: int
    report: Report
    directive: Directive
    time: float
    """When it was reported (seconds since the epoch)."""


class Fleet:
    """The coordinator: membership, the round clock, the rule, and the record of both.

    Thread-safe: every stream calls :meth:`begin` before deciding a second and :meth:`end`
    after observing it, from its own thread. With ``serialize`` only one stream is between
    the two at a time, in join order (the in-process benchmark shares one detector and
    one inference cache, and gets the same result on every run); ``wait`` bounds how long a
    round stays open for a stream that has not reported (None: for ever).
    """

    def __init__(self, rule: Rule, wait: float | None = None, serialize: bool = False) -> None:
        self.rule, self.wait, self.serialize = rule, wait, serialize
        self.round = 0
        self.opened = time.monotonic()
        self.members: dict[str, Member] = {}
        self.reports: dict[str, Report] = {}
        """Each present stream's latest report."""
        self.spent: dict[str, Report] = {}
        """Reports of the open round (kept when their stream leaves before it closes)."""
        self.history: list[RoundRecord] = []
        self.entries: list[Entry] = []
        self._cv = threading.Condition()

    def join(self, stream: str, at_round: int | None = None) -> None:
        """Add a stream from ``at_round`` (default: the round now open)."""
        with self._cv:
            if stream in self.members:
                raise ConfigurationError(
                    f"stream {stream!r} is already in the fleet.", "Give each stream its own id."
                )
            self.members[stream] = Member(self.round if at_round is None else at_round)
            self._cv.notify_all()

    def leave(self, stream: str) -> None:
        with self._cv:
            self.members.pop(stream, None)
            self.reports.pop(stream, None)
            self._close_if_complete()

    def present(self) -> list[str]:
        """Streams taking part in the open round, in join order."""
        return [s for s, m in self.members.items() if m.joined <= self.round]

    def view(self) -> tuple[list[str], list[RoundRecord], list[Entry]]:
        """A consistent copy for readers on other threads (the dashboard): the streams
        present, the closed rounds and every stream-second reported."""
        with self._cv:
            return self.present(), list(self.history), list(self.entries)

    def begin(self, stream: str) -> Directive:
        """Wait until the stream's next second is in the open round (and, serialized, until
        it is its turn); the directive to decide it under."""
        with self._cv:
            while True:
                member = self.members[stream]
                due = member.joined + member.seconds <= self.round
                if due and (not self.serialize or self._turn() == stream):
                    present = self.present()
                    cap = self.rule.cap(stream, present)
                    return dataclasses.replace(self.rule.directive(present), cap_kbps=cap)
                left = None if self.wait is None else self.opened + self.wait - time.monotonic()
                if left is not None and left <= 0:
                    self._close()
                else:
                    self._cv.wait(left)

    def end(self, stream: str, report: Report, directive: Directive) -> None:
        """Record the second the stream just observed under ``directive``; close the round
        when it was the last one missing."""
        with self._cv:
            member = self.members[stream]
            self.entries.append(
                Entry(member.joined + member.seconds, report, directive, time.time())
            )
            member.seconds += 1
            self.reports[stream] = report
            self.spent[stream] = report
            self._close_if_complete()

    def _turn(self) -> str | None:
        return next((s for s in self.present() if s not in self.spent), None)

    def _close_if_complete(self) -> None:
        present = self.present()
        waiting = any(m.joined > self.round for m in self.members.values())
        if (present or waiting) and all(s in self.spent for s in present):
            self._close()
        self._cv.notify_all()

    def _close(self) -> None:
        """End the open round: the rule learns from it and the next one opens. Streams that
        did not report (only when ``wait`` ran out) count their latest report, and their
        next second falls in the next round."""
        present = self.present()
        missing = [s for s in present if s not in self.spent]
        spent = [*self.spent.values(), *(self.reports[s] for s in missing if s in self.reports)]
        taking_part = [*self.spent, *missing]
        self.history.append(
            RoundRecord(
                self.round,
                sum(r.kbps for r in spent),
                len(taking_part),
                self.rule.directive(taking_part),
                bool(missing),
                time.time(),
            )
        )
        self.rule.update(spent)
        self.round += 1
        for s in missing:
            self.members[s].joined = self.round - self.members[s].seconds
        self.spent.clear()
        self.opened = time.monotonic()
        self._cv.notify_all()
