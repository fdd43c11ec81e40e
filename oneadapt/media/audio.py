"""Audio sources cut into 1-second :class:`AudioSegment`s of mono float samples.

A microphone sensor adapts per second, like a camera: files of any rate, channel count
and codec PyAV reads (wav, flac, ...) are mixed down to mono and resampled to the
analysis rate, and a final incomplete second is dropped, as video sources do.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from oneadapt.errors import MediaError

ANALYSIS_RATE = 16000
"""Samples per second of raw segments: the highest rate Silero VAD takes, wideband speech."""
SILENCE_PEAK = 1e-4
"""A file whose samples never exceed this (in -1..1) is treated as silent: nothing to detect."""


@dataclass
class AudioSegment:
    """One second of raw mono audio: ``samples`` float32 [sample_rate] in -1..1."""

    index: int
    samples: np.ndarray
    sample_rate: int
    speech: np.ndarray | None = field(default=None, repr=False)
    """Per-sample true speech mask (bool) where the source knows it (procedural), else None."""

    def __len__(self) -> int:
        return int(self.samples.shape[0])


class AudioSource(abc.ABC):
    """Anything that yields 1-second segments of raw mono audio."""

    name: str
    sample_rate: int
    modality = "audio"

    @abc.abstractmethod
    def segments(self, max_seconds: int | None = None) -> Iterator[AudioSegment]: ...

    @property
    def regimes(self) -> list[tuple[int, int, str]]:
        """(start second, end second, name) of known content regimes; none for real audio."""
        return []


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """``samples`` (float32 mono at ``rate``) at ``target`` samples per second, same duration
    (FFmpeg's resampler: what a sensor's audio stack would use)."""
    if rate == target:
        return samples.astype(np.float32, copy=False)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=target)
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(samples, np.float32)[None], format="flt", layout="mono"
    )
    frame.sample_rate = rate
    out = [
        f.to_ndarray().reshape(-1) for f in (*resampler.resample(frame), *resampler.resample(None))
    ]
    resampled = np.concatenate(out) if out else np.zeros(0, np.float32)
    length = round(len(samples) * target / rate)
    return np.pad(resampled, (0, max(0, length - len(resampled))))[:length]


def decode_file(path: Path, sample_rate: int = ANALYSIS_RATE) -> np.ndarray:
    """The whole first audio track of ``path`` as float32 mono at ``sample_rate``
    (channels averaged). Raises :class:`MediaError` for a missing, corrupt or silent file."""
    if path.is_dir():
        raise MediaError(f"{path} is a directory, not an audio file.", "Pass a file inside it.")
    if not path.is_file():
        raise MediaError(f"audio file {path} does not exist.", "Check the path.")
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaError(
                    f"{path} contains no audio stream.", "Pass a file with an audio track."
                )
            resampler = av.AudioResampler(format="fltp", rate=sample_rate)
            chunks = []
            for frame in container.decode(container.streams.audio[0]):
                chunks.extend(f.to_ndarray().mean(axis=0) for f in resampler.resample(frame))
            chunks.extend(f.to_ndarray().mean(axis=0) for f in resampler.resample(None))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise MediaError(f"cannot decode {path}: {exc}.", "Pass a wav or flac file.") from None
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if len(samples) == 0:
        raise MediaError(f"{path} has no decodable audio.", "Pass a valid, non-empty file.")
    if np.abs(samples).max() <= SILENCE_PEAK:
        raise MediaError(
            f"{path} is silent (peak {np.abs(samples).max():.1e}).",
            "Pass a recording with sound in it.",
        )
    return samples


class AudioFileSource(AudioSource):
    """A wav, flac or other audio file PyAV decodes, decoded once (speech files are small)."""

    def __init__(self, path: str | Path, sample_rate: int = ANALYSIS_RATE) -> None:
        self.path = Path(path)
        self.name = self.path.stem
        self.sample_rate = sample_rate
        self.samples = decode_file(self.path, sample_rate)
        if len(self.samples) < sample_rate:
            raise MediaError(
                f"{self.path} is {len(self.samples) / sample_rate:.2f} s long, under one second.",
                "Pass a recording of at least one second.",
            )

    @property
    def seconds(self) -> int:
        return len(self.samples) // self.sample_rate

    def segments(self, max_seconds: int | None = None) -> Iterator[AudioSegment]:
        """Whole seconds; the final incomplete second is dropped."""
        count = self.seconds if max_seconds is None else min(self.seconds, max_seconds)
        rate = self.sample_rate
        for i in range(max(0, count)):
            yield AudioSegment(i, self.samples[i * rate : (i + 1) * rate], rate)
