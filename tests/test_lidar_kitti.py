"""Real KITTI scans (../shared/data/lidar): reading, the sensor pipeline and the detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from oneadapt.media.lidar import KittiSource, range_cut
from oneadapt.media.lidar_codec import LIDAR_KNOB_VALUES, LidarSettings, encode_lidar
from oneadapt.models.builtin_lidar import load_builtin_lidar
from oneadapt.tasks.lidar_detection import CAR, lidar_task


@pytest.fixture(scope="module")
def kitti(shared_data: Path) -> KittiSource:
    paths = sorted((shared_data / "lidar").glob("kitti_object_*.bin"))
    if len(paths) != 3:
        pytest.skip(f"expected 3 KITTI scans in {shared_data / 'lidar'}, found {len(paths)}")
    return KittiSource(paths)


def test_kitti_scans_read_as_velodyne_clouds(kitti: KittiSource) -> None:
    segments = list(kitti.segments())
    assert [len(s) for s in segments] == [1, 1, 1]
    for segment in segments:
        (scan,) = segment.scans
        assert 110_000 < len(scan) < 130_000 and scan.dtype == np.float32
        assert -2.5 < np.percentile(scan[:, 2], 5) < -1.4  # ground about 1.73 m below


def test_pipeline_on_kitti_bytes_and_precision(kitti: KittiSource) -> None:
    segment = next(iter(kitti.segments()))
    sizes = []
    for bits in LIDAR_KNOB_VALUES["bits"]:
        encoded = encode_lidar(segment, LidarSettings(bits=bits))
        sizes.append(encoded.num_bytes)
    assert all(a > b for a, b in zip(sizes, sizes[1:], strict=False)), sizes
    assert sizes[0] < 0.5 * len(segment.scans[0]) * 12  # compressed well below raw float32 xyz
    decoded = encode_lidar(segment, LidarSettings(bits=11)).decoded[0]
    assert len(decoded) == len(range_cut(segment.scans[0], 80.0))


def test_detector_sees_cars_on_kitti_and_keeps_them_at_high_quality(kitti: KittiSource) -> None:
    model, task = load_builtin_lidar(), lidar_task()
    scans = [s.scans[0] for s in kitti.segments()]
    refs = [task.relevant(d) for d in model.infer(scans)]
    assert sum(int((r.classes == CAR).sum()) for r in refs) >= 3
    segment = next(iter(kitti.segments()))
    decoded = encode_lidar(segment, LidarSettings(bits=14)).decoded
    assert task.accuracy(model.infer(decoded), refs[:1]) > 0.8
