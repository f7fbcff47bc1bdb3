"""StarGAN v2 (Choi et al. 2020): one generator G(x, s) that renders an image x in the style s of any domain.

A style s comes from a latent code z through the mapping network F_y(z) or
from a reference image through the style encoder E_y(x_ref); a multi-task
discriminator D_y(x) judges each domain y with its own logit. Each training
iteration is the official one (clovaai/stargan-v2 core/solver.py `train`),
four updates in this order, each from its own tape:

    1. D, latent-guided:    L_adv(real x, y) + L_adv(G(x, F_ỹ(z1)), ỹ) + λ_reg R1    (G's images constants)
    2. D, reference-guided: the same with s̃ = E_ỹ(x_ref)
    3. G, F and E, latent-guided:  L_adv + λ_sty L_sty − λ_ds L_ds + λ_cyc L_cyc       (z1, z2)
    4. G alone, reference-guided:  the same with s̃ = E_ỹ(x_ref), E_ỹ(x_ref2)

then the moving average (β = 0.999 in the official code: `compile(...,
ema_decay=0.999)`) of G, F and E, which the harness keeps
(`training.ema`). λ_ds decays linearly to 0 over ds_iter iterations
(`losses.diversity_weight`), counted by a model variable saved with the
weights: a resumed run continues the decay (the official code restarts it
from λ_ds on resume).

With w_hpf = 1 (the CelebA-HQ setting) a pretrained FAN landmark network
(`stargan_v2.wing`, its weights loaded into `model.fan` by the caller) gives
G the face masks of its input images; the FAN is neither trained, nor
averaged, nor exported.
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from stargan_v2 import losses, networks, wing
from stargan_v2.hyperparameters import StarGANv2Hyperparameters
from training import gradients
from training.gan_model import GANModel
from training.hyperparameters import HasHyperparameters

# The official log's entries, "D/latent_real" as "D_latent_real": each step's unweighted terms, then λ_ds.
DISCRIMINATOR_TERMS = ("real", "fake", "reg")
GENERATOR_TERMS = ("adv", "sty", "ds", "cyc")
TRACKERS = (
    *(f"D_{guide}_{term}" for guide in ("latent", "ref") for term in DISCRIMINATOR_TERMS),
    *(f"G_{guide}_{term}" for guide in ("latent", "ref") for term in GENERATOR_TERMS),
    "lambda_ds",
)


@keras.saving.register_keras_serializable(package="stargan_v2")
class StarGANv2(HasHyperparameters, GANModel):
    """StarGAN v2 on batches `(sources, source_domains, references, second_references, target_domains)`.

    Images float [N, S, S, 3] in [-1, 1], domains int32 [N]: each source x (of
    domain y) is translated to the target domain ỹ of its two references; the
    latent codes z1, z2 are drawn inside the step. `model(images)` translates
    to domain 0 in the style F_0(0).

    Args:
      **hyperparameters: the fields of `StarGANv2Hyperparameters`.
      seed: seed of the latent codes drawn in training, and of the grids' fixed latent codes.

    Four optimizers (`compile`): g_optimizer (G), d_optimizer (D), mapping_optimizer (F; the official rate
    is 1e-6, the others' 1e-4) and style_optimizer (E); `training.fit.compile_for_training` makes the last
    two at the run config's "mapping_learning_rate" and "g_learning_rate".
    """

    hyperparameter_class = StarGANv2Hyperparameters
    extra_optimizers = {"mapping_optimizer": "mapping_learning_rate", "style_optimizer": "g_learning_rate"}

    def __init__(self, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.seed = int(seed)
        self.generators = {
            "generator": networks.build_generator(
                self.image_size,
                self.style_dim,
                self.max_conv_dim,
                self.w_hpf,
                self.first_conv_dim,
                self.rematerialize_size,
            )
        }
        self.discriminators = {
            "discriminator": networks.build_discriminator(
                self.image_size, self.num_domains, self.max_conv_dim, self.first_conv_dim
            )
        }
        self.mapping_network = networks.build_mapping_network(self.latent_dim, self.style_dim, self.num_domains)
        self.style_encoder = networks.build_style_encoder(
            self.image_size, self.style_dim, self.num_domains, self.max_conv_dim, self.first_conv_dim
        )
        if self.w_hpf:
            self.fan = wing.build_fan()
            self.fan.trainable = False
        # Iterations completed: the t of λ_ds(t). Counted once per iteration, however many replicas run it.
        self.completed_iterations = self.add_weight(
            shape=(),
            dtype="int64",
            initializer="zeros",
            trainable=False,
            aggregation="only_first_replica",
            name="completed_iterations",
        )
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in TRACKERS}
        self.built = True  # every network was built from its input shapes above

    # -- the networks -----------------------------------------------------------------------------

    def optimizer_variables(self, name: str) -> list:
        """mapping_optimizer trains F, style_optimizer E; g_optimizer G and d_optimizer D (`GANModel`)."""
        if name == "mapping_optimizer":
            return self.mapping_network.trainable_variables
        if name == "style_optimizer":
            return self.style_encoder.trainable_variables
        return super().optimizer_variables(name)

    def generate(self, images, styles, masks=None, training: bool = False):
        """G(x, s); with w_hpf = 1 also the FAN's masks of `images` (`masks`, else computed here)."""
        images, styles = ops.convert_to_tensor(images), ops.convert_to_tensor(styles)
        if not self.w_hpf:
            return self.generators["generator"]([images, styles], training=training)
        if masks is None:
            masks = self.masks(images)
        return self.generators["generator"]([images, styles, masks], training=training)

    def masks(self, images):
        """The FAN's face masks of `images` [N, S, S, 2] (no gradient), or None at w_hpf = 0."""
        if not self.w_hpf:
            return None
        return wing.heatmap_masks(self.fan, images, self.image_size)

    def latent_styles(self, latents, domains, training: bool = False):
        """F_y(z)."""
        return self.mapping_network([ops.convert_to_tensor(latents), _domains(domains)], training=training)

    def reference_styles(self, references, domains, training: bool = False):
        """E_y(x_ref)."""
        return self.style_encoder([ops.convert_to_tensor(references), _domains(domains)], training=training)

    def discriminate(self, images, domains, training: bool = False):
        """D_y(x): one logit per image, of its domain y."""
        return self.discriminators["discriminator"](
            [ops.convert_to_tensor(images), _domains(domains)], training=training
        )

    def draw_latents(self, count):
        """z ~ N(0, I) [count, latent_dim], a new draw from the model's seed generator at every call.

        Every replica of a distribution strategy draws the same codes (its seed
        generator advances alike); their images, hence their translations, differ.
        """
        return keras.random.normal((count, self.latent_dim), seed=self.seed_generator)

    # -- Keras training API -----------------------------------------------------------------------

    def train_step(self, data):
        sources, source_domains, references, second_references, target_domains = data
        count = ops.shape(sources)[0]
        latents, second_latents = self.draw_latents(count), self.draw_latents(count)
        masks = self.masks(sources)
        weight = losses.diversity_weight(self.diversity_weight, self.diversity_decay_steps, self.completed_iterations)
        logs = {
            **self.latent_discriminator_step(sources, source_domains, target_domains, latents, masks),
            **self.reference_discriminator_step(sources, source_domains, target_domains, references, masks),
            **self.latent_generator_step(
                sources, source_domains, target_domains, latents, second_latents, weight, masks
            ),
            **self.reference_generator_step(
                sources, source_domains, target_domains, references, second_references, weight, masks
            ),
            "lambda_ds": weight,
        }
        self.completed_iterations.assign_add(1)
        return self._update_trackers(logs)

    def latent_discriminator_step(self, sources, source_domains, target_domains, latents, masks=None) -> dict:
        """Step 1: D against G(x, F_ỹ(z)). Returns {"D_latent_real", "D_latent_fake", "D_latent_reg"}."""
        styles = self.latent_styles(latents, target_domains, training=True)
        return self._discriminator_step("D_latent_", sources, source_domains, target_domains, styles, masks)

    def reference_discriminator_step(self, sources, source_domains, target_domains, references, masks=None) -> dict:
        """Step 2: D against G(x, E_ỹ(x_ref)). Returns {"D_ref_real", "D_ref_fake", "D_ref_reg"}."""
        styles = self.reference_styles(references, target_domains, training=True)
        return self._discriminator_step("D_ref_", sources, source_domains, target_domains, styles, masks)

    def latent_generator_step(
        self, sources, source_domains, target_domains, latents, second_latents, diversity_weight, masks=None
    ) -> dict:
        """Step 3: G, F and E (each its own optimizer) with the styles F_ỹ(z1), F_ỹ(z2).
        Returns {"G_latent_adv", "G_latent_sty", "G_latent_ds", "G_latent_cyc"}."""
        updates = [
            ("g_optimizer", self.generator_variables),
            ("mapping_optimizer", self.mapping_network.trainable_variables),
            ("style_optimizer", self.style_encoder.trainable_variables),
        ]
        return self._generator_step(
            "G_latent_",
            self.latent_styles,
            (latents, second_latents),
            (sources, source_domains, target_domains),
            diversity_weight,
            masks,
            updates,
        )

    def reference_generator_step(
        self, sources, source_domains, target_domains, references, second_references, diversity_weight, masks=None
    ) -> dict:
        """Step 4: G alone with the styles E_ỹ(x_ref), E_ỹ(x_ref2).
        Returns {"G_ref_adv", "G_ref_sty", "G_ref_ds", "G_ref_cyc"}."""
        return self._generator_step(
            "G_ref_",
            self.reference_styles,
            (references, second_references),
            (sources, source_domains, target_domains),
            diversity_weight,
            masks,
            [("g_optimizer", self.generator_variables)],
        )

    def _discriminator_step(self, prefix, sources, source_domains, target_domains, styles, masks) -> dict:
        """D minimises L_adv(real) + L_adv(fake) + λ_reg R1, with G's images made outside the tape (constants)."""
        fakes = self.generate(sources, styles, masks, training=True)
        with tf.GradientTape() as tape:
            real_logits, penalty = losses.logits_and_r1_penalty(
                lambda images: self.discriminate(images, source_domains, training=True), sources
            )
            fake_logits = self.discriminate(fakes, target_domains, training=True)
            terms = {
                "real": losses.adversarial_loss(real_logits, 1),
                "fake": losses.adversarial_loss(fake_logits, 0),
                "reg": penalty,
            }
            loss = terms["real"] + terms["fake"] + self.r1_weight * terms["reg"]
            scaled = gradients.scale_loss(self.d_optimizer, loss)
        gradients.apply_gradients(tape, self.d_optimizer, scaled, self.discriminator_variables)
        return {prefix + name: value for name, value in terms.items()}

    def _generator_step(self, prefix, style_of, codes, images, diversity_weight, masks, updates) -> dict:
        """L_adv + λ_sty L_sty − λ_ds L_ds + λ_cyc L_cyc (eq. 5, official `compute_g_loss`), minimised by each
        optimizer of `updates` ([(optimizer name, its variables)]) on its own variables.

        `style_of(code, domains)` makes the target styles from `codes` (the first
        and second latent codes or references).
        """
        sources, source_domains, target_domains = images
        optimizers = [getattr(self, name) for name, _ in updates]
        # The styles s̃ and ŝ = E_y(x) are inputs of G: recorded only when a step trains the networks that made
        # them (F and E), so that G's step alone does not keep two passes of E for a backward it never takes.
        styles_trained = any(name != "g_optimizer" for name, _ in updates)
        with tf.GradientTape(persistent=gradients.scales_losses(optimizers)) as tape:
            with _recording(tape, styles_trained):
                styles = style_of(codes[0], target_domains, training=True)
                source_styles = self.reference_styles(sources, source_domains, training=True)
            fakes = self.generate(sources, styles, masks, training=True)
            with tape.stop_recording():  # G(x, s̃2) is a constant of L_ds (official: x_fake2.detach())
                second_fakes = self.generate(
                    sources, style_of(codes[1], target_domains, training=True), masks, training=True
                )
            # The official recomputes the masks of the cycle's input, G's own image.
            reconstructed = self.generate(fakes, source_styles, self.masks(fakes), training=True)
            terms = {
                "adv": losses.adversarial_loss(self.discriminate(fakes, target_domains, training=True), 1),
                "sty": losses.style_reconstruction_loss(
                    self.reference_styles(fakes, target_domains, training=True), styles
                ),
                "ds": losses.diversity_loss(fakes, second_fakes),
                "cyc": losses.cycle_loss(reconstructed, sources),
            }
            loss = (
                terms["adv"]
                + self.style_weight * terms["sty"]
                - diversity_weight * terms["ds"]
                + self.cycle_weight * terms["cyc"]
            )
            scaled = [gradients.scale_loss(optimizer, loss) for optimizer in optimizers]
        gradients.apply_gradients_of_one_loss(
            tape, [(optimizer, each, variables) for optimizer, each, (_, variables) in zip(optimizers, scaled, updates)]
        )
        return {prefix + name: value for name, value in terms.items()}

    # -- inference and export ---------------------------------------------------------------------

    def call(self, images, training=None):
        """`images` translated to domain 0 in the style F_0(0) of the latent code z = 0."""
        style = self.latent_styles(ops.zeros((1, self.latent_dim)), ops.zeros((1,), "int32"), training=training)
        styles = ops.zeros_like(images[:, 0, 0, :1], dtype=style.dtype) + style  # [N, style_dim]
        return self.generate(images, styles, training=bool(training))

    def translate_with_reference(self, sources, references, target_domains, masks=None):
        """G(x, E_ỹ(x_ref)): each source in the style of its reference, of the reference's domain ỹ."""
        return self.generate(sources, self.reference_styles(references, target_domains), masks)

    def translate_with_latent(self, sources, latents, target_domains, masks=None):
        """G(x, F_ỹ(z)): each source in the style its latent code z gives in domain ỹ."""
        return self.generate(sources, self.latent_styles(latents, target_domains), masks)

    def exportable_models(self) -> dict:
        """{"generator": G, "mapping_network": F, "style_encoder": E}: what translates, and what the average keeps."""
        return {
            "generator": self.generators["generator"],
            "mapping_network": self.mapping_network,
            "style_encoder": self.style_encoder,
        }

    def grid_latents(self, count: int) -> np.ndarray:
        """The grids' latent codes [count, latent_dim]: the same at every epoch (from `seed`), so grids compare."""
        return np.random.default_rng(self.seed).standard_normal((count, self.latent_dim), dtype=np.float32)

    def sample_grid(self, sources, source_domains, references, second_references, target_domains) -> list:
        """Rows for an image grid (a training batch's first examples): the sources, their references, each
        source in its reference's style (reference-guided) and in the target domain's style of a fixed
        latent code (latent-guided). `source_domains` and `second_references` are unused: a batch's columns."""
        count = len(sources)
        masks = self.masks(sources)
        rows = [
            ("source", sources),
            ("reference", references),
            ("reference-guided", self.translate_with_reference(sources, references, target_domains, masks)),
            ("latent-guided", self.translate_with_latent(sources, self.grid_latents(count), target_domains, masks)),
        ]
        return self.grid_rows(rows)

    # -- serialisation ----------------------------------------------------------------------------

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def _recording(tape: tf.GradientTape, record: bool):
    """A context that records on `tape` when `record`, and pauses it otherwise."""
    return contextlib.nullcontext() if record else tape.stop_recording()


def _domains(domains):
    """Domain indices as the networks take them: an int32 tensor (Keras refuses NumPy mixed with tensors)."""
    return ops.convert_to_tensor(domains, "int32")
