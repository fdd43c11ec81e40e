"""Procedural video of faces: the keypoint task's source without shared data.

The street scene has no faces, yet the face-landmark task needs content a real face
detector (YuNet) takes for faces, whose difficulty changes every few seconds. Faces are
drawn frontal from layered soft ellipses (skin, hair, eyes with irises, brows, nose,
mouth) over a textured wall, and drift across the frame. The content switches between
regimes every 10 to 30 seconds (:func:`oneadapt.media.regimes.draw_regimes`), each meant
to stress another knob:

- ``close``: one to three large faces, slow (resolution);
- ``crowd``: many small faces, slow (resolution, the other way);
- ``moving``: mid-sized faces crossing fast (frame rate);
- ``dim``: mid-sized faces in low light with sensor noise (quantisation);
- ``empty``: the wall alone (never the first regime).

Every frame is a pure function of ``(seed, frame index)``: a regime's faces move in closed
form from parameters drawn per (seed, regime, slot), so the same seed gives bit-identical
frames, and a shorter scene of a seed is exactly the start of a longer one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from oneadapt.media.regimes import draw_regimes, regime_at
from oneadapt.media.scene import smooth_noise
from oneadapt.media.sources import Segment, Source, check_scene_size, scene_spec

REGIME_NAMES = ("close", "crowd", "moving", "dim", "empty")
DEFAULT_HEIGHT = 360


class _Params(NamedTuple):
    """Per-regime ranges: face count, radius (fraction of the frame height), speed (frame
    heights per second), light level and noise sigma (grey levels)."""

    faces: tuple[int, int]
    radius: tuple[float, float]
    speed: tuple[float, float]
    light: tuple[float, float]
    noise: tuple[float, float]


_REGIME_PARAMS = {
    "close": _Params((1, 3), (0.14, 0.24), (0.02, 0.06), (0.95, 1.1), (1.0, 2.0)),
    "crowd": _Params((8, 14), (0.03, 0.06), (0.01, 0.04), (0.9, 1.1), (1.0, 2.0)),
    "moving": _Params((3, 6), (0.06, 0.11), (0.5, 0.9), (0.9, 1.1), (1.0, 2.0)),
    "dim": _Params((3, 6), (0.06, 0.11), (0.02, 0.06), (0.3, 0.45), (6.0, 10.0)),
    "empty": _Params((0, 0), (0.05, 0.1), (0.02, 0.05), (0.9, 1.1), (1.0, 2.0)),
}
_SKIN = np.array([(236, 198, 168), (224, 172, 140), (190, 140, 105), (150, 105, 75),
                  (110, 75, 55)], np.float32)  # fmt: skip
_HAIR = np.array([(30, 25, 20), (70, 50, 35), (120, 90, 50), (190, 170, 120)], np.float32)


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([int(k) & 0xFFFFFFFF for k in key])


class FaceSceneSource(Source):
    """Deterministic synthetic faces; segments carry no labels (accuracy is scored against
    the reference configuration's output)."""

    def __init__(
        self,
        seed: int = 0,
        seconds: int = 60,
        width: int = 640,
        height: int = DEFAULT_HEIGHT,
        fps: int = 10,
    ) -> None:
        check_scene_size("face scene", seconds, width, height, fps)
        self.seed, self.seconds, self.fps = int(seed), int(seconds), int(fps)
        self.width, self.height = int(width), int(height)
        self.name = f"faces-{self.seed}"
        self._regimes = list(
            draw_regimes(_rng(self.seed, 2), self.seconds, REGIME_NAMES, not_first="empty")
        )
        self._wall = self._render_wall()

    @property
    def regimes(self) -> list[tuple[int, int, str]]:
        """(start second, end second, name) of each content regime, for plots."""
        return [(r.start, r.end, r.name) for r in self._regimes]

    def _render_wall(self) -> np.ndarray:
        """A plastered wall: a colour, a vertical light gradient and low-frequency mottling
        (float32 [H, W, 3])."""
        rng = _rng(self.seed, 1)
        colour = rng.uniform(90, 170, 3).astype(np.float32)
        y = np.linspace(-1, 1, self.height, dtype=np.float32)[:, None, None]
        mottling = smooth_noise(rng, self.height, self.width, max(4, self.height // 15))
        return colour * (1 + 0.12 * y) + 12 * mottling[..., None]

    def _faces(self, k: int, index: int) -> tuple[list[dict], _Params]:
        """The faces of frame ``k`` in regime ``index``: centre, radius, colours."""
        regime = self._regimes[index]
        p = _REGIME_PARAMS[regime.name]
        rng = _rng(self.seed, 3, index)
        count = int(rng.integers(p.faces[0], p.faces[1] + 1))
        t = k / self.fps - regime.start
        faces = []
        for slot in range(count):
            r = _rng(self.seed, 4, index, slot)
            radius = r.uniform(*p.radius) * self.height
            angle = r.uniform(0, 2 * np.pi)
            speed = r.uniform(*p.speed) * self.height
            x0, y0 = r.uniform(0, self.width), r.uniform(0.25, 0.75) * self.height
            span_x, span_y = self.width + 2 * radius, 0.5 * self.height
            # closed-form drift: wrap horizontally (faces walk through), bounce vertically
            x = (x0 + speed * np.cos(angle) * t + radius) % span_x - radius
            y = 0.25 * self.height + abs((y0 - 0.25 * self.height + 0.3 * speed * np.sin(angle)
                                          * t) % (2 * span_y) - span_y)  # fmt: skip
            faces.append({
                "x": float(x), "y": float(y), "r": float(radius),
                "skin": _SKIN[r.integers(len(_SKIN))], "hair": _HAIR[r.integers(len(_HAIR))],
            })  # fmt: skip
        return faces, p

    def _draw(self, img: np.ndarray, f: dict) -> None:
        """One frontal face, layer by layer, with soft (anti-aliased) edges, clipped to its
        box."""
        cx, cy, r = f["x"], f["y"], f["r"]
        x0, x1 = max(int(cx - r) - 2, 0), min(int(cx + r) + 3, self.width)
        y0, y1 = max(int(cy - 1.2 * r) - 2, 0), min(int(cy + 1.1 * r) + 3, self.height)
        if x0 >= x1 or y0 >= y1:
            return
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
        patch = img[y0:y1, x0:x1]

        def paint(
            ex: float, ey: float, rx: float, ry: float, colour, mask: np.ndarray | None = None
        ) -> None:
            """An ellipse centred (ex, ey) radii away from the face's centre, of radii
            (rx, ry) face radii, over what is drawn (``mask``: where it may paint)."""
            d = np.sqrt(((xx - cx - ex * r) / (rx * r)) ** 2 + ((yy - cy - ey * r) / (ry * r)) ** 2)
            alpha = np.clip((1 - d) * rx * r, 0, 1)  # one pixel of soft edge
            if mask is not None:
                alpha = alpha * mask
            patch[:] = patch * (1 - alpha[..., None]) + np.asarray(colour) * alpha[..., None]

        skin, hair = f["skin"], f["hair"]
        paint(0, 0, 0.8, 1.0, skin)
        paint(0, -0.55, 0.86, 0.56, hair, (yy < cy - 0.42 * r).astype(np.float32))
        for side in (-1, 1):
            paint(side * 0.33, -0.12, 0.16, 0.085, (245, 245, 240))
            paint(side * 0.33, -0.12, 0.065, 0.075, (45, 35, 30))
            paint(side * 0.33, -0.31, 0.18, 0.035, hair * 0.8)
        paint(0, 0.15, 0.07, 0.12, skin * 0.8)
        paint(0, 0.48, 0.25, 0.07, (160, 70, 70))

    def frame(self, k: int) -> np.ndarray:
        """Frame ``k`` (uint8 RGB [H, W, 3]); random access."""
        index, _ = regime_at(self._regimes, k / self.fps)
        faces, p = self._faces(k, index)
        img = self._wall.copy()
        for f in sorted(faces, key=lambda f: f["r"]):  # larger (nearer) faces in front
            self._draw(img, f)
        rng = _rng(self.seed, 5, index)
        img *= rng.uniform(*p.light)
        noise = _rng(self.seed, 6, k).standard_normal(img.shape).astype(np.float32)
        img += noise * rng.uniform(*p.noise)
        return np.clip(img, 0, 255).astype(np.uint8)

    def segments(self, max_seconds: int | None = None) -> Iterator[Segment]:
        total = self.seconds if max_seconds is None else min(self.seconds, max_seconds)
        for s in range(total):
            frames = np.stack([self.frame(s * self.fps + i) for i in range(self.fps)])
            yield Segment(s, frames, (s * self.fps + np.arange(self.fps)) / self.fps, self.fps)


def faces_from_spec(spec: str, fps: int = 10, seconds: int = 60) -> FaceSceneSource:
    """``"faces"``, ``"faces:SEED"`` or ``"faces:SEED:HEIGHT"`` -> a 16:9
    :class:`FaceSceneSource`, 640x360 unless HEIGHT says otherwise."""
    seed, width, height = scene_spec(spec, "faces", DEFAULT_HEIGHT)
    return FaceSceneSource(seed=seed, seconds=seconds, width=width, height=height, fps=fps)
