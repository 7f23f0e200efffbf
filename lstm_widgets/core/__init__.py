"""Framework-free core: gate names, the canonical weights layout and a reference recurrence.

Imports numpy only.
"""

from ._activations import ACTIVATIONS, SATURATING, get_activation
from ._cache import LRUCache
from ._layer import RecurrentLayer
from ._names import (
    GATE_LONG_NAMES,
    GATES,
    KINDS,
    MATRIX_WORDS,
    SCALE_WORDS,
    GateNameError,
    check_kind,
    gate_aliases,
    resolve_gate,
    resolve_gate_choice,
    resolve_matrix,
    resolve_scale,
)
from ._optional import require
from ._recurrence import Trace, check_float_dtype, check_mask, check_sequences, run_recurrence
from ._trace_gates import TraceGates, check_gate_names
from ._weights import Gate, GateWeights

__all__ = [
    "ACTIVATIONS",
    "GATES",
    "GATE_LONG_NAMES",
    "KINDS",
    "MATRIX_WORDS",
    "SATURATING",
    "SCALE_WORDS",
    "Gate",
    "GateNameError",
    "GateWeights",
    "LRUCache",
    "RecurrentLayer",
    "Trace",
    "TraceGates",
    "check_float_dtype",
    "check_gate_names",
    "check_kind",
    "check_mask",
    "check_sequences",
    "gate_aliases",
    "get_activation",
    "require",
    "resolve_gate",
    "resolve_gate_choice",
    "resolve_matrix",
    "resolve_scale",
    "run_recurrence",
]
