"""Teaching text for a recurrent layer's weights: gate equations and the parameter count.

Pure strings (plain text and a small HTML fragment); no drawing and no widgets, so scripts,
docs and the widgets all show the same words. The lesson's equations are LaTeX (through
``_typeset``), for ``ipywidgets.HTMLMath``.
"""

from __future__ import annotations

import html

from ..core import GATE_LONG_NAMES, GATES, MATRIX_WORDS, GateWeights, check_kind
from ._typeset import equation_block_tex

# How an activation is written in an equation. Keras 2's hard_sigmoid differs from Keras 3's
# in its slope, not in what it does, so both read "hard_sigmoid".
_SHOWN_ACTIVATION = {"hard_sigmoid_keras2": "hard_sigmoid"}

_GATE_SYMBOL = {
    "LSTM": {"i": "i_t", "f": "f_t", "c": "c~_t", "o": "o_t"},
    "GRU": {"z": "z_t", "r": "r_t", "h": "h~_t"},
    "SimpleRNN": {"h": "h_t"},
}


def shown_activation(name: str | None) -> str:
    """Return how the activation ``name`` is written in an equation (``"sigmoid"``, ...)."""
    if name is None:
        return "identity"
    return _SHOWN_ACTIVATION.get(name, name)


def gate_equations(
    kind: str,
    *,
    activation: str = "tanh",
    recurrent_activation: str | None = "sigmoid",
    reset_after: bool | None = None,
    use_bias: bool = True,
    bias_rows: int | None = None,
) -> dict[str, str]:
    """Return the equation of every gate of a ``kind`` layer, keyed by gate key.

    Parameters
    ----------
    kind : {"LSTM", "GRU", "SimpleRNN"}
        Layer kind.
    activation : str, default="tanh"
        The layer's cell activation, written as named.
    recurrent_activation : str or None, default="sigmoid"
        The layer's gate activation (unused by SimpleRNN).
    reset_after : bool or None, default=None
        GRU only: Keras' ``reset_after``. With ``True`` the reset gate multiplies the
        recurrent term after its matmul, and the bias has an input row ``b`` and a
        recurrent row ``b'``.
    use_bias : bool, default=True
        Whether the layer adds a bias.
    bias_rows : {1, 2}, optional
        Rows of the bias: 2 for an input bias ``b`` and a recurrent bias ``b'`` (a Keras GRU
        with ``reset_after=True``; every PyTorch layer). By default 2 exactly for a
        reset-after GRU.

    Returns
    -------
    dict of str to str
        Gate key to equation, in packing order. ``x_t`` is the input at step ``t``,
        ``h_{t-1}`` the previous hidden state and ``*`` is element-wise.

    Examples
    --------
    >>> gate_equations("LSTM")["f"]
    'f_t = sigmoid(x_t W_f + h_{t-1} U_f + b_f)'
    """
    check_kind(kind)
    act = shown_activation(activation)
    rec = shown_activation(recurrent_activation)
    sym = _GATE_SYMBOL[kind]
    two = _bias_rows(kind, reset_after, bias_rows) == 2
    out = {}
    for key in GATES[kind]:
        fn = act if (kind, key) in {("LSTM", "c"), ("GRU", "h"), ("SimpleRNN", "h")} else rec
        out[key] = f"{sym[key]} = {fn}({_gate_sum(kind, key, reset_after, two, use_bias)})"
    return out


def _gate_sum(kind: str, key: str, reset_after: bool | None, two: bool, use_bias: bool) -> str:
    """Return the argument of a gate's activation: input, recurrent and bias terms."""
    bias = f" + b_{key}" if use_bias else ""
    rbias = f" + b'_{key}" if use_bias else ""
    if kind == "GRU" and reset_after:
        if key == "h":
            return f"x_t W_h{bias} + r_t * (h_{{t-1}} U_h{rbias})"
        return f"x_t W_{key}{bias} + h_{{t-1}} U_{key}{rbias}"
    if kind == "GRU" and key == "h":
        return f"x_t W_h + (r_t * h_{{t-1}}) U_h{bias}"
    if two:
        return f"x_t W_{key}{bias} + h_{{t-1}} U_{key}{rbias}"
    return f"x_t W_{key} + h_{{t-1}} U_{key}{bias}"


def _bias_rows(kind: str, reset_after: bool | None, bias_rows: int | None) -> int:
    if bias_rows is None:
        return 2 if (kind == "GRU" and reset_after) else 1
    if bias_rows not in (1, 2):
        raise ValueError(f"Expected bias_rows 1 or 2, received {bias_rows!r}.")
    if kind == "GRU" and not reset_after and bias_rows == 2:
        raise ValueError("A GRU with reset_after=False has one bias row, received bias_rows=2.")
    return bias_rows


