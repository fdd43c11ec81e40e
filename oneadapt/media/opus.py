"""Real Opus speech coding of a 1-second audio segment, and decoding it back.

The microphone's two knobs act here: the segment is resampled to the knob's sample rate
(narrowband 8 kHz or wideband 16 kHz) and encoded by libopus at the knob's target bitrate
in its VoIP mode, as a speech sensor would. Each second is encoded independently (a fresh
encoder, 20-ms frames), like the camera's 1-second H.264 chunks, and decoded by libopus
with the stream header's pre-skip (at 48 kHz, resampled back to the stream's rate), so
the decoded samples line up with the raw ones. ``num_bytes`` counts the Opus packets;
the 19-byte stream header (OpusHead) travels once per stream out of band, as in RTP or
Ogg, and is not charged per second.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from oneadapt.errors import ConfigurationError
from oneadapt.media.audio import AudioSegment, resample

OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


@dataclass
class EncodedAudio:
    """What the sensor sends for one segment, and what the server decodes from it."""

    sample_rate: int
    bitrate: int
    packets: list[bytes]
    header: bytes
    """The OpusHead stream header (channels, pre-skip), sent once per stream."""
    encode_seconds: float
    decoded: np.ndarray
    """float32 mono at ``sample_rate``, one second, aligned with the raw segment."""

    @property
    def num_bytes(self) -> int:
        return sum(len(p) for p in self.packets)


def _check(sample_rate: int, bitrate: int) -> None:
    if sample_rate not in OPUS_RATES:
        raise ConfigurationError(
            f"Opus cannot code audio at {sample_rate} Hz.",
            f"Use a sample rate among {', '.join(map(str, OPUS_RATES))}.",
        )
    if not 6000 <= bitrate <= 510000:
        raise ConfigurationError(
            f"Opus bitrate {bitrate} bit/s is outside 6000..510000.",
            "Use a bitrate between 6 and 510 kbit/s.",
        )


def compress(samples: np.ndarray, sample_rate: int, bitrate: int) -> tuple[list[bytes], bytes]:
    """Opus packets and stream header for float32 mono ``samples`` at ``sample_rate``."""
    _check(sample_rate, bitrate)
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = sample_rate, "mono", "flt"
    encoder.bit_rate = bitrate
    encoder.time_base = Fraction(1, sample_rate)
    encoder.options = {"application": "voip"}
    encoder.open()
    size = encoder.frame_size
    padded = np.zeros(-(-len(samples) // size) * size, np.float32)
    padded[: len(samples)] = samples
    packets: list[av.Packet] = []
    for start in range(0, len(padded), size):
        frame = av.AudioFrame.from_ndarray(
            padded[None, start : start + size], format="flt", layout="mono"
        )
        frame.sample_rate, frame.pts = sample_rate, start
        packets.extend(encoder.encode(frame))
    packets.extend(encoder.encode(None))
    return [bytes(p) for p in packets], bytes(encoder.extradata)


def decode(packets: list[bytes], header: bytes, sample_rate: int, length: int) -> np.ndarray:
    """``length`` float32 mono samples at ``sample_rate`` from Opus ``packets`` (libopus
    decodes at 48 kHz and drops the header's pre-skip; FFmpeg resamples)."""
    decoder = av.CodecContext.create("libopus", "r")
    decoder.extradata = header
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    chunks = []
    for data in (*packets, None):
        for frame in decoder.decode(None if data is None else av.Packet(data)):
            chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
    chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    decoded = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return np.pad(decoded, (0, max(0, length - len(decoded))))[:length]


def encode(segment: AudioSegment, sample_rate: int, bitrate: int) -> EncodedAudio:
    """Resample ``segment`` to ``sample_rate``, Opus-encode it at ``bitrate`` bit/s, decode."""
    start = time.perf_counter()
    samples = resample(segment.samples, segment.sample_rate, sample_rate)
    packets, header = compress(samples, sample_rate, bitrate)
    seconds = time.perf_counter() - start
    decoded = decode(packets, header, sample_rate, len(samples))
    return EncodedAudio(sample_rate, bitrate, packets, header, seconds, decoded)
