"""CycleGAN (Zhu et al. 2017, arXiv 1703.10593): unpaired image-to-image translation with cycle consistency.

Two generators, G: A -> B and F: B -> A, and a discriminator per domain, as the
authors' reference code builds them (junyanz/pytorch-CycleGAN-and-pix2pix).
`networks` and `losses` are pure Keras (any backend); `model` trains them, `train` and `translate` are
the CLIs, and `registration` enters the model in the model registry.
"""

import training.quiet_logs  # noqa: F401  (first, before TensorFlow's import: quiet CLI logs)
