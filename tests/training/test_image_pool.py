"""ImagePool against a NumPy version of the reference policy; its 0.5 odds; XLA; save/restore; two replicas."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from training.image_pool import ImagePool

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGE_SHAPE = (2, 2, 1)


def batches(count: int, batch_size: int, seed: int = 0) -> np.ndarray:
    """`count` batches of distinct images: each image is constant, its value unique."""
    values = np.random.default_rng(seed).permutation(count * batch_size).astype("float32") + 1
    return np.broadcast_to(values.reshape(count, batch_size, 1, 1, 1), (count, batch_size, *IMAGE_SHAPE)).copy()


def reference_step(pool: list, size: int, images, coins, slots) -> list:
    """The reference's `query` on a list `pool`, with the given draws: returns the images it gives back."""
    outputs = []
    for image, swap, slot in zip(images, coins, slots):
        if len(pool) < size:
            pool.append(image)
            outputs.append(image)
        elif swap:
            outputs.append(pool[slot])
            pool[slot] = image
        else:
            outputs.append(image)
    return outputs


@pytest.mark.parametrize("jit_compile", [False, True])
def test_the_pool_fills_then_swaps_as_the_reference_policy(jit_compile):
    pool = ImagePool(5, IMAGE_SHAPE, seed=3)
    # XLA's Philox draws other numbers than the CPU kernel's: the reference takes the draws of the same mode.
    query, draw = (
        (tf.function(f, jit_compile=True) for f in (pool.__call__, pool.draws)) if jit_compile else (pool, pool.draws)
    )
    expected_pool = []

    swapped = 0
    for images in batches(6, 3):
        coins, slots = (values.numpy() for values in draw(len(images)))
        expected = reference_step(expected_pool, 5, list(images), coins, slots)

        outputs = query(images)

        np.testing.assert_array_equal(outputs.numpy(), expected)
        swapped += sum(not np.array_equal(out, image) for out, image in zip(expected, images))
    np.testing.assert_array_equal(pool.images.numpy(), expected_pool)
    assert (int(pool.stored.numpy()), int(pool.calls.numpy())) == (5, 6)
    assert swapped > 0  # the draws did exercise the swap


def test_a_filling_pool_returns_and_stores_its_inputs():
    pool = ImagePool(4, IMAGE_SHAPE)
    first, second = batches(2, 2)

    np.testing.assert_array_equal(pool(first).numpy(), first)
    np.testing.assert_array_equal(pool(second).numpy(), second)
    np.testing.assert_array_equal(pool.images.numpy(), np.concatenate([first, second]))


def test_a_full_pool_returns_a_stored_image_half_of_the_time_from_any_slot():
    pool = ImagePool(10, IMAGE_SHAPE, seed=0)
    query, draw = (tf.function(f, jit_compile=True) for f in (pool.__call__, pool.draws))
    all_batches = batches(41, 50)
    query(all_batches[0][:10])  # fills it
    stored_values = set(pool.images.numpy()[:, 0, 0, 0])

    returned_stored, slots_used = 0, set()
    for images in all_batches[1:]:
        _, slots = draw(len(images))
        outputs = query(images).numpy()
        is_stored = outputs[:, 0, 0, 0] != images[:, 0, 0, 0]
        returned_stored += int(is_stored.sum())
        slots_used |= set(slots.numpy()[is_stored])
        stored_values = set(pool.images.numpy()[:, 0, 0, 0])
        assert set(outputs[:, 0, 0, 0]) <= stored_values | set(all_batches.reshape(-1, 4)[:, 0])

    assert returned_stored / 2000 == pytest.approx(0.5, abs=0.04)  # 4 standard deviations
    assert slots_used == set(range(10))


def test_xla_compiles_the_pool_once_not_once_per_draw():
    # A value XLA needs at compile time (a slice's start, say) would enter the program as a constant,
    # so each call would compile anew (~0.2 s a call at any image size). The program must not change.
    pool = ImagePool(2, IMAGE_SHAPE, seed=1)
    query = tf.function(pool.__call__, jit_compile=True)
    images = batches(1, 1)[0]
    programs = set()
    for _ in range(5):
        programs.add(query.experimental_get_compiler_ir(images)(stage="hlo"))
        query(images)

    assert len(programs) == 1


