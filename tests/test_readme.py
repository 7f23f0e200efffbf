"""The README's quickstart runs as written and its claims hold."""

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _block_after(heading: str) -> str:
    section = README.split(heading, 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_quickstart_runs_and_its_comments_are_true():
    scope: dict = {}
    exec(_block_after("## Quickstart without widgets"), scope)
    gw, trace, ab = scope["gw"], scope["trace"], scope["ab"]
    assert (gw.W.shape, gw.U.shape, gw.b.shape) == ((4, 64), (16, 64), (64,))
    assert (gw["forget"].W == gw.W[:, 16:32]).all()
    assert trace.gates["f"].shape == (256, 24, 16)
    assert ab.importance.shape == (24,) and ab.lags[0] == 24 and ab.lags[-1] == 1
