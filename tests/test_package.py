"""The package's shape: a light import, an explicit surface, layers that point one way."""

import shutil
import subprocess
import sys
import textwrap

import pytest

import lstm_widgets


def test_import_pulls_in_no_framework_and_is_fast():
    code = textwrap.dedent(
        """
        import sys, time
        t = time.perf_counter()
        import lstm_widgets
        elapsed = time.perf_counter() - t
        heavy = sorted({m.split(".")[0] for m in sys.modules} &
                       {"tensorflow", "keras", "torch", "tf_keras", "jax", "ipywidgets",
                        "matplotlib", "pandas"})
        print(heavy, elapsed)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy, elapsed = out.stdout.strip().rsplit(" ", 1)
    assert heavy == "[]"
    assert float(elapsed) < 1.0


def test_every_public_name_resolves():
    for name in lstm_widgets.__all__:
        assert getattr(lstm_widgets, name) is not None, name


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        lstm_widgets.nope  # noqa: B018


def test_import_layers_contract():
    exe = shutil.which("lint-imports")
    assert exe, "import-linter is part of the test extra"
    out = subprocess.run([exe], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_is_clean():
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "lstm_widgets", "tests", "benchmarks"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_ci_runs_the_readme_test_command():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    ci = (root / ".ci" / "run").read_text()
    blocks = readme.split("```bash")[1:3]
    assert len(blocks) == 2, "the README opens with two set-up commands"
    test_command = [
        line for line in blocks[1].split("```")[0].splitlines() if line and line[0] != "#"
    ]
    assert len(test_command) == 1
    assert test_command[0] in ci.splitlines()
