"""Does this content leave anything for a causal adaptive policy to win?

A per-second profile (``oneadapt profile``: every configuration measured on every second,
accuracy against the reference configuration) bounds what adaptation can do on a clip. The
per-second oracle (the best configuration of each second) is the usual upper bound, but no
real policy knows the coming second: it can only act on what it has seen. This benchmark
asks whether even a policy that knew every configuration's EXACT objective over the past
would beat the one configuration that is best over the whole clip, chosen in hindsight. If
it does not, the per-second differences are noise that no causal policy can exploit, and
the content leaves nothing to adapt beyond picking a good fixed configuration.

Policies, each choosing one configuration per second at every lambda of a geometric sweep:

- ``per second``: the oracle, the best configuration of each second;
- ``per regime``: the best configuration of each run of seconds with the same ``regime``
  (only when the profile has that column, e.g. the demo scene): an oracle that knows where
  the regimes start;
- ``last W s`` (one per ``--windows``): at second s the best configuration over seconds
  [s-W, s), known exactly; a window longer than the clip is the same as ``all past``;
- ``all past``: likewise over seconds [0, s);
- ``fixed``: one configuration for every second, the best over the whole clip (hindsight).

Second 0, which has no past, takes the per-second oracle's choice (``--start oracle``, the
default, generous to the causal policies, so their figures are optimistic bounds) or the
reference configuration (``--start reference``).

The objective of configuration c at second s is ``accuracy - lam * resource`` with
:func:`oneadapt.adapt.objective.resource`: bytes over the reference configuration's bytes
of that second, plus ``--gpu-weight`` times frames inferred over the reference's. The
reference is :attr:`ConfigSpace.reference`, the dearest value of every knob (the knob
classes' own ordering), which is what ``oneadapt profile`` scores accuracy against (so its
accuracy is 1 on every second; a profile where it is not is refused). Knob
columns are the profile's columns that are not metrics (nor ``second`` / ``regime``).

Output: per policy and lambda the mean accuracy and kbit/s over seconds, averaged over the
clips (a mean curve, like ``oneadapt bench``); then at each target accuracy the kbit/s read
off each policy's upper envelope (:func:`oneadapt.evaluate.bench.cost_at_accuracy`, linear
interpolation between lambda points); with several clips, the same read off each clip's own
curves too (the mean curve pools clips at equal lambda, so a clip with many kbit/s weighs
most, and a policy can lose on the mean curve while winning on a clip). ``--out DIR``
writes ``headroom_points.csv`` (per clip and mean) and ``headroom.json`` (settings, mean
curve, matched kbit/s, per clip too).

Usage::

    python benchmarks/adaptation_headroom.py PROFILE_DIR_OR_PARQUET [...] \\
        [--targets 0.9,0.95] [--gpu-weight 1.0] [--windows 1,5,10] [--out DIR]
    python benchmarks/adaptation_headroom.py PROFILE --fix i_qfactor=0.71  # a sub-space
    python benchmarks/adaptation_headroom.py            # the demo scene, profiled here
    python benchmarks/adaptation_headroom.py --seconds 60 --seed 7 --save demo.parquet

Runtime: from profiles, about a second per clip (pure numpy on the profile's tables). The
demo scene mode profiles 27 configurations on every second first: about 3 minutes on two
cores for the default 60 s (``--save`` keeps that profile to re-read later).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rich.table import Table

from oneadapt.adapt.objective import DEFAULT_GPU_WEIGHT, resource
from oneadapt.console import Progress, make_console, print_table
from oneadapt.errors import ConfigurationError, OneAdaptError
from oneadapt.evaluate.bench import cost_at_accuracy
from oneadapt.knobs import ConfigSpace, Configuration, knob_type

METRICS = (
    "accuracy",
    "bytes",
    "frames_inferred",
    "dnn_seconds",
    "encode_seconds",
    "cached_frames",
    "kbps",
)
"""What ``oneadapt profile`` measures per (second, configuration)."""
NOT_KNOBS = ("second", "regime", *METRICS)
LEGACY_COLUMNS = {"acc": "accuracy", "frames": "frames_inferred"}
"""Older hand-made profiles (``second, qp, height, fps, acc, kbps, frames, regime``)."""
LAMBDAS = tuple(float(x) for x in np.geomspace(1e-3, 10, 25))
"""The lambda sweep: six points a decade, from almost the reference to the cheapest."""
START = ("oracle", "reference")


@dataclass
class Clip:
    """One profile as (second, configuration) arrays; columns in the space's grid order
    (reference first)."""

    name: str
    configs: list[Configuration]
    accuracy: np.ndarray
    bytes: np.ndarray
    frames: np.ndarray
    reference: int
    """Column of the reference configuration."""
    regime: np.ndarray | None = None
    """Per second, the index of its run of seconds with the same regime (None: no regimes)."""

    @property
    def seconds(self) -> int:
        return self.accuracy.shape[0]

    @property
    def kbps(self) -> np.ndarray:
        return self.bytes * 8 / 1000.0


def read_profile(path: str | Path) -> pd.DataFrame:
    """A profile from ``DIR`` (its ``profile.parquet``) or a parquet file, in the current
    column names (older ``acc`` / ``frames`` / kbit/s-only profiles renamed)."""
    path = Path(path)
    file = path / "profile.parquet" if path.is_dir() else path
    try:
        if not file.is_file():
            raise FileNotFoundError("no such file")
        df = pd.read_parquet(file)
    except (OSError, ValueError) as exc:  # missing, unreadable or not parquet (ArrowInvalid)
        raise ConfigurationError(
            f"cannot read a profile from {file} ({exc}).",
            "Give the output of `oneadapt profile` (DIR or DIR/profile.parquet).",
        ) from exc
    df = df.rename(columns={k: v for k, v in LEGACY_COLUMNS.items() if v not in df})
    if "bytes" not in df and "kbps" in df:
        df["bytes"] = df["kbps"] * 1000 / 8
    missing = [c for c in ("second", "accuracy", "bytes", "frames_inferred") if c not in df]
    if missing:
        raise ConfigurationError(
            f"{path} is not a per-second profile: no column(s) {', '.join(missing)}.",
            "Give the output of `oneadapt profile` (DIR or DIR/profile.parquet).",
        )
    return df


def knob_columns(df: pd.DataFrame) -> list[str]:
    """The profile's configuration columns: every column that is not a metric, ``second`` or
    ``regime``, each a knob the project knows (else a :class:`ConfigurationError`)."""
    names = [c for c in df.columns if c not in NOT_KNOBS]
    for name in names:
        knob_type(name)
    if not names:
        raise ConfigurationError("the profile has no knob columns.", "Profile some knobs.")
    return names


def space_of(df: pd.DataFrame, knobs: Sequence[str]) -> ConfigSpace:
    """The configuration space the profile spans: each knob's values, sorted dearest first
    by the knob's class, so :attr:`ConfigSpace.reference` is the profile's reference."""
    kinds = [knob_type(name) for name in knobs]
    return ConfigSpace(
        tuple(
            kind.build(None, [kind.convert(v) for v in pd.unique(df[kind.name])]) for kind in kinds
        )
    )


def reference_of(df: pd.DataFrame) -> Configuration:
    """The configuration the profile scores accuracy against (dearest value of every knob)."""
    return space_of(df, knob_columns(df)).reference


def clip_of(df: pd.DataFrame, name: str) -> Clip:
    """A profile's arrays; a (second, configuration) missing or given twice is an error."""
    knobs = knob_columns(df)
    space = space_of(df, knobs)
    present = {tuple(kind.convert(v) for kind, v in zip(space.knobs, row, strict=True)) for row in
               df[knobs].itertuples(index=False)}  # fmt: skip
    configs = [c for c in space.grid() if tuple(c.values()) in present]
    column = {tuple(c.values()): i for i, c in enumerate(configs)}
    seconds = np.sort(df["second"].unique())
    row = {s: i for i, s in enumerate(seconds)}
    shape = (len(seconds), len(configs))
    arrays = {m: np.full(shape, np.nan) for m in ("accuracy", "bytes", "frames_inferred")}
    count = np.zeros(shape, int)
    cols = [
        column[tuple(kind.convert(v) for kind, v in zip(space.knobs, values, strict=True))]
        for values in df[knobs].itertuples(index=False)
    ]
    rows = [row[s] for s in df["second"]]
    np.add.at(count, (rows, cols), 1)
    if (count != 1).any():
        s, c = np.argwhere(count != 1)[0]
        raise ConfigurationError(
            f"{name}: second {seconds[s]}, configuration {configs[c].label()} has "
            f"{count[s, c]} rows, not one.",
            "Give a complete profile: every configuration once on every second.",
        )
    for m, a in arrays.items():
        a[rows, cols] = df[m].to_numpy(float)
    reference = configs.index(space.reference) if space.reference in configs else -1
    if reference < 0:
        raise ConfigurationError(
            f"{name}: the profile lacks its reference configuration {space.reference.label()}.",
            "Profile the reference (the dearest value of every knob) too.",
        )
    scored = arrays["accuracy"][:, reference]
    if not np.allclose(scored, 1.0):
        raise ConfigurationError(
            f"{name}: the dearest configuration {space.reference.label()} scores accuracy "
            f"{scored.min():.3g}-{scored.max():.3g}, not 1 on every second: it is not the "
            "reference the profile measured accuracy against.",
            "Give a profile that includes its reference (the dearest value of every knob).",
        )
    regime = None
    if "regime" in df:
        labels = df.drop_duplicates("second").set_index("second")["regime"].loc[seconds]
        regime = (labels != labels.shift()).cumsum().to_numpy() - 1
    return Clip(
        name,
        configs,
        arrays["accuracy"],
        arrays["bytes"],
        arrays["frames_inferred"],
        reference,
        regime,
    )


