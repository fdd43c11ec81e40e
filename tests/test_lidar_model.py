"""The built-in LiDAR detector: committed weights, differentiable BEV grid, F1, DNNGrad."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from oneadapt.errors import ModelError
from oneadapt.media.lidar import LidarSegment
from oneadapt.media.lidar_codec import LidarSettings, encode_lidar
from oneadapt.media.lidar_scene import LidarSceneSource
from oneadapt.models.builtin_lidar import (
    CELL_M,
    GRID,
    RANGE_M,
    WEIGHTS_PATH,
    Z_BINS,
    bev_grid,
    load_builtin_lidar,
)
from oneadapt.tasks.detection import Detections
from oneadapt.tasks.ground_truth import map50
from oneadapt.tasks.lidar_detection import CAR, LIDAR_CLASSES, PERSON, bev_saliency, lidar_task

UNSEEN_SEED = 2000  # outside TRAIN_SCENE_SEEDS


@pytest.fixture(scope="module")
def model():
    return load_builtin_lidar()


@pytest.fixture(scope="module")
def scans() -> list[tuple[np.ndarray, object]]:
    source = LidarSceneSource(seed=UNSEEN_SEED, seconds=60)
    return [source.scan(k) for k in range(5, 600, 60)]


def test_loads_committed_weights_small(model) -> None:
    assert WEIGHTS_PATH.stat().st_size <= 5_000_000
    assert model.id.startswith("builtin-lidar-") and len(model.id) > len("builtin-lidar-")
    assert tuple(model.class_names) == LIDAR_CLASSES
    assert sum(p.numel() for p in model.net.parameters()) < 1_000_000


def test_missing_or_corrupt_weights_raise_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="train_builtin_lidar"):
        load_builtin_lidar(tmp_path / "absent.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a state dict")
    with pytest.raises(ModelError, match="corrupt"):
        load_builtin_lidar(bad)


def test_bev_grid_counts_every_point_once_and_is_differentiable() -> None:
    rng = np.random.default_rng(0)
    inside = rng.uniform([-30, -30, -1.8], [30, 30, 0.3], (500, 3)).astype(np.float32)
    points = torch.from_numpy(inside).requires_grad_(True)
    grid = bev_grid(points)
    # Trilinear weights of a point well inside the grid sum to one.
    assert float(torch.expm1(grid[:Z_BINS].detach()).sum()) == pytest.approx(500, rel=1e-4)
    grid[:Z_BINS].sum().backward()
    assert torch.isfinite(points.grad).all() and (points.grad.abs().sum(1) > 0).all()
    # Rows are y, columns x: a point at (x, y) lands in row (y + R) / cell, column (x + R) / cell.
    one = bev_grid(torch.tensor([[10.2, -20.2, -1.05]]))[:Z_BINS].sum(0)
    row, col = divmod(int(one.argmax()), one.shape[1])
    assert (col, row) == (int((10.2 + RANGE_M) / CELL_M), int((-20.2 + RANGE_M) / CELL_M))


def test_reference_agrees_with_itself_and_not_with_nothing(model, scans) -> None:
    task = lidar_task()
    refs = model.infer([p for p, _ in scans])
    assert sum(len(task.relevant(r)) for r in refs) > 20
    assert task.accuracy(refs, refs) == 1.0
    assert task.accuracy([Detections.empty()] * len(refs), refs) <= 0.3  # 0 where refs exist


def test_detects_exact_boxes_on_an_unseen_seed(model, scans) -> None:
    preds = model.infer([p for p, _ in scans])
    truth = [b.within(RANGE_M).bev() for _, b in scans]
    assert map50(preds, truth, [CAR]) > 0.9
    assert map50(preds, truth, [PERSON]) > 0.4


def test_heavy_compression_lowers_f1(model, scans) -> None:
    task = lidar_task()
    segment = LidarSegment(0, [p for p, _ in scans], np.arange(len(scans), dtype=float), 10)
    refs = model.infer(segment.scans)
    f1 = {}
    for bits in (14, 8):
        encoded = encode_lidar(segment, LidarSettings(bits=bits))
        f1[bits] = task.accuracy(model.infer(encoded.decoded), refs)
    assert f1[14] > 0.9 and f1[8] < f1[14] - 0.1, f1


def _cells_near(boxes: torch.Tensor, margin_m: float) -> torch.Tensor:
    """BEV cells within ``margin_m`` of any of the footprints (rows y, columns x)."""
    near = torch.zeros(GRID, GRID, dtype=torch.bool)
    for x0, y0, x1, y1 in boxes.tolist():
        c0, c1 = int((x0 - margin_m + RANGE_M) / CELL_M), int((x1 + margin_m + RANGE_M) / CELL_M)
        r0, r1 = int((y0 - margin_m + RANGE_M) / CELL_M), int((y1 + margin_m + RANGE_M) / CELL_M)
        near[max(r0, 0) : r1 + 1, max(c0, 0) : c1 + 1] = True
    return near


def test_dnngrad_is_nonzero_where_objects_are(model, scans) -> None:
    """|d proxy / d grid| is non-zero on every detected object and concentrates on the
    objects near the decision threshold (what the proxy weighs) and on the true boxes;
    the gradient also reaches the points themselves through the splatting."""
    task = lidar_task()
    points = torch.from_numpy(scans[0][0]).requires_grad_(True)
    grid = bev_grid(points.detach()).requires_grad_(True)
    dets = model.detect_grids(grid[None])[0].detach()
    saliency = bev_saliency(task, model.detect_grids(grid[None])[0], grid)
    relevant = task.relevant(dets)
    assert len(relevant) > 5
    for box in relevant.boxes:
        assert saliency[_cells_near(box[None], 0.0)].sum() > 0
    weighed = _cells_near(dets.boxes[dets.scores >= 0.3], 2.0)
    assert saliency[weighed].mean() > 5 * saliency[~weighed].mean()
    assert saliency[weighed].sum() > 0.4 * saliency.sum()
    truth = _cells_near(scans[0][1].within(RANGE_M).bev().boxes, 1.0)
    assert saliency[truth].mean() > 3 * saliency[~truth].mean()
    task.proxy(model.detect_scans([points])[0]).backward()
    assert torch.isfinite(points.grad).all() and points.grad.abs().sum() > 0


def test_saliency_of_nothing_detected_is_zero(model) -> None:
    grid = torch.zeros(Z_BINS + 1, GRID, GRID, requires_grad=True)
    saliency = bev_saliency(lidar_task(), Detections.empty(), grid)
    assert saliency.shape == (GRID, GRID) and float(saliency.sum()) == 0.0


def test_training_is_reproducible_to_the_byte(tmp_path: Path) -> None:
    from oneadapt.models.train_builtin_lidar import train_builtin_lidar

    first, second = tmp_path / "a.pt", tmp_path / "sub" / "b.pt"
    for out in (first, second):
        stats = train_builtin_lidar(out, steps=2, batch_size=2, scene_seeds=[1000], workers=1)
        assert stats["steps"] == 2
    assert first.read_bytes() == second.read_bytes()
    load_builtin_lidar(first)
