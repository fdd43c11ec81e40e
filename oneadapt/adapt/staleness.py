"""How fast the server's outputs go stale: the accuracy gradient of the frame-rate knob.

A frame that is not sent reuses the last sent frame's output, so what a lower frame rate
costs is the accuracy of outputs that are a few frames old. The accuracy proxy behind
DNNGrad cannot see that: a stale output keeps its scores, only its boxes are in the wrong
place (measured: the pixel estimate put frame-rate losses at 0.17x of the truth on the
built-in scene and at 1.5-5.7x on YOLOX clips). The server can measure it directly and for
free: the outputs it already computed for sent frames, scored against each other with the
task's own accuracy, say how much accuracy an output ``k`` frames old has lost on this
content right now, for every ``k`` the sent frames are apart. Per-frame F1 is a step in the
displacement (a box counts until its IoU falls under 0.5), so the loss is measured per age,
not extrapolated from one. The curve travels to the camera in the DNNGrad message
(:attr:`oneadapt.protocol.feedback.FeedbackMap.staleness`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Generic

import numpy as np

from oneadapt.tasks.base import OutputT, Task


class StalenessMeter(Generic[OutputT]):
    """Accumulates, over pairs of sent frames of one stream at most ``max_age`` frames apart,
    the mean ``1 - accuracy(older output, newer output)`` per age in frames.

    Pairs span segment boundaries but not gaps (a lost second says nothing about motion),
    nor a step back in time: a camera that restarts its stream from second 0 under the same
    id, or a second that arrives again, continues nothing the meter holds.
    """

    def __init__(self, task: Task[OutputT], max_age: int) -> None:
        self.task = task
        self.max_age = max_age
        self._recent: deque[tuple[int, OutputT]] = deque()
        self._loss = np.zeros(max_age + 1)
        self._pairs = np.zeros(max_age + 1)

    def observe(
        self, second: int, sent: np.ndarray, frames: int, outputs: Sequence[OutputT]
    ) -> None:
        """``outputs``: the server's output for each of the segment's ``frames`` frames
        (unsent frames repeat a sent one; only the sent frames' own outputs are used)."""
        for index in np.asarray(sent, dtype=int):
            frame = second * frames + int(index)
            output = outputs[int(index)]
            if self._recent and frame <= self._recent[-1][0]:
                self._recent.clear()
            while self._recent and frame - self._recent[0][0] > self.max_age:
                self._recent.popleft()
            for older, old_output in self._recent:
                age = frame - older
                self._loss[age] += 1.0 - self.task.frame_accuracy(old_output, output)
                self._pairs[age] += 1
            self._recent.append((frame, output))

    def take(self) -> tuple[float, ...] | None:
        """Mean loss per age 1..max_age since the last call (NaN where no pair was that far
        apart); None when no pair was seen."""
        if not self._pairs[1:].any():
            return None
        curve = np.where(self._pairs > 0, self._loss / np.maximum(self._pairs, 1), np.nan)
        self._loss[:], self._pairs[:] = 0.0, 0.0
        return tuple(float(v) for v in curve[1:])
