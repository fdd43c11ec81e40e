"""AccMPEG: the camera-side saliency on synthetic frames, and the policy on a real clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from oneadapt.adapt.accmpeg import AccMPEGPolicy, block_saliency
from oneadapt.adapt.baselines import make_policy
from oneadapt.adapt.policy import PolicyContext
from oneadapt.adapt.profiler import Profiler
from oneadapt.errors import ConfigurationError
from oneadapt.inference_cache import Detector, InferenceCache
from oneadapt.knobs import ConfigSpace
from oneadapt.media.sources import VideoSource
from oneadapt.models.registry import load_model
from oneadapt.tasks.detection import DetectionTask


def synthetic(frames: int = 10) -> np.ndarray:
    """A flat grey 64x96 background; a static checkerboard in block (0, 0); a bright square
    moving right along block row 2 (columns 1 to 4)."""
    video = np.full((frames, 64, 96, 3), 100, np.uint8)
    checker = (np.indices((16, 16)).sum(axis=0) % 2 * 120 + 60).astype(np.uint8)
    video[:, :16, :16] = checker[..., None]
    for t in range(frames):
        x = 16 + 5 * t
        video[t, 36:44, x : x + 8] = 230
    return video


def test_saliency_marks_moving_and_textured_blocks_above_flat_static_ones() -> None:
    score = block_saliency(synthetic())
    assert score.shape == (4, 6)
    flat = score[3:, :].max()  # bottom row: flat, nothing moves
    assert score[0, 0] > flat  # texture
    assert score[2, 1:4].min() > flat  # motion
    assert np.all(score[3] == score[3, 0])  # a flat static region is uniform
    # Sensor noise on an empty static scene gives a near-uniform map, no structure.
    noise = block_saliency(np.random.default_rng(0).integers(99, 102, (6, 32, 32, 3), np.uint8))
    assert noise.max() - noise.min() < 0.1 * noise.mean()


@pytest.fixture(scope="module")
def setup(onnx_and_clip: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory):
    model_path, clip = onnx_and_clip
    model = load_model(str(model_path))
    task = DetectionTask.for_model(model.class_names)
    cache = InferenceCache(tmp_path_factory.getbasetemp() / "cache" / "detections.sqlite")
    source = VideoSource(clip, fps=5)
    return Detector(model, cache), task, source


def test_accmpeg_refuses_a_space_without_roi(setup) -> None:
    detector, task, source = setup
    space = ConfigSpace.default(240, 5, qp=(24, 40), height=(240,), fps=(5,))
    with pytest.raises(ConfigurationError, match="roi") as caught:
        make_policy("accmpeg", PolicyContext(space, detector, task), 0.3, source=source)
    assert "\n" not in str(caught.value.args[0])


def test_accmpeg_maps_each_second_and_profiles_only_roi(setup) -> None:
    detector, task, source = setup
    space = ConfigSpace.default(240, 5, qp=(24, 40), height=(240,), fps=(5,), roi=(1.0, 0.25, 0))
    context = PolicyContext(space, detector, task)
    profiler = Profiler(detector, task, space.reference)
    policy = make_policy(
        "accmpeg", context, 1.0, profiler=profiler, source=source, offline_seconds=1, period=2
    )
    assert isinstance(policy, AccMPEGPolicy)
    assert policy.saliency() is None
    encoding = policy.current
    assert encoding["roi"] == 1.0  # best-fixed chose the rest with every block at quality
    decisions, segments = [], list(source.segments(3))
    for segment in segments:
        config = policy.decide(segment.index, segment)
        grid = (-(-segment.height // 16), -(-segment.width // 16))
        assert policy.saliency() is not None and policy.saliency().shape == grid
        decisions.append((config, policy.take_overhead()))
    assert decisions[0][0] == encoding  # the old configuration while profiling
    assert {c["qp"] for c, _ in decisions} == {encoding["qp"]}  # the encoding never moves
    assert all(o.camera_seconds > 0 for _, o in decisions)  # the map is charged
    assert decisions[0][1].profiling_inferences > 0 and decisions[1][1].profiling_inferences == 0
    # Profiling codes each share with the camera's map: fewer blocks at quality, fewer bytes.
    first = block_saliency(segments[0].frames)
    shares = [profiler.measure(segments[0], encoding.with_knob("roi", v), first) for v in (1, 0)]
    assert shares[1].bytes < shares[0].bytes
