"""Return the memory a train step frees to the operating system instead of keeping it resident.

TensorFlow's CPU tensors come from glibc's malloc. A request of at least
malloc's mmap threshold gets a mapping of its own, unmapped when freed;
smaller ones come from heap arenas (one per thread, several threads per
step), which keep what is freed for reuse. The threshold starts at 128 KB
and rises to the size of each mapped block freed, up to 32 MB: after the
first step, a 256 px network's activation maps (16.8 MB for 64 channels)
all come from the arenas, and the process's resident memory is the arenas'
fragmented high-water mark, not what the step holds. `mallopt` fixes the
threshold (and stops it rising), so buffers of a megabyte or more are given
back the moment TensorFlow frees them.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's <malloc.h>


def set_malloc_mmap_threshold(megabytes: float) -> bool:
    """Serve allocations of at least `megabytes` MB with their own mappings (0: leave malloc as it is).

    True if malloc took the setting; False where there is no glibc `mallopt` (macOS, musl, Windows), where
    the setting is skipped and the run goes on.
    """
    if megabytes <= 0:
        return False
    libc_name = ctypes.util.find_library("c")
    mallopt = getattr(ctypes.CDLL(libc_name), "mallopt", None) if libc_name else None
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, int(megabytes * 2**20)))
