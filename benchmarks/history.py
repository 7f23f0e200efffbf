"""Cost of recording a WeightHistory, and redraw speed of the TrainingHistoryExplorer.

Cases, all on the weather demo of ``notebooks/weather_forecast.ipynb`` (Seattle weather from
``vega_datasets``, shipped with the package: 14-day windows of 4 features, ``LSTM(16)`` then
``Dense(4)``, batch 64, about 1080 training windows):

- ``record``: the same ``fit`` (1 epoch) with and without ``WeightHistory()`` in its
  callbacks, interleaved in one process (which runs first alternates), ``4 * repeats``
  pairs (at least 5).
  Each epoch is timed inside ``fit`` (a timer callback placed after the history), so
  fit's set-up noise stays out; the overhead is the median over pairs of
  ``median epoch with / median epoch without - 1``. Goal: under 2 % of the epoch time.
  The time spent inside the history's hooks per epoch is printed beside it.
- ``lags``: one lag-importance record with the defaults (``X_val`` the 2015 windows,
  ``n_val=64``, ``max_lag=10``), each after a timed epoch of the same model; the median of
  the per-pair ratios. Goal: under 10 %. The old defaults (128 rows, 14 lags) are printed
  beside it.
- ``redraw``: TrainingHistoryExplorer over a 20-epoch history: moving the epoch slider
  against changing the gate, each timed from the control change to the new PNG bytes in
  ``w.image.value`` (as ``benchmarks/redraw.py`` times the WeightExplorer), interleaved
  (which goes first alternates). Goal: the slider's median within 10 % of the gate
  change's (or faster). The same moves on the explorer as it was before blitting (every
  move draws all three panels), in blocks alternating with the blitted one, give the
  before / after ratio.

Run: PYTHONPATH=. python benchmarks/history.py [--repeats 7] [--n 60] [--cases record lags redraw]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np

T, H, BATCH = 14, 16, 64
FEATURES = ["precipitation", "temp_max", "temp_min", "wind"]


def weather_data():
    """Standardised 14-day windows of the Seattle weather, train (2012-2014) and 2015."""
    from vega_datasets import data

    weather = data.seattle_weather()
    values = weather[FEATURES].to_numpy("float32")
    n_train = int((weather["date"] < "2015-01-01").sum())
    mean, std = values[:n_train].mean(axis=0), values[:n_train].std(axis=0)
    z = (values - mean) / std
    X = np.stack([z[i : i + T] for i in range(len(z) - T)])
    y = z[T:]
    split = n_train - T
    return X[:split], y[:split], X[split:], y[split:]


def weather_model(seed: int = 0):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((T, len(FEATURES))), keras.layers.LSTM(H), keras.layers.Dense(len(FEATURES))]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


class _Timed:
    """Wrap a history's ``_record`` to add up the time spent in it."""

    def __init__(self, history) -> None:
        self.seconds = 0.0
        self._inner = history._record
        history._record = self

    def __call__(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return self._inner(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t0


def _line(goal: str, measured: str, ok: bool) -> None:
    print(f"goal: {goal} -- measured {measured} -- {'PASS' if ok else 'MISS'}")


def _epoch_timer():
    """A Keras callback timing each epoch from its start to the end of every epoch-end hook.

    Placed last in ``callbacks``, its ``on_epoch_end`` runs after the history's, so the
    time includes the recording; fit's own set-up (data adapter, iterator), whose noise
    would swamp a 2 % effect, is left out.
    """
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None) -> None:
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None) -> None:
            self.seconds.append(time.perf_counter() - self._t0)

    return EpochTimer()


