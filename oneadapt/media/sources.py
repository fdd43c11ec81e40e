"""Media sources cut into 1-second :class:`Segment`s at the analysis frame rate.

Sources run at 3 to 60 fps; analysis runs at a fixed rate (default 10 fps), so frames
are resampled by timestamp: analysis instant ``t`` shows the latest source frame
whose presentation time is ``<= t`` (what a viewer would see at that instant).
"""

from __future__ import annotations

import abc
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from oneadapt.errors import ConfigurationError, MediaError
from oneadapt.knobs import even

LISTEN_SCHEME = "rtsp-listen://"
"""``rtsp-listen://HOST:PORT/PATH``: the source is the RTSP server and waits for a publisher
to push to ``rtsp://HOST:PORT/PATH`` (ANNOUNCE/RECORD, e.g. ``ffmpeg -f rtsp``). FFmpeg can
only push RTSP, not serve it to pulling clients, so this is how an FFmpeg-fed RTSP stream
(or a camera configured to push) reaches oneadapt without a separate RTSP server."""
STREAM_SCHEMES = (
    "rtsp://",
    "rtsps://",
    LISTEN_SCHEME,
    "rtmp://",
    "http://",
    "https://",
    "udp://",
    "tcp://",
)
OPEN_TIMEOUT_S = 20.0


class ShortVideoWarning(UserWarning):
    """Fewer seconds could be decoded than were asked for: results cover only those."""


@dataclass
class Segment:
    """One second of raw video: ``frames`` is uint8 RGB [T, H, W, 3], ``timestamps`` seconds."""

    index: int
    frames: np.ndarray
    timestamps: np.ndarray
    fps: int
    ground_truth: list | None = field(default=None, repr=False)
    """Per-frame exact boxes where the source knows them (procedural scene), else None."""

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    def __len__(self) -> int:
        return int(self.frames.shape[0])


class Source(abc.ABC):
    """Anything that yields 1-second segments of raw RGB frames."""

    name: str
    fps: int
    width: int
    height: int

    @abc.abstractmethod
    def segments(self, max_seconds: int | None = None) -> Iterator[Segment]: ...

    @property
    def regimes(self) -> list[tuple[int, int, str]]:
        """(start second, end second, name) of known content regimes; none for real video."""
        return []


def scene_spec(spec: str, name: str, default_height: int) -> tuple[int, int, int]:
    """``NAME``, ``NAME:SEED`` or ``NAME:SEED:HEIGHT`` (a procedural video scene) -> its seed,
    and the width and height of a 16:9 frame, ``default_height`` unless HEIGHT says
    otherwise; anything else a :class:`ConfigurationError` naming the forms."""
    kind, _, rest = spec.partition(":")
    seed, _, height = rest.partition(":")
    if (
        kind != name
        or (seed and not re.fullmatch(r"-?[0-9]+", seed))
        or (height and not re.fullmatch(r"[0-9]+", height))
    ):
        raise ConfigurationError(
            f"{spec!r} is not a {name} spec.",
            f"Write '{name}', '{name}:SEED' or '{name}:SEED:HEIGHT' (integers, e.g. {name}:3:180).",
        )
    h = int(height) if height else default_height
    return int(seed) if seed else 0, even(h * 16 / 9), h


def check_scene_size(kind: str, seconds: int, width: int, height: int, fps: int) -> None:
    """A :class:`ConfigurationError` unless a procedural video scene (``kind``, e.g. "face
    scene") has at least 1 second, 1 fps and 32x32 pixels."""
    if seconds < 1 or fps < 1 or width < 32 or height < 32:
        raise ConfigurationError(
            f"{kind} of {seconds} s at {width}x{height}, {fps} fps is invalid.",
            "Use at least 1 second, 1 fps and 32x32 pixels.",
        )


def resample(frames: Iterable[tuple[float, np.ndarray]], fps: int) -> Iterator[np.ndarray]:
    """Sample-and-hold: one frame per analysis instant k/fps from (time, frame) pairs.

    Times are increasing and start at 0; the last frame stays on screen for one
    source frame interval.
    """
    eps = 1e-6
    k = 0
    held: np.ndarray | None = None
    times: list[float] = []
    for t, frame in frames:
        while held is not None and k / fps < t - eps:
            yield held
            k += 1
        held = frame
        times = (times + [t])[-2:]
    if held is None:
        return
    interval = times[1] - times[0] if len(times) == 2 else 1.0 / fps
    while k / fps < times[-1] + interval - eps:
        yield held
        k += 1


