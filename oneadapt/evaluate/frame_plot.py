"""A video task's outputs drawn on the frames they came from, one panel per configuration.

What a coding costs a segmenter or a landmark model is easiest to see on the picture: the
reference panel (the reference configuration) first, then each configuration's decoded
frame with its own outputs and its agreement with the reference. Segmentation is a
translucent colour per class of interest over the frame; keypoints are the boxes of the
instances the task counts, with their points.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from oneadapt.storage import atomic_path
from oneadapt.tasks.base import Output, Task
from oneadapt.tasks.keypoints import Keypoints, KeypointTask
from oneadapt.tasks.segmentation import SegmentationMap, SegmentationTask

COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:cyan")


def _draw_segmentation(
    ax: Axes,
    task: SegmentationTask,
    output: SegmentationMap,
    size: tuple[int, int],
    names: Sequence[str],
) -> None:
    """Classes of interest as translucent colours, the label grid stretched over the frame;
    a legend of those present when ``names`` (the model's class names) are given."""
    labels = output.labels.numpy()
    overlay = np.zeros((*labels.shape, 4))
    present = []
    for colour, c in zip(COLOURS * 4, task.classes, strict=False):
        overlay[labels == c] = to_rgba(colour, 0.55)
        if names and (labels == c).any():
            present.append(Patch(color=colour, alpha=0.55, label=names[c]))
    width, height = size
    ax.imshow(overlay, extent=(0, width, height, 0), interpolation="nearest")
    if present:
        ax.legend(handles=present, fontsize=6, loc="lower left")


def _draw_keypoints(
    ax: Axes, task: KeypointTask, output: Keypoints, size: tuple[int, int], names: Sequence[str]
) -> None:
    """The instances the task counts: box, score and points."""
    shown = task.relevant(output)
    for (x0, y0, x1, y1), score, points in zip(
        shown.instances.boxes.tolist(),
        shown.instances.scores.tolist(),
        shown.points.numpy(),
        strict=True,
    ):
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=1.0, color="yellow"))
        ax.text(x0, y0 - 2, f"{score:.2f}", fontsize=6, color="yellow")
        ax.scatter(points[:, 0], points[:, 1], s=6, c=COLOURS[: len(points)], linewidths=0)


def plot_frame_outputs(
    task: Task,
    reference: tuple[str, np.ndarray, Output],
    configurations: Sequence[tuple[str, np.ndarray, Output]],
    path: Path,
    title: str,
    class_names: Sequence[str] = (),
) -> None:
    """Panels of (label, RGB frame, output): the reference first, then each configuration
    titled with its accuracy against the reference output (``class_names``: the model's,
    for a legend)."""
    draw = {SegmentationTask: _draw_segmentation, KeypointTask: _draw_keypoints}.get(type(task))
    if draw is None:
        raise ValueError(f"no frame drawing for {type(task).__name__}")
    panels = [reference, *configurations]
    height, width = reference[1].shape[:2]
    fig = Figure(figsize=(4.2 * len(panels), 4.2 * height / width + 0.7), dpi=120)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (label, frame, output) in zip(axes, panels, strict=True):
        ax.imshow(frame, extent=(0, width, height, 0))
        draw(ax, task, output, (width, height), class_names)  # type: ignore[arg-type]
        accuracy = task.frame_accuracy(output, reference[2])
        ax.set_title(f"{label}: accuracy {accuracy:.3f}", fontsize=8, loc="left")
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.set_axis_off()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
