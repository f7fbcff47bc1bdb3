"""An exponential moving average (EMA) of a GAN's generator weights: what its grids and exports use.

With `--ema_decay=β` (0 < β < 1) every generator weight w keeps an average,
updated after every train step and starting from the weight's initial value:

    ema <- β · ema + (1 - β) · w

StarGAN v2 translates with its generator's average (β = 0.999), as most
recent GANs do: the average damps the step-to-step oscillation of adversarial
training. The averaged weights are every float weight of the model's
`exportable_models()` (trainable or not, e.g. batch-norm statistics), each
once: exactly the weights an export holds and the grids draw with. XGAN's
domain classifier, which the generator optimizer trains but no translation
uses, is left out.

`training.GANModel` creates the averages in `compile(..., ema_decay=β)`,
updates them at the end of every `train_step` and saves them beside its own
variables, so every backup (`model.save_weights`) holds the raw weights and
their averages, and a resumed run continues the same average. The image grids
and the exports swap the averages in while they draw or save
(`averages_swapped_in`) and the raw weights back afterwards.
"""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf

# The averages' keys among the model's own saved variables (whose own keys are "0", "1", ...).
KEY_PREFIX = "generator_average_"


class GeneratorAverage:
    """The moving averages of `weights` (a GAN's generator weights) with decay `decay` (β, in (0, 1)).

    Holds one non-trainable `keras.Variable` per weight, created under the
    current distribution strategy (so mirrored on every replica) at the
    weight's current value.
    """

    def __init__(self, weights, decay: float):
        if not 0 < decay < 1:
            raise ValueError(f"ema_decay must be in (0, 1) to keep an average, got {decay}")
        self.weights = list(weights)
        self.decay = float(decay)
        self.averages = [
            keras.Variable(weight.numpy(), dtype=weight.dtype, trainable=False, name="average")
            for weight in self.weights
        ]

    def update(self) -> None:
        """ema <- β · ema + (1 - β) · w for every weight.

        Inside a step run on each replica (`strategy.run`, Keras's `fit`) it
        updates every replica's copy from that replica's weights, once, as an
        optimizer applies its update; outside one, every copy directly.
        """
        context = tf.distribute.get_replica_context()
        if context is None:  # cross-replica context: not inside a replica's step
            self._update_every_copy(tf.distribute.get_strategy())
        else:
            context.merge_call(self._update_every_copy)

    def _update_every_copy(self, strategy: tf.distribute.Strategy) -> None:
        for average, weight in zip(self.averages, self.weights):
            # `.value`: the tf.Variable (mirrored under a strategy) behind the keras.Variable.
            strategy.extended.update(average.value, _move_towards, args=(weight.value, self.decay), group=False)

    @contextlib.contextmanager
    def swapped_in(self):
        """Inside: every weight holds its average; afterwards, also after an error, its own value again."""
        raw = [weight.numpy() for weight in self.weights]
        for weight, average in zip(self.weights, self.averages):
            weight.assign(average.numpy())
        try:
            yield
        finally:
            for weight, value in zip(self.weights, raw):
                weight.assign(value)

    def save(self, store) -> None:
        """Writes the averages into `store` (a Keras weights-file entry) under KEY_PREFIX<i>."""
        for index, average in enumerate(self.averages):
            store[f"{KEY_PREFIX}{index}"] = average.numpy()

    def load(self, store) -> bool:
        """Reads the averages `save` wrote into `store`; False, reading nothing, when it holds none (a file saved
        without --ema_decay). ValueError in one line when it holds another number of them."""
        saved = sum(1 for key in store.keys() if key.startswith(KEY_PREFIX))
        if saved == 0:
            return False
        if saved != len(self.averages):
            raise ValueError(
                f"the weights file holds {saved} generator averages where this model keeps {len(self.averages)}: "
                "it was saved by another model"
            )
        for index, average in enumerate(self.averages):
            average.assign(store[f"{KEY_PREFIX}{index}"])
        return True

    def restart(self) -> None:
        """Every average starts again at its weight's current value."""
        for average, weight in zip(self.averages, self.weights):
            average.assign(weight.numpy())


def _move_towards(average, weight, decay: float):
    return average.assign(decay * average + (1.0 - decay) * weight)


def generator_weights(model: keras.Model) -> list:
    """Every float weight of `model.exportable_models()`, each once, in a fixed order: what an average tracks."""
    weights, seen = [], set()
    for generator in model.exportable_models().values():
        for weight in generator.weights:
            if keras.backend.is_float_dtype(weight.dtype) and id(weight) not in seen:
                seen.add(id(weight))
                weights.append(weight)
    return weights


def own_entries(store) -> dict:
    """The entries of a model's own saved variables that are not generator averages: what Keras itself loads."""
    return {key: store[key] for key in store.keys() if not key.startswith(KEY_PREFIX)}


@contextlib.contextmanager
def averages_swapped_in(model: keras.Model):
    """Inside: `model`'s generators hold their averages if it keeps them (`model.generator_average`), else as is."""
    average = getattr(model, "generator_average", None)
    if average is None:
        yield
        return
    with average.swapped_in():
        yield
