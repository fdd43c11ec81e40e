"""The LiDAR as a :class:`~oneadapt.media.modality.Modality`: every scan of a second range
cut, voxel-downsampled and Draco-coded under the configuration's knobs
(:mod:`oneadapt.media.lidar_codec`); bandwidth is the Draco bytes.

The DNN's input, what InputGrad compares, is the BEV grid the built-in detector rasterises
each decoded cloud into (:func:`oneadapt.models.builtin_lidar.bev_grid`): the one LiDAR
model there is takes it, and the DNNGrad map lies on it. Every scan is sent (no knob
selects scans).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from oneadapt.errors import OneAdaptError
from oneadapt.knobs import ConfigSpace, Configuration, KnobLists, apply_knobs
from oneadapt.media.codec import EncodedSegment
from oneadapt.media.draco import draco_decode
from oneadapt.media.lidar import LidarSegment
from oneadapt.media.lidar_codec import LidarSettings, encode_lidar
from oneadapt.media.modality import FRAMING_BYTES, Modality, modality_space, pack, unpack
from oneadapt.models.builtin_lidar import bev_grid


def settings(config: Configuration) -> LidarSettings:
    """``config``'s coding: each knob sets its field of the default settings."""
    return apply_knobs(config, LidarSettings())


class LidarModality(Modality):
    name = "lidar"

    def space(self, source: object, analysis_fps: int, knobs: KnobLists | None) -> ConfigSpace:
        return modality_space(self.name, analysis_fps, knobs)

    def encode(
        self, segment: LidarSegment, config: Configuration, saliency: np.ndarray | None = None
    ) -> EncodedSegment:
        coded = encode_lidar(segment, settings(config))
        return EncodedSegment(
            config,
            pack(coded.payloads),
            np.arange(len(segment)),
            coded.encode_seconds,
            coded.decoded,
            framing=FRAMING_BYTES * len(coded.payloads),
        )

    def decode(
        self, payload: bytes, config: Configuration, size: tuple[int, int], sent: np.ndarray
    ) -> tuple[Sequence[np.ndarray], int]:
        parts = unpack(payload)
        if len(parts) != len(sent):
            raise ValueError(f"the payload holds {len(parts)} scans, {len(sent)} were sent")
        try:
            clouds = [draco_decode(p) for p in parts]
        except OneAdaptError as exc:
            raise ValueError(f"undecodable Draco ({exc.problem})") from None
        return clouds, FRAMING_BYTES * len(parts)

    def size(self, segment: LidarSegment) -> tuple[int, int]:
        return 0, 0

    def times(self, segment: LidarSegment) -> list[float]:
        return [float(t) for t in segment.timestamps]

    def items(self, segment: LidarSegment) -> Sequence[np.ndarray]:
        return segment.scans

    def view(self, encoded: EncodedSegment, like: EncodedSegment) -> np.ndarray:
        """BEV grids [T, GRID, GRID, CHANNELS] of the decoded clouds."""
        with torch.no_grad():
            grids = [bev_grid(torch.from_numpy(np.ascontiguousarray(c))) for c in encoded.decoded]
        return torch.stack(grids).permute(0, 2, 3, 1).numpy()


MODALITY = LidarModality()
