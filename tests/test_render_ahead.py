"""Pictures rendered ahead while the kernel is idle, and pictures kept per view.

A WeightExplorer on show renders the views one step away (next gate, next matrix, ...)
when the kernel has nothing else to do. These tests run the explorer inside an asyncio
loop, as a kernel does, and check that what is rendered ahead is exactly what a real draw
gives, that nothing the user sees changes meanwhile, and that it stops when told.
"""

from __future__ import annotations

import asyncio

import keras
import numpy as np
import pytest
from _helpers import decoded_png, randomize_weights, recorded_history, run_in_a_fresh_loop

from lstm_widgets import WeightExplorer
from lstm_widgets.widgets._idle import IdleQueue, in_background

T, F = 6, 3


def _model(units: int = 4, features: int = F):
    return randomize_weights(
        keras.Sequential(
            [keras.Input((T, features)), keras.layers.LSTM(units), keras.layers.Dense(1)]
        )
    )


@pytest.fixture(scope="module")
def model():
    return _model()


def _fresh_picture(w: WeightExplorer) -> np.ndarray:
    """The pixels of the current view drawn now, with no cached picture."""
    w._png_cache.clear()
    w.refresh()
    return decoded_png(bytes(w.image.value))


async def _idle(w: WeightExplorer, seconds: float = 2.0) -> None:
    """Let the loop run until the explorer has nothing left to render ahead."""
    end = asyncio.get_running_loop().time() + seconds
    await asyncio.sleep(0.01)
    while len(w._ahead) and asyncio.get_running_loop().time() < end:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.02)


# --- IdleQueue ---------------------------------------------------------------------------


def test_idle_queue_runs_jobs_one_per_turn_only_after_quiet_and_forgets_them_when_replaced():
    done = []

    async def scenario():
        queue = IdleQueue(delay=0.05)
        queue.replace([lambda: done.append("a"), lambda: done.append("b")])
        await asyncio.sleep(0.01)
        assert done == []  # not yet quiet for long enough
        queue.replace([lambda: done.append("c")])  # the user acted: a and b are forgotten
        await asyncio.sleep(0.2)
        assert done == ["c"] and queue.ran == 1
        queue.replace([lambda: done.append("d"), lambda: 1 / 0, lambda: done.append("e")])
        await asyncio.sleep(0.2)
        assert done == ["c", "d"]  # a failing job drops the rest
        queue.replace([lambda: done.append("f")])
        queue.cancel()
        await asyncio.sleep(0.2)
        assert done == ["c", "d"] and len(queue) == 0

    run_in_a_fresh_loop(scenario)


def test_a_job_with_a_background_part_holds_the_next_job_until_that_part_is_done():
    import threading

    release, log = threading.Event(), []

    def slow() -> str:
        release.wait(5)
        log.append("encoded")
        return "png"

    async def scenario():
        queue = IdleQueue(delay=0.0)
        queue.replace(
            [lambda: in_background(slow, lambda result: log.append(f"kept {result}")),
             lambda: log.append("next")]
        )  # fmt: skip
        await asyncio.sleep(0.15)
        assert log == [] and len(queue) == 1  # the second job waits for the first's thread
        release.set()
        await asyncio.sleep(0.15)
        assert log == ["encoded", "kept png", "next"]

    run_in_a_fresh_loop(scenario)


def test_idle_queue_without_a_running_loop_runs_nothing():
    # In a thread of its own: the browser tests leave a loop running in the main thread.
    import threading

    done, sizes = [], []

    def scenario() -> None:
        queue = IdleQueue(delay=0.0)
        queue.replace([lambda: done.append(1)])
        sizes.append(len(queue))

    worker = threading.Thread(target=scenario)
    worker.start()
    worker.join()
    assert done == [] and sizes == [0]


def test_the_explorer_renders_nothing_ahead_unless_asked(model):
    async def scenario():
        w = WeightExplorer(model)
        w.canvas.display_width = 640
        await _idle(w)
        assert w.prefetch == 0 and w._ahead.ran == 0 and len(w._png_cache) == 1
        w.close()

    run_in_a_fresh_loop(scenario)


# --- WeightExplorer -----------------------------------------------------------------------


def test_views_one_step_away_are_rendered_ahead_exactly_and_nothing_shown_changes(model):
    async def scenario():
        w = WeightExplorer(model, gate="i", matrix="W", prefetch=3)
        w.canvas.display_width = 640  # shown: the browser reported its box
        shown = bytes(w.image.value)
        readout_before = w._readout(w.display.ax_, 1.0, 2.0)
        await _idle(w)
        assert w._ahead.ran == 3
        # Rendered ahead: next gate (f), next matrix (U), the gate before (all).
        cached = {key[0][1:3] for key in w._png_cache}
        assert {("f", "W"), ("i", "U"), ("all", "W"), ("i", "W")} <= cached
        # Nothing the user sees moved: the picture, the traits, the readout's view.
        assert bytes(w.image.value) == shown
        assert (w.gate, w.matrix, w.gate_dropdown.value) == ("i", "W", "i")
        assert w._readout(w.display.ax_, 1.0, 2.0) == readout_before
        assert w.display.gate == "i" and w.display.matrix == "W"
        # A click on a view rendered ahead shows the same pixels as a real draw of it.
        for gate, matrix in (("f", "W"), ("i", "U"), ("all", "W")):
            w.gate, w.matrix = gate, matrix
            ahead = decoded_png(bytes(w.image.value))
            np.testing.assert_array_equal(ahead, _fresh_picture(w), err_msg=f"{matrix}_{gate}")
        w.close()

    run_in_a_fresh_loop(scenario)


