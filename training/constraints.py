"""Weight constraints the models share: Keras applies a variable's `constraint` after every optimizer update."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="training")
class ClipConstraint(keras.constraints.Constraint):
    """Clips every element of a weight to [min_value, max_value] after each update.

    U-GAT-IT keeps AdaLIN's ρ in [0, 1] this way. Keras has no elementwise
    clip: `MinMaxNorm` bounds the norm of a weight, not its values.
    """

    def __init__(self, min_value: float, max_value: float):
        if not min_value <= max_value:
            raise ValueError(f"ClipConstraint needs min_value <= max_value, got {min_value}, {max_value}")
        self.min_value = float(min_value)
        self.max_value = float(max_value)

    def __call__(self, weight):
        return keras.ops.clip(weight, self.min_value, self.max_value)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value}
