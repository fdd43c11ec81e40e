"""OneAdapt's camera side: InputGrad by re-encodes, AccGrad = InputGrad x DNNGrad, and a
step on every knob each second (method.md section 3).

For each picture knob (QP, resolution) the camera re-encodes the raw segment at both
neighbouring values, decodes them, and measures per 16x16 block ``e``, the mean squared
difference between a neighbour's decoded frames and the current ones: how much the step
changes the DNN input. Probing both sides matters: accuracy flattens toward the expensive
end, so the slope toward the cheaper neighbour over-states what the dearer one buys, and a
one-sided step keeps climbing past the best value (measured on the benches below: the
one-sided policy, started mid-list, either stalls below 0.95 or overspends).

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

One second's estimate is noisy: a second's accuracy hangs on the few objects near the
detector's threshold, and which configuration is best in one second says little about the
next (``benchmarks/adaptation_headroom.py`` on per-second profiles of every configuration of
the three README clips: on their mean curve a policy that each second picked what was best
over the last second, knowing every configuration's exact accuracy, would need 43.9 kbit/s
at 0.9 accuracy, over the last 5 or 10 seconds 39.7 or 36.8, where the best-fixed baseline
needs 31.6). So the step acts on a running estimate of each step's accuracy change
(:class:`StepEstimates`), not on the last second's alone, fed from whichever side of the
step the knob stands on.

The knobs that select which frames are sent (:attr:`Stage.selects_frames`: the frame rate
and the frame-filter thresholds) are the exception: what they cost is outputs that are some
frames old, which the pixel estimate cannot see (:mod:`oneadapt.adapt.staleness`). Their
estimate is the server's measured loss of an output per age in frames, read at the frames'
ages under each value (:func:`staleness_loss`): the camera knows exactly which frames each
value sends (a frame filter's features are computed on the raw frames it holds), so the
estimate holds for every value of the list at once, and these knobs take the closed-form
step of method.md section 4: each second the value with the best estimated objective among
the current one and its neighbours (:func:`temporal_options`, whose encodes are only for the
bytes). Each value's loss is the largest of recent seconds, fading (:class:`RecentPeaks`): a
second in which nothing moves measures no loss at any rate, and the first second of an
arrival at a low rate is lost (such seconds scored 0.2-0.6 on the Intel clips under
DeepLab). Searching the whole list instead of the neighbours (method.md's frame filters
search their small grid) was measured and dropped: with the peaks and every picture knob
free to move up, it cost the two Intel clips under DeepLab 129.0 against 116.9 kbit/s at
0.9, and the Reducto bench 39.8 against 36.1. For a frame filter the curve over-states the
loss: it is measured between sent frames, and the filter leaves out exactly the frames that
changed least.
The per-macroblock quality knob (:mod:`oneadapt.adapt.roi_step`) also takes a closed-form
step; its blocks are the ones the last DNNGrad map marks most (:meth:`GradientPolicy.saliency`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from oneadapt.adapt.dual import DualPrice
from oneadapt.adapt.inputgrad import salient_squared_error
from oneadapt.adapt.objective import DEFAULT_GPU_WEIGHT, resource
from oneadapt.adapt.policy import Feedback, Overhead, Policy, PolicyContext
from oneadapt.adapt.rate_cap import WindowBudget, fit_under_cap
from oneadapt.adapt.roi_step import ROIOption, roi_options
from oneadapt.errors import OneAdaptError
from oneadapt.knobs import Configuration, Knob, Stage
from oneadapt.media.codec import Bitstream, EncodedSegment, frame_owner
from oneadapt.media.modality import Modality, modality
from oneadapt.media.sources import Segment
from oneadapt.protocol.feedback import FeedbackMap, accuracy_at_stake


def staleness_loss(curve: Sequence[float], sent: np.ndarray, frames: int) -> float:
    """Estimated accuracy lost to reused outputs when only ``sent`` of a segment's ``frames``
    are inferred, on the server's measured ``curve`` (loss of an output at ages 1..len in
    frames; NaN where unmeasured): the mean over frames of the loss at their age, linear
    between measured ages (0 at age 0), proportional beyond the last one, at most 1."""
    sent = np.asarray(sent, dtype=int)
    ages = (np.arange(frames) - sent[frame_owner(sent, frames)]).astype(float)
    values = np.concatenate([[0.0], np.asarray(curve, dtype=float)])
    known = np.flatnonzero(~np.isnan(values))
    last = int(known[-1])
    inside = np.interp(ages, known, values[known])
    beyond = values[last] * ages / last if last > 0 else np.zeros_like(ages)
    return float(np.minimum(1.0, np.where(ages > last, beyond, inside)).mean())


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


def probe_pairs(knob: Knob, value: int, both: bool) -> list[tuple[int, bool]]:
    """(neighbour, cheaper) pairs to probe: :func:`neighbour`, and with ``both`` also the next
    dearer value where the list has one."""
    first = neighbour(knob, value)
    pairs = [first] if first is not None else []
    i = knob.index(value)
    if both and first is not None and first[1] and i > 0:
        pairs.append((knob.values[i - 1], False))
    return pairs


def probe_knobs(
    segment: Segment,
    current: EncodedSegment,
    knobs: tuple[Knob, ...],
    dnn_grad: FeedbackMap,
    both: bool = False,
    saliency: np.ndarray | None = None,
    sensor: Modality | None = None,
) -> tuple[list[InputGrad], Overhead]:
    """InputGrad for every knob with a neighbour (with ``both``, each neighbour): one real
    encode per probe by the ``sensor``'s codec (default video), decoded only when the map
    marks something (an all-zero map puts no accuracy at stake), with the ``saliency`` that
    ``current`` was coded with. A knob that selects frames is skipped until the server has
    measured a staleness curve."""
    sensor = sensor or modality("video")
    compress, encode = sensor.compress, sensor.encode
    start = time.perf_counter()
    weights = dnn_grad.weights()
    salient = bool(weights.any())
    config = current.config
    frames = len(current.decoded)
    probes: list[InputGrad] = []
    wanted = [
        (knob, value, cheaper)
        for knob in knobs
        if not knob.stage.selects_frames or dnn_grad.staleness is not None
        for value, cheaper in probe_pairs(knob, config[knob.name], both)
    ]
    for knob, value, cheaper in wanted:
        temporal = knob.stage.selects_frames
        changed = config.with_knob(knob.name, value)
        other: Bitstream
        if temporal:
            other = compress(segment, changed, saliency=saliency)
            curve = dnn_grad.staleness or ()
            loss = abs(
                staleness_loss(curve, other.sent, frames)
                - staleness_loss(curve, current.sent, frames)
            )
        elif salient:
            other = decoded = encode(segment, changed, saliency=saliency)
            error = salient_squared_error(decoded, current, weights, dnn_grad.block, sensor)
            loss = accuracy_at_stake(error, weights, dnn_grad.block, dnn_grad.block_rows)
        else:
            other, loss = compress(segment, changed, saliency=saliency), 0.0
        probes.append(
            InputGrad(
                knob.name,
                config[knob.name],
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


@dataclass
class TemporalOption:
    """One value of a knob that selects frames, all other knobs as now: its bytes, frames
    inferred and estimated accuracy lost to stale outputs."""

    value: int
    bytes: int
    frames: int
    loss: float


def temporal_options(
    segment: Segment,
    current: EncodedSegment,
    knob: Knob,
    curve: Sequence[float],
    saliency: np.ndarray | None = None,
    sensor: Modality | None = None,
) -> tuple[list[TemporalOption], Overhead]:
    """The current value of ``knob`` (one that selects frames) and its neighbours in the list,
    on the measured staleness ``curve``: one compress per neighbour (bytes only: nothing is
    decoded; with the ``saliency`` ``current`` was coded with), so a step moves at most one
    value a second and costs the camera at most two encodes; ``sensor`` codes (default
    video)."""
    compress = (sensor or modality("video")).compress
    start = time.perf_counter()
    frames = len(current.decoded)
    i = knob.index(current.config[knob.name])
    options = []
    lowest = floor_position(knob)
    for value in knob.values[max(i - 1, 0) : i + 2]:
        if knob.position(value) < lowest:
            continue
        here = current.config.with_knob(knob.name, value)
        stream: Bitstream = (
            current if here == current.config else compress(segment, here, saliency=saliency)
        )
        loss = staleness_loss(curve, stream.sent, frames)
        options.append(TemporalOption(value, stream.num_bytes, len(stream.sent), loss))
    spent = Overhead(camera_encodes=len(options) - 1, camera_seconds=time.perf_counter() - start)
    return options, spent


RUNNING_WEIGHT = 0.3
"""Weight of the newest second in a step's running estimate (:class:`StepEstimates`): older
seconds fade by 0.7 a second, so a content change shows within two or three seconds, a
fraction of the 10-30 s that content regimes last, while one second's noise moves the
estimate by under a third of its size."""


class StepEstimates:
    """The running estimate of each knob step's accuracy change: per knob and pair of
    neighbouring values, an exponential average of the seconds' estimates of the accuracy the
    cheaper value loses against the dearer one.

    Both sides feed the same pair: the estimate made at the dearer value (what the step down
    would lose) and the one made at the cheaper value (what the step up would buy). Each is a
    first-order estimate about its own end of the step, so averaging them also follows the
    accuracy curve's bend between the two values (the trapezoid rule); from one end alone
    a policy stepping down on a small estimate from above and back up on a large one from
    below would oscillate between the two values every second.
    """

    def __init__(self, weight: float = RUNNING_WEIGHT) -> None:
        self.weight = weight
        self.losses: dict[tuple[str, int, int], float] = {}

    def update(self, probe: InputGrad) -> InputGrad:
        """Fold this second's ``probe`` into its step's estimate; the probe with that estimate."""
        cheap, dear = (
            (probe.neighbour, probe.value) if probe.cheaper else (probe.value, probe.neighbour)
        )
        key = (probe.knob, cheap, dear)
        old = self.losses.get(key)
        loss = probe.accuracy_loss
        if old is not None:
            loss = self.weight * loss + (1 - self.weight) * old
        self.losses[key] = loss
        return replace(probe, accuracy_loss=loss)


class RecentPeaks:
    """The largest estimated loss of each value over recent seconds: this second's, or the
    held one faded by ``1 - weight`` a second, whichever is larger (the weight of
    :class:`StepEstimates`).

    The staleness curve measures the loss of reused outputs only while something moves: in a
    second of an empty scene every frame rate loses nothing, and the rate drops to its
    cheapest value; the first second of the next arrival is then mostly lost. A loss seen a
    few seconds ago keeps the rate up while it fades (the Intel car clip under DeepLab, 30 s,
    lambda 0.01: 1.000 accuracy from the ninth second on, where without the peaks it lost
    0.4-0.8 of the first second of two later arrivals; both runs with every picture knob free
    to move up and the frame rate searching its whole list, as measured then).
    """

    def __init__(self, weight: float = RUNNING_WEIGHT) -> None:
        self.keep = 1.0 - weight
        self.held: dict[tuple[str, float], float] = {}

    def update(self, knob: str, value: float, loss: float) -> float:
        """This second's ``loss`` of ``knob`` at ``value`` folded in; the peak it holds now."""
        peak = max(loss, self.keep * self.held.get((knob, value), 0.0))
        self.held[(knob, value)] = peak
        return peak


