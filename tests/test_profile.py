"""The profile pipeline on a real clip with a real detector, and its inference cache."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
import torch

from oneadapt.inference_cache import Detector, InferenceCache
from oneadapt.tasks.detection import Detections

REQUIRED = [
    "second",
    "qp",
    "height",
    "fps",
    "accuracy",
    "bytes",
    "frames_inferred",
    "dnn_seconds",
    "encode_seconds",
]


def test_cache_round_trip(tmp_path):
    cache = InferenceCache(tmp_path / "c.sqlite")
    dets = Detections(torch.tensor([[1.0, 2, 3, 4]]), torch.tensor([0.7]), torch.tensor([2]))
    cache.put("k", dets, 0.25)
    got, seconds = cache.get("k", Detections)
    assert seconds == 0.25 and got.classes.tolist() == [2]
    assert torch.allclose(got.boxes, dets.boxes) and torch.allclose(got.scores, dets.scores)
    assert cache.get("other", Detections) is None


def test_profile_cli_end_to_end(tmp_path, onnx_and_clip):
    model, video = onnx_and_clip
    args = [
        sys.executable,
        "-m",
        "oneadapt",
        "profile",
        str(video),
        "--model",
        str(model),
        "--seconds",
        "2",
        "--qp",
        "20,35,50",
        "--res",
        "240,120",
        "--fps",
        "10,2",
    ]
    env_cache = {"ONEADAPT_CACHE": str(tmp_path / "cache")}
    env = {**os.environ, **env_cache}
    first = subprocess.run(
        [*args, "--out", str(tmp_path / "a")], capture_output=True, text=True, env=env, timeout=600
    )
    assert first.returncode == 0, first.stderr
    df = pd.read_parquet(tmp_path / "a" / "profile.parquet")
    assert set(REQUIRED) <= set(df.columns)
    assert len(df) == 2 * 3 * 2 * 2
    assert (tmp_path / "a" / "profile.png").stat().st_size > 10_000
    reference = df[(df.qp == 20) & (df.height == 240) & (df.fps == 10)]
    assert (reference.accuracy == 1.0).all()
    # Bytes fall with QP at fixed resolution and frame rate, every second.
    for _, group in df.groupby(["second", "height", "fps"]):
        assert group.sort_values("qp")["bytes"].is_monotonic_decreasing
    assert df[df.qp == 50].accuracy.mean() < df[df.qp == 20].accuracy.mean()
    assert "Pareto front" in first.stdout

    second = subprocess.run(
        [*args, "--out", str(tmp_path / "b")], capture_output=True, text=True, env=env, timeout=600
    )
    assert second.returncode == 0, second.stderr
    again = pd.read_parquet(tmp_path / "b" / "profile.parquet")
    assert (again.cached_frames == again.frames_inferred).all()
    assert "100.0%" in second.stderr
    pd.testing.assert_series_equal(again.accuracy, df.accuracy)


@pytest.mark.parametrize("frames", [1, 3])
def test_detector_counts_cache_hits(tmp_path, onnx_and_clip, frames):
    from oneadapt.media.sources import VideoSource
    from oneadapt.models.registry import load_model

    model, clip = onnx_and_clip
    seg = next(VideoSource(clip).segments(1))
    det = Detector(load_model(str(model)), InferenceCache(tmp_path / "c.sqlite"))
    a = det.detect(seg.frames[:frames])
    b = det.detect(seg.frames[:frames])
    assert a.cached == 0 and b.cached == frames
    assert [len(d) for d in a.outputs] == [len(d) for d in b.outputs]


def test_atomic_writes_leave_no_temporary_and_normal_permissions(tmp_path):
    from oneadapt.storage import atomic_path, atomic_write_text

    atomic_write_text(tmp_path / "a.json", "{}")
    assert (tmp_path / "a.json").stat().st_mode & 0o644 == 0o644
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "b.json") as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
