"""LiDAR profile table: bytes and BEV F1 at every value of every knob, one knob at a time.

Run: ``OMP_NUM_THREADS=1 python benchmarks/lidar_profile.py`` (procedural scene on
seeds outside the training range, plus the KITTI scans in ../shared/data/lidar when
present). The other knobs stay at ``LidarSettings()``; F1 is against the built-in
detector's output on the raw scan (the reference), as the adaptation measures it.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable

import numpy as np
import torch

from oneadapt.media.lidar import KittiSource, LidarSegment
from oneadapt.media.lidar_codec import LIDAR_KNOB_VALUES, LidarSettings, encode_lidar
from oneadapt.media.lidar_scene import LidarSceneSource
from oneadapt.models.builtin_lidar import RANGE_M, load_builtin_lidar
from oneadapt.models.train_builtin_lidar import TRAIN_SCENE_SEEDS
from oneadapt.storage import shared_data_dir
from oneadapt.tasks.ground_truth import map50
from oneadapt.tasks.lidar_detection import LIDAR_CLASSES, lidar_task


def _sampled(segments: Iterable[LidarSegment], stride: int) -> list[LidarSegment]:
    """Every ``stride``-th scan of each segment (profiling every scan costs 10 per second)."""
    out = []
    for s in segments:
        keep = list(range(0, len(s), stride))
        truth = None if s.ground_truth is None else [s.ground_truth[i] for i in keep]
        out.append(
            LidarSegment(s.index, [s.scans[i] for i in keep], s.timestamps[keep], s.rate, truth)
        )
    return out


def profile(name: str, segments: list[LidarSegment]) -> None:
    model, task = load_builtin_lidar(), lidar_task()
    scans = [scan for s in segments for scan in s.scans]
    refs = model.infer(scans)
    objects = sum(len(task.relevant(r)) for r in refs)
    print(f"\n## {name}: {len(scans)} scans, {objects} reference detections (score >= 0.5)")
    truth = [b.within(RANGE_M).bev() for s in segments for b in (s.ground_truth or [])]
    if truth:
        maps = ", ".join(f"{n} {map50(refs, truth, [i]):.3f}" for i, n in enumerate(LIDAR_CLASSES))
        print(f"reference mAP@0.5 vs exact boxes inside the grid: {maps}")
    print(
        f"{'knob':<12} {'value':>6} {'kB/scan':>9} {'Mbit/s@10Hz':>12} {'points':>8} "
        f"{'enc ms/scan':>12} {'F1':>6}"
    )
    for knob, values in LIDAR_KNOB_VALUES.items():
        for value in values:
            settings = LidarSettings().replace(**{knob: value})
            encoded = [encode_lidar(s, settings) for s in segments]
            nbytes = sum(e.num_bytes for e in encoded) / len(scans)
            decoded = [d for e in encoded for d in e.decoded]
            f1 = task.accuracy(model.infer(decoded), refs)
            points = np.mean([len(d) for d in decoded])
            encode_ms = sum(e.encode_seconds for e in encoded) / len(scans) * 1e3
            print(
                f"{knob:<12} {value:>6g} {nbytes / 1e3:9.1f} {nbytes * 8 * 10 / 1e6:12.2f} "
                f"{points:8.0f} {encode_ms:12.1f} {f1:6.3f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[2000, 2001])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--stride", type=int, default=10, help="profile every N-th scan")
    args = parser.parse_args()
    assert not set(args.seeds) & set(TRAIN_SCENE_SEEDS), "evaluation seeds must be unseen"
    torch.set_num_threads(1)
    print(f"defaults: {LidarSettings()}")
    segments = [
        s
        for seed in args.seeds
        for s in _sampled(LidarSceneSource(seed=seed, seconds=args.seconds).segments(), args.stride)
    ]
    profile(f"procedural scene, seeds {args.seeds}, {args.seconds} s each", segments)
    kitti = sorted((shared_data_dir() / "lidar").glob("kitti_object_*.bin"))
    if kitti:
        profile(f"KITTI {', '.join(p.stem for p in kitti)}", list(KittiSource(kitti).segments()))
    else:
        print(f"\nKITTI scans not found under {shared_data_dir() / 'lidar'}: skipped")


if __name__ == "__main__":
    main()
