"""Load on loopback: N ``oneadapt camera`` processes on procedural scenes against one
``oneadapt serve``, for a bounded time.

Reports segments delivered and lost (with the reasons the records give), p50 and p99
round-trip latency (last send to ack), the server's DNN seconds per second (its metrics
endpoint) and each camera's CPU seconds per second of video (``wait4`` rusage, which
includes rendering the procedural scene).

Usage: ``python benchmarks/runtime_load.py OUT [--cameras 8] [--seconds 60] [--height 180]
[--analysis-fps 10] [--model builtin] [--realtime]``
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def oneadapt(*args: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "oneadapt", *args], stderr=log.open("w"))


def scrape(port: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return next(float(v) for n, _, v in (x.rpartition(" ") for x in text.splitlines()) if n == name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--height", type=int, default=180)
    parser.add_argument("--model", default="builtin")
    parser.add_argument("--analysis-fps", type=int, default=10)
    parser.add_argument("--realtime", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    port, metrics = free_port(), free_port()
    server = oneadapt(
        "serve", "--model", args.model, "--port", str(port), "--metrics-port", str(metrics),
        log=args.out / "server.log",
    )  # fmt: skip
    time.sleep(8)  # the server imports torch and loads the model; cameras retry meanwhile
    cameras = []
    start = time.monotonic()
    for k in range(args.cameras):
        cameras.append(
            oneadapt(
                "camera",
                f"scene:{k}:{args.height}",
                "--server",
                f"127.0.0.1:{port}",
                "--seconds",
                str(args.seconds),
                "--stream-id",
                f"cam{k}",
                "--analysis-fps",
                str(args.analysis_fps),
                "--out",
                str(args.out / f"cam{k}"),
                *(["--realtime"] if args.realtime else []),
                log=args.out / f"cam{k}.log",
            )  # fmt: skip
        )
    cpu = []
    for proc in cameras:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu.append(usage.ru_utime + usage.ru_stime)
    wall = time.monotonic() - start
    dnn_rate = scrape(metrics, "oneadapt_server_dnn_seconds_per_second")
    dnn_total = scrape(metrics, "oneadapt_server_dnn_seconds_total")
    server.terminate()
    server.wait(60)
    df = pd.concat(
        [pd.read_parquet(args.out / f"cam{k}" / "camera.parquet") for k in range(args.cameras)]
    )
    delivered = df[df["outcome"] != "dropped"]
    rtt = (delivered["ack_time"] - delivered["send_time"]).to_numpy()
    print(f"exit codes: {[p.returncode for p in cameras]}; wall {wall:.1f} s")
    print(
        f"seconds captured {len(df)}: {df['outcome'].value_counts().to_dict()}; "
        f"dropped reasons {df.loc[df['outcome'] == 'dropped', 'reason'].value_counts().to_dict()}"
    )
    print(
        f"round trip p50 {np.percentile(rtt, 50) * 1000:.0f} ms, "
        f"p99 {np.percentile(rtt, 99) * 1000:.0f} ms"
    )
    lag = (delivered["ack_time"] - delivered["capture_time"]).to_numpy()
    span = df.groupby("second")["capture_time"].mean()
    print(
        f"capture to answer p50 {np.percentile(lag, 50):.1f} s, p99 {np.percentile(lag, 99):.1f} s;"
        f" {args.seconds} s of video captured over {span.iloc[-1] - span.iloc[0] + 1:.0f} s"
    )
    print(
        f"server DNN seconds per second: {dnn_rate:.3f} since start, "
        f"{dnn_total / wall:.3f} over the cameras' run"
    )
    per_video_second = [c / args.seconds for c in cpu]
    print(
        f"camera CPU seconds per second of video: mean {np.mean(per_video_second):.3f}, "
        f"max {np.max(per_video_second):.3f}; mean kbit/s {df['kbps'].mean():.1f}"
    )


if __name__ == "__main__":
    main()
