"""AccMPEG (method.md section 6): a cheap camera-side model says which 16x16 blocks matter
to the server's DNN, and those keep quality (the ``roi`` knob, :mod:`oneadapt.knobs.roi`).

AccMPEG trains a small per-block model offline, supervised by the server DNN's accuracy
gradient. There is no training data for one here, so the camera's model is a training-free
proxy of the same cost class, numpy only (:func:`block_saliency`): per block, the edge
energy of the raw frames (texture, where objects' outlines are) plus twice their temporal
difference (motion, where the objects of a fixed camera are). On a 320x240 second at 10 fps
it reads every other frame, about 10 ms of one core (charged to the camera every second).

As in the paper, the encoding is otherwise fixed: the other knobs stay at best-fixed's
choice with every block at quality (:meth:`ProfilingPolicy.fixed_encoding`), and the share
of high-quality blocks is chosen every ``period`` seconds by profiling each ``roi`` value on
the segment at hand with the true accuracy, each coded with this second's map, the work
charged like the other periodic baselines'.
"""

from __future__ import annotations

import time

import numpy as np

from oneadapt.adapt.baselines import OwnKnobsPolicy
from oneadapt.adapt.policy import Overhead
from oneadapt.knobs import ConfigSpace, Configuration, Knob, Stage
from oneadapt.media.roi import BLOCK
from oneadapt.media.sources import Segment

MOTION_WEIGHT = 2.0
"""How much more a block's motion counts than its texture (both relative to the frame's)."""

FLOOR = 1.0
"""Grey levels below which a frame's mean edge or motion counts as none (sensor noise on a
static, flat scene must not be blown up into saliency)."""


def block_means(image: np.ndarray) -> np.ndarray:
    """The mean of a [H, W] image over each 16x16 block (edges padded by repetition)."""
    h, w = image.shape
    rows, cols = -(-h // BLOCK), -(-w // BLOCK)
    padded = np.pad(image, ((0, rows * BLOCK - h), (0, cols * BLOCK - w)), mode="edge")
    return padded.reshape(rows, BLOCK, cols, BLOCK).mean(axis=(1, 3))


def block_saliency(frames: np.ndarray, stride: int = 2) -> np.ndarray:
    """Per 16x16 block of uint8 RGB ``frames`` [T, H, W, 3], how much it likely matters:
    edge energy (mean absolute horizontal plus vertical gradient of the grey frames) over
    the frame's mean, plus :data:`MOTION_WEIGHT` times the mean absolute difference between
    consecutive sampled frames over the frame's mean. ``stride``: every how many frames are
    read (cost). Higher means more important; only the ranking matters to ``roi``."""
    grey = frames[::stride].astype(np.float32).mean(axis=3)
    edges = np.zeros(grey.shape[1:], np.float32)
    edges[:, 1:] += np.abs(np.diff(grey, axis=2)).mean(axis=0)
    edges[1:, :] += np.abs(np.diff(grey, axis=1)).mean(axis=0)
    texture = block_means(edges)
    score = texture / max(float(texture.mean()), FLOOR)
    if len(grey) > 1:
        motion = block_means(np.abs(np.diff(grey, axis=0)).mean(axis=0))
        score += MOTION_WEIGHT * motion / max(float(motion.mean()), FLOOR)
    return score


class AccMPEGPolicy(OwnKnobsPolicy):
    """AccMPEG: a camera-side saliency map each second (:func:`block_saliency`), and the
    ``roi`` share re-profiled every ``period`` seconds on best-fixed's encoding."""

    missing = (
        "accmpeg needs the region-of-interest knob in the space.",
        "Add it, e.g. --knob roi=1,0.5,0.25,0.1,0.",
    )
    map: np.ndarray | None = None
    """This second's camera-side saliency (None before the first second)."""

    def own_knobs(self, space: ConfigSpace) -> list[Knob]:
        return [k for k in space.knobs if k.stage is Stage.ROI]

    def decide(self, second: int, segment: Segment) -> Configuration:
        start = time.perf_counter()
        self.map = block_saliency(segment.frames)
        self.charge(Overhead(camera_seconds=time.perf_counter() - start))
        return super().decide(second, segment)

    def saliency(self) -> np.ndarray | None:
        return self.map
