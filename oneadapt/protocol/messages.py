"""Building and checking the protobuf messages of ``oneadapt.proto``.

Both ends use these helpers, so what the server decodes is exactly what the camera's
encoder produced: the same bytes, the same frame indices, scaled to the same size. A
message that cannot be such a segment raises :class:`InvalidMessage` (the server answers
INVALID_ARGUMENT) before any DNN work.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from oneadapt.errors import OneAdaptError
from oneadapt.knobs import Configuration, knob_type, knob_types
from oneadapt.media.codec import EncodedSegment, frame_owner
from oneadapt.media.modality import modality
from oneadapt.protocol import oneadapt_pb2 as pb
from oneadapt.tasks.rows import RowKind, row_kind

MAX_FRAMES = 240
"""Items per 1-second segment a server accepts (analysis runs at up to 60 fps)."""


class InvalidMessage(ValueError):
    """A message that is not a valid segment; the text says what is wrong."""


def config_message(config: Configuration) -> pb.Configuration:
    return pb.Configuration(knobs={name: str(value) for name, value in config.items()})


def configuration(message: pb.Configuration) -> Configuration:
    """The configuration a message names; :class:`InvalidMessage` unless it sets at least one
    knob and every knob it sets is known and has a value valid for any stream."""
    if not message.knobs:
        raise InvalidMessage("bad config: no knob values")
    values = {}
    for name, text in message.knobs.items():
        try:
            kind = knob_type(name)
            values[name] = kind.check(kind.parse(text))
        except (ValueError, OneAdaptError) as exc:
            raise InvalidMessage(f"bad config: {name}={text!r} ({exc})") from None
    return Configuration({name: values[name] for name in knob_types() if name in values})


def segment_message(
    stream_id: str,
    second: int,
    encoded: EncodedSegment,
    size: tuple[int, int],
    capture_times: Sequence[float],
    want_feedback: bool,
    modality: str = "video",
) -> pb.Segment:
    """The sensor's message for one encoded second; ``size`` is the raw (width, height)."""
    return pb.Segment(
        stream_id=stream_id,
        second=second,
        config=config_message(encoded.config),
        payload=encoded.data,
        capture_times=list(capture_times),
        width=size[0],
        height=size[1],
        sent=[int(i) for i in encoded.sent],
        want_feedback=want_feedback,
        modality="" if modality == "video" else modality,
    )


def parse_segment(data: bytes) -> pb.Segment:
    """A Segment from wire bytes; :class:`InvalidMessage` if they are not one."""
    try:
        return pb.Segment.FromString(data)
    except Exception as exc:  # protobuf raises DecodeError or, in some builds, others
        raise InvalidMessage(f"not a Segment message ({exc})") from None


def received_segment(message: pb.Segment) -> EncodedSegment:
    """Check ``message`` and decode its payload as the sensor did (unsent items repeat the
    last sent one), with the codec of its modality."""
    frames = len(message.capture_times)
    sent = np.asarray(message.sent, dtype=np.int64)
    config = configuration(message.config)
    try:
        sensor = modality(message.modality or "video")
    except OneAdaptError as exc:
        raise InvalidMessage(f"bad modality ({exc.problem})") from None
    problems = [
        (not message.stream_id or len(message.stream_id) > 128, "stream_id must be 1-128 chars"),
        (not 1 <= frames <= MAX_FRAMES, f"{frames} capture times (1..{MAX_FRAMES} allowed)"),
        (len(sent) == 0 or len(sent) > frames, "sent must list 1..frames indices"),
    ]
    for bad, text in problems:
        if bad:
            raise InvalidMessage(text)
    if sent[0] < 0 or sent[-1] >= frames or np.any(np.diff(sent) <= 0):
        raise InvalidMessage("sent indices must increase within the segment")
    try:
        decoded, framing = sensor.decode(
            message.payload, config, (message.width, message.height), sent
        )
    except (ValueError, OneAdaptError) as exc:
        raise InvalidMessage(str(exc)) from None
    owner = frame_owner(sent, frames)
    shown = decoded[owner] if isinstance(decoded, np.ndarray) else [decoded[i] for i in owner]
    return EncodedSegment(
        config=config,
        data=message.payload,
        sent=sent,
        decoded=shown,
        encode_seconds=0.0,
        framing=framing,
    )


def output_rows(analysis: pb.Analysis) -> list[np.ndarray]:
    """Per item, the server's output as its container's flat float32 rows
    (:meth:`oneadapt.tasks.base.Task.from_array` reads them back)."""
    return [np.asarray(f.rows, np.float32) for f in analysis.frames]


def checked_outputs(analysis: pb.Analysis) -> tuple[RowKind, list[np.ndarray]]:
    """The kind of output the server names (``Analysis.output``) and, per item, its rows
    checked as that container's (:mod:`oneadapt.tasks.rows`, numpy only); an unknown kind or
    rows the container cannot hold raise :class:`oneadapt.errors.ProtocolError`."""
    kind = row_kind(analysis.output)
    return kind, [kind.parse(rows) for rows in output_rows(analysis)]
