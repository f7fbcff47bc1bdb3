"""A disk that fills up in the middle of a write, for tests: `fail_writes_to(name_part)`, or a real one,
`small_tmpfs(mount_point, size)`.

Every file opened for writing (through `open`, `io.open` or `Path.open`: PIL,
matplotlib, zipfile and `Path.write_*` all go through them) whose path
contains `name_part` gets half of its first write, then OSError(ENOSPC), as a
real full disk does; every other file is written as usual.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

_WRITE_MODES = set("wax+")


class _FillingFile:
    """A file whose first write stores half its bytes, then fails as a full disk does."""

    def __init__(self, file):
        self._file = file

    def write(self, data):
        self._file.write(data[: len(data) // 2])
        self._file.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._file.close()


def fail_writes_to(name_part: str) -> None:
    """From now on in this process, writes to files whose path contains `name_part` fail with ENOSPC."""
    real_open = io.open

    def open_filling(file, mode="r", *args, **kwargs):
        opened = real_open(file, mode, *args, **kwargs)
        if isinstance(file, (str, os.PathLike)) and name_part in os.fspath(file) and _WRITE_MODES & set(mode):
            return _FillingFile(opened)
        return opened

    builtins.open = io.open = open_filling


@contextlib.contextmanager
def writes_failing_to(name_part: str):
    """`fail_writes_to(name_part)` for the block only."""
    saved = builtins.open, io.open
    fail_writes_to(name_part)
    try:
        yield
    finally:
        builtins.open, io.open = saved


@contextlib.contextmanager
def small_tmpfs(mount_point: Path, size: str):
    """A tmpfs of `size` (e.g. "100k") mounted at `mount_point` for the block; the test is skipped where it
    cannot be mounted (not Linux, not root, or a container that forbids it)."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root on Linux")
    mount_point.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)
