"""What the gradient policy's steps achieve when its accuracy estimates are exact.

Separates the two things the policy's result depends on: how well InputGrad x DNNGrad
estimates a step's accuracy change, and how well the step rules (running estimates, one
value a second toward dearer values, floors, hysteresis, the frame rate's closed form)
decide on estimates. Each second, every estimate the policy makes is replaced by the
change measured on that very second: from a per-second profile of every configuration
(``oneadapt profile``), the accuracy of the probed neighbour minus that of the current
configuration, and for a knob that selects frames, each option's measured accuracy. The
bytes, the step rules and everything else are the policy's own, so the run shows what
the rules would reach with a perfect estimator (a second's change is still only known
after that second, like the real estimate).

Usage: ``python benchmarks/exact_inputgrad.py OUT VIDEO=PROFILE [VIDEO=PROFILE ...]
-m MODEL [--lambdas 0.01,0.03,0.1,0.3,1] [--seconds 60] [--gpu-weight 1]
[--baselines BENCH_DIR]``. The knob lists are the profile's; ``--baselines`` adds another
bench's rows of every other policy (same clips, grid and seconds) to the summary. Writes
OUT/bench.parquet and OUT/matched.json (kbit/s at matched accuracy), and prints them.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

import oneadapt.adapt.gradient_policy as gradient_policy
from oneadapt.adapt.gradient_policy import InputGrad, TemporalOption, probe_pairs
from oneadapt.adapt.policy import Overhead
from oneadapt.errors import ConfigurationError
from oneadapt.evaluate.bench import bench, summarize
from oneadapt.knobs import Configuration, Knob
from oneadapt.media.codec import EncodedSegment
from oneadapt.media.modality import Modality, modality
from oneadapt.media.sources import Segment
from oneadapt.models.registry import load_model

_spec = importlib.util.spec_from_file_location(
    "adaptation_headroom", Path(__file__).with_name("adaptation_headroom.py")
)
assert _spec is not None and _spec.loader is not None
headroom = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = headroom  # its dataclasses look their module up
_spec.loader.exec_module(headroom)


class MeasuredAccuracy:
    """A profile's accuracy per (second, configuration)."""

    def __init__(self, profile: pd.DataFrame) -> None:
        self.knobs = headroom.knob_columns(profile)
        self.space = headroom.space_of(profile, self.knobs)
        kinds = self.space.knobs
        self.table = {
            (
                int(row[0]),
                *(kind.convert(v) for kind, v in zip(kinds, row[1:-1], strict=True)),
            ): float(row[-1])
            for row in profile[["second", *self.knobs, "accuracy"]].itertuples(index=False)
        }

    def lists(self) -> dict[str, tuple]:
        """The profile's knob lists, dearest first (what the bench's grid must be)."""
        return {k.name: tuple(k.values) for k in self.space.knobs}

    def __call__(self, second: int, config: Configuration) -> float:
        key = (second, *(config[name] for name in self.knobs))
        if key not in self.table:
            raise ConfigurationError(
                f"the profile has no second {second} at {config.label()}.",
                "Profile every configuration of the bench's grid on every second it runs.",
            )
        return self.table[key]


def exact_probes(accuracy: MeasuredAccuracy):
    """``probe_knobs`` with each probe's accuracy change read from the profile (one encode per
    probe for its bytes, as the policy's own)."""

    def probe_knobs(
        segment: Segment,
        current: EncodedSegment,
        knobs: tuple[Knob, ...],
        dnn_grad,
        both: bool = False,
        saliency=None,
        sensor: Modality | None = None,
    ) -> tuple[list[InputGrad], Overhead]:
        compress = (sensor or modality("video")).compress
        config, probes = current.config, []
        here = accuracy(segment.index, config)
        for knob in knobs:
            for value, cheaper in probe_pairs(knob, config[knob.name], both):
                changed = config.with_knob(knob.name, value)
                other = compress(segment, changed, saliency=saliency)
                there = accuracy(segment.index, changed)
                loss = max(0.0, here - there if cheaper else there - here)
                probes.append(
                    InputGrad(knob.name, config[knob.name], value, cheaper, loss,
                              current.num_bytes, other.num_bytes, len(current.sent),
                              len(other.sent))
                )  # fmt: skip
        return probes, Overhead()

    return probe_knobs


def exact_options(accuracy: MeasuredAccuracy, options):
    """``temporal_options`` with each option's loss the profile's accuracy loss there."""

    def temporal_options(segment: Segment, current: EncodedSegment, knob: Knob, *args, **kw):
        found, spent = options(segment, current, knob, *args, **kw)
        exact = [
            TemporalOption(o.value, o.bytes, o.frames, 1.0 - accuracy(segment.index, config))
            for o in found
            for config in [current.config.with_knob(knob.name, o.value)]
        ]
        return exact, spent

    return temporal_options


@contextlib.contextmanager
def exact_estimates(accuracy: MeasuredAccuracy) -> Iterator[None]:
    """Within the block, the gradient policy's estimates are the profile's measured changes."""
    saved = gradient_policy.probe_knobs, gradient_policy.temporal_options
    gradient_policy.probe_knobs = exact_probes(accuracy)
    gradient_policy.temporal_options = exact_options(accuracy, saved[1])
    try:
        yield
    finally:
        gradient_policy.probe_knobs, gradient_policy.temporal_options = saved


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("clips", nargs="+", help="VIDEO=PROFILE (a profile DIR or parquet)")
    parser.add_argument("-m", "--model", required=True)
    parser.add_argument("--lambdas", default="0.01,0.03,0.1,0.3,1")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--gpu-weight", type=float, default=1.0)
    parser.add_argument("--baselines", type=Path, help="a bench DIR with the other policies")
    args = parser.parse_args(argv)
    model = load_model(args.model)
    lambdas = [float(x) for x in args.lambdas.split(",")]
    runs = []
    for spec in args.clips:
        video, _, profile = spec.rpartition("=")
        accuracy = MeasuredAccuracy(headroom.read_profile(profile))
        out = args.out / f"clip{len(runs)}"
        with exact_estimates(accuracy):
            bench(
                [video],
                model,
                ["oneadapt"],
                lambdas,
                out,
                seconds=args.seconds,
                knobs=accuracy.lists(),
                gpu_weight=args.gpu_weight,
            )
        runs.append(pd.read_parquet(out / "bench.parquet"))
    rows = pd.concat(runs, ignore_index=True)
    rows.to_parquet(args.out / "bench.parquet")
    if args.baselines is not None:
        others = pd.read_parquet(args.baselines / "bench.parquet")
        rows = pd.concat([others[others["policy"] != "oneadapt"], rows], ignore_index=True)
    matched = [  # kbit/s only: the backward passes' GPU share is not measured here
        {k: m[k] for k in ("target_accuracy", "policy", "kbps")}
        for m in summarize(rows, {}, 0.0)["matched"]
    ]
    (args.out / "matched.json").write_text(json.dumps(matched, indent=1))
    for m in matched:
        kbps = "never" if m["kbps"] is None else f"{m['kbps']:.1f}"
        print(f"{m['target_accuracy']:.2f} {m['policy']:<12} {kbps} kbit/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
