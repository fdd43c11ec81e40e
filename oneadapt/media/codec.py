"""Real H.264 encoding of a segment under a :class:`Configuration`, and decoding back.

Each 1-second segment is encoded independently (it starts with an IDR frame, as a
streaming camera's 1-second chunks do) with libx264 at constant QP; the configuration's
knobs decide the size, the frames sent (the frame rate's, narrowed by any frame filter), the
encoder's options and the blocks coded coarser (:class:`EncodePlan`; region-of-interest
coding, :mod:`oneadapt.media.roi`, changes the rate control to one that honours per-block
offsets).
The decoded frames are scaled back to the segment's size, and an unsent frame repeats the
last sent one: that is exactly what the server-side DNN sees.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

import av
import numpy as np

from oneadapt.errors import ConfigurationError
from oneadapt.knobs import Configuration, EncodePlan, StreamShape, apply_knobs
from oneadapt.media.frame_filter import select
from oneadapt.media.roi import BLOCK, rate_control, region_marker
from oneadapt.media.sources import Segment

X264_DEFAULTS: Mapping[str, str] = {"preset": "veryfast", "tune": "zerolatency"}
"""libx264 options every encode starts from; encoder knobs add to them or override them."""


@dataclass
class Bitstream:
    """What the camera sends for one segment."""

    config: Configuration
    data: bytes
    sent: np.ndarray
    """Indices of the segment's frames that were encoded and sent."""
    encode_seconds: float

    @property
    def num_bytes(self) -> int:
        return len(self.data)


@dataclass
class EncodedSegment(Bitstream):
    """What a sensor sends for one segment, and what the server decodes from it (any
    modality, :mod:`oneadapt.media.modality`)."""

    decoded: Sequence[np.ndarray]
    """The model's input items, one per item of the segment (unsent ones repeat the last
    sent): video, uint8 RGB [T, H, W, 3] at the segment's size; audio, one second of
    float32 samples at the coded rate; LiDAR, one float32 xyz cloud per scan."""
    framing: int = 0
    """Bytes of ``data`` that only delimit its parts (not charged as bandwidth)."""

    @property
    def num_bytes(self) -> int:
        return len(self.data) - self.framing


def frame_owner(sent: np.ndarray, num_frames: int) -> np.ndarray:
    """For every frame, the position in ``sent`` of the frame whose content it shows."""
    return np.maximum(np.searchsorted(sent, np.arange(num_frames), side="right") - 1, 0)


def plan(segment: Segment, config: Configuration, saliency: np.ndarray | None = None) -> EncodePlan:
    """How ``config`` encodes ``segment``: each knob, validated for the segment, changes its
    part of the plan (:class:`EncodePlan`), starting from every frame at full size; the frame
    filters then select among the frames sent, once, from all their thresholds.
    ``saliency``: per 16x16 block of the segment, how much it matters (for the knobs that
    spend quality by region)."""
    stream = StreamShape(segment.height, segment.fps)
    grid = (-(-segment.height // BLOCK), -(-segment.width // BLOCK))
    if saliency is not None and saliency.shape != grid:
        raise ConfigurationError(
            f"a saliency map of {saliency.shape[0]}x{saliency.shape[1]} blocks does not fit a "
            f"{segment.width}x{segment.height} segment ({grid[0]}x{grid[1]} blocks of {BLOCK}).",
            "Give one value per 16x16 block of the raw frame (the DNNGrad map's grid).",
        )
    result = EncodePlan(
        width=segment.width,
        height=segment.height,
        rate=segment.fps,
        sent=np.arange(len(segment)),
        options=X264_DEFAULTS,
        frames=len(segment),
        fps=segment.fps,
        filters={},
        blocks=grid,
        saliency=saliency,
    )
    result = apply_knobs(config, result, stream)
    if result.filters:
        result = replace(result, sent=select(segment.frames, result.sent, result.filters))
    return result


def compress(
    segment: Segment,
    config: Configuration,
    threads: int = 1,
    saliency: np.ndarray | None = None,
) -> Bitstream:
    """Encode ``segment`` with libx264 under ``config`` (what a camera does to send it);
    ``saliency`` as for :func:`plan`."""
    start = time.perf_counter()
    how = plan(segment, config, saliency)
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height = how.width, how.height
    encoder.pix_fmt = "yuv420p"
    encoder.time_base = Fraction(1, how.rate)
    encoder.framerate = Fraction(how.rate, 1)
    encoder.thread_count = threads
    by_region = how.high_quality is not None
    encoder.options = rate_control(how.options) if by_region else dict(how.options)
    mark = region_marker(how, (segment.height, segment.width))
    packets: list[av.Packet] = []
    for pts, i in enumerate(how.sent):
        frame = av.VideoFrame.from_ndarray(segment.frames[i], format="rgb24")
        frame = frame.reformat(
            width=how.width, height=how.height, format="yuv420p", interpolation="AREA"
        )
        frame.pts = pts
        packets.extend(encoder.encode(mark(frame)))
    packets.extend(encoder.encode(None))
    data = b"".join(bytes(p) for p in packets)
    return Bitstream(config, data, how.sent, time.perf_counter() - start)


def encode(
    segment: Segment,
    config: Configuration,
    threads: int = 1,
    saliency: np.ndarray | None = None,
) -> EncodedSegment:
    """Encode ``segment`` with libx264 under ``config`` and decode it as the server would;
    ``saliency`` as for :func:`plan`."""
    stream = compress(segment, config, threads, saliency)
    decoded = decode(stream.data, segment.width, segment.height)
    if len(decoded) != len(stream.sent):
        raise RuntimeError(f"decoder returned {len(decoded)} frames for {len(stream.sent)} sent")
    return EncodedSegment(
        config,
        stream.data,
        stream.sent,
        stream.encode_seconds,
        decoded[frame_owner(stream.sent, len(segment))],
    )


def decode(data: bytes, width: int, height: int) -> np.ndarray:
    """Decode an H.264 Annex-B byte stream to uint8 RGB frames scaled to ``width`` x ``height``."""
    decoder = av.CodecContext.create("h264", "r")
    frames = []
    for packet in decoder.parse(data) + decoder.parse(None) + [None]:
        for frame in decoder.decode(packet):
            frames.append(
                frame.reformat(
                    width=width, height=height, format="rgb24", interpolation="BILINEAR"
                ).to_ndarray()
            )
    return np.stack(frames) if frames else np.zeros((0, height, width, 3), np.uint8)
