"""Real H.264 encoding of a segment under a :class:`Configuration`, and decoding back.

Each 1-second segment is encoded independently (it starts with an IDR frame, as a
streaming camera's 1-second chunks do) with libx264 at constant QP. The decoded frames
are scaled back to the segment's size, and an unsent frame repeats the last sent one:
that is exactly what the server-side DNN sees.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from oneadapt.errors import ConfigurationError
from oneadapt.knobs import Configuration, even
from oneadapt.media.sources import Segment


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
    """What the camera sends for one segment, and what the server decodes from it."""

    decoded: np.ndarray
    """uint8 RGB [T, H, W, 3] at the segment's size; unsent frames repeat the last sent."""


def sent_frames(num_frames: int, analysis_fps: int, fps: int) -> np.ndarray:
    """Indices of the frames kept when subsampling ``analysis_fps`` to ``fps``, evenly spaced."""
    count = max(1, min(num_frames, round(num_frames * fps / analysis_fps)))
    return np.unique(np.floor(np.arange(count) * num_frames / count).astype(int))


def frame_owner(sent: np.ndarray, num_frames: int) -> np.ndarray:
    """For every frame, the position in ``sent`` of the frame whose content it shows."""
    return np.maximum(np.searchsorted(sent, np.arange(num_frames), side="right") - 1, 0)


def output_size(width: int, height: int, target_height: int) -> tuple[int, int]:
    """Encoded (width, height) for a target height: even dimensions, aspect kept."""
    h = even(min(target_height, height))
    return even(width * h / height), h


def compress(segment: Segment, config: Configuration, threads: int = 1) -> Bitstream:
    """Encode ``segment`` with libx264 under ``config`` (what a camera does to send it)."""
    if config.fps < 1 or config.fps > segment.fps:
        raise ConfigurationError(
            f"frame rate {config.fps} is outside 1..{segment.fps}.",
            f"Use a frame rate between 1 and {segment.fps}.",
        )
    if not 0 <= config.qp <= 51:
        raise ConfigurationError(f"QP {config.qp} is outside 0..51.", "Use a QP between 0 and 51.")
    if config.height < 2:
        raise ConfigurationError(
            f"height {config.height} is too small.", "Use a height of 16 or more."
        )
    start = time.perf_counter()
    sent = sent_frames(len(segment), segment.fps, config.fps)
    width, height = output_size(segment.width, segment.height, config.height)

    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height = width, height
    encoder.pix_fmt = "yuv420p"
    encoder.time_base = Fraction(1, config.fps)
    encoder.framerate = Fraction(config.fps, 1)
    encoder.thread_count = threads
    encoder.options = {"qp": str(config.qp), "preset": config.preset, "tune": "zerolatency"}
    packets: list[av.Packet] = []
    for pts, i in enumerate(sent):
        frame = av.VideoFrame.from_ndarray(segment.frames[i], format="rgb24")
        frame = frame.reformat(width=width, height=height, format="yuv420p", interpolation="AREA")
        frame.pts = pts
        packets.extend(encoder.encode(frame))
    packets.extend(encoder.encode(None))
    data = b"".join(bytes(p) for p in packets)
    return Bitstream(config, data, sent, time.perf_counter() - start)


def encode(segment: Segment, config: Configuration, threads: int = 1) -> EncodedSegment:
    """Encode ``segment`` with libx264 under ``config`` and decode it as the server would."""
    stream = compress(segment, config, threads)
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
