"""Small real video files written with PyAV for tests that must not depend on shared data."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def write_counter_video(
    path: Path,
    rate: Fraction,
    frames: int,
    size: tuple[int, int] = (400, 48),
    codec: str = "libx264",
) -> None:
    """Frame i is dark with a bright 2-pixel column at x = 2 i, so decoding tells its index."""
    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            stream.options = {"qp": "0"}
        for i in range(frames):
            img = np.full((height, width, 3), 16, np.uint8)
            img[:, 2 * i : 2 * i + 2] = 235
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def frame_index(frame: np.ndarray) -> int:
    return int(np.argmax(frame.mean(axis=(0, 2)).reshape(-1, 2).sum(1)))
