"""``oneadapt serve --ray``: a real camera against the gRPC front over real Ray Serve
replicas (built-in detector), sticky per-stream routing, bad segments, and a replica
killed mid-stream. Skipped with a message where Ray Serve is not installed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from runtime_helpers import serving

from oneadapt.adapt.gradient_policy import GradientPolicy
from oneadapt.adapt.gradients import DNNGradSettings
from oneadapt.adapt.policy import PolicyContext
from oneadapt.errors import ConfigurationError
from oneadapt.knobs import ConfigSpace
from oneadapt.media.scene import scene_from_spec
from oneadapt.protocol import oneadapt_pb2 as pb
from oneadapt.runtime.camera import Camera, CameraSettings
from oneadapt.runtime.grpc_client import METHOD, GrpcTransport
from oneadapt.runtime.ray_server import Scaling
from oneadapt.tasks.detection import DEFAULT_CLASSES


@pytest.mark.parametrize(
    ("replicas", "autoscale", "expected"),
    [(None, None, Scaling(1)), (3, None, Scaling(3)), (None, "1..4", Scaling(autoscale=(1, 4)))],
)
def test_scaling_options(replicas, autoscale, expected) -> None:
    assert Scaling.parse(replicas, autoscale) == expected


@pytest.mark.parametrize(("replicas", "autoscale"), [(2, "1..2"), (None, "3..1"), (None, "4")])
def test_bad_scaling_is_one_clear_error(replicas, autoscale) -> None:
    with pytest.raises(ConfigurationError, match="--autoscale"):
        Scaling.parse(replicas, autoscale)


def test_replicas_without_ray_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "oneadapt", "serve", "--model", "builtin", "--replicas", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "need --ray" in result.stderr


@pytest.fixture(scope="module")
def ray_analyzer():
    pytest.importorskip("ray.serve", reason="Ray Serve not installed (pip install -e '.[ray]')")
    from oneadapt.runtime.ray_server import RayAnalyzer, wait_ready

    analyzer = RayAnalyzer("builtin", DEFAULT_CLASSES, DNNGradSettings(), Scaling(2), timeout=20)
    wait_ready(analyzer, 2)
    yield analyzer
    analyzer.shutdown()


def test_ray_replica_killed_mid_stream(ray_analyzer, tmp_path: Path) -> None:
    """A stream's segments stay on one replica; SIGKILL that replica while it holds a call
    and the stream goes on on the other one (Serve re-routes the call; the camera retries
    whatever gets UNAVAILABLE): every second is delivered, none missing."""
    source = scene_from_spec("scene:5:144", fps=5, seconds=12)
    space = ConfigSpace.default(source.height, analysis_fps=5)
    with serving(ray_analyzer) as (port, metrics):
        transport = GrpcTransport(f"127.0.0.1:{port}", deadline=30)
        settings = CameraSettings("ray-cam", realtime=True, backoff=0.2, max_backoff=1.0)
        camera = Camera(
            source, GradientPolicy(PolicyContext(space), 0.3), space, transport, tmp_path,
            settings,
        )  # fmt: skip
        runner = threading.Thread(target=camera.run, args=(12,))
        runner.start()
        deadline = time.monotonic() + 60
        served: set[int] = set()
        while (len(camera.rows) < 4 or camera._inflight is None) and time.monotonic() < deadline:
            time.sleep(0.005)  # kill it while it holds a call, so that the call fails
            served.add(ray_analyzer.last_replica)
        served.discard(None)
        assert len(served) == 1, "one stream's segments should stay on one replica"
        (victim,) = served
        os.kill(victim, signal.SIGKILL)
        runner.join(120)
        transport.close()
        assert not runner.is_alive()
    record = camera.record()
    assert record["second"].tolist() == list(range(12))
    assert record["outcome"].isin(["delivered", "late"]).all(), record[["outcome", "reason"]]
    assert ray_analyzer.last_replica != victim  # the other replica took the stream over


def test_ray_rejects_a_bad_segment_and_keeps_serving(ray_analyzer) -> None:
    with serving(ray_analyzer) as (port, _):
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        call = channel.unary_unary(METHOD, response_deserializer=pb.Analysis.FromString)
        bad = pb.Segment(stream_id="bad", second=0, width=64, height=64, payload=b"\x00" * 9)
        bad.capture_times.append(0.0)
        bad.sent.append(0)
        bad.config.knobs.update({"qp": "30", "height": "64", "fps": "1"})
        with pytest.raises(grpc.RpcError) as caught:
            call(bad.SerializeToString(), timeout=30)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as caught:  # no stream id: nothing to route by
            call(pb.Segment().SerializeToString(), timeout=30)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        channel.close()
