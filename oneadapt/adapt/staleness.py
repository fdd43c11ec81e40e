"""How fast the server's outputs go stale: the accuracy gradient of the frame-rate knob.

A frame that is not sent reuses the last sent frame's output, so what a lower frame rate
costs is the accuracy of outputs that are a few frames old. The accuracy proxy behind
DNNGrad cannot see that: a stale output keeps its scores, only its boxes are in the wrong
place (measured: the pixel estimate put frame-rate losses at 0.17x of the truth on the
built-in scene and at 1.5-5.7x on YOLOX clips). The server can measure it directly and for
free: the outputs it already computed for consecutive sent frames, scored against each
other with the task's own accuracy, say how much accuracy one frame of age costs on this
content right now. It travels to the camera in the DNNGrad message
(:attr:`oneadapt.protocol.feedback.FeedbackMap.staleness`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from oneadapt.tasks.detection import Detections, DetectionTask


class StalenessMeter:
    """Accumulates, over consecutive sent frames of one stream, the accuracy an output loses
    per frame of age: ``sum(1 - accuracy(older output, newer output)) / sum(frames apart)``.

    Pairs span segment boundaries (the last sent frame of one second and the first of the
    next) but not gaps longer than one segment (a lost second says nothing about motion).
    """

    def __init__(self, task: DetectionTask) -> None:
        self.task = task
        self._last: tuple[int, Detections] | None = None
        self._loss = 0.0
        self._age = 0

    def observe(
        self, second: int, sent: np.ndarray, frames: int, outputs: Sequence[Detections]
    ) -> None:
        """``outputs``: the server's output for each of the segment's ``frames`` frames
        (unsent frames repeat a sent one; only the sent frames' own outputs are used)."""
        for index in np.asarray(sent, dtype=int):
            frame = second * frames + int(index)
            output = outputs[int(index)]
            if self._last is not None and 0 < frame - self._last[0] <= frames:
                self._loss += 1.0 - self.task.frame_accuracy(self._last[1], output)
                self._age += frame - self._last[0]
            self._last = (frame, output)

    def take(self) -> float | None:
        """Accuracy lost per frame of age since the last call; None when no pair was seen."""
        if self._age == 0:
            return None
        rate, self._loss, self._age = self._loss / self._age, 0.0, 0
        return rate
