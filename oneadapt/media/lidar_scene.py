"""Procedural LiDAR scans of a street with exact 3D boxes: the embedded LiDAR source.

Like the video scene, the main job needs point clouds with no download, with known
boxes and content whose best knob setting changes every few seconds. A 64-beam sensor
(KITTI's HDL-64E geometry: +2 to -24.8 degrees, 0.2 degree azimuth steps, 10 Hz) rides
on a car along a four-lane road; other cars drive the lanes, cars park at the curbs,
pedestrians walk the sidewalks, and facades, poles, trees and bins stand beside the
road. Every ray is cast against the ground plane and oriented boxes; returns get range
noise and dropout. The content switches regime (normal, sparse, busy, parked, crowd,
empty) every 10 to 30 seconds, and the ego speed with it.

Every scan is a pure function of ``(seed, scan index)``: moving objects follow closed
forms, the roadside is drawn per 120-m tile from generators seeded by the tile, so the
same seed gives bit-identical scans and any scan can be cast without the ones before.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from oneadapt.errors import ConfigurationError
from oneadapt.media.lidar import SCAN_RATE, LidarSegment
from oneadapt.media.regimes import Regime, draw_regimes, regime_at
from oneadapt.tasks.lidar_detection import CAR, LIDAR_CLASSES, PERSON, Boxes3D

BEAMS = 64
ELEVATION_DEG = (2.0, -24.8)
AZIMUTH_STEPS = 1800
MAX_RANGE_M = 100.0
RANGE_NOISE_M = 0.02
MIN_OBJECT_POINTS = 5
"""An object is labelled when at least this many returns hit it (KITTI-style visibility)."""
WINDOW_M = 120.0
"""Objects and roadside tiles exist within +-60 m of the sensor along the road."""
REGIME_NAMES = ("normal", "sparse", "busy", "parked", "crowd", "empty")

_LANES = (-5.25, -1.75, 1.75, 5.25)
_EGO_Y = -1.75
_ROAD_HALF = 7.0
_CLUTTER = -1
"""Owner id of returns on roadside structures (not objects of interest)."""


class _Params(NamedTuple):
    """Per-regime ranges: moving cars, parked cars, pedestrians, ego speed (m/s), dropout."""

    moving: tuple[int, int]
    parked: tuple[int, int]
    people: tuple[int, int]
    speed: tuple[float, float]
    dropout: tuple[float, float]


_REGIME_PARAMS = {
    "normal": _Params((6, 10), (3, 8), (4, 10), (6.0, 12.0), (0.02, 0.06)),
    "sparse": _Params((1, 3), (0, 3), (0, 3), (8.0, 14.0), (0.02, 0.06)),
    "busy": _Params((14, 22), (6, 12), (8, 16), (2.0, 6.0), (0.03, 0.08)),
    "parked": _Params((2, 5), (14, 24), (3, 8), (3.0, 8.0), (0.02, 0.06)),
    "crowd": _Params((2, 5), (2, 6), (20, 35), (1.0, 4.0), (0.03, 0.08)),
    "empty": _Params((0, 0), (0, 0), (0, 1), (8.0, 14.0), (0.01, 0.04)),
}


@dataclass(frozen=True)
class DrivingRegime(Regime):
    """A regime with the ego car's motion through it."""

    ego_x0: float
    """Distance the ego car has travelled when the regime starts (m)."""
    speed: float


class _Prims(NamedTuple):
    """Oriented boxes relative to the sensor: centre [K, 3], half sizes [K, 3], yaw [K],
    owner [K] (object index, or :data:`_CLUTTER`)."""

    centre: np.ndarray
    half: np.ndarray
    yaw: np.ndarray
    owner: np.ndarray


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([int(k) & 0xFFFFFFFF for k in key])


def _wrap(x: float) -> float:
    """Position along the road folded into the +-60 m window around the sensor."""
    return (x + WINDOW_M / 2) % WINDOW_M - WINDOW_M / 2


