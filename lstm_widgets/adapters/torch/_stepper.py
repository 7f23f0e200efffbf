"""Step-by-step view of a proven causal PyTorch stack (prefix reuse in time-step ablation).

The ablation engine advances clean rows step by step and spawns ablated copies of them
(:meth:`TorchStepper.spawn_step`). Nothing is computed while it does: the stepper records
the inputs and computes everything when the state is read, through PyTorch's whole-sequence
kernels (oneDNN on CPU), with three rules that keep the cost low and steady:

- **Cache-sized calls.** A call's workspace (rows x steps x gate values) stays near
  :data:`CALL_VALUES`: the clean rows and each group of copies run in tiles of rows and
  time segments (the state carried from one segment to the next, so the result is the same
  recurrence). A kernel whose workspace spills out of the core's cache costs 2-3x more per
  row-step; a call costs about as much as 250 row-steps, so tiles are not made smaller.
- **Copies merged into groups.** Copies spawned at nearby steps run in one batch from the
  group's first step, when a copy alone has too few rows to fill a call (few samples, long
  sequences): a copy then re-reads a few clean steps, which costs less than more calls.
- **Threads side by side, not in lockstep.** Each step of a small kernel is an OpenMP
  parallel region whose barrier waits for every thread; on a busy core that wait dominates
  (an ablation taking 0.5 s on one thread took 3-37 s on two). With the user's
  ``torch.get_num_threads()`` above one, independent tiles (row tiles of the clean rows,
  then every tile of every group of copies) run on that many Python threads, each call on
  one torch thread (:class:`TileRunner`; PyTorch releases the GIL in its kernels), so the
  threads meet once per tile. Below :data:`POOL_MACS` of work, or with one thread, calls
  run in turn with at most one thread per ``THREAD_MACS`` multiply-adds per step. The
  user's thread setting is restored afterwards (``scoped_threads`` in the torch adapter).
- **Fused LSTM steps.** When every recurrent layer is an LSTM, the readout runs the
  layers in hand-written steps sharing the clean input's products
  (:mod:`._fused`, checked against the model like the rest); ``fused_reason``
  says which ran and why.
- **Built once per model state.** The stepper (a proof, copies of the recurrent weights and
  a check against the model) is cached per module, keyed on its modules, hooks and every
  tensor's version: changing a weight in place or replacing it builds it again
  (:mod:`._stepper_build`). Recorded rows and their groups are in :mod:`._recorded`, the
  single-step cells in :mod:`._cells`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._common import (
    _InferenceMode,
    _numpy,
    _torch,
    scoped_threads,
)
from ._fused import fused_applies, fused_readout
from ._recorded import _cat_states, _Group, _groups, _n_rows, _Pending, _take
from ._run import _as_tensor, _first_tensor
from ._tiles import TileRunner, _segments, _TileJob

CALL_VALUES = 2**21
"""Target workspace values (rows x steps x values per row-step) of one whole-sequence call."""

MIN_CALL_ROWS = 256
"""Fewest rows a call gets when copies can be merged (below that, calls cost more than work)."""

MERGE_ROWS = 2 * MIN_CALL_ROWS
"""Copies spawned at nearby steps are merged into groups of about this many rows: enough
rows per call, few clean steps re-read (a copy with more rows than this runs alone)."""


@dataclass
class TorchStepper:
    """A causal recurrent stack run one step at a time on batches of opaque states.

    ``stages`` are ``("cell", _Cell)`` or ``("layer", module)`` applied per step;
    ``blocks`` are the same stack for whole sequences: ``("rnn", module, first, n_layers)``
    with ``module`` a batch-first copy of a recurrent module whose layers own state entries
    ``first .. first + n_layers - 1``, or ``("layer", module)``. ``head`` maps the last
    recurrent layer's final hidden state to the output (the rest of the traced forward).
    ``width`` is the workspace values and ``macs`` the multiply-adds of one row-step of
    the whole stack. A concrete state is a list (one entry per cell) of tuples of tensors
    ``(h,)`` or ``(h, c)``.

    :meth:`spawn_step` records instead of computing: each ablated copy then runs from its
    step on through PyTorch's whole-sequence kernels, started from the clean state there,
    which costs about half the cell steps of re-running whole sequences (see the module
    docstring for how calls are sized).
    """

    stages: list[tuple[str, Any]]
    blocks: list[tuple]
    head: Callable[[Any], Any]
    model: Any
    dtype: Any
    device: Any
    width: int = 1
    macs: int = 1
    fused: Any = None  # FusedLSTM: LSTM layers in hand-written steps (see _fused)
    fused_reason: str = ""

    def initial_state(self, n: int, dtype: str | None = None) -> list:
        """Zero states for ``n`` rows."""
        torch = _torch()
        state = []
        for kind, obj in self.stages:
            if kind == "cell":
                zeros = torch.zeros((n, obj.units), dtype=self.dtype, device=self.device)
                state.append((zeros, zeros.clone()) if obj.kind == "LSTM" else (zeros,))
        return state

    def step(self, x_t: Any, state: list | _Pending) -> list:
        """Advance every row of ``state`` by one input step ``x_t`` of shape (rows, F)."""
        state = self._concrete(state)
        with _InferenceMode(self.model), scoped_threads(len(x_t) * self.macs):
            return self._step(_as_tensor(x_t, self.dtype, self.device), state)

    def _step(self, x: Any, state: list) -> list:
        new_state = []
        k = 0
        for kind, obj in self.stages:
            if kind == "cell":
                s = obj.step(x, state[k])
                new_state.append(s)
                x = s[0]
                k += 1
            else:
                x = obj(x)
        return new_state

    def spawn_step(self, x_t: np.ndarray, x_new: np.ndarray, state: list | _Pending) -> Any:
        """Advance the rows of ``state`` by ``x_t`` and start copies of its first block.

        ``state`` holds blocks of ``n = len(x_t)`` rows, the first being the clean rows;
        every block reads ``x_t``. ``x_new`` (k * n, F) adds k blocks that start from the
        first block's state and read ``x_new`` at this step. Nothing is computed until
        :meth:`readout`, :meth:`rows` or :meth:`concat` needs it.
        """
        n = len(x_t)
        if len(x_new) % max(n, 1):
            raise ValueError(
                f"Expected x_new with a multiple of {n} rows (whole blocks), received {len(x_new)}."
            )
        if isinstance(state, _Pending):
            pending = state
        elif _n_rows(state) == n:
            pending = _Pending(start=state, xs=(), spawns=(), n=n)
        else:  # copies already running in a concrete state: advance them all now
            return self._spawn_now(x_t, x_new, state)
        spawns = pending.spawns
        if len(x_new):
            spawns = (*spawns, (len(pending.xs), x_new))
        return _Pending(pending.start, (*pending.xs, x_t), spawns, n)

    def _spawn_now(self, x_t: np.ndarray, x_new: np.ndarray, state: list) -> list:
        n = len(x_t)
        k = len(x_new) // n
        if k:
            first = self.rows(state, 0, n)
            state = self.concat(state, [tuple(s.repeat(k, 1) for s in lay) for lay in first])
        blocks = _n_rows(state) // n
        inputs = np.concatenate([np.tile(x_t, (blocks - k, 1)), x_new])
        return self.step(inputs, state)

    def rows(self, state: list | _Pending, start: int, stop: int) -> list:
        """Rows ``start:stop`` of every state tensor."""
        if isinstance(state, _Pending) and (start, stop) == (0, state.n):
            return self._concrete(_Pending(state.start, state.xs, (), state.n))
        return _take(self._concrete(state), slice(start, stop))

    def concat(self, a: list | _Pending, b: list | _Pending) -> list:
        """Stack two states along the batch axis."""
        a, b = self._concrete(a), self._concrete(b)
        with scoped_threads(_n_rows(a) * self.width):
            return _cat_states([a, b])

    def readout(self, state: list | _Pending) -> np.ndarray:
        """Apply the modules after the last recurrent layer to its final hidden state."""
        if isinstance(state, _Pending) and state.xs:
            x = self._concrete(state, output_only=True)  # a new tensor: the head may write it
        else:
            x = self._concrete(state)[-1][0].clone()  # the head may write in place
        # The head is usually small: a thread per THREAD_MACS of its input values at most.
        with _InferenceMode(self.model), scoped_threads(x.numel()):
            x = _first_tensor(self.head(x), self.model)
        return _numpy(x)

    # ---- computing recorded rows -----------------------------------------------------------
    def _concrete(self, state: list | _Pending, output_only: bool = False) -> Any:
        """Compute every row of a recorded state (clean block first, then copies).

        With ``output_only``, return only the last layer's hidden state (rows, H).
        """
        if not isinstance(state, _Pending):
            return state
        if not state.xs:
            return state.start
        if output_only and fused_applies(self, state):
            return fused_readout(self, state)
        n = state.n
        groups = _groups(state.spawns, n, MERGE_ROWS)
        rows = max([n] + [len(g.copies) * n for g in groups])
        tile_macs = self._tile(rows, len(state.xs))[0] * self.macs
        with (
            _InferenceMode(self.model),
            TileRunner(self._workers(), tile_macs, self.macs) as runner,
        ):
            xs = _as_tensor(np.stack(state.xs, axis=1), self.dtype, self.device)  # (n, L, F)
            points = sorted({g.a for g in groups})
            clean, before = self._clean(state.start, xs, points, runner)
            jobs = [job for g in groups for job in self._copies(xs, g, before[g.a])]
            finals = [*clean, *(final for final, _ in runner.run(jobs))]
            if output_only:
                return _torch().cat([final[-1][0] for final in finals])
            return _cat_states(finals)

    def _workers(self) -> int:
        """Python threads that run tiles side by side: the user's torch threads, on CPU."""
        if getattr(self.device, "type", "cpu") != "cpu":
            return 1
        return max(1, _torch().get_num_threads())

    def _clean(
        self, start: list, xs: Any, points: list[int], runner: TileRunner
    ) -> tuple[list[list], dict[int, list]]:
        """Run the clean rows over ``xs``.

        Return their final states (one per tile of rows) and their state before each step
        in ``points``.
        """
        n, length = xs.shape[0], xs.shape[1]
        tile_rows, tile_steps = self._tile(n, length)
        # A tile for every worker, when the rows are many enough to fill a call each.
        tile_rows = min(tile_rows, max(MIN_CALL_ROWS, -(-n // runner.workers)))
        cuts = sorted({*points, *range(0, length, tile_steps), length} - {0})
        jobs = [
            _TileJob(
                self,
                r0,
                min(n, r0 + tile_rows),
                _segments(cuts),
                lambda r0, r1, s0, s1: xs[r0:r1, s0:s1],
                lambda r0, r1: _take(start, slice(r0, r1)),
                marks=frozenset(points),
            )
            for r0 in range(0, n, tile_rows)
        ]
        done = runner.run(jobs)
        before = {p: _cat_states([marks[p] for _, marks in done]) for p in points if p > 0}
        before[0] = start
        return [final for final, _ in done], before

    def _copies(self, xs: Any, group: _Group, start: list) -> list[_TileJob]:
        """Return the tiles that run a group's copies from step ``group.a`` on."""
        torch = _torch()
        n, a = len(xs), group.a

        def samples(r0: int, r1: int) -> Any:
            if r0 // n == (r1 - 1) // n:  # within one copy: a slice, no gather
                return slice(r0 % n, r0 % n + r1 - r0)
            return torch.arange(r0, r1, device=xs.device) % n

        def inputs(r0: int, r1: int, s0: int, s1: int) -> Any:
            seq = xs[samples(r0, r1), a + s0 : a + s1].clone()
            for j in range(r0 // n, (r1 - 1) // n + 1):
                i, x_i = group.copies[j]
                if a + s0 <= i < a + s1:
                    lo, hi = max(r0, j * n), min(r1, (j + 1) * n)
                    x_i = _as_tensor(x_i[lo - j * n : hi - j * n], self.dtype, self.device)
                    seq[lo - r0 : hi - r0, i - a - s0] = x_i
            return seq

        def init(r0: int, r1: int) -> list:
            return _take(start, samples(r0, r1))

        rows, length = len(group.copies) * n, xs.shape[1] - a
        tile_rows, tile_steps = self._tile(rows, length)
        segments = _segments([*range(tile_steps, length, tile_steps), length])
        return [
            _TileJob(self, r0, min(rows, r0 + tile_rows), segments, inputs, init)
            for r0 in range(0, rows, tile_rows)
        ]

    def _call_rows(self) -> int:
        """Rows a call should get (copies are merged up to that)."""
        return max(MIN_CALL_ROWS, CALL_VALUES // max(1, self.width) // 8)

    def _tile(self, rows: int, length: int) -> tuple[int, int]:
        """Rows and steps of one call: about :data:`CALL_VALUES` workspace values."""
        per_call = max(MIN_CALL_ROWS, CALL_VALUES // max(1, self.width))
        if rows * length <= per_call:
            return rows, length
        tile_rows = min(rows, self._call_rows())
        tile_rows = -(-rows // -(-rows // tile_rows))  # balanced: equal tiles
        return tile_rows, max(1, per_call // tile_rows)

    def _run(self, seq: Any, state: list) -> list:
        """Return the state after reading ``seq`` (rows, L, F) from ``state`` in one go."""
        torch = _torch()
        x = seq
        new_state: list = []
        for block in self.blocks:
            if block[0] == "layer":
                x = block[1](x)
                continue
            _, module, first, n_layers = block
            layers = state[first : first + n_layers]
            h0 = torch.stack([layer[0] for layer in layers])
            if len(layers[0]) == 2:  # LSTM
                c0 = torch.stack([layer[1] for layer in layers])
                x, (h_n, c_n) = module(x, (h0, c0))
                new_state.extend((h_n[j], c_n[j]) for j in range(n_layers))
            else:
                x, h_n = module(x, h0)
                new_state.extend((h_n[j],) for j in range(n_layers))
        return new_state
