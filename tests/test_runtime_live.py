"""The camera on a live stream that FFmpeg serves on loopback at the clip's own pace.

FFmpeg's RTSP muxer only pushes to a server (``-rtsp_flags listen`` is input-only), so the
stream is MPEG-TS over HTTP from ``ffmpeg -listen 1``: a single-client live server, which
is what a camera's HTTP endpoint is too.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from runtime_helpers import free_port, serving

from oneadapt.adapt.gradient_policy import GradientPolicy
from oneadapt.adapt.policy import PolicyContext
from oneadapt.errors import OneAdaptError
from oneadapt.inference_cache import Detector
from oneadapt.knobs import ConfigSpace
from oneadapt.media.sources import VideoSource
from oneadapt.models.registry import load_model
from oneadapt.runtime.analyzer import Analyzer
from oneadapt.runtime.camera import Camera, CameraSettings
from oneadapt.runtime.grpc_client import GrpcTransport
from oneadapt.tasks.detection import DetectionTask

CLIP_SECONDS = 8


@pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (apt-get install ffmpeg)"
)
def test_camera_keeps_up_with_a_live_stream(tmp_path: Path, shared_data: Path) -> None:
    video = shared_data / "videos" / "bgslibrary_video02_highway_cctv.avi"
    url = f"http://127.0.0.1:{free_port()}/live.ts"
    ffmpeg = subprocess.Popen(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", str(video),
         "-t", str(CLIP_SECONDS), "-c:v", "libx264", "-preset", "ultrafast", "-tune",
         "zerolatency", "-g", "25", "-f", "mpegts", "-listen", "1", url],
    )  # fmt: skip
    model = load_model("builtin")
    analyzer = Analyzer(Detector(model), DetectionTask.for_model(model.class_names))
    try:
        deadline = time.monotonic() + 20
        while True:  # until ffmpeg listens
            try:
                source = VideoSource(url, fps=5)
                break
            except OneAdaptError:
                assert time.monotonic() < deadline, "ffmpeg did not serve the stream"
                time.sleep(0.2)
        space = ConfigSpace.default(source.height, analysis_fps=5)
        with serving(analyzer) as (port, _):
            transport = GrpcTransport(f"127.0.0.1:{port}", deadline=20)
            policy = GradientPolicy(PolicyContext(space), 0.3)
            camera = Camera(source, policy, space, transport, tmp_path, CameraSettings("live"))
            start = time.monotonic()
            df = camera.run()
            elapsed = time.monotonic() - start
            transport.close()
    finally:
        ffmpeg.kill()
        ffmpeg.wait(10)
    assert CLIP_SECONDS - 2 <= len(df) <= CLIP_SECONDS
    assert (df["outcome"] == "delivered").all()
    lag = df["ack_time"] - df["capture_time"]
    assert lag.max() < 2.0, lag.tolist()  # every second answered soon after it was captured
    assert elapsed < CLIP_SECONDS + 3  # paced by the stream, not behind it
