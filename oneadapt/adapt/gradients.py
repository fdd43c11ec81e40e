"""DNNGrad: how much each region of the DNN input matters to accuracy, computed on the server
with one backward pass per segment and sent back to the camera as a small per-block map.

The server back-propagates the task's differentiable accuracy proxy (for detection, a soft
count of confident detections) to the decoded input pixels it received, reduces
``|grad|`` summed over colour channels to one mean per ``block`` x ``block`` block, smooths it
over neighbouring blocks and over the previous second (objects move between the frame
that was back-propagated and the frames the camera will weight with it), and quantizes it
to 8 bits. The same map serves every knob (DNNGrad reuse).

The map is used **raw** (as the original method does), so its size says how much accuracy
is at stake: confident detections and empty frames give almost no gradient, detections near
the score threshold a large one. It is divided by the task's :meth:`~oneadapt.tasks.base.
Task.proxy_units` on the back-propagated items' outputs (detection: ``2 * max(objects, 1)``,
since losing one of N matched objects costs about ``1 / (2N)`` of F1), which turns proxy
units into accuracy. The camera's estimate (:func:`accuracy_at_stake`) then reads an
accuracy change straight off the map.

"Pixels" are those of the model's input tensor (:meth:`~oneadapt.models.base.Model.
input_tensor`): RGB frames for video, the waveform (one row) for audio, the BEV grid for
LiDAR.

That first-order scale is right within a factor of about 2 for YOLOX on real clips
(``oneadapt gradcheck``'s ``scale_ratio``). Calibrating it on the stream (re-encoding the
back-propagated frame coarser and inferring it once per pass) was tried and dropped: it
moved the motorway's ratio from 1.4 to 3.6 and did not improve the benchmark.

The message itself lives in :mod:`oneadapt.protocol.feedback` (numpy only, for the camera
side).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic

import numpy as np
import torch

from oneadapt.adapt.staleness import StalenessMeter
from oneadapt.errors import OneAdaptError
from oneadapt.media.codec import EncodedSegment
from oneadapt.models.base import Model
from oneadapt.protocol.feedback import FeedbackMap, block_mean
from oneadapt.tasks.base import OutputT, Task


@dataclass(frozen=True)
class DNNGradSettings:
    """How DNNGrad is computed and compressed (defaults: the reference implementation's)."""

    block: int = 16
    """Block size in pixels (16 = an H.264 macroblock)."""
    kernel: int = 3
    """Spatial smoothing: box filter of ``kernel`` x ``kernel`` blocks (1 = none)."""
    ema: float = 0.5
    """Weight of the previous second's map in the temporal average (0 = none)."""
    frames: int = 1
    """Decoded frames back-propagated per segment: the last sent one, or that many evenly
    spaced sent frames ending with it."""
    max_bytes: int = 2048
    """Budget for one feedback message; coarser levels are used when a map would exceed it."""
    interval: int = 1
    """Seconds between DNNGrad passes: in between, the camera keeps using the last map (no
    backward pass, no message), which divides the server's extra work by ``interval``. The
    reference implementation uses 1, and so does the default: with the staleness curve
    riding on the map, a map every second is what lets the frame rate follow the content
    (``scene:7`` at 0.9 accuracy: 76.4 kbit/s against 96.8 with 2; three clips 32.5 against
    31.9), for 0.35x instead of 0.33x the profiling baselines' DNN work."""

    def __post_init__(self) -> None:
        if (
            self.block < 1
            or self.kernel < 1
            or self.kernel % 2 == 0
            or self.frames < 1
            or self.interval < 1
        ):
            raise OneAdaptError(
                f"invalid DNNGrad settings {self}.",
                "Use block >= 1, an odd kernel >= 1, frames >= 1 and interval >= 1.",
            )
        if not 0.0 <= self.ema < 1.0:
            raise OneAdaptError(f"EMA weight {self.ema} is outside [0, 1).", "Use 0 <= ema < 1.")


def box_smooth(blocks: np.ndarray, kernel: int) -> np.ndarray:
    """Mean over each block's ``kernel`` x ``kernel`` neighbourhood (clipped at the edges),
    rescaled to the input's root-sum-square: smoothing spreads the map to where objects
    move next, and the estimate (a root-sum-square over blocks) keeps its size."""
    if kernel == 1:
        return blocks
    r = kernel // 2
    padded = np.pad(blocks, r)
    ones = np.pad(np.ones_like(blocks), r)
    h, w = blocks.shape
    total = np.zeros_like(blocks)
    count = np.zeros_like(blocks)
    for dy in range(kernel):
        for dx in range(kernel):
            total += padded[dy : dy + h, dx : dx + w]
            count += ones[dy : dy + h, dx : dx + w]
    smooth = total / count
    energy = float(np.sqrt((smooth * smooth).sum()))
    return smooth * (float(np.sqrt((blocks * blocks).sum())) / energy) if energy > 0 else smooth


@dataclass
class Backprop(Generic[OutputT]):
    """One DNNGrad pass over some items: the input-gradient magnitudes, and the outputs of
    the forward pass, which serve as the server's inference of those items."""

    grad: np.ndarray
    """|d proxy / d input| summed over channels, averaged over the items [H, W]."""
    units: float
    """The task's proxy units per unit of accuracy on these outputs (:meth:`Task.proxy_units`)."""
    detections: list[OutputT]
    """The items' outputs."""
    forward_seconds: float
    backward_seconds: float


def pixel_grad(model: Model[OutputT], task: Task[OutputT], items: Sequence[np.ndarray]) -> Backprop:
    """One forward and one backward pass over decoded ``items`` (frames [N, H, W, 3], audio,
    scans). The gradient is zero everywhere when the proxy does not depend on the input
    (nothing of interest detected)."""
    x = model.input_tensor(items).requires_grad_(True)
    with torch.enable_grad():
        start = time.perf_counter()
        outputs = model.forward(x)
        forward_seconds = time.perf_counter() - start
        proxy = sum((task.proxy(o) for o in outputs), torch.zeros(()))
        detections = [o.detach() for o in outputs]
        units = task.proxy_units(detections)
        if not proxy.requires_grad:
            zero = np.zeros(x.shape[-2:], np.float32)
            return Backprop(zero, units, detections, forward_seconds, 0.0)
        # autograd.grad (not backward) skips the weight gradients nobody needs.
        (grad,) = torch.autograd.grad(proxy, x)
    backward_seconds = time.perf_counter() - start - forward_seconds
    grad = grad.abs().sum(dim=1).mean(dim=0).numpy().astype(np.float32)
    return Backprop(
        np.nan_to_num(grad, nan=0.0, posinf=0.0),
        units,
        detections,
        forward_seconds,
        backward_seconds,
    )


def backprop_indices(sent: np.ndarray, frames: int) -> np.ndarray:
    """Which sent frames to back-propagate: ``frames`` of them, evenly spaced, ending with the
    last (the freshest content, the one the camera's next decision is closest to)."""
    picks = np.rint(np.linspace(len(sent) - 1, 0, min(frames, len(sent)))).astype(int)
    return np.unique(sent[picks])


class DNNGradServer:
    """Server-side DNNGrad for one stream (it keeps the previous second's map for the EMA).

    The forward pass of DNNGrad is also the server's inference of the back-propagated
    frames (:attr:`last_inferred`), so the extra server work is the backward pass alone.
    The server's outputs on every segment (:meth:`record`) feed the staleness curve that
    each new map carries for the frame-rate knob (:mod:`oneadapt.adapt.staleness`).
    """

    def __init__(
        self, model: Model[OutputT], task: Task[OutputT], settings: DNNGradSettings | None = None
    ) -> None:
        self.model = model
        self.task = task
        self.settings = settings or DNNGradSettings()
        self._previous: np.ndarray | None = None
        self.last_passes = 0
        self.last_backward_seconds = 0.0
        """Backward passes and their seconds (the forward excluded) behind the latest map."""
        self.last_inferred: dict[int, tuple[OutputT, float]] = {}
        """Per back-propagated item (index into the decoded segment): its output from the
        forward pass and that pass's seconds per item."""
        self._message: FeedbackMap | None = None
        self._staleness: StalenessMeter | None = None
        self._stale_curve: tuple[float, ...] | None = None

    @property
    def message(self) -> FeedbackMap | None:
        """The latest map, with the staleness curve measured up to the last recorded second."""
        return self._message

    def record(self, second: int, encoded: EncodedSegment, outputs: list[OutputT]) -> None:
        """The server's output for every frame of a segment it inferred (after
        :meth:`feedback`, which may have supplied some of them). On a second whose map was
        just computed, the map's staleness curve then includes this second's pairs too, so
        the camera's frame-rate step has a curve from the first second on."""
        if self._staleness is None:  # ages up to a segment: even 1 fps makes pairs
            self._staleness = StalenessMeter(self.task, len(outputs))
        self._staleness.observe(second, encoded.sent, len(outputs), outputs)
        if self._message is not None and self._message.second == second:
            curve = self._staleness.take()
            if curve is not None:
                self._message = self._message.with_staleness(curve)
                self._stale_curve = self._message.staleness

    def feedback(self, second: int, encoded: EncodedSegment) -> FeedbackMap:
        """The compact map for the segment the server just received and decoded; between
        passes (``settings.interval``) the last map, which the camera already holds
        (``last_passes`` is then 0 and nothing is sent). A second before the last map's (the
        stream restarted) gets a pass of its own."""
        s = self.settings
        if self._message is not None and 0 <= second - self._message.second < s.interval:
            self.last_passes, self.last_backward_seconds, self.last_inferred = 0, 0.0, {}
            return self._message
        picks = backprop_indices(encoded.sent, s.frames)
        result = pixel_grad(self.model, self.task, [encoded.decoded[i] for i in picks])
        values = box_smooth(block_mean(result.grad, s.block), s.kernel)
        values /= result.units
        if self._previous is not None and self._previous.shape == values.shape and s.ema > 0:
            values = (1.0 - s.ema) * values + s.ema * self._previous
        self._previous = values
        self.last_passes = len(picks)
        self.last_backward_seconds = result.backward_seconds
        per_frame = result.forward_seconds / len(picks)
        self.last_inferred = {
            int(i): (d, per_frame) for i, d in zip(picks, result.detections, strict=True)
        }
        self._message = FeedbackMap.quantize(
            second, s.block, result.grad.shape, values, s.max_bytes, self._stale_curve
        )
        return self._message
