"""Does the deployed camera + server give what ``oneadapt run`` measures?

Compares ``DIR/camera.parquet`` and ``DIR/detections.parquet`` written by ``oneadapt camera``
(against ``oneadapt serve``) with ``run_policy`` on the same video, model and lambda, run
here with no inference cache: per second the configuration, bytes, frames inferred,
backward passes, feedback bytes and camera re-encodes, and per frame the detections.

Usage: ``python benchmarks/runtime_same_results.py VIDEO MODEL CAMERA_DIR --seconds 30
[--lambda 0.3]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from oneadapt.adapt.baselines import make_policy
from oneadapt.adapt.policy import PolicyContext
from oneadapt.evaluate.run import run_policy
from oneadapt.inference_cache import Detector
from oneadapt.knobs import ConfigSpace, Configuration
from oneadapt.knobs.fps import sent_frames
from oneadapt.media.codec import frame_owner
from oneadapt.media.sources import open_source
from oneadapt.models.registry import load_model
from oneadapt.tasks.detection import DetectionTask

COLUMNS = ["second", "qp", "height", "fps", "bytes", "frames_inferred", "backward_passes"]
BOX = ["x1", "y1", "x2", "y2", "score", "class"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("video")
    parser.add_argument("model")
    parser.add_argument("camera_dir", type=Path)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--lambda", dest="lam", type=float, default=0.3)
    args = parser.parse_args()

    model = load_model(args.model)
    task = DetectionTask.for_model(model.class_names)
    source = open_source(args.video)
    space = ConfigSpace.default(source.height, source.fps)
    calls = []

    class Recording(Detector):
        def detect(self, frames, known=None):
            calls.append(super().detect(frames, known))
            return calls[-1]

    policy = make_policy("oneadapt", PolicyContext(space), args.lam)
    ran = run_policy(source, policy, Recording(model), task, space, args.seconds, progress=False)
    cam = pd.read_parquet(args.camera_dir / "camera.parquet")
    boxes = pd.read_parquet(args.camera_dir / "detections.parquet")
    cols = [*COLUMNS, "feedback_bytes", "camera_encodes"]
    same = {c: bool((ran[c].to_numpy() == cam[c].to_numpy()).all()) for c in cols}
    pending = iter(calls)  # per second: the server's inference, then the reference's
    frames = equal = 0
    worst = 0.0
    for row in ran.itertuples():
        here = next(pending)
        if Configuration({k.name: getattr(row, k.name) for k in space.knobs}) != space.reference:
            next(pending)  # the reference, which only scores the second
        owner = frame_owner(sent_frames(source.fps, source.fps, row.fps), source.fps)
        for frame, position in enumerate(owner):
            got = boxes[(boxes["second"] == row.second) & (boxes["frame"] == frame)]
            got = got[BOX].to_numpy(np.float32)
            expected = here.outputs[position].to_array()
            frames += 1
            if got.shape == expected.shape:
                equal += 1
                worst = max(worst, float(np.abs(got - expected).max(initial=0.0)))
    print(f"seconds: run {len(ran)}, camera {len(cam)}; identical per-second columns: {same}")
    print(f"configurations used: {len(set(zip(ran.qp, ran.height, ran.fps, strict=True)))}")
    print(
        f"frames with the same number of detections: {equal}/{frames}; largest coordinate or "
        f"score difference: {worst:.2g}; camera total {len(boxes)}"
    )


if __name__ == "__main__":
    main()