def state_equations(kind: str, *, activation: str = "tanh") -> list[str]:
    """Return how a ``kind`` layer combines its gates into the new state.

    Parameters
    ----------
    kind : {"LSTM", "GRU", "SimpleRNN"}
        Layer kind.
    activation : str, default="tanh"
        The layer's cell activation.

    Returns
    -------
    list of str
        Empty for SimpleRNN, whose only gate is the new hidden state.

    Examples
    --------
    >>> state_equations("GRU")
    ['h_t = z_t * h_{t-1} + (1 - z_t) * h~_t']
    """
    check_kind(kind)
    if kind == "LSTM":
        act = shown_activation(activation)
        return ["c_t = f_t * c_{t-1} + i_t * c~_t", f"h_t = o_t * {act}(c_t)"]
    if kind == "GRU":
        return ["h_t = z_t * h_{t-1} + (1 - z_t) * h~_t"]
    return []


def param_count_formula(
    kind: str,
    input_dim: int,
    units: int,
    *,
    reset_after: bool | None = None,
    use_bias: bool = True,
    bias_rows: int | None = None,
) -> tuple[str, int]:
    """Return the parameter-count formula of a recurrent layer, filled in, and its value.

    Parameters
    ----------
    kind : {"LSTM", "GRU", "SimpleRNN"}
        Layer kind.
    input_dim : int
        ``F``, input features per time step.
    units : int
        ``H``, hidden units.
    reset_after : bool or None, default=None
        GRU only: a reset-after GRU has two bias rows (``2*H`` per gate).
    use_bias : bool, default=True
        Whether the layer has a bias.
    bias_rows : {1, 2}, optional
        Rows of the bias (see :func:`gate_equations`).

    Returns
    -------
    text : str
        For example ``"4 * (F*H + H*H + H) = 4 * (3*8 + 8*8 + 8) = 384"``.
    count : int
        The number of parameters, equal to Keras' ``count_params()`` for the layer (one
        direction). The sequence length appears nowhere.

    Examples
    --------
    >>> param_count_formula("LSTM", 3, 8)
    ('4 * (F*H + H*H + H) = 4 * (3*8 + 8*8 + 8) = 384', 384)
    """
    check_kind(kind)
    n_gates = len(GATES[kind])
    F, H = int(input_dim), int(units)
    bias_rows = _bias_rows(kind, reset_after, bias_rows)
    terms, filled = ["F*H", "H*H"], [f"{F}*{H}", f"{H}*{H}"]
    if use_bias:
        terms.append("H" if bias_rows == 1 else "2*H")
        filled.append(f"{H}" if bias_rows == 1 else f"2*{H}")
    count = n_gates * (F * H + H * H + (bias_rows * H if use_bias else 0))
    if n_gates == 1:
        text = f"{' + '.join(terms)} = {' + '.join(filled)} = {count}"
    else:
        text = f"{n_gates} * ({' + '.join(terms)}) = {n_gates} * ({' + '.join(filled)}) = {count}"
    return text, count


def _shape(shape: tuple[int, ...]) -> str:
    return " x ".join(str(s) for s in shape)


def weights_lesson(
    gate_weights: GateWeights,
    *,
    gate: str = "all",
    matrix: str = "W",
    layer_name: str | None = None,
    reported_params: int | None = None,
    bidirectional: bool = False,
    equations: bool = True,
) -> str:
    """Return an HTML fragment that explains one view of a layer's weights.

    Every gate's equation (``gate`` boxed, see :func:`equations_html`), why no weight has a
    time axis, the parameter count, what the matrix on show means.

    Parameters
    ----------
    gate_weights : GateWeights
        The layer's weights.
    gate : str, default="all"
        A canonical gate key of the layer, or ``"all"``.
    matrix : {"W", "U", "b"}, default="W"
        The matrix on show.
    layer_name : str, optional
        Name to show; defaults to ``gate_weights.name``.
    reported_params : int, optional
        The framework's own parameter count (one direction), shown beside the formula.
    bidirectional : bool, default=False
        Whether the layer is one direction of a ``Bidirectional`` wrapper.
    equations : bool, default=True
        Begin with :func:`equations_html`; ``False`` leaves it out (a widget showing the
        equations apart, so that they are not typeset again on every change of view).

    Returns
    -------
    str
        HTML (no scripts, no styles beyond inline ones); equations as LaTeX for HTMLMath.
    """
    gw, esc = gate_weights, html.escape
    rows = 2 if gw.b.ndim == 2 else 1
    formula, count = param_count_formula(
        gw.kind, gw.input_dim, gw.units, reset_after=gw.reset_after, use_bias=gw.use_bias,
        bias_rows=rows,
    )  # fmt: skip
    parts = [
        f"<b>{esc(layer_name or gw.name or gw.kind)}</b>: {gw.kind}, H = {gw.units} units, "
        f"F = {gw.input_dim} inputs per step"
        + (" (reads the sequence backwards)" if gw.go_backwards else "")
        + ".",
        "<b>No time axis in the weights.</b> The same "
        + esc(_shapes(gw))
        + " are applied at every one of the T time steps, so time_steps appears in no "
        "weight shape: a longer sequence uses the same weights more often.",
        f"<b>Parameters.</b> <code>{esc(formula)}</code>."
        + esc(_count_check(reported_params, count)),
    ]
    if bidirectional:
        parts.append(
            f"This is one direction of a Bidirectional layer; the wrapper holds two such "
            f"sets of weights, 2 * {count} = {2 * count} parameters."
        )
    parts.append(_matrix_note(gw, gate, matrix))
    text = '<div style="font-size:13px;line-height:1.45">' + "<br>".join(parts) + "</div>"
    if equations:
        return text + equations_html(gw, gate=gate)
    return text


