"""Bird's-eye views of what the built-in LiDAR detector sees, saved under docs/results/.

Run: ``OMP_NUM_THREADS=1 python benchmarks/lidar_bev_plots.py``. Writes
``lidar_kitti_bev.png`` (the three KITTI scans in ../shared/data/lidar with the model's
boxes on the raw scan and at 9-bit Draco) and ``lidar_scene_dnngrad.png`` (a procedural
scan with its exact boxes, the model's boxes and DNNGrad: |d proxy / d BEV grid|).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from oneadapt.media.lidar import LidarSegment, read_kitti_bin
from oneadapt.media.lidar_codec import LidarSettings, encode_lidar
from oneadapt.media.lidar_scene import LidarSceneSource
from oneadapt.models.builtin_lidar import RANGE_M, bev_grid, load_builtin_lidar
from oneadapt.storage import PROJECT_ROOT, shared_data_dir
from oneadapt.tasks.detection import Detections
from oneadapt.tasks.lidar_detection import LIDAR_CLASSES, bev_saliency, lidar_task

COLOURS = ("tab:red", "tab:purple")


def _points(ax: Axes, points: np.ndarray) -> None:
    """Points from above, x forward pointing up, y (left) pointing left, coloured by height."""
    ax.scatter(
        -points[:, 1],
        points[:, 0],
        s=0.2,
        c=points[:, 2],
        cmap="viridis",
        vmin=-2.5,
        vmax=1.0,
        linewidths=0,
        rasterized=True,
    )
    ax.set_xlim(-RANGE_M, RANGE_M)
    ax.set_ylim(-RANGE_M, RANGE_M)
    ax.set_aspect("equal")
    ax.set_xlabel("-y (m, right)")
    ax.set_ylabel("x (m, forward)")


def _boxes(ax: Axes, dets: Detections, style: str = "-", scores: bool = True) -> None:
    for (x0, y0, x1, y1), s, c in zip(
        dets.boxes.tolist(), dets.scores.tolist(), dets.classes.tolist(), strict=True
    ):
        ax.add_patch(
            Rectangle((-y1, x0), y1 - y0, x1 - x0, fill=False, lw=1.0, ls=style, color=COLOURS[c])
        )
        if scores:
            ax.text(-y0 + 0.5, x1, f"{s:.2f}", fontsize=5, color=COLOURS[c])


def kitti_figure(out: Path) -> None:
    model, task = load_builtin_lidar(), lidar_task()
    paths = sorted((shared_data_dir() / "lidar").glob("kitti_object_*.bin"))
    fig, axes = plt.subplots(1, len(paths), figsize=(6 * len(paths), 6.4))
    for ax, path in zip(np.atleast_1d(axes), paths, strict=True):
        points = read_kitti_bin(path)
        raw = task.relevant(model.infer([points])[0])
        segment = LidarSegment(0, [points], np.zeros(1), 10)
        coded = encode_lidar(segment, LidarSettings(bits=9))
        low = task.relevant(model.infer(coded.decoded)[0])
        _points(ax, points)
        _boxes(ax, raw)
        _boxes(ax, low, style=":", scores=False)
        counts = ", ".join(
            f"{int((raw.classes == i).sum())} {n}" for i, n in enumerate(LIDAR_CLASSES)
        )
        ax.set_title(
            f"{path.stem}: {counts} (score >= 0.5)\n"
            f"dotted: at 9-bit Draco ({coded.num_bytes / 1e3:.0f} kB), "
            f"F1 {task.frame_accuracy(low, raw):.2f}",
            fontsize=9,
        )
    fig.suptitle("Built-in LiDAR detector on KITTI scans (red car, purple person)")
    fig.tight_layout()
    fig.savefig(out, dpi=130)


def scene_figure(out: Path, seed: int, scan: int) -> None:
    model, task = load_builtin_lidar(), lidar_task()
    points, truth = LidarSceneSource(seed=seed, seconds=scan // 10 + 1).scan(scan)
    grid = bev_grid(torch.from_numpy(points)).requires_grad_(True)
    dets = model.detect_grids(grid[None])[0]
    saliency = bev_saliency(task, dets, grid).numpy()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 6.4))
    _points(left, points)
    _boxes(left, truth.bev(), style="--", scores=False)
    _boxes(left, task.relevant(dets.detach()))
    left.set_title(f"procedural scan {scan} of seed {seed}: dashed exact boxes, solid model")
    # The grid's rows are y and columns x; shown like the points (x up, -y right).
    image = np.log10(saliency.T[::-1, ::-1] + 1e-8)
    shown = right.imshow(
        image, extent=(-RANGE_M, RANGE_M, -RANGE_M, RANGE_M), vmin=image.max() - 4, cmap="magma"
    )
    _boxes(right, task.relevant(dets.detach()), scores=False)
    right.set_title("DNNGrad: log10 |d proxy / d BEV grid| (sum over channels)")
    fig.colorbar(shown, ax=right, shrink=0.7)
    fig.tight_layout()
    fig.savefig(out, dpi=130)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "results")
    parser.add_argument("--seed", type=int, default=2000)
    parser.add_argument("--scan", type=int, default=55)
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    kitti_figure(args.out / "lidar_kitti_bev.png")
    scene_figure(args.out / "lidar_scene_dnngrad.png", args.seed, args.scan)


if __name__ == "__main__":
    main()
