"""Gate equations typeset: the plain-text equations of ``_equations`` written as LaTeX.

One source of truth: the equations are built once as plain text (``gate_equations``,
``state_equations``) and translated here, so the typeset and the plain forms never differ.
The result is for ``ipywidgets.HTMLMath`` (MathJax in JupyterLab, Notebook 7 and Voila).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence

__all__ = ["equation_block_tex", "tex_function", "to_tex"]

#: Activations with a symbol of their own; every other name is written as named.
_TEX_FUNCTIONS = {"sigmoid": r"\sigma", "tanh": r"\tanh", "exp": r"\exp"}
_FUNCTION = re.compile(r"([A-Za-z][A-Za-z0-9_]*)\(")
_TILDE = re.compile(r"\b([a-z])~_")


def tex_function(name: str) -> str:
    r"""Return the LaTeX of activation ``name``: ``\sigma``, ``\tanh``, ``\mathrm{relu}``.

    Examples
    --------
    >>> tex_function("hard_sigmoid")
    '\\mathrm{hard\\_sigmoid}'
    """
    return _TEX_FUNCTIONS.get(name) or r"\mathrm{" + name.replace("_", r"\_") + "}"


def to_tex(equation: str) -> tuple[str, str]:
    r"""Return the left and right sides of a plain-text equation as LaTeX.

    ``c~_t`` becomes :math:`\tilde{c}_t`, ``*`` the element-wise :math:`\odot`, and
    activations their symbols or upright names.

    Examples
    --------
    >>> to_tex("c~_t = tanh(x_t W_c + h_{t-1} U_c + b_c)")
    ('\\tilde{c}_t', '\\tanh(x_t W_c + h_{t-1} U_c + b_c)')
    >>> to_tex("h_t = o_t * hard_sigmoid(c_t)")[1]
    'o_t \\odot \\mathrm{hard\\_sigmoid}(c_t)'
    """
    lhs, rhs = equation.split(" = ", 1)
    out = []
    for side in (lhs, rhs):
        side = _FUNCTION.sub(lambda m: tex_function(m.group(1)) + "(", side)
        side = _TILDE.sub(lambda m: r"\tilde{" + m.group(1) + "}_", side)
        out.append(side.replace(" * ", r" \odot "))
    return out[0], out[1]


def equation_block_tex(
    gates: Mapping[str, str],
    states: Sequence[str],
    long_names: Mapping[str, str],
    *,
    highlight: str | None = None,
) -> str:
    r"""Return the equations as one aligned display block, ``$$\begin{aligned}...$$``.

    Parameters
    ----------
    gates : mapping of str to str
        Gate key to plain-text equation (from ``gate_equations``), in packing order.
    states : sequence of str
        The state equations (from ``state_equations``).
    long_names : mapping of str to str
        Gate key to its name in words, written beside the gate.
    highlight : str, optional
        The gate on show: its symbol is boxed and its name set in bold.

    Returns
    -------
    str
        HTML-escaped LaTeX, aligned at the equals signs.
    """
    rows = []
    for key, equation in gates.items():
        lhs, rhs = to_tex(equation)
        name = rf"\text{{{long_names[key]}}}"
        if key == highlight:
            lhs, name = rf"\boxed{{{lhs}}}", rf"\textbf{{{long_names[key]}}}"
        rows.append(rf"{lhs} &= {rhs} && {name}")
    for equation in states:
        lhs, rhs = to_tex(equation)
        rows.append(rf"{lhs} &= {rhs}")
    body = r" \\ ".join(rows)
    return html.escape(rf"$$\begin{{aligned}} {body} \end{{aligned}}$$", quote=False)
