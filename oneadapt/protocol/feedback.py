"""The compact DNNGrad message the server sends the camera (numpy only, so the camera side
never imports torch): 8-bit levels per block, one float scale, the measured staleness rate
(:mod:`oneadapt.adapt.staleness`), a versioned binary header.

It travels as the ``feedback`` bytes of an ``Analysis`` (``oneadapt.proto``); the per-block
mean it is built from is shared with the camera's InputGrad, which must use the same blocks.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from oneadapt.errors import ProtocolError

_MAGIC = b"OAG2"
_HEADER = struct.Struct("<4sIHHHHHff")  # magic, second, block, frame h, w, blocks h, w, scale,
# staleness (NaN: not measured yet)


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


def accuracy_at_stake(squared_error: np.ndarray, weights: np.ndarray, block: int) -> float:
    """Estimated accuracy (F1) change of an input change with per-block error energy
    ``squared_error`` under the DNNGrad map ``weights``: ``block * sqrt(sum w^2 e)``, the
    first-order change of the proxy when pixel errors are independent of the gradient's signs
    (the gradient taken as uniform within a block)."""
    return float(block * np.sqrt((weights.astype(np.float64) ** 2 * squared_error).sum()))


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
    staleness: float | None = None
    """Accuracy an output loses per analysis frame of age on this stream, measured by the
    server on consecutive sent frames; None until it has seen a pair."""

    @classmethod
    def quantize(
        cls,
        second: int,
        block: int,
        frame_size: tuple[int, int],
        values: np.ndarray,
        max_bytes: int | None = None,
        staleness: float | None = None,
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
            stale = None if staleness is None else float(np.float32(staleness))  # as on the wire
            message = cls(second, block, frame_size[0], frame_size[1], scale, levels, stale)
            if max_bytes is None or step >= 128 or message.nbytes <= max_bytes:
                return message
            step *= 2

    def weights(self) -> np.ndarray:
        """Dequantized per-block gradient magnitudes, float32."""
        return self.levels.astype(np.float32) * np.float32(self.scale / 255.0)

    def to_bytes(self) -> bytes:
        hb, wb = self.levels.shape
        stale = float("nan") if self.staleness is None else self.staleness
        header = _HEADER.pack(
            _MAGIC,
            self.second,
            self.block,
            self.frame_height,
            self.frame_width,
            hb,
            wb,
            self.scale,
            stale,
        )
        return header + zlib.compress(np.ascontiguousarray(self.levels).tobytes(), 9)

    @classmethod
    def from_bytes(cls, data: bytes) -> FeedbackMap:
        try:
            magic, second, block, fh, fw, hb, wb, scale, stale = _HEADER.unpack_from(data)
            raw = zlib.decompress(data[_HEADER.size :])
        except (struct.error, zlib.error) as exc:
            raise ProtocolError(
                f"corrupt DNNGrad feedback message ({exc}).", "Check the transport."
            ) from None
        if magic != _MAGIC or len(raw) != hb * wb:
            raise ProtocolError("not a DNNGrad feedback message (v2).", "Check the transport.")
        if (
            block < 1
            or (hb, wb) != (-(-fh // block), -(-fw // block))
            or not 0 <= scale < float("inf")
            or not (np.isnan(stale) or 0 <= stale <= 1)
        ):
            raise ProtocolError("inconsistent DNNGrad feedback message.", "Check the sender.")
        levels = np.frombuffer(raw, np.uint8).reshape(hb, wb).copy()
        return cls(second, block, fh, fw, scale, levels, None if np.isnan(stale) else stale)

    @property
    def nbytes(self) -> int:
        """Size on the wire."""
        return len(self.to_bytes())
