"""Built-in detector: mAP@0.5 vs. scene ground truth across QP and resolution, plus cost.

Run: ``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296
MALLOC_TOP_PAD_=268435456 python benchmarks/builtin_accuracy.py`` (seeds are outside the
training range, so this measures generalization to unseen scenes).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from oneadapt.knobs import Configuration
from oneadapt.media.codec import encode
from oneadapt.media.scene import SCENE_CLASSES, SceneSource
from oneadapt.models.base import to_tensor
from oneadapt.models.builtin import load_builtin
from oneadapt.models.train_builtin import TRAIN_SCENE_SEEDS
from oneadapt.tasks.ground_truth import map50

CONFIGS = [Configuration(qp=qp, height=720, fps=10) for qp in (20, 30, 40, 50)] + [
    Configuration(qp=20, height=h, fps=10) for h in (540, 360, 180)
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[2000, 2001, 2002, 2003])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--stride", type=int, default=5, help="evaluate every N-th frame")
    args = parser.parse_args()
    assert not set(args.seeds) & set(TRAIN_SCENE_SEEDS), "evaluation seeds must be unseen"
    torch.set_num_threads(2)
    model = load_builtin()

    preds: dict[str, list] = {"raw": []}
    truth: list = []
    kbits: dict[str, float] = {}
    for seed in args.seeds:
        for segment in SceneSource(seed=seed, seconds=args.seconds).segments():
            picks = np.arange(0, len(segment), args.stride)
            truth.extend(segment.ground_truth[i] for i in picks)
            preds["raw"].extend(model.infer(segment.frames[picks]))
            for config in CONFIGS:
                encoded = encode(segment, config)
                preds.setdefault(config.label(), []).extend(model.infer(encoded.decoded[picks]))
                kbits[config.label()] = kbits.get(config.label(), 0.0) + encoded.num_bytes * 8e-3
    seconds = len(args.seeds) * args.seconds
    classes = range(len(SCENE_CLASSES))
    print(f"seeds {args.seeds}, {seconds} s, {len(truth)} frames, {sum(map(len, truth))} objects")
    print(f"{'configuration':<18} {'mAP@0.5':>8} {'kbit/s':>8}")
    for label, p in preds.items():
        rate = f"{kbits[label] / seconds:8.0f}" if label in kbits else f"{'-':>8}"
        print(f"{label:<18} {map50(p, truth, classes):8.3f} {rate}")

    frame, _ = SceneSource(seed=args.seeds[0], seconds=1).frame(0)
    x = to_tensor(frame[None], requires_grad=True)
    forward, both = [], []
    for _ in range(6):
        t0 = time.perf_counter()
        scores = model.forward(x)[0].scores.sum()
        t1 = time.perf_counter()
        scores.backward()
        forward.append(t1 - t0)
        both.append(time.perf_counter() - t0)
    params = sum(p.numel() for p in model.net.parameters())
    print(f"parameters {params:,}; 1280x720 frame, 2 threads, median of 5 after warm-up:")
    print(f"forward {np.median(forward[1:]) * 1e3:.0f} ms, forward+backward "
          f"{np.median(both[1:]) * 1e3:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
