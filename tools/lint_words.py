"""Lint rule of `make lint`: words that tell the project's history instead of describing it.

The docs, the README and the code outside tests/ describe what the code does; how it came to be
belongs in git log. This check prints every line that uses one of WORDS (case-insensitive), as
FILE:LINE: text, and exits 1 if there is one. pytest's `scope="..."` fixture argument is the one
use it allows (WORDS spell the words with a character class, so that this file passes its own check).

Every file under ROOT is read, except binary ones (a NUL byte, or not UTF-8) and the folders in
SKIPPED_FOLDERS, hidden folders other than .ci/ (.git, .venv, caches) and *.egg-info.

    python -m tools.lint_words [ROOT]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

WORDS = re.compile(r"s[e]ssion|the\s+i[s]sue", re.IGNORECASE)
ALLOWED = re.compile(r"""scope\s*=\s*["']s[e]ssion["']""")
SKIPPED_FOLDERS = frozenset({"tests", "__pycache__", "runs", "data", "build", "dist"})
CHECKED_HIDDEN_FOLDERS = frozenset({".ci"})


def is_checked_folder(name: str) -> bool:
    """False for the test suite, git-ignored outputs, hidden folders but .ci/, and package metadata."""
    if name.startswith("."):
        return name in CHECKED_HIDDEN_FOLDERS
    return name not in SKIPPED_FOLDERS and not name.endswith(".egg-info")


def checked_files(root: Path):
    """Every file under `root` outside the skipped folders."""
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if is_checked_folder(name)]
        yield from (Path(folder, name) for name in files)


def text_of(path: Path) -> str:
    """The file's text, or "" for a binary file (a NUL byte, or not UTF-8)."""
    content = path.read_bytes()
    if b"\0" in content:
        return ""
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return ""


def offending_lines(root: Path) -> list[str]:
    """`FILE:LINE: text` for each line under `root` that uses one of WORDS outside ALLOWED."""
    found = []
    for path in sorted(checked_files(root)):
        for number, line in enumerate(text_of(path).splitlines(), start=1):
            if WORDS.search(ALLOWED.sub("", line)):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.lint_words", description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=".", type=Path, help="the checkout to check (default: .)")
    root = parser.parse_args(argv).root
    found = offending_lines(root)
    for line in found:
        print(line)
    if found:
        print(
            f"{len(found)} line(s) tell history: describe the code as it is (see tools/lint_words.py)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
