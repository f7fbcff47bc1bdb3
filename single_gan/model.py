"""DCGAN: a generator that draws cartoon faces from noise, trained against a discriminator (report §6.1).

Two `keras.Sequential` players wrapped in one `keras.Model`, as in the report:
the generator G maps noise z ~ N(0, I) to a 64x64 image, the discriminator D
maps an image to the logit of "this image is real". Each training step:

    1. D minimises L_D = E ℓ(1, D(x)) + E ℓ(0, D(G(z)))      on a real batch x and G's samples
    2. G minimises L_G = E ℓ(1, D(G(z')))                    on fresh noise z', against the updated D

See `single_gan.losses` for the equations and `single_gan.networks` for the layers.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from single_gan import losses, networks
from single_gan.hyperparameters import DCGANHyperparameters
from training import gradients
from training.gan_model import GANModel
from training.hyperparameters import HasHyperparameters

GRID_COLUMNS = 8
TRACKED = ("d_loss", "g_loss", "d_real", "d_fake")


@keras.saving.register_keras_serializable(package="single_gan")
class DCGAN(HasHyperparameters, GANModel):
    """DCGAN on a dataset of image batches, float32 [B, 64, 64, 3].

    Args:
        **hyperparameters: the fields of `DCGANHyperparameters`: the size of the noise vector z (the report's
            100) and the widths of G's and D's layers (see `networks.build_generator`).
        seed: seed of the noise the model draws in training (None: from Keras's global seed).

    Use `compile(g_optimizer=..., d_optimizer=...)` then `fit(dataset)`. The
    logs are the two losses and the discriminator's mean probability of "real"
    on real images (`d_real`) and on generated ones (`d_fake`).
    """

    hyperparameter_class = DCGANHyperparameters

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.generator = networks.build_generator(self.noise_dim, self.generator_filters)
        self.discriminator = networks.build_discriminator(self.discriminator_filters)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in TRACKED}
        self.built = True  # both players were built from their input shapes above

    def sample_noise(self, count):
        """z ~ N(0, I): [count, noise_dim], a new draw from the model's seed generator on every call.

        Each replica of a distribution strategy draws its own noise: its index is added to the seed's second
        word. Every replica's seed generator advances alike, so without it each global batch of fakes would be
        N copies of one replica's draw. Replica 0 (and a single device) draws what
        `keras.random.normal(..., seed=self.seed_generator)` does.
        """
        # keras.random's own seed handling: the generator's int64 state folded into int32, as XLA wants it.
        seed = tf.cast(tf.math.floormod(self.seed_generator.next(), tf.int32.max - 1), "int32")
        seed += tf.stack([0, _replica_index()])
        return tf.random.stateless_normal((count, self.noise_dim), seed=seed, dtype=keras.config.floatx())

    def call(self, inputs, training=None):
        """Noise -> images: G(z)."""
        return self.generator(inputs, training=training)

    def train_step(self, real_images):
        batch_size = tf.shape(real_images)[0]

        # Discriminator step: G's samples are its inputs, not something it trains.
        fake_images = self.generator(self.sample_noise(batch_size), training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake_images, training=True)
            d_loss = losses.discriminator_loss(real_logits, fake_logits)
            scaled = gradients.scale_loss(self.d_optimizer, d_loss)
        gradients.apply_gradients(tape, self.d_optimizer, scaled, self.discriminator_variables)

        # Generator step, on fresh noise, against the updated discriminator.
        with tf.GradientTape() as tape:
            fake_images = self.generator(self.sample_noise(batch_size), training=True)
            g_loss = losses.generator_loss(self.discriminator(fake_images, training=True))
            scaled = gradients.scale_loss(self.g_optimizer, g_loss)
        gradients.apply_gradients(tape, self.g_optimizer, scaled, self.generator_variables)

        return self._update_trackers(
            {
                "d_loss": d_loss,
                "g_loss": g_loss,
                "d_real": losses.mean_probability_real(real_logits),
                "d_fake": losses.mean_probability_real(fake_logits),
            }
        )

    # -- inference and export -----------------------------------------------------------------

    def exportable_models(self) -> dict:
        """{"generator": G}: noise [B, noise_dim] -> images [B, 64, 64, 3] in [-1, 1]."""
        return {"generator": self.generator}

    def sample_grid(self, noise) -> list:
        """G(noise) in rows of `GRID_COLUMNS`: [(row name, float32 NumPy images [<=8, 64, 64, 3] in [-1, 1]), ...].

        Row names number the noise vectors, e.g. "z 1-8", "z 9-16".
        """
        images = self.generator(noise, training=False)
        count = images.shape[0]
        return self.grid_rows(
            (f"z {start + 1}-{min(start + GRID_COLUMNS, count)}", images[start : start + GRID_COLUMNS])
            for start in range(0, count, GRID_COLUMNS)
        )

    # -- serialisation ------------------------------------------------------------------------

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def fixed_noise(count: int, noise_dim: int, seed: int) -> np.ndarray:
    """`count` noise vectors z ~ N(0, I), float32 [count, noise_dim]: the same ones for the same seed.

    Independent of the model's training noise, so the grids of every epoch (and
    of a resumed run) show the same z, and `single_gan.sample` can redraw them.
    """
    return np.random.default_rng(seed).standard_normal((count, noise_dim), dtype=np.float32)


def _replica_index():
    """This replica's index in its strategy's sync group; 0 outside a replica context."""
    context = tf.distribute.get_replica_context()
    return context.replica_id_in_sync_group if context is not None else 0
