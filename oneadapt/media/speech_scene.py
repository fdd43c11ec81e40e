"""Procedural speech-like audio with exact speech labels: the audio source without shared data.

The suite and demos must run with no recordings at hand, yet voice activity detection
needs content a real VAD takes for speech, with known speech and non-speech stretches
whose difficulty changes every few seconds. Utterances are strings of syllables: an
optional fricative or plosive onset (shaped noise), then a voiced nucleus synthesised
additively (harmonics of a gliding pitch, weighted by a formant envelope that moves
from one vowel to the next), under a syllable-rate loudness contour; pauses separate
utterances. Pink background noise runs throughout, at a level set by the regime:

- ``clear``: close talker, quiet room;
- ``noisy``: the same speech in loud noise (low SNR), where coding artefacts matter most;
- ``soft``: a distant, quiet talker;
- ``silence``: background noise only, nothing a VAD should call speech.

The timeline is drawn and rendered from ``seed`` independently of ``seconds`` (a shorter
scene of a seed is exactly the start of a longer one), and the same seed gives
bit-identical audio and labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from oneadapt.errors import ConfigurationError
from oneadapt.media.audio import ANALYSIS_RATE, AudioSegment, AudioSource

REGIME_NAMES = ("clear", "noisy", "soft", "silence")
_REGIME_SECONDS = (4, 9)
"""Each regime lasts this many whole seconds (inclusive range)."""
_LEVELS = {  # regime -> (speech peak, noise RMS), linear in -1..1
    "clear": (0.35, 0.003),
    "noisy": (0.35, 0.04),
    "soft": (0.06, 0.002),
    "silence": (0.0, 0.01),
}
_VOWELS = np.array(  # formants F1, F2, F3 (Hz) of a, e, i, o, u
    [[730, 1090, 2440], [530, 1840, 2480], [270, 2290, 3010], [570, 840, 2410], [300, 870, 2240]],
    float,
)
_BANDWIDTHS = np.array([90.0, 110.0, 160.0])
_FORMANT_GAINS = np.array([1.0, 0.6, 0.3])


class Regime(NamedTuple):
    start: int
    end: int
    name: str


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed, *keys])


def pink_noise(length: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise with a 1/f power spectrum (room and street noise is roughly pink)."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1.0))
    noise = np.fft.irfft(spectrum, length)
    return noise / (noise.std() + 1e-12)


def _shaped_noise(length: int, low_hz: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS white noise above ``low_hz``: a fricative (s, f, sh) or plosive burst."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    spectrum[np.fft.rfftfreq(length, 1.0 / rate) < low_hz] = 0.0
    noise = np.fft.irfft(spectrum, length)
    return noise / (noise.std() + 1e-12)


def _voiced(length: int, f0: np.ndarray, formants: np.ndarray, rate: int) -> np.ndarray:
    """Harmonics of the pitch track ``f0`` [length] weighted by a formant envelope that moves
    along ``formants`` [length, 3]; unit peak."""
    phase = 2 * np.pi * np.cumsum(f0) / rate
    harmonics = np.arange(1, int(0.45 * rate / f0.min()) + 1)[:, None]
    freq = harmonics * f0[None]
    offset = (freq[..., None] - formants[None]) / _BANDWIDTHS
    envelope = (_FORMANT_GAINS / (1.0 + offset**2)).sum(-1) / harmonics  # glottal tilt
    envelope[freq >= 0.45 * rate] = 0.0
    wave = (envelope * np.sin(harmonics * phase[None])).sum(0)
    return wave / (np.abs(wave).max() + 1e-12)


def _syllable(rng: np.random.Generator, f0: float, rate: int) -> np.ndarray:
    """One syllable: optional unvoiced onset, then a voiced nucleus gliding between vowels."""
    parts = []
    onset = rng.choice(["none", "fricative", "plosive"], p=[0.35, 0.4, 0.25])
    if onset != "none":
        length = int(rate * (rng.uniform(0.05, 0.11) if onset == "fricative" else 0.015))
        burst = _shaped_noise(length, rng.uniform(2500, 4500), rate, rng)
        parts.append(0.25 * burst * np.hanning(length))
    length = int(rate * rng.uniform(0.12, 0.28))
    t = np.linspace(0.0, 1.0, length)
    accent = 1.0 + rng.uniform(-0.08, 0.12) * np.sin(np.pi * t)
    vibrato = 1.0 + 0.01 * np.sin(2 * np.pi * 5.5 * np.arange(length) / rate)
    pitch = f0 * accent * vibrato
    a, b = _VOWELS[rng.choice(len(_VOWELS), 2)]
    formants = a[None] + (b - a)[None] * t[:, None] ** 1.5
    contour = np.sin(np.pi * t) ** 0.6
    parts.append(_voiced(length, pitch, formants, rate) * contour)
    return np.concatenate(parts)


def _utterance(rng: np.random.Generator, seconds: float, rate: int) -> np.ndarray:
    """Syllables, with short word gaps, filling about ``seconds``; unit peak."""
    f0 = rng.uniform(95, 135) if rng.random() < 0.5 else rng.uniform(175, 240)
    parts: list[np.ndarray] = []
    total, target = 0, int(seconds * rate)
    while total < target:
        declination = 1.0 - 0.15 * total / target
        syllable = _syllable(rng, f0 * declination, rate) * rng.uniform(0.6, 1.0)
        gap = np.zeros(int(rate * rng.uniform(0.02, 0.09)) if rng.random() < 0.3 else 0)
        parts += [syllable, gap]
        total += len(syllable) + len(gap)
    return np.concatenate(parts)


class SpeechScene(AudioSource):
    """``seconds`` of speech-like audio at the analysis rate with per-sample speech labels."""

    def __init__(self, seed: int = 0, seconds: int = 60) -> None:
        if seconds < 1:
            raise ConfigurationError(
                f"a speech scene of {seconds} s is empty.", "Use at least 1 second."
            )
        self.seed, self.seconds, self.sample_rate = seed, seconds, ANALYSIS_RATE
        self.name = f"speech-scene-{seed}"
        self._regimes = self._draw_regimes()
        self.samples, self.speech = self._render()

    def _draw_regimes(self) -> list[Regime]:
        """Whole regimes drawn along an endless timeline until they cover the scene (never
        two alike in a row, and the scene opens with speech); the last may overrun it."""
        rng = _rng(self.seed, 1)
        regimes: list[Regime] = []
        start, previous = 0, "silence"
        while start < self.seconds:
            name = str(rng.choice([n for n in REGIME_NAMES if n != previous]))
            length = int(rng.integers(_REGIME_SECONDS[0], _REGIME_SECONDS[1] + 1))
            regimes.append(Regime(start, start + length, name))
            start, previous = start + length, name
        return regimes

    @property
    def regimes(self) -> list[tuple[int, int, str]]:
        return [(r.start, min(r.end, self.seconds), r.name) for r in self._regimes]

    def _render(self) -> tuple[np.ndarray, np.ndarray]:
        """Every regime rendered whole, then cut at the scene's end: a shorter scene of a seed
        is exactly the start of a longer one."""
        rate = self.sample_rate
        samples = np.zeros(self._regimes[-1].end * rate)
        speech = np.zeros(len(samples), bool)
        for k, regime in enumerate(self._regimes):
            rng = _rng(self.seed, 2, k)
            peak, noise_rms = _LEVELS[regime.name]
            lo, hi = regime.start * rate, regime.end * rate
            samples[lo:hi] = noise_rms * pink_noise(hi - lo, rng)
            if peak == 0.0:
                continue
            at = lo + int(rate * rng.uniform(0.2, 0.6))
            while True:
                words = _utterance(rng, rng.uniform(0.8, 2.5), rate) * peak
                if at + len(words) > hi:
                    break
                samples[at : at + len(words)] += words
                speech[at : at + len(words)] = True
                at += len(words) + int(rate * rng.uniform(0.4, 1.4))
        end = self.seconds * rate
        return np.clip(samples[:end], -1.0, 1.0).astype(np.float32), speech[:end]

    def segments(self, max_seconds: int | None = None) -> Iterator[AudioSegment]:
        count = self.seconds if max_seconds is None else min(self.seconds, max(0, max_seconds))
        rate = self.sample_rate
        for i in range(count):
            span = slice(i * rate, (i + 1) * rate)
            yield AudioSegment(i, self.samples[span], rate, self.speech[span])
