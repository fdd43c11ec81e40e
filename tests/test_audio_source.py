"""Audio files to 1-second mono segments, and the clear errors bad files get."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from oneadapt.errors import MediaError
from oneadapt.media.audio import AudioFileSource, resample


def write_audio(path: Path, samples: np.ndarray, rate: int, channels: int = 1) -> Path:
    """A 16-bit PCM wav (or FLAC, by suffix) of ``samples`` repeated on every channel."""
    codec = "flac" if path.suffix == ".flac" else "pcm_s16le"
    layout = "mono" if channels == 1 else "stereo"
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(
            np.repeat(pcm[None], channels, 0).T.reshape(1, -1).copy(), format="s16", layout=layout
        )
        frame.sample_rate = rate
        for packet in (*stream.encode(frame), *stream.encode(None)):
            container.mux(packet)
    return path


def tone(seconds: float, rate: int, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_stereo_flac_at_44k_becomes_mono_16k_whole_seconds(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "tone.flac", tone(2.5, 44100), 44100, channels=2)
    source = AudioFileSource(path)
    segments = list(source.segments())
    assert [s.index for s in segments] == [0, 1]  # the half second at the end is dropped
    assert all(len(s) == 16000 and s.sample_rate == 16000 for s in segments)
    assert segments[0].samples.dtype == np.float32
    # The same tone, resampled: amplitude kept (channels averaged, not summed).
    assert np.abs(segments[1].samples).max() == pytest.approx(0.5, abs=0.01)
    assert len(list(source.segments(max_seconds=1))) == 1


def test_resample_keeps_duration_and_waveform() -> None:
    x = tone(1.0, 16000, hz=300.0)
    down = resample(x, 16000, 8000)
    assert len(down) == 8000
    back = resample(down, 8000, 16000)
    assert np.corrcoef(x[100:-100], back[100:-100])[0, 1] > 0.99


def junk(path: Path) -> Path:
    path.write_bytes(b"RIFF, but not a wave file. " * 20)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "absent.wav", "does not exist"),
        (lambda p: p, "is a directory"),
        (lambda p: junk(p / "bad.wav"), "cannot decode"),
        (lambda p: write_audio(p / "silent.wav", np.zeros(32000, np.float32), 16000), "silent"),
        (lambda p: write_audio(p / "short.wav", tone(0.5, 16000), 16000), "under one second"),
    ],
)
def test_bad_files_raise_one_clear_media_error(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(MediaError, match=message) as info:
        AudioFileSource(make(tmp_path))
    assert info.value.fix  # every error says how to fix it


def test_shared_files_decode_to_their_stated_lengths(shared_data: Path) -> None:
    stated = {
        "arctic_a0024.wav": 3,
        "vosk_test.wav": 8,
        "silero_test.wav": 60,
        "whisper_jfk.flac": 11,
    }
    for name, seconds in stated.items():
        source = AudioFileSource(shared_data / "audio" / name)
        assert source.seconds == seconds, name
        assert 0.01 < float(np.abs(source.samples).max()) <= 1.0, name
