"""Voice activity detection as an analytics task: decisions, accuracy against a reference, proxy.

Like detection, accuracy needs no human labels: a configuration's speech/non-speech
decisions per 32-ms window are compared with the same model's decisions on the reference
(raw) audio. Windows line up across sample rates (Silero VAD decides every 32 ms at both
16 and 8 kHz), so the sample-rate knob is scored window by window too. One item is one
second of audio; its output is :class:`SpeechProbabilities`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from oneadapt.tasks.base import Task
from oneadapt.tasks.rows import speech_probabilities


@dataclass
class SpeechProbabilities:
    """One second's speech probability per 32-ms window, [W] (may carry gradients)."""

    probabilities: torch.Tensor
    row_kind: ClassVar[str] = "speech"
    """The name of these rows on the wire (:mod:`oneadapt.tasks.rows`)."""

    def __len__(self) -> int:
        return int(self.probabilities.shape[0])

    def detach(self) -> SpeechProbabilities:
        return SpeechProbabilities(self.probabilities.detach())

    def to_array(self) -> np.ndarray:
        """[W] float32."""
        return self.probabilities.detach().cpu().numpy().astype(np.float32).reshape(-1)

    @classmethod
    def from_array(cls, rows: np.ndarray) -> SpeechProbabilities:
        """From :meth:`to_array`'s values; anything but probabilities raises
        :class:`ProtocolError`."""
        return cls(torch.from_numpy(speech_probabilities(rows).copy()))


@dataclass(frozen=True)
class VadTask(Task[SpeechProbabilities]):
    """What counts as speech (probability threshold) and the differentiable accuracy proxy."""

    output_type = SpeechProbabilities
    threshold: float = 0.5
    proxy_sharpness: float = 20.0

    def decisions(self, probabilities: np.ndarray) -> np.ndarray:
        """Speech (True) or not per window."""
        return np.asarray(probabilities) >= self.threshold

    def agreement(self, probabilities: np.ndarray, reference: np.ndarray) -> float:
        """Fraction of windows whose decision agrees with the reference's."""
        ours, theirs = self.decisions(probabilities), self.decisions(reference)
        if ours.shape != theirs.shape:
            raise ValueError(f"{ours.shape} windows against {theirs.shape} in the reference")
        return float(np.mean(ours == theirs))

    def frame_accuracy(self, pred: SpeechProbabilities, ref: SpeechProbabilities) -> float:
        """Per-window decision agreement over one second."""
        return self.agreement(pred.to_array(), ref.to_array())

    def proxy(self, output: SpeechProbabilities) -> torch.Tensor:
        """Differentiable stand-in for accuracy: sum over windows of sigmoid(k (p - threshold)).
        Its gradient is largest at windows near the threshold, whose decision a small change
        of the input can flip; confident windows contribute almost nothing."""
        return torch.sigmoid(self.proxy_sharpness * (output.probabilities - self.threshold)).sum()

    def proxy_units(self, outputs: Sequence[SpeechProbabilities]) -> float:
        """Windows per second: flipping one window's decision moves the proxy by about 1 and
        the agreement by one window's share."""
        return float(np.mean([max(len(o), 1) for o in outputs]))

    def informative(self, refs: Sequence[SpeechProbabilities]) -> bool:
        """Whether the reference hears speech in any window: on a second of noise only, every
        configuration agrees with the reference's silence and profiling learns nothing."""
        return any(self.decisions(r.to_array()).any() for r in refs)


def speech_windows(speech: np.ndarray, window: int) -> np.ndarray:
    """Per-window truth from a per-sample speech mask: speech where most of the window's
    samples are (a partial last window is judged on the samples it has)."""
    padded = np.zeros(-(-len(speech) // window) * window)
    padded[: len(speech)] = speech
    counts = np.minimum(window, len(speech) - np.arange(0, len(padded), window))
    return padded.reshape(-1, window).sum(1) > counts / 2
