"""Resolve a ``--model`` spec (path, name, ``builtin``, ``builtin-lidar`` or ``silero-vad``)
to a loaded :class:`Model`; the model decides the task and the kind of source it takes."""

from __future__ import annotations

from pathlib import Path

from oneadapt.errors import ModelError
from oneadapt.models.base import Model
from oneadapt.storage import models_dir

# Short names -> file names looked for in models_dir(), first found wins. The YOLOX
# entries also accept the name `oneadapt models pull` saves the official export under.
KNOWN_MODELS: dict[str, tuple[str, ...]] = {
    "yolox-nano": ("yolox_nano_416x416.onnx", "yolox_nano.onnx"),
    "yolox-tiny": ("yolox_tiny.onnx",),
    "yolox-s": ("yolox_s.onnx",),
    "fastestdet": ("FastestDet_352.onnx",),
    "nanodet-m": ("nanodet_m_320.onnx",),
    "nanodet-m-416": ("nanodet_m_416.onnx",),
    "deeplabv3": ("deeplabv3_mnv2_voc_257.onnx",),
    "yunet": ("yunet_s_dynamic.onnx",),
}


PACKAGED = ("builtin", "builtin-lidar", "silero-vad")
"""Models that ship with the package (or its dependencies): no download, no file."""


def load_model(spec: str) -> Model:
    """``builtin`` (video detector), ``builtin-lidar`` (BEV detector), ``silero-vad`` (voice
    activity), a path to an ``.onnx`` detector, segmenter or face-landmark model, or a name
    found in :func:`models_dir`."""
    if spec == "builtin":
        return _load_builtin()
    if spec == "builtin-lidar":
        from oneadapt.models.builtin_lidar import load_builtin_lidar

        return load_builtin_lidar()
    if spec == "silero-vad":
        from oneadapt.models.silero_vad import SileroVadModel, load_silero_vad

        return SileroVadModel(load_silero_vad())
    path = Path(spec).expanduser()
    if path.suffix or "/" in spec or path.exists():
        return _load_file(path)
    directory = models_dir()
    for filename in (*KNOWN_MODELS.get(spec, ()), f"{spec}.onnx"):
        if (directory / filename).is_file():
            return _load_file(directory / filename)
    if spec in KNOWN_MODELS:
        raise ModelError(
            f"model {spec!r} is not in {directory} (looked for {', '.join(KNOWN_MODELS[spec])}).",
            f"Run `oneadapt models pull {spec}`, or copy the file there (set ONEADAPT_MODELS "
            "to use another directory).",
        )
    present = sorted(p.stem for p in directory.glob("*.onnx")) if directory.is_dir() else []
    raise ModelError(
        f"unknown model {spec!r}; known names: {', '.join([*PACKAGED, *KNOWN_MODELS])}"
        + (f"; files in {directory}: {', '.join(present)}." if present else "."),
        "Run `oneadapt models pull NAME` or pass the path to an .onnx file.",
    )


def _load_file(path: Path) -> Model:
    if path.suffix.lower() != ".onnx":
        raise ModelError(
            f"unknown model format {path.suffix or '(no extension)'!r} for {path}.",
            "Pass an .onnx model (YOLOX, FastestDet, NanoDet, DeepLab-v3 VOC, YuNet) or "
            "--model builtin.",
        )
    if path.is_dir():
        raise ModelError(f"{path} is a directory, not a model file.", "Pass the .onnx file.")
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist.", "Check the path.")
    from oneadapt.models.onnx_detectors import OnnxDetector
    from oneadapt.models.onnx_graph import OnnxGraph
    from oneadapt.models.onnx_landmarks import OnnxLandmarks, is_landmark_model
    from oneadapt.models.onnx_segmenter import OnnxSegmenter, is_segmenter

    # The task follows from what the graph outputs; a detector family is the fallback, whose
    # constructor names every supported layout when none matches.
    graph = OnnxGraph(path)
    if is_segmenter(graph):
        return OnnxSegmenter(graph)
    if is_landmark_model(graph):
        return OnnxLandmarks(graph)
    return OnnxDetector(graph)


def _load_builtin() -> Model:
    try:
        from oneadapt.models.builtin import load_builtin
    except ModuleNotFoundError as exc:
        if exc.name != "oneadapt.models.builtin":
            raise
        raise ModelError(
            "the builtin model is not available in this installation.",
            "Pass an ONNX detector path or name instead (e.g. --model yolox-nano).",
        ) from None
    return load_builtin()
