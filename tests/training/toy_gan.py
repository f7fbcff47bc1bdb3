"""A GAN small enough to train in milliseconds, following the `training` contract.

Unpaired 8x8 translation: a one-convolution generator maps "source" images
towards the "target" domain and a one-convolution discriminator tells real
targets from translations, both with binary cross-entropy on logits
(`training.gan_losses`: plain means over the replica's batch, as
`training.gradients.scale_loss` expects; under a strategy of several
replicas a `keras.losses.Loss` would divide by their number a second time).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from training import gan_losses, gradients, registry
from training.gan_model import GANModel

IMAGE_SIZE = 8
IMAGE_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 3)
# The size of the registered toy: evaluation.semantics' attribute classifier halves its input 4 times.
REGISTERED_SIZE = 16


def build_generator(image_size: int = IMAGE_SIZE) -> keras.Model:
    images = keras.Input((image_size, image_size, 3), name="source")
    translated = keras.layers.Conv2D(3, 3, padding="same", activation="tanh", dtype="float32", name="conv")(images)
    return keras.Model(images, translated, name="generator")


def build_discriminator(image_size: int = IMAGE_SIZE) -> keras.Model:
    images = keras.Input((image_size, image_size, 3), name="image")
    features = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="conv")(images)
    logits = keras.layers.Dense(1, dtype="float32", name="logit")(keras.layers.Flatten()(features))
    return keras.Model(images, logits, name="discriminator")


@keras.saving.register_keras_serializable(package="toy_gan")
class ToyGAN(GANModel):
    """Trains on batches of `(source_images, target_images)`, float32 [B, S, S, 3] in [-1, 1] (S = image_size)."""

    def __init__(self, image_size: int = IMAGE_SIZE, **kwargs):
        super().__init__(**kwargs)
        self.image_size = image_size
        self.generator = build_generator(image_size)
        self.discriminator = build_discriminator(image_size)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss")}

    def call(self, inputs, training=None):
        return self.generator(inputs, training=training)

    def train_step(self, data):
        sources, targets = data
        translated = self.generator(sources, training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(targets, training=True)
            fake_logits = self.discriminator(translated, training=True)
            d_loss = gan_losses.discriminator_loss(real_logits, fake_logits)
            scaled = gradients.scale_loss(self.d_optimizer, d_loss)
        gradients.apply_gradients(tape, self.d_optimizer, scaled, self.discriminator_variables)

        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(sources, training=True), training=True)
            g_loss = gan_losses.generator_adversarial_loss(fake_logits)
            scaled = gradients.scale_loss(self.g_optimizer, g_loss)
        gradients.apply_gradients(tape, self.g_optimizer, scaled, self.generator_variables)

        return self._update_trackers({"d_loss": d_loss, "g_loss": g_loss})

    def exportable_models(self) -> dict:
        return {"source2target": self.generator}

    def sample_grid(self, sources, targets) -> list:
        return [("source", sources), ("source→target", self.generator(sources, training=False)), ("target", targets)]

    def get_config(self):
        return {**super().get_config(), "image_size": self.image_size}


# The toy as a model package registers it (`registry.register(MODEL)`): the one step a new model needs.
MODEL = registry.ModelSpec(
    name="toy_gan",
    build=lambda config: ToyGAN(REGISTERED_SIZE),
    untrained=lambda: ToyGAN(REGISTERED_SIZE),
    generators=("source2target",),
    directions=("source2target",),
    benchmark=registry.Benchmark(input_shapes=((2, REGISTERED_SIZE, REGISTERED_SIZE, 3),) * 2, learning_rate=1e-3),
)


def toy_dataset(
    batch_size: int = 2, nan_from_step: int | None = None, seed: int = 0, image_size: int = IMAGE_SIZE
) -> tf.data.Dataset:
    """A repeating dataset of `(sources, targets)` batches of `image_size` images.

    With `nan_from_step` (1-based), every batch from that training step on is NaN,
    so the losses and the weights become NaN at exactly that step.
    """
    rng = np.random.default_rng(seed)
    pairs = rng.uniform(-1, 1, (2, 4 * batch_size, image_size, image_size, 3)).astype("float32")
    batches = tf.data.Dataset.from_tensor_slices((pairs[0], pairs[1])).batch(batch_size, drop_remainder=True).repeat()
    if nan_from_step is None:
        return batches
    step_numbers = tf.data.Dataset.range(1, 2**62)

    def poison(step, batch):
        return tuple(tf.where(step >= nan_from_step, tf.fill(tf.shape(x), np.nan), x) for x in batch)

    return tf.data.Dataset.zip(step_numbers, batches).map(poison)
