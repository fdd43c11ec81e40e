"""Train the built-in LiDAR detector on procedural scans (``python -m ... OUT``).

Reproducible by construction, like the video detector's training: scans come from fixed
scene seeds, knob settings and crops from seeded generators, and the run is a fixed
number of steps on one torch thread. Three quarters of the scans go through the real
sensor pipeline first (range cut, voxel downsampling, Draco at random settings), so
accuracy degrades gradually with the knobs instead of collapsing on their artefacts.
The time budget only guards against a very slow machine.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import torch

from oneadapt.media.draco import draco_decode, draco_encode
from oneadapt.media.lidar_codec import LIDAR_KNOB_VALUES, LidarSettings, prepare_scan
from oneadapt.media.lidar_scene import LidarSceneSource
from oneadapt.models.builtin_lidar import (
    OUT_CELL_M,
    RANGE_CHANNEL,
    RANGE_M,
    STRIDE,
    WEIGHTS_PATH,
    Z_BINS,
    BevNet,
    bev_grid,
)
from oneadapt.models.centernet import centre_loss
from oneadapt.models.training import Recipe, train
from oneadapt.tasks.lidar_detection import LIDAR_CLASSES

TRAIN_SCENE_SEEDS = range(1000, 1040)
"""Scene seeds used for training; evaluation uses seeds outside this range."""
SCENE_SECONDS = 120
SAMPLE_EVERY_S = 4
CROP = 128
"""Training crops of the BEV grid (cells); a multiple of 8 keeps every stride aligned."""


def _random_settings(rng: np.random.Generator) -> LidarSettings:
    """A knob setting as the adaptation may pick it: each knob off or at a listed value."""
    values = {k: v[int(rng.integers(0, len(v)))] for k, v in LIDAR_KNOB_VALUES.items()}
    if rng.random() < 0.6:  # most scans keep the full range: far objects must stay learnt
        values["max_range_m"] = LIDAR_KNOB_VALUES["max_range_m"][0]
    values["level"] = 0  # the level changes bytes, not the decoded points: the fastest one
    return LidarSettings().replace(**values)


def _scene_samples(seed: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """BEV height slices (float16) of one seed's training scans with their footprints
    [M, 5] (x0, y0, x1, y1 in metres, class); objects beyond a range cut are dropped."""
    torch.set_num_threads(1)
    rng = np.random.default_rng([seed, 78])
    scene = LidarSceneSource(seed=seed, seconds=SCENE_SECONDS)
    grids, labels = [], []
    for second in range(0, SCENE_SECONDS, SAMPLE_EVERY_S):
        points, boxes = scene.scan(second * scene.rate + int(rng.integers(0, scene.rate)))
        footprint = boxes.bev()
        rows = torch.cat([footprint.boxes, footprint.classes[:, None].float()], 1).numpy()
        if rng.random() >= 0.25:
            settings = _random_settings(rng)
            points = draco_decode(
                draco_encode(prepare_scan(points, settings), settings.bits, settings.level)
            )
            centre = (rows[:, :2] + rows[:, 2:4]) / 2
            rows = rows[np.hypot(centre[:, 0], centre[:, 1]) <= settings.max_range_m]
        grid = bev_grid(torch.from_numpy(points))[:Z_BINS]
        grids.append(grid.numpy().astype(np.float16))
        labels.append(rows.astype(np.float32))
    return np.stack(grids), labels


def _targets(
    rows: Sequence[np.ndarray], size: int, num_classes: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """CenterNet targets on ``size``-cell crops, from footprints in output-cell units:
    Gaussian heatmaps, and per object (flat cell index, log size in metres, offset)."""
    heat = np.zeros((len(rows), num_classes, size, size), np.float32)
    ys, xs = np.arange(size, dtype=np.float32)[:, None], np.arange(size, dtype=np.float32)
    index, log_size, offset = [], [], []
    for b, boxes in enumerate(rows):
        for x0, y0, x1, y1, c in boxes:
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            ix, iy = int(cx), int(cy)
            sx, sy = max((x1 - x0) / 6, 0.5), max((y1 - y0) / 6, 0.5)
            g = np.exp(-((xs - ix) ** 2) / (2 * sx * sx) - ((ys - iy) ** 2) / (2 * sy * sy))
            np.maximum(heat[b, int(c)], g, out=heat[b, int(c)])
            index.append((b * size + iy) * size + ix)
            log_size.append(np.log([(x1 - x0) * OUT_CELL_M, (y1 - y0) * OUT_CELL_M]))
            offset.append((cx - ix, cy - iy))
    return (
        torch.from_numpy(heat),
        torch.tensor(index, dtype=torch.long),
        torch.tensor(np.array(log_size, np.float32).reshape(-1, 2)),
        torch.tensor(np.array(offset, np.float32).reshape(-1, 2)),
    )


def _batch(
    grids: np.ndarray, labels: list[np.ndarray], rng: np.random.Generator, batch_size: int
) -> tuple[torch.Tensor, list[np.ndarray]]:
    """Random crops with flips along x and y; footprints whose centre is in the crop, in
    output cells of the crop."""
    n, _, size, _ = grids.shape
    out = CROP // STRIDE
    images, rows = [], []
    for i in rng.integers(0, n, batch_size):
        x0, y0 = (int(v) * 8 for v in rng.integers(0, (size - CROP) // 8 + 1, 2))
        grid = np.concatenate([grids[i].astype(np.float32), RANGE_CHANNEL.numpy()[None]])
        grid = grid[:, y0 : y0 + CROP, x0 : x0 + CROP]
        boxes = labels[i].copy()
        boxes[:, :4] = (boxes[:, :4] + RANGE_M) / OUT_CELL_M
        boxes[:, [0, 2]] -= x0 / STRIDE
        boxes[:, [1, 3]] -= y0 / STRIDE
        if rng.random() < 0.5:
            grid = grid[:, :, ::-1]
            boxes[:, [0, 2]] = out - boxes[:, [2, 0]]
        if rng.random() < 0.5:
            grid = grid[:, ::-1]
            boxes[:, [1, 3]] = out - boxes[:, [3, 1]]
        cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
        rows.append(boxes[(cx >= 0) & (cx < out) & (cy >= 0) & (cy < out)])
        images.append(np.ascontiguousarray(grid))
    return torch.from_numpy(np.stack(images)), rows


def _loss(net: BevNet, x: torch.Tensor, rows: list[np.ndarray]) -> torch.Tensor:
    """:func:`~oneadapt.models.centernet.centre_loss` against targets at the output size."""
    heads = net(x)
    return centre_loss(heads, _targets(rows, heads[0].shape[-1], len(LIDAR_CLASSES)))


def train_builtin_lidar(
    out: Path = WEIGHTS_PATH,
    seed: int = 0,
    minutes: float = 30.0,
    steps: int = 1500,
    batch_size: int = 8,
    lr: float = 3e-3,
    scene_seeds: Sequence[int] = TRAIN_SCENE_SEEDS,
    workers: int = 2,
) -> dict[str, float]:
    """Train the built-in LiDAR detector and write its state_dict atomically to ``out``.

    Scans are cast in ``workers`` processes, then ``steps`` Adam steps run on one torch
    thread (:func:`~oneadapt.models.training.train`). Returns wall time, steps done and
    the final loss; ``minutes`` only bounds a machine too slow to finish the steps.
    """
    recipe = Recipe(
        samples=_scene_samples,
        network=partial(BevNet, len(LIDAR_CLASSES)),
        batch=_batch,
        loss=_loss,
        rendering="casting scans",
    )
    return train(recipe, out, seed, minutes, steps, batch_size, lr, scene_seeds, workers)


if __name__ == "__main__":
    print(train_builtin_lidar(Path(sys.argv[1]) if len(sys.argv) > 1 else WEIGHTS_PATH))
