"""Configuration knobs (:class:`Knob`, one module each), configurations and spaces."""

from oneadapt.knobs.base import EncodePlan, Knob, Stage, StreamShape, Value
from oneadapt.knobs.configuration import Configuration
from oneadapt.knobs.height import even, resolution_ladder
from oneadapt.knobs.registry import apply_knobs, knob_type, knob_types
from oneadapt.knobs.space import ConfigSpace, KnobLists, parse_fixed

__all__ = [
    "ConfigSpace",
    "Configuration",
    "EncodePlan",
    "Knob",
    "KnobLists",
    "Stage",
    "StreamShape",
    "Value",
    "even",
    "apply_knobs",
    "knob_type",
    "knob_types",
    "parse_fixed",
    "resolution_ladder",
]