def objective_table(clip: Clip, lam: float, gpu_weight: float) -> np.ndarray:
    """``accuracy - lam * resource`` per (second, configuration), the cost relative to the
    reference configuration's in the same second."""
    ref = clip.reference
    cost = resource(
        clip.bytes,
        clip.frames,
        clip.bytes[:, ref : ref + 1],
        clip.frames[:, ref : ref + 1],
        gpu_weight,
    )
    return clip.accuracy - lam * cost


def policy_names(windows: Sequence[int], regimes: bool) -> list[str]:
    """The policies in table order."""
    return [
        "per second",
        *(["per regime"] if regimes else []),
        *(f"last {w} s" for w in windows),
        "all past",
        "fixed",
    ]


def choices(
    table: np.ndarray,
    windows: Sequence[int],
    regime: np.ndarray | None = None,
    start: int | None = None,
) -> dict[str, np.ndarray]:
    """Column chosen at each second by each policy, given the objective ``table`` (seconds
    by configurations). Second 0 of the causal policies takes column ``start``, or the
    per-second oracle's choice when None."""
    n = len(table)
    oracle = table.argmax(axis=1)
    out = {"per second": oracle}
    if regime is not None:
        per_regime = np.empty(n, int)
        for r in np.unique(regime):
            run = regime == r
            per_regime[run] = table[run].mean(axis=0).argmax()
        out["per regime"] = per_regime
    total = np.vstack([np.zeros((1, table.shape[1])), np.cumsum(table, axis=0)])

    def causal(window: int | None) -> np.ndarray:
        chosen = np.empty(n, int)
        chosen[0] = oracle[0] if start is None else start
        for s in range(1, n):
            lo = 0 if window is None else max(0, s - window)
            chosen[s] = ((total[s] - total[lo]) / (s - lo)).argmax()
        return chosen

    for w in windows:
        out[f"last {w} s"] = causal(w)
    out["all past"] = causal(None)
    out["fixed"] = np.full(n, total[n].argmax())
    return out


