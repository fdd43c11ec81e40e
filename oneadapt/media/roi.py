"""Region-of-interest coding with stock libx264: blocks outside the region are coded
:data:`QP_DELTA` coarser, through FFmpeg's region-of-interest frame side data.

PyAV cannot attach side data to a frame, so every frame passes through a filter graph of
``addroi`` filters (one per rectangle of coarse blocks), which FFmpeg's libx264 wrapper
turns into x264's per-macroblock ``quant_offsets``. x264 applies those only when adaptive
quantisation is on, and constant-QP mode switches it off; measured on
``intel_car-detection.mp4`` (1 s, 768x432, left half marked +12): with ``qp=30`` the bytes
and the decoded error are unchanged (4076 B either way), with CRF they are not. So a
segment coded by region uses :func:`rate_control`: CRF at the QP knob's value, ``qcomp=1``
(the frame QP does not follow frame complexity, as at constant QP) and ``aq-strength=0.01``
(AQ on, but too weak to move QPs itself; at 0 libx264 turns AQ off and drops the offsets).
Without marks this mode is near constant QP: 0.78x to 0.87x its bytes at QP 24 to 36, with
a mean squared error 2% to 10% higher, mostly a cheaper first I-frame.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction

import av
import av.filter
import numpy as np

from oneadapt.knobs import EncodePlan

BLOCK = 16
"""An H.264 macroblock: the unit x264 takes a QP offset for."""

QP_DELTA = 12
"""How much coarser than the rest of the frame a block outside the region is coded: the
reference's QP 24 inside and 36 outside (method.md section 4)."""

QP_RANGE = 51
"""libx264's wrapper scales an ``addroi`` offset in [-1, 1] by this (8-bit video)."""

Rectangle = tuple[int, int, int, int]
"""Blocks ``x0 <= x < x1``, ``y0 <= y < y1`` of a macroblock grid."""


def rate_control(options: Mapping[str, str]) -> dict[str, str]:
    """libx264 options under which the region offsets take effect, at the quality that
    ``options`` asks for (see the module's docstring for why and what it costs)."""
    kept = {k: v for k, v in options.items() if k != "qp"}
    return {**kept, "crf": options.get("qp", "23"), "qcomp": "1", "aq-strength": "0.01"}


def encoded_blocks(
    high_quality: np.ndarray, raw: tuple[int, int], encoded: tuple[int, int]
) -> np.ndarray:
    """``high_quality`` (per 16x16 block of a ``raw`` (height, width) frame) on the macroblock
    grid of the ``encoded`` (height, width) frame: a macroblock keeps quality where it
    overlaps any block that does, so scaling never coarsens a marked block."""
    rows = overlaps(raw[0], encoded[0], high_quality.shape[0])
    cols = overlaps(raw[1], encoded[1], high_quality.shape[1])
    return (rows @ high_quality.astype(int) @ cols.T) > 0


def overlaps(raw: int, encoded: int, raw_blocks: int) -> np.ndarray:
    """[encoded macroblocks, raw blocks] along one axis: whether they cover common pixels."""
    edges = np.arange(-(-encoded // BLOCK) + 1) * BLOCK * raw / encoded
    first = np.floor(edges[:-1] / BLOCK).astype(int)
    last = np.ceil(np.minimum(edges[1:], raw) / BLOCK).astype(int)
    index = np.arange(raw_blocks)
    return (index >= first[:, None]) & (index < last[:, None])


def coarse_rectangles(high_quality: np.ndarray) -> list[Rectangle]:
    """Rectangles that cover exactly the blocks outside the region: runs of coarse blocks
    per row, a run merged with the one below it when it spans the same columns (a filter
    per rectangle, so few rectangles keep the graph small)."""
    open_runs: dict[tuple[int, int], int] = {}
    done: list[Rectangle] = []
    for y, row in enumerate(np.vstack([~high_quality, np.zeros((1, high_quality.shape[1]), bool)])):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(int), [0]])))
        runs = set(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
        for run in set(open_runs) - runs:
            done.append((run[0], open_runs.pop(run), run[1], y))
        for run in runs - set(open_runs):
            open_runs[run] = y
    return sorted(done, key=lambda r: (r[1], r[0]))


def region_marker(
    plan: EncodePlan, raw: tuple[int, int]
) -> Callable[[av.VideoFrame], av.VideoFrame]:
    """What every frame of a segment coded under ``plan`` (from a ``raw`` (height, width)
    segment) passes through before the encoder: a graph that marks the coarse blocks, or
    nothing when the plan codes no region or every block keeps quality."""
    if plan.high_quality is None:
        return lambda frame: frame
    high = encoded_blocks(plan.high_quality, raw, (plan.height, plan.width))
    rectangles = coarse_rectangles(high)
    if not rectangles:
        return lambda frame: frame
    graph = av.filter.Graph()
    last = graph.add_buffer(
        width=plan.width, height=plan.height, format="yuv420p", time_base=Fraction(1, plan.rate)
    )
    offset = f"{QP_DELTA}/{QP_RANGE}"
    for x0, y0, x1, y1 in rectangles:
        x, y = x0 * BLOCK, y0 * BLOCK
        w, h = min(x1 * BLOCK, plan.width) - x, min(y1 * BLOCK, plan.height) - y
        mark = graph.add("addroi", f"x={x}:y={y}:w={w}:h={h}:qoffset={offset}")
        last.link_to(mark)
        last = mark
    last.link_to(graph.add("buffersink"))
    graph.configure()

    def marked(frame: av.VideoFrame) -> av.VideoFrame:
        graph.push(frame)
        out = graph.pull()
        assert isinstance(out, av.VideoFrame)
        return out

    return marked
