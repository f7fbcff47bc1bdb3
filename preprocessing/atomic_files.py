"""Writing a file so that no reader ever sees half of it, and a failed write says why in one line.

Every file the project writes (preprocessing outputs, a run's backups, exports,
grids, plots, histories, configs) goes through `replaced_atomically`: the
writer writes a temporary file beside the target, which is renamed over the
target (`os.replace`, atomic within a folder) only once it is complete. A
write that fails (a full disk, a quota, a folder that cannot be written) leaves
the target as it was, removes the temporary, and raises `WriteError`, whose
message is one line naming the target and the reason:

    with replaced_atomically(path) as temporary:
        image.save(temporary)
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Iterator
from pathlib import Path

TEMPORARY_PREFIX = ".partial-"
DISK_FULL = "no space left on the device"
_DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
EXIT_WRITE_FAILED = 1


class WriteError(RuntimeError):
    """A file that could not be written; the message is one line: `cannot write <path>: <reason>`."""

    def __init__(self, path, reason: str):
        super().__init__(f"cannot write {path}: {reason}")
        self.path = Path(path)
        self.reason = reason

    @property
    def remedy(self) -> str:
        """What the user does before rerunning: free space on a full device (or quota), else fix what the reason
        says."""
        return "free space" if self.reason == DISK_FULL else "fix that"


def reason_of(error: OSError) -> str:
    """Why an OSError happened, in a few words: "no space left on the device" for a full disk or quota, else the
    OS's message (h5py and Keras add lines of detail to theirs: only the first is kept)."""
    if error.errno in _DISK_FULL_ERRNOS:
        return DISK_FULL
    text = error.strerror or str(error)
    return text.splitlines()[0] if text else type(error).__name__


def temporary_path(target) -> Path:
    """Where `target` is written before it is renamed: the same folder, the same name (and so the same suffix,
    from which Keras and PIL pick the format) behind `TEMPORARY_PREFIX`."""
    target = Path(target)
    return target.with_name(TEMPORARY_PREFIX + target.name)


@contextlib.contextmanager
def replaced_atomically(target) -> Iterator[Path]:
    """Yields a temporary path beside `target`; renames it over `target` when the block ends without an error.

    On any error in the block, or in the rename, the temporary is removed and
    `target` is left as it was; an OSError becomes `WriteError` naming
    `target`, any other error is raised as it is. Creates `target`'s folder.
    """
    target = Path(target)
    temporary = temporary_path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        yield temporary
        os.replace(temporary, target)
    except OSError as error:
        _remove(temporary)
        raise WriteError(target, reason_of(error)) from None
    except BaseException:
        _remove(temporary)
        raise


@contextlib.contextmanager
def write_failures_in_one_line() -> Iterator[None]:
    """Around a CLI's work: a `WriteError` ends the process with one line on stderr and exit code 1.

    For the CLIs that write a few files of their own (a sample grid, a preview,
    translations); the folder-to-folder CLIs also say how many images they wrote
    (`preprocessing.folder_job`).
    """
    try:
        yield
    except WriteError as error:
        print(f"error: {error}; {error.remedy}, then rerun the same command", file=sys.stderr, flush=True)
        sys.exit(EXIT_WRITE_FAILED)


def write_text(path, text: str) -> None:
    """`Path(path).write_text(text)`, replaced atomically."""
    with replaced_atomically(path) as temporary:
        temporary.write_text(text)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):  # absent, or in a folder it could not be written to either
        path.unlink()
