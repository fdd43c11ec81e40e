"""Opus coding of 1-second segments under the sample-rate and bitrate knobs, and the VAD task's
agreement score on the decoded audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from oneadapt.errors import ConfigurationError
from oneadapt.knobs.bitrate import BITRATES
from oneadapt.knobs.sample_rate import RATES as SAMPLE_RATES
from oneadapt.media.audio import AudioFileSource, resample
from oneadapt.media.opus import encode
from oneadapt.media.speech_scene import SpeechScene
from oneadapt.models.silero_vad import load_silero_vad
from oneadapt.tasks.vad import VadTask


@pytest.fixture(scope="module")
def segments():
    """Four seconds of the procedural scene: clear speech, then a pause."""
    return list(SpeechScene(seed=2, seconds=4).segments())


def test_lower_bitrate_sends_fewer_bytes(segments) -> None:
    for rate in SAMPLE_RATES:
        sizes = [sum(encode(s, rate, b).num_bytes for s in segments) for b in BITRATES]
        assert sizes == sorted(sizes, reverse=True), (rate, sizes)
        kbps = sizes[-1] * 8 / 1000 / len(segments)
        assert kbps < 1.2 * BITRATES[-1] / 1000  # the encoder keeps to its target


@pytest.mark.parametrize("rate", SAMPLE_RATES)
def test_decoded_audio_lines_up_with_the_raw_segment(segments, rate: int) -> None:
    segment = segments[1]
    coded = encode(segment, rate, BITRATES[0])
    raw = resample(segment.samples, segment.sample_rate, rate)
    assert coded.decoded.dtype == np.float32 and coded.decoded.shape == raw.shape
    assert coded.sample_rate == rate and coded.header.startswith(b"OpusHead")
    # Without the header's pre-skip the decoded audio would lag by 6.5 ms (104 samples at 16k).
    lags = list(range(-200, 201))
    scores = [np.dot(raw[200:-200], np.roll(coded.decoded, -lag)[200:-200]) for lag in lags]
    assert abs(lags[int(np.argmax(scores))]) <= 2
    assert np.corrcoef(raw, coded.decoded)[0, 1] > 0.85


@pytest.mark.parametrize(("rate", "bitrate"), [(44100, 16000), (16000, 3000), (16000, 600000)])
def test_impossible_knob_values_are_clear_errors(segments, rate: int, bitrate: int) -> None:
    with pytest.raises(ConfigurationError) as info:
        encode(segments[0], rate, bitrate)
    assert info.value.fix


def test_agreement_is_one_against_itself_and_falls_with_the_bitrate(segments) -> None:
    vad, task = load_silero_vad(), VadTask()
    reference = [vad.infer(s.samples, s.sample_rate) for s in segments]
    assert all(task.agreement(r, r) == 1.0 for r in reference)
    flipped = [1.0 - r for r in reference]
    assert np.mean([task.agreement(f, r) for f, r in zip(flipped, reference, strict=True)]) < 0.1

    def agreement(rate: int, bitrate: int) -> float:
        return float(
            np.mean(
                [
                    task.agreement(vad.infer(encode(s, rate, bitrate).decoded, rate), r)
                    for s, r in zip(segments, reference, strict=True)
                ]
            )
        )

    best, worst = agreement(16000, BITRATES[0]), agreement(8000, BITRATES[-1])
    assert best > 0.95
    assert worst < best


def test_window_counts_must_match() -> None:
    with pytest.raises(ValueError, match="windows"):
        VadTask().agreement(np.zeros(32), np.zeros(31))


def test_real_speech_loses_agreement_at_the_lowest_bitrate(shared_data: Path) -> None:
    vad, task = load_silero_vad(), VadTask()
    source = AudioFileSource(shared_data / "audio" / "vosk_test.wav")
    scores = {}
    for bitrate in (BITRATES[0], BITRATES[-1]):
        scores[bitrate] = np.mean(
            [
                task.agreement(
                    vad.infer(encode(s, 16000, bitrate).decoded, 16000), vad.infer(s.samples, 16000)
                )
                for s in source.segments()
            ]
        )
    assert scores[BITRATES[0]] > 0.95 > scores[BITRATES[-1]]
