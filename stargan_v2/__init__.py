"""StarGAN v2 (Choi et al., CVPR 2020): one generator for many domains, styled by a reference image or a latent code.

The state of the art the XGAN report compared against (its §6.3). The
networks follow the official code (clovaai/stargan-v2): `networks` (generator,
mapping network, style encoder, discriminator), `wing` (the FAN landmark
network of the CelebA-HQ configuration), `losses`, `model` (the four-step
iteration), `train`, `translate` (reference- and latent-guided) and `convert`
(the official PyTorch checkpoints into Keras).
"""

import training.quiet_logs  # noqa: F401  (first, before TensorFlow's import: quiet CLI logs)