def test_a_pool_of_size_zero_passes_the_images_through():
    pool = ImagePool(0, IMAGE_SHAPE)
    images = batches(1, 3)[0]

    np.testing.assert_array_equal(pool(images).numpy(), images)
    assert pool.images.shape == (0, *IMAGE_SHAPE)


class PoolHolder(keras.Model):
    """A model holding a pool, as a GAN holds one per domain for its train_step; `call` leaves it alone."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.pool = ImagePool(4, IMAGE_SHAPE, seed=5)

    def call(self, images):
        return images


def test_save_weights_and_load_weights_restore_the_pool_and_its_draws(tmp_path):
    original, restored = PoolHolder(), PoolHolder()
    for model in (original, restored):
        model.build((None, *IMAGE_SHAPE))  # as the harness builds a model before saving or restoring it
    for images in batches(3, 3):
        original.pool(images)
    original.save_weights(tmp_path / "pool.weights.h5")

    restored.load_weights(tmp_path / "pool.weights.h5")

    for name in ("images", "stored", "calls"):
        np.testing.assert_array_equal(getattr(restored.pool, name).numpy(), getattr(original.pool, name).numpy())
    assert int(restored.pool.stored.numpy()) == 4 and restored.pool.images.numpy().any()
    next_images = batches(1, 3, seed=1)[0]
    np.testing.assert_array_equal(restored.pool(next_images).numpy(), original.pool(next_images).numpy())


def test_the_config_round_trips():
    pool = ImagePool(7, IMAGE_SHAPE, seed=2, name="cartoon_pool")
    copy = ImagePool.from_config(pool.get_config())
    assert (copy.size, copy.image_shape, copy.seed, copy.name) == (7, IMAGE_SHAPE, 2, "cartoon_pool")


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    import tensorflow as tf

    # Two logical CPUs: must be configured before TensorFlow initialises its devices.
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    from training.image_pool import ImagePool

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        pool = ImagePool(2, (1,), seed=0)

    # As Keras's fit runs a step on each replica. Not XLA-compiled: XLA places the step of a
    # second logical CPU on the first, where that replica's variables are not.
    @tf.function
    def query(images):
        return strategy.run(pool, args=(images,))

    def replica_batch(step):
        # Replica r gets the images 100 r + 10 step + 1 and 100 r + 10 step + 2.
        return lambda context: tf.constant([[1.0], [2.0]]) + 100.0 * context.replica_id_in_sync_group + 10 * step

    def local(values):
        return [value.numpy().ravel().tolist() for value in strategy.experimental_local_results(values)]

    outputs = []
    for step in range(3):
        images = strategy.experimental_distribute_values_from_function(replica_batch(step))
        outputs.append(local(query(images)))
    pools = local(pool.images.value)  # the tf.distribute variable behind the keras.Variable
    saved = pool.images.numpy().ravel().tolist()  # what save_weights reads
    pool.images.assign(np.array([[7.0], [8.0]], "float32"))  # what load_weights does
    print(json.dumps({
        "outputs": outputs, "pools": pools, "stored": local(pool.stored.value), "saved": saved,
        "restored": local(pool.images.value),
    }))
    """
)


def test_under_mirrored_strategy_each_replica_keeps_its_own_pool():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])

    assert report["outputs"][0] == [[1.0, 2.0], [101.0, 102.0]]  # each replica fills its own pool
    assert report["stored"] == [[2], [2]]
    for replica, (pool, outputs) in enumerate(zip(report["pools"], zip(*report["outputs"]))):
        own_images = {100.0 * replica + 10 * step + k for step in range(3) for k in (1, 2)}
        assert set(pool) <= own_images and {v for out in outputs for v in out} <= own_images
    assert report["pools"][0] != report["pools"][1]
    assert report["saved"] == report["pools"][0]  # a backup holds the first replica's pool
    assert report["restored"] == [[7.0, 8.0], [7.0, 8.0]]  # and a restore gives it to every replica
