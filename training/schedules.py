"""Learning-rate schedules from the config (`training.flags`); `training.optimizers` builds the optimizers on them.

Schedules count optimizer steps (`optimizer.iterations`), so a resumed run,
whose optimizers are restored with their iterations, continues its schedule.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="training")
class LinearDecayAfter(keras.optimizers.schedules.LearningRateSchedule):
    """Constant `initial_learning_rate` for `decay_start_step` steps, then linear to 0 at `decay_end_step`.

    CycleGAN's "100 epochs at 2e-4, then 100 epochs of linear decay to 0".
    """

    def __init__(self, initial_learning_rate: float, decay_start_step: int, decay_end_step: int):
        if not 0 <= decay_start_step < decay_end_step:
            raise ValueError(
                f"linear decay needs 0 <= decay_start_step < decay_end_step, got {decay_start_step}, {decay_end_step}"
            )
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_start_step = int(decay_start_step)
        self.decay_end_step = int(decay_end_step)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        progress = (step - self.decay_start_step) / (self.decay_end_step - self.decay_start_step)
        return self.initial_learning_rate * (1.0 - keras.ops.clip(progress, 0.0, 1.0))

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_start_step": self.decay_start_step,
            "decay_end_step": self.decay_end_step,
        }


@keras.saving.register_keras_serializable(package="training")
class TriangularCyclic(keras.optimizers.schedules.LearningRateSchedule):
    """Cyclical learning rate, triangular policy (Smith 2017).

    Starts at `min_learning_rate`, rises linearly to `max_learning_rate` at half
    of `period_steps`, falls back to the minimum at `period_steps`, and repeats.
    """

    def __init__(self, min_learning_rate: float, max_learning_rate: float, period_steps: float):
        if period_steps <= 0:
            raise ValueError(f"the cyclic period must be positive, got {period_steps} steps")
        self.min_learning_rate = float(min_learning_rate)
        self.max_learning_rate = float(max_learning_rate)
        self.period_steps = float(period_steps)

    def __call__(self, step):
        phase = keras.ops.mod(keras.ops.cast(step, "float32"), self.period_steps) / self.period_steps
        height = 1.0 - keras.ops.abs(2.0 * phase - 1.0)  # 0 -> 1 -> 0 over one period
        return self.min_learning_rate + (self.max_learning_rate - self.min_learning_rate) * height

    def get_config(self):
        return {
            "min_learning_rate": self.min_learning_rate,
            "max_learning_rate": self.max_learning_rate,
            "period_steps": self.period_steps,
        }


def make_learning_rate(config: dict, steps_per_epoch: int, learning_rate: float | None = None):
    """`config["lr_schedule"]` as a float (constant) or a `LearningRateSchedule` over optimizer steps.

    `learning_rate` (default `config["learning_rate"]`) is the rate the schedule
    starts from (peaks at, for cyclic): one player's own rate, say.
    """
    learning_rate = config["learning_rate"] if learning_rate is None else learning_rate
    total_steps = config["epochs"] * steps_per_epoch
    schedule = config["lr_schedule"]
    if schedule == "constant":
        return learning_rate
    if schedule == "linear_decay":
        return LinearDecayAfter(learning_rate, config["decay_start_epoch"] * steps_per_epoch, total_steps)
    if schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            learning_rate, decay_steps=total_steps, alpha=config["min_learning_rate"] / learning_rate
        )
    if schedule == "cyclic":
        return TriangularCyclic(
            config["min_learning_rate"], learning_rate, config["cyclic_period_epochs"] * steps_per_epoch
        )
    raise ValueError(f"unknown lr_schedule {schedule!r}; expected constant, linear_decay, cosine or cyclic")
