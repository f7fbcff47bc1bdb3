"""A CLI's start-up stderr without TensorFlow's INFO chatter and cuInit error; absl at WARNING unless asked."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from training.quiet_logs import replayed_lines, verbosity_given

REPO_ROOT = Path(__file__).resolve().parents[2]
TF_LOG_LINE = re.compile(r"^[EI]\d{4} ")
BEFORE_INITIALIZE_LOG = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# What TensorFlow 2.21 prints on a CPU machine while it is imported and finds its devices, and later.
ONEDNN = (
    "I0000 00:00:1796564857.464826    9797 port.cc:153] oneDNN custom operations are on. You may see slightly "
    "different numerical results due to floating-point round-off errors from different computation orders."
)
NO_CUDA = (
    "I0000 00:00:1796564857.465179    9797 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
    "GPU will not be used."
)
CPU_GUARD = (
    "I0000 00:00:1796564857.518160    9797 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use "
    "available CPU instructions in performance-critical operations."
)
CPU_INSTRUCTIONS = (
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the "
    "appropriate compiler flags."
)
CUINIT = (
    "E0000 00:00:1796564861.236350    9797 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    "Failed call to cuInit: UNKNOWN ERROR (303)"
)
CACHE_WARNING = (
    "W0000 00:00:1796564918.131206   10420 cache_dataset_ops.cc:912] The calling iterator did not fully read "
    "the dataset being cached."
)
REMAPPER_ERROR = "E0000 00:00:1796564864.003446    9797 meta_optimizer.cc:967] remapper failed: INVALID_ARGUMENT"
PYTHON_INFO = "I1206 12:58:22.377043 139688063028800 run.py:280] Resuming the run in /runs/x"
PYTHON_WARNING = "/venv/lib/python3.11/site-packages/x.py:3: DeprecationWarning: y is deprecated"
START_UP = [BEFORE_INITIALIZE_LOG, ONEDNN, NO_CUDA, CPU_GUARD, CPU_INSTRUCTIONS, CACHE_WARNING, CUINIT]


def test_the_replay_drops_info_lines_and_the_cuinit_error_without_a_gpu_and_keeps_every_other_line():
    lines = [*START_UP, PYTHON_WARNING, REMAPPER_ERROR, PYTHON_INFO]

    assert replayed_lines(lines, found_gpu=False) == [CACHE_WARNING, PYTHON_WARNING, REMAPPER_ERROR]
    assert replayed_lines(lines, found_gpu=True) == [CACHE_WARNING, CUINIT, PYTHON_WARNING, REMAPPER_ERROR]


@pytest.mark.parametrize(
    "argv, given",
    [
        (["train.py", "--epochs=1"], False),
        (["train.py", "--run_dir=v"], False),
        (["train.py", "v"], False),
        (["train.py", "--verbosity=1"], True),
        (["train.py", "--verbosity", "1"], True),
        (["train.py", "-v", "1"], True),
        (["train.py", "-v=2"], True),
        (["train.py", "--v=0"], True),
    ],
)
def test_verbosity_given_finds_absl_verbosity_flag_in_every_spelling(argv, given):
    assert verbosity_given(argv) is given


def environment(**values) -> dict:
    """This process's environment without TF_CPP_MIN_LOG_LEVEL, and `values`."""
    kept = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    return {**kept, "CUDA_VISIBLE_DEVICES": "", **values}


def start_up_output(run_dir: Path, env: dict) -> list[str]:
    """The lines `python -m single_gan.train` prints to stdout and stderr up to its devices line; the process
    is then stopped (what it prints before its first step is all this looks at)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "single_gan.train",
            "--epochs=1",
            "--steps_per_epoch=1",
            "--batch_size=2",
            "--source=synthetic:cartoon:2",
            "--generator_filters=8,4,4",
            "--discriminator_filters=4,4",
            f"--run_dir={run_dir}",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    try:
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Training on:"):
                break
    finally:
        process.kill()
        process.wait()
    assert lines and lines[-1].startswith("Training on:"), "\n".join(lines)
    return lines


def test_a_cli_starts_without_tensorflows_info_lines_unless_tf_cpp_min_log_level_is_set(tmp_path):
    quiet = start_up_output(tmp_path / "quiet", environment())
    verbose = start_up_output(tmp_path / "verbose", environment(TF_CPP_MIN_LOG_LEVEL="0"))

    assert [line for line in quiet if TF_LOG_LINE.match(line) or line == BEFORE_INITIALIZE_LOG] == []
    assert BEFORE_INITIALIZE_LOG in verbose
    assert any(line.startswith("I0000 ") and "port.cc" in line for line in verbose)  # oneDNN's notice


@pytest.mark.parametrize("arguments, level", [([], "-1"), (["--verbosity=0"], "0"), (["-v", "1"], "1")])
def test_absl_clis_log_at_warning_unless_verbosity_is_given(arguments, level):
    program = (
        "import training.quiet_logs\n"
        "from absl import app, logging\n"
        "app.run(lambda argv: print(logging.get_verbosity()))\n"
    )
    # TF_CPP_MIN_LOG_LEVEL set: the module leaves TensorFlow alone, and this takes no time to start.
    result = subprocess.run(
        [sys.executable, "-c", program, *arguments],
        cwd=REPO_ROOT,
        env=environment(TF_CPP_MIN_LOG_LEVEL="2"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == level
