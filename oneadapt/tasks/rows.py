"""The serialised rows of every output container, in numpy alone (no torch).

Each container's ``to_array`` writes flat float32 rows and its ``from_array`` reads them
back (:class:`oneadapt.tasks.base.Output`); the checking half of ``from_array`` lives here,
as one :class:`RowKind` per container, so that the camera, which imports no torch, checks
and records the server's outputs with the very code the server's containers and the
inference cache use. A kind is named on the wire (``Analysis.output``,
``oneadapt.proto``); :func:`row_kind` turns that name back into the kind and refuses one it
does not know with :class:`ProtocolError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from oneadapt.errors import ProtocolError

_REPAIR = "Delete the inference cache ($ONEADAPT_CACHE) to rebuild it, or check the sender."

DETECTION_FIELDS = 6
"""x1, y1, x2, y2, score, class: float32 each."""
MAX_SIDE = 4096
"""The largest label-map side segmentation rows may describe (a network's output grid is
far smaller)."""
MAX_INDEX = 2**24
"""Class indices, labels and run lengths are at most it (every such integer is exact in
float32; a larger value would overflow, or alias another, read back as an integer)."""
MAX_POINTS = 1024
"""Keypoints per instance (YuNet has 5)."""


def _flat(rows: np.ndarray) -> np.ndarray:
    return np.asarray(rows, np.float32).reshape(-1)


def detection_table(rows: np.ndarray) -> np.ndarray:
    """[N, 6] rows (x1, y1, x2, y2, score, class) from flat or [N, 6] detection rows;
    anything that is not whole, finite rows with integer classes in [0, MAX_INDEX] raises
    :class:`ProtocolError`."""
    flat = _flat(rows)
    if len(flat) % DETECTION_FIELDS:
        raise ProtocolError("detection rows are not whole records.", _REPAIR)
    table = flat.reshape(-1, DETECTION_FIELDS)
    classes = table[:, 5]
    if (
        not np.isfinite(table).all()
        or (classes < 0).any()
        or (classes > MAX_INDEX).any()
        or (classes != np.round(classes)).any()
    ):
        raise ProtocolError("detection rows hold invalid detections.", _REPAIR)
    return table


def keypoint_table(rows: np.ndarray) -> tuple[int, np.ndarray]:
    """(K, [N, 6 + 2K] rows: the instance's detection row, then its K points' x, y) from
    keypoint rows (K, then the records); anything else raises :class:`ProtocolError`."""
    values = _flat(rows)
    if len(values) == 0 or not np.isfinite(values).all():
        raise ProtocolError("keypoint rows are not whole records.", _REPAIR)
    k = values[0]
    if not 1 <= k <= MAX_POINTS or k != int(k):
        raise ProtocolError("keypoint rows are not whole records.", _REPAIR)
    width = DETECTION_FIELDS + 2 * int(k)
    if (len(values) - 1) % width:
        raise ProtocolError("keypoint rows are not whole records.", _REPAIR)
    table = values[1:].reshape(-1, width)
    detection_table(table[:, :DETECTION_FIELDS])
    return int(k), table


def label_map(rows: np.ndarray) -> np.ndarray:
    """The int64 label map [h, w] that segmentation rows (height, width, then (label, run
    length) pairs over the row-major labels) describe; anything else raises
    :class:`ProtocolError`."""
    values = _flat(rows)
    if len(values) < 2 or len(values) % 2 or not np.isfinite(values).all():
        raise ProtocolError("segmentation rows are not a run-length label map.", _REPAIR)
    if (values != np.round(values)).any() or (values < 0).any() or (values > MAX_INDEX).any():
        raise ProtocolError("segmentation rows hold invalid labels or runs.", _REPAIR)
    (height, width), pairs = values[:2].astype(int), values[2:].reshape(-1, 2).astype(np.int64)
    if not (0 < height <= MAX_SIDE and 0 < width <= MAX_SIDE):
        raise ProtocolError(f"a {height}x{width} label map is out of range.", _REPAIR)
    if height * width != pairs[:, 1].sum():
        raise ProtocolError("segmentation runs do not cover the label map.", _REPAIR)
    return np.repeat(pairs[:, 0], pairs[:, 1]).reshape(height, width)


def speech_probabilities(rows: np.ndarray) -> np.ndarray:
    """[W] speech probabilities from speech rows; values that are not probabilities raise
    :class:`ProtocolError`."""
    values = _flat(rows)
    if not (np.isfinite(values).all() and ((values >= 0) & (values <= 1)).all()):
        raise ProtocolError("speech rows hold values that are not probabilities.", _REPAIR)
    return values


@dataclass(frozen=True)
class RowKind:
    """One container's rows: its wire name, how to check them, and what one item holds."""

    name: str
    check: Callable[[np.ndarray], object]
    """Raises :class:`ProtocolError` unless the rows are this container's."""
    count: Callable[[np.ndarray], int]
    """Records in one item's (checked) rows: detections, instances, speech windows, or
    labelled pixels (any label but the background, 0) of a segmentation map."""
    table: Callable[[np.ndarray], np.ndarray] | None = None
    """For kinds whose rows are fixed-width records: [N, len(columns)] per item."""
    columns: tuple[str, ...] = ()

    def parse(self, rows: np.ndarray) -> np.ndarray:
        """The rows as flat float32, checked (:class:`ProtocolError` otherwise)."""
        values = _flat(rows)
        self.check(values)
        return values


KINDS = {
    kind.name: kind
    for kind in (
        RowKind(
            "detections",
            detection_table,
            lambda rows: len(detection_table(rows)),
            detection_table,
            ("x1", "y1", "x2", "y2", "score", "class"),
        ),
        RowKind("keypoints", keypoint_table, lambda rows: len(keypoint_table(rows)[1])),
        RowKind("segmentation", label_map, lambda rows: int((label_map(rows) != 0).sum())),
        RowKind("speech", speech_probabilities, lambda rows: len(speech_probabilities(rows))),
    )
}
"""Every output container's rows by wire name (a container's ``row_kind``)."""


def row_kind(name: str) -> RowKind:
    """The kind a wire name gives (empty: detections, what servers before the name sent);
    :class:`ProtocolError` for a name this version does not know."""
    kind = KINDS.get(name or "detections")
    if kind is None:
        raise ProtocolError(
            f"the server sent outputs of kind {name!r}, which this camera does not know "
            f"(it knows {sorted(KINDS)}).",
            "Run the same oneadapt version on the camera and the server.",
        )
    return kind
