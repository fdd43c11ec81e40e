"""What differs between sensors for the adaptation loop: a :class:`Modality`.

The run loop, profiling, the baselines, the gradient policy and gradcheck are written once;
per sensor (camera, microphone, LiDAR) they need only how a segment is coded under a
configuration and decoded back into model input items (:class:`EncodedSegment`), how
the server rebuilds those items from the wire payload, and how the camera sees the DNN's
input of a coded segment (:meth:`Modality.view`, what InputGrad compares against the
DNNGrad map). The modality follows from the source (:func:`modality_of`); the task from
the model.
"""

from __future__ import annotations

import abc
import hashlib
import importlib
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from oneadapt.errors import ConfigurationError, ProtocolError
from oneadapt.knobs import ConfigSpace, Configuration, KnobLists, StreamShape
from oneadapt.media.codec import Bitstream, EncodedSegment

if TYPE_CHECKING:
    from oneadapt.models.base import Model

MODALITIES = {
    "video": "oneadapt.media.video_modality",
    "audio": "oneadapt.media.audio_modality",
    "lidar": "oneadapt.media.lidar_modality",
}
"""Modality name -> the module holding its :class:`Modality` (imported on first use)."""

_LENGTH = struct.Struct("<I")


class Modality(abc.ABC):
    """One sensor's coding and the picture of its DNN input, for the shared loop."""

    name: ClassVar[str]

    @abc.abstractmethod
    def space(self, source: Any, analysis_fps: int, knobs: KnobLists | None) -> ConfigSpace:
        """The knob space of ``source`` (its default knobs, plus any ``knobs`` names)."""

    @abc.abstractmethod
    def encode(
        self, segment: Any, config: Configuration, saliency: np.ndarray | None = None
    ) -> EncodedSegment:
        """Code ``segment`` under ``config`` as the sensor sends it and decode it as the
        server does; ``saliency`` as for the video codec's region knobs."""

    def compress(
        self, segment: Any, config: Configuration, saliency: np.ndarray | None = None
    ) -> Bitstream:
        """What the sensor sends (bytes and items sent), without decoding where it can."""
        return self.encode(segment, config, saliency)

    @abc.abstractmethod
    def decode(
        self, payload: bytes, config: Configuration, size: tuple[int, int], sent: np.ndarray
    ) -> tuple[Sequence[np.ndarray], int]:
        """The server's decoded items (one per sent item) from a message's payload, and the
        payload's bytes that only frame it; raises :class:`ProtocolError` for a payload that
        is not such a segment."""

    @abc.abstractmethod
    def size(self, segment: Any) -> tuple[int, int]:
        """(width, height) of the segment's items, as the message carries them."""

    @abc.abstractmethod
    def times(self, segment: Any) -> list[float]:
        """Capture time of each item of the segment (seconds)."""

    @abc.abstractmethod
    def items(self, segment: Any) -> Sequence[np.ndarray]:
        """The raw items of a segment (frames, its second of samples, scans): what identifies
        it, and what the model takes uncoded."""

    @abc.abstractmethod
    def view(self, encoded: EncodedSegment, like: EncodedSegment) -> np.ndarray:
        """The DNN input of ``encoded``'s items as [T, H, W, C] on the grid of ``like``'s (and
        of the DNNGrad map computed on it): what InputGrad compares between two codings."""

    def check_model(self, model: Model) -> None:
        """A :class:`ConfigurationError` unless ``model`` analyses this sensor's data."""
        if model.modality != self.name:
            raise ConfigurationError(
                f"model {model.id} analyses {model.modality}, the source is {self.name}.",
                f"Pass a {model.modality} source, or a model for {self.name}.",
            )


def modality(name: str) -> Modality:
    """The :class:`Modality` called ``name``."""
    if name not in MODALITIES:
        raise ConfigurationError(f"unknown modality {name!r}.", f"Use one of {list(MODALITIES)}.")
    return importlib.import_module(MODALITIES[name]).MODALITY  # type: ignore[no-any-return]


def modality_of(source: Any) -> Modality:
    """The modality of a source (its ``modality`` attribute; video when it has none)."""
    return modality(getattr(source, "modality", "video"))


def content_key(items: Sequence[np.ndarray]) -> str:
    """A hash of a segment's raw content (:meth:`Modality.items`)."""
    digest = hashlib.blake2b(digest_size=16)
    for a in items:
        digest.update(np.ascontiguousarray(a).data)
    return digest.hexdigest()


def modality_space(name: str, analysis_fps: int, knobs: KnobLists | None) -> ConfigSpace:
    """The default space of a sensor whose knobs depend on nothing of the stream."""
    return ConfigSpace.build(StreamShape(0, analysis_fps), knobs, modality=name)


def pack(parts: Sequence[bytes]) -> bytes:
    """Parts (Opus packets, Draco scans) as one payload, each behind its 4-byte length."""
    return b"".join(_LENGTH.pack(len(p)) + p for p in parts)


def unpack(payload: bytes) -> list[bytes]:
    """:func:`pack`'s parts; :class:`ProtocolError` for a payload that is not whole parts."""
    parts, at = [], 0
    while at < len(payload):
        if at + _LENGTH.size > len(payload):
            raise ProtocolError("a payload ends inside a part's length.", "Check the sender.")
        (length,) = _LENGTH.unpack_from(payload, at)
        at += _LENGTH.size
        if at + length > len(payload):
            raise ProtocolError("a payload ends inside a part.", "Check the sender.")
        parts.append(payload[at : at + length])
        at += length
    return parts


FRAMING_BYTES = _LENGTH.size
"""Bytes :func:`pack` adds per part (not charged as bandwidth: a transport frames anyway)."""
