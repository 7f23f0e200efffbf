"""Proof that a PyTorch module's forward is a plain causal stack, read from its fx graph.

The step-by-step ablation path replays a module as "recurrent layers (with per-step modules
between them), then a head on the last step". That is only right when the forward is
exactly that, so the forward is traced with ``torch.fx`` (recurrent and ``torch.nn``
modules are leaves) and every node is classified. Accepted::

    x -> [per-step module | recurrent module -> [0]]* -> out[:, -1] or h_n[-1] -> head

where per-step modules are exact ``torch.nn`` classes acting on each step alone
(``Linear``, ``LayerNorm`` over the features, activations, ``Dropout``), and the head is any
computation that reads only the last step (and parameters). Anything else touching the
input or a sequence (slicing, clamping, in-place writes, flips, a second input, custom
functions) is not provable: the caller then runs the model as a black box.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...core import require

TRACE_LOCK = threading.RLock()
"""Held while tracing and by every forward pass of the adapter: tracing patches
``torch.nn.Module.__call__`` process-wide, so no library forward may run meanwhile."""

_LAST_STEP = (
    (slice(None), -1),
    (slice(None), -1, slice(None)),
    (slice(None), -1, Ellipsis),
)


def _torch():
    return require("torch", purpose="Reading a PyTorch model")


@dataclass(frozen=True)
class Stack:
    """A proven causal stack.

    Attributes
    ----------
    stages : list of (str, Module)
        ``("rnn", module)`` or ``("layer", module)`` in order, up to the last recurrent one.
    head : callable
        Maps the last recurrent module's final hidden state (n, H) to the model output.
    n_features : int or None
        The features per step the first stage reads, when it declares them.
    summary : str
        The stack in words, e.g. ``"LSTM -> Linear -> GRU -> head"``.
    """

    stages: list
    head: Callable
    n_features: int | None
    summary: str


class _NotProvable(Exception):
    """Why a forward is not a plain causal stack (control flow inside :func:`prove_stack`)."""


def _per_step_types() -> tuple:
    nn = _torch().nn
    return (
        nn.Linear, nn.Identity, nn.Dropout, nn.AlphaDropout, nn.ReLU, nn.LeakyReLU, nn.ELU,
        nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid, nn.Softsign, nn.Tanhshrink, nn.LayerNorm,
    )  # fmt: skip


def _recurrent_forwards() -> tuple:
    nn = _torch().nn
    return (nn.LSTM.forward, nn.GRU.forward, nn.RNN.forward)


def _has_hooks(module: Any) -> bool:
    return bool(getattr(module, "_forward_hooks", None)) or bool(
        getattr(module, "_forward_pre_hooks", None)
    )


def _trace(model: Any) -> Any:
    fx = _torch().fx
    nn = _torch().nn

    class Tracer(fx.Tracer):
        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            if isinstance(m, (nn.RNNBase, nn.RNNCellBase)):
                return True
            return super().is_leaf_module(m, qualname)

    with TRACE_LOCK:
        return Tracer().trace(model)


def prove_stack(model: Any) -> tuple[Stack | None, str]:
    """Return ``(stack, reason)``: the proven stack and why, or ``(None, why not)``."""
    try:
        graph = _trace(model)
    except Exception as exc:
        return None, f"torch.fx cannot trace forward ({type(exc).__name__})"
    try:
        stack = _Walker(model, graph).run()
    except _NotProvable as exc:
        return None, str(exc)
    except Exception as exc:  # a graph this module does not expect: not provable
        return None, f"forward graph not understood ({type(exc).__name__}: {exc})"
    return stack, f"forward proven a causal stack ({stack.summary})"


def _describe(node: Any) -> str:
    target = node.target
    if node.op == "call_module":
        return f"module {target!r}"
    name = getattr(target, "__name__", str(target))
    if node.op == "call_method":
        return f".{name}()"
    if target is operator.getitem:
        return f"indexing [{node.args[1]!r}]"
    return f"{name}()"


def _is_in_place(node: Any) -> bool:
    name = getattr(node.target, "__name__", str(node.target))
    if node.kwargs.get("inplace"):
        return True
    if node.op == "call_method":
        return name.endswith("_") and not name.startswith("_")
    if node.op == "call_function":
        return (name.endswith("_") and not name.startswith("_")) or name in (
            "setitem", "iadd", "isub", "imul", "itruediv", "ifloordiv", "ipow", "imod",
            "iand", "ior", "ixor", "ilshift", "irshift", "imatmul",
        )  # fmt: skip
    return False


class _Walker:
    """Classify every node of the traced forward.

    Raises :class:`_NotProvable` on the first node outside the accepted pattern.
    """

    def __init__(self, model: Any, graph: Any) -> None:
        self.model = model
        self.graph = graph
        self.kind: dict = {}
        self.tip = None  # the sequence the next stage must read
        self.rnn = None  # the latest recurrent call (its tuple output)
        self.hn: dict = {}  # node -> recurrent module whose h_n (or h_n of an LSTM) it is
        self.stages: list = []
        self.last = None
        self.after_rnn = 0  # per-step stages read after the last recurrent output

    def run(self) -> Stack:
        if _has_hooks(self.model):
            raise _NotProvable("the model has forward hooks")
        for node in self.graph.nodes:
            self.kind[node] = self._classify(node)
        if self.last is None:
            raise _NotProvable("forward never takes the last step of a recurrent output")
        if not any(kind == "rnn" for kind, _ in self.stages):
            raise _NotProvable("no recurrent module on the path from input to output")
        return self._stack()

    # ---- one node --------------------------------------------------------------------------
    def _classify(self, node: Any) -> str:
        if node.op == "placeholder":
            if self.tip is not None:
                raise _NotProvable("forward takes more than one input")
            self.tip = node
            return "seq"
        if node.op == "get_attr":
            return "const"
        if node.op == "output":
            out = node.args[0]
            if getattr(out, "op", None) is None or self.kind.get(out) not in ("last", "head"):
                raise _NotProvable("the output is not computed from the last step alone")
            return "output"
        kinds = {self.kind[d] for d in node.all_input_nodes}
        if kinds <= {"const"}:
            if _is_in_place(node):
                raise _NotProvable(f"forward changes a parameter in place ({_describe(node)})")
            return "const"
        if kinds <= {"const", "head", "last"}:
            first = node.args[0] if node.args else None
            if _is_in_place(node) and self.kind.get(first) == "const":
                raise _NotProvable(f"forward changes a parameter in place ({_describe(node)})")
            return "head"
        if self.last is not None:
            raise _NotProvable(f"{_describe(node)} reads a sequence after the last step was taken")
        return self._chain(node)

    def _chain(self, node: Any) -> str:
        if node.op == "call_module" and node.args == (self.tip,) and not node.kwargs:
            module = self.model.get_submodule(node.target)
            if _has_hooks(module):
                raise _NotProvable(f"module {node.target!r} has forward hooks")
            if isinstance(module, _torch().nn.RNNBase):
                self._check_recurrent(node.target, module)
                self.stages.append(("rnn", module))
                self.rnn, self.tip, self.after_rnn = node, None, 0
                return "rnn"
            if self._per_step(module):
                self.stages.append(("layer", module))
                self.tip = node
                self.after_rnn += 1
                return "seq"
            raise _NotProvable(
                f"module {node.target!r} ({type(module).__name__}) is not known to act on each "
                "step alone"
            )
        if node.op == "call_function" and node.target is operator.getitem and not node.kwargs:
            return self._getitem(node, *node.args)
        raise _NotProvable(f"forward applies {_describe(node)} to a sequence")

    def _getitem(self, node: Any, source: Any, index: Any) -> str:
        if source is self.rnn and self.tip is None and index == 0:
            self.tip = node
            return "seq"
        if source is self.rnn and index == 1:
            self.hn[node] = self.stages[-1][1]
            return "hn"
        if source in self.hn and self.stages[-1] == ("rnn", self.hn[source]):
            module = self.hn[source]
            if (
                index in (0, 1)
                and self.kind[source] == "hn"
                and isinstance(module, _torch().nn.LSTM)
            ):
                self.hn[node] = module
                return ("hn_h", "hn_c")[index]
            lstm = isinstance(module, _torch().nn.LSTM)
            if index == -1 and self.kind[source] == ("hn_h" if lstm else "hn"):
                self.last = node
                return "last"
        if source is self.tip and self.rnn is not None and _is_last_step(index):
            self.last = node
            return "last"
        raise _NotProvable(f"forward applies indexing [{index!r}] to a sequence")

    def _check_recurrent(self, name: str, module: Any) -> None:
        if type(module).forward not in _recurrent_forwards():
            raise _NotProvable(f"module {name!r} overrides the recurrent forward")
        if module.bidirectional or int(getattr(module, "proj_size", 0) or 0):
            raise _NotProvable(f"module {name!r} is bidirectional or projected")
        if not module.batch_first:
            raise _NotProvable(f"module {name!r} is not batch_first")

    def _per_step(self, module: Any) -> bool:
        if type(module) not in _per_step_types() or getattr(module, "inplace", False):
            return False
        if isinstance(module, _torch().nn.LayerNorm):
            return len(module.normalized_shape) == 1
        return True

    # ---- the result ------------------------------------------------------------------------
    def _stack(self) -> Stack:
        # Per-step modules read after the last recurrent output act on the last step alike
        # (on the h_n path there are none: the recurrent module is the last stage).
        cut = len(self.stages) - self.after_rnn
        stages, prefix = self.stages[:cut], [m for _, m in self.stages[cut:]]
        head = _head_module(self.model, self.graph, self.kind, self.last)
        names = [type(m).__name__ for _, m in stages]
        return Stack(
            stages=stages,
            head=_Head(prefix, head),
            n_features=_n_features(stages),
            summary=" -> ".join([*names, "head"]),
        )


def _is_last_step(index: Any) -> bool:
    if not isinstance(index, tuple):
        return False
    return any(index == pattern for pattern in _LAST_STEP)


def _n_features(stages: list) -> int | None:
    nn = _torch().nn
    for _, module in stages:
        if isinstance(module, nn.RNNBase):
            return int(module.input_size)
        if isinstance(module, nn.Linear):
            return int(module.in_features)
        if isinstance(module, nn.LayerNorm):
            return int(module.normalized_shape[0])
    return None


def _head_module(model: Any, graph: Any, kind: dict, last: Any) -> Any:
    """Return a GraphModule computing the output from the last step (its only input)."""
    fx = _torch().fx
    head = fx.Graph()
    env = {last: head.placeholder("h")}
    for node in graph.nodes:
        if node is last or kind.get(node) not in ("const", "head", "output"):
            continue
        if node.op == "output":
            head.output(env[node.args[0]])
        else:
            env[node] = head.node_copy(node, lambda n: env[n])
    module = fx.GraphModule(model, head)
    module.graph.eliminate_dead_code()
    module.recompile()
    return module


class _Head:
    """Per-step modules moved past the last step, then the traced head."""

    def __init__(self, prefix: list, graph_module: Any) -> None:
        self.prefix = prefix
        self.graph_module = graph_module

    def __call__(self, h: Any) -> Any:
        for module in self.prefix:
            h = module(h)
        return self.graph_module(h)
