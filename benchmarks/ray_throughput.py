"""Server throughput: how many 10-fps streams one ``oneadapt serve`` answers in real time,
plain and on Ray Serve with 1 and 2 replicas.

The load is the server's alone: every stream's seconds of a procedural scene (its own
seed, so no frame repeats and the server's inference cache never hits) are encoded
beforehand (every frame sent, the camera's worst case) and replayed by K sender threads,
each sending one second per second under its own stream id (a DNNGrad pass every second,
the server's default), so the senders cost next to nothing. K streams are served in real
time when the 95th percentile of the round trip stays under one second and no sender falls
behind.

Writes OUT/throughput.parquet (one row per call) and OUT/throughput.json, and prints the
table. Usage: ``python benchmarks/ray_throughput.py OUT [--streams 1,2,3,4]
[--seconds 15] [--height 144] [--model builtin] [--modes plain,ray1,ray2]``
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from oneadapt.knobs import Configuration
from oneadapt.media.codec import encode
from oneadapt.media.scene import scene_from_spec
from oneadapt.protocol.messages import segment_message
from oneadapt.runtime.grpc_client import GrpcTransport
from oneadapt.runtime.transport import TransportError

MODES = {"plain": [], "ray1": ["--ray", "--replicas", "1"], "ray2": ["--ray", "--replicas", "2"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def segments(seed: int, height: int, seconds: int) -> list[bytes]:
    """Encoded seconds of a scene at QP 30, every frame sent, as Segment bytes."""
    source = scene_from_spec(f"scene:{seed}:{height}", fps=10, seconds=seconds)
    out = []
    for seg in source.segments(seconds):
        encoded = encode(seg, Configuration(qp=30, height=seg.height, fps=10))
        times = (seg.timestamps - seg.timestamps[0]).tolist()
        message = segment_message("x", seg.index, encoded, (seg.width, seg.height), times, True)
        out.append(message.SerializeToString())
    return out


def wait_serving(port: int, server: subprocess.Popen, timeout: float = 180) -> None:
    from oneadapt.protocol import oneadapt_pb2 as pb

    probe = GrpcTransport(f"127.0.0.1:{port}", deadline=60)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            probe.analyze(pb.Segment())
        except TransportError as exc:
            if exc.code == "INVALID_ARGUMENT":  # answered: it is up (and the replicas too)
                probe.close()
                return
        time.sleep(1)
    raise RuntimeError("the server did not come up")


def load(port: int, streams: int, seconds: int, data: list[list[bytes]]) -> list[dict]:
    """K senders, one segment per second each, for ``seconds`` seconds."""
    from oneadapt.protocol import oneadapt_pb2 as pb

    rows: list[dict] = []
    start = time.monotonic() + 0.5

    def sender(k: int) -> None:
        transport = GrpcTransport(f"127.0.0.1:{port}", deadline=30)
        for second in range(seconds):
            due = start + second + k / streams  # spread over the second
            time.sleep(max(0.0, due - time.monotonic()))
            message = pb.Segment.FromString(data[k][second])
            message.stream_id, message.second = f"stream-{k}", second
            sent = time.monotonic()
            try:
                transport.analyze(message)
                status = "OK"
            except TransportError as exc:
                status = exc.code
            done = time.monotonic()
            rows.append(
                {"stream": k, "second": second, "status": status,
                 "latency": done - sent, "behind": sent - due}
            )  # fmt: skip
        transport.close()

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--streams", default="1,2,3,4")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--height", type=int, default=144)
    parser.add_argument("--model", default="builtin")
    parser.add_argument("--modes", default="plain,ray1,ray2")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the server on the way out
    counts = [int(s) for s in args.streams.split(",")]
    print(f"encoding {sum(counts)} streams x {args.seconds} s", flush=True)
    # Each step up in streams replays new content: a frame seen before would be a cache hit.
    first = np.cumsum([0, *counts])
    data = [segments(100 + k, args.height, args.seconds) for k in range(sum(counts))]
    rows, table = [], []
    for mode in args.modes.split(","):
        port = free_port()  # a fresh server (and inference cache) per mode
        log = (args.out / f"server-{mode}.log").open("w")
        cache = {**os.environ, "ONEADAPT_CACHE": str(args.out / f"cache-{mode}")}
        server = subprocess.Popen(
            [sys.executable, "-m", "oneadapt", "serve", "--model", args.model,
             "--port", str(port), *MODES[mode]],
            stderr=log, env=cache,
        )  # fmt: skip
        try:
            wait_serving(port, server)
            for step, k in enumerate(counts):
                mine = data[first[step] : first[step] + k]
                calls = pd.DataFrame(load(port, k, args.seconds, mine))
                calls["mode"], calls["streams"] = mode, k
                rows.append(calls)
                ok = calls["status"].eq("OK").all()
                p95 = float(np.percentile(calls["latency"], 95))
                behind = float(calls["behind"].max())
                realtime = ok and p95 < 1.0 and behind < 1.0
                table.append(
                    {"mode": mode, "streams": k, "p50_s": float(calls["latency"].median()),
                     "p95_s": p95, "max_behind_s": behind, "all_ok": bool(ok),
                     "realtime": bool(realtime)}
                )  # fmt: skip
                print(json.dumps(table[-1]), flush=True)
                if not realtime:
                    break  # more streams only fall further behind
        finally:
            server.terminate()
            server.wait(120)
            log.close()
    pd.concat(rows).to_parquet(args.out / "throughput.parquet", index=False)
    (args.out / "throughput.json").write_text(json.dumps(table, indent=2))
    print(pd.DataFrame(table).to_string(index=False))


if __name__ == "__main__":
    main()
