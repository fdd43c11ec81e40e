"""Camera and server over gRPC on loopback: the same results as ``run_policy``, any task's
outputs carried and recorded, bad messages rejected while serving goes on, bearer token,
TLS, health, metrics."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import grpc
import numpy as np
import pandas as pd
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from runtime_helpers import free_port, self_signed, serving, start_server

from oneadapt.adapt.gradient_policy import GradientPolicy
from oneadapt.adapt.policy import PolicyContext
from oneadapt.evaluate.run import run_policy
from oneadapt.inference_cache import Detector
from oneadapt.knobs import ConfigSpace, Configuration
from oneadapt.knobs.fps import sent_frames
from oneadapt.media.codec import encode, frame_owner
from oneadapt.media.scene import scene_from_spec
from oneadapt.media.sources import VideoSource
from oneadapt.models.registry import load_model
from oneadapt.protocol import oneadapt_pb2 as pb
from oneadapt.protocol.messages import segment_message
from oneadapt.runtime.analyzer import Analyzer
from oneadapt.runtime.camera import Camera, CameraSettings
from oneadapt.runtime.grpc_client import METHOD, GrpcTransport
from oneadapt.runtime.grpc_server import MAX_MESSAGE_BYTES
from oneadapt.runtime.in_process import InProcessTransport
from oneadapt.runtime.metrics import CameraMetrics
from oneadapt.runtime.transport import TransportError
from oneadapt.tasks.detection import DetectionTask
from oneadapt.tasks.keypoints import Keypoints
from oneadapt.tasks.rows import KINDS
from oneadapt.tasks.segmentation import SegmentationMap

KNOBS = ["second", "qp", "height", "fps", "bytes", "frames_inferred", "backward_passes"]
BOX = ["x1", "y1", "x2", "y2", "score", "class"]


def test_camera_over_grpc_reproduces_run_policy(yolox_highway, tmp_path: Path) -> None:
    """Same configurations, bytes, DNN and DNNGrad work, feedback sizes and detections."""
    detector, task, source, space = yolox_highway
    calls = []

    class Recording(Detector):
        def detect(self, frames, known=None):
            calls.append(super().detect(frames, known))
            return calls[-1]

    ran = run_policy(
        source, GradientPolicy(PolicyContext(space), 0.3), Recording(detector.model), task,
        space, seconds=3, progress=False,
    )  # fmt: skip
    with serving(Analyzer(Detector(detector.model), task)) as (port, _):
        transport = GrpcTransport(f"127.0.0.1:{port}", deadline=60)
        policy = GradientPolicy(PolicyContext(space), 0.3)
        cam = Camera(source, policy, space, transport, tmp_path, CameraSettings("highway"))
        sent = cam.run(3)
        transport.close()

    assert (sent["outcome"] == "delivered").all()
    cols = [*KNOBS, "feedback_bytes", "camera_encodes"]
    assert sent[cols].to_dict("records") == ran[cols].to_dict("records")
    assert len(set(zip(ran["qp"], ran["height"], ran["fps"], strict=True))) > 1  # it adapted
    boxes = pd.read_parquet(tmp_path / "detections.parquet")
    pending = iter(calls)  # per second: the server's inference, then the reference's
    for row in ran.itertuples():
        here = next(pending)
        if Configuration(qp=row.qp, height=row.height, fps=row.fps) != space.reference:
            next(pending)  # the reference, which only scores the second
        owner = frame_owner(sent_frames(source.fps, source.fps, row.fps), source.fps)
        for frame, position in enumerate(owner):
            got = boxes[(boxes["second"] == row.second) & (boxes["frame"] == frame)]
            expected = here.outputs[position].to_array()
            np.testing.assert_allclose(got[BOX].to_numpy(np.float32), expected, atol=1e-4)
    assert len(boxes) == sent["detections"].sum() > 0


@pytest.fixture(scope="module")
def builtin_analyzer() -> Analyzer:
    model = load_model("builtin")
    return Analyzer(Detector(model), DetectionTask.for_model(model.class_names))


@pytest.fixture(scope="module")
def small_segment() -> pb.Segment:
    segment = next(scene_from_spec("scene:1:180", fps=5, seconds=1).segments(1))
    encoded = encode(segment, Configuration(qp=30, height=180, fps=5))
    size = (segment.width, segment.height)
    return segment_message("a", 0, encoded, size, segment.timestamps.tolist(), True)


def test_in_process_and_grpc_transports_answer_alike(small_segment) -> None:
    """One seam, two transports: the same segments get the same analyses (detections,
    DNNGrad maps, work done) from an Analyzer in this process and from one behind gRPC, and
    a truncated one gets INVALID_ARGUMENT from both."""
    model = load_model("builtin")
    task = DetectionTask.for_model(model.class_names)
    source = scene_from_spec("scene:2:180", fps=5, seconds=4)
    messages = [
        segment_message("s", s.index, encode(s, config), (s.width, s.height), s.timestamps, True)
        for s, config in zip(
            source.segments(4),
            [
                Configuration(qp=qp, height=180, fps=fps)
                for qp, fps in [(20, 5), (35, 2), (30, 5), (45, 1)]
            ],
            strict=True,
        )
    ]
    truncated = pb.Segment()
    truncated.CopyFrom(small_segment)
    truncated.payload = small_segment.payload[: len(small_segment.payload) // 3]
    local = InProcessTransport(Analyzer(Detector(model), task))
    with serving(Analyzer(Detector(model), task)) as (port, _):
        remote = GrpcTransport(f"127.0.0.1:{port}", deadline=30)
        answers = [(local.analyze(m), remote.analyze(m)) for m in messages]
        for transport in (local, remote):
            with pytest.raises(TransportError) as failed:
                transport.analyze(truncated)
            assert failed.value.code == "INVALID_ARGUMENT" and not failed.value.retryable
        remote.close()
    for here, there in answers:
        for reply in (here, there):  # only the timings differ
            reply.dnn_seconds = reply.backward_seconds = 0.0
        assert here == there
    assert sum(len(a.feedback) > 0 for a, _ in answers) >= 2
    assert sum(len(f.rows) for a, _ in answers for f in a.frames) > 0


def test_bad_messages_get_invalid_argument_and_the_server_keeps_serving(
    builtin_analyzer, small_segment
) -> None:
    with serving(builtin_analyzer) as (port, metrics):
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        raw = channel.unary_unary(METHOD)  # bytes in, bytes out
        for payload, code in [
            (b"\xff\xff\xff\xff", grpc.StatusCode.INVALID_ARGUMENT),  # not a protobuf
            (b"\x00" * (MAX_MESSAGE_BYTES + 1), grpc.StatusCode.RESOURCE_EXHAUSTED),
        ]:
            with pytest.raises(grpc.RpcError) as failed:
                raw(payload, timeout=30)
            assert failed.value.code() == code
        truncated = pb.Segment()
        truncated.CopyFrom(small_segment)
        truncated.payload = small_segment.payload[: len(small_segment.payload) // 3]
        transport = GrpcTransport(f"127.0.0.1:{port}", deadline=30)
        with pytest.raises(TransportError) as failed:
            transport.analyze(truncated)
        assert failed.value.code == "INVALID_ARGUMENT" and not failed.value.retryable
        assert "frames" in failed.value.detail
        other = pb.Segment()
        other.CopyFrom(small_segment)
        other.stream_id = "b"
        reply = transport.analyze(other)  # another stream is still served
        assert reply.stream_id == "b" and len(reply.frames) == 5 and reply.backward_passes == 1
        transport.close()
        channel.close()
    assert metrics.segments.labels("a", "INVALID_ARGUMENT")._value.get() == 1


def test_bearer_token(builtin_analyzer, small_segment) -> None:
    with serving(builtin_analyzer, token="s3cret") as (port, _):
        for token in (None, "wrong"):
            transport = GrpcTransport(f"127.0.0.1:{port}", token=token, deadline=30)
            with pytest.raises(TransportError) as failed:
                transport.analyze(small_segment)
            assert failed.value.code == "UNAUTHENTICATED"
            transport.close()
        good = GrpcTransport(f"127.0.0.1:{port}", token="s3cret", deadline=30)
        assert len(good.analyze(small_segment).frames) == 5
        good.close()
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:  # health needs no token
            check = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="oneadapt.v1.Analytics"), timeout=10
            )
        assert check.status == health_pb2.HealthCheckResponse.SERVING


def test_tls_end_to_end_and_plaintext_refused(builtin_analyzer, small_segment, tmp_path) -> None:
    cert, key = self_signed(tmp_path)
    with serving(builtin_analyzer, tls_cert=cert, tls_key=key) as (port, _):
        secure = GrpcTransport(f"localhost:{port}", tls_ca=cert, deadline=30)
        assert len(secure.analyze(small_segment).frames) == 5
        secure.close()
        plain = GrpcTransport(f"localhost:{port}", deadline=5)
        with pytest.raises(TransportError) as failed:
            plain.analyze(small_segment)
        assert failed.value.code == "UNAVAILABLE"
        plain.close()


def scrape(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
    samples = {}
    for line in text.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_metrics_endpoints_of_server_and_camera(builtin_analyzer, tmp_path) -> None:
    source = scene_from_spec("scene:2:180", fps=5, seconds=2)
    space = ConfigSpace.default(source.height, analysis_fps=5)
    camera_metrics = CameraMetrics("cam")
    camera_port = free_port()
    camera_metrics.serve(camera_port)
    with serving(builtin_analyzer) as (port, server_metrics):
        server_port = free_port()
        server_metrics.serve(server_port)
        transport = GrpcTransport(f"127.0.0.1:{port}", deadline=30)
        policy = GradientPolicy(PolicyContext(space), 0.3)
        settings = CameraSettings("cam")
        Camera(source, policy, space, transport, tmp_path, settings, camera_metrics).run(2)
        transport.close()
        server = scrape(server_port)
    camera = scrape(camera_port)
    s = '{stream="cam"}'
    assert server[f"oneadapt_server_stream_kbps{s}"] > 1
    assert server['oneadapt_server_stream_knob{knob="qp",stream="cam"}'] in space.knob("qp").values
    assert server['oneadapt_server_segments_total{status="OK",stream="cam"}'] == 2
    assert server[f"oneadapt_server_inference_seconds_count{s}"] == 2
    assert server[f"oneadapt_server_backward_passes_total{s}"] >= 1
    assert server[f"oneadapt_server_feedback_bytes_total{s}"] > 10
    assert 0 < server["oneadapt_server_dnn_seconds_per_second"] < 2
    assert server["oneadapt_server_streams_connected"] == 1
    assert camera[f"oneadapt_camera_kbps{s}"] > 1
    assert camera['oneadapt_camera_knob{knob="height",stream="cam"}'] in space.knob("height").values
    assert camera[f"oneadapt_camera_queue_depth{s}"] == 0
    assert camera[f"oneadapt_camera_retries_total{s}"] == 0
    assert camera['oneadapt_camera_seconds_total{outcome="delivered",stream="cam"}'] == 2
    assert camera[f"oneadapt_camera_round_trip_seconds_count{s}"] == 2
    assert camera[f"oneadapt_camera_backward_passes_total{s}"] >= 1


def test_camera_command_with_a_wrong_token_stops_with_one_line(builtin_analyzer, tmp_path):
    import subprocess
    import sys

    with serving(builtin_analyzer, token="s3cret") as (port, _):
        result = subprocess.run(
            [sys.executable, "-m", "oneadapt", "camera", "scene:1:180", "--server",
             f"127.0.0.1:{port}", "--seconds", "1", "--token", "wrong", "--out", str(tmp_path)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "UNAUTHENTICATED" in lines[0] and "--token" in lines[0]
    assert "wrong" not in result.stderr  # the token is never printed
    record = pd.read_parquet(tmp_path / "camera.parquet")
    assert list(record["reason"]) == ["UNAUTHENTICATED"]


def test_camera_command_runs_a_fixed_policy(builtin_analyzer, tmp_path):
    """``--policy fixed:...`` streams that one configuration, and asks for no DNNGrad."""
    import subprocess
    import sys

    with serving(builtin_analyzer) as (port, _):
        result = subprocess.run(
            [sys.executable, "-m", "oneadapt", "camera", "scene:1:180", "--server",
             f"127.0.0.1:{port}", "--seconds", "2", "--policy", "fixed:35/90/2",
             "--out", str(tmp_path)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    record = pd.read_parquet(tmp_path / "camera.parquet")
    assert list(record["outcome"]) == ["delivered"] * 2
    assert set(zip(record["qp"], record["height"], record["fps"], strict=True)) == {(35, 90, 2)}
    assert (record["frames_inferred"] == 2).all() and (record["backward_passes"] == 0).all()
    assert (record["feedback_bytes"] == 0).all() and (record["camera_encodes"] == 0).all()


class Recording(GrpcTransport):
    """The gRPC transport, keeping every (segment, answer) pair that crossed the wire."""

    def __init__(self, target: str) -> None:
        super().__init__(target, deadline=60)
        self.calls: list[tuple[pb.Segment, pb.Analysis]] = []

    def analyze(self, segment: pb.Segment) -> pb.Analysis:
        reply = super().analyze(segment)
        self.calls.append((segment, reply))
        return reply


@pytest.mark.parametrize(
    ("onnx", "output", "container"),
    [
        ("segmenter_onnx", "segmentation", SegmentationMap),
        ("landmarks_onnx", "keypoints", Keypoints),
    ],
)
def test_serve_and_camera_carry_any_task_s_outputs(
    onnx, output, container, scene_clip, tmp_path, request
) -> None:
    """``oneadapt serve`` with a segmenter or a landmark model and a camera on a clip: every
    second delivered with DNNGrad, each frame's outputs recorded as that task's rows, the
    same as the model gives on the same segments in this process."""
    path = str(request.getfixturevalue(onnx))
    port, out = free_port(), tmp_path / "cam"
    server = start_server(port, tmp_path / "server.log", path)
    try:
        source = VideoSource(scene_clip, fps=5)
        space = ConfigSpace.default(source.height, analysis_fps=5)
        transport = Recording(f"127.0.0.1:{port}")
        policy = GradientPolicy(PolicyContext(space), 0.3)
        record = Camera(source, policy, space, transport, out, CameraSettings("cam")).run(2)
        transport.close()
    finally:
        server.terminate()
        server.wait(60)
    assert list(record["outcome"]) == ["delivered"] * 2
    assert record["backward_passes"].sum() >= 1 and record["feedback_bytes"].sum() > 0
    outputs = pd.read_parquet(out / "outputs.parquet")
    assert set(outputs["output"]) == {output} and not (out / "detections.parquet").exists()
    model = load_model(path)
    task = model.task()
    local = Analyzer(Detector(model), task)  # the served model, in this process
    assert [m.second for m, _ in transport.calls] == [0, 1]
    for message, reply in transport.calls:
        assert reply.output == output
        got = outputs[outputs["second"] == message.second]
        assert list(got["frame"]) == list(range(len(message.capture_times))) == list(range(5))
        expected, _ = local.analyze(message)
        for rows, frame in zip(got["rows"], expected.frames, strict=True):
            here, there = task.from_array(rows), task.from_array(np.asarray(frame.rows))
            assert isinstance(here, container)
            np.testing.assert_allclose(here.to_array(), there.to_array(), atol=1e-3)
        counted = sum(KINDS[output].count(rows) for rows in got["rows"])
        assert record.loc[record["second"] == message.second, "detections"].item() == counted
    assert record["detections"].sum() > 0


def test_a_camera_restarted_under_its_stream_id_is_served(builtin_analyzer) -> None:
    """A camera that restarts sends second 0 again under the same stream id: the server
    answers it with a fresh DNNGrad map, not INTERNAL (the staleness meter once took the
    step back for a negative frame age)."""
    source = scene_from_spec("scene:3:180", fps=5, seconds=3)
    config = Configuration(qp=30, height=180, fps=5)
    messages = [
        segment_message("restarts", s.index, encode(s, config), (s.width, s.height),
                        s.timestamps, True)
        for s in source.segments(3)
    ]  # fmt: skip
    for message in (*messages, messages[0]):
        reply, _ = builtin_analyzer.analyze(message)
        assert reply.second == message.second and reply.backward_passes == 1
        assert reply.feedback
