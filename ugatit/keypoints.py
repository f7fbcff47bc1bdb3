"""The facial-keypoint predictor and loss that the report adds to U-GAT-IT (CelebA -> anime).

The report adds a small CNN that regresses the 5 CelebA landmarks (lefteye,
righteye, nose, leftmouth, rightmouth; 10 coordinates). It also adds a loss
on the reconstructed source images, G_t->s(G_s->t(x)), against x's landmarks
(MSE), so translation keeps the face's geometry.

The predictor is "the PyTorch CIFAR-10 tutorial CNN, slightly modified,
regressing 10 coordinates with MSE". It is pre-trained in stages during GAN
training and frozen between them, because "a predictor trained to convergence
first blocks translation": `PretrainingSchedule` says when and for how many
epochs, `train_predictor` trains it, and the `KeypointPretraining` callback
runs the stages at the right generator steps.

`keypoint_predictor`, `keypoint_loss` and `mean_keypoint_error` are pure
Keras (any backend). The training code uses TensorFlow.
"""

from __future__ import annotations

import dataclasses
import math
import sys

import keras
import tensorflow as tf
from keras import layers, ops

from training import gradients

LANDMARK_COUNT = 5
# Two "valid" 5x5 convolutions, each followed by a 2x2 max-pool, need at least this image side.
MIN_IMAGE_SIZE = 16


def keypoint_predictor(image_size: int, name: str = "keypoint_predictor") -> keras.Model:
    """The landmark regressor: [B, S, S, 3] images in [-1, 1] -> [B, 5, 2] float32 (x/S, y/S) per landmark.

    The layers are those of the PyTorch CIFAR-10 tutorial CNN, which the
    report uses "slightly modified, regressing 10 coordinates": Conv5x5 6 +
    ReLU, MaxPool 2, Conv5x5 16 + ReLU, MaxPool 2, Dense 120 + ReLU, Dense 84
    + ReLU, Dense 10. Its convolutions are "valid", as in the tutorial.

    The outputs are fractions of the image side, not pixels, so the targets
    are the same at every image size; `keypoint_loss` turns them into pixels.
    The last layers are float32, so the output is float32 under mixed precision.
    """
    if image_size < MIN_IMAGE_SIZE:
        raise ValueError(
            f"keypoint_predictor needs images of at least {MIN_IMAGE_SIZE} px for its two 5x5 valid conv + 2x2 pool "
            f"stages; got image_size={image_size}"
        )
    images = keras.Input((image_size, image_size, 3), name="image")
    features = layers.Conv2D(6, 5, padding="valid", activation="relu", name="conv1")(images)
    features = layers.MaxPooling2D(2, name="pool1")(features)
    features = layers.Conv2D(16, 5, padding="valid", activation="relu", name="conv2")(features)
    features = layers.MaxPooling2D(2, name="pool2")(features)
    features = layers.Flatten(name="flatten")(features)
    features = layers.Dense(120, activation="relu", name="dense1")(features)
    features = layers.Dense(84, activation="relu", name="dense2")(features)
    coordinates = layers.Dense(2 * LANDMARK_COUNT, dtype="float32", name="coordinates")(features)
    landmarks = layers.Reshape((LANDMARK_COUNT, 2), dtype="float32", name="landmarks")(coordinates)
    return keras.Model(images, landmarks, name=name)


def _pixel_differences(predicted_fractions, target_pixels, image_size):
    """predicted_fractions * image_size - target_pixels, in float32: [B, 5, 2] (x, y) pixel differences."""
    predicted_pixels = ops.cast(predicted_fractions, "float32") * ops.cast(image_size, "float32")
    return predicted_pixels - ops.cast(target_pixels, "float32")


def keypoint_loss(predicted_fractions, target_pixels, image_size):
    """The report's keypoint loss: MSE between predicted and target landmarks, in pixels of the training image.

        L_kp = mean over batch, landmarks and (x, y) of (predicted_fractions * S - target_pixels)^2

    It trains the predictor, and in U-GAT-IT it is applied to the predictor's
    landmarks on the reconstructions G_t->s(G_s->t(x)), against x's
    landmarks. It is in pixels, not fractions, so that it is in the same range as
    the adversarial loss, as the report describes: "keypoint loss and
    adversarial loss were numerically in similar ranges after being trained for
    roughly 3 epochs". Inputs may be float16 or bfloat16; it is computed in float32.
    """
    return ops.mean(ops.square(_pixel_differences(predicted_fractions, target_pixels, image_size)))


def mean_keypoint_error(predicted_fractions, target_pixels, image_size):
    """Mean Euclidean distance in pixels between predicted and target landmarks, in float32.

    An error a person can read ("landmarks are off by 3 px on average"),
    unlike the squared loss.
    """
    differences = _pixel_differences(predicted_fractions, target_pixels, image_size)
    return ops.mean(ops.sqrt(ops.sum(ops.square(differences), axis=-1)))


