"""The validation layer: every command's inputs parsed and checked before any work.

A command calls these first, so a bad option, video, model, class, lambda, policy or
output directory fails in the first second with one line, not after minutes of
profiling with half its output written. Every parser raises :class:`OneAdaptError`
subclasses only, whatever the text it is given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from oneadapt.errors import ConfigurationError, OneAdaptError
from oneadapt.media.sources import Source, VideoSource, open_source
from oneadapt.storage import OutputDir

if TYPE_CHECKING:  # torch comes with these: --help and --version stay fast without them
    from oneadapt.inference_cache import Detector
    from oneadapt.knobs import ConfigSpace, KnobLists
    from oneadapt.media.modality import Modality
    from oneadapt.models.base import Model
    from oneadapt.tasks.base import Task

T = TypeVar("T")


def parse_list(
    text: str,
    option: str,
    convert: Callable[[str], T],
    example: str,
    usage: str | None = None,
    commas: re.Pattern[str] = re.compile(","),
) -> list[T]:
    """A comma-separated option value: items stripped, empty ones skipped, at least one
    left, each converted by ``convert`` (its ValueError becomes an error naming the item;
    its OneAdaptError passes through). Errors show ``usage``, by default ``option example``;
    ``commas`` matches the separators, for items that have commas of their own."""
    usage = usage or f"{option} {example}"
    items = [item.strip() for item in commas.split(text)]
    values = []
    for item in filter(None, items):
        try:
            values.append(convert(item))
        except (ValueError, OverflowError):
            raise ConfigurationError(
                f"{option} {text!r}: {item!r} is not valid.", f"Write e.g. {usage}."
            ) from None
    if not values:
        raise ConfigurationError(f"{option} {text!r} is empty.", f"Write e.g. {usage}.")
    return values


def parse_knobs(shorthands: Mapping[str, str | None], specs: Sequence[str] = ()) -> KnobLists:
    """Knob value lists by knob name, from shorthand options (``{"--qp": "20,30"}``, None
    where not given) and ``--knob NAME=V1,V2,...`` specs; each knob at most once. The values
    are checked against each video when its space is built."""
    from oneadapt.knobs import knob_type, knob_types

    by_flag = {kind.flag: kind for kind in knob_types().values() if kind.flag}
    given = [(by_flag[flag], flag, text) for flag, text in shorthands.items() if text is not None]
    for spec in specs:
        name, equals, text = spec.partition("=")
        if not equals:
            raise ConfigurationError(
                f"--knob {spec!r} is not NAME=VALUES.", "Write e.g. --knob i_qfactor=0.5,0.71,1."
            )
        kind = knob_type(name.strip())
        given.append((kind, f"--knob {kind.name}", text))
    lists: dict[str, list] = {}
    for kind, option, text in given:
        if kind.name in lists:
            raise ConfigurationError(
                f"knob {kind.name} is given twice ({option}).", "Give each knob's values once."
            )
        lists[kind.name] = parse_list(text, option, kind.parse, kind.example, kind.usage())
    return lists


def check_lambda(value: float, option: str = "--lambda") -> float:
    """A resource weight: a finite number >= 0."""
    if not (math.isfinite(value) and value >= 0):
        raise ConfigurationError(
            f"{option} {value!r} is not a finite number >= 0.", f"Write e.g. {option} 0.3."
        )
    return float(value)


def parse_lambdas(text: str) -> list[float]:
    """``--lambdas 0.1,0.3,1``: finite values >= 0, each once."""
    values = parse_list(text, "--lambdas", lambda v: check_lambda(float(v), "--lambdas"), "0.1,1")
    return _distinct(values, "--lambdas", "lambda")


def check_budget(value: float, option: str) -> float:
    """A budget (kbit/s, spare inferences per second): a finite number > 0."""
    if not (math.isfinite(value) and value > 0):
        raise ConfigurationError(
            f"{option} {value!r} is not a finite number > 0.", f"Write e.g. {option} 100."
        )
    return float(value)


def check_stream_budget(max_kbps: float | None, policy: str) -> float | None:
    """``--max-kbps`` of ``run`` and ``camera``: a budget > 0, and only for the gradient
    policy, the one that adapts its trade-off to a budget."""
    if max_kbps is None:
        return None
    budget = check_budget(max_kbps, "--max-kbps")
    if policy != "oneadapt":
        raise ConfigurationError(
            f"--max-kbps needs the oneadapt policy, not {policy!r}.",
            "Use --policy oneadapt with --max-kbps, or drop --max-kbps.",
        )
    return budget


def parse_budgets(text: str, option: str) -> list[float]:
    """``--max-kbps 50,100``: finite values > 0, each once."""
    values = parse_list(text, option, lambda v: check_budget(float(v), option), "50,100")
    return _distinct(values, option, "budget")


POLICY_COMMAS = re.compile(r",(?![^,:=]*=)")
"""The commas between policies: not those before a ``NAME=VALUE`` of a ``fixed:`` spec (no
policy name has an ``=``)."""


def check_policy(name: str) -> str:
    """A policy name: one of ``POLICY_NAMES`` or a valid ``fixed:`` spec (its knobs are
    checked against each source's space by :func:`check_inputs`)."""
    from oneadapt.adapt.baselines import POLICY_NAMES, parse_fixed

    if name.startswith("fixed:"):
        parse_fixed(name)
    elif name not in POLICY_NAMES:
        raise ConfigurationError(
            f"unknown policy {name!r}.", f"Use one of {', '.join(POLICY_NAMES)}."
        )
    return name


def parse_policies(text: str) -> list[str]:
    """``--policies oneadapt,best-fixed,...``: known names, each once."""
    try:
        values = parse_list(
            text, "--policies", check_policy, "oneadapt,best-fixed", commas=POLICY_COMMAS
        )
    except OneAdaptError as exc:
        raise ConfigurationError(f"--policies: {exc.problem}", exc.fix) from None
    return _distinct(values, "--policies", "policy")


def parse_classes(text: str | None, class_names: Sequence[str]) -> tuple[str, ...]:
    """``--classes person,car``: every name must be one the model knows. Without the
    option, the default classes the model knows (at least one)."""
    if text is None:
        from oneadapt.tasks.detection import DEFAULT_CLASSES

        return DEFAULT_CLASSES
    known = set(class_names)
    wanted = parse_list(text, "--classes", str, "person,car")
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise ConfigurationError(
            f"--classes: the model has no class {', '.join(map(repr, unknown))}.",
            f"Choose among {', '.join(class_names)}.",
        )
    return tuple(_distinct(wanted, "--classes", "class"))


def _distinct(values: list[T], option: str, what: str) -> list[T]:
    repeated = sorted({str(v) for v in values if values.count(v) > 1})
    if repeated:
        raise ConfigurationError(
            f"{option} gives {what} {', '.join(repeated)} more than once.",
            f"Give each {what} once.",
        )
    return values


def open_sources(specs: Sequence[str], fps: int, seconds: int | None) -> list[Source]:
    """Open every video first (each checked for existence and decodability), reject one
    given twice, and name videos that share a file name by as much of their path as tells
    them apart (``cam1/video``, ``cam2/video``): results are keyed by name."""
    sources = [open_source(spec, fps=fps, scene_seconds=seconds or 60) for spec in specs]
    seen: dict[str, str] = {}
    for spec, source in zip(specs, sources, strict=True):
        identity = _identity(spec, source)
        if identity in seen:
            raise ConfigurationError(
                f"video {spec!r} is given twice (also as {seen[identity]!r}).",
                "Give each video once; repeated, its results would merge into one.",
            )
        seen[identity] = spec
    for source in sources:
        clashing = [s for s in sources if s.name == source.name]
        if len(clashing) > 1:
            for s, name in zip(clashing, _path_names(clashing), strict=True):
                s.name = name
    return sources


def _identity(spec: str, source: Source) -> str:
    if isinstance(source, VideoSource) and not source.is_stream:
        return str(Path(spec).resolve())
    return source.name  # scene-SEED for scenes, the URL for streams


def _path_names(sources: list[Source]) -> list[str]:
    """The shortest trailing paths (last part without its suffix) that tell files apart."""
    paths = [Path(getattr(s, "location", s.name)).resolve() for s in sources]
    for depth in range(1, max(len(p.parts) for p in paths) + 1):
        names = ["/".join((*p.parts[-depth:-1], p.stem)) for p in paths]
        if len(set(names)) == len(names):
            return names
    return [str(p) for p in paths]


@dataclass
class Inputs:
    """The videos, knob grid, model, classes and output directory of a measuring command,
    validated before any work starts."""

    sources: list[Source]
    knobs: KnobLists
    """Value lists by knob name (a default knob not named: its defaults)."""
    model: Model
    classes: tuple[str, ...]
    out: OutputDir


def check_inputs(
    videos: Sequence[str],
    model: str,
    out: Path,
    knobs: KnobLists | None = None,
    analysis_fps: int = 10,
    classes: str | None = None,
    scene_seconds: int = 60,
    policies: Sequence[str] = (),
) -> Inputs:
    """Check the output directory, open every source, check the knob values
    (:func:`parse_knobs`) and the ``fixed:`` ``policies`` against each source's sensor, load
    the model, check that it analyses every source's kind of data, and check the classes."""
    from oneadapt.knobs import parse_fixed
    from oneadapt.media.modality import modality_of
    from oneadapt.models.registry import load_model

    knobs = knobs or {}
    target = OutputDir(out)
    sources = open_sources(videos, analysis_fps, scene_seconds)
    for source in sources:  # heights are checked against each video's
        space = modality_of(source).space(source, analysis_fps, knobs)
        for policy in policies:
            if policy.startswith("fixed:"):
                space.fixed(parse_fixed(policy))
    detector_model = load_model(model)
    for source in sources:
        modality_of(source).check_model(detector_model)
    wanted = parse_classes(classes, detector_model.class_names)
    return Inputs(sources, knobs, detector_model, wanted, target)


@dataclass
class Setup:
    """Everything a single-video measuring command needs, validated before any work."""

    source: Source
    space: ConfigSpace
    detector: Detector
    task: Task
    out: OutputDir
    sensor: Modality


def prepare(
    video: str,
    model: str,
    out: Path,
    knobs: KnobLists | None = None,
    analysis_fps: int = 10,
    classes: str | None = None,
    scene_seconds: int = 60,
) -> Setup:
    """:func:`check_inputs` for one source, then its sensor and knob space, the model's task
    and the model behind the inference cache (opened, or recovered, here)."""
    from oneadapt.inference_cache import Detector, InferenceCache
    from oneadapt.media.modality import modality_of

    inputs = check_inputs([video], model, out, knobs, analysis_fps, classes, scene_seconds)
    (source,) = inputs.sources
    sensor = modality_of(source)
    space = sensor.space(source, analysis_fps, inputs.knobs)
    task = inputs.model.task(inputs.classes)
    detector = Detector(inputs.model, InferenceCache())
    return Setup(source, space, detector, task, inputs.out, sensor)
