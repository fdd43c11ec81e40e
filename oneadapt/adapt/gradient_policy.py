"""OneAdapt's camera side: InputGrad by one re-encode per knob, AccGrad = InputGrad x DNNGrad,
and a gradient step on every knob each second (method.md section 3).

For each knob the camera re-encodes the raw segment at the neighbouring value (the next
cheaper one; at the cheap end the next more expensive one), decodes it, and measures per
16x16 block ``e``, the mean squared difference between the neighbour's decoded frames and
the current ones: how much the step changes the DNN input.

The estimated accuracy change of the step is ``block * sqrt(sum_b w_b^2 e_b)``, with ``w`` the
server's DNNGrad map (:mod:`oneadapt.adapt.gradients`: raw ``|d proxy / d pixel|`` per block,
divided by ``2 * max(objects, 1)`` so that it is in per-frame F1 per pixel level). It is the
first-order change of the accuracy proxy under an input change whose pixel errors are
independent of the gradient's signs, a root-sum-square over pixels (the gradient taken as
uniform within a block). Nothing in it is fitted: its scale comes from the map, so an empty
road (no gradient) costs nothing to degrade, and objects near the detector's threshold cost
much. Measured against real accuracy changes with ``oneadapt gradcheck`` (``scale_ratio``).

- Between the two decoded inputs, not each against raw: accuracy is judged against the
  DNN's own output on the best input, so what moves it is how much the input *changes*; the
  difference of two distortions against raw cancels where the two encodes err alike and
  misses where they err differently (e.g. a skipped frame against a blurred one).
- Only blocks the map marks are compared, and each distinct pair of shown frames once (a
  lower frame rate repeats frames): the same figure at a fraction of the camera's work.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from oneadapt.adapt.objective import DEFAULT_GPU_WEIGHT, resource
from oneadapt.adapt.policy import Feedback, Overhead, Policy, PolicyContext
from oneadapt.errors import OneAdaptError
from oneadapt.knobs import Configuration, Knob
from oneadapt.media.codec import Bitstream, EncodedSegment, compress, encode, frame_owner
from oneadapt.media.sources import Segment
from oneadapt.protocol.feedback import FeedbackMap, accuracy_at_stake

BUDGET_RATE = 0.5
"""Dual step of the bandwidth-budget mode: each second, log(lambda) moves by this times
log(kbit/s / budget), at most by 1: a second at twice the budget raises lambda by 2^0.5, one
at half of it lowers lambda as much, and far off lambda moves e-fold."""


def salient_squared_error(
    a: EncodedSegment, b: EncodedSegment, weights: np.ndarray, block: int
) -> np.ndarray:
    """Per-block mean (a - b)^2 over frames and colour channels, in pixel levels squared,
    computed only on the block rows where ``weights`` is non-zero (elsewhere 0: the
    estimate ignores them) and once per distinct pair of shown frames."""
    frames, height, width = a.decoded.shape[:3]
    hb, wb = weights.shape
    error = np.zeros((hb, wb))
    rows = np.flatnonzero((weights > 0).any(axis=1))
    if len(rows) == 0:
        return error
    pairs = np.stack([frame_owner(a.sent, frames), frame_owner(b.sent, frames)], axis=1)
    _, first, count = np.unique(pairs, axis=0, return_index=True, return_counts=True)
    pad = hb * block - height, wb * block - width
    cols = np.minimum(block, width - np.arange(wb) * block)
    share = count.astype(np.float32) / (3 * frames)
    for r in rows:
        y0, y1 = r * block, min((r + 1) * block, height)
        diff = np.subtract(a.decoded[first, y0:y1], b.decoded[first, y0:y1], dtype=np.int16)
        squared = np.square(diff, dtype=np.float32).sum(axis=3)  # [pairs, rows, W]
        per_pixel = np.pad(np.tensordot(share, squared, axes=1), ((0, 0), (0, pad[1])))
        sums = per_pixel.reshape(y1 - y0, wb, block).sum(axis=(0, 2))
        error[r] = sums / ((y1 - y0) * cols)
    return error


@dataclass
class InputGrad:
    """One knob's probe: the current value against one neighbour, everything else fixed."""

    knob: str
    value: int
    neighbour: int
    cheaper: bool
    """Whether the neighbour is the next cheaper value (else the next more expensive)."""
    accuracy_loss: float
    """Estimated accuracy lost on the cheaper of the two values (>= 0)."""
    bytes: int
    neighbour_bytes: int
    frames: int
    neighbour_frames: int

    @property
    def accuracy_change(self) -> float:
        """Estimated accuracy of the neighbour minus that of the current value."""
        return -self.accuracy_loss if self.cheaper else self.accuracy_loss


