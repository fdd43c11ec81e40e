"""The task interface: what an analytics task's outputs are, and how they are judged.

Every measuring path (profiling, the run loop, the baselines, DNNGrad, the inference cache)
reaches a task's outputs only through :class:`Task` and the output container's
:class:`Output` methods, so a new task (voice activity, LiDAR detection) is a new
subclass, not new branches. One container per output type: detections stay
:class:`~oneadapt.tasks.detection.Detections`, speech decisions get their own.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import ClassVar, Generic, Protocol, TypeVar

import numpy as np
import torch


class Output(Protocol):
    """One item's output (a frame's detections, a second's speech probabilities).

    ``to_array`` / ``from_array`` are the one serialisation (the inference cache's rows and
    the Analysis message's floats); ``from_array`` raises
    :class:`~oneadapt.errors.ProtocolError` for rows the container cannot hold."""

    def detach(self) -> Output: ...

    def to_array(self) -> np.ndarray: ...

    @classmethod
    def from_array(cls, rows: np.ndarray) -> Output: ...


OutputT = TypeVar("OutputT", bound=Output)


class Task(abc.ABC, Generic[OutputT]):
    """Scores a model's outputs against the same model's outputs on the reference input
    (no human labels), and gives the differentiable proxy DNNGrad back-propagates."""

    output_type: ClassVar[type]
    """The container of one item's output (:class:`Output`)."""

    @abc.abstractmethod
    def frame_accuracy(self, pred: OutputT, ref: OutputT) -> float:
        """Agreement in [0, 1] of one item's output with the reference output."""

    def accuracy(self, preds: Sequence[OutputT], refs: Sequence[OutputT]) -> float:
        """Mean per-item agreement over a segment."""
        return float(np.mean([self.frame_accuracy(p, r) for p, r in zip(preds, refs, strict=True)]))

    @abc.abstractmethod
    def proxy(self, output: OutputT) -> torch.Tensor:
        """Differentiable stand-in for accuracy: its gradient must be large where a decision
        is close (a small input change flips it) and near zero where it is safe."""

    @abc.abstractmethod
    def proxy_units(self, outputs: Sequence[OutputT]) -> float:
        """Proxy change worth an accuracy change of 1 on these outputs (the items that were
        back-propagated): DNNGrad divides its map by it, so the camera reads accuracy
        changes off the map."""

    @abc.abstractmethod
    def informative(self, refs: Sequence[OutputT]) -> bool:
        """Whether reference outputs can tell configurations apart: against a reference with
        nothing of interest every configuration scores 1, so profiling learns nothing."""

    def carry_over(self, sent: Sequence[OutputT], owner: Sequence[int]) -> list[OutputT]:
        """Outputs for every item of a segment from those of the sent items: item ``i`` has
        ``sent[owner[i]]``'s output, the last sent item's (what a viewer sees until the
        next result arrives)."""
        return [sent[int(i)] for i in owner]

    def from_array(self, rows: np.ndarray) -> OutputT:
        """An output from its serialised rows (:class:`Output`)."""
        return self.output_type.from_array(rows)  # type: ignore[no-any-return]
