"""The synthetic faces as a tf.data source: endless, or a finite pool rendered once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from preprocessing.synthetic.attributes import ATTRIBUTE_VARIANTS, LANDMARK_NAMES, check_domain
from preprocessing.synthetic.pool import FIELDS, pool_arrays, record_arrays
from preprocessing.synthetic.records import make_record

if TYPE_CHECKING:
    import tensorflow as tf

POOL_SLICE = 256  # records a finite source reads from its pool per Python call


def as_dataset(domain: str, size: int = 64, seed: int = 0, count: int | None = None) -> tf.data.Dataset:
    """Records 0, 1, 2, ... of `seed`: endless and rendered on the fly, or the first `count` from a pool.

    A pool is rendered (or loaded from the cache) once, here, before the dataset is built, and read
    POOL_SLICE records per Python call, so iterating it costs little more than a copy (see `pool`).
    Elements: {"image": uint8 [size, size, 3], "attributes": {name: int32 scalar}, "landmarks":
    float32 [5, 2], "mask": uint8 [size, size, 1]}, in index order.
    """
    import tensorflow as tf  # here, not at the top: rendering and the CLI start faster without it

    check_domain(domain)
    if count is not None and count < 0:
        raise ValueError(f"count must be >= 0 or None, got {count}")
    names = tuple(ATTRIBUTE_VARIANTS)
    output_types = [tf.uint8, tf.int32, tf.float32, tf.uint8]
    shapes = ([size, size, 3], [len(names)], [len(LANDMARK_NAMES), 2], [size, size, 1])

    def shaped(arrays, leading=()) -> tuple:
        return tuple(tf.ensure_shape(array, [*leading, *shape]) for array, shape in zip(arrays, shapes))

    if count is None:

        def render(index: np.int64) -> tuple[np.ndarray, ...]:
            return record_arrays(make_record(domain, seed, int(index), size))

        # The endless range 0, 1, 2, ... (infinite cardinality), each record rendered as it is read.
        arrays = tf.data.Dataset.counter().map(
            lambda index: shaped(tf.numpy_function(render, [index], output_types, stateful=False)),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    else:
        records = pool_arrays(domain, size, seed, count)

        def read(start: np.int64, stop: np.int64) -> tuple[np.ndarray, ...]:
            return tuple(np.asarray(records[field][start:stop]) for field in FIELDS)

        # Slices of POOL_SLICE records: one Python call per slice, not per record, and no copy of the
        # pool inside the dataset's graph.
        starts = tf.data.Dataset.range(0, count, POOL_SLICE)
        arrays = starts.map(
            lambda start: shaped(
                tf.numpy_function(read, [start, tf.minimum(start + POOL_SLICE, count)], output_types, stateful=False),
                leading=[None],
            )
        ).unbatch()

    def to_element(image, attributes, landmarks, mask) -> dict:
        attributes = {name: attributes[i] for i, name in enumerate(names)}
        return {"image": image, "attributes": attributes, "landmarks": landmarks, "mask": mask}

    dataset = arrays.map(to_element)
    return dataset if count is None else dataset.apply(tf.data.experimental.assert_cardinality(count))
