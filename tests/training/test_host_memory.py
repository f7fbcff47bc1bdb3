"""training.host_memory: malloc's mmap threshold, so freed buffers leave the resident set."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from training import host_memory

ROOT = Path(__file__).resolve().parents[2]

# Allocates 100 buffers of 4 MB and frees every other one: holes a heap cannot give back, where buffers of their
# own mappings are unmapped. A 4 MB buffer freed first lifts glibc's own threshold above them, as a train step's
# first freed activation maps do. Prints whether mallopt took the setting and the MB the frees gave back.
FREE_EVERY_OTHER_BUFFER = """
import os, sys
import numpy as np
sys.path.insert(0, sys.argv[2])
from training import host_memory

def resident_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

applied = host_memory.set_malloc_mmap_threshold(float(sys.argv[1]))
warm = np.ones(2**20, np.float32)
del warm
buffers = [np.ones(2**20, np.float32) for _ in range(100)]
before = resident_mb()
del buffers[::2]
print(applied, before - resident_mb())
"""


def _freed_mb(threshold_mb: float) -> tuple[bool, float]:
    result = subprocess.run(
        [sys.executable, "-c", FREE_EVERY_OTHER_BUFFER, str(threshold_mb), str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
    )
    applied, freed = result.stdout.split()
    return applied == "True", float(freed)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_with_a_1_mb_threshold_freed_buffers_leave_the_resident_set_where_glibcs_own_keeps_them():
    applied, freed = _freed_mb(1.0)
    assert applied
    assert freed > 0.9 * 200  # 50 buffers of 4 MB unmapped
    not_applied, kept_resident = _freed_mb(0.0)
    assert not not_applied
    assert kept_resident < 0.5 * 200  # holes in the heap: what the threshold is for


def test_zero_leaves_malloc_as_it_is():
    assert host_memory.set_malloc_mmap_threshold(0) is False