def _tilt(roll: float, pitch: float) -> np.ndarray:
    """Rotation of a sensor mounted slightly off level (radians): real ground is never
    exactly at -height in the sensor frame, and the detector must not rely on it."""
    cr, sr, cp, sp = np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch)
    about_x = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    about_y = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    return about_y @ about_x


def _ray_directions() -> np.ndarray:
    """Unit vectors [BEAMS, AZIMUTH_STEPS, 3]; column j looks at azimuth -pi + (j + 0.5) step."""
    el = np.deg2rad(np.linspace(*ELEVATION_DEG, BEAMS))[:, None]
    az = -np.pi + (np.arange(AZIMUTH_STEPS) + 0.5) * 2 * np.pi / AZIMUTH_STEPS
    return np.stack(
        np.broadcast_arrays(np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)), -1
    )


_DIRECTIONS = _ray_directions()


def _columns(centre: np.ndarray, half: np.ndarray, yaw: float) -> np.ndarray:
    """Azimuth columns whose rays can hit a box (from its footprint corners' bearings)."""
    c, s = np.cos(yaw), np.sin(yaw)
    u = np.array([-1.0, 1.0, 1.0, -1.0]) * half[0]
    v = np.array([-1.0, -1.0, 1.0, 1.0]) * half[1]
    xs, ys = centre[0] + c * u - s * v, centre[1] + s * u + c * v
    mid = np.arctan2(centre[1], centre[0])
    delta = (np.arctan2(ys, xs) - mid + np.pi) % (2 * np.pi) - np.pi
    step = 2 * np.pi / AZIMUTH_STEPS
    lo = int(np.floor((mid + delta.min() + np.pi) / step)) - 1
    hi = int(np.ceil((mid + delta.max() + np.pi) / step)) + 1
    return np.arange(lo, hi + 1) % AZIMUTH_STEPS


