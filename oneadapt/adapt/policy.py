"""The camera-side policy interface: every adaptation method (gradient ascent, each baseline)
decides one :class:`Configuration` per second and learns from what comes back.

All methods run through the same loop (:func:`oneadapt.evaluate.run.run_policy`), so their
accuracy and resources are measured identically; each policy reports the extra work it
caused itself (:class:`Overhead`) so that adaptation cost is charged to the method.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

import numpy as np

from oneadapt.knobs import ConfigSpace, Configuration
from oneadapt.media.codec import EncodedSegment
from oneadapt.media.modality import Modality, modality
from oneadapt.media.sources import Segment
from oneadapt.protocol.feedback import FeedbackMap

if TYPE_CHECKING:  # server-side types: the camera's policies must not import torch
    from oneadapt.inference_cache import Detector
    from oneadapt.tasks.base import Task
    from oneadapt.tasks.detection import Detections


@dataclass
class Overhead:
    """Adaptation work beyond streaming and inferring the chosen configuration."""

    camera_encodes: int = 0
    """Extra encodes of the raw segment on the camera (InputGrad, profiling)."""
    camera_seconds: float = 0.0
    """Camera CPU seconds of that work (encode, decode, distortion)."""
    backward_passes: int = 0
    """Server backward passes for DNNGrad (their forward pass is the frame's inference)."""
    backward_seconds: float = 0.0
    profiling_inferences: int = 0
    """Server inferences of configurations that were not streamed (profiling baselines)."""
    profiling_seconds: float = 0.0

    def __iadd__(self, other: Overhead) -> Overhead:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self


@dataclass
class Feedback:
    """What the camera-side policy has after one second has been streamed and analysed."""

    second: int
    config: Configuration
    """The configuration used for this second."""
    segment: Segment
    """The raw segment, still held by the camera."""
    encoded: EncodedSegment
    """What the camera sent (its bytes and the decoded frames it can reproduce itself)."""
    dnn_grad: FeedbackMap | None
    """The server's compact DNNGrad map; None unless the policy wants one."""

    @property
    def bytes(self) -> int:
        return self.encoded.num_bytes


@dataclass
class SecondPass:
    """A second round on the same second after the server answered the first stream (DDS
    re-sends the regions that answer is unsure of): what it added to the stream and to the
    server's work, and the detections that replace the first answer."""

    detections: list[Detections]
    """Per frame of the segment: the server's final output over both rounds."""
    bytes: int
    frames_inferred: int
    dnn_seconds: float
    encode_seconds: float


@dataclass(frozen=True)
class PolicyContext:
    """What a policy may use besides feedback: the knob space, the sensor's coding, and for
    profiling baselines the server's detector (cached) and the task that scores
    configurations."""

    space: ConfigSpace
    detector: Detector | None = None
    task: Task | None = None
    sensor: Modality = field(default_factory=lambda: modality("video"))
    """How the sensor codes segments and how its DNN input looks (InputGrad)."""


class Policy(abc.ABC):
    """Decides each second's configuration; charges its own adaptation work."""

    wants_dnn_grad: bool = False
    """Whether the server must back-propagate and return a DNNGrad map every second."""

    def __init__(self) -> None:
        self._overhead = Overhead()

    @abc.abstractmethod
    def decide(self, second: int, segment: Segment) -> Configuration:
        """The configuration for ``second``; the camera already holds its raw ``segment``
        (an oracle may look at it, a deployable method should not)."""

    def saliency(self) -> np.ndarray | None:
        """Per 16x16 block of the raw frame, how much it matters, for the knobs that spend
        quality by region (:mod:`oneadapt.knobs.roi`); None: the policy knows nothing, and
        every block keeps quality."""
        return None

    def second_pass(
        self, segment: Segment, first: EncodedSegment, found: list[Detections]
    ) -> SecondPass | None:
        """A second round on ``segment`` once the server has answered the stream ``first``
        with ``found`` (per frame); None (every single-stream method): the answer stands."""
        return None

    def observe(self, feedback: Feedback) -> None:  # noqa: B027 (optional hook)
        """Learn from the second just streamed; stateless policies ignore it."""

    def charge(self, overhead: Overhead) -> None:
        """Add adaptation work done by this policy (or on its behalf by the server)."""
        self._overhead += overhead

    def take_overhead(self) -> Overhead:
        """The work charged since the last call (one second's worth in the run loop)."""
        spent, self._overhead = self._overhead, Overhead()
        return spent


class FixedPolicy(Policy):
    """One configuration for the whole stream (the static baseline)."""

    def __init__(self, config: Configuration) -> None:
        super().__init__()
        self.config = config

    def decide(self, second: int, segment: Segment) -> Configuration:
        return self.config
