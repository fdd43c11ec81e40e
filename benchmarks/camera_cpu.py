"""Camera CPU per second of video: encode, 3 probe re-encodes (one per knob), decode,
InputGrad and the gRPC client, against ``oneadapt serve`` on loopback.

The scene is rendered before timing (a real camera gets frames from its sensor), and the
camera runs flat out, so CPU seconds per video second below 1 means one core keeps up.

Usage: ``python benchmarks/camera_cpu.py [--height 720] [--seconds 10] [--fps 10]``
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from oneadapt.adapt.gradient_policy import GradientPolicy
from oneadapt.adapt.policy import PolicyContext
from oneadapt.knobs import ConfigSpace
from oneadapt.media.scene import scene_from_spec
from oneadapt.media.sources import Source
from oneadapt.runtime.camera import Camera, CameraSettings
from oneadapt.runtime.grpc_client import GrpcTransport


class Rendered(Source):
    """Pre-rendered segments of another source."""

    def __init__(self, source: Source, seconds: int) -> None:
        self.name, self.fps = source.name, source.fps
        self.width, self.height = source.width, source.height
        self._segments = list(source.segments(seconds))

    def segments(self, max_seconds=None):
        return iter(self._segments[:max_seconds])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--fps", type=int, default=10)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "oneadapt", "serve", "--model", "builtin", "--port", str(port)],
        stderr=subprocess.DEVNULL,
    )
    source = Rendered(
        scene_from_spec(f"scene:7:{args.height}", fps=args.fps, seconds=args.seconds), args.seconds
    )
    space = ConfigSpace.default(source.height, analysis_fps=args.fps)
    time.sleep(10)  # the server loads
    transport = GrpcTransport(f"127.0.0.1:{port}", deadline=60)
    with tempfile.TemporaryDirectory() as out:
        policy = GradientPolicy(PolicyContext(space), 0.3)
        camera = Camera(source, policy, space, transport, Path(out), CameraSettings("cpu"))
        cpu, wall = time.process_time(), time.monotonic()
        df = camera.run(args.seconds)
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    server.terminate()
    server.wait(60)
    print(
        f"{source.width}x{source.height} at {args.fps} fps, {len(df)} s "
        f"({df['outcome'].value_counts().to_dict()}), probe encodes per second "
        f"{df['camera_encodes'].mean():.1f}: camera CPU {cpu / len(df):.3f} s per second of "
        f"video (encode {df['encode_seconds'].mean():.3f} s, "
        f"probes {df['camera_seconds'].mean():.3f} s wall); "
        f"wall {wall:.1f} s including the server's answers"
    )


if __name__ == "__main__":
    main()
