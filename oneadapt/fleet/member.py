"""A stream's gradient policy as a member of a fleet: before each second it takes the
coordinator's directive, after it reports what the second cost.

It is the per-stream :class:`GradientPolicy` unchanged; only its trade-off comes from
outside. Under a price its lambda is ``price * reference_kbps`` (the policy weighs bytes
as a fraction of its own reference bandwidth, so this makes a kbit/s cost the same on
every stream); under a budget share it runs the per-stream budget mode on that share.
"""

from __future__ import annotations

from oneadapt.adapt.gradient_policy import GradientPolicy, InputGrad, floor_position
from oneadapt.adapt.policy import Feedback, PolicyContext
from oneadapt.fleet.coordinator import Directive, Fleet, Report
from oneadapt.knobs import Configuration
from oneadapt.media.sources import Segment

JOIN_QP_INDEX = 2
"""Position in the QP list (expensive first) a stream joins at."""


class FleetPolicy(GradientPolicy):
    """Joins at the reference resolution, the third QP (30 by default) and the lowest frame
    rate the policy uses. Alone, the policy starts mid-list; in a fleet, where one dear
    first second (a 540p stream at QP 20 and 10 fps: 1.4 Mbit/s on the dashcam clip) spends
    a 100 kbit/s fleet's whole 10-second window, it joins cheaper still. The first DNNGrad map is
    nearly as good (the server back-propagates one sent frame, at full resolution), the
    probes at the cheap end of fps ask for more frames where objects move, and the
    reference size the policy needs costs one extra encode. Measured on the five-clip fleet
    (``benchmarks/fleet_budget.py``, shared price) against joining at QP 20: mean F1 0.863
    against 0.845 at 200 kbit/s on the same bandwidth, and 0.738 against 0.709 at 100
    kbit/s on 88 instead of 109 kbit/s, the worst 10-s window 1.17x the budget instead of
    1.46x."""

    def __init__(self, context: PolicyContext, stream: str, fleet: Fleet, lam: float) -> None:
        super().__init__(context, lam)
        self.stream, self.fleet = stream, fleet
        fps, qp = self.space.knob("fps"), self.space.knob("qp")
        self.x["fps"] = floor_position(fps)
        self.values["fps"] = fps.value_at(self.x["fps"])
        self.values["qp"] = qp.values[min(JOIN_QP_INDEX, len(qp.values) - 1)]
        self.x["qp"] = qp.position(self.values["qp"])
        self.directive = Directive()
        self.stakes: dict[str, float] = {}
        """Per knob, the estimated accuracy lost by one step cheaper (this second's probes)."""

    @property
    def reference_kbps(self) -> float:
        return (self.reference_bytes or 0) * 8 / 1000

    def decide(self, second: int, segment: Segment) -> Configuration:
        self.directive = self.fleet.begin(self.stream)
        if self.directive.max_kbps is not None:
            self.max_kbps = self.directive.max_kbps
        return super().decide(second, segment)

    def gain(self, probe: InputGrad) -> float:
        if probe.cheaper:
            self.stakes[probe.knob] = probe.accuracy_loss
        return super().gain(probe)

    def observe(self, feedback: Feedback) -> None:
        if self.reference_bytes is None:
            self.reference_bytes = self._reference_bytes(feedback)
        if self.directive.price is not None:
            self.lam = self.directive.price * self.reference_kbps
        self.stakes = {}
        super().observe(feedback)
        report = Report(
            stream=self.stream,
            kbps=feedback.bytes * 8 / 1000,
            reference_kbps=self.reference_kbps,
            lam=self.lam,
            knobs={k.name: getattr(feedback.config, k.name) for k in self.space.knobs},
            accuracy_at_stake=max(self.stakes.values(), default=0.0),
        )
        self.fleet.end(self.stream, report, self.directive)
