"""The camera as a :class:`~oneadapt.media.modality.Modality`: H.264 segments of RGB frames
(:mod:`oneadapt.media.codec`); the DNN's input is the decoded frame itself."""

from __future__ import annotations

from collections.abc import Sequence

import av
import numpy as np

from oneadapt.knobs import ConfigSpace, Configuration, KnobLists
from oneadapt.media import codec
from oneadapt.media.modality import Modality
from oneadapt.media.sources import Segment, Source

MAX_SIDE = 4096
"""The largest frame side a server accepts."""


class VideoModality(Modality):
    name = "video"

    def space(self, source: Source, analysis_fps: int, knobs: KnobLists | None) -> ConfigSpace:
        return ConfigSpace.default(source.height, analysis_fps, **(knobs or {}))

    def encode(
        self, segment: Segment, config: Configuration, saliency: np.ndarray | None = None
    ) -> codec.EncodedSegment:
        return codec.encode(segment, config, saliency=saliency)

    def compress(
        self, segment: Segment, config: Configuration, saliency: np.ndarray | None = None
    ) -> codec.Bitstream:
        return codec.compress(segment, config, saliency=saliency)

    def decode(
        self, payload: bytes, config: Configuration, size: tuple[int, int], sent: np.ndarray
    ) -> tuple[Sequence[np.ndarray], int]:
        width, height = size
        if not (2 <= width <= MAX_SIDE and 2 <= height <= MAX_SIDE):
            raise ValueError("bad size")
        if not payload:
            raise ValueError("empty H.264 payload")
        try:
            decoded = codec.decode(payload, width, height)
        except (av.error.FFmpegError, ValueError) as exc:
            raise ValueError(f"undecodable H.264 ({exc})") from None
        if len(decoded) != len(sent):
            raise ValueError(f"H.264 holds {len(decoded)} frames, {len(sent)} were sent")
        return decoded, 0

    def size(self, segment: Segment) -> tuple[int, int]:
        return segment.width, segment.height

    def times(self, segment: Segment) -> list[float]:
        return [float(t) for t in segment.timestamps]

    def items(self, segment: Segment) -> Sequence[np.ndarray]:
        return segment.frames

    def view(self, encoded: codec.EncodedSegment, like: codec.EncodedSegment) -> np.ndarray:
        """The decoded frames: the codec scales every coding back to the segment's size."""
        return np.asarray(encoded.decoded)


MODALITY = VideoModality()
