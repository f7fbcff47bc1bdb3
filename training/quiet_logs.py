"""Quiet CLI logs: TensorFlow's start-up chatter hidden, absl's INFO lines off unless asked for.

Imported first by the `__init__` of every package with a CLI, before
anything imports TensorFlow. Importing TensorFlow and finding its devices
prints, before `absl::InitializeLog()` runs, INFO lines that no
TF_CPP_MIN_LOG_LEVEL hides (oneDNN, "Could not find cuda drivers", the
CPU-instructions notice), and on a machine without a GPU a "failed call to
cuInit" error. So the import, when TensorFlow is not imported yet, does both
with file descriptor 2 redirected to a temporary file, then replays every
captured line but those (`replayed_lines`); every warning and every other
error still shows. TF_CPP_MIN_LOG_LEVEL is 1 while TensorFlow reads it (at
its import), which hides TensorFlow's later INFO lines; the environment is
restored afterwards, so the processes a CLI starts decide for themselves.

A user who sets TF_CPP_MIN_LOG_LEVEL, or passes absl's --verbosity (-v),
sees TensorFlow's logs as TensorFlow prints them. Without --verbosity,
the absl CLIs log at WARNING rather than the INFO `absl.app.run` sets: what
a user needs to read is printed.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

from absl import app
from absl import flags as absl_flags

DEFAULT_TF_CPP_MIN_LOG_LEVEL = "1"  # INFO off; warnings and errors on
ABSL_WARNING = -1  # absl's --verbosity of its WARNING level

# A line of TensorFlow's C++ logging at INFO level: I<mmdd> <time> <thread> <file>:<line>] <message>
# (before absl::InitializeLog() the date is 0000 and the time 00:00:<seconds since 1970>).
_INFO_LINE = re.compile(r"I\d{4} \S+ +\d+ \S+:\d+\] ")
_BEFORE_INITIALIZE_LOG = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# The second line of cpu_feature_guard's INFO message.
_CPU_INSTRUCTIONS = "To enable the following instructions:"
_CUINIT_FAILED = re.compile(r"E\d{4} .*failed call to cuInit")


def replayed_lines(lines: list[str], found_gpu: bool) -> list[str]:
    """The captured start-up lines a user sees: all but the INFO lines, the notice that precedes them, the
    CPU-instructions line, and the cuInit error on a machine where no GPU was found."""
    return [
        line
        for line in lines
        if not (
            _INFO_LINE.match(line)
            or line.startswith((_BEFORE_INITIALIZE_LOG, _CPU_INSTRUCTIONS))
            or (not found_gpu and _CUINIT_FAILED.match(line))
        )
    ]


def verbosity_given(argv: list[str]) -> bool:
    """Whether the command line `argv` passes absl's --verbosity (or -v, --v) in any spelling."""
    return any(
        argument.lstrip("-").split("=", 1)[0] in ("v", "verbosity") for argument in argv[1:] if argument[:1] == "-"
    )


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow and lists its devices with fd 2 captured; replays what `replayed_lines` keeps.

    TF_CPP_MIN_LOG_LEVEL is DEFAULT_TF_CPP_MIN_LOG_LEVEL meanwhile: TensorFlow reads it once, at its import.
    """
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = DEFAULT_TF_CPP_MIN_LOG_LEVEL
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    found_gpu = False
    with tempfile.TemporaryFile() as captured:
        try:
            os.dup2(captured.fileno(), 2)
            import tensorflow as tf

            found_gpu = bool(tf.config.list_physical_devices("GPU"))
        finally:
            sys.stderr.flush()
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)
            del os.environ["TF_CPP_MIN_LOG_LEVEL"]
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines()
            sys.stderr.writelines(f"{line}\n" for line in replayed_lines(lines, found_gpu))
            sys.stderr.flush()


def _warnings_unless_verbosity_given() -> None:
    """After `absl.app.run` parses the flags: WARNING, not the INFO absl sets, when --verbosity was not given."""
    if not absl_flags.FLAGS["verbosity"].present:
        absl_flags.FLAGS.verbosity = ABSL_WARNING


if "tensorflow" not in sys.modules and "TF_CPP_MIN_LOG_LEVEL" not in os.environ and not verbosity_given(sys.argv):
    import_tensorflow_quietly()
app.call_after_init(_warnings_unless_verbosity_given)
