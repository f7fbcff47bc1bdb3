"""U-GAT-IT: two attention generators and four attention discriminators on unpaired images (Kim et al. 2020).

Domain A is the faces (the paper's source s, selfies), B the cartoons (its
target t, anime). genA2B = G_s→t and genB2A = G_t→s; disGA / disLA are the
global / local discriminators of domain A (judging genB2A's outputs), disGB /
disLB those of B: the reference's names. One training step is the
reference's iteration:

1. translate a -> genA2B(a) and b -> genB2A(b), and map each domain to
   itself (genB2A(a), genA2B(b), for the identity loss): one pass per
   generator over a and b together;
2. the discriminator step: every discriminator on real images of its domain
   against the (detached) translations, least squares on the patch and CAM
   logits, weight λ1;
3. the generator step: λ1 adversarial (patch and CAM logits of all four
   discriminators, after their update) + λ2 cycle + λ3 identity + λ4 CAM
   terms, summed over both directions, minimised by one optimizer over both
   generators. ρ of every AdaLIN and ILN is clipped to [0, 1] after it.
   Each generator's first MLP kernel (268M weights in full mode) gets its
   gradient in one product over its two uses (`ugatit.kernel_gradients`),
   applied a row block at a time (`ugatit.factored_updates`).

The translations of step 1 are made once, on the generator step's tape, and
reused by step 2: the generators do not change between the two steps, so
this gives the reference's numbers without its second pair of passes.

With a keypoint loss (the U-GAT-IT-with-keypoints report), a frozen
predictor (`ugatit.keypoints`) locates the 5 landmarks on the faces'
reconstructions genB2A(genA2B(a)), and their squared pixel distance to a's
landmarks is added: M1 weighted by the cycle weight, M2 by the adversarial
weight (the report's best), or M3 minimised by a separate optimizer on
genA2B alone, after the generator step.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from training import gradients
from training.gan_model import GANModel
from training.hyperparameters import HasHyperparameters
from training.images import heatmap_overlay, to_unit_range
from ugatit import factored_updates, kernel_gradients, keypoints, losses, networks
from ugatit.hyperparameters import UGATITHyperparameters

# Generator name: (source domain, target domain, direction).
GENERATORS = {"genA2B": ("A", "B", "face2cartoon"), "genB2A": ("B", "A", "cartoon2face")}
DIRECTIONS = tuple(direction for _, _, direction in GENERATORS.values())
# Discriminator name: (domain it judges, layers).
DISCRIMINATORS = {
    "disGA": ("A", networks.GLOBAL_DISCRIMINATOR_LAYERS),
    "disLA": ("A", networks.LOCAL_DISCRIMINATOR_LAYERS),
    "disGB": ("B", networks.GLOBAL_DISCRIMINATOR_LAYERS),
    "disLB": ("B", networks.LOCAL_DISCRIMINATOR_LAYERS),
}
KEYPOINT_METHODS = ("off", "m1", "m2", "m3")
KEYPOINT_PREDICTOR_LEARNING_RATE = 1e-3
LOSS_TERMS = ("adversarial", "cycle", "identity", "cam")
TRACKERS = ("D_A", "D_B", *(f"{term}_{domain}" for domain in "AB" for term in LOSS_TERMS), "keypoint")


class UGATIT(HasHyperparameters, GANModel):
    """U-GAT-IT at one image size; `model(a)` is genA2B's translation of faces a in [-1, 1].

    Args:
      **hyperparameters: the fields of `UGATITHyperparameters`: the image size (256 in the paper), the light
        generators (their MLP sees pooled features; 10.6M parameters each instead of 279M at 256 px), the width
        of every network's first convolution (the reference's --ch), and λ1 - λ4 (adversarial_weight,
        cycle_weight, identity_weight, cam_weight: 1, 10, 10, 1000).
      keypoint_method: "off", or how the keypoint loss joins: "m1" (x cycle weight), "m2" (x adversarial
        weight), "m3" (its own optimizer, genA2B only).
      The training batch is (a, b), or (a, b, a's landmarks [B, 5, 2] in pixels) with a keypoint loss.
    """

    hyperparameter_class = UGATITHyperparameters

    def __init__(self, keypoint_method: str = "off", **kwargs):
        super().__init__(**kwargs)
        if keypoint_method not in KEYPOINT_METHODS:
            raise ValueError(f"keypoint_method must be one of {KEYPOINT_METHODS}, got {keypoint_method!r}")
        self.keypoint_method = keypoint_method
        self.generators = {
            name: networks.ugatit_generator(self.image_size, self.light, self.filters, name=name) for name in GENERATORS
        }
        self.discriminators = {
            name: networks.ugatit_discriminator(self.image_size, n_layers, self.filters, name=name)
            for name, (_, n_layers) in DISCRIMINATORS.items()
        }
        # The translation alone (no CAM outputs): what translate CLIs, evaluation and export use.
        self.translators = {
            direction: keras.Model(network.input, network.outputs[0], name=direction)
            for direction, network in zip(DIRECTIONS, self.generators.values())
        }
        if self.keypoint_method != "off":
            self.keypoint_predictor = keypoints.keypoint_predictor(self.image_size)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in TRACKERS}

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        """One optimizer per player; with a keypoint loss also the predictor's (Adam 1e-3, for its staged
        pre-training), and for M3 `keypoint_optimizer`, a fresh copy of `g_optimizer` for genA2B alone."""
        super().compile(g_optimizer, d_optimizer, **kwargs)
        if self.keypoint_method == "off":
            return
        self.keypoint_predictor_optimizer = keras.optimizers.Adam(
            KEYPOINT_PREDICTOR_LEARNING_RATE, name="keypoint_predictor_optimizer"
        )
        self.keypoint_predictor_optimizer.build(self.keypoint_predictor.trainable_variables)
        if self.keypoint_method == "m3":
            self.keypoint_optimizer = keras.optimizers.deserialize(keras.optimizers.serialize(g_optimizer))
            self.keypoint_optimizer.build(self.generators["genA2B"].trainable_variables)

    def call(self, inputs, training=None):
        """A -> B: genA2B's translation of `inputs`."""
        return self.generators["genA2B"](inputs, training=training)[0]

    def translate(self, images, direction: str):
        """`direction` "face2cartoon" (genA2B) or "cartoon2face" (genB2A), in inference mode."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        return self.translators[direction](images, training=False)

    # -- losses ---------------------------------------------------------------------------------

    def translate_all(self, a, b, training: bool = False) -> dict:
        """{"A2B": genA2B(a), "B2B": genA2B(b), "B2A": genB2A(b), "A2A": genB2A(a)}, as (image, CAM logits, heatmap).

        The translations and the identity mappings, in one pass per generator
        over its own domain's images and the other's, concatenated: every layer
        works per image (instance and layer statistics, CAM pooling), so each
        output is the one a separate pass gives, while the generator's weights
        are read once and, on a tape, its weight gradients come as one partial
        sum instead of two (268M weights each in full mode).
        """
        translated = {}
        for name, (source, target, _) in GENERATORS.items():
            own, other = (a, b) if source == "A" else (b, a)
            outputs = self.generators[name](ops.concatenate([own, other], axis=0), training=training)
            count = ops.shape(own)[0]
            translated[f"{source}2{target}"] = tuple(output[:count] for output in outputs)
            translated[f"{target}2{target}"] = tuple(output[count:] for output in outputs)
        return translated

    def _judge(self, domain: str, images, training: bool) -> dict:
        """{discriminator name: its outputs} of the two discriminators of `domain` ("A" or "B")."""
        return {
            name: self.discriminators[name](images, training=training)
            for name, (judged, _) in DISCRIMINATORS.items()
            if judged == domain
        }

    def discriminator_losses(self, a, b, fake_a, fake_b, training: bool = False) -> dict:
        """{"D_A": λ1 Σ over disGA, disLA of the least-squares loss on real a vs fake_a, "D_B": likewise}."""
        terms = {}
        for domain, real, fake in (("A", a, fake_a), ("B", b, fake_b)):
            real_outputs, fake_outputs = self._judge(domain, real, training), self._judge(domain, fake, training)
            terms[f"D_{domain}"] = self.adversarial_weight * sum(
                losses.adversarial_discriminator_loss(real_outputs[name], fake_outputs[name]) for name in real_outputs
            )
        return terms

    def generator_losses(self, a, b, translated: dict, landmarks=None, training: bool = False) -> dict:
        """{tracker: weighted term}: their sum (without "keypoint" under M3) is what the generators minimise.

        `translated` is `translate_all(a, b)`; "<term>_A" are the terms of
        genB2A's output domain A, as the reference groups them in G_loss_A.
        """
        fake_b, cam_a2b, _ = translated["A2B"]
        fake_a, cam_b2a, _ = translated["B2A"]
        same_a, cam_a2a, _ = translated["A2A"]
        same_b, cam_b2b, _ = translated["B2B"]
        reconstructed_a = self.generators["genB2A"](fake_b, training=training)[0]
        reconstructed_b = self.generators["genA2B"](fake_a, training=training)[0]
        terms = {}
        for domain, real, fake, reconstructed, same, source_cam, target_cam in (
            ("A", a, fake_a, reconstructed_a, same_a, cam_b2a, cam_a2a),
            ("B", b, fake_b, reconstructed_b, same_b, cam_a2b, cam_b2b),
        ):
            judged = self._judge(domain, fake, training)
            adversarial = sum(losses.adversarial_generator_loss(outputs) for outputs in judged.values())
            terms[f"adversarial_{domain}"] = self.adversarial_weight * adversarial
            terms[f"cycle_{domain}"] = self.cycle_weight * losses.cycle_loss(real, reconstructed)
            terms[f"identity_{domain}"] = self.identity_weight * losses.identity_loss(real, same)
            terms[f"cam_{domain}"] = self.cam_weight * losses.generator_cam_loss(source_cam, target_cam)
        terms["keypoint"] = self._keypoint_term(reconstructed_a, landmarks)
        return terms

    def _keypoint_term(self, reconstructed_faces, landmarks):
        """The keypoint loss as the generators' sum takes it: x cycle weight (M1), x adversarial weight (M2);
        unweighted (logged only) for M3, 0 without one."""
        if self.keypoint_method == "off" or landmarks is None:
            return ops.zeros((), "float32")
        loss = self.reconstruction_keypoint_loss(reconstructed_faces, landmarks)
        weight = {"m1": self.cycle_weight, "m2": self.adversarial_weight, "m3": 1.0}[self.keypoint_method]
        return weight * loss

    def reconstruction_keypoint_loss(self, reconstructed_faces, landmarks):
        """The report's loss: the frozen predictor's landmarks on the reconstructions vs the faces', in pixels²."""
        predicted = self.keypoint_predictor(reconstructed_faces, training=False)
        return keypoints.keypoint_loss(predicted, landmarks, self.image_size)

    # -- Keras training API ---------------------------------------------------------------------

    def train_step(self, data):
        a, b, landmarks = _unpack(data)
        generator_tape = tf.GradientTape()
        kernel_recording = kernel_gradients.KernelGradientRecording(generator_tape)
        with generator_tape, kernel_recording:
            translated = self.translate_all(a, b, training=True)
        d_terms = self._discriminator_step(a, b, translated)
        with generator_tape, kernel_recording:  # the same tape, recording on: the generators have not changed
            g_terms = self.generator_losses(a, b, translated, landmarks, training=True)
            g_loss = sum(value for name, value in g_terms.items() if name != "keypoint" or self.keypoint_method != "m3")
            scaled = gradients.scale_loss(self.g_optimizer, g_loss)
        factored_updates.apply_recorded_gradients(
            generator_tape, self.g_optimizer, scaled, self.generator_variables, kernel_recording
        )
        if self.keypoint_method == "m3" and landmarks is not None:
            g_terms["keypoint"] = self._keypoint_step(a, landmarks)
        return self._update_trackers({**d_terms, **g_terms})

    def _discriminator_step(self, a, b, translated: dict) -> dict:
        fake_a, fake_b = ops.stop_gradient(translated["B2A"][0]), ops.stop_gradient(translated["A2B"][0])
        with tf.GradientTape() as tape:
            d_terms = self.discriminator_losses(a, b, fake_a, fake_b, training=True)
            scaled = gradients.scale_loss(self.d_optimizer, d_terms["D_A"] + d_terms["D_B"])
        gradients.apply_gradients(tape, self.d_optimizer, scaled, self.discriminator_variables)
        return d_terms

    def _keypoint_step(self, a, landmarks):
        """M3: genA2B alone takes a step of its own optimizer on the keypoint loss of the updated generators."""
        gen_a2b = self.generators["genA2B"]
        with tf.GradientTape() as tape:
            reconstructed = self.generators["genB2A"](gen_a2b(a, training=True)[0], training=True)[0]
            loss = self.reconstruction_keypoint_loss(reconstructed, landmarks)
            scaled = gradients.scale_loss(self.keypoint_optimizer, loss)
        gradients.apply_gradients(tape, self.keypoint_optimizer, scaled, gen_a2b.trainable_variables)
        return loss

    def test_step(self, data):
        a, b, landmarks = _unpack(data)
        translated = self.translate_all(a, b)
        d_terms = self.discriminator_losses(a, b, translated["B2A"][0], translated["A2B"][0])
        return self._update_trackers({**d_terms, **self.generator_losses(a, b, translated, landmarks)})

    # -- inference and export -------------------------------------------------------------------

    def exportable_models(self) -> dict:
        """{"face2cartoon": genA2B's translation, "cartoon2face": genB2A's}, without the CAM outputs."""
        return dict(self.translators)

    def sample_grid(self, a, b, landmarks=None) -> list:
        """Rows for an image grid, per domain: the input, the generator's CAM heatmap over it, the translation,
        the global and local discriminators' CAM heatmaps over the translation, the reconstruction."""
        rows = []
        for source, images, forward, backward in (("face", a, "genA2B", "genB2A"), ("cartoon", b, "genB2A", "genA2B")):
            translated, _, generator_heatmap = self.generators[forward](images, training=False)
            judged = self._judge("B" if forward == "genA2B" else "A", translated, training=False)
            (global_name, global_outputs), (local_name, local_outputs) = judged.items()
            rows += [
                (source, images),
                (f"{forward} CAM", _overlay(images, generator_heatmap)),
                (forward, translated),
                (f"{global_name} CAM", _overlay(translated, global_outputs[2])),
                (f"{local_name} CAM", _overlay(translated, local_outputs[2])),
                (f"{backward}({forward})", self.generators[backward](translated, training=False)[0]),
            ]
        return self.grid_rows(rows)

    # -- serialisation --------------------------------------------------------------------------

    def get_config(self):
        return {**super().get_config(), "keypoint_method": self.keypoint_method}


def _unpack(data) -> tuple:
    """(a, b, landmarks or None) of a batch (a, b) or (a, b, a's landmarks)."""
    a, b, *rest = data
    return a, b, (rest[0] if rest else None)


def _overlay(images, heatmaps):
    """A heatmap over its images, as an image row in [-1, 1] (the grid's convention)."""
    return heatmap_overlay(to_unit_range(images), keras.ops.convert_to_numpy(heatmaps)) * 2.0 - 1.0