def test_a_click_on_a_view_still_being_encoded_waits_for_it_and_shows_the_same_pixels(model):
    async def scenario():
        w = WeightExplorer(model, gate="all", matrix="U", prefetch=0)
        w.canvas.display_width = 640
        view = w._view()._replace(gate="o")
        encoding = w._render_ahead(view)  # drawn now, encoded in the background thread
        assert encoding is not None and w.display.gate == "all"  # the view on show is back
        w.gate = "o"  # before the loop had a turn to keep the picture
        assert encoding.done() and not w._encoding
        shown = decoded_png(bytes(w.image.value))
        np.testing.assert_array_equal(shown, _fresh_picture(w))
        await asyncio.sleep(0.05)  # the late callback finds nothing left to keep
        assert not w._encoding
        w.close()

    run_in_a_fresh_loop(scenario)


def test_a_history_renders_the_next_epoch_ahead():
    history = recorded_history(T, F, 4)

    async def scenario():
        w = WeightExplorer(history, gate="f", matrix="U", epoch=history.epochs[0], prefetch=1)
        w.canvas.display_width = 640
        await _idle(w)
        ahead = {key[0] for key in w._png_cache}
        assert any(view.epoch == history.epochs[1] and view.gate == "f" for view in ahead)
        assert w.epoch_label.value == f"epoch {history.epochs[0]}"  # not the epoch ahead
        w.epoch = history.epochs[1]
        np.testing.assert_array_equal(decoded_png(bytes(w.image.value)), _fresh_picture(w))
        w.close()

    run_in_a_fresh_loop(scenario)


def test_nothing_is_rendered_ahead_when_turned_off_unseen_or_after_a_click(model):
    async def scenario():
        off = WeightExplorer(model, prefetch=0)
        off.canvas.display_width = 640
        unseen = WeightExplorer(model, prefetch=5)  # no browser has reported a size
        busy = WeightExplorer(model, prefetch=5)
        busy.canvas.display_width = 640
        busy.gate = "f"  # clicks in a burst: each one forgets what the last one planned
        busy.gate = "c"
        planned = len(busy._ahead)
        await _idle(off)
        await _idle(busy)
        assert off._ahead.ran == 0 and unseen._ahead.ran == 0 and len(unseen._ahead) == 0
        assert planned == 5 and busy._ahead.ran == 5  # only the last click's plan ran
        # The gates beside c (o, f), the next matrix, then the other gates.
        ahead = {key[0][1:3] for key in busy._png_cache}
        assert ahead == {("c", "W"), ("o", "W"), ("f", "W"), ("c", "U"), ("i", "W"), ("all", "W")}
        busy.close()
        assert len(busy._ahead) == 0
        for w in (off, unseen):
            w.close()

    run_in_a_fresh_loop(scenario)


def test_a_view_ahead_that_would_move_the_heatmap_is_left_for_its_real_draw():
    model = _model(units=300, features=8)  # U (300 x 300) is downsampled at 600 px: 2 lines

    async def scenario():
        # Ahead: gate c (W), U_f (downsampled: two title lines, so not rendered), gate i.
        w = WeightExplorer(model, gate="f", matrix="W", prefetch=3)
        w.canvas.display_width = 600
        where = w._ax.get_position().bounds
        shown = bytes(w.image.value)
        await _idle(w)
        assert w._ax.get_position().bounds == where  # still where the picture shows it
        assert bytes(w.image.value) == shown
        assert not any(key[0].matrix == "U" for key in w._png_cache)  # not rendered ahead
        w.matrix = "U"  # the real draw moves the heatmap for the second title line
        assert w._ax.get_position().bounds != where
        np.testing.assert_array_equal(decoded_png(bytes(w.image.value)), _fresh_picture(w))
        w.close()

    run_in_a_fresh_loop(scenario)


def test_going_back_after_the_heatmap_moved_shows_it_where_it_is_now():
    # W_f fits in one title line; U_f is downsampled and needs two, so the heatmap of the
    # layer's single gates moves down. The picture of W_f kept from before must not come
    # back over Axes that moved: the readout maps the pointer through the Axes as they are.
    w = WeightExplorer(_model(units=300, features=8), gate="f", matrix="W", prefetch=0)
    w.canvas.display_width = 600
    before = bytes(w.image.value)
    w.matrix = "U"
    w.matrix = "W"
    assert bytes(w.image.value) != before
    np.testing.assert_array_equal(decoded_png(bytes(w.image.value)), _fresh_picture(w))
    w.close()


def test_a_bad_prefetch_is_refused_before_anything_is_drawn(model):
    with pytest.raises(ValueError, match=r"prefetch as an int >= 0.*received -1"):
        WeightExplorer(model, prefetch=-1)
    with pytest.raises(ValueError, match=r"received 'all'"):
        WeightExplorer(model, prefetch="all")
