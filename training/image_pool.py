"""`ImagePool`: a history of generated images for the discriminator, as CycleGAN keeps one per domain.

Shrivastava et al. (2017) and CycleGAN (Zhu et al. 2017, the reference's
`util/image_pool.py`) show the discriminator a mix of the generator's newest
images and earlier ones, which damps the oscillation of the two players:

    discriminator_fakes = self.fake_pool(generated_images)

For each image of the batch, in order: while the pool is not full, the image is
stored and returned; once it is full, with probability 0.5 a random stored image
is returned and the new one takes its place, otherwise the new image is returned.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="training")
class ImagePool(keras.layers.Layer):
    """A history of `size` images of `image_shape`, held in non-trainable variables of the model.

    The stored images, the fill count and the number of calls are variables,
    so `save_weights` and a run's backup carry them and a resumed run continues
    with the same pool and random draws. The draws are stateless (seeded by
    `seed`, the replica and the call count), so the layer runs inside
    `tf.function(jit_compile=True)`. Size 0 returns its input.

    Under a multi-replica strategy each replica keeps its own pool of `size`
    images, filled from its share of the global batch, as one process of the
    reference keeps its own (the variables are ON_READ). A backup holds the
    first replica's pool, which every replica starts from when restored.
    """

    def __init__(self, size: int, image_shape, seed: int = 0, **kwargs):
        kwargs.setdefault("dtype", "float32")  # generators end in float32, also under mixed precision
        super().__init__(**kwargs)
        if size < 0:
            raise ValueError(f"an image pool's size must be >= 0, got {size}")
        self.size = int(size)
        self.image_shape = tuple(int(side) for side in image_shape)
        self.seed = int(seed)
        self.images = self._per_replica_variable("images", (self.size, *self.image_shape), self.variable_dtype)
        self.stored = self._per_replica_variable("stored", (), "int64")
        self.calls = self._per_replica_variable("calls", (), "int64")
        self.built = True

    def _per_replica_variable(self, name: str, shape, dtype) -> keras.Variable:
        return keras.Variable(
            keras.initializers.Zeros(),
            shape=shape,
            dtype=dtype,
            trainable=False,
            synchronization="on_read",
            aggregation="only_first_replica",
            name=name,
        )

    def call(self, images):
        """`images` [B, *image_shape] -> [B, *image_shape]: each new image, or a stored one it replaced."""
        if self.size == 0:
            return images
        batch = tf.shape(images)[0]
        coins, slots = self.draws(batch)

        def one_image(index, pool, stored, outputs):
            image = tf.gather(images, index)
            filling = stored < self.size
            slot = tf.where(filling, stored, slots[index])
            kept = tf.gather(pool, slot)  # pool[slot] would make XLA recompile per slot
            swap = coins[index] & tf.logical_not(filling)
            pool = tf.tensor_scatter_nd_update(pool, [[slot]], [tf.where(filling | swap, image, kept)])
            outputs = tf.tensor_scatter_nd_update(outputs, [[index]], [tf.where(swap, kept, image)])
            return index + 1, pool, stored + tf.cast(filling, stored.dtype), outputs

        _, pool, stored, outputs = tf.while_loop(
            lambda index, *_: index < batch,
            one_image,
            (
                tf.constant(0),
                tf.convert_to_tensor(self.images),
                tf.convert_to_tensor(self.stored),
                tf.zeros_like(images),
            ),
        )
        self.images.assign(pool)
        self.stored.assign(stored)
        self.calls.assign_add(1)
        return outputs

    def draws(self, batch):
        """Per image of the next call: whether a full pool swaps it (probability 0.5), and the slot it would take.

        Depends only on `seed`, the replica and the call count, so the next
        call draws the same. XLA-compiled and eager calls draw different numbers.
        """
        context = tf.distribute.get_replica_context()
        replica = context.replica_id_in_sync_group if context is not None else 0
        # Philox named, not auto-selected, so the numbers do not depend on the device's choice.
        key = tf.random.experimental.stateless_fold_in(
            tf.cast(tf.stack([self.seed, replica]), "int64"), tf.convert_to_tensor(self.calls), alg="philox"
        )
        uniform = tf.random.stateless_uniform([batch, 2], seed=key, alg="philox")
        slots = tf.minimum(tf.cast(uniform[:, 1] * self.size, "int64"), self.size - 1)
        return uniform[:, 0] < 0.5, slots

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "size": self.size, "image_shape": list(self.image_shape), "seed": self.seed}
