"""A pool of records rendered once and kept as arrays: what a finite synthetic source serves.

Rendering a photo takes milliseconds of Python on the same cores a training step needs, so a finite
source (synthetic:DOMAIN:COUNT) renders its records before training starts and then serves them
from memory. A pool of at least CACHE_MIN_RECORDS records is also saved as .npy files under
`cache_dir()`, keyed by the renderer's code and library versions and by domain, size, seed and count;
a later run memory-maps it instead of rendering. Rendering runs on one core: the renderer is mostly
Python (threads wait on the GIL), and worker processes would have to start without the TensorFlow
the caller has already loaded.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from preprocessing.synthetic.attributes import ATTRIBUTE_VARIANTS, LANDMARK_NAMES
from preprocessing.synthetic.records import make_record

logger = logging.getLogger(__name__)

FIELDS = ("image", "attributes", "landmarks", "mask")
CACHE_MIN_RECORDS = 1024  # smaller pools render in seconds; not worth a folder each
CACHE_DIR_VARIABLE = "SYNTHETIC_CACHE_DIR"
PROGRESS_DELAY_SECONDS = 2.0  # the progress bar appears only for pools that take longer


def cache_dir() -> Path:
    """Where pools are saved: $SYNTHETIC_CACHE_DIR, else ~/.cache/xgan-toolkit/synthetic."""
    return Path(os.environ.get(CACHE_DIR_VARIABLE) or Path.home() / ".cache" / "xgan-toolkit" / "synthetic")


@functools.lru_cache(maxsize=1)
def renderer_version() -> str:
    """A hash of this package's code and of the NumPy and OpenCV versions: what decides the pixels."""
    digest = hashlib.sha256(f"numpy {np.__version__} opencv {cv2.__version__}".encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def record_arrays(record: dict) -> tuple[np.ndarray, ...]:
    """A record as FIELDS arrays: image [S, S, 3], attributes [A] int32 (ATTRIBUTE_VARIANTS order),
    landmarks [5, 2] float32, mask [S, S, 1] uint8."""
    attributes = np.array([record["attributes"][name] for name in ATTRIBUTE_VARIANTS], np.int32)
    return record["image"], attributes, record["landmarks"], record["mask"][..., None]


def empty_pool(size: int, count: int) -> dict[str, np.ndarray]:
    return {
        "image": np.empty((count, size, size, 3), np.uint8),
        "attributes": np.empty((count, len(ATTRIBUTE_VARIANTS)), np.int32),
        "landmarks": np.empty((count, len(LANDMARK_NAMES), 2), np.float32),
        "mask": np.empty((count, size, size, 1), np.uint8),
    }


def render_pool(domain: str, size: int, seed: int, count: int) -> dict[str, np.ndarray]:
    """Records 0 .. count - 1 of `seed` as {field: [count, ...] array}, each row equal to `make_record`'s."""
    pool = empty_pool(size, count)
    indices = tqdm(
        range(count), desc=f"rendering synthetic:{domain}:{count}", unit="image", delay=PROGRESS_DELAY_SECONDS
    )
    for index in indices:
        for field, array in zip(FIELDS, record_arrays(make_record(domain, seed, index, size))):
            pool[field][index] = array
    return pool


def pool_folder(domain: str, size: int, seed: int, count: int) -> Path:
    return cache_dir() / f"{domain}-{size}px-seed{seed}-{count}-{renderer_version()}"


def load_pool(folder: Path, size: int, count: int) -> dict[str, np.ndarray]:
    """The memory-mapped pool saved in `folder`; ValueError or OSError if it is not a whole one."""
    expected = empty_pool(size, count)
    pool = {field: np.load(folder / f"{field}.npy", mmap_mode="r") for field in FIELDS}
    for field, array in pool.items():
        if array.shape != expected[field].shape or array.dtype != expected[field].dtype:
            raise ValueError(f"{folder / field}.npy: {array.dtype} {array.shape}, expected {expected[field].shape}")
    return pool


def save_pool(pool: dict[str, np.ndarray], folder: Path) -> None:
    """Write the pool to `folder` whole or not at all: into a temporary folder, renamed when complete."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        for field, array in pool.items():
            np.save(partial / f"{field}.npy", array)
        partial.rename(folder)
    finally:
        shutil.rmtree(partial, ignore_errors=True)  # left only if saving or renaming failed


def pool_arrays(domain: str, size: int, seed: int, count: int) -> dict[str, np.ndarray]:
    """Records 0 .. count - 1 of `seed` as arrays (see `render_pool`): from the cache when saved there
    (pools of CACHE_MIN_RECORDS or more), else rendered now, and saved for next time if large enough."""
    if count < CACHE_MIN_RECORDS:
        return render_pool(domain, size, seed, count)
    folder = pool_folder(domain, size, seed, count)
    if folder.exists():
        try:
            return load_pool(folder, size, count)
        except (OSError, ValueError) as error:
            logger.warning("rendering again: the saved pool is unreadable (%s)", error)
            shutil.rmtree(folder, ignore_errors=True)
    pool = render_pool(domain, size, seed, count)
    try:
        save_pool(pool, folder)
        print(f"saved synthetic:{domain}:{count} ({size} px, seed {seed}) to {folder}", file=sys.stderr)
    except OSError as error:
        logger.warning("could not save the synthetic pool to %s (%s); the next run renders it again", folder, error)
    return pool
