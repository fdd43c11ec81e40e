"""Voice activity detection as an analytics task: decisions, accuracy against a reference, proxy.

Like detection, accuracy needs no human labels: a configuration's speech/non-speech
decisions per 32-ms window are compared with the same model's decisions on the reference
(raw) audio. Windows line up across sample rates (Silero VAD decides every 32 ms at both
16 and 8 kHz), so the sample-rate knob is scored window by window too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class VadTask:
    """What counts as speech (probability threshold) and the differentiable accuracy proxy."""

    threshold: float = 0.5
    proxy_sharpness: float = 20.0

    def decisions(self, probabilities: np.ndarray) -> np.ndarray:
        """Speech (True) or not per window."""
        return np.asarray(probabilities) >= self.threshold

    def accuracy(self, probabilities: np.ndarray, reference: np.ndarray) -> float:
        """Fraction of windows whose decision agrees with the reference's."""
        ours, theirs = self.decisions(probabilities), self.decisions(reference)
        if ours.shape != theirs.shape:
            raise ValueError(f"{ours.shape} windows against {theirs.shape} in the reference")
        return float(np.mean(ours == theirs))

    def proxy(self, probabilities: torch.Tensor) -> torch.Tensor:
        """Differentiable stand-in for accuracy: sum over windows of sigmoid(k (p - threshold)).
        Its gradient is largest at windows near the threshold, whose decision a small change
        of the input can flip; confident windows contribute almost nothing."""
        return torch.sigmoid(self.proxy_sharpness * (probabilities - self.threshold)).sum()


def speech_windows(speech: np.ndarray, window: int) -> np.ndarray:
    """Per-window truth from a per-sample speech mask: speech where most of the window's
    samples are (a partial last window is judged on the samples it has)."""
    padded = np.zeros(-(-len(speech) // window) * window)
    padded[: len(speech)] = speech
    counts = np.minimum(window, len(speech) - np.arange(0, len(padded), window))
    return padded.reshape(-1, window).sum(1) > counts / 2
