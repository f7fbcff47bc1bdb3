"""A single-domain DCGAN that draws cartoon faces from noise (the report's §6.1).

`single_gan.networks` and `single_gan.losses` are pure Keras (any backend); the
model, `single_gan.model.DCGAN`, trains with the TensorFlow backend.
"""

import training.quiet_logs  # noqa: F401  (first, before TensorFlow's import: quiet CLI logs)
