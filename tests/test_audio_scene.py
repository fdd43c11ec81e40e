"""The procedural speech scene: deterministic by seed, labelled, with every regime."""

from __future__ import annotations

import numpy as np
import pytest

from oneadapt.errors import ConfigurationError
from oneadapt.media.speech_scene import REGIME_NAMES, SpeechScene


def test_same_seed_same_audio_and_a_shorter_scene_is_a_prefix() -> None:
    long, short = SpeechScene(seed=3, seconds=20), SpeechScene(seed=3, seconds=7)
    assert (
        short.regimes[-1][1] == 7 and long.regimes[: len(short.regimes) - 1] == short.regimes[:-1]
    )
    assert np.array_equal(long.samples[: 7 * 16000], short.samples)
    assert np.array_equal(long.speech[: 7 * 16000], short.speech)
    assert short.speech.any() and not short.speech.all()
    assert not np.array_equal(SpeechScene(seed=4, seconds=7).samples, short.samples)


def test_segments_are_whole_labelled_seconds() -> None:
    scene = SpeechScene(seed=0, seconds=6)
    segments = list(scene.segments())
    assert [s.index for s in segments] == list(range(6))
    for s in segments:
        assert s.samples.dtype == np.float32 and len(s) == 16000 == len(s.speech)
        assert np.abs(s.samples).max() <= 1.0
    assert len(list(scene.segments(max_seconds=2))) == 2


def test_regimes_cover_the_scene_and_silence_has_no_speech() -> None:
    scene = SpeechScene(seed=2, seconds=60)  # a seed whose first minute has every regime
    regimes = scene.regimes
    assert regimes[0][0] == 0 and regimes[-1][1] == 60
    assert all(a[1] == b[0] and a[2] != b[2] for a, b in zip(regimes, regimes[1:], strict=False))
    assert {name for *_, name in regimes} == set(REGIME_NAMES)
    for start, end, name in regimes:
        speech = scene.speech[start * 16000 : end * 16000]
        if name == "silence":
            assert not speech.any()
        elif end - start >= 4:
            assert 0.2 < speech.mean() < 0.9, (start, name)  # utterances and pauses


def test_speech_is_louder_than_the_background_except_in_noise() -> None:
    scene = SpeechScene(seed=1, seconds=60)
    for start, end, name in scene.regimes:
        span = slice(start * 16000, end * 16000)
        samples, speech = scene.samples[span], scene.speech[span]
        if name in ("clear", "soft"):
            snr = 20 * np.log10(samples[speech].std() / samples[~speech].std())
            assert snr > 15, (start, name, snr)


def test_empty_scene_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="empty"):
        SpeechScene(seconds=0)
