"""Cost of recording a WeightHistory, and redraw speed of the TrainingHistoryExplorer.

Cases, all on the weather demo of ``notebooks/weather_forecast.ipynb`` (Seattle weather from
``vega_datasets``, shipped with the package: 14-day windows of 4 features, ``LSTM(16)`` then
``Dense(4)``, batch 64, about 1080 training windows):

- ``record``: the same ``fit`` (2 epochs) with and without ``WeightHistory()`` in its
  callbacks, interleaved in one process (which runs first alternates); the overhead is the
  median over pairs of ``with / without - 1``. Goal: under 2 % of the epoch time. The
  time spent inside the history's hooks per epoch, over the median epoch, is printed
  beside it.
- ``lags``: one lag-importance record with the defaults (``X_val`` the 2015 windows,
  ``n_val=128``, ``max_lag=14``) against the median epoch time. Goal: under 10 %.
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


def case_record(repeats: int, data) -> float:
    import lstm_widgets as lw

    X, y, _, _ = data
    model = weather_model()
    model.fit(X, y, epochs=1, batch_size=BATCH, verbose=0)  # compile and warm up
    history = lw.WeightHistory()
    timer = _Timed(history)
    model.fit(X, y, epochs=1, batch_size=BATCH, verbose=0, callbacks=[history])  # warm up
    timer.seconds = 0.0
    ratios, plain, hooks = [], [], []
    for k in range(repeats):
        # Alternate which fit of the pair runs first, so that drift hits both alike.
        order = (False, True) if k % 2 == 0 else (True, False)
        seconds = {}
        for with_history in order:
            before = timer.seconds
            t0 = time.perf_counter()
            callbacks = [history] if with_history else []
            model.fit(X, y, epochs=2, batch_size=BATCH, verbose=0, callbacks=callbacks)
            seconds[with_history] = time.perf_counter() - t0
            if with_history:
                hooks.append((timer.seconds - before) / 2)
        ratios.append(seconds[True] / seconds[False] - 1.0)
        plain.append(seconds[False] / 2)
    epoch = statistics.median(plain)
    overhead = statistics.median(ratios)
    hook = statistics.median(hooks)
    print(
        f"[record] weather LSTM({H}), {len(X)} windows, batch {BATCH}: median epoch "
        f"{epoch * 1e3:.1f} ms; {repeats} pairs of 2-epoch fits; history holds "
        f"{history.n_records} records, {history.nbytes / 1e3:.1f} kB"
    )
    print(f"  time inside the history's hooks: {hook * 1e3:.3f} ms per epoch")
    _line(
        "recording weights costs < 2% of epoch time (fit with vs without the callback)",
        f"{overhead * 100:+.2f}% (median of pairs; hooks alone {hook / epoch * 100:.3f}%)",
        overhead < 0.02,
    )
    return epoch


def case_lags(repeats: int, data, epoch: float) -> None:
    import lstm_widgets as lw

    X, y, X_val, y_val = data
    model = weather_model()
    model.fit(X, y, epochs=1, batch_size=BATCH, verbose=0)
    history = lw.WeightHistory(X_val=X_val, y_val=y_val)
    history.set_model(model)
    settings = history.lag_settings
    history._val.importance(model)  # warm up (compiles the stepper)
    times = []
    for _ in range(max(repeats, 3)):
        t0 = time.perf_counter()
        history._val.importance(model)
        times.append(time.perf_counter() - t0)
    cost = statistics.median(times)
    print(
        f"[lags] one lag-importance record: n_val={len(history.val_index)}, "
        f"max_lag={settings['max_lag']}, metric={settings['metric']}: {cost * 1e3:.1f} ms"
    )
    _line(
        "default lag importance costs < 10% of an epoch",
        f"{cost / epoch * 100:.1f}% ({cost * 1e3:.1f} ms / {epoch * 1e3:.1f} ms)",
        cost / epoch < 0.10,
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
    epoch = None
    if "record" in args.cases:
        epoch = case_record(args.repeats, data)
    if "lags" in args.cases:
        case_lags(args.repeats, data, epoch)
    if "redraw" in args.cases:
        case_redraw(args.n, data)


if __name__ == "__main__":
    main()
