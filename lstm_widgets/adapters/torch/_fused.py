"""Fused LSTM steps for a PyTorch stepper's recorded rows (time-step ablation suffixes).

The stepper's readout of recorded rows (the clean rows and every ablated copy, see
:mod:`lstm_widgets.adapters.torch._stepper`) can run its LSTM layers here instead of
through ``torch.lstm`` calls. Measured on one core (N=1000, T=40, LSTM(32)), this costs
10-20% less CPU time than the tiled ``torch.lstm`` calls, whose oneDNN kernel is already
near the floor of GEMM plus activations per row-step; why it is cheaper:

- **Clean input products once.** From its spawn step on, a copy reads the clean input, so
  the first layer's ``x_t W^T + b`` is computed once for the ``n`` clean rows and the whole
  sequence, and every copy's step pays only ``h U^T`` (one ``addmm``). Only the ablated step
  projects the copy's own input.
- **No call per tile and segment.** A tile of rows runs from its first spawn step to the end
  with its state in the core's cache; copies with few rows are merged into one tile whose
  rows start when their copy does (no clean steps re-read).
- **Few operations per step.** Eight tensor operations advance a tile by a step; the loop
  after the last spawn has them bound to locals (:func:`._fused_steps._steady`). With
  several torch threads, tiles run on the stepper's :class:`~._tiles.TileRunner` (Python
  threads, one torch thread each), each thread reusing one workspace; with one, the clean
  rows advance only as far as the next copies need (:meth:`FusedLSTM._interleaved`).
- **Cheap activations.** ``tanh(x) = 2 sigmoid(2x) - 1``: the cell candidate's weights are
  doubled, the cell state kept doubled and the hidden state halved (scalings by a power of
  two, which are exact), so a step is one ``sigmoid`` over all gates, one over the cell, and
  four small products.

Values equal PyTorch's cell up to float rounding (about 1e-7); the stepper checks the fused
readout against the model before using it. Only unidirectional ``LSTM`` layers on the CPU,
in float32 or float64, with per-step modules (``Linear``, ``LayerNorm``, ...) before or
between them qualify (:func:`fused_lstm`); anything else runs through ``torch.lstm``.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._common import _InferenceMode, _torch
from ._fused_steps import _apply, _cell, _products, _steady, _Workspace
from ._run import _as_tensor
from ._tiles import TileRunner

TILE_VALUES = 2**17
"""Gate values (rows x 4 H) of one tile: its workspace stays in a core's cache."""

MIN_FUSED_ROWS = 8
"""Fewest samples per chunk for fused steps: with fewer, a tile holds hundreds of copies
whose first steps have a few rows each, and merged ``torch.lstm`` calls cost less."""

MIN_TILE_ROWS = 256
"""Fewest rows of a tile (below that, the per-operation cost of a step dominates)."""


@dataclass(frozen=True)
class _Layer:
    """One LSTM layer in fused form.

    ``wt`` (input, 4H) and ``ut`` (H, 4H) are the transposed weights, ``b`` (4H,) the summed
    biases, with the cell candidate's columns doubled and ``ut`` doubled again (it reads the
    halved hidden state); ``wt`` is doubled when its input is the halved state of the layer
    below. ``before`` holds the per-step modules applied to the layer's input.
    """

    wt: Any
    ut: Any
    b: Any
    units: int
    before: tuple