class SignStep:
    """Step on one knob's position from the sign of its objective gradient alone (Rprop).

    The gradient's sign is what the estimate gets right most often; its size is noisy. Toward
    cheaper values the step, in list values, doubles while the sign holds (the cheap corner
    is reached in a few seconds however long the list); toward dearer values it is at most
    one list value a second, since bandwidth grows steeply toward the expensive end and
    every knob asks for more at once when accuracy drops. A flip halves the step (settling
    instead of oscillating).
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
        sign = float(np.sign(grad))
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
    """The lowest position the policy uses. For a knob that degrades the picture, the
    second-cheapest value's: its cheapest value is only ever a probe (as in the original
    method), since an empty DNNGrad map at the cheapest picture may mean the detector can no
    longer see arriving objects, and nothing would then bring the knob back. A knob that
    selects frames blinds nothing (every sent frame keeps its picture, and a frame
    filter sends the frames where something arrives), so it may reach its cheapest; so may a
    knob that declares it does not blind the DNN (:attr:`Knob.may_blind`: the audio sample
    rate, whose two values would otherwise leave it nowhere to go)."""
    if knob.stage.selects_frames or not knob.may_blind:
        return knob.position(knob.values[-1])
    return knob.position(knob.values[max(len(knob.values) - 2, 0)])


def start_value(knob: Knob) -> int:
    """Where the policy starts: the middle of the list (between two, the dearer). Starting at
    the reference spends the stream's dearest second before any feedback exists (on a 30-s
    clip, a sixth of the mean bandwidth at 720p); the middle is at most half a list from
    any operating point, and the sign steps double from there.

    Under a bandwidth budget, or a cap on every second (a fleet member), the policy starts
    at the reference instead, and the camera's cap (:mod:`oneadapt.adapt.rate_cap`) lowers
    that first second to what the budget affords: from the middle, one dearer value a
    second took 6 s to reach a 240 kbit/s budget on ``scene:7`` and left the 30-s mean 14%
    under it, and a fleet member that joined on a busy clip spent its first seconds below
    what its detector can see (the bikes montage in ``benchmarks/fleet_budget.py``)."""
    return knob.values[(len(knob.values) - 1) // 2]


class GradientPolicy(Policy):
    """Ascent on ``accuracy - lambda * resource`` over the QP, height and fps knobs.

    Each second a picture knob moves to its cheaper neighbour when that is estimated better,
    else to its dearer neighbour when that is, else holds; the step size follows
    :class:`SignStep`, dearer by one value a second at most. Every picture knob whose dearer
    value is estimated better moves up at once: moving only the one whose dearer step bought
    accuracy cheapest took five seconds to bring DeepLab from the floor to the reference when
    a person arrived on the Intel person clip (lambda 0.01, 30 s: 0.851 accuracy against
    0.920, both with the frame rate then searching its whole list); it costs the two short
    clips of the README bench (1.93x / 2.48x best-fixed's kbit/s at 0.85 / 0.9 with the held
    staleness peaks, against 1.50x / 1.93x before). Each knob that selects
    frames (frame rate, frame filters) takes its closed-form step (:meth:`choose_temporal`),
    one after the other, each against the second just sent.

    ``resource = bytes / reference_bytes + gpu_weight * frames / reference_frames``: the
    fraction of the reference configuration's bandwidth plus (weighted) its GPU frames.
    ``reference_bytes`` is the first second's size at the reference configuration (one extra
    encode: the policy starts in the middle of every list, :func:`start_value`).

    With ``max_kbps`` the policy keeps the mean bandwidth near that budget: lambda (starting
    at ``lam``) is a dual variable, raised after every second above the budget and lowered
    after every second below it (:class:`oneadapt.adapt.dual.DualPrice`), and no window of
    seconds exceeds the budget: before a second is sent, the camera steps knobs cheaper
    until it fits what the window has left (:mod:`oneadapt.adapt.rate_cap`). A fleet's
    coordinator may set such a cap from outside (``cap_kbps``, for the next second); with
    ``capped`` (every second will have one) the policy starts at the reference as under a
    budget.
    """

    wants_dnn_grad = True

    def __init__(
        self,
        context: PolicyContext,
        lam: float,
        gpu_weight: float = DEFAULT_GPU_WEIGHT,
        max_kbps: float | None = None,
        capped: bool = False,
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
        self.sensor = context.sensor
        self.lam, self.gpu_weight, self.max_kbps = lam, gpu_weight, max_kbps
        self.dual: DualPrice | None = None
        if max_kbps is not None:
            self.dual = DualPrice(lam if lam > 0 else 0.1)  # a dual price starts positive
            self.lam = self.dual.value
        at_reference = max_kbps is not None or capped  # the cap lowers it to what it affords
        self.values = {
            k.name: self.space.reference[k.name] if at_reference else start_value(k)
            for k in self.space.knobs
        }
        self.x = {k.name: k.position(self.values[k.name]) for k in self.space.knobs}
        self.steppers = {k.name: SignStep(1.0 / len(k.values)) for k in self.space.knobs}
        self.reference_bytes: int | None = None
        self.reference_frames = int(self.space.reference.get("fps", 1))
        """Items the reference configuration sends per second (the unit of the GPU term): its
        frame rate where the space has one, else measured with ``reference_bytes``."""
        self.last_gradients: dict[str, float] = {}
        self.map: np.ndarray | None = None
        """The last DNNGrad map's weights: the saliency the camera codes regions with."""
        self.window: WindowBudget | None = None
        """The seconds spent under ``max_kbps``, for the next second's cap."""
        self.cap_kbps: float | None = None
        """A cap on the next second set from outside (a fleet's coordinator)."""
        self.estimates = StepEstimates()
        self.temporal_peaks = RecentPeaks()

    def current(self) -> Configuration:
        return Configuration(self.values)

    def decide(self, second: int, segment: Segment) -> Configuration:
        caps = [] if self.cap_kbps is None else [self.cap_kbps]
        if self.max_kbps is not None:
            if self.window is None:
                self.window = WindowBudget(self.max_kbps)
            self.window.budget_kbps = self.max_kbps  # a fleet's share may change
            caps.append(self.window.cap())
        if caps:
            lowest = {k.name: k.value_at(floor_position(k)) for k in self.space.knobs}
            config, overhead = fit_under_cap(
                segment,
                self.current(),
                self.space.knobs,
                lowest,
                min(caps),
                self.map,
                None if self.window is None else self.stretched_cap,
            )
            self.charge(overhead)
            for knob in self.space.knobs:  # the step goes on from what was sent
                if config[knob.name] != self.values[knob.name]:
                    self.values[knob.name] = config[knob.name]
                    self.x[knob.name] = knob.position(config[knob.name])
        return self.current()

    def stretched_cap(self, rest: float) -> float:
        """The next second's cap when the seconds after it spend ``rest`` kbit/s each (the
        budget's windows, :meth:`WindowBudget.cap`, and any cap set from outside)."""
        assert self.window is not None
        outside = math.inf if self.cap_kbps is None else self.cap_kbps
        return min(self.window.cap(rest), outside)

    def saliency(self) -> np.ndarray | None:
        return self.map

    def resource(self, num_bytes: int, frames: int) -> float:
        assert self.reference_bytes is not None
        return resource(
            num_bytes, frames, self.reference_bytes, self.reference_frames, self.gpu_weight
        )

    def gain(self, probe: InputGrad) -> float:
        """Estimated objective (``accuracy - lambda * resource``) of the probe's neighbour
        minus that of the current value."""
        return probe.accuracy_change - self.lam * (
            self.resource(probe.neighbour_bytes, probe.neighbour_frames)
            - self.resource(probe.bytes, probe.frames)
        )

    def choose_temporal(self, feedback: Feedback, knob: Knob, curve: Sequence[float]) -> None:
        """The closed-form step of a knob that selects frames: the value whose estimated
        objective (accuracy lost to stale outputs, its recent peak; resources of its own
        encode) is best."""
        options, overhead = temporal_options(
            feedback.segment, feedback.encoded, knob, curve, self.map, self.sensor
        )
        self.charge(overhead)
        peaks = [
            replace(o, loss=self.temporal_peaks.update(knob.name, o.value, o.loss)) for o in options
        ]
        self.take_best(knob, peaks)

    def choose_roi(self, feedback: Feedback, knob: Knob, dnn_grad: FeedbackMap) -> None:
        """The closed-form step of the region knob: the share whose estimated objective
        (accuracy lost in the blocks it codes coarser, resources of its own encode) is best,
        with the blocks of the map just received."""
        lowest = floor_position(knob)
        options, overhead = roi_options(feedback.segment, feedback.encoded, knob, dnn_grad, lowest)
        self.charge(overhead)
        self.take_best(knob, options)

    def take_best(self, knob: Knob, options: Sequence[TemporalOption | ROIOption]) -> None:
        """Move ``knob`` to the option with the best estimated objective."""
        best = max(options, key=lambda o: -o.loss - self.lam * self.resource(o.bytes, o.frames))
        self.values[knob.name] = best.value
        self.x[knob.name] = knob.position(best.value)

    def observe(self, feedback: Feedback) -> None:
        if feedback.dnn_grad is None:
            raise OneAdaptError(
                "the gradient policy received no DNNGrad map.",
                "Run it through run_policy, which computes DNNGrad when a policy wants it.",
            )
        self.measure_reference(feedback)
        if self.max_kbps is not None:
            if self.dual is None:  # a budget set after construction (a fleet's share)
                self.dual = DualPrice(self.lam if self.lam > 0 else 0.1)
            self.lam = self.dual.update(feedback.bytes * 8 / 1000, self.max_kbps)
            if self.window is not None:
                self.window.record(feedback.bytes * 8 / 1000)
        picture = tuple(
            k for k in self.space.knobs if not k.stage.selects_frames and k.stage is not Stage.ROI
        )
        probes, overhead = probe_knobs(
            feedback.segment,
            feedback.encoded,
            picture,
            feedback.dnn_grad,
            True,
            self.map,
            self.sensor,
        )
        self.charge(overhead)
        probes = [self.estimates.update(p) for p in probes]
        self.last_gradients = {}
        for knob in picture:
            better = [p for p in probes if p.knob == knob.name and self.gain(p) > 0]
            if not better:
                continue  # neither neighbour is estimated better: hold
            move = better[0]  # the cheaper neighbour is probed first
            dx = knob.position(move.neighbour) - knob.position(move.value)
            g = self.gain(move) / dx
            self.last_gradients[knob.name] = g
            x = self.x[knob.name] + self.steppers[knob.name].step(g)
            x = float(np.clip(x, floor_position(knob), 1.0))
            old = knob.index(self.values[knob.name])
            new = max(knob.index(settle(knob, self.values[knob.name], x)), old - 1)
            self.values[knob.name] = knob.values[new]  # dearer by one value a second at most
            self.x[knob.name] = x if new == old else knob.position(knob.values[new])
        if feedback.dnn_grad.staleness is not None:
            for knob in self.space.knobs:
                if knob.stage.selects_frames:
                    self.choose_temporal(feedback, knob, feedback.dnn_grad.staleness)
        for knob in self.space.knobs:
            if knob.stage is Stage.ROI:
                self.choose_roi(feedback, knob, feedback.dnn_grad)
        self.map = feedback.dnn_grad.weights()

    def measure_reference(self, feedback: Feedback) -> int:
        """The reference configuration's bytes on the first second (the unit of the
        bandwidth term), measured once: from the second itself when it was sent at the
        reference, else by one extra encode; with them the items it sends (the unit of the
        GPU term: the reference frame rate where the space has one). Subclasses that need
        the unit before :meth:`observe` (a fleet member converting a price to lambda) call
        it first."""
        if self.reference_bytes is None:
            stream: Bitstream = feedback.encoded
            if feedback.config == self.space.reference:
                self.reference_bytes = feedback.bytes
            else:
                start = time.perf_counter()
                stream = self.sensor.compress(feedback.segment, self.space.reference)
                spent = time.perf_counter() - start
                self.charge(Overhead(camera_encodes=1, camera_seconds=spent))
                self.reference_bytes = max(stream.num_bytes, 1)
            if "fps" not in self.space.reference:
                self.reference_frames = len(stream.sent)
        return self.reference_bytes
