"""Procedural street-camera video with exact labels: the embedded default source.

The main job must run with no downloads and no shared data, yet needs content whose
best configuration changes every few seconds and whose true boxes are known. A pinhole
camera looks down a road; cars, trucks and pedestrians move along lanes and sidewalks;
the content switches between regimes (few large objects, many small far ones, fast
motion, dark and noisy, empty road) every 10 to 30 seconds.

Every frame is a pure function of ``(seed, frame index)``: object slots move in closed
form and draw their appearance from a generator seeded per (seed, regime, slot, lap),
so the same seed gives bit-identical frames and labels, and training can sample any
frame without rendering the ones before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from oneadapt.media.regimes import Regime, draw_regimes, regime_at
from oneadapt.media.sources import Segment, Source, check_scene_size, scene_spec
from oneadapt.tasks.detection import Detections

SCENE_CLASSES = ("person", "car", "truck")
"""COCO names, so the detection task's default classes pick every scene object up."""
PERSON, CAR, TRUCK = range(3)
MIN_BOX_PIXELS = 4.0
MIN_VISIBLE_FRACTION = 0.35

REGIME_NAMES = ("normal", "few_large", "many_small", "fast", "dark_noisy", "empty")


class _Params(NamedTuple):
    """Per-regime ranges: counts, depth (m), speed (m/s), light level, noise sigma (grey)."""

    cars: tuple[int, int]
    people: tuple[int, int]
    z: tuple[float, float]
    speed: tuple[float, float]
    light: tuple[float, float]
    noise: tuple[float, float]


_REGIME_PARAMS = {
    "normal": _Params((6, 11), (3, 8), (5.0, 150.0), (7, 14), (0.9, 1.1), (1.5, 3.0)),
    "few_large": _Params((2, 4), (1, 3), (4.0, 32.0), (2, 6), (0.9, 1.15), (1.5, 3.0)),
    "many_small": _Params((16, 26), (8, 16), (45.0, 160.0), (6, 12), (0.85, 1.1), (1.5, 3.0)),
    "fast": _Params((6, 10), (2, 5), (5.0, 150.0), (24, 38), (0.9, 1.1), (1.5, 3.0)),
    "dark_noisy": _Params((5, 10), (2, 6), (5.0, 140.0), (7, 14), (0.22, 0.4), (7.0, 13.0)),
    "empty": _Params((0, 0), (0, 1), (10.0, 60.0), (7, 14), (0.9, 1.1), (1.5, 3.0)),
}
_LANES = (-5.25, -1.75, 1.75, 5.25)
_ROAD_HALF, _WALK_OUTER = 7.0, 11.5
_PERSON_Z_MAX = 75.0


@dataclass(frozen=True)
class _Camera:
    """Pinhole geometry in pixels of the rendered frame (per seed)."""

    focal: float
    horizon: float
    cx: float
    height_m: float

    def ground_y(self, z: np.ndarray | float) -> np.ndarray | float:
        return self.horizon + self.focal * self.height_m / z


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([int(k) & 0xFFFFFFFF for k in key])


def _coverage(lo: float, hi: float, origin: int, n: int) -> np.ndarray:
    """Fraction of each pixel [origin + i, origin + i + 1) inside [lo, hi): exact box AA."""
    p = origin + np.arange(n, dtype=np.float32)
    return np.clip(np.minimum(hi, p + 1) - np.maximum(lo, p), 0.0, 1.0)


def smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Low-frequency noise in about [-1, 1]: coarse normal noise, bilinearly enlarged."""
    gh, gw = h // cell + 2, w // cell + 2
    coarse = torch.from_numpy(rng.standard_normal((1, 1, gh, gw)).astype(np.float32))
    big = torch.nn.functional.interpolate(coarse, size=(gh * cell, gw * cell), mode="bilinear")
    return big[0, 0, :h, :w].numpy() * 0.5


class SceneSource(Source):
    """Deterministic synthetic street scene; segments carry per-frame ground truth."""

    class_names = SCENE_CLASSES

    def __init__(
        self, seed: int = 0, seconds: int = 60, width: int = 1280, height: int = 720, fps: int = 10
    ) -> None:
        check_scene_size("scene", seconds, width, height, fps)
        self.seed, self.seconds, self.fps = int(seed), int(seconds), int(fps)
        self.width, self.height = int(width), int(height)
        self.name = f"scene-{self.seed}"
        rng = _rng(self.seed, 1)
        self.camera = _Camera(
            focal=float(height * rng.uniform(0.95, 1.2)),
            horizon=float(height * rng.uniform(0.27, 0.38)),
            cx=float(width * rng.uniform(0.42, 0.58)),
            height_m=float(rng.uniform(4.5, 7.0)),
        )
        self.wall_x = float(rng.uniform(12.0, 14.0))
        self.crosswalk_z = float(rng.uniform(12.0, 25.0)) if rng.random() < 0.5 else None
        self._texture = (rng.standard_normal((256, 256)) * 0.5).astype(np.float32)
        self._regimes = list(
            draw_regimes(_rng(self.seed, 2), self.seconds, REGIME_NAMES, not_first="empty")
        )
        self._background: tuple[int, np.ndarray] | None = None
        self._noise: tuple[int, np.ndarray] | None = None

    # ------------------------------------------------------------------ regimes
    @property
    def regimes(self) -> list[tuple[int, int, str]]:
        """(start second, end second, name) of each content regime, for plots."""
        return [(r.start, r.end, r.name) for r in self._regimes]

    def _regime_state(self, index: int) -> dict:
        """Lighting, noise and object slots of one regime (cheap; recomputed on demand)."""
        regime = self._regimes[index]
        p = _REGIME_PARAMS[regime.name]
        rng = _rng(self.seed, 3, index)
        z_lo, z_hi = p.z
        state = dict(
            light=float(rng.uniform(*p.light)),
            tint=rng.uniform(0.9, 1.1, 3).astype(np.float32),
            noise=float(rng.uniform(*p.noise)),
            flicker=(
                float(rng.uniform(0.02, 0.08)),
                float(rng.uniform(4, 12)),
                rng.uniform(0, 6.3),
            ),
            shadow_dx=float(rng.uniform(-0.5, 0.5)),
            slots=[],
        )
        n_cars = int(rng.integers(p.cars[0], p.cars[1] + 1))
        lane_of = rng.integers(0, len(_LANES), n_cars)
        for lane in range(len(_LANES)):
            members = np.flatnonzero(lane_of == lane)
            if len(members) == 0:
                continue
            speed = float(rng.uniform(*p.speed))
            phase = float(rng.uniform(0, 1))
            for j in range(len(members)):
                state["slots"].append(
                    dict(
                        kind="vehicle",
                        x=_LANES[lane],
                        towards=_LANES[lane] < 0,
                        speed=speed,
                        z=(z_lo, z_hi),
                        phase=(phase + j / len(members) + rng.uniform(-0.1, 0.1)) % 1.0,
                    )
                )
        n_people = int(rng.integers(p.people[0], p.people[1] + 1))
        for _ in range(n_people):
            side = 1.0 if rng.random() < 0.5 else -1.0
            state["slots"].append(
                dict(
                    kind="person",
                    x=side * float(rng.uniform(_ROAD_HALF + 0.7, _WALK_OUTER - 0.5)),
                    towards=bool(rng.random() < 0.5),
                    speed=float(rng.uniform(0.8, 1.8)) * (1.6 if regime.name == "fast" else 1.0),
                    z=(max(z_lo, 3.0), min(z_hi, _PERSON_Z_MAX) if z_hi > 20 else z_hi),
                    phase=float(rng.uniform(0, 1)),
                )
            )
        return state

    # --------------------------------------------------------------- background
    def _background_for(self, index: int) -> np.ndarray:
        """Static background of regime ``index`` (float32 [H, W, 3]), cached for the current one."""
        if self._background is not None and self._background[0] == index:
            return self._background[1]
        bg = self._render_background(_rng(self.seed, 4, index))
        self._background = (index, bg)
        return bg

    def _render_background(self, rng: np.random.Generator) -> np.ndarray:
        h, w, cam = self.height, self.width, self.camera
        ys = (np.arange(h, dtype=np.float32) + 0.5)[:, None]
        xs = (np.arange(w, dtype=np.float32) + 0.5)[None, :]
        img = np.empty((h, w, 3), np.float32)
        fine = (rng.standard_normal((h, w)) * 0.5).astype(np.float32)
        blotch = smooth_noise(rng, h, w, max(4, h // 24))

        # Sky: vertical gradient with soft clouds.
        top = rng.uniform([60, 110, 170], [140, 170, 230]).astype(np.float32)
        low = rng.uniform([170, 185, 200], [225, 230, 240]).astype(np.float32)
        a = np.clip(ys / cam.horizon, 0, 1)[..., None]
        img[:] = top * (1 - a) + low * a
        img += (np.clip(blotch, 0, None) * 60.0)[..., None]

        # Distant skyline at the horizon, hazy.
        for _ in range(int(rng.integers(12, 30))):
            bx = rng.uniform(0, w)
            bw, bh = rng.uniform(0.015, 0.07) * w, rng.uniform(0.02, 0.14) * h
            tone = rng.uniform(110, 170) + rng.uniform(-10, 10, 3)
            ay = _coverage(cam.horizon - bh, cam.horizon + 1, 0, h)[:, None]
            ax = _coverage(bx - bw / 2, bx + bw / 2, 0, w)[None, :]
            alpha = (ay * ax)[..., None]
            img += alpha * (tone.astype(np.float32) - img)

        # Ground plane: world depth z and lateral X of each pixel below the horizon.
        ground = ys > cam.horizon + 0.5
        d = np.maximum(ys - cam.horizon, 0.5)
        z = cam.focal * cam.height_m / d
        big_x = (xs - cam.cx) * z / cam.focal
        px = z / cam.focal  # world width of one pixel at that depth
        ax_abs = np.abs(big_x)
        asphalt = np.float32(rng.uniform(55, 95))
        road = asphalt * (1 + 0.12 * fine + 0.1 * blotch)
        paint = np.zeros((h, w), np.float32)

        def line(center: float, width_m: float) -> np.ndarray:
            return np.clip(0.5 + (width_m / 2 - np.abs(big_x - center)) / px, 0, 1)

        dash = (np.mod(z / 12.0 + rng.uniform(0, 1), 1.0) < 0.4).astype(np.float32)
        for lane_edge in (-3.5, 3.5):
            paint = np.maximum(paint, line(lane_edge, 0.15) * dash)
        for edge in (-_ROAD_HALF + 0.3, _ROAD_HALF - 0.3):
            paint = np.maximum(paint, line(edge, 0.15))
        if self.crosswalk_z is not None:
            zebra = (np.mod(big_x / 1.2, 1.0) < 0.5) & (z > self.crosswalk_z)
            zebra &= z < self.crosswalk_z + 4.0
            paint = np.maximum(paint, zebra.astype(np.float32) * (ax_abs < _ROAD_HALF - 0.6))
        centre = np.maximum(line(-0.12, 0.1), line(0.12, 0.1))
        road_rgb = road[..., None] * np.float32([1.0, 1.0, 1.02])
        road_rgb += paint[..., None] * (np.float32([225, 225, 215]) - road_rgb)
        road_rgb += centre[..., None] * (np.float32([220, 180, 40]) - road_rgb)

        tile = (np.mod(z / 1.5, 1.0) < 0.07) | (np.mod(big_x / 1.5, 1.0) < 0.07)
        walk_tone = np.float32(rng.uniform(125, 170))
        walk = walk_tone * (1 + 0.07 * fine + 0.06 * blotch) * np.where(tile, 0.82, 1.0)
        walk_rgb = walk[..., None] * np.float32([1.0, 0.98, 0.95])
        grass_rgb = np.stack(
            [40 + 15 * blotch, 95 + 25 * blotch + 12 * fine, 35 + 10 * blotch], -1
        ).astype(np.float32)

        is_road = (ax_abs < _ROAD_HALF)[..., None]
        is_walk = ((ax_abs >= _ROAD_HALF) & (ax_abs < _WALK_OUTER))[..., None]
        curb = ((ax_abs >= _ROAD_HALF) & (ax_abs < _ROAD_HALF + 0.25))[..., None]
        ground_rgb = np.where(is_road, road_rgb, np.where(is_walk, walk_rgb, grass_rgb))
        ground_rgb = np.where(curb, walk_rgb * 1.2, ground_rgb)
        haze = np.clip((z - 60) / 400, 0, 0.6)[..., None]
        ground_rgb = ground_rgb * (1 - haze) + low * haze
        img = np.where(ground[..., None], ground_rgb, img)

        # Building facades along both sides, walls at |X| = wall_x, in perspective.
        dxc = xs - cam.cx
        zw = cam.focal * self.wall_x / np.maximum(np.abs(dxc), 1e-3)
        seg_len = rng.uniform(12, 30)
        seg = np.floor(zw / seg_len).astype(np.int64) + np.where(dxc < 0, 0, 1000)
        n_seg = 2000
        heights = rng.uniform(5, 32, n_seg) * (rng.random(n_seg) > 0.12)
        colours = rng.uniform([70, 60, 55], [200, 185, 170], (n_seg, 3)).astype(np.float32)
        lit = rng.random((n_seg, 64)) < 0.15
        seg_c = np.clip(seg, 0, n_seg - 1)
        top_m = heights[seg_c]
        y_bottom = cam.horizon + cam.focal * cam.height_m / zw
        y_top = cam.horizon - cam.focal * (top_m - cam.height_m) / zw
        wall = (ys >= y_top) & (ys < y_bottom) & (zw < 600) & (top_m > 0)
        hgt = cam.height_m - (ys - cam.horizon) * zw / cam.focal
        win_col = np.mod(zw / 3.5, 1.0)
        win_row = np.mod(hgt / 3.2, 1.0)
        window = (win_col > 0.25) & (win_col < 0.75) & (win_row > 0.35) & (win_row < 0.8)
        window &= hgt > 3.0
        side_shade = np.where(dxc < 0, 1.0, 0.8).astype(np.float32)
        wall_rgb = colours[seg_c] * (side_shade * (1 + 0.06 * fine))[..., None]
        floor_idx = np.clip((hgt / 3.2).astype(np.int64), 0, 63)
        lit_px = lit[seg_c, floor_idx]
        glass = (
            np.where(lit_px[..., None], np.float32([230, 210, 140]), np.float32([45, 60, 80]))
            * (1 + 0.1 * blotch)[..., None]
        )
        wall_rgb = np.where(window[..., None], glass, wall_rgb)
        wall_haze = np.clip((zw - 60) / 500, 0, 0.6)[..., None]
        wall_rgb = wall_rgb * (1 - wall_haze) + low * wall_haze
        img = np.where(wall[..., None], wall_rgb, img)
        return np.clip(img, 0, 255).astype(np.float32)

    def _noise_bank(self, index: int, sigma: float) -> np.ndarray:
        """Camera noise fields for a regime; frames take shifted crops of them."""
        if self._noise is not None and self._noise[0] == index:
            return self._noise[1]
        rng = _rng(self.seed, 5, index)
        bank = rng.standard_normal((2, self.height + 16, self.width + 16, 3), dtype=np.float32)
        bank *= np.float32(sigma)
        self._noise = (index, bank)
        return bank

    # ------------------------------------------------------------------ objects
    def _objects(self, k: int, index: int, regime: Regime, state: dict) -> list[dict]:
        """Objects visible at frame ``k``: kind, box, depth and appearance."""
        t = k / self.fps - regime.start
        cam = self.camera
        out: list[dict] = []
        for slot_id, slot in enumerate(state["slots"]):
            z_lo, z_hi = slot["z"]
            span = z_hi - z_lo
            travel = slot["phase"] + slot["speed"] * t / span
            lap = int(np.floor(travel))
            frac = travel - lap
            z = z_hi - frac * span if slot["towards"] else z_lo + frac * span
            look = _rng(self.seed, 6, index, slot_id, lap)
            lateral = float(look.normal(0, 0.25))
            if slot["kind"] == "vehicle":
                r = look.random()
                kind = "car" if r < 0.72 else ("truck" if r < 0.88 else "bus")
                size = {
                    "car": (look.uniform(1.65, 1.95), look.uniform(1.35, 1.8)),
                    "truck": (look.uniform(2.3, 2.55), look.uniform(2.8, 3.8)),
                    "bus": (look.uniform(2.45, 2.55), look.uniform(2.9, 3.2)),
                }[kind]
            else:
                kind = "person"
                size = (look.uniform(0.5, 0.65), look.uniform(1.5, 1.9))
            wpx, hpx = cam.focal * size[0] / z, cam.focal * size[1] / z
            xc = cam.cx + cam.focal * (slot["x"] + lateral) / z
            yb = float(cam.ground_y(z))
            out.append(
                dict(
                    kind=kind,
                    z=z,
                    box=(xc - wpx / 2, yb - hpx, xc + wpx / 2, yb),
                    towards=slot["towards"],
                    colour=look.uniform(0, 1, 3).astype(np.float32),
                    style=float(look.random()),
                    walk=slot["speed"] * t * 2.2 / size[1] + look.uniform(0, 6.3),
                    tex=(int(look.integers(0, 192)), int(look.integers(0, 192))),
                )
            )
        out.sort(key=lambda o: -o["z"])  # far first: painter's order
        return out

    def _labels(self, objects: list[dict]) -> Detections:
        """Visible extent of each object: clipped to the frame, dropped when tiny or hidden."""
        boxes, classes = [], []
        w, h = self.width, self.height
        for i, o in enumerate(objects):
            x0, y0, x1, y1 = o["box"]
            cx0, cy0, cx1, cy1 = max(x0, 0.0), max(y0, 0.0), min(x1, w), min(y1, h)
            if cx1 - cx0 < MIN_BOX_PIXELS or cy1 - cy0 < MIN_BOX_PIXELS:
                continue
            if (cx1 - cx0) * (cy1 - cy0) < 0.3 * (x1 - x0) * (y1 - y0):
                continue
            ix0, iy0 = int(np.floor(cx0)), int(np.floor(cy0))
            ix1, iy1 = int(np.ceil(cx1)), int(np.ceil(cy1))
            hidden = np.zeros((iy1 - iy0, ix1 - ix0), bool)
            for near in objects[i + 1 :]:
                nx0, ny0, nx1, ny1 = near["box"]
                a0, a1 = max(int(round(nx0)) - ix0, 0), min(int(round(nx1)) - ix0, ix1 - ix0)
                b0, b1 = max(int(round(ny0)) - iy0, 0), min(int(round(ny1)) - iy0, iy1 - iy0)
                if a1 > a0 and b1 > b0:
                    hidden[b0:b1, a0:a1] = True
            if hidden.size and 1.0 - hidden.mean() < MIN_VISIBLE_FRACTION:
                continue
            boxes.append((cx0, cy0, cx1, cy1))
            classes.append(
                PERSON if o["kind"] == "person" else CAR if o["kind"] == "car" else TRUCK
            )
        if not boxes:
            return Detections.empty()
        return Detections(
            torch.tensor(boxes, dtype=torch.float32),
            torch.ones(len(boxes)),
            torch.tensor(classes, dtype=torch.long),
        )

    def _draw(self, img: np.ndarray, o: dict, shadow_dx: float) -> None:
        x0, y0, x1, y1 = o["box"]
        bw, bh = x1 - x0, y1 - y0
        h, w = self.height, self.width
        ex = 0.35 * bw  # shadow margin
        ix0, ix1 = max(int(np.floor(x0 - ex)), 0), min(int(np.ceil(x1 + ex)), w)
        iy0, iy1 = max(int(np.floor(y0)), 0), min(int(np.ceil(y1 + 0.15 * bh)), h)
        if ix1 <= ix0 or iy1 <= iy0:
            return
        region = img[iy0:iy1, ix0:ix1]
        rh, rw = region.shape[:2]

        def rect(u0: float, u1: float, v0: float, v1: float) -> np.ndarray:
            ay = _coverage(y0 + v0 * bh, y0 + v1 * bh, iy0, rh)
            ax = _coverage(x0 + u0 * bw, x0 + u1 * bw, ix0, rw)
            return ay[:, None] * ax[None, :]

        def ellipse(cu: float, cv: float, ru: float, rv: float) -> np.ndarray:
            yy = (np.arange(rh, dtype=np.float32) + iy0 + 0.5 - (y0 + cv * bh))[:, None]
            xx = (np.arange(rw, dtype=np.float32) + ix0 + 0.5 - (x0 + cu * bw))[None, :]
            rx, ry = max(ru * bw, 0.5), max(rv * bh, 0.5)
            dist = np.sqrt((xx / rx) ** 2 + (yy / ry) ** 2)
            return np.clip((1.0 - dist) * min(rx, ry) + 0.5, 0.0, 1.0)

        ty, tx = o["tex"]
        tex = self._texture[ty : ty + rh, tx : tx + rw] if rh <= 64 and rw <= 64 else None
        tex_scale = (1.0 + 0.06 * tex) if tex is not None and tex.shape == (rh, rw) else 1.0

        def paint(alpha: np.ndarray, colour: np.ndarray, shade: np.ndarray | float = 1.0) -> None:
            c = colour[None, None, :] * np.asarray(shade * tex_scale, np.float32)[..., None]
            region[:] += alpha[..., None] * (c - region)

        vv = ((np.arange(rh, dtype=np.float32) + iy0 + 0.5 - y0) / max(bh, 1e-3))[:, None]
        vshade = 1.15 - 0.35 * np.clip(vv, 0, 1)  # lit from above
        flat = 0.5 + 0.35 * o["style"]
        if o["kind"] == "person":
            region *= 1 - 0.45 * ellipse(0.5 + shadow_dx, 1.0, 0.9, 0.05)[..., None]
            skin = np.float32([230, 190, 160]) * (0.45 + 0.55 * o["style"])
            shirt = o["colour"] * 220 + 20
            trousers = o["colour"][::-1] * 90 + 20
            swing = 0.12 * np.sin(o["walk"])
            paint(rect(0.22 + swing, 0.48 + swing, 0.52, 1.0), trousers, vshade)
            paint(rect(0.52 - swing, 0.78 - swing, 0.52, 1.0), trousers, vshade * 0.9)
            paint(rect(0.12, 0.88, 0.15, 0.56), shirt, vshade)
            paint(ellipse(0.5, 0.08, 0.2, 0.075), skin, 1.0)
            return
        region *= 1 - 0.55 * ellipse(0.5 + shadow_dx, 1.0, 0.75, 0.1)[..., None]
        palette = np.float32(
            [[235, 235, 235], [25, 25, 30], [150, 150, 155], [170, 30, 30], [30, 60, 140]]
        )
        body = palette[int(o["style"] * 5) % 5] if o["style"] < 0.6 else o["colour"] * 200 + 30
        glass = np.float32([35, 45, 60]) * (0.8 + 0.5 * flat)
        light = np.float32([255, 245, 200]) if o["towards"] else np.float32([220, 20, 20])
        dark = np.float32([20, 20, 22])
        if o["kind"] == "car":
            paint(rect(0.03, 0.21, 0.8, 1.0), dark)
            paint(rect(0.79, 0.97, 0.8, 1.0), dark)
            paint(rect(0.0, 1.0, 0.38, 0.88), body, vshade)
            paint(rect(0.12, 0.88, 0.0, 0.42), body, vshade * 1.05)
            paint(rect(0.17, 0.83, 0.06, 0.37), glass, 1.2 - 0.4 * vv)
            paint(rect(0.05, 0.2, 0.48, 0.6), light)
            paint(rect(0.8, 0.95, 0.48, 0.6), light)
            paint(rect(0.3, 0.7, 0.66, 0.76), dark * 2)
        elif o["kind"] == "truck":
            cargo = np.float32([210, 210, 205]) * (0.7 + 0.3 * flat) if o["style"] < 0.5 else body
            paint(rect(0.05, 0.25, 0.88, 1.0), dark)
            paint(rect(0.75, 0.95, 0.88, 1.0), dark)
            paint(rect(0.0, 1.0, 0.0, 0.9), cargo, vshade)
            if o["towards"]:
                paint(rect(0.08, 0.92, 0.35, 0.55), glass)
            else:
                paint(rect(0.49, 0.51, 0.05, 0.85), dark * 3)
            paint(rect(0.04, 0.16, 0.72, 0.8), light)
            paint(rect(0.84, 0.96, 0.72, 0.8), light)
        else:  # bus
            paint(rect(0.05, 0.22, 0.9, 1.0), dark)
            paint(rect(0.78, 0.95, 0.9, 1.0), dark)
            paint(rect(0.0, 1.0, 0.0, 0.92), body, vshade)
            paint(rect(0.06, 0.94, 0.08, 0.42 if o["towards"] else 0.3), glass, 1.2 - 0.4 * vv)
            paint(rect(0.1, 0.9, 0.02, 0.07), np.float32([255, 160, 30]))
            paint(rect(0.05, 0.18, 0.75, 0.84), light)
            paint(rect(0.82, 0.95, 0.75, 0.84), light)

    # ------------------------------------------------------------------ frames
    def frame(self, k: int) -> tuple[np.ndarray, Detections]:
        """Frame ``k`` (uint8 RGB [H, W, 3]) and its ground truth; random access."""
        index, regime = regime_at(self._regimes, k / self.fps)
        state = self._regime_state(index)
        img = self._background_for(index).copy()
        objects = self._objects(k, index, regime, state)
        for o in objects:
            self._draw(img, o, state["shadow_dx"])
        t = k / self.fps - regime.start
        amp, period, phase = state["flicker"]
        gain = state["light"] * (1 + amp * np.sin(2 * np.pi * t / period + phase))
        img *= (gain * state["tint"]).astype(np.float32)
        bank = self._noise_bank(index, state["noise"])
        pick = _rng(self.seed, 7, k)
        b, dy, dx = (
            int(pick.integers(0, len(bank))),
            int(pick.integers(0, 16)),
            int(pick.integers(0, 16)),
        )
        img += bank[b, dy : dy + self.height, dx : dx + self.width]
        np.clip(img, 0, 255, out=img)
        return img.astype(np.uint8), self._labels(objects)

    def segments(self, max_seconds: int | None = None) -> Iterator[Segment]:
        """1-second segments with per-frame ground truth."""
        total = self.seconds if max_seconds is None else min(self.seconds, max_seconds)
        for s in range(total):
            rendered = [self.frame(s * self.fps + i) for i in range(self.fps)]
            yield Segment(
                s,
                np.stack([f for f, _ in rendered]),
                (s * self.fps + np.arange(self.fps)) / self.fps,
                self.fps,
                ground_truth=[g for _, g in rendered],
            )


def scene_from_spec(spec: str, fps: int = 10, seconds: int = 60) -> SceneSource:
    """``"scene"``, ``"scene:SEED"`` or ``"scene:SEED:HEIGHT"`` -> a 16:9
    :class:`SceneSource`, 1280x720 unless HEIGHT says otherwise (small sizes keep load tests
    of many cameras affordable)."""
    seed, width, height = scene_spec(spec, "scene", 720)
    return SceneSource(seed=seed, seconds=seconds, width=width, height=height, fps=fps)