def case_record(repeats: int, data) -> float:
    import lstm_widgets as lw

    X, y, _, _ = data
    model = weather_model()
    model.fit(X, y, epochs=1, batch_size=BATCH, verbose=0)  # compile and warm up
    history = lw.WeightHistory()
    hooks = _Timed(history)
    model.fit(X, y, epochs=1, batch_size=BATCH, verbose=0, callbacks=[history])  # warm up
    hooks.seconds = 0.0
    epochs = 1  # many short pairs: each epoch is timed inside fit, so set-up noise stays out
    ratios, plain, inside = [], [], []
    for k in range(max(4 * repeats, 5)):
        # Alternate which fit of the pair runs first, so that drift hits both alike.
        order = (False, True) if k % 2 == 0 else (True, False)
        seconds = {}
        for with_history in order:
            timer, before = _epoch_timer(), hooks.seconds
            callbacks = [history, timer] if with_history else [timer]
            model.fit(X, y, epochs=epochs, batch_size=BATCH, verbose=0, callbacks=callbacks)
            seconds[with_history] = statistics.median(timer.seconds)
            if with_history:
                inside.append((hooks.seconds - before) / epochs)
        ratios.append(seconds[True] / seconds[False] - 1.0)
        plain.append(seconds[False])
    epoch = statistics.median(plain)
    overhead = statistics.median(ratios)
    hook = statistics.median(inside)
    print(
        f"[record] weather LSTM({H}), {len(X)} windows, batch {BATCH}: median epoch "
        f"{epoch * 1e3:.1f} ms; {len(ratios)} interleaved pairs of {epochs}-epoch fits, each "
        f"epoch timed inside fit; history holds {history.n_records} records, "
        f"{history.nbytes / 1e3:.1f} kB"
    )
    spread = ", ".join(f"{r * 100:+.1f}" for r in sorted(ratios))
    print(f"  per-pair overhead (%): {spread}")
    print(f"  time inside the history's hooks: {hook * 1e3:.3f} ms per epoch")
    alternating = _alternating_overhead(model, X, y, 4 * max(repeats, 5))
    print(
        f"  check, one fit whose odd epochs record and even ones do not (adjacent epochs "
        f"paired, median): {alternating * 100:+.2f}%"
    )
    _line(
        "recording weights costs < 2% of epoch time (epochs with vs without the callback)",
        f"{overhead * 100:+.2f}% (median of per-pair ratios; hooks alone "
        f"{hook / epoch * 100:.3f}%)",
        overhead < 0.02,
    )
    return epoch


def _alternating_overhead(model, X, y, pairs: int) -> float:
    """Recording on every other epoch of one fit: median of (recorded / adjacent plain) - 1.

    Adjacent epochs see nearly the same machine load, so this is steadier than whole fits.
    """
    import lstm_widgets as lw

    history = lw.WeightHistory()
    record = history._record

    def every_other(epoch: int, batch: int, *, lag: bool) -> None:
        if epoch == 0 or epoch % 2 == 1:  # epoch k is recorded after the k-th epoch
            record(epoch, batch, lag=lag)

    history._record = every_other
    timer = _epoch_timer()
    model.fit(X, y, epochs=2 * pairs, batch_size=BATCH, verbose=0, callbacks=[history, timer])
    t = timer.seconds  # t[0] is followed by record 1 (recorded), t[1] by record 2 (skipped)
    return statistics.median(t[i] / t[i + 1] - 1.0 for i in range(0, 2 * pairs, 2))


def _lag_cost(model, data, repeats: int, **settings) -> tuple[float, float, dict]:
    """Median of per-pair (lag record / epoch) ratios, lag records and epochs interleaved."""
    import lstm_widgets as lw

    X, y, X_val, y_val = data
    history = lw.WeightHistory(X_val=X_val, y_val=y_val, **settings)
    history.set_model(model)
    history._val.importance(model)  # warm up (compiles the path it takes)
    ratios, costs = [], []
    for _ in range(max(repeats, 5)):
        timer = _epoch_timer()
        model.fit(X, y, epochs=1, batch_size=BATCH, verbose=0, callbacks=[timer])
        t0 = time.perf_counter()
        history._val.importance(model)
        costs.append(time.perf_counter() - t0)
        ratios.append(costs[-1] / timer.seconds[0])
    info = {**history.lag_settings, "n_val": len(history.val_index)}
    return statistics.median(ratios), statistics.median(costs), info


