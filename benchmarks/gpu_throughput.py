"""How many streams one accelerator serves: detector throughput by batch size, and the
extra work of DNNGrad, on whatever device torch sees (``--device cuda`` on a GPU server).

For each model it prints:

- ``infer`` frames/s of the network alone, no gradient, at each batch size (what a server
  that batches frames across streams, as ``serve.batch`` does, gets per second);
- ``dnngrad`` seconds of one DNNGrad pass (forward and backward to the input pixels through
  the network) on one input;
- streams per device at 10 fps with one DNNGrad pass every 2 s per stream:
  ``1 / (10 * t_frame(batch) + (t_dnngrad - t_frame(1)) / 2)``, the backward pass being the
  only extra (its forward pass is that frame's inference).

Usage: ``python benchmarks/gpu_throughput.py [--device cuda] [--batches 1,8,32,128]
[--runs 20] [--model PATH]``. Medians over ``--runs`` timed runs after warm-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from oneadapt.models.base import Model

DATA = Path(
    os.environ.get("ONEADAPT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def timed(run: Callable[[], object], device: torch.device, runs: int) -> float:
    """Median seconds of ``run`` over ``runs`` calls after 3 warm-ups."""
    times = []
    for i in range(runs + 3):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= 3:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def network_and_input(model: Model) -> tuple[torch.nn.Module, tuple[int, int]]:
    """The model's torch network and its input size (height, width)."""
    if hasattr(model, "module"):  # ONNX detectors: the converted graph, fixed input size
        return model.module, tuple(model.input_size)
    from oneadapt.models.builtin import input_size

    return model.net, input_size(1280, 720)[::-1]


def move(model: Model, device: torch.device) -> None:
    """Put the model's network and constant tensors on ``device``."""
    network, _ = network_and_input(model)
    network.to(device)
    for name in ("_mean", "_std"):
        if hasattr(model, name):
            setattr(model, name, getattr(model, name).to(device))


def measure(name: str, model: Model, device: torch.device, batches: list[int], runs: int) -> None:
    move(model, device)
    network, (h, w) = network_and_input(model)
    per_frame = {}
    with torch.no_grad():
        for b in batches:
            x = torch.rand(b, 3, h, w, device=device) * 255
            per_frame[b] = timed(lambda x=x: network(x), device, runs) / b
    x1 = torch.rand(1, 3, h, w, device=device) * 255

    def dnngrad() -> None:
        """Forward and backward to the input pixels through the network (the detector's
        pre- and post-processing, a few cheap tensor ops, excluded)."""
        x = x1.detach().requires_grad_(True)
        out = network(x)
        outputs = [out] if isinstance(out, torch.Tensor) else list(out)
        proxy = sum(torch.sigmoid(20 * (t.float() - 0.5)).sum() for t in outputs)
        torch.autograd.grad(proxy, x)

    t_grad = timed(dnngrad, device, runs)
    print(f"\n{name} on {device} (input {w}x{h})")
    print("batch  infer frames/s  streams at 10 fps (DNNGrad every 2 s)")
    extra = max(t_grad - per_frame[batches[0]], 0.0) / 2
    for b in batches:
        streams = 1.0 / (10 * per_frame[b] + extra)
        print(f"{b:5d}  {1 / per_frame[b]:14.0f}  {streams:8.1f}")
    print(
        f"DNNGrad pass (forward + backward, batch 1): {t_grad * 1000:.2f} ms, "
        f"{t_grad / per_frame[batches[0]]:.2f}x one inference"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batches", default="1,8,32,128")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--model", default=str(DATA / "models" / "yolox_nano_416x416.onnx"))
    args = parser.parse_args()
    device = torch.device(args.device)
    batches = [int(b) for b in args.batches.split(",")]
    print(f"torch {torch.__version__}, device {device}", end="")
    if device.type == "cuda":
        print(f" ({torch.cuda.get_device_name(device)})", end="")
    print()
    from oneadapt.models.builtin import load_builtin
    from oneadapt.models.registry import load_model

    measure("builtin", load_builtin(), device, batches, args.runs)
    if Path(args.model).exists():
        measure("yolox-nano", load_model(args.model), device, batches, args.runs)
    else:
        print(f"no {args.model}: YOLOX not measured (set ONEADAPT_DATA or --model)")


if __name__ == "__main__":
    main()
