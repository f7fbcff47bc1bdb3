"""U-GAT-IT (Kim et al. 2020, arXiv 1907.10830): unpaired translation with attention (CAM) and AdaLIN.

Two generators, genA2B (faces to cartoons) and genB2A, and a global and a
local discriminator per domain, as the PyTorch reference builds them
(znxlwm/UGATIT-pytorch), plus the facial-keypoint loss of the project's
U-GAT-IT report (`keypoints`). `networks`, `losses` and `keypoints`' networks
are pure Keras; `model` trains them, `memory` estimates a run's memory, `train`
and `translate` are the CLIs, and `registration` enters the model in the
model registry.
"""

import training.quiet_logs  # noqa: F401  (first, before TensorFlow's import: quiet CLI logs)
