"""Configuration knobs (:class:`Knob`, one module each), configurations and spaces."""

from oneadapt.knobs.base import EncodePlan, Knob, Stage, StreamShape, Value
from oneadapt.knobs.configuration import Configuration
from oneadapt.knobs.height import MIN_HEIGHT, even, output_size, resolution_ladder
from oneadapt.knobs.registry import default_knobs, knob_type, knob_types
from oneadapt.knobs.space import ConfigSpace, KnobLists, parse_fixed

__all__ = [
    "MIN_HEIGHT",
    "ConfigSpace",
    "Configuration",
    "EncodePlan",
    "Knob",
    "KnobLists",
    "Stage",
    "StreamShape",
    "Value",
    "default_knobs",
    "even",
    "knob_type",
    "knob_types",
    "output_size",
    "parse_fixed",
    "resolution_ladder",
]
