"""Frame-filter threshold on changed edges: edges move with objects and ignore slow lighting
changes."""

from __future__ import annotations

from oneadapt.knobs.frame_filter import FrameFilterKnob


class EdgeFilter(FrameFilterKnob):
    """Send a frame only if this fraction of its edge changed since the last sent frame."""

    name = "filter_edge"
    title = "edge-difference threshold"
    feature = "edge"
