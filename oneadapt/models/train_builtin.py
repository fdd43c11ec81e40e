"""Train the built-in detector on procedural scene frames (``oneadapt train-builtin``).

Reproducible by construction: training frames come from fixed scene seeds, encoding
settings and crops from seeded generators, and the run is a fixed number of steps.
A share of the frames goes through the real H.264 encoder at random QPs and
resolutions first, so accuracy degrades gradually with quality instead of collapsing
on the artefacts the adaptation will produce. The time budget only guards against a
very slow machine: the run stops early (with a warning) if it would overrun.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import torch

from oneadapt.knobs import Configuration, even
from oneadapt.media.codec import encode
from oneadapt.media.scene import SCENE_CLASSES, SceneSource
from oneadapt.media.sources import Segment
from oneadapt.models.builtin import STRIDE, WEIGHTS_PATH, CenterNet, input_size
from oneadapt.models.centernet import centre_loss
from oneadapt.models.training import Recipe, train

TRAIN_SCENE_SEEDS = range(1000, 1060)
"""Scene seeds used for training; evaluation uses seeds outside this range."""
SCENE_SECONDS = 60
CROP_W, CROP_H = 256, 192
HEIGHTS = (720, 540, 432, 360, 270, 180)
"""Encoded heights, as fractions of 720 lines (scaled to the rendered height)."""


def _scene_samples(seed: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Training frames of one scene seed with their boxes [M, 5] (xyxy, class).

    Scenes render directly at the network's input size (what a 720p frame is resized
    to), four times cheaper than rendering 720p and resizing. Every other second, three
    consecutive frames are encoded under a random configuration (a quarter stay raw);
    the last two are kept.
    """
    torch.set_num_threads(1)
    rng = np.random.default_rng([seed, 77])
    width, height = input_size(1280, 720)
    scene = SceneSource(seed=seed, seconds=SCENE_SECONDS, width=width, height=height)
    frames, labels = [], []
    for second in range(0, SCENE_SECONDS, 2):
        start = second * scene.fps + int(rng.integers(0, scene.fps - 2))
        rendered = [scene.frame(start + i) for i in range(3)]
        pixels = np.stack([f for f, _ in rendered])
        if rng.random() >= 0.25:
            qp = int(rng.integers(16, 47))
            scaled = int(rng.choice(HEIGHTS, p=[0.25, 0.2, 0.15, 0.15, 0.13, 0.12]))
            segment = Segment(0, pixels, np.arange(3) / scene.fps, scene.fps)
            config = Configuration(qp=qp, height=even(scaled * height // 720), fps=scene.fps)
            pixels = encode(segment, config).decoded  # the codec made heights even before
        frames.append(pixels[1:])
        for _, gt in rendered[1:]:
            labels.append(torch.cat([gt.boxes, gt.classes[:, None]], 1).numpy().astype(np.float32))
    return np.concatenate(frames), labels


def _targets(
    boxes: Sequence[np.ndarray], out_h: int, out_w: int, num_classes: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """CenterNet targets: Gaussian heatmaps, and per object (image, cell), log size, offset."""
    heat = np.zeros((len(boxes), num_classes, out_h, out_w), np.float32)
    ys, xs = np.arange(out_h, dtype=np.float32)[:, None], np.arange(out_w, dtype=np.float32)
    index, size, offset = [], [], []
    for b, rows in enumerate(boxes):
        for x0, y0, x1, y1, c in rows / np.float32([STRIDE, STRIDE, STRIDE, STRIDE, 1]):
            bw, bh = x1 - x0, y1 - y0
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            ix, iy = min(int(cx), out_w - 1), min(int(cy), out_h - 1)
            sx, sy = max(bw / 6, 0.5), max(bh / 6, 0.5)
            g = np.exp(-((xs - ix) ** 2) / (2 * sx * sx) - ((ys - iy) ** 2) / (2 * sy * sy))
            np.maximum(heat[b, int(c)], g, out=heat[b, int(c)])
            index.append(b * out_h * out_w + iy * out_w + ix)
            size.append((np.log(bw), np.log(bh)))
            offset.append((cx - ix, cy - iy))
    return (
        torch.from_numpy(heat),
        torch.tensor(index, dtype=torch.long),
        torch.tensor(np.array(size, np.float32).reshape(-1, 2)),
        torch.tensor(np.array(offset, np.float32).reshape(-1, 2)),
    )


def _batch(
    frames: np.ndarray, labels: list[np.ndarray], rng: np.random.Generator, batch_size: int
) -> tuple[torch.Tensor, list[np.ndarray]]:
    """Random crops with flips and photometric jitter; boxes clipped to the crop."""
    n, h, w, _ = frames.shape
    images, boxes = [], []
    for i in rng.integers(0, n, batch_size):
        x0, y0 = int(rng.integers(0, w - CROP_W + 1)), int(rng.integers(0, h - CROP_H + 1))
        img = frames[i, y0 : y0 + CROP_H, x0 : x0 + CROP_W].astype(np.float32)
        rows = labels[i].copy()
        rows[:, [0, 2]] -= x0
        rows[:, [1, 3]] -= y0
        area = (rows[:, 2] - rows[:, 0]) * (rows[:, 3] - rows[:, 1])
        rows[:, [0, 2]] = rows[:, [0, 2]].clip(0, CROP_W)
        rows[:, [1, 3]] = rows[:, [1, 3]].clip(0, CROP_H)
        cw, ch = rows[:, 2] - rows[:, 0], rows[:, 3] - rows[:, 1]
        rows = rows[(cw >= 1.5) & (ch >= 1.5) & (cw * ch >= 0.35 * area)]
        if rng.random() < 0.5:
            img = img[:, ::-1]
            rows[:, [0, 2]] = CROP_W - rows[:, [2, 0]]
        img = img * rng.uniform(0.6, 1.3) + rng.uniform(-20, 20)
        images.append(np.clip(img, 0, 255))
        boxes.append(rows)
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2) / 255.0 - 0.5
    return x.contiguous(), boxes


def _loss(net: CenterNet, x: torch.Tensor, boxes: list[np.ndarray]) -> torch.Tensor:
    """:func:`~oneadapt.models.centernet.centre_loss` against targets at the output size."""
    heads = net(x)
    out_h, out_w = heads[0].shape[-2:]
    return centre_loss(heads, _targets(boxes, out_h, out_w, len(SCENE_CLASSES)))


def train_builtin(
    out: Path = WEIGHTS_PATH,
    seed: int = 0,
    minutes: float = 28.0,
    steps: int = 4000,
    batch_size: int = 12,
    lr: float = 3e-3,
    scene_seeds: Sequence[int] = TRAIN_SCENE_SEEDS,
    workers: int = 2,
) -> dict[str, float]:
    """Train the built-in detector and write its state_dict atomically to ``out``.

    Scenes render in ``workers`` processes, then ``steps`` Adam steps run on one torch
    thread (:func:`~oneadapt.models.training.train`). Returns wall time, steps done and
    the final loss. The step count fixes the run (what makes it reproducible);
    ``minutes`` only bounds it on a machine too slow to finish them.
    """
    recipe = Recipe(
        samples=_scene_samples,
        network=partial(CenterNet, len(SCENE_CLASSES)),
        batch=_batch,
        loss=_loss,
        rendering="rendering scenes",
    )
    return train(recipe, out, seed, minutes, steps, batch_size, lr, scene_seeds, workers)
