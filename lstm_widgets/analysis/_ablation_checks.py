"""Ablation's option checks: ints in range, the output scored, targets shaped like it."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from ._chunked import stream_has_y
from ._inputs import check_finite


def _check_int(name: str, value: Any, low: int, high: int | None) -> int | None:
    if value is None:
        return None
    bound = f"[{low}, {high}]" if high is not None else f">= {low}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"Expected {name} as None or an int {bound}, received {value!r}.")
    if value < low or (high is not None and value > high):
        raise ValueError(f"Expected {name} as None or an int {bound}, received {value}.")
    return int(value)


def _output_selector(
    output: Any, out_shape: tuple[int, ...], step: int | None = None
) -> Callable[[np.ndarray], np.ndarray]:
    if step is not None:
        inner = _output_selector(output, out_shape[1:] if len(out_shape) > 1 else (), None)
        if len(out_shape) == 1 and output is not None:
            inner = _output_selector(output, out_shape, None)  # raises: no unit axis
        return lambda pred: inner(pred[:, step])
    if output is None:
        return lambda pred: pred
    if not out_shape:
        raise ValueError(
            f"The model returns one value per sample (shape (n,)); expected output=None, "
            f"received output={output}."
        )
    size = out_shape[-1]
    if not -size <= output < size:
        raise ValueError(
            f"Expected output as an index in [0, {size - 1}] on the model output's last "
            f"axis (shape {_rows_shape(out_shape).replace('N', 'n')}), received {output}."
        )
    index = int(output)
    return lambda pred: pred[..., index]


def _numeric_targets(y: Any, N: int) -> np.ndarray:
    """``y`` as a finite numeric array with N rows (object arrays of numbers become float)."""
    y = np.asarray(y.detach().cpu() if hasattr(y, "detach") else y)
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_):
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"Expected numeric targets y, received an array of dtype {y.dtype} holding "
                "values that are not numbers (None?): fill or drop those samples first."
            ) from None
    if y.ndim == 0 or y.shape[0] != N:
        raise ValueError(
            f"Expected y with one row per sample of X (N={N}), received shape {y.shape}."
        )
    check_finite(y, "targets y", "y")
    return y


def _check_y(
    y: np.ndarray, out_shape: tuple, output: Any, select: Callable, N: int, step: Any = None
) -> np.ndarray:
    """Return ``y`` shaped as the scored output; only (N,) and (N, 1) are interchangeable."""
    scored = select(np.zeros((1, *out_shape))).shape[1:]
    got = y.shape[1:]
    if got == scored:
        return y
    if (output is not None or step is not None) and got == out_shape:
        return select(y)
    if got in ((), (1,)) and scored in ((), (1,)):
        return y.reshape((N, *scored))
    alt = f" or {_rows_shape(out_shape)}" if output is not None else ""
    same_size = math.prod(got) == math.prod(scored)
    raise ValueError(
        f"Expected y of shape {_rows_shape(scored)}{alt} to match the scored model output, "
        f"received shape {y.shape}"
        + (
            ": the same number of values laid out differently. Reorder or reshape y to the "
            "output's shape (axes are never guessed)."
            if same_size
            else "."
        )
    )


def _y_checker(out_shape: tuple, output: Any, select: Callable, step: Any) -> Callable:
    """Check a chunk's targets like ``y`` (a stream's come with its batches)."""

    def check(y: np.ndarray) -> np.ndarray:
        y = _numeric_targets(y, len(y))
        return _check_y(y, out_shape, output, select, len(y), step)

    return check


def _rows_shape(dims: tuple) -> str:
    return "(N,)" if not dims else f"(N, {', '.join(map(str, dims))})"


def _given_targets(y: Any, source: Any, loss: Any, metric_name: str | None) -> np.ndarray | None:
    """Return ``y`` as finite numbers with one row per sequence, or ``None`` when not given.

    Refuses ``y`` beside a stream (its batches carry the targets), and a loss metric with no
    targets at all.
    """
    if y is not None and not source.in_memory:
        raise ValueError(
            "X is a stream of batches: its targets come from the batches ((x, y) pairs); "
            "received y= as well. Drop y=, or pass X as an array."
        )
    if y is not None:
        y = _numeric_targets(y, source.n_rows)
    if loss is not None and y is None and not stream_has_y(source):
        raise ValueError(
            f"metric={metric_name!r} compares predictions with targets: pass y "
            f"(one row per sequence; a stream yields (x, y) batches), or use metric=None "
            "for the change of the output."
        )
    return y


def _check_options(
    by_feature: Any, batch_size: Any, max_lag: Any, progress: Any, output: Any, T: int
) -> tuple[int | None, int | None]:
    """Check the plain options; return ``(batch_size, max_lag)`` as ints or ``None``."""
    if not isinstance(by_feature, (bool, np.bool_)):
        raise ValueError(f"Expected by_feature as True or False, received {by_feature!r}.")
    batch_size = _check_int("batch_size", batch_size, 1, None)
    max_lag = _check_int("max_lag", max_lag, 1, T)
    if not (isinstance(progress, (bool, np.bool_)) or callable(progress)):
        raise ValueError(
            f"Expected progress as True, False or a callable (done, total), received {progress!r}."
        )
    if output is not None and (
        isinstance(output, (bool, np.bool_)) or not isinstance(output, numbers.Integral)
    ):
        raise ValueError(f"Expected output as None or an int index, received {output!r}.")
    return batch_size, max_lag