def clip_points(
    clip: Clip,
    lambdas: Sequence[float],
    gpu_weight: float,
    windows: Sequence[int],
    start: str = "oracle",
) -> pd.DataFrame:
    """One row per (policy, lambda): mean accuracy, kbit/s and frames per second of the
    policy's choices over the clip."""
    seconds = np.arange(clip.seconds)
    rows = []
    for lam in lambdas:
        table = objective_table(clip, lam, gpu_weight)
        first = clip.reference if start == "reference" else None
        for policy, chosen in choices(table, windows, clip.regime, first).items():
            rows.append(
                {
                    "clip": clip.name,
                    "policy": policy,
                    "lambda": float(lam),
                    "accuracy": float(clip.accuracy[seconds, chosen].mean()),
                    "kbps": float(clip.kbps[seconds, chosen].mean()),
                    "frames_per_s": float(clip.frames[seconds, chosen].mean()),
                    "objective": float(table[seconds, chosen].mean()),
                    "configs_used": int(len(np.unique(chosen))),
                }
            )
    return pd.DataFrame(rows)


def mean_curve(points: pd.DataFrame) -> pd.DataFrame:
    """Mean over clips of every (policy, lambda) point: one curve per policy."""
    return points.groupby(["policy", "lambda"], as_index=False, sort=False)[
        ["accuracy", "kbps", "frames_per_s", "objective"]
    ].mean()


