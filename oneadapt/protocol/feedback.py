"""The compact DNNGrad message the server sends the camera (numpy only, so the camera side
never imports torch): 8-bit levels per block, one float scale, the measured staleness curve
(:mod:`oneadapt.adapt.staleness`), a versioned binary header.

It travels as the ``feedback`` bytes of an ``Analysis`` (``oneadapt.proto``); the per-block
mean it is built from is shared with the camera's InputGrad, which must use the same blocks.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from oneadapt.errors import ProtocolError

_MAGIC = b"OAG2"
_HEADER = struct.Struct("<4sIHHHHHfB")  # magic, second, block, frame h, w, blocks h, w, scale,
# then that many float32 staleness values (loss at ages 1..n; NaN: no pair that far apart)


def block_mean(x: np.ndarray, block: int) -> np.ndarray:
    """Mean of ``x`` [..., H, W] over each ``block`` x ``block`` tile (edge tiles: over the
    pixels they hold), giving [..., ceil(H / block), ceil(W / block)]."""
    h, w = x.shape[-2:]
    hb, wb = -(-h // block), -(-w // block)
    pad = [(0, 0)] * (x.ndim - 2) + [(0, hb * block - h), (0, wb * block - w)]
    sums = np.pad(x, pad).reshape(*x.shape[:-2], hb, block, wb, block).sum(axis=(-3, -1))
    rows = np.minimum(block, h - np.arange(hb) * block)
    cols = np.minimum(block, w - np.arange(wb) * block)
    return sums / np.outer(rows, cols)


def accuracy_at_stake(
    squared_error: np.ndarray, weights: np.ndarray, block: int, rows: int | None = None
) -> float:
    """Estimated accuracy change of an input change with per-block error energy
    ``squared_error`` under the DNNGrad map ``weights``: ``sqrt(pixels) * sqrt(sum w^2 e)``,
    the first-order change of the proxy when pixel errors are independent of the gradient's
    signs (the gradient taken as uniform within a block of ``pixels = block * rows`` input
    values; ``rows`` None: ``block``, a square block; 1 for a one-row input, audio).

    At most 1, since accuracy is a fraction: where the outputs hold almost nothing of
    interest, the proxy's units (one object, one pixel) make the first-order count read as
    many accuracy points, yet whether one spurious detection or region appears or many, the
    frame loses at most all of its accuracy."""
    pixels = block * (block if rows is None else rows)
    change = np.sqrt(pixels) * np.sqrt((weights.astype(np.float64) ** 2 * squared_error).sum())
    return float(min(change, 1.0))


@dataclass(frozen=True)
class FeedbackMap:
    """The compact DNNGrad message: 8-bit levels per block plus one float scale."""

    second: int
    block: int
    frame_height: int
    frame_width: int
    scale: float
    """Gradient value of level 255."""
    levels: np.ndarray
    """uint8 [ceil(H / block), ceil(W / block)]."""
    staleness: tuple[float, ...] | None = None
    """Accuracy an output has lost at ages 1..n analysis frames on this stream, measured by
    the server on pairs of sent frames (NaN: no pair that far apart); None until it has
    seen a pair."""

    @classmethod
    def quantize(
        cls,
        second: int,
        block: int,
        frame_size: tuple[int, int],
        values: np.ndarray,
        max_bytes: int | None = None,
        staleness: tuple[float, ...] | None = None,
    ) -> FeedbackMap:
        """8-bit levels of ``values`` (0 = 0, 255 = max). If the message would exceed
        ``max_bytes``, levels are rounded to multiples of 2, 4, ... (fewer distinct levels
        compress better) until it fits or only 2 levels remain."""
        peak = float(values.max(initial=0.0))
        scale = peak if peak > 0 and np.isfinite(peak) else 0.0
        exact = np.zeros(values.shape)
        if scale > 0:
            exact = np.clip(values / scale * 255.0, 0, 255)
        step = 1
        while True:
            levels = np.clip(np.rint(exact / step) * step, 0, 255).astype(np.uint8)
            message = cls(second, block, frame_size[0], frame_size[1], scale, levels)
            message = message.with_staleness(staleness)
            if max_bytes is None or step >= 128 or message.nbytes <= max_bytes:
                return message
            step *= 2

    def with_staleness(self, staleness: Sequence[float] | None) -> FeedbackMap:
        """This map carrying ``staleness`` as the wire holds it (float32 values)."""
        if staleness is None:
            return replace(self, staleness=None)
        return replace(self, staleness=tuple(float(v) for v in np.asarray(staleness, np.float32)))

    @property
    def block_rows(self) -> int:
        """Input rows one block spans (fewer than ``block`` only for a shorter input)."""
        return min(self.block, self.frame_height)

    def weights(self) -> np.ndarray:
        """Dequantized per-block gradient magnitudes, float32."""
        return self.levels.astype(np.float32) * np.float32(self.scale / 255.0)

    def to_bytes(self) -> bytes:
        hb, wb = self.levels.shape
        stale = np.asarray(self.staleness or (), "<f4")
        header = _HEADER.pack(
            _MAGIC,
            self.second,
            self.block,
            self.frame_height,
            self.frame_width,
            hb,
            wb,
            self.scale,
            len(stale),
        )
        levels = zlib.compress(np.ascontiguousarray(self.levels).tobytes(), 9)
        return header + stale.tobytes() + levels

    @classmethod
    def from_bytes(cls, data: bytes) -> FeedbackMap:
        try:
            magic, second, block, fh, fw, hb, wb, scale, ages = _HEADER.unpack_from(data)
            end = _HEADER.size + 4 * ages
            stale = np.frombuffer(data[_HEADER.size : end], "<f4").astype(float)
            raw = zlib.decompress(data[end:])
        except (struct.error, zlib.error, ValueError) as exc:
            raise ProtocolError(
                f"corrupt DNNGrad feedback message ({exc}).", "Check the transport."
            ) from None
        if magic != _MAGIC or len(raw) != hb * wb or len(stale) != ages:
            raise ProtocolError("not a DNNGrad feedback message (v2).", "Check the transport.")
        measured = stale[~np.isnan(stale)]
        if (
            block < 1
            or (hb, wb) != (-(-fh // block), -(-fw // block))
            or not 0 <= scale < float("inf")
            or not ((measured >= 0) & (measured <= 1)).all()
            or (ages > 0 and len(measured) == 0)
        ):
            raise ProtocolError("inconsistent DNNGrad feedback message.", "Check the sender.")
        levels = np.frombuffer(raw, np.uint8).reshape(hb, wb).copy()
        curve = tuple(float(v) for v in stale) if ages else None
        return cls(second, block, fh, fw, scale, levels, curve)

    @property
    def nbytes(self) -> int:
        """Size on the wire."""
        return len(self.to_bytes())
