"""ugatit.keypoints: the landmark predictor, its losses against NumPy, the pre-training schedule and callback."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from ugatit import keypoints

IMAGE_SIZE = 32


@pytest.fixture
def rng():
    return np.random.default_rng(5)


@pytest.fixture
def mixed_bfloat16():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def square_faces(count: int, image_size: int = IMAGE_SIZE, seed: int = 0):
    """Images of a bright square on a dark background; its 5 "landmarks" are a function of the image.

    lefteye, righteye = top corners; nose = centre; leftmouth, rightmouth = bottom corners, (x, y) in pixels.
    """
    rng = np.random.default_rng(seed)
    images = np.full((count, image_size, image_size, 3), -1.0, dtype=np.float32)
    landmarks = np.zeros((count, keypoints.LANDMARK_COUNT, 2), dtype=np.float32)
    for index in range(count):
        side = int(rng.integers(image_size // 4, image_size // 2 + 1))
        left, top = rng.integers(0, image_size - side + 1, size=2)
        images[index, top : top + side, left : left + side] = 1.0
        right, bottom = left + side, top + side
        centre = (left + side / 2, top + side / 2)
        landmarks[index] = [(left, top), (right, top), centre, (left, bottom), (right, bottom)]
    return images, landmarks


def face_dataset(count: int, batch_size: int = 8, seed: int = 0) -> tf.data.Dataset:
    images, landmarks = square_faces(count, seed=seed)
    return tf.data.Dataset.from_tensor_slices({"image": images, "landmarks": landmarks}).batch(batch_size)


def dataset_loss(predictor, dataset) -> float:
    losses = [
        float(keypoints.keypoint_loss(predictor(batch["image"]), batch["landmarks"], IMAGE_SIZE)) for batch in dataset
    ]
    return float(np.mean(losses))


# --- the predictor ---


def test_predictor_outputs_float32_landmarks(rng):
    predictor = keypoints.keypoint_predictor(IMAGE_SIZE)
    landmarks = predictor(rng.uniform(-1, 1, (3, IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32))
    assert tuple(landmarks.shape) == (3, keypoints.LANDMARK_COUNT, 2)
    assert landmarks.dtype == "float32"


def test_predictor_outputs_float32_under_mixed_bfloat16(rng, mixed_bfloat16):
    predictor = keypoints.keypoint_predictor(IMAGE_SIZE)
    assert predictor.get_layer("conv1").compute_dtype == "bfloat16"  # the policy is in force
    landmarks = predictor(rng.uniform(-1, 1, (2, IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32))
    assert tuple(landmarks.shape) == (2, keypoints.LANDMARK_COUNT, 2)
    assert landmarks.dtype == "float32"


def test_predictor_has_the_tutorial_layers_parameters():
    # At 64 px the valid 5x5 convs and 2x2 pools give 64 -> 60 -> 30 -> 26 -> 13, so 16 * 13 * 13 features.
    conv1 = 3 * 6 * 25 + 6
    conv2 = 6 * 16 * 25 + 16
    dense1 = 16 * 13 * 13 * 120 + 120
    dense2 = 120 * 84 + 84
    coordinates = 84 * 10 + 10
    assert keypoints.keypoint_predictor(64).count_params() == conv1 + conv2 + dense1 + dense2 + coordinates


def test_predictor_accepts_the_smallest_size_and_rejects_smaller():
    assert keypoints.keypoint_predictor(16).output_shape == (None, keypoints.LANDMARK_COUNT, 2)
    with pytest.raises(ValueError, match="at least 16 px.*image_size=15"):
        keypoints.keypoint_predictor(15)


# --- the losses ---


def np_pixel_differences(predicted_fractions, target_pixels, image_size):
    return predicted_fractions.astype(np.float64) * image_size - target_pixels.astype(np.float64)


def np_keypoint_loss(predicted_fractions, target_pixels, image_size):
    return np.mean(np_pixel_differences(predicted_fractions, target_pixels, image_size) ** 2)


def np_mean_keypoint_error(predicted_fractions, target_pixels, image_size):
    differences = np_pixel_differences(predicted_fractions, target_pixels, image_size)
    return np.mean(np.linalg.norm(differences, axis=-1))


def random_landmarks(rng, image_size=64, batch=4):
    predicted = rng.uniform(0, 1, (batch, keypoints.LANDMARK_COUNT, 2)).astype(np.float32)
    target = rng.uniform(0, image_size, (batch, keypoints.LANDMARK_COUNT, 2)).astype(np.float32)
    return predicted, target


@pytest.mark.parametrize(
    "loss, reference",
    [
        (keypoints.keypoint_loss, np_keypoint_loss),
        (keypoints.mean_keypoint_error, np_mean_keypoint_error),
    ],
)
def test_losses_match_numpy(rng, loss, reference):
    predicted, target = random_landmarks(rng, image_size=64)
    value = loss(predicted, target, 64)
    assert value.dtype == "float32"
    np.testing.assert_allclose(float(value), reference(predicted, target, 64), rtol=1e-6)


@pytest.mark.parametrize(
    "loss, reference",
    [
        (keypoints.keypoint_loss, np_keypoint_loss),
        (keypoints.mean_keypoint_error, np_mean_keypoint_error),
    ],
)
def test_losses_of_bfloat16_inputs_are_computed_in_float32(rng, loss, reference):
    predicted, target = (keras.ops.cast(array, "bfloat16") for array in random_landmarks(rng, image_size=64))
    value = loss(predicted, target, 64)
    assert value.dtype == "float32"
    as_float32 = (keras.ops.convert_to_numpy(keras.ops.cast(array, "float32")) for array in (predicted, target))
    np.testing.assert_allclose(float(value), reference(*as_float32, 64), rtol=1e-6)


def test_mean_keypoint_error_is_the_distance_in_pixels():
    predicted = np.full((1, keypoints.LANDMARK_COUNT, 2), 0.5, dtype=np.float32)  # (32, 32) at 64 px
    target = np.tile(np.float32([35, 36]), (1, keypoints.LANDMARK_COUNT, 1))  # off by (3, 4): 5 px
    np.testing.assert_allclose(float(keypoints.mean_keypoint_error(predicted, target, 64)), 5.0, rtol=1e-6)
    np.testing.assert_allclose(float(keypoints.keypoint_loss(predicted, target, 64)), (9 + 16) / 2, rtol=1e-6)


# --- the schedule ---


def test_schedule_runs_the_report_stages_at_block_starts_only():
    schedule = keypoints.PretrainingSchedule()
    assert [schedule.epochs_before(step) for step in (0, 10_000, 20_000, 30_000, 40_000)] == [3, 20, 40, 20, 0]
    assert [schedule.epochs_before(step) for step in (1, 9_999, 10_001, 25_000, 50_000, 80_000)] == [0] * 6
    assert schedule.stages == [(0, 3), (10_000, 20), (20_000, 40), (30_000, 20)]


def test_schedule_from_flag():
    schedule = keypoints.PretrainingSchedule.from_flag("1, 2", block_steps=5)
    assert schedule == keypoints.PretrainingSchedule(block_steps=5, epochs=(1, 2))
    assert [schedule.epochs_before(step) for step in range(11)] == [1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0]
    assert keypoints.PretrainingSchedule.from_flag("3,20,40,20", 10_000) == keypoints.PretrainingSchedule()


@pytest.mark.parametrize("text", ["", "3,x", "3,,20", "3,0", "-1", "2.5"])
def test_schedule_from_flag_rejects_what_is_not_positive_integers(text):
    with pytest.raises(ValueError, match=f"{text!r}: expected comma-separated positive integers"):
        keypoints.PretrainingSchedule.from_flag(text, 10_000)


def test_schedule_rejects_empty_blocks():
    with pytest.raises(ValueError, match="block_steps must be at least 1, got 0"):
        keypoints.PretrainingSchedule(block_steps=0)


# --- training ---


def test_train_predictor_lowers_the_loss_and_changes_every_variable():
    keras.utils.set_random_seed(0)
    dataset = face_dataset(32)
    predictor = keypoints.keypoint_predictor(IMAGE_SIZE)
    optimizer = keras.optimizers.Adam(3e-3)
    before = [variable.numpy().copy() for variable in predictor.trainable_variables]
    loss_before = dataset_loss(predictor, dataset)

    first_epoch_loss = keypoints.train_predictor(predictor, optimizer, dataset, epochs=1)
    last_epoch_loss = keypoints.train_predictor(predictor, optimizer, dataset, epochs=15)

    assert int(optimizer.iterations) == 16 * 4
    assert last_epoch_loss < 0.25 * first_epoch_loss
    assert dataset_loss(predictor, dataset) < 0.1 * loss_before
    unchanged = [
        variable.path
        for variable, initial in zip(predictor.trainable_variables, before)
        if np.array_equal(variable.numpy(), initial)
    ]
    assert unchanged == []


def test_train_predictor_refuses_an_endless_dataset():
    predictor = keypoints.keypoint_predictor(IMAGE_SIZE)
    with pytest.raises(ValueError, match="finite dataset"):
        keypoints.train_predictor(predictor, keras.optimizers.Adam(), face_dataset(8).repeat(), epochs=1)


def test_train_predictor_refuses_a_predictor_with_nothing_to_train():
    predictor = keypoints.keypoint_predictor(IMAGE_SIZE)
    predictor.trainable = False
    with pytest.raises(ValueError, match="keypoint_predictor has no trainable variables"):
        keypoints.train_predictor(predictor, keras.optimizers.Adam(), face_dataset(8), epochs=1)


# --- the callback ---


class ToyTranslator(keras.Model):
    """Holds what KeypointPretraining reads; each train step only counts a generator step."""

    def __init__(self, completed_steps: int = 0):
        super().__init__()
        self.keypoint_predictor = keypoints.keypoint_predictor(IMAGE_SIZE)
        self.keypoint_predictor_optimizer = keras.optimizers.Adam(1e-3)
        self.generator_weight = self.add_weight(shape=(), initializer="zeros", name="generator_weight")
        self.g_optimizer = keras.optimizers.Adam()
        self.g_optimizer.build([self.generator_weight])
        self.g_optimizer.iterations.assign(completed_steps)

    def call(self, inputs):
        return inputs

    def train_step(self, data):
        self.g_optimizer.iterations.assign_add(1)
        return {"generator_steps": self.g_optimizer.iterations}


PREDICTOR_BATCHES = 2  # face_dataset(16) in batches of 8
SCHEDULE = keypoints.PretrainingSchedule(block_steps=2, epochs=(1, 2))


def fit_toy(model: ToyTranslator, callback: keypoints.KeypointPretraining, steps: int):
    model.compile()
    model.fit(np.zeros((steps, 1), np.float32), batch_size=1, epochs=1, callbacks=[callback], verbose=0)


def test_pretraining_runs_each_stage_once_at_its_step():
    model = ToyTranslator()
    callback = keypoints.KeypointPretraining(SCHEDULE, face_dataset(16))
    fit_toy(model, callback, steps=5)  # steps 0..4: stages at 0 and 2; 4 is past the last stage
    assert int(model.g_optimizer.iterations) == 5
    assert [(step, epochs) for step, epochs, _ in callback.history] == [(0, 1), (2, 2)]
    assert all(np.isfinite(loss) for _, _, loss in callback.history)
    assert int(model.keypoint_predictor_optimizer.iterations) == (1 + 2) * PREDICTOR_BATCHES


def test_resumed_pretraining_runs_only_the_stages_ahead():
    model = ToyTranslator(completed_steps=2)  # the backup after steps 0 and 1: stage 0 ran before it
    callback = keypoints.KeypointPretraining(SCHEDULE, face_dataset(16))
    fit_toy(model, callback, steps=3)
    assert [(step, epochs) for step, epochs, _ in callback.history] == [(2, 2)]
    assert int(model.keypoint_predictor_optimizer.iterations) == 2 * PREDICTOR_BATCHES


def test_pretraining_handles_a_step_once_when_called_twice():
    model = ToyTranslator()
    callback = keypoints.KeypointPretraining(SCHEDULE, face_dataset(16))
    callback.set_model(model)
    callback.on_train_batch_begin(0)
    callback.on_train_batch_begin(0)  # a second fit() at the same step
    assert [(step, epochs) for step, epochs, _ in callback.history] == [(0, 1)]
    assert int(model.keypoint_predictor_optimizer.iterations) == PREDICTOR_BATCHES