def matched(curve: pd.DataFrame, targets: Sequence[float]) -> dict[str, dict[float, float | None]]:
    """Per policy, the kbit/s at each target accuracy on its curve's upper envelope."""
    out = {}
    for policy, g in curve.groupby("policy", sort=False):
        kbps, acc = g["kbps"].to_numpy(), g["accuracy"].to_numpy()
        out[policy] = {t: cost_at_accuracy(kbps, acc, t) for t in targets}
    return out


def headroom(
    clips: Sequence[Clip],
    lambdas: Sequence[float] = LAMBDAS,
    gpu_weight: float = DEFAULT_GPU_WEIGHT,
    windows: Sequence[int] = (1, 5, 10),
    start: str = "oracle",
    progress: bool = True,
) -> pd.DataFrame:
    """Every clip's points (:func:`clip_points`), one after the other."""
    frames = []
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("policies per clip", total=len(clips))
        for clip in clips:
            frames.append(clip_points(clip, lambdas, gpu_weight, windows, start))
            bar.advance(task)
    return pd.concat(frames, ignore_index=True)


def _kbps(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f}"


def matched_table(match: dict[str, dict[float, float | None]], title: str) -> Table:
    """Target accuracy by policy, kbit/s in each cell."""
    table = Table(title=title)
    table.add_column("target", justify="right")
    for policy in match:
        table.add_column(policy, justify="right")
    targets = next(iter(match.values())).keys()
    for t in targets:
        table.add_row(f"{t:g}", *(_kbps(match[p][t]) for p in match))
    return table


def per_clip_table(per_clip: dict[str, dict[str, dict[float, float | None]]], title: str) -> Table:
    """Clip and target by policy, kbit/s read off each clip's own curves."""
    table = Table(title=title)
    table.add_column("clip")
    table.add_column("target", justify="right")
    policies = list(next(iter(per_clip.values())))
    for policy in policies:
        table.add_column(policy, justify="right")
    for clip, match in per_clip.items():
        for t in match[policies[0]]:
            table.add_row(clip, f"{t:g}", *(_kbps(match[p][t]) for p in policies))
    return table


def curve_table(curve: pd.DataFrame, title: str) -> Table:
    """Lambda by policy, ``accuracy @ kbit/s`` in each cell."""
    policies = list(dict.fromkeys(curve["policy"]))
    table = Table(title=title)
    table.add_column("lambda", justify="right")
    for policy in policies:
        table.add_column(policy, justify="right")
    cell = {
        (r.policy, r["lambda"]): f"{r.accuracy:.3f} @ {r.kbps:.1f}" for _, r in curve.iterrows()
    }
    for lam in dict.fromkeys(curve["lambda"]):
        table.add_row(f"{lam:.3g}", *(cell[(p, lam)] for p in policies))
    return table


def profile_demo(seed: int, seconds: int, progress: bool = True) -> pd.DataFrame:
    """The demo scene profiled like ``oneadapt profile`` (every configuration of the demo's
    grid on every second), with each second's ``regime`` (name and span)."""
    from oneadapt.demo import demo_knobs, demo_scene
    from oneadapt.evaluate.profile import profile
    from oneadapt.inference_cache import Detector, InferenceCache
    from oneadapt.models.builtin import load_builtin
    from oneadapt.tasks.detection import DetectionTask

    scene = demo_scene(seconds, seed)
    space = ConfigSpace.default(scene.height, analysis_fps=scene.fps, **demo_knobs(scene))
    model = load_builtin()
    task = DetectionTask.for_model(model.class_names)
    df = profile(scene, Detector(model, InferenceCache()), task, space, seconds, progress)
    regime = {
        s: f"{name} {start}-{end} s"
        for start, end, name in scene.regimes
        for s in range(start, end)
    }
    df["regime"] = df["second"].map(regime)
    return df


