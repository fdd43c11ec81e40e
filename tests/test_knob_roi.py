"""Per-macroblock quality with stock libx264 acts on a real clip: the blocks the saliency map
keeps decode sharper than the rest, the bytes fall with the high-quality share, and the
rectangles and grids that carry the choice to the encoder are exact."""

from __future__ import annotations

import numpy as np
import pytest
from knob_helpers import QP, edge_saliency

from oneadapt.errors import ConfigurationError
from oneadapt.knobs import Configuration
from oneadapt.knobs.roi import ROIShare, most_salient
from oneadapt.media.codec import encode, plan
from oneadapt.media.roi import coarse_rectangles, encoded_blocks

SHARES = (1.0, 0.5, 0.25, 0.0)


def config(segment, **knobs) -> Configuration:
    return Configuration(qp=QP, height=segment.height, fps=segment.fps, **knobs)


def squared_error(segment, share: float, saliency: np.ndarray) -> np.ndarray:
    coded = encode(segment, config(segment, roi=share), saliency=saliency)
    return ((coded.decoded.astype(np.float32) - segment.frames) ** 2).mean(axis=(0, 3))


def pixels(blocks: np.ndarray, segment) -> np.ndarray:
    return np.repeat(np.repeat(blocks, 16, 0), 16, 1)[: segment.height, : segment.width]


def test_marked_blocks_decode_with_less_error_than_the_rest(video_segment) -> None:
    saliency = edge_saliency(video_segment)  # the busiest blocks: the hardest to code
    marked = pixels(most_salient(saliency, 0.5), video_segment)
    half, everything = (squared_error(video_segment, s, saliency) for s in (0.5, 1.0))
    inside, outside = half[marked].mean(), half[~marked].mean()
    assert inside < outside
    assert inside < everything[marked].mean() * 1.1  # kept at the QP's quality
    assert outside > everything[~marked].mean() * 2  # coded 12 QP coarser


def test_bytes_fall_as_the_high_quality_share_falls(video_segment) -> None:
    saliency = edge_saliency(video_segment)
    sizes = [
        encode(video_segment, config(video_segment, roi=s), saliency=saliency).num_bytes
        for s in SHARES
    ]
    assert all(a > b for a, b in zip(sizes, sizes[1:], strict=False)), sizes


def test_without_a_map_every_block_keeps_quality(video_segment) -> None:
    sizes = {encode(video_segment, config(video_segment, roi=s)).num_bytes for s in SHARES}
    assert len(sizes) == 1


def test_the_map_must_fit_the_segment(video_segment) -> None:
    with pytest.raises(ConfigurationError, match="does not fit"):
        plan(video_segment, config(video_segment, roi=0.5), np.ones((3, 3)))
    with pytest.raises(ConfigurationError, match="high-quality block share 1.5 is invalid"):
        ROIShare.check(1.5)


def test_the_most_salient_share_is_chosen_ties_in_raster_order() -> None:
    saliency = np.array([[0.0, 3.0, 1.0], [2.0, 0.0, 0.0]])
    assert most_salient(saliency, 0.5).tolist() == [[False, True, True], [True, False, False]]
    assert most_salient(saliency, 0.0).sum() == 0 and most_salient(saliency, 1.0).all()
    assert most_salient(np.zeros((2, 3)), 0.5).tolist() == [[True] * 3, [False] * 3]


def test_rectangles_cover_exactly_the_coarse_blocks() -> None:
    rng = np.random.default_rng(0)
    for density in (0.0, 0.3, 0.8, 1.0):
        high = rng.random((9, 13)) < density
        covered = np.zeros_like(high)
        for x0, y0, x1, y1 in coarse_rectangles(high):
            assert not covered[y0:y1, x0:x1].any()
            covered[y0:y1, x0:x1] = True
        assert (covered == ~high).all()
    assert coarse_rectangles(np.zeros((4, 5), bool)) == [(0, 0, 5, 4)]


def test_scaling_keeps_every_marked_block_at_quality() -> None:
    high = np.zeros((15, 20), bool)  # 320x240 in 16x16 blocks
    high[7, 9] = True
    same = encoded_blocks(high, (240, 320), (240, 320))
    assert (same == high).all()
    half = encoded_blocks(high, (240, 320), (120, 160))  # 8x10 macroblocks
    assert half.shape == (8, 10) and half.sum() == 1 and half[3, 4]
    odd = encoded_blocks(high, (240, 320), (180, 240))  # a block straddles macroblocks
    assert odd.shape == (12, 15) and odd[5:7, 6:8].sum() >= 2 and odd.sum() <= 4
