"""The procedural face scene: deterministic, regime-structured, and faces a real face
detector finds."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from oneadapt.errors import ConfigurationError
from oneadapt.media.face_scene import REGIME_NAMES, FaceSceneSource, faces_from_spec
from oneadapt.media.sources import open_source


def _digests(source: FaceSceneSource, seconds: int) -> list[str]:
    return [
        hashlib.sha256(frame.tobytes()).hexdigest()
        for segment in source.segments(seconds)
        for frame in segment.frames
    ]


def test_same_seed_is_bit_identical_a_shorter_scene_its_start_and_seeds_differ() -> None:
    a = _digests(FaceSceneSource(seed=3, seconds=2, width=320, height=180), 2)
    assert a == _digests(FaceSceneSource(seed=3, seconds=2, width=320, height=180), 2)
    assert a == _digests(FaceSceneSource(seed=3, seconds=40, width=320, height=180), 2)
    assert a != _digests(FaceSceneSource(seed=4, seconds=2, width=320, height=180), 2)
    assert len(set(a)) == len(a)  # faces move and the sensor noise changes


def test_regimes_cover_the_scene_and_never_open_empty() -> None:
    for seed in range(12):
        regimes = FaceSceneSource(seed=seed, seconds=60).regimes
        assert regimes[0][0] == 0 and regimes[-1][1] == 60 and regimes[0][2] != "empty"
        assert all(a[1] == b[0] for a, b in zip(regimes, regimes[1:], strict=False))
        assert {name for _, _, name in regimes} <= set(REGIME_NAMES)


def test_segments_are_uint8_frames_of_the_asked_size() -> None:
    segment = next(FaceSceneSource(seed=1, seconds=1, width=320, height=180, fps=5).segments())
    assert segment.frames.shape == (5, 180, 320, 3) and segment.frames.dtype == np.uint8
    assert segment.index == 0 and segment.ground_truth is None


def test_specs() -> None:
    assert isinstance(open_source("faces:2", scene_seconds=3), FaceSceneSource)
    source = faces_from_spec("faces:5:180", seconds=3)
    assert (source.seed, source.width, source.height, source.seconds) == (5, 320, 180, 3)
    assert (faces_from_spec("faces").seed, faces_from_spec("faces").height) == (0, 360)
    for bad in ("faces:x", "faces:1:big", "face:1"):
        with pytest.raises(ConfigurationError, match="not a faces spec"):
            faces_from_spec(bad)
    with pytest.raises(ConfigurationError, match="invalid"):
        FaceSceneSource(seconds=0)


def test_yunet_finds_the_faces_and_none_on_an_empty_wall(shared_data: Path) -> None:
    from oneadapt.models.registry import load_model

    model = load_model(shared_data / "models" / "yunet_s_dynamic.onnx")
    source = FaceSceneSource(seed=2, seconds=60)  # dim, empty, crowd
    found = {}
    for start, _, name in source.regimes[:3]:
        output = model.infer(source.frame((start + 2) * source.fps)[None])[0]
        found[name] = int((output.instances.scores >= 0.5).sum())
    assert found["empty"] == 0
    assert found["dim"] >= 2 and found["crowd"] >= 6