def floats(text: str) -> list[float]:
    return [float(t) for t in text.split(",") if t.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profiles", nargs="*", help="oneadapt profile outputs (DIR or parquet)")
    parser.add_argument("--targets", default="0.9,0.95", help="target accuracies")
    parser.add_argument("--gpu-weight", type=float, default=DEFAULT_GPU_WEIGHT)
    parser.add_argument("--windows", default="1,5,10", help="past windows in seconds")
    parser.add_argument("--lambdas", default=None, help="lambda sweep (default: 1e-3..10)")
    parser.add_argument("--start", choices=START, default="oracle", help="second 0's choice")
    parser.add_argument("--out", type=Path, default=None, help="write CSV and JSON here")
    parser.add_argument("--curves", action="store_true", help="print the mean curve too")
    parser.add_argument("--seed", type=int, default=None, help="demo scene seed (no profile)")
    parser.add_argument("--seconds", type=int, default=60, help="demo scene seconds")
    parser.add_argument("--save", type=Path, default=None, help="write the demo profile here")
    parser.add_argument(
        "--fix",
        action="append",
        default=[],
        metavar="KNOB=VALUE",
        help="keep only the profile's rows with KNOB at VALUE, and drop the knob: the bounds "
        "of the smaller space (repeatable)",
    )
    return parser.parse_args(argv)


def fix_knobs(df: pd.DataFrame, fixes: Sequence[str]) -> pd.DataFrame:
    """The profile restricted to ``KNOB=VALUE`` for each of ``fixes``, those knobs dropped: the
    same seconds in the space without them (what a policy over fewer knobs could choose)."""
    for fix in fixes:
        name, _, value = fix.partition("=")
        if name not in df or not value:
            raise ConfigurationError(
                f"--fix {fix!r} names no knob column of the profile.",
                f"Use KNOB=VALUE with KNOB among {', '.join(knob_columns(df))}.",
            )
        kept = df[df[name] == knob_type(name).convert(value)]
        if kept.empty:
            raise ConfigurationError(
                f"--fix {fix!r}: the profile has no rows with {name} at {value}.",
                f"Use a value it profiled: {sorted(df[name].unique())}.",
            )
        df = kept.drop(columns=name)
    return df


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the benchmark; returns what ``--out`` writes to ``headroom.json``."""
    args = parse_args(argv)
    targets = floats(args.targets)
    windows = [int(w) for w in floats(args.windows)]
    lambdas = floats(args.lambdas) if args.lambdas else list(LAMBDAS)
    console = make_console(stderr=True)
    if args.profiles:
        clips = [clip_of(fix_knobs(read_profile(p), args.fix),
                         Path(p).stem if not Path(p).is_dir() else Path(p).name)
                 for p in args.profiles]  # fmt: skip
    else:
        from oneadapt.demo import DEMO_SEED

        seed = DEMO_SEED if args.seed is None else args.seed
        df = profile_demo(seed, args.seconds)
        if args.save:
            df.to_parquet(args.save, index=False)
        clips = [clip_of(df, f"demo scene seed {seed}")]
    for clip in clips:
        ref = clip.accuracy[:, clip.reference]
        short = [w for w in windows if w >= clip.seconds]
        console.print(
            f"{clip.name}: {clip.seconds} s, {len(clip.configs)} configurations, reference "
            f"{clip.configs[clip.reference].label()} (its accuracy {ref.min():.3g}-{ref.max():.3g})"
            + (f"; window(s) {short} s reach the clip's start: same as all past" if short else "")
        )
    points = headroom(clips, lambdas, args.gpu_weight, windows, args.start)
    curve = mean_curve(points)
    match = matched(curve, targets)
    what = f"{len(clips)} clip(s)" if len(clips) > 1 else clips[0].name
    if args.curves:
        print_table(curve_table(curve, f"mean accuracy @ kbit/s per lambda, {what}"))
    print_table(
        matched_table(
            match,
            f"kbit/s at target accuracy, {what} (gpu weight {args.gpu_weight:g}, "
            f"second 0: {args.start})",
        )
    )
    per_clip = {c.name: matched(points[points["clip"] == c.name], targets) for c in clips}
    if len(clips) > 1:
        print_table(per_clip_table(per_clip, "kbit/s at target accuracy, each clip's own curves"))
    result = {
        "clips": [{"name": c.name, "seconds": c.seconds} for c in clips],
        "gpu_weight": args.gpu_weight,
        "windows": windows,
        "start": args.start,
        "lambdas": lambdas,
        "curve": curve.to_dict(orient="records"),
        "matched": {p: {f"{t:g}": v for t, v in m.items()} for p, m in match.items()},
        "matched_per_clip": {
            name: {p: {f"{t:g}": v for t, v in m.items()} for p, m in match_clip.items()}
            for name, match_clip in per_clip.items()
        },
    }
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        mean = curve.assign(clip="mean")
        pd.concat([points, mean], ignore_index=True).to_csv(
            args.out / "headroom_points.csv", index=False
        )
        (args.out / "headroom.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    try:
        main()
    except OneAdaptError as exc:  # bad input: its one line, no traceback
        sys.exit(f"error: {exc}")
