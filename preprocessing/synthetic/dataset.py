"""The synthetic faces as a tf.data source: endless, or a finite pool rendered once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from preprocessing.synthetic.attributes import ATTRIBUTE_VARIANTS, LANDMARK_NAMES, check_domain
from preprocessing.synthetic.pool import FIELDS, pool_arrays, record_arrays
from preprocessing.synthetic.records import make_record

if TYPE_CHECKING:
    import tensorflow as tf


def as_dataset(domain: str, size: int = 64, seed: int = 0, count: int | None = None) -> tf.data.Dataset:
    """Records 0, 1, 2, ... of `seed`: endless and rendered on the fly, or the first `count` from a pool.

    A pool is rendered (or loaded from the cache) once, here, before the dataset is built, so that
    iterating it costs a copy per record (see `pool`). Elements: {"image": uint8 [size, size, 3],
    "attributes": {name: int32 scalar}, "landmarks": float32 [5, 2], "mask": uint8 [size, size, 1]};
    the order is deterministic even though records are read in parallel.
    """
    import tensorflow as tf  # here, not at the top: rendering and the CLI start faster without it

    check_domain(domain)
    if count is not None and count < 0:
        raise ValueError(f"count must be >= 0 or None, got {count}")
    names = tuple(ATTRIBUTE_VARIANTS)
    if count is None:

        def arrays_of(index: np.int64) -> tuple[np.ndarray, ...]:
            return record_arrays(make_record(domain, seed, int(index), size))

        indices = tf.data.Dataset.counter()  # the endless range 0, 1, 2, ... (infinite cardinality)
    else:
        records = pool_arrays(domain, size, seed, count)

        def arrays_of(index: np.int64) -> tuple[np.ndarray, ...]:
            return tuple(records[field][index] for field in FIELDS)

        indices = tf.data.Dataset.range(count)

    def to_element(index: tf.Tensor) -> dict:
        image, attributes, landmarks, mask = tf.numpy_function(
            arrays_of, [index], [tf.uint8, tf.int32, tf.float32, tf.uint8], stateful=False
        )
        attributes = tf.ensure_shape(attributes, [len(names)])
        return {
            "image": tf.ensure_shape(image, [size, size, 3]),
            "attributes": {name: attributes[i] for i, name in enumerate(names)},
            "landmarks": tf.ensure_shape(landmarks, [len(LANDMARK_NAMES), 2]),
            "mask": tf.ensure_shape(mask, [size, size, 1]),
        }

    return indices.map(to_element, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
