"""The camera on live streams that FFmpeg sends on loopback at the clip's own pace.

- MPEG-TS over HTTP from ``ffmpeg -listen 1``: a single-client live server, which is what a
  camera's HTTP endpoint is too.
- RTSP: FFmpeg's RTSP muxer only pushes (ANNOUNCE/RECORD) and cannot serve pulling clients,
  so the camera listens (``rtsp-listen://``, FFmpeg's ``rtsp_flags=listen``) and
  ``ffmpeg -f rtsp`` pushes to it, through the deployed programs: ``oneadapt camera`` against
  ``oneadapt serve``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from runtime_helpers import child_env, free_port, serving, start_server

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
needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None,
    reason="ffmpeg is not installed (apt-get install ffmpeg): nothing to serve a live stream",
)
LIVE_X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25"]


@needs_ffmpeg
def test_camera_keeps_up_with_a_live_stream(tmp_path: Path, scene_clip: Path) -> None:
    video = scene_clip
    url = f"http://127.0.0.1:{free_port()}/live.ts"
    ffmpeg = subprocess.Popen(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", str(video),
         "-t", str(CLIP_SECONDS), *LIVE_X264, "-f", "mpegts", "-listen", "1", url],
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


def push_rtsp(clip: Path, url: str, timeout: float) -> tuple[subprocess.Popen, float]:
    """``ffmpeg -re ... -f rtsp URL`` once something listens at ``url`` (a refused publisher
    exits at once and is started again): (the publisher, when the accepted one started)."""
    deadline = time.monotonic() + timeout
    while True:
        started = time.time()
        publisher = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", str(clip),
             "-t", str(CLIP_SECONDS), *LIVE_X264, "-an", "-f", "rtsp", "-rtsp_transport", "tcp",
             url],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            publisher.wait(1.0)
        except subprocess.TimeoutExpired:
            return publisher, started
        assert time.monotonic() < deadline, f"nothing listened at {url}: {publisher.stderr.read()}"
        time.sleep(0.2)


@needs_ffmpeg
def test_camera_command_keeps_up_with_an_rtsp_stream(tmp_path: Path, shared_data: Path) -> None:
    """On the 25-fps motorway clip: the pushed stream's 25-frame GOP is then one second (at the
    scene clip's 10 fps it is 2.5 s, and the first second arrives that late)."""
    clip = shared_data / "videos" / "bgslibrary_video02_highway_cctv.avi"
    port, log, out = free_port(), tmp_path / "server.log", tmp_path / "cam"
    listen = f"127.0.0.1:{free_port()}/live"
    server = start_server(port, log)
    camera = subprocess.Popen(
        [sys.executable, "-m", "oneadapt", "camera", f"rtsp-listen://{listen}",
         "--server", f"127.0.0.1:{port}", "--out", str(out), "--stream-id", "rtsp-cam"],
        env=child_env(), stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    publisher = None
    try:
        publisher, started = push_rtsp(clip, f"rtsp://{listen}", timeout=30)
        _, errors = camera.communicate(timeout=CLIP_SECONDS + 40)
        assert camera.returncode == 0, errors
        assert publisher.wait(10) == 0, publisher.stderr.read()
    finally:
        for process in (camera, publisher, server):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
    df = pd.read_parquet(out / "camera.parquet")
    assert CLIP_SECONDS - 1 <= len(df) <= CLIP_SECONDS, df
    assert (df["outcome"] == "delivered").all(), df[["second", "outcome", "reason"]]
    # Second k of the stream is complete k + 1 s after the publisher started: how far behind
    # that the camera captured it, and how long its answer then took.
    behind = df["capture_time"] - (started + df["second"] + 1)
    answer = df["ack_time"] - df["capture_time"]
    span = df["capture_time"].iloc[-1] - df["capture_time"].iloc[0]
    print(
        f"RTSP: {len(df)} s delivered over {span:.2f} s of capture ({len(df) - 1} s of stream);"
        f" capture behind the stream {behind.min():.2f}..{behind.max():.2f} s;"
        f" answer {answer.median():.2f} s median, {answer.max():.2f} s max"
    )
    assert behind.max() < 1.5, behind.tolist()  # never a second behind the stream
    assert behind.iloc[-1] - behind.iloc[:2].min() < 0.5, behind.tolist()  # no growing backlog
    assert abs(span - (len(df) - 1)) < 0.5  # one second captured per second of stream
    assert answer.max() < 1.0, answer.tolist()
    served = [line for line in log.read_text().splitlines() if '"stream": "rtsp-cam"' in line]
    assert len(served) == len(df)
