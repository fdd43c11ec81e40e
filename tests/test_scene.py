"""The procedural scene: deterministic, labelled, regime-structured."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from oneadapt.errors import OneAdaptError
from oneadapt.media.scene import SCENE_CLASSES, SceneSource, scene_from_spec
from oneadapt.tasks.detection import DEFAULT_CLASSES, DetectionTask
from oneadapt.tasks.ground_truth import map50


def _digest(source: SceneSource, seconds: int) -> list[tuple[str, bytes]]:
    out = []
    for segment in source.segments(seconds):
        for frame, gt in zip(segment.frames, segment.ground_truth, strict=True):
            out.append((hashlib.sha256(frame.tobytes()).hexdigest(), gt.to_array().tobytes()))
    return out


def test_same_seed_is_bit_identical_and_seeds_differ() -> None:
    a = _digest(SceneSource(seed=3, seconds=2, width=320, height=180), 2)
    b = _digest(SceneSource(seed=3, seconds=2, width=320, height=180), 2)
    c = _digest(SceneSource(seed=4, seconds=2, width=320, height=180), 2)
    assert a == b
    assert [h for h, _ in a] != [h for h, _ in c]
    assert len({h for h, _ in a}) == len(a)  # frames move


def test_segments_carry_labels_inside_the_frame() -> None:
    source = SceneSource(seed=1, seconds=3, width=640, height=360)
    segments = list(source.segments())
    assert [s.index for s in segments] == [0, 1, 2]
    total = 0
    for segment in segments:
        assert segment.frames.shape == (10, 360, 640, 3) and segment.frames.dtype == np.uint8
        np.testing.assert_allclose(segment.timestamps, segment.index + np.arange(10) / 10)
        assert len(segment.ground_truth) == len(segment)
        for gt in segment.ground_truth:
            total += len(gt)
            b = gt.boxes
            assert torch.all(b[:, 0] >= 0) and torch.all(b[:, 1] >= 0)
            assert torch.all(b[:, 2] <= 640) and torch.all(b[:, 3] <= 360)
            assert torch.all(b[:, 2] - b[:, 0] >= 4) and torch.all(b[:, 3] - b[:, 1] >= 4)
            assert torch.all(gt.scores == 1.0)
            assert set(gt.classes.tolist()) <= set(range(len(SCENE_CLASSES)))
    assert total > 0


def test_regimes_tile_the_video_in_10_to_30_second_pieces() -> None:
    for seed in range(5):
        regimes = SceneSource(seed=seed, seconds=300).regimes
        assert regimes[0][0] == 0 and regimes[-1][1] == 300
        assert regimes[0][2] != "empty"
        for (_, e0, _), (s1, _, _) in zip(regimes, regimes[1:], strict=False):
            assert e0 == s1
        assert all(10 <= end - start <= 30 for start, end, _ in regimes[:-1])
        assert 1 <= regimes[-1][1] - regimes[-1][0] <= 30
        assert all(a[2] != b[2] for a, b in zip(regimes, regimes[1:], strict=False))


def test_a_shorter_scene_is_the_start_of_a_longer_one() -> None:
    short = SceneSource(seed=11, seconds=25, width=320, height=180)
    long = SceneSource(seed=11, seconds=90, width=320, height=180)
    assert [r[2] for r in short.regimes] == [r[2] for r in long.regimes[: len(short.regimes)]]
    assert [r[0] for r in short.regimes] == [r[0] for r in long.regimes[: len(short.regimes)]]
    for k in (0, 123, 249):
        (fa, ga), (fb, gb) = short.frame(k), long.frame(k)
        assert np.array_equal(fa, fb)
        assert np.array_equal(ga.to_array(), gb.to_array())


def test_scene_classes_are_what_the_detection_task_wants() -> None:
    task = DetectionTask.for_model(SCENE_CLASSES, DEFAULT_CLASSES)
    assert task.classes == tuple(range(len(SCENE_CLASSES)))


def test_spec_parsing() -> None:
    assert scene_from_spec("scene", fps=5, seconds=7).seed == 0
    source = scene_from_spec("scene:42", fps=5, seconds=7)
    assert (source.seed, source.fps, source.seconds, source.height) == (42, 5, 7, 720)
    with pytest.raises(OneAdaptError):
        scene_from_spec("scene:abc")


def test_map50_on_hand_made_cases() -> None:
    from oneadapt.tasks.detection import Detections

    gt = [
        Detections(torch.tensor([[10.0, 10, 50, 50], [100, 100, 140, 180]]), torch.ones(2),
                   torch.tensor([0, 1])),
        Detections.empty(),
    ]  # fmt: skip
    assert map50(gt, gt, [0, 1]) == pytest.approx(1.0)
    shifted = [
        Detections(torch.tensor([[30.0, 10, 70, 50], [100, 100, 140, 180]]),
                   torch.tensor([0.9, 0.8]), torch.tensor([0, 1])),
        Detections.empty(),
    ]  # fmt: skip
    assert map50(shifted, gt, [0, 1]) == pytest.approx(0.5)
    assert map50([Detections.empty()] * 2, gt, [0, 1]) == 0.0