def chunk_seconds(
    frames: Iterable[np.ndarray], fps: int, max_seconds: int | None = None
) -> Iterator[Segment]:
    """Group a frame stream at ``fps`` into whole 1-second segments."""
    chunk: list[np.ndarray] = []
    index = 0
    if max_seconds is not None and max_seconds <= 0:
        return
    for frame in frames:
        chunk.append(frame)
        if len(chunk) == fps:
            yield Segment(index, np.stack(chunk), (index * fps + np.arange(fps)) / fps, fps)
            index += 1
            chunk = []
            if max_seconds is not None and index >= max_seconds:
                return


class VideoSource(Source):
    """A file PyAV can decode (mp4, avi, mkv, ...; any video codec), a stream URL, or an RTSP
    stream pushed to it (:data:`LISTEN_SCHEME`)."""

    def __init__(self, location: str | Path, fps: int = 10) -> None:
        self.location = str(location)
        self.name = self.location if self.is_stream else Path(self.location).stem
        if fps < 1:
            raise MediaError(f"analysis frame rate {fps} is invalid.", "Use a rate >= 1 fps.")
        self.fps = fps
        self.stated_seconds: float | None = None
        """The duration the container claims (None for streams and files that do not say)."""
        self.decoded_until: float | None = None
        """Time of the last frame the last full pass decoded."""
        self._warned = False
        if not self.is_stream:
            path = Path(self.location)
            if path.is_dir():
                raise MediaError(
                    f"{path} is a directory, not a video file.", "Pass a video file inside it."
                )
            if not path.is_file():
                raise MediaError(f"video file {path} does not exist.", "Check the path.")
            if path.stat().st_size == 0:
                raise MediaError(
                    f"video file {path} is empty (0 bytes).", "Pass a real video file."
                )
        container = self._open()
        context = container.streams.video[0].codec_context
        self.width, self.height = int(context.width), int(context.height)
        if container.duration and not self.is_stream:
            self.stated_seconds = container.duration / av.time_base
        # A live server may serve one connection only (ffmpeg -listen 1): keep it for reading.
        self._live: av.container.InputContainer | None = container if self.is_stream else None
        if self._live is None:
            container.close()
        if self.width <= 0 or self.height <= 0:
            raise MediaError(
                f"{self.location} has no decodable video size.",
                "Re-encode it with ffmpeg to H.264 in mp4.",
            )

    @property
    def is_stream(self) -> bool:
        return self.location.startswith(STREAM_SCHEMES)

    def _open(self) -> av.container.InputContainer:
        url, options = self.location, {}
        listening = url.startswith(LISTEN_SCHEME)
        if listening:  # FFmpeg's RTSP demuxer as the server; it needs its own timeout
            url = "rtsp://" + url.removeprefix(LISTEN_SCHEME)
            options = {"rtsp_flags": "listen", "listen_timeout": f"{OPEN_TIMEOUT_S:.0f}"}
        elif url.startswith("rtsp"):
            options = {"rtsp_transport": "tcp"}
        try:
            container = av.open(url, options=options, timeout=OPEN_TIMEOUT_S)
        except av.error.ExitError:  # FFmpeg's own word for its timeout: "Immediate exit requested"
            if listening:
                raise MediaError(
                    f"nothing was pushed to {url} within {OPEN_TIMEOUT_S:g} s.",
                    f"Push a stream there while it listens, e.g. ffmpeg -re -i CLIP "
                    f"-c:v libx264 -f rtsp -rtsp_transport tcp {url}",
                ) from None
            raise MediaError(
                f"no video arrived from {self.location} within {OPEN_TIMEOUT_S:g} s.",
                "Check that the stream is live and the URL, port and protocol are right.",
            ) from None
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise MediaError(
                f"cannot decode {self.location}: {exc}.",
                "Listen on a free port of an address of this machine."
                if listening
                else "Pass a video file or stream URL that ffmpeg can read.",
            ) from None
        if not container.streams.video:
            container.close()
            raise MediaError(
                f"{self.location} contains no video stream.", "Pass a file with a video track."
            )
        return container

    def _frames(self) -> Iterator[tuple[float, np.ndarray]]:
        """Decoded (presentation time, RGB frame) pairs, times relative to the first frame."""
        container, self._live = self._live or self._open(), None
        with container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = float(stream.average_rate or stream.guessed_rate or 25)
            start: float | None = None
            try:
                for n, frame in enumerate(container.decode(stream)):
                    t = frame.time if frame.time is not None else n / rate
                    start = t if start is None else start
                    yield t - start, frame.to_ndarray(format="rgb24")
            except av.error.FFmpegError as exc:  # a damaged tail ends the video there
                if start is None:
                    raise MediaError(
                        f"cannot decode {self.location}: {exc}.", "Pass a valid video file."
                    ) from None
            if start is None:
                raise MediaError(
                    f"{self.location} has no decodable frames.", "Pass a valid, non-empty video."
                )
            self.decoded_until = t - start

    def segments(self, max_seconds: int | None = None) -> Iterator[Segment]:
        """1-second segments; a final incomplete second is dropped. Warns (once per source)
        when fewer seconds decode than ``max_seconds`` asks, or when a damaged file ends
        early, saying how many seconds were decodable."""
        produced = 0
        for segment in chunk_seconds(resample(self._frames(), self.fps), self.fps, max_seconds):
            produced += 1
            yield segment
        if produced == 0 and max_seconds != 0:
            raise MediaError(
                f"{self.location} is shorter than one second at {self.fps} fps.",
                "Pass a video of at least one second.",
            )
        short = max_seconds is not None and produced < max_seconds
        until, stated = self.decoded_until, self.stated_seconds
        truncated = until is not None and stated is not None and until + 1.0 < stated
        if (short or truncated) and not self._warned:
            self._warned = True
            cause = (
                f"decoding stopped after {until:.1f} s of the {stated:.1f} s the file claims: "
                "it is truncated or damaged"
                if truncated
                else "the video ends there"
            )
            asked = f" of the {max_seconds} s asked" if short else ""
            warnings.warn(
                f"{self.location}: only {produced} s decodable{asked} ({cause}); "
                f"results cover {produced} s.",
                ShortVideoWarning,
                stacklevel=2,
            )


AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a")
KITTI_SUFFIX = ".bin"
PROCEDURAL = {"speech": "a speech scene", "lidar": "a LiDAR scene"}
"""Spec prefixes of the procedural audio and LiDAR sources (``speech:SEED``, ``lidar:SEED``)."""


def open_source(spec: str | Path, fps: int = 10, scene_seconds: int = 60) -> Any:
    """A source from a command-line spec; its kind of data (video, audio, LiDAR) follows from
    it: a video file or stream URL; the built-in procedural street scene (``scene`` or
    ``scene:SEED``) or faces (``faces[:SEED]``), speech (``speech[:SEED]``) or LiDAR street
    (``lidar[:SEED]``, ``fps`` scans a second, at most the sensor's 10), each
    ``scene_seconds`` long; an audio file (wav, flac, ...); a KITTI velodyne ``.bin`` scan,
    or a directory of them (one scan per second)."""
    text = str(spec)
    kind, colon, seed = text.partition(":")
    if kind == "scene":
        from oneadapt.media.scene import scene_from_spec

        return scene_from_spec(text, fps=fps, seconds=scene_seconds)
    if kind == "faces":
        from oneadapt.media.face_scene import faces_from_spec

        return faces_from_spec(text, fps=fps, seconds=scene_seconds)
    if kind in PROCEDURAL and (not colon or re.fullmatch(r"-?[0-9]+", seed)):
        from oneadapt.media.lidar import SCAN_RATE
        from oneadapt.media.lidar_scene import LidarSceneSource
        from oneadapt.media.speech_scene import SpeechScene

        number = int(seed) if seed else 0
        if kind == "speech":
            return SpeechScene(seed=number, seconds=scene_seconds)
        return LidarSceneSource(seed=number, seconds=scene_seconds, rate=min(fps, SCAN_RATE))
    if kind in PROCEDURAL:
        raise MediaError(
            f"{text!r} is not {PROCEDURAL[kind]} spec.", f"Write '{kind}' or '{kind}:SEED'."
        )
    path = Path(text)
    if path.suffix.lower() in AUDIO_SUFFIXES:
        from oneadapt.media.audio import AudioFileSource

        return AudioFileSource(path)
    scans = sorted(path.glob(f"*{KITTI_SUFFIX}")) if path.is_dir() else []
    if path.suffix.lower() == KITTI_SUFFIX or scans:
        from oneadapt.media.lidar import KittiSource

        return KittiSource(scans or [path])
    return VideoSource(spec, fps=fps)
