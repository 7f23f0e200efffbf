"""TensorFlow's start-up notices stay out of stderr; everything else written there stays in."""

import subprocess
import sys
import textwrap

from lstm_widgets.core._startup_noise import without_startup_notices

NOTICES = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1796294258.183846   24685 port.cc:153] oneDNN custom operations are on. "
    "You may see slightly different numerical results due to floating-point round-off errors.\n"
    "I0000 00:00:1796294258.284762   24685 cpu_feature_guard.cc:227] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.\n"
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
    "with the appropriate compiler flags.\n"
    "E0000 00:00:1796294258.1   24685 cuda_executor.cc:1309] failed call to cuInit: "
    "UNKNOWN ERROR (303)\n"
)


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True
    )


def test_known_notices_are_dropped_and_other_lines_kept():
    text = NOTICES + "W0000 00:00:1.0  1 some_op.cc:12] a real warning\nuser text\n"
    assert without_startup_notices(text) == (
        "W0000 00:00:1.0  1 some_op.cc:12] a real warning\nuser text\n"
    )


def test_filter_works_on_descriptor_two_and_keeps_the_rest():
    out = _run(
        f"""
        import os
        from lstm_widgets.core._startup_noise import startup_notices_filtered
        with startup_notices_filtered():
            os.write(2, {NOTICES.encode()!r})
            os.write(2, b"a C++ error the user must see\\n")
        os.write(2, {NOTICES.encode()!r})  # after the block nothing is filtered
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr.startswith("a C++ error the user must see\n")
    assert out.stderr.endswith(NOTICES)


def test_a_failing_import_shows_everything_it_wrote():
    out = _run(
        f"""
        import os
        from lstm_widgets.core._startup_noise import startup_notices_filtered
        try:
            with startup_notices_filtered():
                os.write(2, {NOTICES.encode()!r})
                raise ImportError("broken install")
        except ImportError:
            pass
        """
    )
    assert out.stderr == NOTICES


def test_first_tensorflow_import_through_the_package_is_quiet():
    out = _run(
        """
        from lstm_widgets.core import require
        keras = require("keras", purpose="a test")
        keras.ops.convert_to_numpy(keras.ops.ones((2,)))
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == "", out.stderr
