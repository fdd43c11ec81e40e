"""The P/B quantiser factor knob acts on a real clip: it turns B-frames on, and coarser
B-frames cost fewer bytes."""

from __future__ import annotations

from knob_helpers import bytes_at_each_value

from oneadapt.knobs import Configuration
from oneadapt.media.codec import plan


def test_bytes_fall_as_b_frames_get_coarser(video_segment) -> None:
    config = Configuration(qp=30, height=240, fps=10, b_qfactor=1.25)
    assert plan(video_segment, config).options["bf"] == "3"
    sizes = bytes_at_each_value(video_segment, "b_qfactor")
    assert all(a > b for a, b in zip(sizes, sizes[1:], strict=False)), sizes
