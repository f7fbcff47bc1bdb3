"""CycleGAN: two generators and two discriminators trained on unpaired images (Zhu et al. 2017).

G_A: A -> B and G_B: B -> A, each judged by a PatchGAN discriminator of its
target domain (the reference's names: D_A judges domain B, D_B domain A). The
generators minimise (the paper's eq. 3, plus the identity term of its §5.2)

    L = L_GAN(G_A, D_A) + L_GAN(G_B, D_B)
      + λ_A E ||G_B(G_A(a)) - a||_1 + λ_B E ||G_A(G_B(b)) - b||_1
      + λ_idt λ_B E ||G_A(b) - b||_1 + λ_idt λ_A E ||G_B(a) - a||_1

and each discriminator minimises half its GAN loss on real images of its
domain against translations drawn from a pool of 50 earlier ones. As in the
reference's `optimize_parameters`, one step updates both generators (one
optimizer) against the current discriminators, then both discriminators (one
optimizer) on the fakes that step made. A weight of 0 removes its term: it is
not computed, and its tracker reads 0.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from cyclegan import losses, networks
from cyclegan.hyperparameters import CycleGANHyperparameters
from training import gan_losses, gradients
from training.gan_model import GANModel
from training.hyperparameters import HasHyperparameters
from training.image_pool import ImagePool

# Generator name: (source domain, target domain). Both names are the reference's.
GENERATORS = {"G_A": ("A", "B"), "G_B": ("B", "A")}
DIRECTIONS = ("a2b", "b2a")
TRACKERS = ("D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B")


class CycleGAN(HasHyperparameters, GANModel):
    """CycleGAN at one image size; `model(a)` is G_A(a), for images of domain A in [-1, 1].

    Args:
      **hyperparameters: the fields of `CycleGANHyperparameters`: the image size, the generators' residual
        blocks, the networks' stem widths (the reference's ngf and ndf), the adversarial loss, the weights of
        the cycle terms cycle_A, cycle_B (the reference's λ_A = λ_B = 10) and of the identity terms
        idt_A = |G_A(b) - b|, idt_B = |G_B(a) - a| (λ_idt λ_B and λ_idt λ_A = 0.5 x 10), and the pool size
        (0 shows each discriminator the newest translation only).
      seed: seed of the pools' draws.
    """

    hyperparameter_class = CycleGANHyperparameters

    def __init__(self, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.seed = int(seed)
        self.generators = {
            name: networks.resnet_generator(
                self.image_size, self.residual_blocks, self.generator_filters, self.upsampling, name=name
            )
            for name in GENERATORS
        }
        # D_A judges G_A's outputs (domain B), D_B judges G_B's (domain A), as in the reference.
        self.discriminators = {
            f"D_{name[-1]}": networks.patchgan_discriminator(
                self.image_size, self.discriminator_filters, self.spectral_norm, name=f"D_{name[-1]}"
            )
            for name in GENERATORS
        }
        image_shape = (self.image_size, self.image_size, 3)
        self.fake_pools = {
            name: ImagePool(self.pool_size, image_shape, seed=self.seed + index, name=f"fake_{target}_pool")
            for index, (name, (_, target)) in enumerate(GENERATORS.items())
        }
        self.trackers = {name: keras.metrics.Mean(name=name) for name in TRACKERS}

    def call(self, inputs, training=None):
        """A -> B: G_A(inputs)."""
        return self.generators["G_A"](inputs, training=training)

    def translate(self, images, direction: str):
        """`direction` "a2b" (G_A) or "b2a" (G_B), in inference mode."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        return self.generators["G_A" if direction == "a2b" else "G_B"](images, training=False)

    # -- losses ---------------------------------------------------------------------------------

    def generator_losses(self, a, b, training: bool = False) -> tuple[dict, dict]:
        """({tracker: weighted term} of the generators, {"fake_A": G_B(b), "fake_B": G_A(a)}).

        The terms sum to the loss both generators minimise. Each generator makes its translation and, when
        that identity term is on, its identity mapping in one call on the two images stacked (`_stacked`).
        """
        g_a, g_b = self.generators["G_A"], self.generators["G_B"]
        # idt_A keeps G_A from changing images already in its target domain B; idt_B likewise.
        fake_b, identity_b = _stacked(g_a, a, b if self.identity_weight_a else None, training)
        fake_a, identity_a = _stacked(g_b, b, a if self.identity_weight_b else None, training)
        terms = {
            "G_A": gan_losses.generator_adversarial_loss(
                self.discriminators["D_A"](fake_b, training=training), self.gan_loss
            ),
            "G_B": gan_losses.generator_adversarial_loss(
                self.discriminators["D_B"](fake_a, training=training), self.gan_loss
            ),
            "cycle_A": self._weighted(self.cycle_weight_a, lambda: self._cycle(a, fake_b, g_b, training)),
            "cycle_B": self._weighted(self.cycle_weight_b, lambda: self._cycle(b, fake_a, g_a, training)),
            "idt_A": self._weighted(self.identity_weight_a, lambda: losses.identity_loss(b, identity_b)),
            "idt_B": self._weighted(self.identity_weight_b, lambda: losses.identity_loss(a, identity_a)),
        }
        return terms, {"fake_A": fake_a, "fake_B": fake_b}

    @staticmethod
    def _cycle(real, fake, back, training):
        return losses.cycle_consistency_loss(real, back(fake, training=training))

    @staticmethod
    def _weighted(weight: float, term):
        """weight * term(), or a constant 0 (the term not computed) when the weight is 0."""
        return weight * term() if weight else ops.zeros((), "float32")

    def discriminator_losses(self, a, b, fake_a, fake_b, training: bool = False) -> dict:
        """{"D_A": half D_A's loss on real b vs pooled G_A outputs, "D_B": the same for D_B on domain A}; each
        discriminator judges its real and pooled images in one call (`_stacked`)."""
        pooled_b = self.fake_pools["G_A"](ops.stop_gradient(fake_b)) if training else fake_b
        pooled_a = self.fake_pools["G_B"](ops.stop_gradient(fake_a)) if training else fake_a
        return {
            "D_A": losses.halved_discriminator_loss(
                *_stacked(self.discriminators["D_A"], b, pooled_b, training), self.gan_loss
            ),
            "D_B": losses.halved_discriminator_loss(
                *_stacked(self.discriminators["D_B"], a, pooled_a, training), self.gan_loss
            ),
        }

    # -- Keras training API ---------------------------------------------------------------------

    def train_step(self, data):
        a, b = data
        with tf.GradientTape() as tape:
            g_terms, fakes = self.generator_losses(a, b, training=True)
            scaled = gradients.scale_loss(self.g_optimizer, sum(g_terms.values()))
        gradients.apply_gradients(tape, self.g_optimizer, scaled, self.generator_variables)

        with tf.GradientTape() as tape:
            d_terms = self.discriminator_losses(a, b, fakes["fake_A"], fakes["fake_B"], training=True)
            scaled = gradients.scale_loss(self.d_optimizer, d_terms["D_A"] + d_terms["D_B"])
        gradients.apply_gradients(tape, self.d_optimizer, scaled, self.discriminator_variables)
        return self._update_trackers({**g_terms, **d_terms})

    def test_step(self, data):
        a, b = data
        g_terms, fakes = self.generator_losses(a, b)
        return self._update_trackers({**g_terms, **self.discriminator_losses(a, b, fakes["fake_A"], fakes["fake_B"])})

    # -- inference and export -------------------------------------------------------------------

    def exportable_models(self) -> dict:
        """{"a2b": G_A, "b2a": G_B}."""
        return {"a2b": self.generators["G_A"], "b2a": self.generators["G_B"]}

    def sample_grid(self, a, b) -> list:
        """Rows for an image grid, per domain: real, translated, reconstructed, identity (the reference's visuals).

        a, a2b (G_A(a)), a2b2a (G_B(G_A(a))), identity G_B(a); b, b2a, b2a2b, identity G_A(b).
        """
        g_a, g_b = self.generators["G_A"], self.generators["G_B"]
        fake_b, fake_a = g_a(a, training=False), g_b(b, training=False)
        rows = [
            ("a", a),
            ("a2b", fake_b),
            ("a2b2a", g_b(fake_b, training=False)),
            ("G_B(a)", g_b(a, training=False)),
            ("b", b),
            ("b2a", fake_a),
            ("b2a2b", g_a(fake_a, training=False)),
            ("G_A(b)", g_a(b, training=False)),
        ]
        return self.grid_rows(rows)

    # -- serialisation --------------------------------------------------------------------------

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def _stacked(network, first, second, training: bool):
    """(network(first), network(second)) from one call on the two batches stacked, or (network(first), None)
    when `second` is None.

    Every layer of CycleGAN's networks treats each image alone (instance norms, no batch statistics), so the
    outputs are those of two calls; one call on twice the images keeps the cores busier than two small ones
    (at batch 1, 128 px, most of a step is convolutions on 32x32 maps).
    """
    if second is None:
        return network(first, training=training), None
    both = network(ops.concatenate([first, second], axis=0), training=training)
    count = ops.shape(first)[0]
    return both[:count], both[count:]