@dataclass(frozen=True)
class FusedLSTM:
    """A stack of LSTM layers run with hand-written steps (see the module docstring)."""

    layers: tuple

    def run(self, start: list, xs: Any, spawns: tuple, n: int, runner: Any) -> Any:
        """Return the last layer's final hidden state of every recorded row.

        ``start`` is the clean rows' state (one ``(h, c)`` per layer), ``xs`` their inputs
        (n, L, F), ``spawns`` the copies as ``(i, x_new)`` (see ``_Pending``). Rows come
        clean block first, then each copy's block of ``n`` in spawn order.
        """
        torch = _torch()
        first = self.layers[0]
        x = _apply(first.before, xs).transpose(0, 1).contiguous()  # (L, n, F)
        length = x.shape[0]
        xp = _products(first, x.reshape(length * n, -1)).view(length, n, -1)
        copies = [(i, b) for i, x_new in spawns for b in range(len(x_new) // n)]
        x_new = _apply(first.before, torch.cat([x for _, x in spawns])) if copies else None
        saved = [(h * 0.5, c * 2.0) for h, c in start]
        out = torch.empty(((1 + len(copies)) * n, self.layers[-1].units), dtype=xp.dtype)
        points = frozenset(i for i, _ in copies)
        rows = self.tile_rows()
        pool: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(runner.workers):
            pool.put(_Workspace(self.layers, rows, xp.dtype))
        shared = _Shared(self, xp, {}, out, n, pool, x_new, points, saved)
        if runner.workers == 1:
            self._interleaved(shared, copies, rows)
            return out
        for p in sorted(points):
            shared.marks[p] = shared.new_marks()
        runner.run(
            [_Tile(shared, s0, s0 + r, [], saved) for s0, r in _slices(n, rows, runner.workers)]
        )
        tiles = [t for s0, r in _slices(n, rows, 1) for t in _copy_tiles(shared, copies, s0, r)]
        # Longest first: threads finish together.
        runner.run(sorted(tiles, key=lambda tile: -tile.r1 * (xp.shape[0] - tile.a)))
        return out

    def _interleaved(self, shared: _Shared, copies: list, rows: int) -> None:
        """Run the tiles on one thread, each slice's clean rows only as far as copies need.

        The clean state a copy starts from is then still in the core's cache when the copy
        reads it, and its slot is reused by the next copies (the clean states before every
        spawn step are never all held: for a thousand samples, 10 MB less to write and
        read back per layer).
        """
        torch = _torch()
        ws = _Workspace(self.layers, rows, shared.xp.dtype)  # the clean rows' own
        for s0, r in _slices(shared.n, rows, 1):
            clean = _Tile(shared, s0, s0 + r, [], shared.start)
            tiles = _copy_tiles(shared, copies, s0, r)
            last_use = {i: k for k, tile in enumerate(tiles) for i, _ in tile.members}
            done = 0
            for k, tile in enumerate(tiles):
                upto = tile.members[-1][0] + 1
                if upto > done:
                    clean.advance(torch, ws, done, upto)
                    done = upto
                tile()
                for i in {i for i, _ in tile.members if last_use[i] == k}:
                    shared.release(i)
            clean.advance(torch, ws, done, shared.xp.shape[0])

    def tile_rows(self) -> int:
        """Rows of one tile (see :data:`TILE_VALUES`)."""
        return max(MIN_TILE_ROWS, TILE_VALUES // (4 * max(la.units for la in self.layers)))


def _copy_tiles(shared: _Shared, copies: list, s0: int, r: int) -> list:
    """Tiles of copies for samples ``s0:s0+r``: one copy each, or several in lockstep.

    In spawn order; a tile holds as many copies as fit in :meth:`FusedLSTM.tile_rows`.
    """
    per = max(1, shared.fused.tile_rows() // r)
    return [
        _Tile(
            shared,
            s0,
            s0 + r,
            [(copies[j][0], j) for j in range(j0, min(len(copies), j0 + per))],
            None,
        )
        for j0 in range(0, len(copies), per)
    ]


@dataclass(frozen=True)
class _Shared:
    """What every tile of one run reads: clean input products, clean states, the output."""

    fused: FusedLSTM
    xp: Any  # (L, n, 4H) the clean input's first-layer products
    marks: dict  # step -> clean state before it, per layer (h/2, 2c)
    out: Any  # (rows, H) final hidden states, all rows
    n: int
    pool: Any  # workspaces, one per worker
    x_new: Any = field(default=None)  # (copies * n, F) the copies' ablated inputs
    points: frozenset = frozenset()  # spawn steps: the clean state before each is marked
    start: list = field(default_factory=list)  # the clean rows' state at step 0 (h/2, 2c)
    spare: list = field(default_factory=list)  # released marks, reused

    def new_marks(self) -> list:
        """Room for the clean state of all ``n`` rows, per layer ``(h/2, 2c)``."""
        if self.spare:
            return self.spare.pop()
        torch = _torch()
        return [(torch.empty_like(h), torch.empty_like(c)) for h, c in self.start]

    def release(self, step: int) -> None:
        """Give back the marks of ``step`` (no copy left reads them) for reuse."""
        marks = self.marks.pop(step, None)
        if marks is not None:
            self.spare.append(marks)


def _slices(n: int, rows: int, workers: int) -> list[tuple[int, int]]:
    """Return balanced ``(start, size)`` slices of ``n`` rows, at most ``rows`` each.

    At least one per worker when every slice keeps :data:`MIN_TILE_ROWS` rows.
    """
    k = -(-n // rows)
    k = max(k, min(workers, n // MIN_TILE_ROWS))
    size = -(-n // max(1, k))
    return [(s0, min(size, n - s0)) for s0 in range(0, n, size)]


@dataclass
class _Tile:
    """Sample rows ``s0:s1`` of the clean rows (no ``members``) or of some copies.

    ``members`` are ``(i, j)``: copy ``j`` (block ``1 + j`` of the output) spawned at step
    ``i``, in spawn order; the copies of a tile run in lockstep, each from its step on.
    The clean tile starts from ``start`` and fills ``marks`` with its state before each
    marked step; copies start from there. ``r0``/``r1``/``segments`` describe the work for
    :class:`~._tiles.TileRunner`.
    """

    shared: _Shared
    s0: int
    s1: int
    members: list
    start: list | None

    r0 = 0

    @property
    def a(self) -> int:
        return self.members[0][0] if self.members else 0

    @property
    def r1(self) -> int:
        return (self.s1 - self.s0) * max(1, len(self.members))

    @property
    def segments(self) -> tuple:
        return ((self.a, self.shared.xp.shape[0]),)

    def __call__(self) -> tuple[list, dict]:
        torch = _torch()
        ws = self.shared.pool.get()
        try:
            with torch.no_grad():
                (self._copies if self.members else self._clean)(torch, ws)
        finally:
            self.shared.pool.put(ws)
        return [], {}

    def _clean(self, torch: Any, ws: _Workspace) -> None:
        self.advance(torch, ws, 0, self.shared.xp.shape[0])

    def advance(self, torch: Any, ws: _Workspace, t0: int, t1: int) -> None:
        """Run the clean rows over steps ``t0:t1`` in ``ws``, marking the spawn steps.

        From ``start`` when ``t0`` is 0; the final state goes to ``out`` at the last step.
        """
        sh, rows, size = self.shared, slice(self.s0, self.s1), self.s1 - self.s0
        views = ws.views(size)
        if t0 == 0:
            for v, (h0, c0) in zip(views, self.start, strict=True):
                v.h.copy_(h0[rows])
                v.c.copy_(c0[rows])
        for t in range(t0, t1):
            if t in sh.points:
                marks = sh.marks.get(t) or sh.marks.setdefault(t, sh.new_marks())
                for v, (hm, cm) in zip(views, marks, strict=True):
                    hm[rows].copy_(v.h)
                    cm[rows].copy_(v.c)
            self._step(torch, ws, sh.xp[t, rows], size, [])
        if t1 == sh.xp.shape[0]:
            torch.mul(views[-1].h, 2.0, out=sh.out[rows])

    def _copies(self, torch: Any, ws: _Workspace) -> None:
        sh, rows, size = self.shared, slice(self.s0, self.s1), self.s1 - self.s0
        active, last = 0, self.members[-1][0]
        for t in range(self.a, last + 1):
            new = [j for i, j in self.members[active:] if i == t]
            if new:  # new copies start from the clean state before step t
                r_old, r_new = active * size, (active + len(new)) * size
                for (h, c, _, _), (hm, cm) in zip(ws.buffers, sh.marks[t], strict=True):
                    h[r_old:r_new].view(len(new), size, -1).copy_(hm[rows])
                    c[r_old:r_new].view(len(new), size, -1).copy_(cm[rows])
            self._step(torch, ws, sh.xp[t, rows], active * size, new)
            active += len(new)
        if len(sh.fused.layers) == 1:
            v = ws.views(active * size)[0]
            _steady(torch, v, sh.xp[last + 1 :, rows], sh.fused.layers[0].ut, active)
        else:
            for t in range(last + 1, sh.xp.shape[0]):
                self._step(torch, ws, sh.xp[t, rows], active * size, [])
        h = ws.buffers[-1][0]
        for k, (_, j) in enumerate(self.members):
            o = (1 + j) * sh.n + self.s0
            torch.mul(h[k * size : (k + 1) * size], 2.0, out=sh.out[o : o + size])

    def _step(self, torch: Any, ws: _Workspace, xp_t: Any, r_old: int, new: list) -> None:
        """Advance rows ``:r_old`` (reading ``xp_t``) and the copies ``new`` after them."""
        size = len(xp_t)
        r_new = r_old + len(new) * size
        views = ws.views(r_new)
        first = self.shared.fused.layers[0]
        if r_old:
            old = ws.views(r_old)[0]
            if r_old == size:
                torch.addmm(xp_t, old.h, first.ut, out=old.z)
            else:
                torch.mm(old.h, first.ut, out=old.z)
                old.z.view(-1, size, old.z.shape[1]).add_(xp_t)
        for q, j in enumerate(new):  # the ablated step: the copy's own input
            lo = r_old + q * size
            z, h = views[0].z[lo : lo + size], views[0].h[lo : lo + size]
            x_j = self.shared.x_new[j * self.shared.n + self.s0 :][:size]
            torch.addmm(first.b, x_j, first.wt, out=z)
            z.addmm_(h, first.ut)
        _cell(torch, views[0])
        for k in range(1, len(views)):
            layer, v = self.shared.fused.layers[k], views[k]
            x = views[k - 1].h
            if layer.before:
                x = _apply(layer.before, x * 2.0)  # per-step modules read the true state
            torch.addmm(layer.b, x, layer.wt, out=v.z)
            v.z.addmm_(v.h, layer.ut)
            _cell(torch, v)


def fused_lstm(stages: list, dtype: Any, device: Any) -> tuple[FusedLSTM | None, str]:
    """Return ``(fused, reason)``: the stepper's stages as a :class:`FusedLSTM`, or None.

    ``stages`` are the stepper's ``("cell", _Cell)`` / ``("layer", module)``. Every cell
    must be an LSTM (an exact ``nn.LSTMCell`` copy of the layer), on the CPU, in float32 or
    float64; per-step modules may come before the first cell and between cells.
    """
    torch = _torch()
    if getattr(device, "type", "cpu") != "cpu":
        return None, f"fused LSTM steps run on the CPU only (model on {device})"
    if dtype not in (torch.float32, torch.float64):
        return None, f"fused LSTM steps need float32 or float64 weights (got {dtype})"
    layers: list[_Layer] = []
    before: list = []
    for kind, obj in stages:
        if kind == "layer":
            before.append(obj)
            continue
        if obj.kind != "LSTM" or type(obj.module) is not torch.nn.LSTMCell:
            return None, f"fused steps cover LSTM layers only (found {obj.kind})"
        layers.append(_layer(obj.module, tuple(before), halved_input=bool(layers) and not before))
        before = []
    if not layers:
        return None, "no recurrent layer to fuse"
    return FusedLSTM(tuple(layers)), "fused LSTM steps (clean input products shared)"


def _layer(cell: Any, before: tuple, halved_input: bool) -> _Layer:
    """Scaled, transposed copies of an ``nn.LSTMCell``'s weights (see :class:`_Layer`)."""
    torch = _torch()
    H = int(cell.hidden_size)
    with torch.no_grad():
        scale = torch.ones(4 * H, dtype=cell.weight_ih.dtype)
        scale[2 * H : 3 * H] = 2.0
        w = cell.weight_ih.detach() * scale[:, None] * (2.0 if halved_input else 1.0)
        u = cell.weight_hh.detach() * scale[:, None] * 2.0
        b = torch.zeros(4 * H, dtype=w.dtype)
        if cell.bias:
            b = (cell.bias_ih.detach() + cell.bias_hh.detach()) * scale
    return _Layer(
        wt=w.t().contiguous(), ut=u.t().contiguous(), b=b.contiguous(), units=H, before=before
    )


def with_fused(stepper: Any, agrees: Any) -> Any:
    """Return ``stepper`` with fused LSTM steps when they apply and ``agrees(candidate)``.

    Otherwise the stepper keeps ``torch.lstm`` calls; ``fused_reason`` says which ran.
    """
    from dataclasses import replace

    fused, reason = fused_lstm(stepper.stages, stepper.dtype, stepper.device)
    if fused is None:
        return replace(stepper, fused_reason=f"torch.lstm steps: {reason}")
    candidate = replace(stepper, fused=fused, fused_reason=reason)
    if agrees(candidate):
        return candidate
    return replace(stepper, fused_reason="torch.lstm steps: fused steps did not match the model")


def fused_applies(stepper: Any, state: Any) -> bool:
    """Whether the recorded ``state`` runs through the stepper's fused steps."""
    return stepper.fused is not None and state.n >= MIN_FUSED_ROWS


def fused_readout(stepper: Any, state: Any) -> Any:
    """Return the last layer's final hidden state of every row of a recorded ``_Pending``."""
    n = state.n
    copies = sum(len(x) for _, x in state.spawns) // max(1, n)
    tile_macs = min(n * (1 + copies), stepper.fused.tile_rows()) * stepper.macs
    with (
        _InferenceMode(stepper.model),
        TileRunner(stepper._workers(), tile_macs, stepper.macs) as runner,
    ):
        xs = _as_tensor(np.stack(state.xs, axis=1), stepper.dtype, stepper.device)
        spawns = tuple((i, _as_tensor(x, stepper.dtype, stepper.device)) for i, x in state.spawns)
        return stepper.fused.run(state.start, xs, spawns, n, runner)
