"""LiDAR media: KITTI reading, range cut, voxel downsampling, Draco, the sensor pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from oneadapt.errors import ConfigurationError, MediaError
from oneadapt.media.draco import CUBE_HALF_M, draco_decode, draco_encode
from oneadapt.media.lidar import LidarSegment, range_cut, read_kitti_bin, voxel_downsample
from oneadapt.media.lidar_codec import LIDAR_KNOB_VALUES, LidarSettings, encode_lidar
from oneadapt.media.lidar_scene import LidarSceneSource


@pytest.fixture(scope="module")
def scan() -> np.ndarray:
    return LidarSceneSource(seed=5, seconds=2).scan(3)[0]


def _nearest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from each point of ``a`` to its nearest point of ``b`` (brute force)."""
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)).min(1)


def test_kitti_bin_reads_xyz(tmp_path: Path) -> None:
    rows = np.array([[1.0, 2.0, -1.5, 0.3], [40.0, -3.0, 0.5, 0.9]], "<f4")
    path = tmp_path / "scan.bin"
    rows.tofile(path)
    assert np.array_equal(read_kitti_bin(path), rows[:, :3])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot be read"),
        (b"", "not a whole, non-zero number"),
        (b"\0" * 17, "not a whole, non-zero number"),
        (np.array([[np.nan, 0, 0, 0]], "<f4").tobytes(), "non-finite"),
        (np.array([[1e9, 0, 0, 0]], "<f4").tobytes(), "beyond 1000 m"),
    ],
)
def test_bad_kitti_files_raise_a_clear_media_error(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "bad.bin"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(MediaError, match=message) as info:
        read_kitti_bin(path)
    assert "KITTI velodyne .bin" in info.value.fix


def test_range_cut_keeps_only_near_returns(scan: np.ndarray) -> None:
    cut = range_cut(scan, 20.0)
    assert 0 < len(cut) < len(scan)
    assert np.hypot(cut[:, 0], cut[:, 1]).max() <= 20.0
    far = np.hypot(scan[:, 0], scan[:, 1]) > 20.0
    assert len(cut) == int((~far).sum())


def test_voxel_downsample_leaves_one_centroid_per_cube(scan: np.ndarray) -> None:
    assert voxel_downsample(scan, 0.0) is scan
    small, large = voxel_downsample(scan, 0.1), voxel_downsample(scan, 0.5)
    assert len(scan) > len(small) > len(large) > 0
    keys = np.floor(large / 0.5).astype(np.int64)
    assert len(np.unique(keys, axis=0)) == len(large)  # centroids stay in their own cube
    cube = np.array([[0.01, 0.01, 0.01], [0.03, 0.05, 0.07], [0.6, 0.0, 0.0]], np.float32)
    assert np.allclose(voxel_downsample(cube, 0.5), [[0.02, 0.03, 0.04], [0.6, 0.0, 0.0]])


def test_draco_round_trip_is_within_the_quantisation_step(scan: np.ndarray) -> None:
    points = range_cut(scan, 80.0)[::50]
    for bits in (8, 11, 14):
        decoded = draco_decode(draco_encode(points, bits, 7))
        assert decoded.shape == points.shape and decoded.dtype == np.float32
        step = 2 * CUBE_HALF_M / (2**bits - 1)  # a fixed cube: bits are an absolute precision
        assert _nearest(points, decoded).max() <= np.sqrt(3) * step / 2 + 1e-4
    coarse = draco_decode(draco_encode(points, 6, 7))
    assert _nearest(points, coarse).max() > 0.1  # the knob really removes precision


def test_draco_bytes_fall_monotonically_with_bits(scan: np.ndarray) -> None:
    near = range_cut(scan, 80.0)
    sizes = [len(draco_encode(near, bits, 7)) for bits in LIDAR_KNOB_VALUES["bits"]]
    assert all(a > b for a, b in zip(sizes, sizes[1:], strict=False)), sizes
    assert len(draco_encode(near, 11, 10)) < len(draco_encode(near, 11, 0))


def test_draco_level_changes_bytes_not_points(scan: np.ndarray) -> None:
    near = range_cut(scan, 80.0)
    fast, small = (draco_decode(draco_encode(near, 10, level)) for level in (0, 10))
    assert np.array_equal(np.unique(fast, axis=0), np.unique(small, axis=0))


def test_draco_empty_cloud_and_bad_input() -> None:
    assert draco_encode(np.zeros((0, 3), np.float32), 11, 7) == b""
    assert draco_decode(b"").shape == (0, 3)
    with pytest.raises(MediaError, match="do not decode as a Draco point cloud"):
        draco_decode(b"not draco at all")
    with pytest.raises(ConfigurationError, match="bits"):
        draco_encode(np.zeros((2, 3), np.float32), 31, 7)
    with pytest.raises(MediaError, match="Apply a range cut"):
        draco_encode(np.array([[150.0, 0.0, 0.0]], np.float32), 11, 7)


def test_settings_validate_and_replace() -> None:
    settings = LidarSettings()
    assert settings.replace(bits=9).bits == 9 and settings.bits == 14
    for bad in (
        dict(max_range_m=0),
        dict(max_range_m=200),
        dict(voxel_m=-0.1),
        dict(bits=0),
        dict(level=11),
    ):
        with pytest.raises(ConfigurationError):
            settings.replace(**bad)
    with pytest.raises(ConfigurationError, match="unknown LiDAR knob"):
        settings.replace(qp=30)


def test_every_knob_lowers_the_bytes_it_is_meant_to(scan: np.ndarray) -> None:
    segment = LidarSegment(0, [scan, scan[::2]], np.array([0.0, 0.1]), 10)
    for knob, values in LIDAR_KNOB_VALUES.items():
        sizes = [
            encode_lidar(segment, LidarSettings().replace(**{knob: v})).num_bytes
            for v in (values[0], values[-1])
        ]
        assert sizes[1] < sizes[0], (knob, sizes)
    encoded = encode_lidar(segment, LidarSettings(bits=10))
    assert encoded.num_bytes == sum(len(p) for p in encoded.payloads)
    assert [len(d) for d in encoded.decoded] == [len(scan), len(scan[::2])]
