"""`GANModel`: the plumbing of the `training` contract that every two-player model needs, written once.

A model package subclasses it and adds its networks, losses and `train_step`:

    class DCGAN(GANModel):
        def __init__(self, ...):
            super().__init__()
            self.generator, self.discriminator = ..., ...
            self.trackers = {name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss")}

        def train_step(self, data):
            ...
            return self._update_trackers({"d_loss": d_loss, "g_loss": g_loss})
"""

from __future__ import annotations

import functools
from typing import ClassVar

import keras
from absl import logging

from training import ema


class GANModel(keras.Model):
    """A `keras.Model` with one optimiser per player, Mean trackers as its metrics, serialisable compile state.

    Subclasses set `self.trackers` ({name: `keras.metrics.Mean`}) and each
    player's networks: `self.generator` / `self.discriminator`, or, for several
    networks per player, `self.generators` / `self.discriminators` ({name:
    network}). Their trainable variables are what `g_optimizer` and
    `d_optimizer` train; a model whose players share networks in another way
    (XGAN) overrides `generator_variables` / `discriminator_variables`.

    A model that trains further networks with optimizers of their own
    declares them in `extra_optimizers` ({compile argument: the run-config key
    of its learning rate}) and says what each trains in `optimizer_variables`:
    `training.fit.compile_for_training` makes each its own optimizer, `compile`
    takes and builds it, and the compile config and every backup hold it
    beside `g_optimizer` and `d_optimizer` (StarGAN v2's mapping network and
    style encoder).

    With `compile(..., ema_decay=β)` it keeps a moving average of its
    generators' weights (`training.ema`), updated at the end of every
    `train_step`: each subclass's `train_step` is wrapped to do so, so no
    model's step names it.
    """

    # {compile argument: the run-config key of its learning rate} of each optimizer beyond the two players'.
    extra_optimizers: ClassVar[dict[str, str]] = {}
    _generator_average = None  # a training.ema.GeneratorAverage once compiled with ema_decay > 0
    _average_restarts = False  # whether the last weights file loaded held no averages

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "train_step" in vars(cls):
            cls.train_step = _ending_with_the_average_update(vars(cls)["train_step"])

    @property
    def generator_variables(self) -> list:
        """What `g_optimizer` trains: the trainable variables of `generators`' values, or of `generator`."""
        return _trainable_variables(self, "generators", "generator")

    @property
    def discriminator_variables(self) -> list:
        """What `d_optimizer` trains: the trainable variables of `discriminators`' values, or of `discriminator`."""
        return _trainable_variables(self, "discriminators", "discriminator")

    @property
    def optimizer_names(self) -> tuple[str, ...]:
        """The compile arguments (and attributes) of the model's optimizers: g_optimizer, d_optimizer, then
        `extra_optimizers`."""
        return ("g_optimizer", "d_optimizer", *self.extra_optimizers)

    def optimizer_variables(self, name: str) -> list:
        """What the optimizer `name` trains: `generator_variables` for g_optimizer, `discriminator_variables`
        for d_optimizer; a model with `extra_optimizers` names their variables in its override."""
        if name == "g_optimizer":
            return self.generator_variables
        if name == "d_optimizer":
            return self.discriminator_variables
        raise NotImplementedError(f"{type(self).__name__}.optimizer_variables does not name what {name} trains")

    @staticmethod
    def grid_rows(rows) -> list:
        """`sample_grid`'s return value from [(row name, images)] of any float dtype (bfloat16 under mixed
        precision, say): [(row name, float32 NumPy images)], as the grid writers take them."""
        return [(name, keras.ops.convert_to_numpy(keras.ops.cast(images, "float32"))) for name, images in rows]

    def compile(self, g_optimizer, d_optimizer, ema_decay: float = 0.0, **kwargs):
        """One optimiser per player, and one per name of `extra_optimizers` (keyword arguments, all required);
        the other `kwargs` (e.g. `jit_compile`) go to `keras.Model.compile`.

        Under "mixed_float16" pass every optimiser wrapped in
        `keras.optimizers.LossScaleOptimizer`. `ema_decay` > 0 starts the
        generators' moving average (`training.ema`) at their current weights;
        0 keeps none.
        """
        missing = [name for name in self.extra_optimizers if name not in kwargs]
        if missing:
            raise TypeError(f"{type(self).__name__}.compile() needs the optimizers {', '.join(missing)}")
        extra = {name: kwargs.pop(name) for name in self.extra_optimizers}
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        for name, optimizer in extra.items():
            setattr(self, name, optimizer)
        self.ema_decay = ema_decay
        self._generator_average = ema.GeneratorAverage(ema.generator_weights(self), ema_decay) if ema_decay else None
        # Built now, not lazily inside the first traced step, so a checkpoint can restore their state.
        for name in self.optimizer_names:
            optimizer = getattr(self, name)
            if not optimizer.built:
                optimizer.build(self.optimizer_variables(name))

    @property
    def generator_average(self) -> ema.GeneratorAverage | None:
        """The generators' moving average (`compile(..., ema_decay=β)`), None without one."""
        return self._generator_average

    @property
    def metrics(self):
        """The trackers, so `fit()` resets them at every epoch."""
        return list(self.trackers.values())

    def _update_trackers(self, values: dict) -> dict:
        """Adds this step's `values` ({tracker name: scalar}) to the trackers; returns every tracker's mean."""
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def get_compile_config(self):
        return {
            **super().get_compile_config(),
            **{name: keras.saving.serialize_keras_object(getattr(self, name)) for name in self.optimizer_names},
            "ema_decay": self.ema_decay,
        }

    def compile_from_config(self, config):
        self.compile(**keras.saving.deserialize_keras_object(config))

    def save_own_variables(self, store):
        """The model's own variables, and beside them the generator averages, so every backup holds them."""
        super().save_own_variables(store)
        if self._generator_average is not None:
            self._generator_average.save(store)

    def load_own_variables(self, store):
        """Restores what `save_own_variables` saved; a file's averages are ignored by a model that keeps none."""
        super().load_own_variables(ema.own_entries(store))
        if self._generator_average is not None:
            self._average_restarts = not self._generator_average.load(store)

    def load_weights(self, filepath, *args, **kwargs):
        """Keras's `load_weights`; a file without generator averages (a run resumed with --ema_decay newly set)
        starts the average at the weights it loaded."""
        super().load_weights(filepath, *args, **kwargs)
        if self._generator_average is not None and self._average_restarts:
            logging.warning("%s holds no generator averages: the average starts at the weights loaded.", filepath)
            self._generator_average.restart()


def _ending_with_the_average_update(train_step):
    """`train_step`, then the generator average's update (when the model keeps one), once per step.

    A subclass's `train_step` calling `super().train_step` runs the wrapped
    step of its parent too: only the outermost one updates the average.
    """

    @functools.wraps(train_step)
    def step_then_average(self, *args, **kwargs):
        logs = train_step(self, *args, **kwargs)
        if self._generator_average is not None and type(self).train_step is step_then_average:
            self._generator_average.update()
        return logs

    return step_then_average


def _trainable_variables(model: keras.Model, several: str, one: str) -> list:
    """The trainable variables of `model.<several>`'s networks ({name: network}) if it has them, else of
    `model.<one>`'s."""
    networks = getattr(model, several, None)
    networks = list(networks.values()) if networks is not None else [getattr(model, one)]
    return [variable for network in networks for variable in network.trainable_variables]
