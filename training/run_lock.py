"""One training run per run directory: an OS lock on `<run_dir>/.lock`, held while the run is alive.

Two processes training in one directory would overwrite each other's
backups, grids and exports. The lock is `fcntl.flock`'s, so the operating
system drops it when its holder ends, however it ends: a crashed or killed
run leaves no stale lock behind. The holder writes its PID into the lock
file, which names it to a second process that is refused.

flock's locks belong to open files, and a second open of the same file in
one process would be refused too; so a process keeps one `RunDirLock` per
directory, which a second `setup_run` on that directory (a run resumed in
the same process) reuses while the first is alive.
"""

from __future__ import annotations

import fcntl
import os
import weakref
from pathlib import Path

LOCK_FILE_NAME = ".lock"

# {resolved run directory: the lock this process holds on it}, for as long as a run holds it.
_HELD: weakref.WeakValueDictionary[Path, RunDirLock] = weakref.WeakValueDictionary()


class RunDirectoryBusy(RuntimeError):
    """Another process trains in the run directory; the message is the one line a train CLI prints."""


class RunDirLock:
    """The exclusive lock on a run directory, released when the object is collected or the process ends."""

    def __init__(self, run_dir: Path, descriptor: int):
        self.run_dir = run_dir
        self.descriptor = descriptor
        weakref.finalize(self, os.close, descriptor)

    def guards(self, lock_path: Path) -> bool:
        """Whether this lock is on the file at `lock_path` (not on one a removed directory of that name held)."""
        try:
            return os.fstat(self.descriptor).st_ino == os.stat(lock_path).st_ino
        except FileNotFoundError:
            return False


def lock_run_dir(run_dir: Path) -> RunDirLock:
    """The lock on the existing directory `run_dir`, taken now or already held by this process.

    Raises RunDirectoryBusy, naming the holder's PID, when another process
    holds it; nothing in the directory is written then (the lock file is the
    holder's).
    """
    run_dir = Path(run_dir).resolve()
    lock_path = run_dir / LOCK_FILE_NAME
    held = _HELD.get(run_dir)
    if held is not None and held.guards(lock_path):
        return held
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip()
        os.close(descriptor)
        raise RunDirectoryBusy(busy_message(run_dir, holder)) from None
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
    held = _HELD[run_dir] = RunDirLock(run_dir, descriptor)
    return held


def busy_message(run_dir: Path, holder: str) -> str:
    """The line a refused run prints; `holder` is the lock file's text, the PID (empty before it is written)."""
    process = f"another process (PID {holder})" if holder.isdigit() else "another process"
    return f"{process} is training in {run_dir}; wait for it to end or stop it, or pass another --run_dir"
