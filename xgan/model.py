"""XGAN: a dual adversarial auto-encoder for face <-> cartoon translation.

Royer et al. 2018 (arXiv 1711.05139) and the report's §6.2. Two auto-encoders,
one per domain, share the inner layers of their encoders and decoders so both
domains meet in one 1024-d embedding; translating is encoding with one domain's
encoder and decoding with the other's decoder:

    g_1->2(x) = d_2(e_1(x))        g_2->1(x) = d_1(e_2(x))

The generator side (encoders, decoders and the DANN classifier c_dann, behind
its gradient-reversal layer) minimises

    L_XGAN = ω_rec L_rec + ω_d L_dann + ω_s L_sem + ω_gan L_gan + ω_t L_teach

and each discriminator D_d minimises its side of L_gan. See `xgan.losses` for
the equations and `xgan.networks` for the layers.

With `domain_objective="confusion"` (the default) c_dann instead trains beside
the discriminators, on the embeddings, and the encoders minimise the domain
confusion loss L_conf in place of the reversed L_dann (a documented deviation:
see `XGAN`).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from training import gradients
from training.gan_model import GANModel
from training.hyperparameters import HasHyperparameters
from xgan import losses, networks
from xgan.hyperparameters import DISCRIMINATE_OPTIONS, XGANHyperparameters
from xgan.networks import DOMAINS, EMBEDDING_SIZE, IMAGE_SHAPE

TRANSLATIONS = (("face", "cartoon"), ("cartoon", "face"))
DIRECTIONS = tuple(f"{source}2{target}" for source, target in TRANSLATIONS)
SPREAD_TRACKERS = {domain: f"{domain}_embedding_spread" for domain in DOMAINS}


def embedding_spread(embeddings):
    """mean_i ||e_i - mean_j e_j|| / mean_i ||e_i|| over a batch [B, 1024]: 0 when every embedding is the same.

    Not a loss: a diagnostic of the XGAN failure mode where the encoders map
    every image of a domain to one point (every translation is then the same
    image). On the synthetic faces it is ~0.7 (faces) and ~0.5 (cartoons)
    after 100 auto-encoder steps; a value near 0 that stays there means
    collapse. With B = 1 it is 0; under a distribution strategy it is each
    replica's batch that is measured (and the replicas' values averaged).
    """
    deviations = embeddings - ops.mean(embeddings, axis=0, keepdims=True)
    return ops.mean(ops.norm(deviations, axis=-1)) / ops.maximum(ops.mean(ops.norm(embeddings, axis=-1)), 1e-12)


def _other(domain: str) -> str:
    return "cartoon" if domain == "face" else "face"


@keras.saving.register_keras_serializable(package="xgan")
class XGAN(HasHyperparameters, GANModel):
    """XGAN on an unpaired dataset of `(face_batch, cartoon_batch)`, float32 [B, 64, 64, 3] in [-1, 1].

    Args:
        **hyperparameters: the fields of `XGANHyperparameters` (the paper's model by default): the ω weights
            (reconstruction_weight on L_rec of both domains, domain_adversarial_weight on L_dann,
            semantic_weight on L_sem,1->2 + L_sem,2->1, adversarial_weight on the generator's adversarial
            loss of each discriminated domain, teacher_weight on L_teach, used only when `teacher` is given),
            and the options below.
        reconstruction_distance: "l2" (the report's mean squared error) or "l1" (mean absolute error).
        semantic_distance: "l1" (paper default), "l2" or "cosine"; also the teacher distance.
        gan_loss: "bce" (binary cross-entropy on logits, the report's) or "lsgan".
        discriminate: "cartoon" (a discriminator on translated cartoons only, as
            the report) or "both" (also on translated faces, as the paper's objective).
        domain_objective: how the encoders play against c_dann. "reversal" (the
            paper, Ganin & Lempitsky 2015): c_dann trains with the generator
            behind its gradient-reversal layer, so the encoders maximise L_dann.
            "confusion" (Tzeng et al. 2015): c_dann trains on the embeddings
            with the discriminators, and the encoders minimise L_conf (c_dann
            cannot tell). Maximising L_dann rewards embeddings c_dann gets
            confidently wrong, which pulls a domain's embeddings together;
            confusion is at its optimum when c_dann cannot tell at all.
        upsampling: the decoders' up-sampling layers, "transposed" (the paper's) or "resize_conv".
        spectral_norm: spectral normalisation of the discriminators' layers.
        gradient_reversal_scale: λ, the weight of the encoders' share of the
            c_dann gradient (reversed by c_dann's first layer under "reversal").
        warmup_steps: W. The auto-encoders train alone (only ω_rec L_rec) for
            the first W generator steps; every other term then grows linearly
            to its full weight over the next W. At initialisation the encoders
            map every image to nearly one embedding (spread ~0); the warm-up
            lets L_rec spread them before L_dann, L_sem and L_gan pull on
            them. 0 (the paper) weighs every term fully from the start.
        mirror_private_init: start the cartoon's private encoder and decoder
            halves as copies of the face's (they are still separate
            variables). The report does not say how they start; as copies, the
            two auto-encoders begin as one, so a face decoded by the cartoon
            decoder keeps its colours and layout from the first step, where
            independent random halves would meet in unrelated parts of the
            embedding.
        gradient_reversal_ramp_steps: 0 keeps λ constant. Otherwise the
            gradient the encoders receive from L_dann grows as Ganin &
            Lempitsky's (2015) schedule λ_p = λ (2 / (1 + exp(-10 p)) - 1), p
            the fraction of these generator steps done (then 1): early
            reversed gradients from a classifier that has not learnt anything
            yet only push the embeddings about.
        teacher: optional frozen Keras model mapping a face image batch
            [B, 64, 64, 3] in [-1, 1] to a [B, 1024] embedding (L_teach pulls
            e_face(x) towards it). Wrap any preprocessing or projection it needs
            into the model itself.

    Use `compile(g_optimizer=..., d_optimizer=...)` then `fit(dataset)`.
    """

    hyperparameter_class = XGANHyperparameters

    def __init__(self, gradient_reversal_ramp_steps: int = 0, teacher: keras.Model | None = None, **kwargs):
        super().__init__(**kwargs)
        if gradient_reversal_ramp_steps < 0:
            raise ValueError(f"gradient_reversal_ramp_steps must be >= 0, got {gradient_reversal_ramp_steps}")
        self.gradient_reversal_ramp_steps = int(gradient_reversal_ramp_steps)

        self.private_encoders = {domain: networks.build_private_encoder(domain) for domain in DOMAINS}
        self.shared_encoder = networks.build_shared_encoder()
        self.shared_decoder = networks.build_shared_decoder(self.upsampling)
        self.private_decoders = {domain: networks.build_private_decoder(domain, self.upsampling) for domain in DOMAINS}
        if self.mirror_private_init:
            for halves in (self.private_encoders, self.private_decoders):
                halves["cartoon"].set_weights(halves["face"].get_weights())
        self.domain_classifier = networks.build_domain_classifier(self.gradient_reversal_scale)
        self.discriminators = {
            domain: networks.build_discriminator(domain, self.spectral_norm)
            for domain in DISCRIMINATE_OPTIONS[self.discriminate]
        }
        self.teacher = teacher
        if teacher is not None:
            _check_teacher(teacher)
            teacher.trainable = False

        names = [
            "Discriminator_loss",
            "Generator_loss",
            "autoencoder_loss",
            "domain_adversarial_loss",
            "semantic_loss",
            "gan_loss",
            *SPREAD_TRACKERS.values(),
        ]
        names += ["domain_confusion_loss"] if self.domain_objective == "confusion" else []
        names += ["teacher_loss"] if teacher is not None else []
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.built = True  # every sub-network was built from its input shape above

    # -- the networks as the paper's functions ---------------------------------------------------

    def encode(self, images, domain: str, training: bool = False):
        """e_domain(images): [B, 64, 64, 3] -> [B, 1024]."""
        return self.shared_encoder(self.private_encoders[domain](images, training=training), training=training)

    def decode(self, embeddings, domain: str, training: bool = False):
        """d_domain(embeddings): [B, 1024] -> [B, 64, 64, 3] float32 in [-1, 1]."""
        return self.private_decoders[domain](self.shared_decoder(embeddings, training=training), training=training)

    def translate(self, images, direction: str):
        """`direction` "face2cartoon" (g_1->2) or "cartoon2face" (g_2->1), in inference mode."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        source, target = direction.split("2")
        return self.decode(self.encode(images, source), target)

    def call(self, inputs, training=None):
        """Faces -> cartoons."""
        return self.decode(self.encode(inputs, "face", training), "cartoon", training)

    @property
    def _classifier_trains_with_generator(self) -> bool:
        return self.domain_objective == "reversal"

    @property
    def generator_variables(self):
        """What the generator optimiser trains: encoders, decoders, and c_dann under gradient reversal."""
        trained = [
            *self.private_encoders.values(),
            self.shared_encoder,
            self.shared_decoder,
            *self.private_decoders.values(),
        ]
        trained += [self.domain_classifier] if self._classifier_trains_with_generator else []
        return [variable for network in trained for variable in network.trainable_variables]

    @property
    def discriminator_variables(self):
        """What the discriminator optimiser trains: each D_d, and c_dann under domain confusion."""
        trained = [*self.discriminators.values()]
        trained += [] if self._classifier_trains_with_generator else [self.domain_classifier]
        return [variable for network in trained for variable in network.trainable_variables]

    # -- losses -------------------------------------------------------------------------------

    def _translations(self, embeddings: dict, training: bool) -> dict:
        """{target domain: d_target(e_source(x))} from {source domain: e_source(x)}."""
        return {target: self.decode(embeddings[source], target, training) for source, target in TRANSLATIONS}

    def _discriminator_inputs(self, images: dict, training: bool) -> tuple[dict, dict]:
        """What a discriminator step reads: ({d: e_d(x)}, {d: g_other->d(x_other)} per discriminated d).

        Embeddings of both domains under domain confusion (c_dann trains on them), else only the sources of
        the discriminated translations.
        """
        if self._classifier_trains_with_generator:
            sources = {_other(target) for target in self.discriminators}
        else:
            sources = set(DOMAINS)
        embeddings = {domain: self.encode(images[domain], domain, training) for domain in sorted(sources)}
        translations = {
            target: self.decode(embeddings[_other(target)], target, training) for target in self.discriminators
        }
        return embeddings, translations

    def generator_losses(self, faces, cartoons, training: bool = False) -> dict:
        """Every generator-side loss on one batch, and their weighted sum "Generator_loss"."""
        images = {"face": faces, "cartoon": cartoons}
        embeddings = {domain: self.encode(images[domain], domain, training) for domain in DOMAINS}
        translations = self._translations(embeddings, training)

        autoencoder = sum(
            losses.reconstruction_loss(
                images[domain], self.decode(embeddings[domain], domain, training), self.reconstruction_distance
            )
            for domain in DOMAINS
        )
        domain_logits = {domain: self._domain_logits(embeddings[domain], training) for domain in DOMAINS}
        domain_adversarial = losses.domain_adversarial_loss(domain_logits["face"], domain_logits["cartoon"])
        encoders_domain_term = domain_adversarial
        if not self._classifier_trains_with_generator:
            encoders_domain_term = losses.domain_confusion_loss(domain_logits["face"], domain_logits["cartoon"])
        # L_sem,1->2 compares e_1(x) with e_2(g_1->2(x)): the translation is re-encoded by its own domain's encoder.
        semantic = sum(
            losses.semantic_consistency_loss(
                embeddings[source], self.encode(translations[target], target, training), self.semantic_distance
            )
            for source, target in TRANSLATIONS
        )
        gan = sum(
            losses.generator_adversarial_loss(discriminator(translations[domain], training=training), self.gan_loss)
            for domain, discriminator in self.discriminators.items()
        )
        result = {
            "autoencoder_loss": autoencoder,
            "domain_adversarial_loss": domain_adversarial,
            "semantic_loss": semantic,
            "gan_loss": gan,
            **{SPREAD_TRACKERS[domain]: embedding_spread(embeddings[domain]) for domain in DOMAINS},
        }
        if not self._classifier_trains_with_generator:
            result["domain_confusion_loss"] = encoders_domain_term
        translation_terms = (
            self.domain_adversarial_weight * encoders_domain_term
            + self.semantic_weight * semantic
            + self.adversarial_weight * gan
        )
        if self.teacher is not None:
            result["teacher_loss"] = losses.teacher_loss(
                embeddings["face"], self.teacher(faces, training=False), self.semantic_distance
            )
            translation_terms += self.teacher_weight * result["teacher_loss"]
        result["Generator_loss"] = self.reconstruction_weight * autoencoder + self.warmup() * translation_terms
        return result

    def _generator_steps(self):
        """The generator optimiser's step count as a float tensor; None before `compile`."""
        if getattr(self, "g_optimizer", None) is None:
            return None
        return ops.cast(self.g_optimizer.iterations, "float32")

    def warmup(self):
        """The factor on every term but L_rec: 0 up to step W, (step - W) / W up to 2W, then 1.

        1 without a warm-up, or before `compile` gave the model an optimiser.
        """
        steps = self._generator_steps()
        if not self.warmup_steps or steps is None:
            return 1.0
        return ops.clip((steps - self.warmup_steps) / self.warmup_steps, 0.0, 1.0)

    def gradient_reversal_ramp(self):
        """2 / (1 + exp(-10 p)) - 1 at the generator optimiser's step, p = step / ramp steps (capped at 1).

        1 without a ramp, or before `compile` gave the model an optimiser.
        """
        steps = self._generator_steps()
        if not self.gradient_reversal_ramp_steps or steps is None:
            return 1.0
        progress = ops.minimum(steps / self.gradient_reversal_ramp_steps, 1.0)
        return 2.0 / (1.0 + ops.exp(-10.0 * progress)) - 1.0

    def _domain_logits(self, embeddings, training: bool):
        """c_dann(e(x)); the encoders' share of its gradient follows the ramp.

        c_dann's first layer reverses that gradient; under domain confusion the encoders descend L_conf,
        so the embeddings pass a second reversal first.
        """
        ramp = self.gradient_reversal_ramp()
        scale = ramp if self._classifier_trains_with_generator else -ramp
        return self.domain_classifier(networks.scale_gradient(embeddings, scale), training=training)

    def domain_classifier_loss(self, embeddings: dict, training: bool = False):
        """L_dann as c_dann's own loss on given embeddings (its discriminator-side step under domain confusion)."""
        logits = {domain: self.domain_classifier(embeddings[domain], training=training) for domain in DOMAINS}
        return losses.domain_adversarial_loss(logits["face"], logits["cartoon"])

    def discriminator_loss(self, real_images: dict, translations: dict, training: bool = False):
        """Sum over the discriminated domains of D_d's loss on real images vs translations into d."""
        return sum(
            losses.discriminator_loss(
                discriminator(real_images[domain], training=training),
                discriminator(translations[domain], training=training),
                self.gan_loss,
            )
            for domain, discriminator in self.discriminators.items()
        )

    # -- Keras training API -------------------------------------------------------------------

    def train_step(self, data):
        faces, cartoons = data
        images = {"face": faces, "cartoon": cartoons}

        # Discriminator step: embeddings and translations are its inputs, not something it trains.
        embeddings, translations = self._discriminator_inputs(images, training=True)
        with tf.GradientTape() as tape:
            d_loss = self.discriminator_loss(images, translations, training=True)
            trained = d_loss
            if not self._classifier_trains_with_generator:
                trained += self.domain_classifier_loss(embeddings, training=True)
            scaled = gradients.scale_loss(self.d_optimizer, trained)
        gradients.apply_gradients(tape, self.d_optimizer, scaled, self.discriminator_variables)

        # Generator step, against the updated discriminators.
        with tf.GradientTape() as tape:
            g_losses = self.generator_losses(faces, cartoons, training=True)
            scaled = gradients.scale_loss(self.g_optimizer, g_losses["Generator_loss"])
        gradients.apply_gradients(tape, self.g_optimizer, scaled, self.generator_variables)

        return self._update_trackers({"Discriminator_loss": d_loss, **g_losses})

    def test_step(self, data):
        faces, cartoons = data
        images = {"face": faces, "cartoon": cartoons}
        d_loss = self.discriminator_loss(images, self._discriminator_inputs(images, training=False)[1])
        return self._update_trackers({"Discriminator_loss": d_loss, **self.generator_losses(faces, cartoons)})

    # -- inference and export -----------------------------------------------------------------

    def exportable_models(self) -> dict:
        """{"face2cartoon": g_1->2, "cartoon2face": g_2->1} as functional models over the live sub-networks."""
        return {
            f"{source}2{target}": networks.build_translator(
                self.private_encoders[source],
                self.shared_encoder,
                self.shared_decoder,
                self.private_decoders[target],
                source,
                target,
            )
            for source, target in TRANSLATIONS
        }

    def sample_grid(self, faces, cartoons) -> list:
        """Rows for an image grid: [(row name, float32 NumPy images [N, 64, 64, 3] in [-1, 1]), ...].

        face, face2cartoon, face2face (reconstruction), cartoon, cartoon2face, cartoon2cartoon.
        """
        rows = []
        for domain, images in (("face", faces), ("cartoon", cartoons)):
            embeddings = self.encode(images, domain)
            rows += [
                (domain, images),
                (f"{domain}2{_other(domain)}", self.decode(embeddings, _other(domain))),
                (f"{domain}2{domain}", self.decode(embeddings, domain)),
            ]
        return self.grid_rows(rows)

    # -- serialisation ------------------------------------------------------------------------

    def get_config(self):
        return {
            **super().get_config(),
            "gradient_reversal_ramp_steps": self.gradient_reversal_ramp_steps,
            "teacher": None if self.teacher is None else keras.saving.serialize_keras_object(self.teacher),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        teacher = config.pop("teacher", None)
        if teacher is not None:
            teacher = keras.saving.deserialize_keras_object(teacher)
        return cls(teacher=teacher, **config)


def _check_teacher(teacher: keras.Model) -> None:
    spec = teacher.compute_output_spec(keras.KerasTensor((None, *IMAGE_SHAPE)))
    if tuple(spec.shape[1:]) != (EMBEDDING_SIZE,):
        raise ValueError(
            f"the teacher must map [B, {', '.join(map(str, IMAGE_SHAPE))}] images to [B, {EMBEDDING_SIZE}] "
            f"embeddings; it gives {tuple(spec.shape)}"
        )
