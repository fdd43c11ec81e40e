"""Shared fixtures. Tests that need ../shared/data skip with a message when it is absent;
tests that need only *a* real video file use :func:`scene_clip`, written here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from oneadapt.storage import shared_data_dir

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (or ``$ONEADAPT_DATA``); skips the test when it is not there."""
    path = shared_data_dir()
    if not (path / "videos").is_dir():
        pytest.skip(f"shared data not found at {path} (set ONEADAPT_DATA to run this test)")
    return path


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test session gets its own inference cache, so no result leaks in from outside."""
    if "ONEADAPT_CACHE" not in os.environ:
        monkeypatch.setenv("ONEADAPT_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def onnx_and_clip(request: pytest.FixtureRequest) -> tuple[Path, Path]:
    """(ONNX detector, video file): YOLOX-Nano and the motorway clip from shared data, else
    the exported built-in detector and the scene clip (files of the project's own)."""
    data = shared_data_dir()
    model = data / "models" / "yolox_nano_416x416.onnx"
    clip = data / "videos" / "bgslibrary_video02_highway_cctv.avi"
    if model.is_file() and clip.is_file():
        return model, clip
    return request.getfixturevalue("builtin_onnx"), request.getfixturevalue("scene_clip")


@pytest.fixture(scope="session")
def yolox_highway(request: pytest.FixtureRequest):
    """YOLOX (no cache) and the motorway clip (320x240) at 5 fps with its default knob space:
    (detector, task, source, space). Without shared data, the same ONNX path on files of the
    project's own: the exported built-in detector and the scene clip (also 320x240)."""
    from oneadapt.inference_cache import Detector
    from oneadapt.knobs import ConfigSpace
    from oneadapt.media.sources import VideoSource
    from oneadapt.models.registry import load_model
    from oneadapt.tasks.detection import DetectionTask

    model_path, clip = request.getfixturevalue("onnx_and_clip")
    model = load_model(str(model_path))
    source = VideoSource(clip, fps=5)
    space = ConfigSpace.default(source.height, analysis_fps=source.fps)
    return Detector(model), DetectionTask.for_model(model.class_names), source, space


@pytest.fixture(scope="session")
def scene_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real H.264 mp4 of the procedural scene (320x240, 10 fps, 10 s, near-lossless), written
    with PyAV: file-reading paths run on it without shared data."""
    import av

    from oneadapt.media.scene import SceneSource

    path = tmp_path_factory.mktemp("clip") / "scene.mp4"
    source = SceneSource(seed=0, seconds=10, width=320, height=240, fps=10)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=source.fps)
        stream.width, stream.height, stream.pix_fmt = source.width, source.height, "yuv420p"
        stream.options = {"qp": "4", "preset": "veryfast"}
        for segment in source.segments():
            for frame in segment.frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


@pytest.fixture(scope="session")
def highway_segment(shared_data: Path):
    """The motorway clip's first second at 10 fps: real footage (camera noise, traffic) for
    the knobs whose effect needs it."""
    from oneadapt.media.sources import VideoSource

    source = VideoSource(shared_data / "videos" / "bgslibrary_video02_highway_cctv.avi", fps=10)
    return next(iter(source.segments(1)))


@pytest.fixture(scope="session")
def video_segment(scene_clip: Path):
    """A second decoded from a video file at 10 fps: the motorway clip's first, or without
    shared data the first of :func:`scene_clip`."""
    from oneadapt.media.sources import VideoSource

    clip = shared_data_dir() / "videos" / "bgslibrary_video02_highway_cctv.avi"
    source = VideoSource(clip if clip.is_file() else scene_clip, fps=10)
    return next(iter(source.segments(1)))


@pytest.fixture(scope="session")
def builtin_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in detector exported to ONNX in the YOLOX layout (tests/onnx_helpers.py):
    a detector file of the project's own for the ONNX path."""
    from onnx_helpers import export_builtin_onnx

    return export_builtin_onnx(tmp_path_factory.mktemp("onnx") / "builtin_yolox.onnx")


@pytest.fixture(scope="session")
def segmenter_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in detector exported as a DeepLab-layout VOC segmenter (tests/onnx_helpers.py)."""
    from onnx_helpers import export_segmenter_onnx

    return export_segmenter_onnx(tmp_path_factory.mktemp("onnx") / "builtin_deeplab.onnx")


@pytest.fixture(scope="session")
def landmarks_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in detector exported as a YuNet-layout landmark model (tests/onnx_helpers.py)."""
    from onnx_helpers import export_landmarks_onnx

    return export_landmarks_onnx(tmp_path_factory.mktemp("onnx") / "builtin_yunet.onnx")