def _cast(prims: _Prims, ground_z: float) -> tuple[np.ndarray, np.ndarray]:
    """First hit distance [BEAMS, AZIMUTH_STEPS] (inf: none) and the owner hit (-2: ground)."""
    d = _DIRECTIONS
    with np.errstate(divide="ignore"):
        t = np.where(d[..., 2] < 0, ground_z / d[..., 2], np.inf)
    owner = np.full(t.shape, -2, np.int64)
    for centre, half, yaw, who in zip(*prims, strict=True):
        cols = _columns(centre, half, yaw)
        sub = d[:, cols]
        c, s = np.cos(yaw), np.sin(yaw)
        # Sensor origin and ray directions in the box frame.
        o = np.array([-c * centre[0] - s * centre[1], s * centre[0] - c * centre[1], -centre[2]])
        r = np.stack(
            [c * sub[..., 0] + s * sub[..., 1], -s * sub[..., 0] + c * sub[..., 1], sub[..., 2]], -1
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            t1, t2 = (-half - o) / r, (half - o) / r
        near = np.nanmax(np.minimum(t1, t2), -1)
        far = np.nanmin(np.maximum(t1, t2), -1)
        current = t[:, cols]
        hit = (near <= far) & (near > 0) & (near < current)
        t[:, cols] = np.where(hit, near, current)
        owner[:, cols] = np.where(hit, who, owner[:, cols])
    return t, owner


class LidarSceneSource:
    """Deterministic procedural LiDAR street; segments carry exact 3D boxes per scan."""

    class_names = LIDAR_CLASSES
    modality = "lidar"

    def __init__(self, seed: int = 0, seconds: int = 60, rate: int = SCAN_RATE) -> None:
        if seconds < 1 or rate < 1:
            raise ConfigurationError(
                f"LiDAR scene of {seconds} s at {rate} scans/s is invalid.",
                "Use at least 1 second and 1 scan per second.",
            )
        self.seed, self.seconds, self.rate = int(seed), int(seconds), int(rate)
        self.name = f"lidar-scene-{self.seed}"
        rng = _rng(self.seed, 1)
        self.sensor_height = float(rng.uniform(1.65, 1.85))
        self.walls_y = (float(rng.uniform(11.5, 16.0)), float(rng.uniform(11.5, 16.0)))
        self.tilt = _tilt(float(rng.normal(0, 0.02)), float(rng.normal(0, 0.02)))
        self._regimes = self._drive(_rng(self.seed, 2))

    def _drive(self, rng: np.random.Generator) -> list[DrivingRegime]:
        """The regime timeline with the ego car's speed, drawn right after each regime's
        name, and the distance it has covered when each regime starts."""
        regimes: list[DrivingRegime] = []
        x = 0.0
        for r in draw_regimes(rng, self.seconds, REGIME_NAMES, not_first="empty"):
            speed = float(rng.uniform(*_REGIME_PARAMS[r.name].speed))
            regimes.append(DrivingRegime(r.start, r.end, r.name, x, speed))
            x += (r.end - r.start) * speed
        return regimes

    @property
    def regimes(self) -> list[tuple[int, int, str]]:
        """(start second, end second, name) of each content regime, for plots."""
        return [(r.start, r.end, r.name) for r in self._regimes]

    # ------------------------------------------------------------------ content
    def _objects(self, index: int, regime: DrivingRegime, t: float) -> list[tuple]:
        """Cars and pedestrians at ``t`` s into the regime: (class, centre xyz relative to
        the sensor, size l w h, yaw). Slots move in closed form; a slot's look (size, yaw
        jitter) is drawn per lap through the window."""
        p = _REGIME_PARAMS[regime.name]
        rng = _rng(self.seed, 3, index)
        ground = -self.sensor_height
        slots = []  # (class, y relative, start x, relative speed, heading)
        n_moving = int(rng.integers(p.moving[0], p.moving[1] + 1))
        lane_of = rng.integers(0, len(_LANES), n_moving)
        for lane, y in enumerate(_LANES):
            members = np.flatnonzero(lane_of == lane)
            forward = y < 0
            if y == _EGO_Y:  # the ego lane moves with the sensor
                speed = 0.0
            elif forward:
                speed = float(rng.uniform(6, 16)) - regime.speed
            else:
                speed = -float(rng.uniform(6, 16)) - regime.speed
            phase = float(rng.uniform(0, 1))
            for j in range(len(members)):
                x0 = _wrap((phase + j / len(members)) * WINDOW_M)
                if y == _EGO_Y:  # followers and leaders keep their distance to the ego car
                    x0 = (1.0 if x0 >= 0 else -1.0) * max(abs(x0), 9.0)
                slots.append((CAR, y - _EGO_Y, x0, speed, 0.0 if forward else np.pi))
        n_parked = int(rng.integers(p.parked[0], p.parked[1] + 1))
        per_side = max((n_parked + 1) // 2, 1)
        for j in range(n_parked):  # alternate sides, evenly spaced: parked cars never overlap
            side = 1.0 if j % 2 else -1.0
            x0 = (j // 2 + float(rng.uniform(0, 0.25))) * WINDOW_M / per_side
            heading = 0.0 if side < 0 else np.pi
            slots.append((CAR, side * (_ROAD_HALF + 1.1) - _EGO_Y, x0, -regime.speed, heading))
        for _ in range(int(rng.integers(p.people[0], p.people[1] + 1))):
            side = 1.0 if rng.random() < 0.5 else -1.0
            walk = float(rng.uniform(0.8, 1.8)) * (1 if rng.random() < 0.5 else -1)
            y = side * float(rng.uniform(_ROAD_HALF + 1.0, min(self.walls_y) - 0.8))
            slots.append(
                (
                    PERSON,
                    y - _EGO_Y,
                    float(rng.uniform(0, WINDOW_M)),
                    walk - regime.speed,
                    0.0 if walk > 0 else np.pi,
                )
            )
        out = []
        for slot_id, (cls, y, x0, speed, heading) in enumerate(slots):
            travel = x0 + speed * t + WINDOW_M / 2
            lap = int(np.floor(travel / WINDOW_M))
            x = travel - lap * WINDOW_M - WINDOW_M / 2
            look = _rng(self.seed, 4, index, slot_id, lap)
            if cls == CAR:  # cars, and one in six a van
                van = look.random() < 1 / 6
                size = (
                    look.uniform(4.4, 5.6) if van else look.uniform(3.7, 5.0),
                    look.uniform(1.8, 2.05) if van else look.uniform(1.6, 1.95),
                    look.uniform(1.9, 2.4) if van else look.uniform(1.4, 1.8),
                )
                yaw = heading + look.normal(0, 0.04)
            else:
                size = (look.uniform(0.45, 0.7), look.uniform(0.5, 0.75), look.uniform(1.5, 1.9))
                yaw = heading + look.normal(0, 0.3)
            lateral = float(look.normal(0, 0.2 if cls == CAR else 0.3))
            out.append((cls, np.array([x, y + lateral, ground + size[2] / 2]), size, yaw))
        return out

    def _roadside(self, ego_x: float) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """Facades, hedges, trees, posts, signs, bins and bushes near the sensor as
        (centre, size, yaw) boxes, drawn per 120-m tile of the road so they stay put as
        the sensor passes. Many are person-sized on purpose: real streets are full of
        them, and a detector that never saw them calls every bush a pedestrian."""
        ground = -self.sensor_height
        boxes = []
        first = int(np.floor((ego_x - WINDOW_M / 2) / WINDOW_M))
        for tile in (first, first + 1):
            rng = _rng(self.seed, 5, tile)
            for side, wall_y in zip((-1.0, 1.0), self.walls_y, strict=True):
                x = tile * WINDOW_M
                while x < (tile + 1) * WINDOW_M:
                    length, gap = rng.uniform(8, 30), rng.uniform(0, 8) + 15 * (rng.random() < 0.2)
                    height = rng.uniform(5, 20)
                    centre = (x + length / 2, side * (wall_y + 0.5), ground + height / 2)
                    boxes.append((centre, (length, 1.0, height), 0.0))
                    if rng.random() < 0.3:  # a hedge or fence in front of the facade
                        h = rng.uniform(0.8, 2.0)
                        depth = rng.uniform(0.2, 1.0)
                        centre = (x + length / 2, side * (wall_y - depth), ground + h / 2)
                        boxes.append((centre, (length * rng.uniform(0.3, 1.0), depth, h), 0.0))
                    x += length + gap
                for _ in range(int(rng.integers(6, 17))):
                    x = tile * WINDOW_M + rng.uniform(0, WINDOW_M)
                    y = side * rng.uniform(_ROAD_HALF + 0.4, wall_y - 0.5)
                    boxes.extend(self._street_item(rng, x, y, ground))
        return [
            (np.array([c[0] - ego_x, c[1] - _EGO_Y, c[2]]), np.array(s), float(yaw))
            for c, s, yaw in boxes
            if abs(c[0] - ego_x) - s[0] / 2 < WINDOW_M / 2
        ]

    @staticmethod
    def _street_item(rng: np.random.Generator, x: float, y: float, ground: float) -> list[tuple]:
        """One roadside item at (x, y) as boxes: a pole or tree (trunk, maybe a crown that
        may hang low), a sign post, a bin or hydrant, or a bush of a few random blocks."""
        kind = int(rng.integers(0, 4))
        if kind == 0:
            h = rng.uniform(2.5, 7)
            out = [((x, y, ground + h / 2), (0.25, 0.25, h), 0.0)]
            if rng.random() < 0.6:
                crown = rng.uniform(1.5, 4)
                bottom = rng.uniform(1.2, h)
                out.append(
                    ((x, y, ground + bottom + crown * 0.35), (crown, crown, crown * 0.7), 0.0)
                )
            return out
        if kind == 1:
            h = rng.uniform(1.0, 3.0)
            out = [((x, y, ground + h / 2), (0.12, 0.12, h), 0.0)]
            plate = (rng.uniform(0.1, 0.8), 0.08, rng.uniform(0.3, 0.8))
            out.append(((x, y, ground + h - plate[2] / 2), plate, rng.uniform(0, np.pi)))
            return out
        if kind == 2:
            size = (rng.uniform(0.4, 2.0), rng.uniform(0.4, 1.0), rng.uniform(0.5, 1.6))
            return [((x, y, ground + size[2] / 2), size, rng.uniform(0, np.pi))]
        out = []
        for _ in range(int(rng.integers(2, 7))):
            size = (rng.uniform(0.3, 1.2), rng.uniform(0.3, 1.2), rng.uniform(0.4, 2.2))
            dx, dy = rng.uniform(-0.8, 0.8, 2)
            out.append(((x + dx, y + dy, ground + size[2] / 2), size, rng.uniform(0, np.pi)))
        return out

    def _primitives(self, objects: list[tuple], roadside: list[tuple]) -> _Prims:
        """Cars as a body and a narrower cabin, pedestrians and roadside items as one box."""
        centre, half, yaw, owner = [], [], [], []
        for i, (cls, c, (length, width, height), heading) in enumerate(objects):
            if cls == CAR:
                base = c[2] - height / 2
                back = np.array([np.cos(heading), np.sin(heading), 0.0]) * -0.08 * length
                # Body from wheel height to the belt line, then a shorter, narrower cabin.
                centre += [
                    np.array([c[0], c[1], base + 0.36 * height]),
                    np.array([c[0], c[1], base + 0.8 * height]) + back,
                ]
                half += [
                    (length / 2, width / 2, 0.24 * height),
                    (0.3 * length, 0.45 * width, 0.2 * height),
                ]
                yaw += [heading, heading]
                owner += [i, i]
            else:
                centre.append(c)
                half.append((length / 2, width / 2, height / 2))
                yaw.append(heading)
                owner.append(i)
        for c, s, heading in roadside:
            centre.append(c)
            half.append(s / 2)
            yaw.append(heading)
            owner.append(_CLUTTER)
        return _Prims(
            np.array(centre, float).reshape(-1, 3),
            np.array(half, float).reshape(-1, 3),
            np.array(yaw, float),
            np.array(owner, np.int64),
        )

    # ------------------------------------------------------------------ scans
    def scan(self, k: int) -> tuple[np.ndarray, Boxes3D]:
        """Scan ``k``: xyz float32 [N, 3] in the sensor frame and its labelled boxes."""
        second = k / self.rate
        index, regime = regime_at(self._regimes, second)
        t = second - regime.start
        objects = self._objects(index, regime, t)
        prims = self._primitives(objects, self._roadside(regime.ego_x0 + regime.speed * t))
        dist, owner = _cast(prims, -self.sensor_height)
        noise = _rng(self.seed, 6, k)
        dropout = noise.uniform(*_REGIME_PARAMS[regime.name].dropout)
        keep = (dist < MAX_RANGE_M) & (noise.random(dist.shape) >= dropout)
        ranges = dist[keep] + noise.normal(0, RANGE_NOISE_M, int(keep.sum()))
        points = ((_DIRECTIONS[keep] * ranges[:, None]) @ self.tilt.T).astype(np.float32)
        hits = np.bincount(owner[keep][owner[keep] >= 0], minlength=len(objects))
        seen = [i for i in range(len(objects)) if hits[i] >= MIN_OBJECT_POINTS]
        boxes = Boxes3D(
            (np.array([objects[i][1] for i in seen]).reshape(-1, 3) @ self.tilt.T).astype(
                np.float32
            ),
            np.array([objects[i][2] for i in seen], np.float32).reshape(-1, 3),
            np.array([objects[i][3] for i in seen], np.float32),
            np.array([objects[i][0] for i in seen], np.int64),
            hits[seen].astype(np.int64),
        )
        return points, boxes

    def segments(self, max_seconds: int | None = None) -> Iterator[LidarSegment]:
        """1-second segments of ``rate`` scans with their exact boxes."""
        total = self.seconds if max_seconds is None else min(self.seconds, max_seconds)
        for s in range(total):
            cast = [self.scan(s * self.rate + i) for i in range(self.rate)]
            yield LidarSegment(
                s,
                [p for p, _ in cast],
                (s * self.rate + np.arange(self.rate)) / self.rate,
                self.rate,
                ground_truth=[b for _, b in cast],
            )
