"""Reducto-style frame filtering: which of a segment's frames differ enough from the last
sent one to be worth sending.

Three cheap differences between two frames, each a fraction in [0, 1] of a small grey image
(the frame area-averaged by an integer factor to at most :data:`WIDTH` pixels wide: the
features only have to rank frames by how much they changed, and at full size they would cost
more than the encode they save):

- ``pixel``: pixels whose grey level changed by more than :data:`LEVEL`;
- ``area``: the same on blurred images, the changed mask dilated by one pixel: the changed
  *area* (moving objects) rather than scattered pixels (noise, compression);
- ``edge``: pixels where the edge maps differ (a Sobel magnitude over :data:`EDGE`, a
  Canny-like map without OpenCV: edges move with objects and ignore lighting drift).

A frame is sent iff every enabled feature's difference to the last *sent* frame reaches its
threshold; the segment's first frame is always sent (each segment is encoded on its own).
Thresholds are fractions rather than the z-scores of method.md section 4: z-scoring within
one second ranks its frames against each other, so a static second would still send its
noisiest frames and a busy one would skip changing frames; a fraction of changed pixels
means the same on every second, and threshold 0 sends every frame.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

WIDTH = 160
"""Widest small grey image the features are computed on (a 1280-wide frame is averaged 8x8)."""
LEVEL = 21.0
"""Grey-level change (of 255) that counts a pixel as changed (Reducto's pixel threshold)."""
EDGE = 64.0
"""Sobel magnitude (of a 0..255 image) above which a pixel is an edge."""
FEATURES = ("pixel", "area", "edge")


@dataclass(frozen=True)
class Reduced:
    """What the features need of each frame: [T, h, w] grey, blurred grey and edge maps."""

    grey: np.ndarray
    blurred: np.ndarray
    edges: np.ndarray


def _box3(image: np.ndarray) -> np.ndarray:
    """3x3 mean over the last two axes (edges replicated)."""
    padded = np.pad(image, ((0, 0), (1, 1), (1, 1)), mode="edge")
    h, w = image.shape[1:]
    return sum(padded[:, dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)) / 9.0


def reduce(frames: np.ndarray) -> Reduced:
    """The small grey, blurred and edge images of uint8 RGB ``frames`` [T, H, W, 3]."""
    t, height, width = frames.shape[:3]
    f = max(1, -(-width // WIDTH))
    h, w = height // f, width // f
    rgb = frames[:, : h * f, : w * f].astype(np.float32)
    grey = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    grey = grey.reshape(t, h, f, w, f).mean(axis=(2, 4))
    blurred = _box3(grey)
    p = np.pad(blurred, ((0, 0), (1, 1), (1, 1)), mode="edge")
    gx = (p[:, :-2, 2:] + 2 * p[:, 1:-1, 2:] + p[:, 2:, 2:]) - (
        p[:, :-2, :-2] + 2 * p[:, 1:-1, :-2] + p[:, 2:, :-2]
    )
    gy = (p[:, 2:, :-2] + 2 * p[:, 2:, 1:-1] + p[:, 2:, 2:]) - (
        p[:, :-2, :-2] + 2 * p[:, :-2, 1:-1] + p[:, :-2, 2:]
    )
    return Reduced(grey, blurred, np.hypot(gx, gy) > EDGE)


def differences(reduced: Reduced, a: int, b: int) -> dict[str, float]:
    """Each feature's difference between frames ``a`` and ``b`` of ``reduced``."""
    changed = np.abs(reduced.blurred[a] - reduced.blurred[b]) > LEVEL
    padded = np.pad(changed, 1)
    h, w = changed.shape
    area = np.zeros_like(changed)
    for dy in range(3):
        for dx in range(3):
            area |= padded[dy : dy + h, dx : dx + w]
    return {
        "pixel": float((np.abs(reduced.grey[a] - reduced.grey[b]) > LEVEL).mean()),
        "area": float(area.mean()),
        "edge": float((reduced.edges[a] != reduced.edges[b]).mean()),
    }


_last: tuple[weakref.ref[np.ndarray], Reduced] | None = None
"""The last segment reduced: a policy filters one segment under several thresholds."""


def reduced(frames: np.ndarray) -> Reduced:
    """:func:`reduce`, remembered for the last ``frames`` array (by identity)."""
    global _last
    if _last is None or _last[0]() is not frames:
        _last = (weakref.ref(frames), reduce(frames))
    return _last[1]


def select(
    frames: np.ndarray, candidates: np.ndarray, thresholds: Mapping[str, float]
) -> np.ndarray:
    """The ``candidates`` (increasing frame indices of ``frames``) that are sent under
    ``thresholds`` (feature -> threshold): the first, then each whose every difference to the
    last sent one reaches its threshold."""
    active = {name: t for name, t in thresholds.items() if t > 0}
    if not active or len(candidates) == 0:
        return np.asarray(candidates)
    images = reduced(frames)
    sent = [int(candidates[0])]
    for i in candidates[1:]:
        diff = differences(images, sent[-1], int(i))
        if all(diff[name] >= t for name, t in active.items()):
            sent.append(int(i))
    return np.array(sent, dtype=np.asarray(candidates).dtype)
