"""Frame-filter threshold on the changed area: the change of blurred frames, dilated, so
that moving objects count and scattered noise does not."""

from __future__ import annotations

from oneadapt.knobs.frame_filter import FrameFilterKnob


class AreaFilter(FrameFilterKnob):
    """Send a frame only if this fraction of its area changed since the last sent frame."""

    name = "filter_area"
    title = "area-difference threshold"
    feature = "area"
