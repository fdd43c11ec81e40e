"""The I/P quantiser factor knob acts on a real clip: a coarser I-frame costs fewer bytes."""

from __future__ import annotations

from knob_helpers import bytes_at_each_value


def test_bytes_fall_as_the_i_frame_gets_coarser(video_segment) -> None:
    sizes = bytes_at_each_value(video_segment, "i_qfactor")
    assert all(a > b for a, b in zip(sizes, sizes[1:], strict=False)), sizes
