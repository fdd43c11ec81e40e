"""A PASCAL-VOC semantic segmenter from an ONNX file (DeepLab-v3 MobileNetV2 layout),
differentiable in PyTorch like the detectors (:mod:`oneadapt.models.onnx_graph`).

The layout is TFLite's: RGB NHWC input [1, S, S, 3] scaled to -1..1 from a stretched
frame, class logits NHWC [1, S, S, 21] out. Labels stay on the network's output grid:
accuracy is judged there, whatever the frame size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from oneadapt.errors import ModelError
from oneadapt.models.base import Model, to_tensor
from oneadapt.models.onnx_graph import OnnxGraph, Outputs
from oneadapt.tasks.detection import DEFAULT_CLASSES
from oneadapt.tasks.segmentation import SegmentationMap, SegmentationTask

VOC_CLASSES: tuple[str, ...] = (
    "background", "airplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "dining table", "dog", "horse", "motorcycle", "person", "potted plant",
    "sheep", "couch", "train", "tv",
)  # fmt: skip
"""The 21 PASCAL-VOC labels in their order, spelled as COCO spells them, so the default
classes (person, bicycle, car, motorcycle, bus) and ``--classes`` read the same as for
the detectors."""


def is_segmenter(graph: OnnxGraph) -> bool:
    """Whether the graph has the layout: one NHWC RGB input, one NHWC 21-class output."""
    shapes = list(graph.outputs.values())
    inp = graph.input_shape
    return (
        len(shapes) == 1
        and len(shapes[0]) == 4
        and shapes[0][-1] == len(VOC_CLASSES)
        and len(inp) == 4
        and inp[-1] == 3
    )


class OnnxSegmenter(Model[SegmentationMap]):
    """A VOC segmenter as a :class:`Model`: ``forward`` through onnx2torch (logits keep
    gradients w.r.t. the frames), ``infer`` through onnxruntime."""

    output_type = SegmentationMap
    class_names = VOC_CLASSES

    def __init__(self, path: str | Path | OnnxGraph) -> None:
        graph = path if isinstance(path, OnnxGraph) else OnnxGraph(path)
        shape = graph.input_shape
        if not is_segmenter(graph) or min(shape[:3]) <= 0:
            raise ModelError(
                f"{graph.path} has input {shape} and outputs {list(graph.outputs.values())}; "
                "a segmenter needs a fixed [1, S, S, 3] input and [1, h, w, 21] logits.",
                "Pass a DeepLab-v3 VOC export (e.g. deeplabv3_mnv2_voc_257.onnx).",
            )
        self.input_size = (shape[1], shape[2])
        self.id = f"deeplab-voc-{graph.digest}"
        graph.load()
        self.graph = graph

    def task(self, classes: Sequence[str] | None = None) -> SegmentationTask:
        return SegmentationTask.for_model(self.class_names, classes or DEFAULT_CLASSES)

    def input_tensor(self, items: Sequence[np.ndarray]) -> torch.Tensor:
        """uint8 RGB frames [N, H, W, 3] -> float [N, 3, H, W] in 0..255."""
        return to_tensor(np.asarray(items))

    def forward(self, x: torch.Tensor) -> list[SegmentationMap]:
        """Labels and differentiable logits of float RGB frames [N, 3, H, W] (0..255)."""
        return self._segment(x, self.graph.run_torch, keep_logits=True)

    def infer(self, items: Sequence[np.ndarray]) -> list[SegmentationMap]:
        """Labels through onnxruntime, same pre- and post-processing as :meth:`forward`."""
        with torch.no_grad():
            return self._segment(self.input_tensor(items), self.graph.run_onnxruntime)

    def _segment(
        self,
        x: torch.Tensor,
        network: Callable[[torch.Tensor], Outputs],
        keep_logits: bool = False,
    ) -> list[SegmentationMap]:
        out = []
        for i in range(len(x)):  # the export has a fixed batch of 1
            frame = F.interpolate(x[i : i + 1].float(), size=self.input_size, mode="bilinear")
            nhwc = ((frame - 127.5) / 127.5).permute(0, 2, 3, 1).contiguous()
            logits = next(iter(network(nhwc).values()))[0].permute(2, 0, 1)
            labels = logits.detach().argmax(0)
            out.append(SegmentationMap(labels, logits if keep_logits else None))
        return out
