"""Keep TensorFlow's start-up chatter out of notebooks and scripts, and nothing else.

TensorFlow's C++ runtime writes notices straight to file descriptor 2 while it is imported
(oneDNN, CPU features, missing CUDA drivers), before any log level can be applied. When this
package is the first to import TensorFlow, the import runs with descriptor 2 captured; the
known start-up notices are dropped and every other byte is written back to stderr unchanged.
The user's own warnings and any later output are never touched.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator

#: Modules whose first import loads TensorFlow's C++ runtime.
NOISY_ROOTS = frozenset({"tensorflow", "keras", "tf_keras"})

_LOG_PREFIX = r"[IW]\d{4} [\d:.]+\s+\d+ "
_KNOWN_NOTICES = re.compile(
    "|".join(
        [
            r"WARNING: All log messages before absl::InitializeLog\(\) is called are written"
            r" to STDERR",
            _LOG_PREFIX + r"port\.cc:\d+\] oneDNN custom operations are on\..*",
            _LOG_PREFIX + r"cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized.*",
            r"To enable the following instructions: .* rebuild TensorFlow with the appropriate"
            r" compiler flags\.",
            _LOG_PREFIX + r"cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine.*",
            _LOG_PREFIX + r"cuda_(fft|dnn|blas)\.cc:\d+\] Unable to register cu(FFT|DNN|BLAS)"
            r" factory.*",
            r"E\d{4} [\d:.]+\s+\d+ cuda_executor\.cc:\d+\] failed call to cuInit: .*",
        ]
    )
)

_lock = threading.Lock()


def without_startup_notices(text: str) -> str:
    """Return ``text`` with the lines that are TensorFlow start-up notices removed."""
    kept = [
        line
        for line in text.splitlines(keepends=True)
        if not _KNOWN_NOTICES.fullmatch(line.rstrip("\r\n"))
    ]
    return "".join(kept)


def needs_quiet_import(module: str) -> bool:
    """Whether importing ``module`` now would load TensorFlow's runtime for the first time."""
    return module.split(".")[0] in NOISY_ROOTS and "tensorflow" not in sys.modules


@contextlib.contextmanager
def startup_notices_filtered() -> Iterator[None]:
    """Capture descriptor 2 for the duration; write back everything but start-up notices.

    If the block raises, everything captured is written back unfiltered before the error
    propagates, so nothing that explains a failed import is lost.
    """
    with _lock, tempfile.TemporaryFile(mode="w+b") as sink:
        with contextlib.suppress(AttributeError, ValueError, OSError):
            sys.stderr.flush()
        try:
            saved = os.dup(2)
        except OSError:  # no descriptor 2 (a detached process): nothing to filter
            yield
            return
        os.dup2(sink.fileno(), 2)
        failed = True
        try:
            yield
            failed = False
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", errors="replace")
            rest = text if failed else without_startup_notices(text)
            if rest:
                sys.stderr.write(rest)
                sys.stderr.flush()
