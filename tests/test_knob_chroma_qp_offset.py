"""The chroma QP offset knob acts on a real clip: coarser colour costs fewer bytes."""

from __future__ import annotations

from knob_helpers import bytes_at_each_value


def test_bytes_fall_as_colour_gets_coarser(video_segment) -> None:
    sizes = bytes_at_each_value(video_segment, "chroma_qp_offset")
    assert all(a > b for a, b in zip(sizes, sizes[1:], strict=False)), sizes
