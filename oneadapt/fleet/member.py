"""A stream's gradient policy as a member of a fleet: before each second it takes the
coordinator's directive, after it reports what the second cost.

It is the per-stream :class:`GradientPolicy` unchanged; only its trade-off comes from
outside. Under a price its lambda is ``price * reference_kbps`` (the policy weighs bytes
as a fraction of its own reference bandwidth, so this makes a kbit/s cost the same on
every stream); under a budget share it runs the per-stream budget mode on that share.
"""

from __future__ import annotations

from oneadapt.adapt.gradient_policy import GradientPolicy, InputGrad
from oneadapt.adapt.policy import Feedback, PolicyContext
from oneadapt.fleet.coordinator import Directive, Fleet, Report
from oneadapt.knobs import Configuration
from oneadapt.media.sources import Segment


class FleetPolicy(GradientPolicy):
    """Joins at the reference, as the per-stream budget mode does: every second of a member
    is capped (the shared price's window cap, or the equal split's share), so the camera
    lowers its first second to what the fleet affords, and the price then moves it down the
    lists from where its detector sees most. Joining mid-list (:func:`start_value`), the
    busy bikes montage stayed at QP 45 and 0.42 F1 while a fifth of the budget went unspent
    (``benchmarks/fleet_budget.py``, README, fleet)."""

    def __init__(self, context: PolicyContext, stream: str, fleet: Fleet, lam: float) -> None:
        super().__init__(context, lam, capped=True)
        self.stream, self.fleet = stream, fleet
        self.directive = Directive()
        self.stakes: dict[str, float] = {}
        """Per knob, the estimated accuracy lost by one step cheaper (this second's probes)."""

    @property
    def reference_kbps(self) -> float:
        return (self.reference_bytes or 0) * 8 / 1000

    def decide(self, second: int, segment: Segment) -> Configuration:
        self.directive = self.fleet.begin(self.stream)
        self.cap_kbps = self.directive.cap_kbps
        if self.directive.max_kbps is not None:
            self.max_kbps = self.directive.max_kbps
        return super().decide(second, segment)

    def gain(self, probe: InputGrad) -> float:
        if probe.cheaper:
            self.stakes[probe.knob] = probe.accuracy_loss
        return super().gain(probe)

    def observe(self, feedback: Feedback) -> None:
        self.measure_reference(feedback)
        if self.directive.price is not None:
            self.lam = self.directive.price * self.reference_kbps
        self.stakes = {}
        super().observe(feedback)
        report = Report(
            stream=self.stream,
            kbps=feedback.bytes * 8 / 1000,
            reference_kbps=self.reference_kbps,
            lam=self.lam,
            knobs=dict(feedback.config),
            accuracy_at_stake=max(self.stakes.values(), default=0.0),
        )
        self.fleet.end(self.stream, report, self.directive)
