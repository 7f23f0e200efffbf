"""Typeset gate equations: the plain-text equations translated to LaTeX for HTMLMath."""

import html

import pytest

from lstm_widgets.core import GATE_LONG_NAMES
from lstm_widgets.widgets._equations import gate_equations, state_equations
from lstm_widgets.widgets._typeset import equation_block_tex, tex_function, to_tex


def test_activations_keep_their_real_names():
    assert tex_function("sigmoid") == r"\sigma"
    assert tex_function("tanh") == r"\tanh"
    assert tex_function("hard_sigmoid") == r"\mathrm{hard\_sigmoid}"
    assert tex_function("relu") == r"\mathrm{relu}"
    eqs = gate_equations("LSTM", activation="relu", recurrent_activation="hard_sigmoid")
    assert to_tex(eqs["f"]) == (
        "f_t",
        r"\mathrm{hard\_sigmoid}(x_t W_f + h_{t-1} U_f + b_f)",
    )
    assert to_tex(eqs["c"]) == (r"\tilde{c}_t", r"\mathrm{relu}(x_t W_c + h_{t-1} U_c + b_c)")
    assert to_tex(state_equations("LSTM")[0]) == (
        "c_t",
        r"f_t \odot c_{t-1} + i_t \odot \tilde{c}_t",
    )


def test_gru_reset_after_and_before_are_told_apart():
    after = gate_equations("GRU", reset_after=True)
    assert to_tex(after["h"])[1] == r"\tanh(x_t W_h + b_h + r_t \odot (h_{t-1} U_h + b'_h))"
    before = gate_equations("GRU", reset_after=False)
    assert to_tex(before["h"])[1] == r"\tanh(x_t W_h + (r_t \odot h_{t-1}) U_h + b_h)"
    assert to_tex(state_equations("GRU")[0]) == (
        "h_t",
        r"z_t \odot h_{t-1} + (1 - z_t) \odot \tilde{h}_t",
    )


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
def test_block_is_one_aligned_display_with_a_row_per_equation(kind):
    gates = gate_equations(kind, reset_after=True if kind == "GRU" else None)
    states = state_equations(kind)
    block = html.unescape(equation_block_tex(gates, states, GATE_LONG_NAMES[kind]))
    assert block.startswith(r"$$\begin{aligned}") and block.endswith(r"\end{aligned}$$")
    assert block.count(r" \\ ") == len(gates) + len(states) - 1
    assert block.count("&=") == len(gates) + len(states)  # aligned at every equals sign
    assert block.count("{") == block.count("}")
    assert "*" not in block and "~" not in block  # no ASCII left
    for key in gates:
        assert rf"\text{{{GATE_LONG_NAMES[kind][key]}}}" in block


def test_the_gate_on_show_is_boxed_and_named_in_bold():
    gates = gate_equations("LSTM")
    block = html.unescape(equation_block_tex(gates, [], GATE_LONG_NAMES["LSTM"], highlight="o"))
    assert r"\boxed{o_t} &= \sigma(x_t W_o + h_{t-1} U_o + b_o) && \textbf{output}" in block
    assert block.count(r"\boxed") == 1
