"""tools.lint_words, the words check of `make lint`, run as `make lint` runs it on a small tree."""

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tools.lint_words", str(root)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


def test_a_tree_without_the_words_passes_silently(tmp_path):
    write(tmp_path / "docs" / "results.md", "# Results\n\nThe step takes 1.0 s.\n")
    write(tmp_path / "model.py", '@pytest.fixture(scope="session")\ndef images():\n    pass\n')

    result = run_check(tmp_path)

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_each_line_with_a_word_is_printed_with_its_file_and_line_and_the_check_fails(tmp_path):
    write(
        tmp_path / "docs" / "results.md",
        "# Results\n\nMeasured in Session 12.\nThe step takes 1.0 s.\nAs the issue asks.\n",
    )
    write(tmp_path / "model.py", "@pytest.fixture(scope='session')\ndef images():  # a long session\n    pass\n")

    result = run_check(tmp_path)

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "docs/results.md:3: Measured in Session 12.",
        "docs/results.md:5: As the issue asks.",
        "model.py:2: def images():  # a long session",
    ]
    assert result.stderr.startswith("3 line(s) tell history")


def test_tests_hidden_folders_outputs_and_binary_files_are_skipped(tmp_path):
    for skipped in ("tests/test_x.py", ".venv/lib/x.py", ".git/COMMIT_EDITMSG", "runs/x/log.txt", "x.egg-info/PKG"):
        write(tmp_path / skipped, "a session\n")
    write(tmp_path / "docs" / "figure.png", b"\x89PNG\0 session")
    write(tmp_path / ".ci" / "run", "echo session\n")

    result = run_check(tmp_path)

    assert (result.returncode, result.stdout) == (1, ".ci/run:1: echo session\n")
