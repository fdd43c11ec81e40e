"""The closed-form step of the per-macroblock quality knob (method.md section 4).

The camera codes the segment with every block kept (share 1.0) and every block coarse
(share 0.0), decodes both, and measures per block ``e``, the mean squared difference of the
two: what coarse coding changes there. A share keeps the most salient blocks under the
server's DNNGrad map, so the accuracy it loses is the estimate of the other knobs
(:func:`oneadapt.protocol.feedback.accuracy_at_stake`) over the blocks it does *not* keep:
one mechanism for every knob, and the loss of any share follows from the same two decodes.
Only the bytes need an encode per share, so, as for the frame rate, the step considers the
current share and its neighbours in the list.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from oneadapt.adapt.inputgrad import salient_squared_error
from oneadapt.adapt.policy import Overhead
from oneadapt.knobs import Knob, Value
from oneadapt.knobs.roi import most_salient
from oneadapt.media.codec import Bitstream, EncodedSegment, compress, encode
from oneadapt.media.sources import Segment
from oneadapt.protocol.feedback import FeedbackMap, accuracy_at_stake


@dataclass
class ROIOption:
    """One share of the region knob, all other knobs as now: its bytes, frames inferred and
    estimated accuracy lost against keeping every block."""

    value: Value
    bytes: int
    frames: int
    loss: float


def roi_options(
    segment: Segment,
    current: EncodedSegment,
    knob: Knob,
    dnn_grad: FeedbackMap,
    lowest: float,
) -> tuple[list[ROIOption], Overhead]:
    """The current share of ``knob`` and its neighbours at positions >= ``lowest``, each
    coded with the blocks that ``dnn_grad`` marks most. The two decodes are skipped when the
    map is empty (nothing is at stake)."""
    start = time.perf_counter()
    weights = dnn_grad.weights()
    config = current.config
    streams: dict[Value, Bitstream] = {}
    error = np.zeros_like(weights, dtype=np.float64)
    if weights.any():
        kept, coarse = (
            encode(segment, config.with_knob(knob.name, share), saliency=weights)
            for share in (1.0, 0.0)
        )
        streams = {1.0: kept, 0.0: coarse}
        error = salient_squared_error(coarse, kept, weights, dnn_grad.block)
    i = knob.index(config[knob.name])
    options = []
    for value in knob.values[max(i - 1, 0) : i + 2]:
        if knob.position(value) < lowest:
            continue
        if value not in streams:
            here = config.with_knob(knob.name, value)
            streams[value] = compress(segment, here, saliency=weights)
        lost = error * ~most_salient(weights, float(value))
        loss = accuracy_at_stake(lost, weights, dnn_grad.block)
        options.append(ROIOption(value, streams[value].num_bytes, len(streams[value].sent), loss))
    spent = Overhead(camera_encodes=len(streams), camera_seconds=time.perf_counter() - start)
    return options, spent
