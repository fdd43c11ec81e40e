"""Proof that region-of-interest coding works with stock libx264 (issue 12): on a real clip,
blocks marked high quality decode with lower distortion than the rest, and bytes fall as the
high-quality share falls.

Per second the server's DNNGrad map (YOLOX nano, on the segment as coded at plain constant
QP) is the saliency that picks the high-quality blocks; the segment is then coded with the
``roi`` knob at each share and decoded, and the error against the raw frames is measured
inside and outside the marked blocks. "Same blocks at 1.0" is the control: the marked blocks'
error when every block keeps quality, so that the inside/outside gap is not the content's.

    PYTHONPATH=. python benchmarks/roi_proof.py [--video PATH] [--seconds 5] [--qp 30]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from oneadapt.adapt.gradients import DNNGradServer
from oneadapt.knobs import Configuration
from oneadapt.knobs.roi import most_salient
from oneadapt.media.codec import encode
from oneadapt.media.roi import BLOCK
from oneadapt.media.sources import VideoSource
from oneadapt.models.registry import load_model
from oneadapt.tasks.detection import DetectionTask

DATA = Path("/work/shared/data")
SHARES = (1.0, 0.5, 0.25, 0.1, 0.0)


def psnr(mse: float) -> float:
    """In dB; NaN where no pixel was measured."""
    if math.isnan(mse):
        return math.nan
    return 10 * math.log10(255**2 / mse) if mse > 0 else math.inf


def pixel_mask(blocks: np.ndarray, height: int, width: int) -> np.ndarray:
    """A per-block bool map as a per-pixel one."""
    return np.repeat(np.repeat(blocks, BLOCK, 0), BLOCK, 1)[:height, :width]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", default=DATA / "videos" / "bgslibrary_video02_highway_cctv.avi")
    parser.add_argument("--model", default=str(DATA / "models" / "yolox_nano_416x416.onnx"))
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--qp", type=int, default=30)
    args = parser.parse_args()

    model = load_model(args.model)
    server = DNNGradServer(model, DetectionTask.for_model(model.class_names))
    source = VideoSource(args.video, fps=10)
    plain = Configuration(qp=args.qp, height=source.height, fps=source.fps)
    totals = {s: np.zeros(5) for s in SHARES}  # bytes, inside SE, inside px, outside SE, outside px
    plain_bytes = 0
    controls = {s: np.zeros(2) for s in SHARES}  # marked blocks' error, pixels at 1.0
    for second, segment in enumerate(source.segments(args.seconds)):
        reference = encode(segment, plain)
        plain_bytes += reference.num_bytes
        saliency = server.feedback(second, reference).weights()
        raw = segment.frames.astype(np.float32)
        errors = {}
        for share in SHARES:
            coded = encode(segment, Configuration(plain, roi=share), saliency=saliency)
            errors[share] = ((coded.decoded - raw) ** 2).mean(axis=(0, 3))
            marked = pixel_mask(most_salient(saliency, share), segment.height, segment.width)
            totals[share] += [
                coded.num_bytes,
                errors[share][marked].sum(),
                marked.sum(),
                errors[share][~marked].sum(),
                (~marked).sum(),
            ]
            controls[share] += [errors[SHARES[0]][marked].sum(), marked.sum()]
        print(f"second {second}: map marks {int((saliency > 0).sum())} of {saliency.size} blocks")
    kbps = 8 / 1000 / args.seconds
    print(
        f"\n{Path(args.video).name}, {args.seconds} s at {source.fps} fps, QP {args.qp} inside, "
        f"QP {args.qp + 12} outside; plain constant QP {plain_bytes * kbps:.1f} kbit/s"
    )
    print(
        f"{'share':>5} {'kbit/s':>7} {'MSE in':>7} {'MSE out':>7} {'PSNR in':>7} "
        f"{'PSNR out':>8} {'in @1.0':>7}"
    )
    for share in SHARES:
        b, se_in, n_in, se_out, n_out = totals[share]
        mse_in = se_in / n_in if n_in else math.nan
        mse_out = se_out / n_out if n_out else math.nan
        same = controls[share][0] / controls[share][1] if controls[share][1] else math.nan
        print(
            f"{share:5.2f} {b * kbps:7.1f} {mse_in:7.2f} {mse_out:7.2f} {psnr(mse_in):7.2f} "
            f"{psnr(mse_out):8.2f} {same:7.2f}"
        )


if __name__ == "__main__":
    main()
