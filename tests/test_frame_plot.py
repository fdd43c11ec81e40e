"""The frame plot: segmentation overlays and keypoints drawn, a PNG written, and a task
it cannot draw refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from oneadapt.evaluate.frame_plot import plot_frame_outputs
from oneadapt.models.onnx_segmenter import VOC_CLASSES
from oneadapt.tasks.detection import Detections
from oneadapt.tasks.keypoints import Keypoints, KeypointTask
from oneadapt.tasks.segmentation import SegmentationMap, SegmentationTask
from oneadapt.tasks.vad import VadTask

FRAME = np.full((60, 80, 3), 128, np.uint8)


def is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000


def test_segmentation_overlay_is_written(tmp_path: Path) -> None:
    task = SegmentationTask.for_model(VOC_CLASSES, ("person", "car"))
    ref = torch.zeros((30, 40), dtype=torch.long)
    ref[5:20, 5:15] = VOC_CLASSES.index("person")
    coded = ref.clone()
    coded[5:20, 10:15] = 0
    path = tmp_path / "seg.png"
    plot_frame_outputs(
        task,
        ("ref", FRAME, SegmentationMap(ref)),
        [("qp40", FRAME, SegmentationMap(coded))],
        path,
        "t",
        VOC_CLASSES,
    )
    assert is_png(path)


def test_keypoints_are_written_and_other_tasks_refused(tmp_path: Path) -> None:
    box = torch.tensor([[10.0, 10.0, 40.0, 40.0]])
    face = Keypoints(
        Detections(box, torch.tensor([0.9]), torch.zeros(1, dtype=torch.long)),
        torch.tensor([[[20.0, 20.0], [30.0, 20.0], [25.0, 25.0], [20.0, 32.0], [30.0, 32.0]]]),
    )
    path = tmp_path / "kp.png"
    plot_frame_outputs(
        KeypointTask(), ("ref", FRAME, face), [("cheap", FRAME, Keypoints.empty(5))], path, "t"
    )
    assert is_png(path)
    with pytest.raises(ValueError, match="VadTask"):
        plot_frame_outputs(VadTask(), ("ref", FRAME, face), [], tmp_path / "x.png", "t")
