"""ONNX detectors (real pretrained ones, and the built-in detector exported by the tests): the
PyTorch and onnxruntime paths agree, gradients flow, detections make sense, and bad model
files or names give user-facing errors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from onnx_helpers import export

from oneadapt.errors import OneAdaptError
from oneadapt.media.sources import VideoSource
from oneadapt.models.base import Model, to_tensor
from oneadapt.models.onnx_detectors import COCO_CLASSES, OnnxDetector
from oneadapt.models.registry import load_model
from oneadapt.storage import shared_data_dir
from oneadapt.tasks.detection import Detections, box_iou

MODELS = {
    "yolox": "yolox_nano_416x416.onnx",
    "fastestdet": "FastestDet_352.onnx",
    "nanodet": "nanodet_m_320.onnx",
}
# Seconds of intel_car-detection with a car in view (the lot is empty in between).
CAR_SECONDS = [5, 6, 7, 8, 16, 17, 18, 26, 27, 28]


OWN = "builtin-export"
"""The built-in detector exported to ONNX (conftest ``builtin_onnx``): needs no shared data."""


@pytest.fixture(scope="module")
def clips(scene_clip: Path) -> list[np.ndarray]:
    """20 real frames: 10 overhead parking-lot frames with cars, 10 motorway CCTV frames;
    without shared data, 4 frames at 1 fps and 10 at 10 fps decoded from the scene clip."""
    videos = shared_data_dir() / "videos"
    if not videos.is_dir():
        spread = np.concatenate([s.frames for s in VideoSource(scene_clip, fps=1).segments()])
        return [spread, next(VideoSource(scene_clip).segments(1)).frames]
    lot = VideoSource(videos / "intel_car-detection.mp4", fps=1).segments()
    lot_frames = np.concatenate([s.frames for s in lot])[CAR_SECONDS]
    highway = next(VideoSource(videos / "bgslibrary_video02_highway_cctv.avi").segments(1))
    return [lot_frames, highway.frames]


@pytest.fixture(scope="module", params=[*MODELS, OWN])
def detector(request: pytest.FixtureRequest) -> OnnxDetector:
    if request.param == OWN:
        return OnnxDetector(request.getfixturevalue("builtin_onnx"))
    return OnnxDetector(request.getfixturevalue("shared_data") / "models" / MODELS[request.param])


def _max_matched_score_gap(a: Detections, b: Detections) -> float:
    """Largest score difference between ``a``'s detections >= 0.3 and their twin in ``b``
    (same class, IoU > 0.9); infinite when one has no twin."""
    gap = 0.0
    strong = a.scores >= 0.3
    iou = box_iou(a.boxes[strong], b.boxes)
    same = a.classes[strong][:, None] == b.classes[None, :]
    for row, score, twins in zip(iou, a.scores[strong], same, strict=True):
        candidates = (row > 0.9) & twins
        if not candidates.any():
            return float("inf")
        gap = max(gap, float((b.scores[candidates] - score).abs().min()))
    return gap


def test_torch_forward_matches_onnxruntime(detector: OnnxDetector, clips: list[np.ndarray]):
    for frames in clips:
        fast = detector.infer(frames)
        with torch.no_grad():
            slow = detector.forward(to_tensor(frames))
        assert len(fast) == len(slow) == len(frames)
        for f, s in zip(fast, slow, strict=True):
            assert int((f.scores >= 0.3).sum()) == int((s.scores >= 0.3).sum())
            assert _max_matched_score_gap(f, s) < 1e-3
            assert _max_matched_score_gap(s, f) < 1e-3
            assert len(f) <= detector.max_detections
            height, width = frames.shape[1:3]
            assert f.boxes[:, 0::2].min() >= 0 and f.boxes[:, 0::2].max() <= width
            assert f.boxes[:, 1::2].min() >= 0 and f.boxes[:, 1::2].max() <= height


def test_scores_have_input_gradient(detector: OnnxDetector, clips: list[np.ndarray]):
    frames = to_tensor(clips[1][:1], requires_grad=True)
    detections = detector.forward(frames)
    total = sum(d.scores.sum() for d in detections)
    assert isinstance(total, torch.Tensor) and total.requires_grad
    total.backward()
    assert torch.isfinite(frames.grad).all()
    assert frames.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in detector.module.parameters())


def test_yolox_finds_vehicles(shared_data: Path, clips: list[np.ndarray]):
    model = OnnxDetector(shared_data / "models" / MODELS["yolox"])
    lot, highway = (model.infer(frames) for frames in clips)
    car = COCO_CLASSES.index("car")
    # Motorway CCTV: confident cars in every frame.
    assert all(((d.classes == car) & (d.scores >= 0.5)).any() for d in highway)
    # Overhead lot: each car is boxed confidently (YOLOX-Nano often calls a car seen from
    # straight above a "cell phone"), and at least one is called a vehicle.
    assert sum(bool((d.scores >= 0.5).any()) for d in lot) >= 6
    vehicles = [COCO_CLASSES.index(n) for n in ("car", "bus", "truck")]
    assert any(len(d.select(vehicles, 0.5)) for d in lot)


def test_model_identity(detector: OnnxDetector):
    assert detector.id.startswith(detector.family.name + "-")
    assert len(detector.class_names) == 80 and detector.class_names[2] == "car"
    assert detector.infer(np.zeros((0, 64, 64, 3), np.uint8)) == []


@pytest.mark.parametrize(
    "filename", ["deeplabv3_mnv2_voc_257.onnx", "face_detection_yunet_2023mar.onnx"]
)
def test_unknown_family_is_rejected(shared_data: Path, filename: str):
    with pytest.raises(OneAdaptError, match="not a supported detector") as info:
        OnnxDetector(shared_data / "models" / filename)
    assert filename in info.value.problem and "YOLOX" in info.value.problem


@pytest.mark.parametrize("content", [b"definitely not onnx\n", "truncated"])
def test_corrupt_file_is_rejected(builtin_onnx: Path, tmp_path: Path, content: bytes | str):
    bad = tmp_path / "broken.onnx"
    if content == "truncated":
        content = builtin_onnx.read_bytes()[:5000]
    bad.write_bytes(content)
    with pytest.raises(OneAdaptError, match="broken.onnx"):
        load_model(str(bad))


def test_load_model_by_name(builtin_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "yolox_nano_416x416.onnx").symlink_to(builtin_onnx)
    monkeypatch.setenv("ONEADAPT_MODELS", str(tmp_path))
    by_name = load_model("yolox-nano")
    by_stem = load_model("yolox_nano_416x416")
    by_path = load_model(str(tmp_path / "yolox_nano_416x416.onnx"))
    assert isinstance(by_name, Model) and by_name.id == by_stem.id == by_path.id
    with pytest.raises(OneAdaptError, match="oneadapt models pull fastestdet"):
        load_model("fastestdet")
    with pytest.raises(OneAdaptError, match="unknown model 'nope'.*yolox_nano_416x416"):
        load_model("nope")


def test_load_model_bad_paths(tmp_path: Path):
    with pytest.raises(OneAdaptError, match="does not exist"):
        load_model(str(tmp_path / "missing.onnx"))
    (tmp_path / "weights.pt").write_bytes(b"x")
    with pytest.raises(OneAdaptError, match="unknown model format"):
        load_model(str(tmp_path / "weights.pt"))


def test_load_builtin():
    if importlib.util.find_spec("oneadapt.models.builtin") is None:
        with pytest.raises(OneAdaptError, match="builtin"):
            load_model("builtin")
        return
    try:
        model = load_model("builtin")
    except OneAdaptError:  # the module exists but its weights may not be built yet
        return
    assert isinstance(model, Model)


def test_the_exported_builtin_detector_detects_what_the_builtin_does(
    builtin_onnx: Path, clips: list[np.ndarray]
) -> None:
    """Through onnxruntime, the export finds the built-in detector's boxes and scores (its
    scene classes under their COCO ids) on the first frames."""
    exported, builtin = load_model(str(builtin_onnx)), load_model("builtin")
    assert isinstance(exported, OnnxDetector) and exported.family.name == "yolox"
    coco = torch.tensor([COCO_CLASSES.index(n) for n in builtin.class_names])
    frames = clips[-1][:3]
    for ours, theirs in zip(exported.infer(frames), builtin.infer(frames), strict=True):
        strong = ours.scores >= 0.3
        assert strong.sum() >= 1
        twin = theirs.select(list(range(len(builtin.class_names))), 0.25)
        iou = box_iou(ours.boxes[strong], twin.boxes)
        same = ours.classes[strong][:, None] == coco[twin.classes][None, :]
        assert ((iou > 0.9) & same).any(1).all()


def test_a_graph_with_no_detector_outputs_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "conv.onnx"
    export(torch.nn.Conv2d(3, 8, 3), torch.zeros(1, 3, 32, 32), path, "images", "features")
    with pytest.raises(OneAdaptError, match="not a supported detector") as info:
        load_model(str(path))
    assert "conv.onnx" in info.value.problem
