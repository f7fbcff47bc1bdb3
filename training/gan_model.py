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

import keras


class GANModel(keras.Model):
    """A `keras.Model` with one optimiser per player, Mean trackers as its metrics, serialisable compile state.

    Subclasses set `self.trackers` ({name: `keras.metrics.Mean`}) and each
    player's networks: `self.generator` / `self.discriminator`, or, for several
    networks per player, `self.generators` / `self.discriminators` ({name:
    network}). Their trainable variables are what `g_optimizer` and
    `d_optimizer` train; a model whose players share networks in another way
    (XGAN) overrides `generator_variables` / `discriminator_variables`.
    """

    @property
    def generator_variables(self) -> list:
        """What `g_optimizer` trains: the trainable variables of `generators`' values, or of `generator`."""
        return _trainable_variables(self, "generators", "generator")

    @property
    def discriminator_variables(self) -> list:
        """What `d_optimizer` trains: the trainable variables of `discriminators`' values, or of `discriminator`."""
        return _trainable_variables(self, "discriminators", "discriminator")

    @staticmethod
    def grid_rows(rows) -> list:
        """`sample_grid`'s return value from [(row name, images)] of any float dtype (bfloat16 under mixed
        precision, say): [(row name, float32 NumPy images)], as the grid writers take them."""
        return [(name, keras.ops.convert_to_numpy(keras.ops.cast(images, "float32"))) for name, images in rows]

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        """One optimiser per player; `kwargs` (e.g. `jit_compile`) go to `keras.Model.compile`.

        Under "mixed_float16" pass both optimisers wrapped in
        `keras.optimizers.LossScaleOptimizer`.
        """
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        # Built now, not lazily inside the first traced step, so a checkpoint can restore their state.
        for optimizer, variables in (
            (g_optimizer, self.generator_variables),
            (d_optimizer, self.discriminator_variables),
        ):
            if not optimizer.built:
                optimizer.build(variables)

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
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
        }

    def compile_from_config(self, config):
        self.compile(**keras.saving.deserialize_keras_object(config))


def _trainable_variables(model: keras.Model, several: str, one: str) -> list:
    """The trainable variables of `model.<several>`'s networks ({name: network}) if it has them, else of
    `model.<one>`'s."""
    networks = getattr(model, several, None)
    networks = list(networks.values()) if networks is not None else [getattr(model, one)]
    return [variable for network in networks for variable in network.trainable_variables]
