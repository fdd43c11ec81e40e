"""The microphone as a :class:`~oneadapt.media.modality.Modality`: each second resampled to
the sample-rate knob's rate and Opus-coded at the bitrate knob's (:mod:`oneadapt.media.opus`).

The DNN's input, what InputGrad compares, is the VAD's STFT magnitude spectrogram of the
decoded second (:meth:`~oneadapt.models.silero_vad.SileroVadModel.input_tensor`: the codec
moves phases the VAD cannot see); to compare two codings at different rates, the camera
resamples the other to the rate of the one the DNNGrad map was computed on. The wire
payload is the OpusHead then the packets (:func:`~oneadapt.media.modality.pack`); only the
packets count as bandwidth, as in :mod:`oneadapt.media.opus`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import av
import numpy as np
import torch

from oneadapt.errors import OneAdaptError
from oneadapt.knobs import ConfigSpace, Configuration, KnobLists, apply_knobs
from oneadapt.knobs.bitrate import BITRATES
from oneadapt.media import opus
from oneadapt.media.audio import AudioSegment, AudioSource, resample
from oneadapt.media.codec import EncodedSegment
from oneadapt.media.modality import FRAMING_BYTES, Modality, modality_space, pack, unpack
from oneadapt.models.silero_vad import SileroVAD, load_silero_vad


@dataclass(frozen=True)
class OpusPlan:
    """How one second is coded: the knobs of a configuration each set their field."""

    sample_rate: int
    bitrate: int


@cache
def front_end() -> SileroVAD:
    """The VAD whose first stage the camera computes (the packaged weights, loaded once)."""
    return load_silero_vad()


def plan(config: Configuration, raw_rate: int) -> OpusPlan:
    """``config``'s coding, starting from the raw rate at the dearest bitrate."""
    return apply_knobs(config, OpusPlan(raw_rate, BITRATES[0]))


class AudioModality(Modality):
    name = "audio"

    def space(self, source: AudioSource, analysis_fps: int, knobs: KnobLists | None) -> ConfigSpace:
        return modality_space(self.name, analysis_fps, knobs)

    def encode(
        self, segment: AudioSegment, config: Configuration, saliency: np.ndarray | None = None
    ) -> EncodedSegment:
        how = plan(config, segment.sample_rate)
        coded = opus.encode(segment, how.sample_rate, how.bitrate)
        data = pack([coded.header, *coded.packets])
        return EncodedSegment(
            config,
            data,
            np.zeros(1, np.int64),
            coded.encode_seconds,
            coded.decoded[None],
            framing=len(data) - coded.num_bytes,
        )

    def decode(
        self, payload: bytes, config: Configuration, size: tuple[int, int], sent: np.ndarray
    ) -> tuple[Sequence[np.ndarray], int]:
        parts = unpack(payload)
        if len(parts) < 2 or len(sent) != 1:
            raise ValueError("an audio payload holds the OpusHead and at least one packet")
        rate = plan(config, size[0]).sample_rate
        try:
            samples = opus.decode(parts[1:], parts[0], rate, rate)
        except (OneAdaptError, ValueError, av.error.FFmpegError) as exc:
            raise ValueError(f"undecodable Opus ({exc})") from None
        return samples[None], len(parts[0]) + FRAMING_BYTES * len(parts)

    def size(self, segment: AudioSegment) -> tuple[int, int]:
        return segment.sample_rate, 1

    def times(self, segment: AudioSegment) -> list[float]:
        return [float(segment.index)]

    def items(self, segment: AudioSegment) -> Sequence[np.ndarray]:
        return [segment.samples]

    def view(self, encoded: EncodedSegment, like: EncodedSegment) -> np.ndarray:
        """The decoded second's spectrogram [1, bins, steps, 1] at ``like``'s rate."""
        samples, rate = encoded.decoded[0], len(like.decoded[0])
        audio = torch.from_numpy(resample(samples, len(samples), rate))[None]
        with torch.no_grad():
            spectrogram = front_end().spectrogram(audio, rate)
        return spectrogram.numpy()[..., None]


MODALITY = AudioModality()
