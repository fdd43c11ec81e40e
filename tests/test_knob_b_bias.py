"""The B-frame bias knob acts on a real clip: with B-frames on, the highest bias is the
cheapest and the lowest (no B-frames) dearer."""

from __future__ import annotations

from knob_helpers import bytes_at_each_value


def test_the_highest_bias_makes_the_fewest_bytes(highway_segment) -> None:
    sizes = bytes_at_each_value(highway_segment, "b_bias")
    assert min(sizes) == sizes[-1] < sizes[0], sizes
