"""The camera loop against fake transports (no network): every captured second is
accounted for with a reason, and real-time capture does not wait for a slow server."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oneadapt.adapt.policy import FixedPolicy
from oneadapt.errors import ProtocolError
from oneadapt.knobs import ConfigSpace, Configuration
from oneadapt.media.scene import scene_from_spec
from oneadapt.protocol import oneadapt_pb2 as pb
from oneadapt.runtime.camera import Camera, CameraSettings
from oneadapt.runtime.transport import Transport, TransportError


class Down(Transport):
    def analyze(self, segment: pb.Segment) -> pb.Analysis:
        raise TransportError("UNAVAILABLE", "connection refused", retryable=True)


class Slow(Transport):
    """Answers every segment, after ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def analyze(self, segment: pb.Segment) -> pb.Analysis:
        time.sleep(self.delay)
        reply = pb.Analysis(stream_id=segment.stream_id, second=segment.second)
        for _ in segment.capture_times:
            reply.frames.add(rows=[1, 2, 3, 4, 0.9, 0])
        reply.frames_inferred = len(segment.sent)
        return reply


def camera(tmp_path: Path, transport: Transport, seconds: int, **settings) -> Camera:
    source = scene_from_spec("scene:1:64", fps=2, seconds=seconds)
    space = ConfigSpace.default(source.height, analysis_fps=2)
    policy = FixedPolicy(Configuration(qp=30, height=64, fps=2))
    return Camera(source, policy, space, transport, tmp_path, CameraSettings("c", **settings))


def test_server_down_every_second_is_dropped_with_its_reason(tmp_path: Path) -> None:
    df = camera(tmp_path, Down(), 5, queue_size=2, drain=0.6, backoff=0.1).run(5)
    assert list(df["second"]) == [0, 1, 2, 3, 4]
    assert (df["outcome"] == "dropped").all()
    assert list(df["reason"]) == ["queue_full"] * 3 + ["unreachable"] * 2
    assert df["retries"].sum() >= 2
    assert pd.read_parquet(tmp_path / "camera.parquet").equals(df)
    assert not list((tmp_path / "queue").iterdir())


def test_realtime_capture_keeps_its_schedule_behind_a_slow_server(tmp_path: Path) -> None:
    df = camera(tmp_path, Slow(1.5), 4, realtime=True).run(4)
    assert list(df["second"]) == [0, 1, 2, 3]
    assert set(df["outcome"]) == {"delivered", "late"}  # all answered, some after the next
    assert np.diff(df["capture_time"]).max() < 1.3  # captured once a second regardless
    assert (df["detections"] == 2).all() and (df["frames_inferred"] == 2).all()


class Answers(Transport):
    """Answers every segment with ``output`` rows ``rows`` per frame."""

    def __init__(self, output: str, rows: list[float]) -> None:
        self.output, self.rows = output, rows

    def analyze(self, segment: pb.Segment) -> pb.Analysis:
        reply = pb.Analysis(stream_id=segment.stream_id, second=segment.second)
        for _ in segment.capture_times:
            reply.frames.add(rows=self.rows)
        reply.output, reply.frames_inferred = self.output, len(segment.sent)
        return reply


def test_outputs_are_recorded_by_the_kind_the_answer_names(tmp_path: Path) -> None:
    """A 2x3 label map (run-length rows) is recorded as segmentation rows, with its
    labelled pixels counted, and no detection table."""
    rows = [2, 3, 0, 2, 15, 3, 0, 1]
    df = camera(tmp_path, Answers("segmentation", rows), 2).run(2)
    assert list(df["outcome"]) == ["delivered"] * 2 and (df["detections"] == 2 * 3).all()
    outputs = pd.read_parquet(tmp_path / "outputs.parquet")
    assert list(outputs["output"]) == ["segmentation"] * 4
    assert [list(r) for r in outputs["rows"]] == [rows] * 4
    assert not (tmp_path / "detections.parquet").exists()


@pytest.mark.parametrize(
    ("output", "rows", "problem"),
    [
        ("segmentation", [2, 3, 0, 5], "do not cover"),  # 5 of 6 pixels
        ("keypoints", [5, 1, 2, 3, 4, 0.9, 0], "whole records"),
        ("hologram", [1.0], "'hologram'"),
    ],
)
def test_an_answer_that_does_not_decode_stops_the_camera(
    tmp_path: Path, output: str, rows: list[float], problem: str
) -> None:
    with pytest.raises(ProtocolError, match=problem) as raised:
        camera(tmp_path, Answers(output, rows), 2).run(2)
    assert "same oneadapt version" in raised.value.fix  # the camera's fix, not the cache's
    record = pd.read_parquet(tmp_path / "camera.parquet")
    assert list(record["reason"]) == ["BAD_REPLY"]
    assert len(pd.read_parquet(tmp_path / "outputs.parquet")) == 0


def test_a_restarted_camera_keeps_the_outputs_it_recorded(tmp_path: Path) -> None:
    """Outputs read back from DIR on a restart and the next seconds' are appended: the
    file holds every delivered second's rows, whatever their kind."""
    camera(tmp_path, Answers("keypoints", [1, 1, 2, 3, 4, 0.9, 0, 5, 6]), 2).run(2)
    camera(tmp_path, Answers("detections", [1, 2, 3, 4, 0.9, 0]), 4).run(4)
    outputs = pd.read_parquet(tmp_path / "outputs.parquet")
    assert list(outputs["second"]) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert list(outputs["output"]) == ["keypoints"] * 4 + ["detections"] * 4
    assert [len(r) for r in outputs["rows"]] == [9] * 4 + [6] * 4
    boxes = pd.read_parquet(tmp_path / "detections.parquet")
    assert list(boxes["second"]) == [2, 2, 3, 3] and (boxes["score"] > 0.89).all()
    record = pd.read_parquet(tmp_path / "camera.parquet")
    assert list(record["detections"]) == [2, 2, 2, 2]
