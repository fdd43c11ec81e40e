"""The camera's cost per second of 720p video against the number of knobs the gradient
policy adapts: extra encodes and CPU seconds of one second's InputGrad, and how many knobs
one core sustains at 10 fps.

The knobs are added one at a time to QP, resolution and frame rate: the x264 I/P and P/B
quantiser factors, the chroma QP offset, the B-frame bias, then the pixel-difference frame
filter. For each set the policy observes one second of ``scene:SEED`` (1280x720, 10 fps)
with a real DNNGrad map, at two operating points:

- ``mid-list``: where the policy starts, every knob in the middle of its list, so a picture
  knob probes both neighbours (the most work a second can take);
- ``reference``: every knob at its dearest value (one neighbour each).

``own encode`` is the second's own encode at that point (what a camera pays without the
method). One core sustains the knob set while own encode + extra <= 1 s per second.

Usage: ``python benchmarks/camera_knob_scaling.py [--seed 3] [--repeats 3]``. The script
re-executes itself with the malloc settings below and one torch thread.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace

MALLOC_ENV = {
    "MALLOC_MMAP_THRESHOLD_": "33554432",
    "MALLOC_TRIM_THRESHOLD_": "4294967296",
    "MALLOC_TOP_PAD_": "268435456",
    "OMP_NUM_THREADS": "1",
}
ADDED_KNOBS = ("i_qfactor", "b_qfactor", "chroma_qp_offset", "b_bias", "filter_pixel")


def main() -> None:
    if any(os.environ.get(k) != v for k, v in MALLOC_ENV.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **MALLOC_ENV})
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import numpy as np
    import torch

    torch.set_num_threads(1)
    from oneadapt.adapt.gradient_policy import GradientPolicy, start_value
    from oneadapt.adapt.gradients import DNNGradServer
    from oneadapt.adapt.policy import Feedback, PolicyContext
    from oneadapt.inference_cache import Detector, InferenceCache
    from oneadapt.knobs import ConfigSpace, Configuration
    from oneadapt.media.codec import encode
    from oneadapt.media.scene import SceneSource
    from oneadapt.models.builtin import load_builtin
    from oneadapt.tasks.detection import DetectionTask

    scene = SceneSource(seed=args.seed, seconds=4)
    segment = list(scene.segments(4))[-1]
    model = load_builtin()
    task = DetectionTask.for_model(model.class_names)
    detector = Detector(model, InferenceCache())

    def one_second(space: ConfigSpace, values: dict) -> tuple[int, float, float]:
        """(extra encodes, extra seconds, own-encode seconds) of one observed second."""
        config = Configuration(values)
        start = time.perf_counter()
        current = encode(segment, config)
        own = time.perf_counter() - start
        grad_map = DNNGradServer(model, task).feedback(segment.index, current)
        grad_map = replace(grad_map, staleness=(0.05, 0.1, 0.15, 0.2, 0.25))  # any curve
        policy = GradientPolicy(PolicyContext(space, detector, task), lam=0.3)
        policy.values = dict(values)
        policy.x = {k.name: k.position(values[k.name]) for k in space.knobs}
        policy.reference_bytes = current.num_bytes
        policy.observe(Feedback(segment.index, config, segment, current, grad_map))
        spent = policy.take_overhead()
        return spent.camera_encodes, spent.camera_seconds, own

    print(f"camera cost per second of {scene.width}x{scene.height} video, median of {args.repeats}")
    header = f"{'knobs':>5} {'point':>9} {'encodes':>8} {'extra s':>8} {'own s':>6} {'total s':>8}"
    print(header + "  added")
    fits: dict[str, list[tuple[int, float]]] = {"mid-list": [], "reference": []}
    for n in range(len(ADDED_KNOBS) + 1):
        space = ConfigSpace.default(scene.height, scene.fps, **dict.fromkeys(ADDED_KNOBS[:n]))
        points = {
            "mid-list": {k.name: start_value(k) for k in space.knobs},
            "reference": dict(space.reference),
        }
        for point, values in points.items():
            runs = [one_second(space, values) for _ in range(args.repeats)]
            encodes = runs[0][0]
            extra = statistics.median(r[1] for r in runs)
            own = statistics.median(r[2] for r in runs)
            fits[point].append((len(space.knobs), extra + own))
            print(
                f"{len(space.knobs):>5} {point:>9} {encodes:>8} {extra:>8.3f} {own:>6.3f} "
                f"{extra + own:>8.3f}  {ADDED_KNOBS[n - 1] if n and point == 'mid-list' else ''}"
            )
    for point, rows in fits.items():
        knobs, total = np.array(rows).T
        slope, intercept = np.polyfit(knobs, total, 1)
        residual = float(np.max(np.abs(total - (slope * knobs + intercept))))
        sustained = int((1.0 - intercept) // slope) if slope > 0 else None
        print(
            f"{point}: {slope:.3f} s per knob + {intercept:.3f} s (largest residual "
            f"{residual:.3f} s); one core sustains about {sustained} knobs at 10 fps"
        )


if __name__ == "__main__":
    main()
