"""The camera's extra work for InputGrad: seconds of probe re-encodes (encode, decode,
salient distortion) per second of 720p video.

Two figures, both on the procedural scene at 1280x720 with the QP, resolution and
frame-rate knobs (a decoded probe per neighbour of each picture knob, a compress per
neighbour of the frame rate):

- ``run``: ``camera_seconds`` of the gradient policy streaming ``scene:SEED`` for N seconds
  at lambda 0.3 with the built-in detector (median and mean over the seconds), i.e. what
  ``oneadapt run scene:3 --model builtin --seconds 12`` records;
- ``reference``: the policy's whole extra work for one second at the reference
  configuration (720p, 10 fps, lowest QP), the dearest operating point, with a real DNNGrad
  map (median of ``--repeats``).

Usage: ``python benchmarks/camera_cost.py [--seed 3] [--seconds 12] [--repeats 5]``. The
script re-executes itself with the malloc settings below and one torch thread.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from dataclasses import replace

MALLOC_ENV = {
    "MALLOC_MMAP_THRESHOLD_": "33554432",
    "MALLOC_TRIM_THRESHOLD_": "4294967296",
    "MALLOC_TOP_PAD_": "268435456",
    "OMP_NUM_THREADS": "1",
}


def main() -> None:
    if any(os.environ.get(k) != v for k, v in MALLOC_ENV.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **MALLOC_ENV})
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from oneadapt.adapt.gradient_policy import GradientPolicy
    from oneadapt.adapt.gradients import DNNGradServer
    from oneadapt.adapt.policy import Feedback, PolicyContext
    from oneadapt.evaluate.run import run_policy
    from oneadapt.inference_cache import Detector, InferenceCache
    from oneadapt.knobs import ConfigSpace
    from oneadapt.media.codec import encode
    from oneadapt.media.scene import SceneSource
    from oneadapt.models.builtin import load_builtin
    from oneadapt.tasks.detection import DetectionTask

    scene = SceneSource(seed=args.seed, seconds=args.seconds)
    model = load_builtin()
    task = DetectionTask.for_model(model.class_names)
    detector = Detector(model, InferenceCache())
    space = ConfigSpace.default(scene.height, scene.fps)
    policy = GradientPolicy(PolicyContext(space, detector, task), lam=0.3)
    df = run_policy(scene, policy, detector, task, space, args.seconds, progress=False)
    per_second = df["camera_seconds"].tolist()

    segment = list(scene.segments(args.seconds))[-1]
    current = encode(segment, space.reference)
    grad_map = DNNGradServer(model, task).feedback(segment.index, current)
    grad_map = replace(grad_map, staleness=(0.05, 0.1, 0.15, 0.2, 0.25))  # any measured curve

    def at_reference() -> float:
        """The policy's whole extra work for one second streamed at the reference."""
        policy = GradientPolicy(PolicyContext(space, detector, task), lam=0.3)
        policy.values = {k.name: k.values[0] for k in space.knobs}
        policy.x = {k.name: 1.0 for k in space.knobs}
        policy.reference_bytes = current.num_bytes
        policy.observe(Feedback(segment.index, space.reference, segment, current, grad_map))
        return policy.take_overhead().camera_seconds

    probe = [at_reference() for _ in range(args.repeats)]
    print(f"camera extra seconds per second of {scene.width}x{scene.height} video")
    print(
        f"run (scene:{args.seed}, {args.seconds} s, lambda 0.3): median "
        f"{statistics.median(per_second):.3f}, mean {statistics.fmean(per_second):.3f}"
    )
    print(
        f"reference configuration {space.reference.label()}: median "
        f"{statistics.median(probe):.3f} of {args.repeats}"
    )


if __name__ == "__main__":
    main()
