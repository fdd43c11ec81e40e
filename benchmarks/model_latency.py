"""Per-frame latency of each detector at its native input size: ``infer`` (onnxruntime for
ONNX models), torch ``forward``, and torch forward + backward (one DNNGrad pass).

DNNGrad's extra server work at 10 fps with the default interval of N seconds between
passes (the forward pass of that frame is its inference, so the backward is the extra):
``extra/torch`` when the server infers in PyTorch too, ``(fwd+bwd - fwd) / (10 * N * fwd)``;
``extra/ort`` when it infers the other frames with onnxruntime,
``(fwd+bwd - infer) / (10 * N * infer)``.

Usage: ``python benchmarks/model_latency.py [--models yolox fastestdet ...] [--runs 20]``

glibc's default malloc returns large freed blocks to the OS and maps them again on every
frame, which dominates small-model latency; the script re-executes itself with tuned
malloc settings (and 2 torch threads) so numbers are stable and comparable.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

MALLOC_ENV = {
    "MALLOC_MMAP_THRESHOLD_": "33554432",
    "MALLOC_TRIM_THRESHOLD_": "4294967296",
    "MALLOC_TOP_PAD_": "268435456",
}
MODEL_FILES = {
    "yolox": "yolox_nano_416x416.onnx",
    "fastestdet": "FastestDet_352.onnx",
    "nanodet-320": "nanodet_m_320.onnx",
    "nanodet-416": "nanodet_m_416.onnx",
}
ALL_MODELS = [*MODEL_FILES, "builtin"]
WARMUP = 3


def _ensure_malloc_env() -> None:
    """Re-exec with MALLOC_ENV: glibc reads these only at process start."""
    if any(os.environ.get(k) != v for k, v in MALLOC_ENV.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **MALLOC_ENV})


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    for _ in range(WARMUP):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", choices=ALL_MODELS, default=ALL_MODELS)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per measurement")
    args = parser.parse_args()
    _ensure_malloc_env()

    import torch
    import torch.nn.functional as F

    from oneadapt.adapt.gradients import DNNGradSettings, pixel_grad
    from oneadapt.errors import OneAdaptError
    from oneadapt.media.sources import VideoSource
    from oneadapt.models.base import to_tensor
    from oneadapt.models.registry import load_model
    from oneadapt.storage import shared_data_dir
    from oneadapt.tasks.detection import DetectionTask

    torch.set_num_threads(2)
    data = shared_data_dir()
    # A real motorway frame with many cars, so NMS does realistic work.
    video = data / "videos" / "bgslibrary_video02_highway_cctv.avi"
    source_frame = to_tensor(next(VideoSource(video).segments(1)).frames[:1])

    header = (
        f"{'model':<12} {'input':>9} {'infer':>10} {'torch fwd':>10} {'fwd+bwd':>10} "
        f"{'extra/torch':>12} {'extra/ort':>10}"
    )
    interval = DNNGradSettings().interval
    print(f"per-frame median of {args.runs} runs, ms, torch threads 2, onnxruntime threads 2;")
    print(f"extra server work at 10 fps with one DNNGrad pass every {interval} s")
    print(header)
    print("-" * len(header))
    for name in args.models:
        spec = name if name == "builtin" else str(data / "models" / MODEL_FILES[name])
        try:
            model = load_model(spec)
        except OneAdaptError as exc:
            print(f"{name:<12} skipped: {exc}")
            continue
        size = getattr(model, "input_size", None) or tuple(source_frame.shape[2:])
        frame = F.interpolate(source_frame, size=size, mode="bilinear", align_corners=False)
        frame = frame.round().clamp(0, 255)
        uint8 = frame.to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()

        def forward(frame: torch.Tensor = frame, model=model) -> None:
            with torch.no_grad():
                model.forward(frame)

        def forward_backward(uint8=uint8, model=model) -> None:
            pixel_grad(model, DetectionTask.for_model(model.class_names), uint8)

        ort_ms = _median_ms(lambda model=model, uint8=uint8: model.infer(uint8), args.runs)
        fwd_ms = _median_ms(forward, args.runs)
        bwd_ms = _median_ms(forward_backward, args.runs)
        shape = f"{size[1]}x{size[0]}"
        extra_torch = (bwd_ms - fwd_ms) / (10 * interval * fwd_ms)
        extra_ort = (bwd_ms - ort_ms) / (10 * interval * ort_ms)
        print(
            f"{name:<12} {shape:>9} {ort_ms:>10.1f} {fwd_ms:>10.1f} {bwd_ms:>10.1f} "
            f"{extra_torch:>12.1%} {extra_ort:>10.1%}",
            flush=True,
        )


if __name__ == "__main__":
    main()
