"""training.keras_internals: each private Keras member the project uses still does what its wrapper relies on.

A Keras release may rename or rewire private members; the code using them
would then stop working, some of it without an error. One test per member:
each fails naming the member and the installed Keras version.
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np
import pytest

from tests.training.conftest import event_files, read_events
from training import keras_internals


def _changed(member: str, what: str) -> str:
    return (
        f"Keras {keras.__version__}'s {member} {what}; training.keras_internals wraps it as Keras "
        f"{keras_internals.WRITTEN_FOR_KERAS} defines it: adapt the wrapper to this Keras"
    )


@contextlib.contextmanager
def _member(member: str):
    """Turns a missing or re-signatured member into a failure naming it."""
    try:
        yield
    except (AttributeError, TypeError, KeyError, IndexError) as error:
        pytest.fail(_changed(member, f"is gone or takes other arguments ({type(error).__name__}: {error})"))


def _adam_after_one_step(gradients):
    """An Adam (β1 0.5, β2 0.9) after one step of `gradients` on as many variables, and the variables."""
    variables = [keras.Variable(np.ones_like(gradient)) for gradient in gradients]
    optimizer = keras.optimizers.Adam(0.1, beta_1=0.5, beta_2=0.9)
    optimizer.apply([np.asarray(gradient) for gradient in gradients], variables)
    return optimizer, variables


def test_adam_momentums_hold_the_first_moments():
    gradient = np.array([1.0, -2.0], "float32")
    optimizer, (variable,) = _adam_after_one_step([gradient])
    with _member("Adam._momentums"):
        momentum, _ = keras_internals.adam_moments(optimizer, variable)
    assert np.allclose(momentum, 0.5 * gradient), _changed("Adam._momentums", "no longer holds m = (1 - β1) g")


def test_adam_velocities_hold_the_second_moments():
    gradient = np.array([1.0, -2.0], "float32")
    optimizer, (variable,) = _adam_after_one_step([gradient])
    with _member("Adam._velocities"):
        _, velocity = keras_internals.adam_moments(optimizer, variable)
    assert np.allclose(velocity, 0.1 * gradient**2), _changed("Adam._velocities", "no longer holds v = (1 - β2) g²")


def test_get_variable_index_finds_each_variables_own_moments():
    gradients = [np.full(2, 1.0, "float32"), np.full(3, 4.0, "float32")]
    optimizer, variables = _adam_after_one_step(gradients)
    for variable, gradient in zip(variables, gradients):
        with _member("BaseOptimizer._get_variable_index"):
            momentum, _ = keras_internals.adam_moments(optimizer, variable)
        assert momentum.shape == gradient.shape and np.allclose(momentum, 0.5 * gradient), _changed(
            "BaseOptimizer._get_variable_index", "no longer gives a variable's position in Adam's moment lists"
        )


def test_get_current_learning_rate_is_the_schedule_at_the_step():
    schedule = keras.optimizers.schedules.PolynomialDecay(1.0, decay_steps=10, end_learning_rate=0.0)
    optimizer = keras.optimizers.SGD(schedule)
    optimizer.build([keras.Variable(np.ones(1, "float32"))])
    optimizer.iterations.assign(4)
    with _member("BaseOptimizer._get_current_learning_rate"):
        rate = float(keras_internals.current_learning_rate(optimizer))
    assert rate == pytest.approx(0.6), _changed(
        "BaseOptimizer._get_current_learning_rate()", f"gives {rate} at step 4 of a schedule at 0.6 there"
    )


def test_use_weight_decay_honours_the_exclusions():
    kernel, bias = (
        keras.Variable(np.ones(2, "float32"), name="kernel"),
        keras.Variable(np.ones(2, "float32"), name="bias"),
    )
    optimizer = keras.optimizers.AdamW(0.1, weight_decay=0.5)
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    optimizer.build([kernel, bias])
    with _member("BaseOptimizer._use_weight_decay"):
        decided = (keras_internals.decays(optimizer, kernel), keras_internals.decays(optimizer, bias))
    assert decided == (True, False), _changed(
        "BaseOptimizer._use_weight_decay(variable)", f"decides {decided} for (a kernel, an excluded bias)"
    )


def test_apply_weight_decay_is_the_decoupled_decay_the_mixin_turns_off():
    class WithoutDecay(keras_internals.WithoutDecoupledWeightDecay, keras.optimizers.AdamW):
        pass

    weights = {}
    for optimizer in (keras.optimizers.AdamW(0.1, weight_decay=0.5), WithoutDecay(0.1, weight_decay=0.5)):
        variable = keras.Variable(np.ones(2, "float32"))
        optimizer.apply([np.zeros(2, "float32")], [variable])  # Adam's own step is 0: only the decay moves it
        weights[type(optimizer).__name__] = variable.numpy()
    assert np.allclose(weights["AdamW"], 1 - 0.1 * 0.5), "the reference AdamW did not decay: the test is broken"
    assert np.allclose(weights["WithoutDecay"], 1.0), _changed(
        "BaseOptimizer._apply_weight_decay(variables)", "is no longer the step that decays the weights decoupled"
    )


def _loss_scaled(initial_scale: float = 8.0):
    optimizer = keras.optimizers.LossScaleOptimizer(
        keras.optimizers.Adam(0.1), initial_scale=initial_scale, dynamic_growth_steps=2
    )
    optimizer.build([keras.Variable(np.ones(2, "float32"))])
    return optimizer


def test_stateful_handle_finite_grads_counts_the_step_and_grows_the_scale():
    optimizer = _loss_scaled()
    with _member("LossScaleOptimizer._stateful_handle_finite_grads"):
        keras_internals.count_finite_loss_scaled_step(optimizer)
        keras_internals.count_finite_loss_scaled_step(optimizer)
    scale, steps = float(optimizer.dynamic_scale), int(optimizer.inner_optimizer.iterations)
    assert (scale, steps) == (16.0, 0), _changed(
        "LossScaleOptimizer._stateful_handle_finite_grads([], [])",
        f"leaves scale {scale} and inner iterations {steps} after 2 finite steps (expected 16.0 and 0)",
    )


def test_stateful_handle_non_finite_grads_halves_the_scale_and_restarts_the_count():
    optimizer = _loss_scaled()
    keras_internals.count_finite_loss_scaled_step(optimizer)
    with _member("LossScaleOptimizer._stateful_handle_non_finite_grads"):
        keras_internals.skip_non_finite_loss_scaled_step(optimizer)
    keras_internals.count_finite_loss_scaled_step(optimizer)  # the count restarted: 1 of 2, no growth yet
    scale = float(optimizer.dynamic_scale)
    assert scale == 4.0, _changed(
        "LossScaleOptimizer._stateful_handle_non_finite_grads()",
        f"leaves scale {scale} (expected 8 halved, its count of finite steps restarted)",
    )


@pytest.fixture(scope="module")
def tensorboard_run(tmp_path_factory):
    """What a `TensorBoardHooks` subclass saw of one epoch of 2 steps, its batch count started at 10."""
    log_dir = tmp_path_factory.mktemp("tensorboard")
    calls = []

    class Recorder(keras_internals.TensorBoardHooks):
        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            self.count_batches_from(10)

        def log_epoch_metrics(self, epoch, logs):
            calls.append(f"log_epoch_metrics({epoch})")
            super().log_epoch_metrics(epoch, logs)

        def collect_learning_rate(self, logs):
            calls.append("collect_learning_rate")
            return super().collect_learning_rate(logs)

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    recorder = Recorder(str(log_dir), update_freq=1, write_graph=False)
    model.fit(np.zeros((4, 2)), np.zeros((4, 1)), batch_size=2, epochs=1, callbacks=[recorder], verbose=0)
    return calls, sorted(read_events(event_files(log_dir / "train")).get("batch_loss", {}))


def test_tensorboard_log_epoch_metrics_writes_the_epoch_scalars(tensorboard_run):
    calls, _ = tensorboard_run
    assert "log_epoch_metrics(0)" in calls, _changed(
        "TensorBoard._log_epoch_metrics(epoch, logs)",
        "is no longer how the epoch scalars are written: TensorBoardLogger's fix for the epoch_* scalars Keras "
        "skips does nothing",
    )


def test_tensorboard_collect_learning_rate_adds_the_learning_rate(tensorboard_run):
    calls, _ = tensorboard_run
    assert "collect_learning_rate" in calls, _changed(
        "TensorBoard._collect_learning_rate(logs)",
        "is no longer how the learning rate joins the logs: TensorBoardLogger logs no learning rate per optimizer",
    )


def test_tensorboard_global_train_batch_numbers_the_batch_scalars(tensorboard_run):
    _, batch_steps = tensorboard_run
    assert batch_steps == [11, 12], _changed(
        "TensorBoard._global_train_batch",
        f"no longer numbers the batch scalars (steps {batch_steps}): a resumed run's curves would restart at 1",
    )