@dataclasses.dataclass(frozen=True)
class PretrainingSchedule:
    """When and for how long the predictor is pre-trained during GAN training; it is frozen otherwise.

    The report trains the predictor 3 epochs before the first block of 10K
    generator steps, 20 more before the second, 40 before the third and 20
    before the fourth, and freezes it in between and after: "a predictor
    trained to convergence first blocks translation". One epoch is one pass
    over the face training set.
    """

    block_steps: int = 10_000
    epochs: tuple[int, ...] = (3, 20, 40, 20)

    def __post_init__(self):
        object.__setattr__(self, "epochs", tuple(self.epochs))
        if self.block_steps < 1:
            raise ValueError(f"PretrainingSchedule: block_steps must be at least 1, got {self.block_steps}")
        if not self.epochs or any(epochs < 1 for epochs in self.epochs):
            raise ValueError(f"PretrainingSchedule: epochs must be positive integers, got {self.epochs}")

    @classmethod
    def from_flag(cls, text: str, block_steps: int = 10_000) -> PretrainingSchedule:
        """The schedule of a flag such as "3,20,40,20": the epochs before each block of `block_steps` steps."""
        try:
            epochs = tuple(int(part) for part in text.split(","))
        except ValueError:
            epochs = ()
        if not epochs or any(epochs_of_stage < 1 for epochs_of_stage in epochs):
            raise ValueError(
                f"keypoint pretraining epochs {text!r}: expected comma-separated positive integers, e.g. '3,20,40,20'"
            )
        return cls(block_steps=block_steps, epochs=epochs)

    def epochs_before(self, step: int) -> int:
        """The predictor epochs to train when `step` generator steps are done and the next one is about to run."""
        block, offset = divmod(step, self.block_steps)
        if step < 0 or offset != 0 or block >= len(self.epochs):
            return 0
        return self.epochs[block]

    @property
    def stages(self) -> list[tuple[int, int]]:
        """[(generator step the stage runs at, epochs)], e.g. [(0, 3), (10000, 20), (20000, 40), (30000, 20)]."""
        return [(block * self.block_steps, epochs) for block, epochs in enumerate(self.epochs)]


def train_predictor(predictor: keras.Model, optimizer: keras.optimizers.Optimizer, dataset, epochs: int) -> float:
    """Trains `predictor` for `epochs` passes over `dataset` with `keypoint_loss`; returns the last epoch's mean loss.

    `dataset` is finite (a tf.data.Dataset or any re-iterable) of dicts
    {"image": [B, S, S, 3] float32 in [-1, 1], "landmarks": [B, 5, 2] float32 (x, y) in pixels}.
    The mean is over the epoch's batches. Logs one line per epoch.
    """
    if epochs < 1:
        raise ValueError(f"train_predictor: epochs must be at least 1, got {epochs}")
    if isinstance(dataset, tf.data.Dataset) and dataset.cardinality() == tf.data.INFINITE_CARDINALITY:
        raise ValueError("train_predictor needs a finite dataset (one pass is one epoch); this one repeats forever")
    variables = predictor.trainable_variables
    if not variables:
        raise ValueError(
            f"train_predictor: {predictor.name} has no trainable variables (trainable=False?); "
            "keep it trainable and leave its variables out of the generator's update to freeze it between stages"
        )
    if not optimizer.built:
        optimizer.build(variables)

    @tf.function
    def train_step(images, target_pixels):
        image_size = images.shape[1] or tf.shape(images)[1]
        with tf.GradientTape() as tape:
            loss = keypoint_loss(predictor(images, training=True), target_pixels, image_size)
            scaled = gradients.scale_loss(optimizer, loss)
        gradients.apply_gradients(tape, optimizer, scaled, variables)
        return loss

    mean_loss = math.nan
    for epoch in range(1, epochs + 1):
        losses = [float(train_step(batch["image"], batch["landmarks"])) for batch in dataset]
        if not losses:
            raise ValueError("train_predictor: the dataset has no batches")
        mean_loss = sum(losses) / len(losses)
        print(
            f"Keypoint predictor epoch {epoch}/{epochs}: keypoint loss {mean_loss:.4g} (px^2)",
            file=sys.stderr,
            flush=True,
        )
    return mean_loss


class KeypointPretraining(keras.callbacks.Callback):
    """Runs the schedule's predictor pre-training stages before the generator steps they precede.

    The model it is attached to holds `keypoint_predictor`,
    `keypoint_predictor_optimizer` and `g_optimizer`; the step is
    `g_optimizer.iterations` (completed generator steps), which a resumed run
    restores. So a run resumed at step 10000 runs the stage at 10000 once, and
    a resumed run never repeats a stage it finished before its backup (a
    backup at step s is taken after step s; the stage at step s runs before
    step s + 1). A step is handled once, even when `fit` is called twice and
    `on_train_batch_begin` fires twice at the same step.

    `history` lists the stages run as (step, epochs, last epoch's mean loss).
    """

    def __init__(self, schedule: PretrainingSchedule, dataset):
        super().__init__()
        self.schedule = schedule
        self.dataset = dataset
        self.history: list[tuple[int, int, float]] = []
        self._handled_steps: set[int] = set()

    def on_train_batch_begin(self, batch, logs=None):
        step = int(self.model.g_optimizer.iterations)
        epochs = self.schedule.epochs_before(step)
        if epochs == 0 or step in self._handled_steps:
            return
        self._handled_steps.add(step)
        # stderr: Keras's progress bar on stdout is mid-line here.
        print(
            f"Keypoint predictor pre-training before generator step {step + 1}: {epochs} epochs",
            file=sys.stderr,
            flush=True,
        )
        loss = train_predictor(
            self.model.keypoint_predictor, self.model.keypoint_predictor_optimizer, self.dataset, epochs
        )
        self.history.append((step, epochs, loss))
