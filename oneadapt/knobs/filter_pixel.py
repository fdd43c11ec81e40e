"""Frame-filter threshold on changed pixels: any change, noise included (the cheapest sign
of motion)."""

from __future__ import annotations

from oneadapt.knobs.frame_filter import FrameFilterKnob


class PixelFilter(FrameFilterKnob):
    """Send a frame only if this fraction of its pixel changed since the last sent frame."""

    name = "filter_pixel"
    title = "pixel-difference threshold"
    feature = "pixel"