def equations_html(gate_weights: GateWeights, *, gate: str | None = None) -> str:
    r"""Return the layer's gate and state equations (LaTeX, aligned) and their legend.

    Parameters
    ----------
    gate_weights : GateWeights
        The layer's weights: kind, activations, bias rows.
    gate : str, optional
        A gate key to box; none by default (the text then depends on the layer only).

    Returns
    -------
    str
        HTML with one ``$$\begin{aligned}...$$`` block, for ``ipywidgets.HTMLMath``.
    """
    parts = _equation_block(gate_weights, gate)
    return '<div style="font-size:13px;line-height:1.45">' + "<br>".join(parts) + "</div>"


def _equation_block(gw: GateWeights, gate: str | None) -> list[str]:
    """Return the gate equations (``gate`` boxed), state equations and legend, as HTML."""
    esc = html.escape
    eqs = gate_equations(
        gw.kind,
        activation=gw.activation,
        recurrent_activation=gw.recurrent_activation,
        reset_after=gw.reset_after,
        use_bias=gw.use_bias,
        bias_rows=2 if gw.b.ndim == 2 else 1,
    )
    block = equation_block_tex(
        eqs,
        state_equations(gw.kind, activation=gw.activation),
        GATE_LONG_NAMES[gw.kind],
        highlight=gate,
    )
    legend = (
        "$x_t$: input at step $t$; $h_{t-1}$: previous hidden state; $\\odot$ multiplies "
        "element-wise."
    )
    if gw.b.ndim == 2 and gw.use_bias:
        legend += " $b$: input bias (row 0 of b); $b'$: recurrent bias (row 1)."
    return [
        f'<div class="lw-equations" style="margin:4px 0">{block}</div>',
        f'<span style="color:#555">{esc(legend, quote=False)}</span>',
    ]


def _shapes(gw: GateWeights) -> str:
    n = len(gw.gates)
    return (
        f"W ({_shape(gw.W.shape)} = F x {n}H), U ({_shape(gw.U.shape)} = H x {n}H) "
        f"and b ({_shape(gw.b.shape)})"
    )


def _count_check(reported_params: int | None, count: int) -> str:
    if reported_params is None:
        return ""
    if int(reported_params) == count:
        return f" This equals the framework's own count_params() for the layer: {count}."
    return (
        f" The framework reports {int(reported_params)} for the layer, not {count}: "
        "it holds weights this view does not show."
    )


def _matrix_note(gw: GateWeights, gate: str, matrix: str) -> str:
    kind = gw.kind
    if gate == "all":
        which = "all gates, packed side by side in the order " + ", ".join(gw.gates)
        sub = ""
        gate_words = "each gate"
    else:
        which = f"the {GATE_LONG_NAMES[kind][gate]} gate ({gate})"
        sub = f"_{gate}"
        gate_words = f"the {GATE_LONG_NAMES[kind][gate]} gate"
    if matrix == "W":
        text = (
            f"Showing W{sub}, the {MATRIX_WORDS['W']} of {which}: row j is input feature j, "
            f"column k is hidden unit k; W{sub}[j, k] is how strongly feature j at step t "
            f"pushes {gate_words} of unit k."
        )
    elif matrix == "U":
        text = (
            f"Showing U{sub}, the {MATRIX_WORDS['U']} of {which}: row j is the previous "
            f"hidden unit $h_{{t-1}}[j]$, column k is hidden unit k; it carries the past into "
            f"{gate_words}."
        )
    else:
        text = (
            f"Showing b{sub}, the bias of {which}: one number per hidden unit, added at every "
            "step before the activation."
        )
        if kind == "LSTM":
            text += (
                " Keras starts the forget-gate bias at 1 (unit_forget_bias=True), so the "
                "cell keeps its memory early in training; the per-view colour scale keeps "
                "it from washing out the other gates."
            )
        if not gw.use_bias:
            text += " This layer has no bias (use_bias=False): b is zero and not counted."
    return html.escape(text)
