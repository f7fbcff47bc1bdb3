"""XGAN (Royer et al. 2018, arXiv 1711.05139): face <-> cartoon translation through a shared embedding.

`xgan.networks` and `xgan.losses` are pure Keras (any backend); the model,
`xgan.model.XGAN`, trains with the TensorFlow backend.
"""

import training.quiet_logs  # noqa: F401  (first, before TensorFlow's import: quiet CLI logs)