def neighbour(knob: Knob, value: int) -> tuple[int, bool] | None:
    """The value to probe against: the next cheaper one, at the cheap end the next dearer."""
    cheaper = knob.cheaper(value)
    if cheaper is not None:
        return cheaper, True
    i = knob.index(value)
    return (knob.values[i - 1], False) if i > 0 else None


def probe_knobs(
    segment: Segment, current: EncodedSegment, knobs: tuple[Knob, ...], dnn_grad: FeedbackMap
) -> tuple[list[InputGrad], Overhead]:
    """InputGrad for every knob with a neighbour: one real encode per knob, decoded only
    when the map marks something (an all-zero map puts no accuracy at stake)."""
    start = time.perf_counter()
    weights = dnn_grad.weights()
    salient = bool(weights.any())
    config = current.config
    probes: list[InputGrad] = []
    for knob in knobs:
        found = neighbour(knob, getattr(config, knob.name))
        if found is None:
            continue
        value, cheaper = found
        changed = config.with_knob(knob.name, value)
        other: Bitstream
        if salient:
            other = decoded = encode(segment, changed)
            error = salient_squared_error(decoded, current, weights, dnn_grad.block)
            loss = accuracy_at_stake(error, weights, dnn_grad.block)
        else:
            other, loss = compress(segment, changed), 0.0
        probes.append(
            InputGrad(
                knob.name,
                getattr(config, knob.name),
                value,
                cheaper,
                loss,
                current.num_bytes,
                other.num_bytes,
                len(current.sent),
                len(other.sent),
            )
        )
    return probes, Overhead(camera_encodes=len(probes), camera_seconds=time.perf_counter() - start)


class SignStep:
    """Step on one knob's position from the sign of its objective gradient alone (Rprop).

    The gradient's sign is what the estimate gets right most often; its size is noisy. Toward
    cheaper values the step, in list values, doubles while the sign holds (the cheap corner
    is reached in a few seconds however long the list); toward dearer values it is at most
    one list value a second, since bandwidth grows steeply toward the expensive end and
    every knob asks for more at once when accuracy drops. A flip halves the step (settling
    instead of oscillating); a second with no measurable change (gradient exactly 0) keeps
    the last direction.
    """

    def __init__(self, spacing: float, first: float = 1.0, grow: float = 2.0) -> None:
        self.spacing = spacing
        """Position distance between neighbouring list values."""
        self.first, self.grow = first, grow
        self.size = first
        """Current step in list values."""
        self.direction = 0.0

    def step(self, grad: float) -> float:
        """The change to apply to the position for this gradient."""
        sign = float(np.sign(grad)) or self.direction
        if self.direction and sign == self.direction:
            self.size = self.size * self.grow
        elif self.direction and sign:
            self.size = self.size / self.grow
        self.size = float(np.clip(self.size, self.first / 4, 1.0 if sign > 0 else 1 / self.spacing))
        self.direction = sign
        return sign * self.size * self.spacing


HYSTERESIS = 0.75
"""How far (in list values) a knob's position must move from its value's position before
the value changes: a step that flips back and forth (settling between two values) does not
make the stream jump between them every second."""


def settle(knob: Knob, value: int, x: float) -> int:
    """The value for position ``x``: ``value`` while ``x`` stays within :data:`HYSTERESIS`
    list values of it, else the nearest value to ``x``. Bandwidth grows steeply toward the
    expensive end, so a second spent at a dearer value by chance costs more than it saves."""
    if abs(x - knob.position(value)) * len(knob.values) < HYSTERESIS:
        return value
    return knob.value_at(x)


def floor_position(knob: Knob) -> float:
    """The lowest position the policy uses: the second-cheapest value's. The cheapest value
    is only ever a probe (as in the original method): an empty DNNGrad map at the cheapest
    configuration may mean the detector can no longer see arriving objects, and nothing
    would then bring the knob back."""
    return knob.position(knob.values[max(len(knob.values) - 2, 0)])


