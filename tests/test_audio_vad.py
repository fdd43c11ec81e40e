"""Silero VAD made differentiable: same decisions as the packaged model, real input gradients,
and speech found in the procedural scene (no shared data needed)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from oneadapt.errors import ConfigurationError
from oneadapt.media.audio import AudioFileSource, resample
from oneadapt.media.speech_scene import SpeechScene
from oneadapt.models.silero_vad import CHUNK_SAMPLES, load_silero_vad
from oneadapt.tasks.vad import SpeechProbabilities, VadTask, speech_windows


@pytest.fixture(scope="module")
def vad():
    return load_silero_vad()


@pytest.fixture(scope="module")
def packaged():
    silero_vad = pytest.importorskip("silero_vad")
    with warnings.catch_warnings():  # its own deprecation warnings, not ours
        warnings.simplefilter("ignore", DeprecationWarning)
        return silero_vad.load_silero_vad()


@pytest.fixture(scope="module")
def scene() -> SpeechScene:
    return SpeechScene(seed=0, seconds=24)


def packaged_probabilities(packaged, samples: np.ndarray, rate: int) -> np.ndarray:
    """The packaged TorchScript model's own chunk-by-chunk pass from a fresh state."""
    return packaged.audio_forward(torch.from_numpy(samples)[None], rate)[0].numpy()


@pytest.mark.parametrize("rate", [16000, 8000])
def test_same_probabilities_as_the_packaged_model(vad, packaged, scene, rate: int) -> None:
    samples = resample(scene.samples[: 5 * 16000 + 300], 16000, rate)  # a partial last window
    ours, theirs = vad.infer(samples, rate), packaged_probabilities(packaged, samples, rate)
    assert ours.shape == theirs.shape == (-(-len(samples) // CHUNK_SAMPLES[rate]),)
    assert np.abs(ours - theirs).max() < 1e-4
    assert ((ours >= 0.5) == (theirs >= 0.5)).all()
    assert 0.2 < (ours >= 0.5).mean() < 0.9  # not a trivial all-speech or no-speech stretch


def test_same_decisions_as_the_packaged_model_on_real_speech(vad, packaged, shared_data: Path):
    for name in ("vosk_test.wav", "whisper_jfk.flac"):
        samples = AudioFileSource(shared_data / "audio" / name).samples
        for rate in (16000, 8000):
            at_rate = resample(samples, 16000, rate)
            ours = vad.infer(at_rate, rate)
            theirs = packaged_probabilities(packaged, at_rate, rate)
            assert np.abs(ours - theirs).max() < 1e-4, (name, rate)


def test_batch_rows_are_independent(vad, scene) -> None:
    one = torch.from_numpy(scene.samples[:16000])
    two = torch.from_numpy(scene.samples[16000:32000])
    batched = vad(torch.stack([one, two]), 16000)
    assert torch.allclose(batched[1], vad(two[None], 16000)[0], atol=1e-6)


def test_proxy_gradient_is_real_and_flows_to_the_waveform(scene) -> None:
    task = VadTask()
    segment = list(scene.segments(2))[1]
    audio = torch.from_numpy(segment.samples)[None].double().requires_grad_()
    vad64 = load_silero_vad().double()  # float64, so the first-order check below is exact
    proxy = task.proxy(SpeechProbabilities(vad64(audio, 16000)[0]))
    (grad,) = torch.autograd.grad(proxy, audio)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    # A small step along the gradient raises the proxy by |grad| * step (first order).
    step = 1e-4
    with torch.no_grad():
        moved = task.proxy(SpeechProbabilities(vad64(audio + step * grad / grad.norm(), 16000)[0]))
    assert float(moved - proxy.detach()) == pytest.approx(step * float(grad.norm()), rel=0.05)


def test_gradient_is_large_near_decisions_and_vanishes_on_confident_seconds(vad, scene) -> None:
    """DNNGrad's scale: seconds with windows near the threshold pull hard, seconds where every
    window is confidently decided (here: pauses and background noise) give almost nothing."""
    task, near, confident = VadTask(), [], []
    for segment in scene.segments():
        audio = torch.from_numpy(segment.samples)[None].requires_grad_()
        probabilities = vad(audio, 16000)[0]
        task.proxy(SpeechProbabilities(probabilities)).backward()
        uncertain = int(((probabilities > 0.1) & (probabilities < 0.9)).sum())
        norm = float(audio.grad.norm())
        if uncertain >= 5:
            near.append(norm)
        elif uncertain == 0:
            confident.append(norm)
    assert near and confident
    assert max(confident) < 0.01 * min(near), (confident, near)


def test_gradient_is_finite_on_digital_silence(vad) -> None:
    audio = torch.zeros(1, 16000, requires_grad=True)
    VadTask().proxy(SpeechProbabilities(vad(audio, 16000)[0])).backward()
    assert torch.isfinite(audio.grad).all()


def test_unsupported_rate_is_a_clear_error(vad) -> None:
    with pytest.raises(ConfigurationError, match="16000 or 8000"):
        vad.infer(np.zeros(12000, np.float32), 12000)


def test_vad_finds_the_speech_in_the_procedural_scene(vad, scene) -> None:
    probabilities = vad.infer(scene.samples, 16000)
    truth = speech_windows(scene.speech, CHUNK_SAMPLES[16000])
    found = VadTask().decisions(probabilities)
    assert truth.mean() > 0.25  # there is speech to find
    assert found[truth].mean() > 0.9  # recall
    assert found[~truth].mean() < 0.15  # false alarms (mostly Silero's hangover after speech)
    for start, end, name in scene.regimes:
        span = slice(int(start / 0.032), int(end / 0.032))
        if name == "silence":
            assert found[span].mean() < 0.05, (start, name)


def test_model_id_names_package_and_weights(vad) -> None:
    assert vad.id.startswith("silero-vad-6.") and len(vad.id.rsplit("-", 1)[1]) == 12