def case_lags(repeats: int, data) -> None:
    X, y, _, _ = data
    model = weather_model()
    model.fit(X, y, epochs=1, batch_size=BATCH, verbose=0)
    old, old_cost, _ = _lag_cost(model, data, repeats, n_val=128, max_lag=14)
    ratio, cost, info = _lag_cost(model, data, repeats)
    print(
        f"[lags] one lag-importance record with the defaults: n_val={info['n_val']}, "
        f"max_lag={info['max_lag']}, metric={info['metric']}: {cost * 1e3:.1f} ms; "
        f"with n_val=128, max_lag=14 (old defaults, same paths): {old_cost * 1e3:.1f} ms, "
        f"{old * 100:.1f}% of an epoch"
    )
    _line(
        "default lag importance costs < 10% of an epoch",
        f"{ratio * 100:.1f}% (median of per-epoch ratios, {cost * 1e3:.1f} ms per record)",
        ratio < 0.10,
    )


def _full_redraw_explorer():
    """The explorer as it was before blitting: every move draws all three panels."""
    import lstm_widgets as lw
    from lstm_widgets.widgets._base import FigureView

    class FullRedraw(lw.TrainingHistoryExplorer):
        def refresh(self) -> None:
            FigureView.refresh(self)  # grid positions reset, constrained layout, full draw

    return FullRedraw


def _time_moves(w, n_records: int, n: int) -> tuple[list[float], list[float]]:
    """Interleaved epoch-slider moves and gate changes on ``w``: (slider, gate) seconds."""
    gates = ["i", "f", "c", "o"]

    def move_slider() -> None:
        w.slider.value = (w.slider.value + 1) % n_records  # as the front end does

    def change_gate() -> None:
        w.gate = gates[(gates.index(w.gate) + 1) % 4]

    slider, gate = [], []
    for k in range(n + 4):
        pair = [(move_slider, slider), (change_gate, gate)]
        for interact, times in pair if k % 2 == 0 else pair[::-1]:
            t0 = time.perf_counter()
            interact()
            _ = w.image.value
            if k >= 4:  # the first few warm caches
                times.append(time.perf_counter() - t0)
    if w.error.value:
        raise RuntimeError(f"the widget reported an error: {w.error.value}")
    return slider, gate


def case_redraw(n: int, data) -> None:
    import lstm_widgets as lw

    X, y, X_val, y_val = data
    model = weather_model()
    history = lw.WeightHistory(X_val=X_val, y_val=y_val)
    model.fit(X, y, epochs=20, batch_size=BATCH, verbose=0, callbacks=[history])
    new = lw.TrainingHistoryExplorer(history, gate="f", matrix="U")
    old = _full_redraw_explorer()(history, gate="f", matrix="U")
    times = {"new": ([], []), "old": ([], [])}
    for _ in range(max(1, n // 10)):  # blocks of 10 pairs, alternating the two widgets
        for name, w in (("new", new), ("old", old)):
            s, g = _time_moves(w, history.n_records, 10)
            times[name][0].extend(s)
            times[name][1].extend(g)
    new.close()
    old.close()
    med = {k: (statistics.median(v[0]), statistics.median(v[1])) for k, v in times.items()}
    (s, g), (s_old, g_old) = med["new"], med["old"]
    print(
        f"[redraw] TrainingHistoryExplorer, {history.n_records} records, "
        f"{len(times['new'][0])} interleaved slider moves and gate changes per widget: "
        f"blitted slider {s * 1e3:.1f} ms, gate {g * 1e3:.1f} ms; all panels redrawn (before) "
        f"slider {s_old * 1e3:.1f} ms, gate {g_old * 1e3:.1f} ms"
    )
    _line(
        "a slider move redraws only what moves (before / after, in this run)",
        f"slider {s_old / s:.2f}x faster, gate change {g_old / g:.2f}x faster",
        s < s_old and g < g_old,
    )
    _line(
        "moving the epoch slider redraws as fast as a gate change (within 10%)",
        f"slider/gate = {s / g:.2f}",
        s <= 1.10 * g,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument(
        "--cases",
        nargs="*",
        default=["record", "lags", "redraw"],
        choices=["record", "lags", "redraw"],
    )
    args = parser.parse_args()
    data = weather_data()
    if "record" in args.cases:
        case_record(args.repeats, data)
    if "lags" in args.cases:
        case_lags(args.repeats, data)
    if "redraw" in args.cases:
        case_redraw(args.n, data)


if __name__ == "__main__":
    main()