class GradientPolicy(Policy):
    """Gradient ascent on ``accuracy - lambda * resource`` over the QP, height and fps knobs.

    ``resource = bytes / reference_bytes + gpu_weight * frames / reference_frames``: the
    fraction of the reference configuration's bandwidth plus (weighted) its GPU frames.
    ``reference_bytes`` is the first second's size at the reference configuration (the
    policy starts there, x = 1 on every knob), so the camera needs no extra encode for it.

    With ``max_kbps`` the policy keeps the mean bandwidth near that budget: lambda (starting
    at ``lam``) is a dual variable, raised after every second above the budget and lowered
    after every second below it (:data:`BUDGET_RATE`).
    """

    wants_dnn_grad = True

    def __init__(
        self,
        context: PolicyContext,
        lam: float,
        gpu_weight: float = DEFAULT_GPU_WEIGHT,
        max_kbps: float | None = None,
    ) -> None:
        super().__init__()
        if not (math.isfinite(lam) and lam >= 0 and gpu_weight >= 0) or (
            max_kbps is not None and not (math.isfinite(max_kbps) and max_kbps > 0)
        ):
            raise OneAdaptError(
                f"invalid gradient-policy settings (lambda {lam}, gpu_weight "
                f"{gpu_weight}, max_kbps {max_kbps}).",
                "Use a finite lambda >= 0, gpu_weight >= 0 and a budget > 0 kbit/s.",
            )
        self.space = context.space
        self.lam, self.gpu_weight, self.max_kbps = lam, gpu_weight, max_kbps
        if max_kbps is not None and lam == 0:
            self.lam = 0.1  # a multiplicative dual update needs a positive start
        self.x = {k.name: 1.0 for k in self.space.knobs}
        self.values = {k.name: k.values[0] for k in self.space.knobs}
        self.steppers = {k.name: SignStep(1.0 / len(k.values)) for k in self.space.knobs}
        self.reference_bytes: int | None = None
        self.last_gradients: dict[str, float] = {}

    def current(self) -> Configuration:
        return Configuration(**self.values, preset=self.space.preset)

    def decide(self, second: int, segment: Segment) -> Configuration:
        return self.current()

    def resource(self, num_bytes: int, frames: int) -> float:
        assert self.reference_bytes is not None
        return resource(
            num_bytes, frames, self.reference_bytes, self.space.reference.fps, self.gpu_weight
        )

    def gradient(self, probe: InputGrad) -> float:
        """d(accuracy - lambda * resource)/dx by a finite difference over one list step."""
        knob = self.space.knob(probe.knob)
        dx = knob.position(probe.neighbour) - knob.position(probe.value)
        d_objective = probe.accuracy_change - self.lam * (
            self.resource(probe.neighbour_bytes, probe.neighbour_frames)
            - self.resource(probe.bytes, probe.frames)
        )
        return d_objective / dx

    def accuracy_per_resource(self, probe: InputGrad) -> float:
        """Estimated accuracy bought per unit of resource by the dearer of the probe's two
        values. When accuracy drops, every knob asks for more at once, yet one dearer knob
        usually recovers most of it and the bandwidth of several compounds steeply; so each
        second only the knob that buys accuracy cheapest moves up, while any number may move
        down. When that knob is already at its most expensive value, none moves up that
        second: what it cannot give, the other knobs buy only at a worse rate (letting the
        next-best knob step up instead cost 25% more bandwidth at 0.9 accuracy on the
        three-clip bench and 27% on ``scene:7``)."""
        change = abs(
            self.resource(probe.neighbour_bytes, probe.neighbour_frames)
            - self.resource(probe.bytes, probe.frames)
        )
        return probe.accuracy_loss / max(change, 1e-9)

    def observe(self, feedback: Feedback) -> None:
        if feedback.dnn_grad is None:
            raise OneAdaptError(
                "the gradient policy received no DNNGrad map.",
                "Run it through run_policy, which computes DNNGrad when a policy wants it.",
            )
        if self.reference_bytes is None:
            self.reference_bytes = self._reference_bytes(feedback)
        if self.max_kbps is not None:
            excess = math.log(max(feedback.bytes * 8 / 1000, 1e-3) / self.max_kbps)
            self.lam *= math.exp(float(np.clip(BUDGET_RATE * excess, -1.0, 1.0)))
        probes, overhead = probe_knobs(
            feedback.segment, feedback.encoded, self.space.knobs, feedback.dnn_grad
        )
        self.charge(overhead)
        self.last_gradients = {p.knob: self.gradient(p) for p in probes}
        dearer = [p for p in probes if self.last_gradients[p.knob] > 0]
        best_buy = max(dearer, key=self.accuracy_per_resource, default=None)
        for probe in probes:
            g = self.last_gradients[probe.knob]
            if g > 0 and probe is not best_buy:
                continue  # one knob a second may ask for more (see accuracy_per_resource)
            knob = self.space.knob(probe.knob)
            x = self.x[probe.knob] + self.steppers[probe.knob].step(g)
            self.x[probe.knob] = float(np.clip(x, floor_position(knob), 1.0))
            self.values[probe.knob] = settle(knob, self.values[probe.knob], self.x[probe.knob])

    def _reference_bytes(self, feedback: Feedback) -> int:
        if feedback.config == self.space.reference:
            return feedback.bytes
        start = time.perf_counter()
        size = compress(feedback.segment, self.space.reference).num_bytes
        self.charge(Overhead(camera_encodes=1, camera_seconds=time.perf_counter() - start))
        return max(size, 1)
