"""The model interface, typed by output: :class:`Model` ``[Output]``.

``input_tensor`` turns the items a source's codec decodes (frames, seconds of audio, LiDAR
scans) into the network's float input [N, C, H, W]: the tensor DNNGrad differentiates the
task's proxy against, and whose per-block change the camera's InputGrad measures.
``forward`` is the differentiable path on that tensor; ``infer`` the fast no-gradient path
used for accuracy measurement (it may run another backend, onnxruntime, on the same
weights). The model decides its task (:meth:`Model.task`) and the kind of source it
analyses (:attr:`Model.modality`): ``--model`` alone says what is measured.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import ClassVar, Generic

import numpy as np
import torch

from oneadapt.tasks.base import OutputT, Task
from oneadapt.tasks.detection import DEFAULT_CLASSES, Detections, DetectionTask


class Model(abc.ABC, Generic[OutputT]):
    """A DNN whose outputs a :class:`Task` scores."""

    id: str
    """Stable identity (family and weights hash) used to key cached inference results."""
    modality: ClassVar[str] = "video"
    """The sensor it analyses (:mod:`oneadapt.media.modality`)."""
    output_type: ClassVar[type]
    """One item's output container."""
    class_names: Sequence[str] = ()
    """Names the task's classes are chosen among (none: the task has no classes)."""

    @abc.abstractmethod
    def task(self, classes: Sequence[str] | None = None) -> Task[OutputT]:
        """The task its outputs serve, over ``classes`` of :attr:`class_names` (None: its
        default classes)."""

    @abc.abstractmethod
    def input_tensor(self, items: Sequence[np.ndarray]) -> torch.Tensor:
        """Float network input [N, C, H, W] of decoded items (no gradient attached)."""

    @abc.abstractmethod
    def forward(self, x: torch.Tensor) -> list[OutputT]:
        """Differentiable outputs of :meth:`input_tensor`'s tensor, one per item."""

    def infer(self, items: Sequence[np.ndarray]) -> list[OutputT]:
        """Outputs of decoded items, without gradients."""
        with torch.no_grad():
            return [o.detach() for o in self.forward(self.input_tensor(items))]


class DetectionModel(Model[Detections]):
    """A detector on RGB frames (0..255, any size); boxes come back in frame pixels."""

    output_type = Detections

    def task(self, classes: Sequence[str] | None = None) -> DetectionTask:
        return DetectionTask.for_model(self.class_names, classes or DEFAULT_CLASSES)

    def input_tensor(self, items: Sequence[np.ndarray]) -> torch.Tensor:
        """uint8 RGB frames [N, H, W, 3] -> float [N, 3, H, W] in 0..255."""
        return to_tensor(np.asarray(items))

    @abc.abstractmethod
    def forward(self, x: torch.Tensor) -> list[Detections]:
        """Differentiable detection on float frames [N, 3, H, W] (RGB, 0..255)."""


def to_tensor(frames: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    """uint8 RGB [N, H, W, 3] -> float [N, 3, H, W] in 0..255 (a leaf when grad is wanted)."""
    t = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float().contiguous()
    return t.requires_grad_(requires_grad)
